"""Elementwise math: unary and binary ops, comparisons, where, clamp, and their gradients.

Every op promotes types as PyTorch does, broadcasts, and runs one backend primitive.
Gradients are written with tensor ops, so they are themselves differentiable
(`create_graph=True` gives second derivatives).
"""
import builtins
import math
import warnings

import numpy as np

from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..device import COMPARISONS, broadcast_shapes
from ..tensor import Tensor, method
from .out import into

_PY = (builtins.bool, builtins.int, builtins.float)
_SCALARS = (builtins.int, builtins.float, builtins.bool, np.number, np.bool_)


def _same_device(a, b):
    raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                       f"devices, {a.device} and {b.device}!")


def _operands(a, b):
    """(backend, a, b, promoted dtype) with a 0-dim CPU tensor beside another device's
    tensor turned into a Python scalar, as PyTorch allows."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        if a._be is not b._be:
            if b.ndim == 0 and b._be.device.type == "cpu":
                b, tb = b.item(), False
            elif a.ndim == 0 and a._be.device.type == "cpu":
                a, ta = a.item(), False
            else:
                _same_device(a, b)
        if ta and tb and a._v.dtype is b._v.dtype and a._v.shape and b._v.shape:
            return a._be, a, b, a._v.dtype
    elif ta:
        kind, tb_ = a._v.dtype.kind, type(b)
        if tb_ is float and kind == 2 or tb_ is int and kind >= 1:
            return a._be, a, b, a._v.dtype  # the common `x * 0.5`: the tensor's dtype wins
        if not isinstance(b, _SCALARS):
            return None
    elif tb:
        if not isinstance(a, _SCALARS):
            return None
    else:
        raise TypeError("expected at least one tensor argument")
    return (a._be if ta else b._be), a, b, dt.result_type(a, b)


def _as(x, dtype):
    """A View (or Python scalar) of `x` in `dtype`."""
    if isinstance(x, Tensor):
        v = x._v
        return v if v.dtype is dtype else x._be.cast(v, dtype)
    if type(x) is builtins.int:
        x = int_operand(x, dtype)
    return _PY[dtype.kind](x)


def int_operand(x, dtype):
    """A Python int operand as PyTorch reads it: outside [-2**63, 2**64) an OverflowError
    (it must fit a C int64, or uint64), else wrapped to an integer dtype's width as a C
    cast wraps it (`int32_tensor + 2**40` adds 0), and as is for a float dtype."""
    if -0x80000000 <= x <= 0x7FFFFFFF and (dtype.kind != 1 or dtype.itemsize >= 4):
        return x
    if not -(1 << 63) <= x < 1 << 64:
        raise OverflowError(f"Python int {x} is too big to convert to a tensor scalar "
                            "(it must fit in 64 bits)")
    if dtype.kind != 1:
        return x
    bits = 8 * dtype.itemsize
    x &= (1 << bits) - 1
    return x - (1 << bits) if dtype.is_signed and x >> (bits - 1) else x


_BROADCASTS = set()  # pairs of (non-0-dim) shapes that broadcast: _binary's fast path


def raw_binary(op, a, b, dtype=None):
    """Run binary primitive `op` without autograd; `dtype` overrides the compute dtype."""
    ops = _operands(a, b)
    if ops is None:
        raise TypeError(f"{op}(): unsupported operand types {type(a).__name__} and {type(b).__name__}")
    be, a, b, d = ops
    if dtype is not None:
        d = dtype
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._v.shape != b._v.shape:
        broadcast_shapes(a._v.shape, b._v.shape)
        if a._v.shape and b._v.shape:
            if len(_BROADCASTS) > 4096:
                _BROADCASTS.clear()
            _BROADCASTS.add((a._v.shape, b._v.shape))
    return Tensor._make(be.binary(op, _as(a, d), _as(b, d)), be)


def _meta(x):
    """What a node keeps of an input it did not save: a tensor's (shape, dtype), a scalar.
    Holding the tensor kept it alive with the graph, and one overwritten in place
    (`y.mul_(w)`) then pointed back at the node: a cycle only the collector frees."""
    return (x._v.shape, x._v.dtype) if isinstance(x, Tensor) else x


def _reduce_grad(g, x):
    """The gradient for an input of `_meta` `x`: summed over broadcast dims and in its
    dtype (None for a scalar)."""
    if type(x) is not tuple:
        return None
    shape, dtype = x
    if g._v.shape != shape:
        g = g.sum_to_size(shape)
    if g.dtype is not dtype:
        g = g.to(dtype)
    return g


def _grad_add(ctx, g, a, b, out):
    return g, g


def _grad_sub(ctx, g, a, b, out):
    return g, -g


def _grad_mul(ctx, g, a, b, out):
    na, nb = ctx.needs_input_grad[:2]  # `x * 2.0` needs one product, not two
    return (g * b if na else None), (g * a if nb else None)


def _grad_div(ctx, g, a, b, out):
    na, nb = ctx.needs_input_grad[:2]
    return (g / b if na else None), (-g * a / (b * b) if nb else None)


def _grad_pow(ctx, g, a, b, out):
    ga = gb = None
    if ctx.needs_input_grad[0]:
        if isinstance(b, Tensor):
            ga = where(b == 0, 0.0, g * b * a.pow(b - 1))
        else:  # a Python exponent: x ** 0 is constant, else the usual rule
            ga = g * 0.0 if b == 0 else g * b * a.pow(b - 1)
    if ctx.needs_input_grad[1]:
        gb = where((a == 0) & (b >= 0), 0.0, g * out * a.log())
    return ga, gb


def _grad_maximum(ctx, g, a, b, out):
    half = where(a == b, g / 2, g)
    return half.masked_fill(a < b, 0), half.masked_fill(a > b, 0)


def _grad_minimum(ctx, g, a, b, out):
    half = where(a == b, g / 2, g)
    return half.masked_fill(a > b, 0), half.masked_fill(a < b, 0)


def _grad_atan2(ctx, g, a, b, out):
    denom = a * a + b * b
    return g * b / denom, -g * a / denom


def _grad_remainder(ctx, g, a, b, out):
    return g, -g * floor_divide(a, b)


# op -> (gradient function, which of (a, b, out) the gradient needs)
_BINARY_GRADS = {
    "add": (_grad_add, ()), "sub": (_grad_sub, ()), "mul": (_grad_mul, "ab"),
    "div": (_grad_div, "ab"), "pow": (_grad_pow, "abo"), "maximum": (_grad_maximum, "ab"),
    "minimum": (_grad_minimum, "ab"), "atan2": (_grad_atan2, "ab"),
    "remainder": (_grad_remainder, "ab"),
}


class _Binary(Function):
    @staticmethod
    def forward(ctx, a, b, op, dtype):
        out = raw_binary(op, a, b, dtype)
        need = _BINARY_GRADS[op][1]
        if op == "mul":  # d/da uses b and d/db uses a: save only what a wanted gradient reads
            need = "a" * ctx.needs_input_grad[1] + "b" * ctx.needs_input_grad[0]
        ctx.op, ctx.a, ctx.b = op, _meta(a), _meta(b)  # tensors the gradient reads are saved
        ctx.save_for_backward(a if "a" in need and isinstance(a, Tensor) else None,
                              b if "b" in need and isinstance(b, Tensor) else None,
                              out if "o" in need else None)
        return out

    @staticmethod
    def backward(ctx, g):
        sa, sb, out = ctx.saved_tensors
        a = sa if sa is not None else ctx.a
        b = sb if sb is not None else ctx.b
        ga, gb = _BINARY_GRADS[ctx.op][0](ctx, g, a, b, out)
        ga = _reduce_grad(ga, ctx.a) if ctx.needs_input_grad[0] else None
        gb = _reduce_grad(gb, ctx.b) if ctx.needs_input_grad[1] else None
        return ga, gb, None, None


def _binary(op, a, b, dtype=None):
    """Dispatch: the autograd Function only when a gradient is wanted."""
    if type(a) is Tensor:
        # The hot path of small ops, where Python overhead is the op's cost: a tensor and a
        # tensor of the same dtype and device, of one shape or of shapes already seen to
        # broadcast, or a tensor and a Python number of its kind, with no gradient wanted.
        # Exactly what raw_binary does for them, minus its general checks.
        va = a._v
        if type(b) is Tensor:
            vb = b._v
            if (va.dtype is vb.dtype and a._be is b._be
                    and (va.shape == vb.shape and va.shape
                         or (va.shape, vb.shape) in _BROADCASTS)
                    and (dtype is None or dtype is va.dtype)
                    and not ((a.requires_grad or b.requires_grad)
                             and grad_mode._state.enabled)):
                be = a._be
                return Tensor._make(be.binary(op, va, vb), be)
        elif ((type(b) is float and va.dtype.kind == 2 or type(b) is int and va.dtype.kind >= 1)
                and (dtype is None or dtype is va.dtype)
                and not (a.requires_grad and grad_mode._state.enabled)):
            be = a._be
            if type(b) is int and (not -0x80000000 <= b <= 0x7FFFFFFF or va.dtype.itemsize < 4):
                b = int_operand(b, va.dtype)
            return Tensor._make(be.binary(op, va, _PY[va.dtype.kind](b)), be)
    if grad_mode._state.enabled and (
            isinstance(a, Tensor) and a.requires_grad or isinstance(b, Tensor) and b.requires_grad):
        return _Binary.apply(a, b, op, dtype)
    return raw_binary(op, a, b, dtype)


def _float_dtype(a, b):
    """True division and friends compute in floating point."""
    ops = _operands(a, b)
    if ops is None:
        return None
    d = ops[3]
    return d if d.is_floating_point else dt.get_default_dtype()


_OPERAND_TYPES = (Tensor,) + _SCALARS


def _check_operand(x, fn):
    if not isinstance(x, _OPERAND_TYPES):
        raise TypeError(f"{fn}(): argument 'other' must be Tensor or Number, not {type(x).__name__}")


# PyTorch's names of dtypes in its "not implemented for 'Float'" messages.
_TORCH_NAMES = dt.SCALAR_NAMES


def _not_implemented(op, dtype):
    raise NotImplementedError(f"\"{op}_cpu\" not implemented for '{_TORCH_NAMES[dtype]}'")


def _compute_dtype(a, b, fn):
    ops = _operands(a, b)
    if ops is None:
        raise TypeError(f"{fn}(): unsupported operand types {type(a).__name__} and {type(b).__name__}")
    return ops[3]


def _scaled(input, other, alpha, fn):
    """`other * alpha` for add/sub, with PyTorch's checks on alpha."""
    d = _compute_dtype(input, other, fn)
    if isinstance(alpha, builtins.bool) and d is not dt.bool:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, builtins.float) and not d.is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    return other * alpha


