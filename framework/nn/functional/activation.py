"""Activation functions (`torch.nn.functional.relu`, `gelu`, `softmax`, ...).

Ops fw already has (relu, sigmoid, tanh, gelu, silu, softmax, log_softmax) are reused.
The piecewise activations are each one autograd node: forward is a short composition run
without recording, backward one formula with PyTorch's choice at the kinks (e.g. hardtanh
passes no gradient at its bounds, leaky_relu takes the slope at 0). The backward formulas
are written with tensor ops, so they are differentiable again (double backward works).
"""
import warnings

from ... import dtypes as dt
from ... import ops as _ops
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.elementwise import _src
from ...tensor import Tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus", "softsign",
           "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "sigmoid", "tanh",
           "logsigmoid", "softmax", "log_softmax", "softmin", "glu", "threshold",
           "threshold_", "prelu", "rrelu", "tanhshrink", "softshrink", "hardshrink"]

_where = _ops.where


def _check(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_torch_name(x.dtype)}'")


def _torch_name(d):
    return dt.SCALAR_NAMES[d] if d.kind != 2 else d.name


def _pointwise(name, fwd, grad, save_out=False):
    """One autograd node named like PyTorch's (`<Name>Backward0`): `fwd(x, *args)` computes
    the output, `grad(g, x, out, *args)` the input's gradient."""
    def forward(ctx, x, *args):
        out = fwd(x, *args)
        ctx.args = args
        ctx.save_for_backward(x, out if save_out else None)
        return out

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return (grad(g, x, out, *ctx.args),) + (None,) * len(ctx.args)

    cls = type("_" + name, (Function,), {"forward": staticmethod(forward),
                                         "backward": staticmethod(backward),
                                         "__module__": __name__})

    def apply(x, *args):
        if grad_mode._state.enabled and x.requires_grad:
            return cls.apply(x, *args)
        return fwd(x, *args)  # no graph wanted: skip the node
    return apply


def _maybe_inplace(x, out, inplace):
    """`inplace=True`: the result is written into `x` (PyTorch's `relu_` and friends)."""
    return x._inplace(out) if inplace else out


# -- ReLU family --------------------------------------------------------------------------------
def relu(input, inplace=False):
    if inplace:
        return input.relu_()
    return _ops.relu(input)


def relu_(input):
    return input.relu_()


_hardtanh = _pointwise(
    "Hardtanh", lambda x, lo, hi: x.clamp(lo, hi),
    lambda g, x, o, lo, hi: _where((x > lo) & (x < hi), g, 0.0))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    _check("hardtanh", input)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, _hardtanh(input, min_val, max_val), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


_leaky = _pointwise(
    "LeakyRelu", lambda x, s: _where(x > 0, x, x * s),
    lambda g, x, o, s: _where(x > 0, g, g * s))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _check("leaky_relu", input)
    return _maybe_inplace(input, _leaky(input, negative_slope), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


# elu(x) = scale * (x if x > 0 else alpha * (exp(x / beta) - 1)); selu and celu are elus.
def _elu_fwd(x, a, s, b):
    return _where(x > 0, x * s, (x * (1.0 / b)).expm1() * (a * s))


def _elu_grad(g, x, o, a, s, b):
    return _where(x > 0, g * s, g * ((x * (1.0 / b)).exp() * (a * s / b)))


_elu = _pointwise("Elu", _elu_fwd, _elu_grad)
_celu = _pointwise("Celu", _elu_fwd, _elu_grad)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(input, alpha=1.0, inplace=False):
    _check("elu", input)
    return _maybe_inplace(input, _elu(input, alpha, 1.0, 1.0), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def selu(input, inplace=False):
    _check("elu", input)
    return _maybe_inplace(input, _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input):
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):
    _check("elu", input)
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _maybe_inplace(input, _celu(input, alpha, 1.0, alpha), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


_threshold = _pointwise(
    "Threshold", lambda x, t, v: _where(x > t, x, v),
    lambda g, x, o, t, v: _where(x > t, g, 0.0))


def threshold(input, threshold, value, inplace=False):
    if isinstance(input, Tensor) and input.dtype is dt.bool:
        raise NotImplementedError("\"threshold\" not implemented for 'Bool'")
    return _maybe_inplace(input, _threshold(input, threshold, value), inplace)


def threshold_(input, threshold, value):
    return _maybe_inplace(input, _threshold(input, threshold, value), True)


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), with `weight` per channel (dim 1) or a single one."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu(): argument 'weight' (position 2) must be Tensor, not "
                        f"{type(weight).__name__}")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
        if weight.ndim > 1 or n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        # the weight lines up with dim 1 (dim 0 for 1-d input)
        w = weight.reshape((n,) + (1,) * (input.ndim - 2)) if input.ndim >= 2 else weight
    else:
        w = weight.reshape(()) if weight.ndim else weight
    return _where(input > 0, input, input * w)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: a slope drawn from U(lower, upper) per element in training,
    their mean otherwise."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = _ops.rand(input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
    out = _where(input >= 0, input, input * slope)
    return _maybe_inplace(input, out, inplace)


