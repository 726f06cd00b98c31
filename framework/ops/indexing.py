"""Gather/scatter and NumPy-style indexing (`x[idx]`, `x[mask] = v`) with gradients.

Advanced indexing is composed from two primitives: the selected elements' flat positions
are found by indexing an `arange`, then read with `gather` or written with `scatter`.
"""
import numpy as np

from .. import dtypes as dt
from ..autograd.function import Function
from ..device import broadcast_shapes
from ..tensor import Tensor, method
from .shape import basic_index, _normalize_key, _is_new_dim


def _index_range(t):
    """(min, max) of a non-empty integer tensor, straight from the backend's reductions."""
    be, v = t._be, t._v
    dims = tuple(range(len(v.shape)))
    lo = be.to_numpy(be.reduce("min", v, dims, False)).item()
    hi = be.to_numpy(be.reduce("max", v, dims, False)).item()
    return int(lo), int(hi)


def _check_index(x, dim, index, name):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype is not dt.int64 and index.dtype is not dt.int32:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {index.dtype}")
    if index._be is not x._be:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {x.device} and {index.device}!")
    if index.ndim != x.ndim and not (index.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor")
    for i in range(index.ndim):
        if i != dim and index.shape[i] > x.shape[i]:
            raise RuntimeError(f"Size does not match at dimension {i} expected index "
                               f"{list(index.shape)} to be no larger than self {list(x.shape)} "
                               f"apart from dimension {dim}")
    if index.numel():
        lo, hi = _index_range(index)
        size = x.shape[dim] if x.ndim else 1
        if lo < 0 or hi >= size:  # PyTorch's gather/scatter say so with a RuntimeError
            raise RuntimeError(f"index {hi if hi >= size else lo} is out of bounds for dimension "
                               f"{dim} with size {size}")
    return index if index.dtype is dt.int64 else index.to(dt.int64)


class _Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.in_shape = dim, x.shape
        ctx.save_for_backward(index)
        return x._from(x._be.gather(x._v, dim, index._v))

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        from .creation import zeros
        z = zeros(ctx.in_shape, dtype=g.dtype, device=g.device)
        return z.scatter_add(ctx.dim, index, g), None, None


def gather(input, dim, index, *, sparse_grad=False):
    d = input._dim(dim) if input.ndim else 0
    index = _check_index(input, d, index, "gather")
    return _Gather.apply(input, d, index)


class _Scatter(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, accumulate):
        ctx.dim, ctx.accumulate = dim, accumulate
        ctx.src_shape = src.shape if isinstance(src, Tensor) else None
        ctx.save_for_backward(index)
        s = src._v if isinstance(src, Tensor) else src
        return x._from(x._be.scatter(x._v, dim, index._v, s, accumulate))

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gx = g if ctx.accumulate else g.scatter(ctx.dim, index, 0.0)
        gsrc = None
        if ctx.src_shape is not None and ctx.needs_input_grad[3]:
            gsrc = g.gather(ctx.dim, index)
            if gsrc.shape != ctx.src_shape:  # src may be larger than index
                from .creation import zeros
                gsrc = zeros(ctx.src_shape, dtype=g.dtype, device=g.device)._put_region(gsrc)
        return gx, None, None, gsrc, None


def _scatter(x, dim, index, src, accumulate, name):
    d = x._dim(dim) if x.ndim else 0
    index = _check_index(x, d, index, name)
    if isinstance(src, Tensor):
        if src._be is not x._be:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {x.device} and {src.device}!")
        if src.dtype is not x.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
        for i in range(index.ndim):
            if index.shape[i] > src.shape[i]:
                raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than src "
                                   f"{list(src.shape)} in any dimension")
    elif accumulate:
        raise TypeError(f"{name}(): argument 'src' must be Tensor")
    return _Scatter.apply(x, d, index, src, accumulate)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if reduce is not None:
        if reduce != "add":
            raise RuntimeError(f"scatter(): reduce argument must be 'add', got {reduce!r} "
                               "(fw supports add)")
        return scatter_add(input, dim, index, src)
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    return _scatter(input, dim, index, src, False, "scatter")


def scatter_add(input, dim, index, src):
    return _scatter(input, dim, index, src, True, "scatter_add")


@method
def _put_region(self, small):
    """self (zeros) with `small` written at its leading corner; used by scatter's gradient."""
    key = tuple(slice(0, s) for s in small.shape)
    out = self.clone()
    out[key] = small
    return out


def index_select(input, dim, index):
    d = input._dim(dim) if input.ndim else 0
    if not isinstance(index, Tensor) or index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index.dtype.is_floating_point or index.dtype is dt.bool:
        raise IndexError(f"index_select(): Expected dtype int32 or int64 for index, got {index.dtype}")
    n = index.numel()
    size = input.shape[d] if input.ndim else 1
    if n:
        lo, hi = _index_range(index)
        if lo < 0 or hi >= size:
            raise IndexError(f"index_select(): index {hi if hi >= size else lo} is out of range "
                             f"for dimension {d} with size {size}")
    if index._be is not input._be:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {input.device} and {index.device}!")
    return _select(input, d, index)