def add(input, other, *, alpha=1, out=None):
    _check_operand(other, "add")
    if alpha != 1:
        other = _scaled(input, other, alpha, "add")
    return into("add", out, _binary("add", input, other))


def _is_bool(x):
    return x.dtype is dt.bool if isinstance(x, Tensor) else isinstance(x, (builtins.bool, np.bool_))


def sub(input, other, *, alpha=1, out=None):
    _check_operand(other, "sub")
    if _is_bool(input) and _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if alpha != 1:
        other = _scaled(input, other, alpha, "sub")
    return into("sub", out, _binary("sub", input, other))


def mul(input, other, *, out=None):
    _check_operand(other, "mul")
    return into("mul", out, _binary("mul", input, other))


def div(input, other, *, rounding_mode=None, out=None):
    return into("div", out, _div(input, other, rounding_mode))


def _div(input, other, rounding_mode):
    _check_operand(other, "div")
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        d = _compute_dtype(input, other, "div")
        if d is dt.bool:
            _not_implemented("div_trunc", d)
        if not d.is_floating_point:
            return _int_div_trunc(input, other)
        return trunc(_binary("div", input, other, d))
    if rounding_mode is not None:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
    return _binary("div", input, other, _float_dtype(input, other))


true_divide = divide = div
multiply, subtract = mul, sub


