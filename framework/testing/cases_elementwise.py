"""Elementwise op cases: unary math, arithmetic with broadcasting and promotion, comparisons,
logical and bitwise ops, in-place forms. Ops with kinks or domains use 'away'/'positive' inputs."""
from .cases import I, case

for _op in ("exp", "tanh", "sigmoid", "sin", "cos", "abs", "neg", "erf", "atan", "expm1",
            "sign", "floor", "ceil", "round", "trunc", "square"):
    case(_op, lambda m, x, _op=_op: getattr(m, _op)(x), I(3, 4, kind="away"))
for _op in ("log", "sqrt", "rsqrt", "reciprocal", "log1p", "log2", "log10"):
    case(_op, lambda m, x, _op=_op: getattr(m, _op)(x), I(3, 4, kind="positive"))
case("relu", lambda m, x: m.relu(x), I(3, 4, kind="away"))
case("gelu", lambda m, x: m.nn.functional.gelu(x) if m.__name__ == "torch" else m.gelu(x), I(3, 4))
case("gelu_tanh", lambda m, x: (m.nn.functional.gelu if m.__name__ == "torch" else m.gelu)(
    x, approximate="tanh"), I(3, 4))
case("silu", lambda m, x: m.nn.functional.silu(x) if m.__name__ == "torch" else m.silu(x), I(3, 4))
case("unary_int_to_float", lambda m, x: (m.exp(x), m.sqrt(x.abs()), m.sigmoid(x)),
     I(5, dtype="int64", low=-3, high=4))
case("unary_float64", lambda m, x: (x.exp() * x.sin()).tanh(), I(4, dtype="float64"))
case("unary_noncontig", lambda m, x: m.exp(x.t()) + x.t().abs(), I(3, 4, kind="away"))

# arithmetic, broadcasting, scalars and reflected operators
case("add_broadcast", lambda m, x, y: x + y, I(2, 3, 4), I(3, 1))
case("sub_broadcast", lambda m, x, y: x - y, I(2, 3, 4), I(4))
case("mul_broadcast", lambda m, x, y: x * y, I(2, 1, 4), I(3, 1))
case("div", lambda m, x, y: x / y, I(3, 4), I(4, kind="away"))
case("add_alpha", lambda m, x, y: m.add(x, y, alpha=2.5), I(3, 4), I(4))
case("sub_alpha", lambda m, x, y: m.sub(x, y, alpha=0.5), I(3, 4), I(3, 4))
case("scalar_ops", lambda m, x: (x + 2, x - 1.5, x * 3, x / 4, 2 - x, 3 / x, 2 * x, 1 + x),
     I(3, 4, kind="away"))
case("rdiv_rsub_int", lambda m, x: (1 - x, 6 / x, 2 ** x), I(5, dtype="int64", low=1, high=5))
case("pow_tensor", lambda m, x, y: x ** y, I(3, 4, kind="positive"), I(3, 4))
case("pow_scalar", lambda m, x: (x ** 2, x ** 3.5, x ** -1, x.pow(0), m.pow(x, 0.5)),
     I(3, 4, kind="positive"))