def _select(input, d, index):
    """index_select for an index already checked (int, in range, on input's device)."""
    n = index.numel()
    if index.dtype is not dt.int64:
        index = index.to(dt.int64)
    if not input.ndim:
        return _Gather.apply(input, 0, index.reshape(-1))
    if index.ndim != 1:
        index = index.reshape(n)
    # the index broadcast over the other dims as a stride-0 view (no graph: it is an int)
    shape = input.shape[:d] + (n,) + input.shape[d + 1:]
    strides = (0,) * d + (index._v.strides[0],) + (0,) * (input.ndim - d - 1)
    return _Gather.apply(input, d, index._alias(shape, strides, index._v.offset))


# -- x[key] ------------------------------------------------------------------------------------
def _is_advanced(k):
    return isinstance(k, (Tensor, list, np.ndarray)) or (isinstance(k, tuple))


def _to_index_tensor(k, x):
    from .creation import tensor
    if isinstance(k, Tensor):
        if k._be is not x._be:
            k = k.to(x.device)
        return k
    arr = np.asarray(k)
    if arr.dtype == object or (arr.size and arr.dtype.kind not in "iub"):
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return tensor(arr if arr.size else arr.astype(np.int64), device=x.device)


def _split_key(x, key):
    """(basic key with advanced entries replaced by full slices, {dim in result: index})."""
    if not isinstance(key, tuple):
        key = (key,)
    if not any(_is_advanced(k) or isinstance(k, Tensor) for k in key):
        return None
    expanded = []
    for k in key:
        if isinstance(k, (list, np.ndarray, tuple)) or isinstance(k, Tensor):
            t = _to_index_tensor(k, x)
            if t.dtype is dt.bool:
                expanded.extend(("mask", t))
                continue
            if t.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            expanded.append(t)
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            from .creation import tensor
            expanded.append(tensor(int(k), device=x.device))  # an int beside tensors is advanced
        else:
            expanded.append(k)
    # bool masks become one int index per masked dimension
    items = []
    it = iter(expanded)
    for k in it:
        if isinstance(k, str):
            items.append(("mask", next(it)))
        else:
            items.append(k)
    return items


def _positions(x, items):
    """Result shape and flat positions (into contiguous `x`) of an advanced index."""
    from .creation import arange
    ar = arange(x.numel(), device=x.device).reshape(x.shape)
    basic, adv, d = [], [], 0
    ell_filled = [it for it in items if not _is_new_dim(it) and it is not Ellipsis]
    n_dims = sum(it[1].ndim if isinstance(it, tuple) else 1 for it in ell_filled)
    if n_dims > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    for it in items:
        if it is Ellipsis:
            fill = x.ndim - n_dims
            basic.extend([slice(None)] * fill)
            d += fill
        elif _is_new_dim(it):
            basic.append(it)
        elif isinstance(it, tuple):  # a bool mask over the next mask.ndim dims
            mask = it[1]
            if tuple(mask.shape) != tuple(x.shape[d:d + mask.ndim]):
                raise IndexError(f"The shape of the mask {list(mask.shape)} at index {d} does not "
                                 f"match the shape of the indexed tensor {list(x.shape)}")
            for idx in nonzero(mask, as_tuple=True):
                basic.append(slice(None))
                adv.append((len(basic) - 1, idx))
            d += mask.ndim
        elif isinstance(it, Tensor):
            size = x.shape[d] if d < x.ndim else 0
            if it.numel():
                lo, hi = _index_range(it)
                if lo < -size or hi >= size:
                    raise IndexError(f"index {hi if hi >= size else lo} is out of bounds for "
                                     f"dimension {d} with size {size}")
            basic.append(slice(None))
            adv.append((len(basic) - 1, it.to(dt.int64)))
            d += 1
        else:
            basic.append(it)
            d += 1
    y = basic_index(ar, tuple(basic))
    # positions in y of the advanced entries (ints/None in `basic` shift them)
    ydim, where = 0, {}
    for i, k in enumerate(basic):
        if any(i == p for p, _ in adv):
            where[i] = ydim
        if _is_new_dim(k) or isinstance(k, slice):
            ydim += 1
    dims = [where[p] for p, _ in adv]
    idx = [t for _, t in adv]
    bshape = broadcast_shapes(*(t.shape for t in idx))
    rest = [i for i in range(y.ndim) if i not in dims]
    yp = y.permute(dims + rest)
    lin = None
    for t, dd in zip(idx, dims):
        size = y.shape[dd]
        t = t.expand(bshape) if t.shape != bshape else t
        t = t + size * (t < 0)
        lin = t if lin is None else lin * size + t
    n_adv = 1
    for dd in dims:
        n_adv *= y.shape[dd]
    flat = yp.reshape((n_adv,) + tuple(y.shape[i] for i in rest))
    sel = _select(flat, 0, lin.reshape(-1)).reshape(bshape + tuple(y.shape[i] for i in rest))
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    if adjacent and dims[0] > 0:
        nb = len(bshape)
        order = list(range(nb, nb + dims[0])) + list(range(nb)) + list(range(nb + dims[0], sel.ndim))
        sel = sel.permute(order)
    return sel