def raise_if_any(bad, make_error):
    """Raise `make_error()` if any element of bool tensor `bad` is set. A backend with the
    hook `check_index_range` checks itself (an accelerator at its next host wait, as
    CUDA's device-side asserts, so its queue never waits for the check; the cpu now);
    elsewhere one host read checks now."""
    if not bad.numel():
        return
    be = bad._be
    check = getattr(be, "check_index_range", None)
    if check is None:
        if bad.any().item():
            raise make_error()
        return
    check(be.cast(bad._v, dt.int32), 1, -1, lambda _value: make_error())


def _zero_division():
    return RuntimeError("ZeroDivisionError")  # PyTorch's type and wording


def _int_divisor(input, other, fn):
    """The divisor of an integer division, checked for zeros as PyTorch does: a Python 0
    raises now, a tensor's zeros through raise_if_any (on an accelerator, at its next
    host wait). Zeros are then made ones, so no kernel ever divides an integer by zero
    (undefined in C; a trap on some CPUs)."""
    d = _compute_dtype(input, other, fn)
    if d is dt.bool:
        _not_implemented({"floor_divide": "div_floor"}.get(fn, fn), d)
    if d.is_floating_point:
        return other
    if not isinstance(other, Tensor):
        if other == 0:
            raise _zero_division()
        return other
    zero = raw_binary("eq", other, 0)
    raise_if_any(zero, _zero_division)
    return raw_where(zero, _PY[other.dtype.kind](1), other)  # other's dtype: True for bool