case("rpow", lambda m, x: (2 ** x, 0.5 ** x, m.pow(3.0, x)), I(3, 4))
case("pow_int", lambda m, x: (x ** 2, x ** x.abs()), I(6, dtype="int64", low=-3, high=4))
case("pow_broadcast", lambda m, x, y: m.pow(x, y), I(3, 1, kind="positive"), I(4))
case("maximum", lambda m, x, y: m.maximum(x, y), I(3, 4), I(3, 4))
case("minimum", lambda m, x, y: m.minimum(x, y), I(3, 4), I(4))
case("atan2", lambda m, x, y: m.atan2(x, y), I(3, 4), I(3, 4, kind="away"))
case("floor_divide", lambda m, x, y: (x // y, m.floor_divide(x, 2)), I(3, 4, kind="away"),
     I(4, kind="away"), grad=False)
case("floor_divide_int", lambda m, x, y: (x // y, x // 3, -7 // y), I(3, 4, dtype="int64", low=-9, high=9),
     I(4, dtype="int64", low=1, high=4))
case("remainder", lambda m, x, y: x % y, I(3, 4, kind="away"), I(4, kind="positive"))
case("remainder_int", lambda m, x, y: (x % y, x % 3, m.remainder(x, -4)),
     I(3, 4, dtype="int64", low=-9, high=9), I(4, dtype="int64", low=1, high=4))
case("fmod", lambda m, x: m.fmod(x, 0.7), I(3, 4, kind="away"), grad=False)
case("div_rounding", lambda m, x, y: (m.div(x, y, rounding_mode="trunc"),
                                      m.div(x, y, rounding_mode="floor")),
     I(3, 4, kind="away"), I(4, kind="away"), grad=False)
case("div_int", lambda m, x, y: (x / y, x / 2, m.div(x, y, rounding_mode="trunc")),
     I(3, 4, dtype="int64", low=-9, high=9), I(4, dtype="int64", low=1, high=4))
case("clamp", lambda m, x: x.clamp(-0.5, 0.5), I(4, 5, kind="away"))
case("clamp_min_max", lambda m, x: (m.clamp(x, min=0.4), m.clamp(x, max=-0.4), x.clamp_min(1.0),
                                    x.clamp_max(0.0), m.clip(x, -1, 1)), I(4, 5, kind="away"))
case("clamp_tensor", lambda m, x, lo, hi: m.clamp(x, lo, hi), I(3, 4), I(4, kind="uniform", low=-1.5,
     high=-0.05), I(3, 1, kind="uniform", low=0.05, high=1.5))
case("clamp_int", lambda m, x: (x.clamp(-2, 3), x.clamp(min=0)), I(8, dtype="int64", low=-5, high=6))

# promotion
case("int_promotion", lambda m, x, y: x + y, I(3, dtype="int32"), I(3))
case("promote_int_float", lambda m, i, f: (i + f, i * 2.5, i + 1, f * i, i / i.clamp(min=1)),
     I(3, 4, dtype="int32", low=-3, high=4), I(3, 4))
case("promote_f64_f32", lambda m, x, y: (x + y, x * y, y - x), I(3, 4, dtype="float64"), I(3, 4))
case("promote_zero_dim", lambda m, x, s: (x + s, s * x, x - s), I(3, 4), I(dtype="float64"))
case("promote_zero_dim_int", lambda m, x, s: (x + s, x * s), I(3, 4, dtype="int32"),
     I(dtype="float64"))
case("promote_bool", lambda m, b, i, f: (b + i, b * f, b + 1, b + 1.5, b & (i > 0)),
     I(3, 4, dtype="bool"), I(3, 4, dtype="int32"), I(3, 4))

# comparisons, logical, bitwise
case("comparisons", lambda m, x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y, x > 0.5,
                                     0.5 < x, m.eq(x, 0.0), m.greater_equal(x, y)),
     I(3, 4, kind="int", dtype="float32", low=-2, high=3), I(4, kind="int", dtype="float32", low=-2, high=3))
case("compare_mixed", lambda m, x, y: (x == y, x < y, x >= 1), I(3, 4, dtype="int32", low=-2, high=3),
     I(3, 4, kind="int", dtype="float64", low=-2, high=3))
case("logical", lambda m, x, y: (m.logical_and(x, y), m.logical_or(x, y), m.logical_xor(x, y),
                                 m.logical_not(x)), I(3, 4, kind="int", low=-1, high=2), I(4, dtype="bool"))
case("bitwise_int", lambda m, x, y: (x & y, x | y, x ^ y, ~x, x & 6, 3 | x, x << 2, x >> 1,
                                     m.bitwise_xor(x, y)), I(3, 4, dtype="int64", low=-8, high=9),
     I(4, dtype="int64", low=0, high=16))
case("bitwise_bool", lambda m, x, y: (x & y, x | y, x ^ y, ~x, x ^ True), I(3, 4, dtype="bool"),
     I(3, 4, dtype="bool"))
case("where", lambda m, c, x, y: m.where(c, x, y), I(3, 4, dtype="bool"), I(3, 4), I(4))
case("where_scalar", lambda m, c, x: (m.where(c, x, 0.0), m.where(c, 1.0, x)), I(3, 4, dtype="bool"),
     I(3, 4))
case("isclose_nan", lambda m, x: (m.isnan(x / x), m.isinf(1 / x), m.isfinite(x)), I(5, kind="int",
     dtype="float32", low=-1, high=2), grad=False)


# in-place forms: applied to a differentiable non-leaf so the gradient flows through them
def _inplace_chain(m, x, y):
    z = x * 1
    z += y
    z.sub_(0.5)
    z *= y
    z.div_(2.0)
    z.mul_(y).add_(y, alpha=2)
    z.clamp_(-1.0, 1.0)
    z.pow_(2)
    return z


case("inplace_chain", _inplace_chain, I(3, 4), I(4, kind="away"))
case("inplace_unary", lambda m, x: (x * 1).sin_().add_(1).tanh_(), I(3, 4))
case("inplace_int", lambda m, x: (x.clone().add_(3), x.clone().mul_(2), x.clone().__ifloordiv__(2),
                                  x.clone().remainder_(3)), I(5, dtype="int64", low=-9, high=9))
