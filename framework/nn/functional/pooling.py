"""Pooling: max/avg (1-d and 2-d) over the backend's fused ops, adaptive pooling composed.

1-d pooling is 2-d pooling over a height of 1. Each pooling Function's backward is itself
a Function whose backward is the (linear) forward again, so double backward works.
"""
import numpy as np

from ...autograd.function import Function
from ...fused.nn_ops import _out_size
from ... import dtypes
from ...ops.elementwise import _not_implemented
from ...tensor import Tensor
from .conv import _batched, _ints, _restore

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "max_pool1d_with_indices", "max_pool2d_with_indices", "lp_pool1d", "lp_pool2d"]


class _MaxPool2d(Function):
    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        v, i = x._be.max_pool2d(x._v, kernel, stride, padding, dilation, ceil_mode)
        values, indices = x._from(v), x._from(i)
        ctx.input_shape = tuple(x.shape)
        ctx.geometry = (kernel, stride, padding, dilation)  # the backward's fast paths need it
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        ctx.set_materialize_grads(False)  # no zeros made for the indices' gradient
        return values, indices

    @staticmethod
    def backward(ctx, g, _):
        if g is None:
            return None, None, None, None, None, None
        (indices,) = ctx.saved_tensors
        return (_MaxPoolGrad.apply(g, indices, ctx.input_shape, ctx.geometry),
                None, None, None, None, None)


class _MaxPoolGrad(Function):
    node_name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx, g, indices, input_shape, geometry):
        ctx.save_for_backward(indices)
        return g._from(g._be.max_pool2d_grad(g._v, indices._v, input_shape, *geometry))

    @staticmethod
    def backward(ctx, gg):
        (indices,) = ctx.saved_tensors
        n, c = indices.shape[:2]
        picked = gg.reshape(n, c, -1).gather(2, indices.reshape(n, c, -1))
        return picked.reshape(indices.shape), None, None, None


class _AvgPool2d(Function):
    node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, args):
        ctx.input_shape, ctx.args = tuple(x.shape), args
        return x._from(x._be.avg_pool2d(x._v, *args))

    @staticmethod
    def backward(ctx, g):
        return _AvgPoolGrad.apply(g, ctx.input_shape, ctx.args), None


class _AvgPoolGrad(Function):
    node_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, input_shape, args):
        ctx.args = args
        return g._from(g._be.avg_pool2d_grad(g._v, input_shape, *args))

    @staticmethod
    def backward(ctx, gg):
        return _AvgPool2d.apply(gg, ctx.args), None, None


def _tuple(v, n, name):
    return _ints(v, n, name, "{name} must either be a single int, or a tuple of {n} ints")


def _prepare(input, nd, name):
    """input as a 4-d (N, C, H, W) tensor, and how to undo that."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2) or 0 in input.shape[-(nd + 1):]:  # only N may be 0
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for "
                           f"input with possibly 0 batch size and non-zero dimensions for input, "
                           f"but got: {list(input.shape)}" if nd == 1 else
                           f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    if input.dtype is dtypes.bool:
        _not_implemented(name, dtypes.bool)
    x, unbatched = _batched(input, nd)
    if nd == 1:
        x = x.unsqueeze(2)
    return x, lambda t: _restore(t, nd, unbatched)


def _geometry(x, kernel, stride, padding, dilation, ceil_mode, nd):
    kernel = _tuple(kernel, nd, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, nd, "stride")
    padding, dilation = _tuple(padding, nd, "padding"), _tuple(dilation, nd, "dilation")
    if any(k <= 0 for k in kernel):
        raise RuntimeError("kernel size should be greater than zero, but got "
                           f"kH: {kernel[0]} kW: {kernel[-1]}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} "
                           f"dW: {stride[-1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    sizes = x.shape[-nd:]
    out = [_out_size(*a, ceil_mode) for a in zip(sizes, kernel, stride, padding, dilation)]
    if any(n < 1 for n in out):
        c = x.shape[1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + tuple(sizes)))}). "
                           f"Calculated output size: ({'x'.join(map(str, [c] + out))}). "
                           "Output size is too small")
    if nd == 1:  # the extra height axis of size 1
        return (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation
    return kernel, stride, padding, dilation


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, name):
    x, finish = _prepare(input, nd, name)
    k, s, p, d = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd)
    values, indices = _MaxPool2d.apply(x, k, s, p, d, bool(ceil_mode))
    return (finish(values), finish(indices)) if return_indices else finish(values)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2, "max_pool2d")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1, "max_pool1d")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, nd, name):
    x, finish = _prepare(input, nd, name)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p, _ = _geometry(x, kernel_size, stride, padding, 1, ceil_mode, nd)
    args = (k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
    if not x.dtype.is_floating_point:  # PyTorch averages integers rounding toward zero
        return finish(_AvgPool2d.apply(x.double(), args).trunc().to(x.dtype))
    return finish(_AvgPool2d.apply(x, args))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     1, "avg_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kw, kh = _tuple(kernel_size, 2, "kernel_size")
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kw * kh).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kernel_size).pow(1.0 / norm_type)


# -- adaptive pooling -----------------------------------------------------------------------
def _bounds(size, n):
    """PyTorch's adaptive windows: [floor(i*size/n), ceil((i+1)*size/n))."""
    i = np.arange(n)
    return (i * size) // n, -((-(i + 1) * size) // n)