def _int_div_trunc(input, other):
    """Integer division rounding toward zero, exact at any int64 (no trip through floats):
    the floor quotient, plus one where the true quotient is negative and inexact."""
    q = floor_divide(input, other)
    return q + ((q * other != input) & ((input < 0) != (other < 0)))


def floor_divide(input, other):
    return raw_binary("floor_divide", input, _int_divisor(input, other, "floor_divide"))


def remainder(input, other):
    return _binary("remainder", input, _int_divisor(input, other, "remainder"))


def fmod(input, other):
    """C-style remainder: the result has the sign of `input`."""
    d = _compute_dtype(input, other, "fmod")
    if d is dt.bool:
        _not_implemented("fmod", dt.bool)
    input, other = (x.to(d) if isinstance(x, Tensor) else x for x in (input, other))
    if not d.is_floating_point:
        return input - _int_div_trunc(input, other) * other
    # The remainder of the magnitudes (exact: with both operands >= 0 the floor remainder
    # is C's, and fmod(|x|, inf) = |x|) with the sign of `input`; a zero result is a zero of
    # input's sign (clamped first: inf * 0 is NaN). (Not input - trunc(input / other) * other:
    # inexact for large quotients; not the remainder less `other`: x - inf, and rounding.)
    def mag(x):
        return x.abs() if isinstance(x, Tensor) else builtins.abs(x)
    r = remainder(mag(input), mag(other))
    return where(r == 0, input.clamp(-1, 1) * 0, where(input < 0, -r, r))


def pow(input, exponent):
    if not isinstance(input, Tensor):
        input = _scalar_like(input, exponent)
    d = _compute_dtype(input, exponent, "pow")
    if not d.is_floating_point:
        if d is dt.bool and isinstance(exponent, Tensor):
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        if isinstance(exponent, _SCALARS) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if isinstance(exponent, _SCALARS):
            dt.check_fits(exponent, d)
    elif not isinstance(exponent, (Tensor, builtins.bool, np.bool_)) and exponent in (0.5, -0.5):
        # PyTorch takes a scalar exponent of +-0.5 as sqrt/rsqrt: pow(-inf, 0.5) is NaN and
        # pow(-0., 0.5) is -0. (C's pow: inf and 0), where a tensor exponent gives C's answer
        return (sqrt if exponent > 0 else rsqrt)(input.to(d))
    return _binary("pow", input, exponent)


def float_power(input, exponent):
    return pow(input.to(dt.float64), exponent.to(dt.float64) if isinstance(exponent, Tensor) else exponent)


def maximum(input, other):
    return _binary("maximum", input, other)


def minimum(input, other):
    return _binary("minimum", input, other)


def atan2(input, other):
    return _binary("atan2", input, other, _float_dtype(input, other))


arctan2 = atan2


def _scalar_like(x, ref):
    from .creation import tensor
    return tensor(x, device=ref.device)


def _compare(op):
    def compare(input, other):
        ops = _operands(input, other)
        if ops is None:
            return NotImplemented
        return raw_binary(op, input, other)
    compare.__name__ = op
    return compare


