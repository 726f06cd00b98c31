"""Cases in float16, bfloat16, uint8, int8 and int16: a representative op of each family
(the rest of the table is float32), compared with PyTorch computing in the same dtype.

Tolerances are per dtype, a little wider than PyTorch's own (assert_close: float16 1e-3,
bfloat16 1.6e-2): both libraries compute in float32 and round once, but may sum in another
order, and a composed op (layer_norm, cross_entropy) rounds where PyTorch's kernel doesn't.
A device that lacks one of these dtypes reports the case as unsupported, with its reason
(conformance.py); it never runs it in another dtype.
"""
from .cases import I, case

TOL = {"float16": dict(rtol=3e-3, atol=3e-3), "bfloat16": dict(rtol=2e-2, atol=2e-2)}


def _F(m):
    return m.nn.functional


for _d, _tol in TOL.items():
    case(f"{_d}_arith", lambda m, x, y: ((x + y) * x, x / y, x - 2.5, x ** 2),
         I(3, 4, dtype=_d), I(4, dtype=_d, kind="away"), **_tol)
    case(f"{_d}_unary", lambda m, x: (m.exp(x), m.tanh(x), m.sigmoid(x), x.abs().sqrt()),
         I(3, 4, dtype=_d, kind="away"), **_tol)
    case(f"{_d}_reduce", lambda m, x: (x.sum(1), x.mean(), x.amax(0), x.var(1)),
         I(5, 6, dtype=_d), **_tol)
    case(f"{_d}_softmax", lambda m, x: (_F(m).softmax(x, 1), _F(m).log_softmax(x, 0)),
         I(4, 6, dtype=_d), **_tol)
    case(f"{_d}_matmul_linear", lambda m, x, w, b: (x @ w.t(), _F(m).linear(x, w, b)),
         I(4, 8, dtype=_d), I(3, 8, dtype=_d), I(3, dtype=_d), **_tol)
    case(f"{_d}_layer_norm_cross_entropy",
         lambda m, x, t: (_F(m).layer_norm(x, (6,)), _F(m).cross_entropy(x, t)),
         I(4, 6, dtype=_d), I(4, dtype="int64", kind="index", high=6), **_tol)
    case(f"{_d}_promote_cast", lambda m, x, y: (x + y, x * 2, (x > 0).sum(), x.float(), x.int()),
         I(3, 4, dtype=_d, kind="away"), I(4), **_tol)

case("uint8_wraps", lambda m, x, y: (x + y, x - y, x * 3, x // 7, x > y, x.sum(), x.max()),
     I(8, dtype="uint8", low=0, high=256), I(8, dtype="uint8", low=0, high=256))
case("int8_int16", lambda m, x, y: (x + x, x * y, -x, x & 5, y.sum(), x + y, x.float() / 3),
     I(8, dtype="int8", low=-128, high=128), I(8, dtype="int16", low=-300, high=300))
case("uint8_int8_promote", lambda m, x, y: (x + y, x * 1.5, x.to(m.float16)),
     I(6, dtype="uint8", low=0, high=256), I(6, dtype="int8", low=-128, high=128))