def _adaptive_sizes(x, output_size, nd):
    sizes = _tuple(output_size, nd, "output_size") if not isinstance(output_size, (tuple, list)) \
        or None not in output_size else tuple(x.shape[-nd + i] if o is None else int(o)
                                                for i, o in enumerate(output_size))
    if len(sizes) != nd:
        raise RuntimeError(f"adaptive pool: output_size must be {nd}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"adaptive pool: elements of output_size must be greater than or equal "
                           f"to 0 but received {list(sizes)}")
    return sizes


def _pool_matrix(size, n, like):
    """(n, size) matrix averaging each adaptive window: pooling as two small matmuls."""
    from ...ops.creation import tensor
    start, end = _bounds(size, n)
    m = np.zeros((n, size), np.float64)
    for i, (a, b) in enumerate(zip(start, end)):
        m[i, a:b] = 1.0 / (b - a)
    return tensor(m.astype(like.dtype.np), device=like.device)


def _adaptive_avg(input, output_size, nd, name):
    x, finish = _prepare(input, nd, name)
    if not x.dtype.is_floating_point:  # a mean, which PyTorch refuses for integers
        raise RuntimeError(f"{name}: mean() could not infer output dtype; input dtype must be a "
                           f"floating point dtype, got {x.dtype}")
    out = _adaptive_sizes(x, output_size, nd)
    if nd == 1:
        out = (1,) + out
    H, W = x.shape[2:]
    if H % out[0] == 0 and W % out[1] == 0 and out[0] and out[1]:
        k = (H // out[0], W // out[1])  # equal windows: ordinary (fused) average pooling
        return finish(_AvgPool2d.apply(x, (k, k, (0, 0), False, True, None)))
    ph, pw = _pool_matrix(H, out[0], x), _pool_matrix(W, out[1], x)
    return finish(ph @ x @ pw.mT)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def _window_table(size, n):
    """(n, L) input positions of each adaptive window, short windows padded by repeating
    their last position (a repeat never changes a max), L the longest window."""
    start, end = _bounds(size, n)
    length = int((end - start).max()) if n else 1
    return np.minimum(start[:, None] + np.arange(length), end[:, None] - 1)


def _adaptive_max(input, output_size, return_indices, nd, name):
    from ...ops.creation import tensor
    x, finish = _prepare(input, nd, name)
    out = _adaptive_sizes(x, output_size, nd)
    if nd == 1:
        out = (1,) + out
    N, C, H, W = x.shape
    rows, cols = _window_table(H, out[0]), _window_table(W, out[1])
    lr, lc = rows.shape[1], cols.shape[1]
    dev = x.device
    # gather the windows: (N, C, OH*LR, W) -> (N, C, OH, LR, OW, LC) -> (N, C, OH, OW, LR*LC)
    t = x.index_select(2, tensor(rows.reshape(-1), device=dev))
    t = t.index_select(3, tensor(cols.reshape(-1), device=dev))
    t = t.reshape(N, C, out[0], lr, out[1], lc).permute(0, 1, 2, 4, 3, 5).reshape(N, C, out[0], out[1], lr * lc)
    values, k = t.max(-1)
    if not return_indices:
        return finish(values)
    flat = (rows[:, None, :, None] * W + cols[None, :, None, :]).reshape(out[0], out[1], lr * lc)
    table = tensor(flat, device=dev).expand(N, C, out[0], out[1], lr * lc)
    indices = table.gather(4, k.unsqueeze(-1)).squeeze(-1)
    return finish(values), finish(indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")
