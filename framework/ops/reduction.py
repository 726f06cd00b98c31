"""Reductions along dimensions (sum, mean, max, ...), softmax family, and their gradients."""
import builtins
import collections

from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, method

values_indices = {name: collections.namedtuple(name, ["values", "indices"])
                  for name in ("max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax",
                               "cummin")}


def norm_dims(x, dim):
    """`dim` (None, int, or a sequence) as a sorted tuple of non-negative dims.
    An empty sequence means every dim, as in PyTorch; a 0-dim tensor accepts dim 0 / -1
    and has nothing to reduce."""
    if dim is None or isinstance(dim, (tuple, list)) and not dim:
        return tuple(range(x.ndim))
    if isinstance(dim, (tuple, list)):
        dims = tuple(sorted({x._dim(d) for d in dim}))
        if len(dims) != len(dim):
            raise RuntimeError(f"dim {list(dim)} appears multiple times in the list of dims")
    else:
        dims = (x._dim(dim),)
    return dims if x.ndim else ()


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
    if grad_mode._state.enabled and input.requires_grad:
        return _Sum.apply(input, dims, keepdim)
    return raw_reduce("sum", input, dims, keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {dt.SCALAR_NAMES[input.dtype]}")
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


def _extreme(op, x, dim, keepdim, name=None):
    name = name or op
    if x.numel() == 0 and (dim is None or dim == () or dim == []):
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    dims = norm_dims(x, dim)
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    if grad_mode._state.enabled and x.requires_grad:
        return _Extreme.apply(x, op, dims, keepdim)
    return raw_reduce(op, x, dims, keepdim)


def amax(input, dim=(), keepdim=False):
    return _extreme("max", input, None if dim == () else dim, keepdim, "amax")


def amin(input, dim=(), keepdim=False):
    return _extreme("min", input, None if dim == () else dim, keepdim, "amin")


def _arg(op, x, dim, keepdim):
    if dim is None:
        if x.numel() == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = x.reshape(-1)
        out = Tensor._make(x._be.arg_reduce(op, flat._v, 0, False), x._be)
        return out.reshape((1,) * x.ndim) if keepdim else out
    d = x._dim(dim)
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    if x.ndim == 0:
        return Tensor._make(x._be.arg_reduce(op, x.reshape(1)._v, 0, False), x._be).reshape(())
    return Tensor._make(x._be.arg_reduce(op, x._v, d, keepdim), x._be)


def _no_bool(name, x):
    if x.dtype is dt.bool:
        raise RuntimeError(f"{name}(): does not support bool input")


def argmax(input, dim=None, keepdim=False):
    _no_bool("argmax", input)
    return _arg("argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    _no_bool("argmin", input)
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
        # NotImplementedError (a RuntimeError), PyTorch's type for a kernel missing a dtype
        raise NotImplementedError(f"softmax: not implemented for {x.dtype}; pass dtype= or "
                                  "convert to a floating-point tensor first")
    return x


def _row_op(op, x, dim):
    """The backend's softmax or log_softmax; an empty tensor has nothing to normalise
    (backends need not handle a row of zero length)."""
    if not x.numel():
        return x._from(x._be.full(x._v.shape, 0, x.dtype))
    return x._from(getattr(x._be, op)(x._v, dim))


class _Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        out = _row_op("softmax", x, dim)
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
        out = _row_op("log_softmax", x, dim)
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


# -- products and scans -------------------------------------------------------------------------
def _int_to_long(x, dtype):
    """Sums and products of bools and ints accumulate in int64, as in PyTorch."""
    if dtype is not None:
        return x.to(dtype)
    return x if x.dtype.is_floating_point else x.to(dt.int64)


def _has_zero(x):
    return builtins.bool(raw_reduce("any", x.detach() == 0, norm_dims(x, None), False))


def _reduced_numel(x, dims):
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def _prod_of_others(x, dims):
    """For each element, the product of the other elements of its reduction slice, exact
    when the slice holds zeros: exclusive cumulative products from the left and the right."""
    from .creation import ones
    from .shape import cat
    keep = [d for d in range(x.ndim) if d not in dims]
    perm = keep + list(dims)
    kept_shape = tuple(x.shape[d] for d in keep)
    n = _reduced_numel(x, dims)
    xp = x.permute(perm).reshape(kept_shape + (n,))
    one = ones(kept_shape + (1,), dtype=x.dtype, device=x.device)
    left = cat([one, xp.narrow(-1, 0, n - 1)], -1).cumprod(-1)
    right = cat([one, xp.flip(-1).narrow(-1, 0, n - 1)], -1).cumprod(-1).flip(-1)
    inverse = [perm.index(i) for i in range(x.ndim)]
    return (left * right).reshape(tuple(x.shape[d] for d in perm)).permute(inverse)


class _Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = raw_reduce("prod", x, dims, keepdim)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _expand_back(g, x.shape, ctx.dims, ctx.keepdim)
        if not _has_zero(x):
            return g * _expand_back(out, x.shape, ctx.dims, ctx.keepdim) / x, None, None
        return g * _prod_of_others(x, ctx.dims), None, None


def prod(input, dim=None, keepdim=False, *, dtype=None):
    x = _int_to_long(input, dtype)
    dims = norm_dims(x, dim)
    if grad_mode._state.enabled and x.requires_grad:
        return _Prod.apply(x, dims, keepdim)
    return raw_reduce("prod", x, dims, keepdim)


def _scan_dim(x, dim, name):
    if dim is None:
        raise TypeError(f"{name}() missing required argument 'dim'")
    return x._dim(dim) if x.ndim else 0


def raw_scan(op, x, d):
    return Tensor._make(x._be.scan(op, x._v, d), x._be)


def _rev_cumsum(g, d):
    return g.flip(d).cumsum(d).flip(d)


class _Cumsum(Function):
    @staticmethod
    def forward(ctx, x, d):
        ctx.d = d
        return raw_scan("sum", x, d)

    @staticmethod
    def backward(ctx, g):
        return _rev_cumsum(g, ctx.d), None


def _cumprod_grad_with_zeros(g, x, d):
    """d out_j / d x_k = prod(x_i for i <= j, i != k): the cumprod of x with x_k set to one.
    Built for every k at once (O(n^2) memory), only when x holds zeros."""
    from .creation import arange
    from .elementwise import where
    n = x.shape[d]
    xl, gl = x.movedim(d, -1), g.movedim(d, -1)
    r = arange(n, device=x.device)
    diag = r.unsqueeze(1) == r.unsqueeze(0)           # (k, i)
    upper = r.unsqueeze(1) <= r.unsqueeze(0)          # (k, j): j >= k
    xs = where(diag, 1.0, xl.unsqueeze(-2).expand(xl.shape[:-1] + (n, n)))
    grad = (xs.cumprod(-1) * gl.unsqueeze(-2) * upper).sum(-1)
    return grad.movedim(-1, d)


class _Cumprod(Function):
    @staticmethod
    def forward(ctx, x, d):
        out = raw_scan("prod", x, d)
        ctx.d = d
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if not _has_zero(x):
            return _rev_cumsum(g * out, ctx.d) / x, None
        return _cumprod_grad_with_zeros(g, x, ctx.d), None


def _scan(name, fn, input, dim, dtype):
    x = _int_to_long(input, dtype)
    d = _scan_dim(x, dim, name)
    if x.ndim == 0:
        return _scan(name, fn, x.reshape(1), 0, None).reshape(())
    if grad_mode._state.enabled and x.requires_grad:
        return fn.apply(x, d)
    return raw_scan("sum" if fn is _Cumsum else "prod", x, d)


def cumsum(input, dim=None, *, dtype=None):
    return _scan("cumsum", _Cumsum, input, dim, dtype)


def cumprod(input, dim=None, *, dtype=None):
    return _scan("cumprod", _Cumprod, input, dim, dtype)


# -- statistics -----------------------------------------------------------------------------------
def _var_args(name, input, dim, unbiased, correction):
    if isinstance(dim, builtins.bool):  # legacy x.var(False): the first argument is `unbiased`
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{name}: can't specify both unbiased and correction")
    if not input.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    c = correction if correction is not None else (1 if unbiased is None else builtins.int(unbiased))
    return norm_dims(input, dim), c


def _var(name, input, dim, unbiased, keepdim, correction):
    dims, c = _var_args(name, input, dim, unbiased, correction)
    mu = mean(input, dims, keepdim=True)
    d = input - mu
    n = _reduced_numel(input, dims)
    v = sum(d * d, dims, keepdim) / builtins.max(n - c, 0)
    return v, mu if keepdim else mu.reshape(v.shape)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var("var", input, dim, unbiased, keepdim, correction)[0]


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var("std", input, dim, unbiased, keepdim, correction)[0].sqrt()


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var("var_mean", input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    v, mu = _var("std_mean", input, dim, unbiased, keepdim, correction)
    return v.sqrt(), mu


def logsumexp(input, dim=None, keepdim=False):
    from .elementwise import where
    if dim is None:
        raise TypeError("logsumexp() missing required argument 'dim'")
    x = input if input.dtype.is_floating_point else input.to(dt.get_default_dtype())
    dims = norm_dims(x, dim)
    if _reduced_numel(x, dims) == 0 or x.numel() == 0:
        m = 0.0
    else:  # shift by the (constant) max for stability; an infinite max shifts by nothing
        m = amax(x.detach(), dims, keepdim=True)
        m = where(m.abs() == float("inf"), 0.0, m)
    out = sum((x - m).exp(), dims, keepdim=True).log() + m
    return out if keepdim else out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))


def _logical_reduce(op, input, dim, keepdim):
    dims = norm_dims(input, dim)
    out = raw_reduce(op, input, dims, keepdim)
    return out.to(dt.uint8) if input.dtype is dt.uint8 else out  # PyTorch keeps uint8 (legacy)


def all(input, dim=None, keepdim=False):
    return _logical_reduce("all", input, dim, keepdim)


def any(input, dim=None, keepdim=False):
    return _logical_reduce("any", input, dim, keepdim)


def count_nonzero(input, dim=None):
    return sum(input != 0, norm_dims(input, dim))


class _Norm2(Function):
    """The 2-norm, with gradient 0 (not NaN) where the norm is 0, as in PyTorch."""
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = raw_reduce("sum", x * x, dims, keepdim).sqrt()
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        from .elementwise import where
        x, out = ctx.saved_tensors
        safe = where(out == 0, 1.0, out)  # a zero norm means x is zero there: the grad is 0
        grad = _expand_back(g / safe, x.shape, ctx.dims, ctx.keepdim) * x
        return grad, None, None


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_TORCH_NAMES[input.dtype]}")
    if p is None or p == "fro":
        p = 2
    elif isinstance(p, str):
        raise RuntimeError(f"norm: p={p!r} is not supported (use a number, inf or 'fro')")
    dims = norm_dims(input, dim)
    if p != 0 and _reduced_numel(input, dims) == 1 and input.numel():
        return amax(input.abs(), dims, keepdim)  # |x|, as PyTorch: no x**p to overflow
    if p == 2:
        if grad_mode._state.enabled and input.requires_grad:
            return _Norm2.apply(input, dims, keepdim)
        return raw_reduce("sum", input * input, dims, keepdim).sqrt()
    a = input.abs()
    if p == float("inf") or p == -float("inf"):
        if _reduced_numel(input, dims) == 0 or input.numel() == 0:
            raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty tensor "
                               "because the operation does not have an identity")
        return (amax if p > 0 else amin)(a, dims, keepdim)
    if p == 0:
        from .elementwise import where
        return sum(where(input != 0, 1.0, input * 0), dims, keepdim)  # keeps a (zero) gradient
    if p == 1:
        return sum(a, dims, keepdim)
    return sum(a.pow(p), dims, keepdim).pow(1.0 / p)


