"""Normalisation: batch/layer/group/instance norm, `normalize`, local response norm.

layer_norm (and group/instance norm, which reshape into it) runs the backend's fused
`layer_norm` and `layer_norm_grad`; batch_norm is composed from tensor ops. When a
backward is itself recorded (create_graph=True), layer norm's gradient is recomputed
with tensor ops so that it can be differentiated again.
"""
import math

from ...autograd import grad_mode
from ...ops.elementwise import _float_only
from ...autograd.function import Function

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "normalize",
           "local_response_norm", "rms_norm"]


class _LayerNorm(Function):
    node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, nd, eps):
        y, mean, rstd = x._be.layer_norm(x._v, None if w is None else w._v,
                                         None if b is None else b._v, nd, eps)
        ctx.nd, ctx.eps = nd, eps
        ctx.save_for_backward(x, w, x._from(mean), x._from(rstd))
        return x._from(y)

    @staticmethod
    def backward(ctx, g):
        x, w, mean, rstd = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        nd = ctx.nd
        lead = tuple(range(x.ndim - nd))
        if grad_mode._state.enabled:
            return _layer_norm_grad_composed(g, x, w, nd, ctx.eps, lead, nw, nb)
        gx, gw, gb = x._be.layer_norm_grad(g._v, x._v, None if w is None else w._v,
                                           mean._v, rstd._v, nd)
        return (x._from(gx) if nx else None, x._from(gw) if nw and gw is not None else None,
                (x._from(gb) if gb is not None else g.sum(lead)) if nb else None, None, None)


def _moments(x, dims):
    """Mean, deviations and (biased) variance over `dims`, as the fused layer norm computes
    them: the mean is x0 + sum(x / n - x0 / n), x0 the first element (no overflow for a large
    common value, exact for a constant one), and a variance past the dtype's range is NaN
    (not the 0 that rsqrt(inf) would give)."""
    n, x0 = 1, x
    for d in dims:
        n *= x.shape[d]
        x0 = x0.narrow(d, 0, 1)
    mean = x0 + (x / n - x0 / n).sum(dims, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(dims, keepdim=True)
    return mean, xc, var.masked_fill(var == math.inf, math.nan)


def _layer_norm_grad_composed(g, x, w, nd, eps, lead, nw, nb):
    axes = tuple(range(x.ndim - nd, x.ndim))
    _, xc, var = _moments(x, axes)
    rstd = (var + eps).rsqrt()
    xhat = xc * rstd
    gxhat = g * w if w is not None else g
    gx = rstd * (gxhat - gxhat.mean(axes, keepdim=True)
                 - xhat * (gxhat * xhat).mean(axes, keepdim=True))
    gw = (g * xhat).sum(lead) if nw else None
    gb = g.sum(lead) if nb else None
    return gx, gw, gb, None, None


def _normalized_shape(input, normalized_shape, weight, bias):
    """layer_norm's and rms_norm's checks: the input ends in `normalized_shape`, and so
    are weight and bias shaped. Returns it as a tuple."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    shape = tuple(int(s) for s in normalized_shape)
    nd = len(shape)
    if nd == 0 or tuple(input.shape[input.ndim - nd:]) != shape or input.ndim < nd:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {list(t.shape)} and normalized_shape = {list(shape)}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    _float_only("LayerNormKernelImpl", input)
    nd = len(_normalized_shape(input, normalized_shape, weight, bias))
    return _LayerNorm.apply(input, weight, bias, nd, float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    normalized_shape = _normalized_shape(input, normalized_shape, weight, None)
    axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    if eps is None:
        eps = _finfo_eps(input)
    y = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def _finfo_eps(x):
    import numpy as np
    return float(np.finfo(x.dtype.np).eps)


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _channel_affine(y, weight, bias):
    """y * weight + bias, each a (C,) vector broadcast over axis 1 (either may be None)."""
    if weight is not None:
        y = y * weight.reshape(_channel_shape(y))
    if bias is not None:
        y = y + bias.reshape(_channel_shape(y))
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    _float_only("batch_norm", input)
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or more input (got {input.ndim}D input)")
    C = input.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // C if C else 0
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {input.shape!r}".replace("fw.Size", "torch.Size"))
        mean, xc, var = _moments(input, dims)
        if running_mean is not None or running_var is not None:
            with grad_mode.no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.detach().reshape(C) * momentum)
                if running_var is not None:  # the running variance is the unbiased one
                    running_var.mul_(1 - momentum).add_(var.detach().reshape(C) * (momentum * n / (n - 1)))
        y = xc * (var + eps).rsqrt()
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        cshape = _channel_shape(input)
        y = (input - running_mean.reshape(cshape)) * (running_var.reshape(cshape) + eps).rsqrt()
    return _channel_affine(y, weight, bias)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or more input (got {input.ndim}D input)")
    N, C = input.shape[:2]
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = input.numel() // (N * C) if N * C else 0
    if spatial <= 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{input.shape!r}".replace("fw.Size", "torch.Size"))
    y = _LayerNorm.apply(input.reshape(N, C, -1), None, None, 1, float(eps)).reshape(input.shape)
    if running_mean is not None or running_var is not None:
        with grad_mode.no_grad():
            x = input.detach().reshape(N, C, -1)
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(x.mean(2).mean(0) * momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(x.var(2, unbiased=True).mean(0) * momentum)
    return _channel_affine(y, weight, bias)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    _float_only("GroupNormKernelImpl", input)
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    N, C = input.shape[:2]
    if num_groups <= 0 or C % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups={num_groups}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.ndim != 1 or t.numel() != C):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} and "
                               f"input of shape {list(input.shape)}")
    y = _LayerNorm.apply(input.reshape(N, num_groups, -1), None, None, 1, float(eps))
    y = y.reshape(input.shape)
    return _channel_affine(y, weight, bias)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    n = input.norm(p, dim, keepdim=True).clamp_min(eps)
    y = input / n.expand_as(input)
    if out is not None:
        out.copy_(y)
        return out
    return y


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's recipe: the mean of squares over `size` neighbouring channels (zero padded,
    as an average pool over the channel axis), then input / (k + alpha * mean) ** beta."""
    from .pooling import avg_pool2d
    from ...ops.shape import pad
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    N, C = input.shape[:2]
    sq = (input * input).reshape(N, 1, C, -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k).pow(beta)