eq, ne, lt, le, gt, ge = (_compare(o) for o in ("eq", "ne", "lt", "le", "gt", "ge"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(op):
    def logical(input, other):
        return raw_binary(op, input, other, dt.bool)
    logical.__name__ = op
    return logical


logical_and, logical_or, logical_xor = (_logical(o) for o in ("logical_and", "logical_or", "logical_xor"))


def _bitwise(op):
    def bitwise(input, other):
        ops = _operands(input, other)
        if ops is None:
            return NotImplemented
        if ops[3].is_floating_point:
            _not_implemented(op, ops[3])
        return raw_binary(op, input, other)
    bitwise.__name__ = op
    return bitwise


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(o) for o in ("bitwise_and", "bitwise_or", "bitwise_xor"))


def _shift(name, left):
    def shift(input, other):
        ops = _operands(input, other)
        if ops is None:
            return NotImplemented
        d = ops[3]
        if d.is_floating_point:
            _not_implemented("lshift" if left else "rshift", d)
        if d is dt.bool:
            d = dt.int64
        # Shifts as arithmetic: x << n == x * 2**n, x >> n == floor(x / 2**n) (sign-extending).
        p = pow(2, other.to(d)) if isinstance(other, Tensor) else 2 ** builtins.int(other)
        x = input.to(d) if isinstance(input, Tensor) else input
        return raw_binary("mul" if left else "floor_divide", x, p, d)
    shift.__name__ = name
    return shift


bitwise_left_shift = _shift("bitwise_left_shift", True)
bitwise_right_shift = _shift("bitwise_right_shift", False)


def eq_all(input, other):
    """torch.equal: same shape and same values."""
    return input.shape == other.shape and bool(eq(input, other).all())


equal = eq_all


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = input.detach(), other.detach() if isinstance(other, Tensor) else other
    close = (a - b).abs() <= atol + rtol * (b.abs() if isinstance(b, Tensor) else abs(b))
    close = close | (a == b)
    if equal_nan:
        close = close | (isnan(a) & isnan(b))
    return close


def isnan(input):
    return input != input


def isinf(input):
    return input.abs() == math.inf if input.dtype.is_floating_point else zeros_bool(input)


def isfinite(input):
    return ~(isnan(input) | isinf(input)) if input.dtype.is_floating_point else ~zeros_bool(input)


def zeros_bool(input):
    from .creation import zeros
    return zeros(input.shape, dtype=dt.bool, device=input.device)


# -- unary ----------------------------------------------------------------------------------------
_LN2, _LN10 = math.log(2.0), math.log(10.0)
# op -> (gradient, saves 'x' or 'o'(output)); None: gradient is zero (piecewise constant)
_UNARY_GRADS = {
    "neg": (lambda g, x, o: -g, ""),
    "abs": (lambda g, x, o: g * x.sign(), "x"),
    "exp": (lambda g, x, o: g * o, "o"),
    "log": (lambda g, x, o: g / x, "x"),
    "log1p": (lambda g, x, o: g / (x + 1), "x"),
    "expm1": (lambda g, x, o: g * (o + 1), "o"),
    "sqrt": (lambda g, x, o: g / (2 * o), "o"),
    "rsqrt": (lambda g, x, o: -0.5 * g * o * o * o, "o"),
    "sin": (lambda g, x, o: g * x.cos(), "x"),
    "cos": (lambda g, x, o: -g * x.sin(), "x"),
    "tan": (lambda g, x, o: g * (1 + o * o), "o"),
    "tanh": (lambda g, x, o: g * (1 - o * o), "o"),
    "sigmoid": (lambda g, x, o: g * o * (1 - o), "o"),
    "relu": (lambda g, x, o: _relu_grad(g, o), "o"),
    "erf": (lambda g, x, o: g * (2 / math.sqrt(math.pi)) * (-x * x).exp(), "x"),
    "reciprocal": (lambda g, x, o: -g * o * o, "o"),
    "asin": (lambda g, x, o: g / (1 - x * x).sqrt(), "x"),
    "acos": (lambda g, x, o: -g / (1 - x * x).sqrt(), "x"),
    "atan": (lambda g, x, o: g / (1 + x * x), "x"),
    "sinh": (lambda g, x, o: g * x.cosh(), "x"),
    "cosh": (lambda g, x, o: g * x.sinh(), "x"),
    "log2": (lambda g, x, o: g / (x * _LN2), "x"),
    "log10": (lambda g, x, o: g / (x * _LN10), "x"),
    "exp2": (lambda g, x, o: g * o * _LN2, "o"),
    "sign": None, "floor": None, "ceil": None, "round": None, "trunc": None,
}
# Ops that compute in floating point even for integer inputs, as in PyTorch.
_FLOAT_OPS = frozenset(("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan",
                        "tanh", "sigmoid", "erf", "reciprocal", "asin", "acos", "atan", "sinh",
                        "cosh", "log2", "log10", "exp2"))


def _relu_grad(g, o):
    """torch's threshold_backward: 0 where out <= 0, else g (a NaN passes g): the fused
    backend op, unless the backward is itself recorded (create_graph)."""
    if not grad_mode._state.enabled and g._v.shape == o._v.shape and g.dtype is o.dtype:
        return Tensor._make(g._be.relu_backward(g._v, o._v), g._be)
    return where(o <= 0, 0, g)


def raw_unary(op, x):
    v = x._v
    if op in _FLOAT_OPS and not v.dtype.is_floating_point:
        v = x._be.cast(v, dt.get_default_dtype())
    return Tensor._make(x._be.unary(op, v), x._be)


class _Unary(Function):
    @staticmethod
    def forward(ctx, x, op):
        out = raw_unary(op, x)
        ctx.op = op
        saves = _UNARY_GRADS[op][1] if _UNARY_GRADS[op] else ""
        ctx.save_for_backward(x if "x" in saves else None, out if "o" in saves else None)
        ctx.shape, ctx.dtype, ctx.device = x.shape, out.dtype, x.device
        return out

    @staticmethod
    def backward(ctx, g):
        entry = _UNARY_GRADS[ctx.op]
        if entry is None:
            from .creation import zeros
            return zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device), None
        x, o = ctx.saved_tensors
        return entry[0](g, x, o), None