_FULL = slice(None)


def _single_advanced(x, items):
    """x[key] when the key has one index tensor or one mask (the common x[i], x[:, i],
    x[mask]): a basic view, then one index_select along the indexed dim. None otherwise."""
    adv = [i for i, it in enumerate(items) if isinstance(it, (Tensor, tuple))]
    if len(adv) != 1:
        return None
    it = items[adv[0]]
    k = it[1].ndim if isinstance(it, tuple) else 1
    if k == 0:
        return None
    marker = slice(None)  # a fresh object, found again by identity after normalizing
    key = items[:adv[0]] + [marker] + [slice(None)] * (k - 1) + items[adv[0] + 1:]
    if sum(1 for e in key if not _is_new_dim(e) and e is not Ellipsis) > x.ndim:
        return None  # let the general path raise its error
    norm = _normalize_key(x, tuple(key))
    j = next(i for i, e in enumerate(norm) if e is marker)
    rd = sum(1 for e in norm[:j] if _is_new_dim(e) or isinstance(e, slice))  # dim in y
    xd = sum(1 for e in norm[:j] if not _is_new_dim(e))  # dim in x
    plain = all(type(e) is slice and e == _FULL for e in norm)
    y = x if plain else basic_index(x, norm)
    if isinstance(it, tuple):
        mask = it[1]
        if tuple(mask.shape) != tuple(x.shape[xd:xd + k]):
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {xd} does not "
                             f"match the shape of the indexed tensor {list(x.shape)}")
        if k > 1:
            y = y.flatten(rd, rd + k - 1)
        (idx,) = nonzero(mask.reshape(-1), as_tuple=True)
        return _select(y, rd, idx)
    size = y.shape[rd]
    idx = it
    if idx.numel():
        lo, hi = _index_range(idx)
        if lo < -size or hi >= size:
            raise IndexError(f"index {hi if hi >= size else lo} is out of bounds for dimension "
                             f"{xd} with size {size}")
        if lo < 0:
            idx = idx + size * (idx < 0)
    out = _select(y, rd, idx.reshape(-1))
    if idx.ndim != 1:
        out = out.reshape(out.shape[:rd] + idx.shape + out.shape[rd + 1:])
    return out


def getitem(x, key):
    items = _split_key(x, key)
    if items is None:
        return basic_index(x, key)
    out = _single_advanced(x, items)
    if out is not None:
        return out
    pos = _positions(x, items)
    return _Gather.apply(x.reshape(-1), 0, pos.reshape(-1)).reshape(pos.shape)  # in range


def index_put(input, indices, values, accumulate=False):
    """A copy of `input` with `values` written (or added) at `input[indices]`."""
    items = _split_key(input, tuple(indices))
    if items is None:
        items = list(_normalize_key(input, tuple(indices)))
    pos = _positions(input, items)
    if not isinstance(values, Tensor):
        from .creation import tensor
        values = tensor(values, dtype=input.dtype, device=input.device)
    if values.dtype is not input.dtype:
        values = values.to(input.dtype)
    vals = values.expand(pos.shape).reshape(-1)
    flat = input.reshape(-1)
    fn = scatter_add if accumulate else scatter
    return fn(flat, 0, pos.reshape(-1), vals).reshape(input.shape)


def setitem(x, key, value):
    from .creation import tensor
    items = _split_key(x, key)
    if items is None:
        region = basic_index(x, key)
        if isinstance(value, Tensor):
            if value._be is not x._be:
                value = value.to(x.device)
            if value.dtype is not x.dtype:
                value = value.to(x.dtype)
            value = value.expand(region.shape) if value.shape != region.shape else value
        else:
            value = tensor(value, dtype=x.dtype, device=x.device).expand(region.shape)
        region._inplace(value)
        return
    if (len(items) == 1 and isinstance(items[0], tuple) and items[0][1].shape == x.shape
            and (not isinstance(value, Tensor) or value.ndim == 0)):
        from .elementwise import masked_fill
        x._inplace(masked_fill(x, items[0][1], value))  # x[mask] = v, the common case
        return
    x._inplace(index_put(x, key if isinstance(key, tuple) else (key,), value))


def nonzero(input, *, as_tuple=False):
    from .creation import tensor
    idx = np.nonzero(input.detach()._host())
    if as_tuple:
        return tuple(tensor(i.astype(np.int64), device=input.device) for i in idx)
    return tensor(np.stack(idx, axis=1).astype(np.int64).reshape(-1, input.ndim), device=input.device)


def masked_select(input, mask):
    shape = broadcast_shapes(input.shape, mask.shape)
    return getitem(input.expand(shape), mask.expand(shape))


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
for _fn in (gather, scatter, scatter_add, index_select, nonzero, masked_select):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.index_put = index_put
Tensor.index_put_ = lambda self, indices, values, accumulate=False: self._inplace(
    index_put(self, indices, values, accumulate))
Tensor.scatter_ = lambda self, *a, **k: self._inplace(scatter(self, *a, **k))
Tensor.scatter_add_ = lambda self, *a, **k: self._inplace(scatter_add(self, *a, **k))