_TORCH_NAMES = dt.SCALAR_NAMES


# -- sorting ----------------------------------------------------------------------------------------
def _zero_index(x):
    from .creation import zeros
    return zeros(x.shape, dtype=dt.int64, device=x.device)


def sort(input, dim=-1, descending=False, stable=False):
    result = values_indices["sort"]
    if input.ndim == 0:
        input._dim(dim)
        return result(input.clone(), _zero_index(input))
    d = input._dim(dim)
    v, i = input._be.sort(input._v, d, descending, stable)
    indices = Tensor._make(i, input._be)
    if grad_mode._state.enabled and input.requires_grad:
        return result(input.gather(d, indices), indices)  # gather carries the gradient
    return result(Tensor._make(v, input._be), indices)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input.detach(), dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    result = values_indices["topk"]
    _no_bool("topk", input)
    d = input._dim(dim) if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: k={k} for dimension {d} of size {n}")
    if input.ndim == 0:
        return result(input.clone(), _zero_index(input))
    indices = sort(input.detach(), d, descending=largest, stable=True).indices.narrow(d, 0, k)
    return result(input.gather(d, indices), indices)


def _median_index(x, d):
    """The index along dim d (kept) of the element median returns: the lower middle of the
    stably sorted row or, where the row holds NaN, its first NaN (NaN sorts last), as PyTorch."""
    n = x.shape[d]
    order = sort(x, d, stable=True).indices
    if not x.dtype.is_floating_point:
        return order.narrow(d, (n - 1) // 2, 1)
    nans = (x != x).sum(d, keepdim=True)
    return order.gather(d, (nans > 0) * (n - nans) + (nans == 0) * ((n - 1) // 2))


def median(input, dim=None, keepdim=False):
    """The lower of the two middle values, as in PyTorch (NaN where there is one); with
    `dim`, (values, indices)."""
    if input.dtype is dt.bool:
        raise NotImplementedError("\"median_cpu\" not implemented for 'Bool'")
    if dim is None:
        flat = input.reshape(-1)
        if flat.numel() == 0:
            return (flat.sum() * float("nan")).to(input.dtype)
        return flat.gather(0, _median_index(flat.detach(), 0)).reshape(())
    result = values_indices["median"]
    d = input._dim(dim) if input.ndim else 0
    if input.ndim == 0:
        return result(input.clone(), _zero_index(input))
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    idx = _median_index(input.detach(), d)
    values = input.gather(d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return result(values, idx)


for _fn in (sum, mean, amax, amin, argmax, argmin, max, min, softmax, log_softmax, prod, var,
            std, logsumexp, cumsum, cumprod, all, any, count_nonzero, norm, sort, argsort, topk,
            median):
    setattr(Tensor, _fn.__name__, _fn)


@method
def cumsum_(self, dim, *, dtype=None):
    return self._inplace(cumsum(self, dim, dtype=dtype))


@method
def cumprod_(self, dim, *, dtype=None):
    return self._inplace(cumprod(self, dim, dtype=dtype))