_NEG_BOOL = ("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
             "to invert a mask, use the `~` or `logical_not()` operator instead.")


def _check_unary_dtype(op, d):
    """PyTorch's refusals: rounding, abs and neg of bools, relu of bools, bitwise_not of floats."""
    if d is dt.bool:
        if op == "neg":
            raise RuntimeError(_NEG_BOOL)
        if op == "relu":
            raise RuntimeError("Boolean inputs not supported for relu")
        if op in ("abs", "floor", "ceil", "round", "trunc"):
            _not_implemented(op if op == "abs" else op + "_vml", d)
    elif d.is_floating_point and op == "bitwise_not":
        _not_implemented(op, d)


_CHECKED_UNARY = frozenset(("neg", "relu", "abs", "floor", "ceil", "round", "trunc", "bitwise_not"))


def _unary(op):
    def fn(input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
        if op in _CHECKED_UNARY:
            _check_unary_dtype(op, input._v.dtype)
        if grad_mode._state.enabled and input.requires_grad and _UNARY_GRADS.get(op, 0) != 0:
            return _Unary.apply(input, op)
        return raw_unary(op, input)
    fn.__name__ = op
    return fn


(neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, sin, cos, tan, tanh, sigmoid, relu, erf,
 reciprocal, asin, acos, atan, sinh, cosh, log2, log10, exp2, sign, floor, ceil, trunc,
 logical_not, bitwise_not) = (_unary(o) for o in (
    "neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "erf", "reciprocal", "asin", "acos", "atan", "sinh", "cosh", "log2",
    "log10", "exp2", "sign", "floor", "ceil", "trunc", "logical_not", "bitwise_not"))
negative, absolute, arcsin, arccos, arctan, fix = neg, abs, asin, acos, atan, trunc
_round0 = _unary("round")


def round(input, decimals=0):
    if decimals == 0:
        return _round0(input)
    scale = 10.0 ** decimals
    return _round0(input * scale) / scale


def square(input):
    if input.dtype is dt.bool:
        input = input.to(dt.int64)  # PyTorch squares bools as pow(x, 2): int64
    return input * input


def _float_only(name, x):
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_TORCH_NAMES[x.dtype]}'")


def gelu(input, approximate="none"):
    _float_only("GeluKernelImpl", input)
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1 + tanh(inner))
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return 0.5 * input * (1 + erf(input * (1 / math.sqrt(2))))


