"""Convolutions (`conv1d`, `conv2d`, `conv_transpose1d`, `conv_transpose2d`).

Three autograd Functions over the backend's fused ops, each the others' adjoint:
  conv(x, w)          = backend.conv2d
  grad_input(g, w)    = backend.conv2d_grad_input   (also conv_transpose2d's forward)
  grad_weight(g, x)   = backend.conv2d_grad_weight
All three are bilinear, so each one's backward is made of the other two and gradients of
any order work. 1-d convolutions are 2-d ones with H = 1.
"""
from ...autograd.function import Function
from ... import dtypes
from ...ops.elementwise import _not_implemented
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


class _Geom:
    """The fixed arguments of one convolution, carried from forward to backward."""
    __slots__ = ("stride", "padding", "dilation", "groups")

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def args(self):
        return self.stride, self.padding, self.dilation, self.groups


class _Conv(Function):
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, geom):
        ctx.geom = geom
        ctx.save_for_backward(x, w)
        return x._from(x._be.conv2d(x._v, w._v, None if b is None else b._v, *geom.args()))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = _GradInput.apply(g, w, tuple(x.shape), ctx.geom) if need[0] else None
        gw = _GradWeight.apply(g, x, tuple(w.shape), ctx.geom) if need[1] else None
        gb = g.sum((0, 2, 3)) if need[2] else None
        return gx, gw, gb, None


class _GradInput(Function):
    """conv2d's input gradient as a function of (grad, weight): conv_transpose2d."""
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, g, w, input_shape, geom):
        ctx.geom = geom
        ctx.save_for_backward(g, w)
        return g._from(g._be.conv2d_grad_input(g._v, w._v, input_shape, *geom.args()))

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dg = _Conv.apply(gg, w, None, ctx.geom) if need[0] else None
        dw = _GradWeight.apply(g, gg, tuple(w.shape), ctx.geom) if need[1] else None
        return dg, dw, None, None


class _GradWeight(Function):
    node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, g, x, weight_shape, geom):
        ctx.geom = geom
        ctx.save_for_backward(g, x)
        return g._from(g._be.conv2d_grad_weight(g._v, x._v, weight_shape, *geom.args()))

    @staticmethod
    def backward(ctx, gw):
        g, x = ctx.saved_tensors
        need = ctx.needs_input_grad
        dg = _Conv.apply(x, gw, None, ctx.geom) if need[0] else None
        dx = _GradInput.apply(g, gw, tuple(x.shape), ctx.geom) if need[1] else None
        return dg, dx, None, None


def _ints(v, n, name, error):
    """v as a tuple of n ints (one value, or a 1-sequence, repeats); `error` formats the
    RuntimeError for a sequence of another length (conv and pooling word it differently)."""
    if isinstance(v, (tuple, list)):
        v = tuple(int(i) for i in v)
        if len(v) == 1:
            v = v * n
        if len(v) != n:
            raise RuntimeError(error.format(name=name, n=n, v=list(v)))
        return v
    return (int(v),) * n


def _tuple(v, n, name):
    return _ints(v, n, name, "expected {name} to be a single integer value or a list of {n} "
                 "values to match the convolution dimensions, but got {name}={v}")


def _batched(input, nd):
    """input with a batch axis, and whether one was added."""
    unbatched = input.ndim == nd + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


def _restore(out, nd, unbatched):
    """Undo the height-1 axis of a 1-d op run as a 2-d one, and the added batch axis."""
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def _check(input, weight, bias, name, nd, stride, dilation, groups):
    """Checks shared by convolutions and their transposes; stride and dilation as tuples."""
    batched_ndim = nd + 2
    for t, what in ((input, "input"), (weight, "weight")):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(f"Expected {batched_ndim - 1}D (unbatched) or {batched_ndim}D (batched) "
                           f"input to {name}, but got input of size: {list(input.shape)}")
    if weight.ndim != batched_ndim:
        raise RuntimeError(f"weight should have {batched_ndim} dimensions for {name}, but got "
                           f"weight of size {list(weight.shape)}")
    for t in (weight, bias):
        if t is not None and t._be is not input._be:
            raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                               f"two devices, {input.device} and {t.device}!")
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"Input type ({input.dtype.name}) and weight type ({t.dtype.name}) "
                               "should be the same")
    if input.dtype is dtypes.bool:
        _not_implemented(name, dtypes.bool)
    stride, dilation = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if 0 in weight.shape[2:]:  # PyTorch refuses a kernel without taps too
        raise RuntimeError(f"{name}: weight of size {list(weight.shape)} has a kernel dim of size "
                           f"0; every kernel dim must be at least 1")
    return stride, dilation


