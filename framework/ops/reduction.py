"""Reductions along dimensions (sum, mean, max, ...), softmax family, and their gradients."""
import collections

from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, method

values_indices = {name: collections.namedtuple(name, ["values", "indices"])
                  for name in ("max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax",
                               "cummin")}


def norm_dims(x, dim):
    """`dim` (None, int, or a sequence) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(x.ndim))
    if isinstance(dim, (tuple, list)):
        dims = tuple(sorted({x._dim(d) for d in dim}))
        if len(dims) != len(dim):
            raise RuntimeError(f"dim {list(dim)} appears multiple times in the list of dims")
        return dims
    return (x._dim(dim),)


def _kept_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(g, in_shape, dims, keepdim):
    """A reduced gradient broadcast back over the input's shape."""
    if not keepdim and dims:
        g = g.reshape(_kept_shape(in_shape, dims))
    return g.expand(in_shape)


def raw_reduce(op, x, dims, keepdim):
    return Tensor._make(x._be.reduce(op, x._v, dims, keepdim), x._be)


class _Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return raw_reduce("sum", x, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.in_shape, ctx.dims, ctx.keepdim), None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    elif not input.dtype.is_floating_point:
        input = input.to(dt.int64)  # PyTorch sums bools and ints as int64
    dims = norm_dims(input, dim)
    if grad_mode._state["enabled"] and input.requires_grad:
        return _Sum.apply(input, dims, keepdim)
    return raw_reduce("sum", input, dims, keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype.name.capitalize()}")
    dims = norm_dims(input, dim)
    n = 1
    for d in dims:
        n *= input.shape[d]
    return sum(input, dims, keepdim) / n if n else sum(input, dims, keepdim) * float("nan")


@method
def sum_to_size(self, *size):
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    if size == self.shape:
        return self
    lead = self.ndim - len(size)
    if lead < 0:
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(self.shape)}")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and self.shape[lead + i] != 1)
    for i, s in enumerate(size):
        if s != 1 and s != self.shape[lead + i]:
            raise RuntimeError(f"size {list(size)} is not expandable to size {list(self.shape)}")
    out = sum(self, dims, keepdim=True)
    return out.reshape(size) if lead else out


class _Extreme(Function):
    """amax/amin: the gradient is shared evenly among the elements that tie for the extreme."""
    @staticmethod
    def forward(ctx, x, op, dims, keepdim):
        out = raw_reduce(op, x, dims, keepdim)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        mask = (x == _expand_back(out, x.shape, ctx.dims, ctx.keepdim)).to(g.dtype)
        count = mask.sum(ctx.dims, keepdim=True)
        return _expand_back(g, x.shape, ctx.dims, ctx.keepdim) * mask / count, None, None, None


def _extreme(op, x, dim, keepdim):
    dims = norm_dims(x, dim)
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    if x.numel() == 0 and not dims:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
    if grad_mode._state["enabled"] and x.requires_grad:
        return _Extreme.apply(x, op, dims, keepdim)
    return raw_reduce(op, x, dims, keepdim)


def amax(input, dim=(), keepdim=False):
    return _extreme("max", input, None if dim == () else dim, keepdim)


def amin(input, dim=(), keepdim=False):
    return _extreme("min", input, None if dim == () else dim, keepdim)


def _arg(op, x, dim, keepdim):
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = x.reshape(-1)
        out = Tensor._make(x._be.arg_reduce(op, flat._v, 0, False), x._be)
        return out.reshape((1,) * x.ndim) if keepdim else out
    d = x._dim(dim)
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    if x.ndim == 0:
        return Tensor._make(x._be.arg_reduce(op, x.reshape(1)._v, 0, False), x._be).reshape(())
    return Tensor._make(x._be.arg_reduce(op, x._v, d, keepdim), x._be)


def argmax(input, dim=None, keepdim=False):
    return _arg("argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return _arg("argmin", input, dim, keepdim)


def _max_min(name, input, dim, keepdim, other):
    from .elementwise import maximum, minimum
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return (maximum if name == "max" else minimum)(input, other)
    if dim is None:
        return _extreme(name, input, None, False)
    d = input._dim(dim)
    idx = _arg("arg" + name, input, d, True)
    values = input.gather(d, idx) if input.ndim else input.view(())
    if not keepdim and input.ndim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return values_indices[name](values, idx)


def max(input, dim=None, keepdim=False, *, other=None):
    return _max_min("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    return _max_min("min", input, dim, keepdim, other)


# -- softmax family ---------------------------------------------------------------------------
def _softmax_input(x, dtype):
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"softmax: expected a floating-point tensor, got {x.dtype}")
    return x


class _Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        out = x._from(x._be.softmax(x._v, dim))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * (g - (g * out).sum(ctx.dim, keepdim=True)), None


class _LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        out = x._from(x._be.log_softmax(x._v, dim))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.dim, keepdim=True), None


def softmax(input, dim=None, dtype=None, _stacklevel=3):
    x = _softmax_input(input, dtype)
    if dim is None:
        raise TypeError("softmax() missing required argument 'dim' (fw, like PyTorch's modern "
                        "API, does not guess it)")
    d = x._dim(dim) if x.ndim else 0
    if x.ndim == 0:
        return _Softmax.apply(x.reshape(1), 0).reshape(())
    return _Softmax.apply(x, d)


def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    x = _softmax_input(input, dtype)
    if dim is None:
        raise TypeError("log_softmax() missing required argument 'dim'")
    if x.ndim == 0:
        return _LogSoftmax.apply(x.reshape(1), 0).reshape(())
    return _LogSoftmax.apply(x, x._dim(dim))


for _fn in (sum, mean, amax, amin, argmax, argmin, max, min, softmax, log_softmax):
    setattr(Tensor, _fn.__name__, _fn)