def silu(input):
    _float_only("silu_cpu", input)
    return input * sigmoid(input)


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    for bound in (min, max):
        if bound is not None and not isinstance(bound, Tensor):
            dt.check_fits(bound, dt.result_type(input, bound))
    out = input
    if min is not None:
        out = _Clamp.apply(out, min, True) if _wants_grad(out) else raw_binary("maximum", out, min)
    if max is not None:
        out = _Clamp.apply(out, max, False) if _wants_grad(out) else raw_binary("minimum", out, max)
    return out


clip = clamp


def _wants_grad(x):
    return grad_mode._state.enabled and x.requires_grad


class _Clamp(Function):
    """One side of clamp; the gradient passes where the bound is not active (inclusive)."""
    @staticmethod
    def forward(ctx, x, bound, lower):
        ctx.lower, ctx.bound = lower, _meta(bound)
        ctx.save_for_backward(x, bound if isinstance(bound, Tensor) else None)
        return raw_binary("maximum" if lower else "minimum", x, bound)

    @staticmethod
    def backward(ctx, g):
        x, tb = ctx.saved_tensors
        bound = tb if tb is not None else ctx.bound
        keep = (x >= bound) if ctx.lower else (x <= bound)
        gx = g * keep
        gb = _reduce_grad(g * ~keep, _meta(tb)) if tb is not None and ctx.needs_input_grad[1] \
            else None
        return gx, gb, None


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


# -- where ------------------------------------------------------------------------------------------
class _Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.a, ctx.b = _meta(a), _meta(b)
        return raw_where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        ga = _reduce_grad(raw_where(cond, g, 0.0), ctx.a) if ctx.needs_input_grad[1] else None
        gb = _reduce_grad(raw_where(cond, 0.0, g), ctx.b) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def raw_where(cond, a, b):
    from .creation import tensor
    be = cond._be
    for x in (a, b):
        if isinstance(x, Tensor) and x._be is not be:
            _same_device(cond, x)
    d = dt.result_type(a, b)
    broadcast_shapes(cond.shape, *(x.shape for x in (a, b) if isinstance(x, Tensor)))
    # A scalar beside a tensor operand goes to the backend as is (backends take one, as
    # in binary): uploading it would cost a host-to-device copy per call.
    va = _as(a, d) if isinstance(a, Tensor) or isinstance(b, Tensor) else \
        tensor(a, dtype=d, device=be.device)._v
    vb = _as(b, d)
    c = cond._v if cond.dtype is dt.bool else be.cast(cond._v, dt.bool)
    return Tensor._make(be.where(c, va, vb), be)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition.dtype is dt.uint8:  # PyTorch's legacy byte masks: still accepted, with its warning
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated "
                      "(as in PyTorch); use a boolean condition instead", UserWarning, stacklevel=2)
        condition = condition != 0
    if condition.dtype is not dt.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {dt.SCALAR_NAMES[condition.dtype]}")
    for x in (input, other):
        if not isinstance(x, Tensor):
            dt.check_fits(x, dt.result_type(input, other))
    if grad_mode._state.enabled and any(isinstance(x, Tensor) and x.requires_grad
                                           for x in (input, other)):
        return _Where.apply(condition, input, other)
    return raw_where(condition, input, other)


def masked_fill(input, mask, value):
    if not isinstance(mask, Tensor) or mask.dtype is not dt.bool:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        value = value.to(input.dtype)
    else:
        dt.check_fits(value, input.dtype)
        value = _PY[input.dtype.kind](value)  # in input's dtype, as PyTorch: a bool stays bool
    if mask.shape != input.shape and broadcast_shapes(mask.shape, input.shape) != input.shape:
        raise RuntimeError(f"masked_fill: mask of shape {list(mask.shape)} cannot be broadcast "
                           f"to the input's shape {list(input.shape)}")
    return where(mask, value, input)


# -- Tensor methods and operators ----------------------------------------------------------------
def _src(self):
    """The operand of an in-place op. When autograd records it, a copy: the backward of
    `x.mul_(y)` needs x's old values, which the in-place write is about to overwrite
    (PyTorch saves `original_self` the same way)."""
    if self.requires_grad and grad_mode._state.enabled:
        return self.clone()
    return self


def _rev(fn):
    return lambda self, other: fn(other, self)


def _op(fn):
    def operator(self, other):
        if not isinstance(other, (Tensor,) + _SCALARS):
            return NotImplemented
        return fn(self, other)
    return operator