# -- smooth activations ------------------------------------------------------------------------
def gelu(input, approximate="none"):
    return _ops.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    src = _src(input) if inplace else input  # the graph must not save what is overwritten
    return _maybe_inplace(input, _ops.silu(src), inplace)


def _softplus_fwd(x, beta, thr):
    bx = x * beta if beta != 1 else x
    soft = bx.exp().log1p()
    if beta != 1:
        soft = soft * (1.0 / beta)
    return _where(bx > thr, x, soft)  # linear above the threshold, as in PyTorch


_softplus = _pointwise(
    "Softplus", _softplus_fwd,
    lambda g, x, o, beta, thr: _where(x * beta > thr, g, g * (x * beta).sigmoid()))


def softplus(input, beta=1.0, threshold=20.0):
    _check("softplus", input)
    return _softplus(input, beta, threshold)


def mish(input, inplace=False):
    _check("mish", input)
    src = _src(input) if inplace else input
    return _maybe_inplace(input, src * _softplus(src, 1.0, 20.0).tanh(), inplace)


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - input.tanh()


_softshrink = _pointwise(
    "Softshrink", lambda x, l: _where(x > l, x - l, _where(x < -l, x + l, 0.0)),
    lambda g, x, o, l: _where((x > l) | (x < -l), g, 0.0))
_hardshrink = _pointwise(
    "Hardshrink", lambda x, l: _where((x > l) | (x < -l), x, 0.0),
    lambda g, x, o, l: _where((x > l) | (x < -l), g, 0.0))


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _softshrink(input, lambd)


def hardshrink(input, lambd=0.5):
    return _hardshrink(input, lambd)


_hardsigmoid = _pointwise(
    "Hardsigmoid", lambda x: ((x + 3.0).clamp(0.0, 6.0)) * (1.0 / 6),
    lambda g, x, o: _where((x > -3.0) & (x < 3.0), g * (1.0 / 6), 0.0))
_hardswish = _pointwise(
    "Hardswish", lambda x: x * (x + 3.0).clamp(0.0, 6.0) * (1.0 / 6),
    lambda g, x, o: _where(x <= -3.0, 0.0, _where(x < 3.0, g * (x * (1.0 / 3) + 0.5), g)))


def hardsigmoid(input, inplace=False):
    _check("hardsigmoid", input)
    return _maybe_inplace(input, _hardsigmoid(input), inplace)


def hardswish(input, inplace=False):
    _check("hardswish", input)
    return _maybe_inplace(input, _hardswish(input), inplace)


def sigmoid(input):
    return _ops.sigmoid(input)


def tanh(input):
    return _ops.tanh(input)


# log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): never exp of a large positive number
_logsigmoid = _pointwise(
    "LogSigmoid", lambda x: x.clamp(max=0.0) - (-x.abs()).exp().log1p(),
    lambda g, x, o: g * (-x).sigmoid())


def logsigmoid(input):
    _check("log_sigmoid_forward", input)
    return _logsigmoid(input)


# -- softmax family ------------------------------------------------------------------------------
def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _ops.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _ops.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _ops.softmax(-input, dim)


def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = input._dim(dim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * b.sigmoid()