def _as_2d(x, w, stride, padding, dilation):
    """A 1-d convolution as a 2-d one over a height of 1."""
    return x.unsqueeze(2), w.unsqueeze(2), (1,) + stride, (0,) + padding, (1,) + dilation


def _conv_nd(input, weight, bias, stride, padding, dilation, groups, name, nd):
    """conv1d/conv2d: validate, resolve string padding, run the 2-d Function."""
    stride, dilation = _check(input, weight, bias, name, nd, stride, dilation, groups)
    x, unbatched = _batched(input, nd)
    w = weight
    C, O = x.shape[1], w.shape[0]
    if C != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{list(x.shape)} to have {w.shape[1] * groups} channels, but got "
                           f"{C} channels instead")
    if O == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least 1 at dimension "
                           f"0, but got weight of size {list(w.shape)} instead")
    if 0 in x.shape[2:]:  # an empty batch or channel dim is fine, an empty image is not
        raise RuntimeError(f"{name}: only zero batch or zero channel inputs are supported, but "
                           f"got input shape: {list(x.shape)}")
    if O % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(w.shape)} instead")
    if bias is not None and tuple(bias.shape) != (O,):
        raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be 1-dimensional "
                           f"with {O} elements, but got bias of size {list(bias.shape)} instead")
    ksize = tuple(w.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, ksize)]
            padding = tuple(t // 2 for t in total)
            extra = [t - 2 * p for t, p in zip(total, padding)]
            if any(extra):
                # an odd total: PyTorch puts the extra row/column at the end
                from ...ops.shape import pad
                pads = []
                for e in reversed(extra):
                    pads += [0, e]
                x = pad(x, pads)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _tuple(padding, nd, "padding")
        if any(p < 0 for p in padding):
            raise RuntimeError("negative padding is not supported")
    sizes = tuple(x.shape[2:])
    padded = tuple(s + 2 * p for s, p in zip(sizes, padding))
    eff = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    if any(e > s for e, s in zip(eff, padded)):
        raise RuntimeError("Calculated padded input size per channel: ("
                           + " x ".join(map(str, padded)) + "). Kernel size: ("
                           + " x ".join(map(str, eff)) + "). Kernel size can't be greater than "
                           "actual input size")
    if nd == 1:
        x, w, stride, padding, dilation = _as_2d(x, w, stride, padding, dilation)
    return _restore(_Conv.apply(x, w, bias, _Geom(stride, padding, dilation, groups)), nd,
                    unbatched)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)


def _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation,
                       name, nd):
    stride, dilation = _check(input, weight, bias, name, nd, stride, dilation, groups)
    x, unbatched = _batched(input, nd)
    w = weight
    padding, output_padding = _tuple(padding, nd, "padding"), _tuple(output_padding, nd, "output_padding")
    if x.shape[1] != w.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                           f"input{list(x.shape)} to have {w.shape[0]} channels, but got "
                           f"{x.shape[1]} channels instead")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(w.shape)} instead")
    if 0 in x.shape[2:]:  # an empty batch or channel dim is fine, an empty image is not
        raise RuntimeError(f"{name}: only zero batch or zero channel inputs are supported, but "
                           f"got input shape: {list(x.shape)}")
    O = w.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (O,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected bias to "
                           f"be 1-dimensional with {O} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    for op, s, d in zip(output_padding, stride, dilation):
        if op < 0 or (op >= s and op >= d):
            raise RuntimeError(f"output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={list(output_padding)}, "
                               f"stride={list(stride)}, dilation={list(dilation)}")
    sizes = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, s, p, d, k, op in
             zip(x.shape[2:], stride, padding, dilation, w.shape[2:], output_padding)]
    if any(s <= 0 for s in sizes):
        raise RuntimeError(f"Given input size per channel: {list(x.shape[2:])}. Calculated output "
                           f"size per channel: {sizes}. Output size is too small")
    if nd == 1:
        x, w, stride, padding, dilation = _as_2d(x, w, stride, padding, dilation)
        sizes = [1] + sizes
    out = _GradInput.apply(x, w, (x.shape[0], O) + tuple(sizes),
                           _Geom(stride, padding, dilation, groups))
    if bias is not None:
        out = out + bias.reshape((O,) + (1,) * len(sizes))
    return _restore(out, nd, unbatched)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, "conv_transpose2d", 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, "conv_transpose1d", 1)