for _name, _fn in (("add", add), ("sub", sub), ("mul", mul), ("div", div), ("pow", pow),
                   ("remainder", remainder), ("floor_divide", floor_divide), ("fmod", fmod),
                   ("maximum", maximum), ("minimum", minimum), ("atan2", atan2),
                   ("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge),
                   ("greater", gt), ("less", lt), ("greater_equal", ge), ("less_equal", le),
                   ("not_equal", ne), ("true_divide", div), ("multiply", mul), ("subtract", sub),
                   ("divide", div), ("logical_and", logical_and), ("logical_or", logical_or),
                   ("logical_xor", logical_xor), ("bitwise_and", bitwise_and),
                   ("bitwise_or", bitwise_or), ("bitwise_xor", bitwise_xor),
                   ("bitwise_left_shift", bitwise_left_shift),
                   ("bitwise_right_shift", bitwise_right_shift),
                   ("clamp", clamp), ("clip", clamp), ("clamp_min", clamp_min),
                   ("clamp_max", clamp_max), ("masked_fill", masked_fill), ("where", None),
                   ("neg", neg), ("negative", neg), ("abs", abs), ("absolute", abs), ("exp", exp),
                   ("log", log), ("log1p", log1p), ("expm1", expm1), ("sqrt", sqrt),
                   ("rsqrt", rsqrt), ("sin", sin), ("cos", cos), ("tan", tan), ("tanh", tanh),
                   ("sigmoid", sigmoid), ("relu", relu), ("erf", erf), ("reciprocal", reciprocal),
                   ("asin", asin), ("acos", acos), ("atan", atan), ("arcsin", asin),
                   ("arccos", acos), ("arctan", atan), ("sinh", sinh), ("cosh", cosh),
                   ("log2", log2), ("log10", log10), ("exp2", exp2), ("sign", sign),
                   ("floor", floor), ("ceil", ceil), ("trunc", trunc), ("fix", trunc),
                   ("round", round), ("logical_not", logical_not), ("bitwise_not", bitwise_not),
                   ("square", square), ("isnan", isnan), ("isinf", isinf), ("isfinite", isfinite),
                   ("isclose", isclose), ("allclose", allclose), ("equal", eq_all),
                   ("float_power", float_power)):
    if _fn is None:
        continue
    setattr(Tensor, _name, _fn)
    if _name not in ("isnan", "isinf", "isfinite", "isclose", "allclose", "equal", "eq", "ne",
                     "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
                     "not_equal", "logical_and", "logical_or", "logical_xor"):
        setattr(Tensor, _name + "_", lambda self, *a, _fn=_fn, **k: self._inplace(_fn(_src(self), *a, **k)))


@method(name="where")
def _where_method(self, condition, other):
    """x.where(condition, y): x where condition holds, else y."""
    return where(condition, self, other)


@method
def masked_fill_(self, mask, value):
    return self._inplace(masked_fill(_src(self), mask, value))


for _dunder, _fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div),
                     ("floordiv", floor_divide), ("mod", remainder), ("pow", pow),
                     ("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor),
                     ("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift)):
    setattr(Tensor, f"__{_dunder}__", _op(_fn))
    setattr(Tensor, f"__r{_dunder}__", _op(_rev(_fn)))
    setattr(Tensor, f"__i{_dunder}__", lambda self, other, _fn=_fn: self._inplace(_fn(_src(self), other)))
for _dunder, _fn in (("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge)):
    setattr(Tensor, f"__{_dunder}__", _op(_fn))


def _direct(op):
    """`a + b` / `a * b` straight to the dispatcher: the hot path of every model."""
    def operator(self, other):
        if not isinstance(other, Tensor) and not isinstance(other, _SCALARS):
            return NotImplemented
        return _binary(op, self, other)
    return operator


Tensor.__add__ = Tensor.__radd__ = _direct("add")
Tensor.__mul__ = Tensor.__rmul__ = _direct("mul")
Tensor.__neg__ = neg
Tensor.__abs__ = abs
Tensor.__pos__ = lambda self: self
def _invert(self):
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return logical_not(self) if self.dtype is dt.bool else bitwise_not(self)


Tensor.__invert__ = _invert
Tensor.__rpow__ = lambda self, other: pow(_scalar_like(other, self).to(dt.result_type(self, other)), self)
Tensor.gelu = gelu
Tensor.silu = silu
