"""Gather/scatter and NumPy-style indexing (`x[idx]`, `x[mask] = v`) with gradients.

Advanced indexing is composed from two primitives: the selected elements' flat positions
are found by indexing an `arange`, then read with `gather` or written with `scatter`.
"""
import warnings

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
    if not index.numel():  # PyTorch checks no shapes for an empty index: nothing is read
        return index if index.dtype is dt.int64 else index.to(dt.int64)
    if index.ndim != x.ndim and not (index.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor")
    for i in range(index.ndim):
        if i != dim and index.shape[i] > x.shape[i]:
            raise RuntimeError(f"Size does not match at dimension {i} expected index "
                               f"{list(index.shape)} to be no larger than self {list(x.shape)} "
                               f"apart from dimension {dim}")
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
    d = input._dim(dim)
    if not input.ndim and isinstance(index, Tensor):  # a 0-d input reads as one element
        return gather(input.reshape(1), 0, index.reshape(-1)).reshape(index.shape)
    index = _check_index(input, d, index, "gather")
    if not index.numel():  # of any shape (PyTorch checks none); differentiable, grad zero
        return input.reshape(-1)[:0].reshape(index.shape)
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
        for i in range(index.ndim if index.numel() else 0):  # none for an empty index
            if index.shape[i] > src.shape[i]:
                raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than src "
                                   f"{list(src.shape)} in any dimension")
    elif accumulate:
        raise TypeError(f"{name}(): argument 'src' must be Tensor")
    if not index.numel():
        return x.clone()  # PyTorch: the input, whatever the shapes of index and src
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
    if index.dtype is not dt.int64 and index.dtype is not dt.int32:
        raise RuntimeError(f"index_select(): Expected dtype int32 or int64 for index, got {index.dtype}")
    if not input.ndim:  # a 0-d input is one value, and one index selects it (PyTorch)
        if index.numel() != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{index.numel()} value(s)")
        return index_select(input.reshape(1), 0, index.reshape(1)).reshape(())
    n = index.numel()
    size = input.shape[d] if input.ndim else 1
    if n:
        lo, hi = _index_range(index)
        if lo < 0 or hi >= size:
            raise _index_select_error(input, d, hi if hi >= size else lo, size)
    if index._be is not input._be:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {input.device} and {index.device}!")
    return _select(input, d, index)


def _index_select_error(input, d, bad, size):
    """PyTorch's error for an index out of range, whose type its CPU kernel picks by path:
    RuntimeError where the input has 2 dims or more and the dim is 1 or the input is empty
    (an empty dim itself: nothing can be selected), else IndexError."""
    if input.ndim > 1 and size == 0:
        return RuntimeError(f"index_select(): cannot select from dimension {d} of size 0")
    msg = f"index_select(): index {bad} is out of range for dimension {d} with size {size}"
    if input.ndim > 1 and (d == 1 or input.numel() == 0):
        return RuntimeError(msg)
    return IndexError(msg)


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
    return isinstance(k, (Tensor, list, np.ndarray, tuple, range))


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
        if isinstance(k, (list, np.ndarray, tuple, range)) or isinstance(k, Tensor):
            t = _to_index_tensor(k, x)
            if t.dtype is dt.uint8:  # a byte mask, PyTorch's legacy form of a bool one
                warnings.warn("indexing with dtype uint8 is deprecated (as in PyTorch); use a "
                              "bool mask instead", UserWarning, stacklevel=3)
                t = t != 0
            if t.dtype is dt.bool:
                expanded.extend(("mask", t))
                continue
            if t.dtype is not dt.int64 and t.dtype is not dt.int32:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            expanded.append(t)
        else:  # ints stay basic: PyTorch selects with them before the advanced indices
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


def _prepare_key(key):
    """PyTorch's reading of a key: a short list holding sequences, slices, None or Ellipsis
    is a tuple of indices (deprecated there, so fw warns too), and a 0-d integer tensor is
    an int."""
    if isinstance(key, list) and len(key) < 32 and any(
            k is None or k is Ellipsis or isinstance(k, (Tensor, np.ndarray, list, tuple, range,
                                                         slice)) for k in key):
        warnings.warn("indexing with a list that holds sequences, slices, None or Ellipsis "
                      "reads it as a tuple of indices, as PyTorch still does (deprecated "
                      "there); write x[tuple(seq)]", UserWarning, stacklevel=3)
        key = tuple(key)
    if isinstance(key, tuple):
        return tuple(_as_int(k) for k in key)
    return _as_int(key)


def _as_int(k):
    if (isinstance(k, Tensor) and k.ndim == 0 and not k.dtype.is_floating_point
            and k.dtype is not dt.bool):
        return int(k.item())
    return k


def getitem(x, key):
    key = _prepare_key(key)
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
    if isinstance(key, Tensor) and key.dtype is dt.uint8:  # PyTorch reads it, won't write by it
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           "uint8; use a bool mask (mask.bool())")
    key = _prepare_key(key)
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
    h = input.detach()._host()
    idx = np.nonzero(h.reshape(1) if h.ndim == 0 else h)  # NumPy refuses 0-d arrays
    if h.ndim == 0 and not as_tuple:  # one row per nonzero element, of no coordinates
        return tensor(np.zeros((idx[0].size, 0), np.int64), device=input.device)
    if as_tuple:
        return tuple(tensor(i.astype(np.int64), device=input.device) for i in idx)
    return tensor(np.stack(idx, axis=1).astype(np.int64).reshape(-1, input.ndim), device=input.device)


def masked_select(input, mask):
    if not isinstance(mask, Tensor) or mask.dtype is not dt.bool:
        raise RuntimeError(f"masked_select: expected a bool mask, got {getattr(mask, 'dtype', type(mask).__name__)}")
    shape = broadcast_shapes(input.shape, mask.shape)
    return getitem(input.expand(shape), mask.expand(shape))


# -- index_add / index_copy / index_fill / masked_scatter: scatter, gather and where -----------
def _same_device(x, *others):
    for o in others:
        if o._be is not x._be:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {x.device} and {o.device}!")


def _vector_index(x, dim, index, name, dtypes, dtype_error, vector_error):
    """(dim, index as 1-d int64) for the index_* ops, with the checks they share."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    d = x._dim(dim) if x.ndim else x._dim(dim, 1)
    if index.dtype not in dtypes:
        raise dtype_error(f"{name}(): expected an index of dtype "
                          f"{' or '.join(t.name for t in dtypes)}, got {index.dtype}")
    if index.ndim > 1:
        raise vector_error(f"{name}(): the index must be a vector or a scalar, got one of "
                           f"shape {list(index.shape)}")
    _same_device(x, index)
    return d, index.reshape(-1).to(dt.int64)


def _check_bounds(index, size, d, name, error, negative=False):
    """Index values must lie in [0, size), or [-size, size) with `negative` (then wrapped)."""
    if not index.numel():
        return index
    lo, hi = _index_range(index)
    if hi >= size or lo < (-size if negative else 0):
        raise error(f"{name}(): index {hi if hi >= size else lo} is out of bounds for "
                    f"dimension {d} with size {size}")
    return index + size * (index < 0) if lo < 0 else index


def _check_source(x, d, n, source, name, error):
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    _same_device(x, source)
    if source.dtype is not x.dtype:
        raise RuntimeError(f"{name}(): self ({x.dtype}) and source ({source.dtype}) must have "
                           "the same dtype")
    src = source.shape if source.ndim else (1,)
    if len(src) != max(x.ndim, 1) or any(a != b for i, (a, b) in enumerate(zip(src, x.shape))
                                         if i != d):
        raise RuntimeError(f"{name}(): source of shape {list(source.shape)} must match self's "
                           f"shape {list(x.shape)} except in dimension {d}")
    if src[d] != n:
        raise error(f"{name}(): the number of indices ({n}) should equal source.size({d}) "
                    f"({src[d]})")


def _along(index, shape, d):
    """The 1-d `index` seen with `shape`, varying along dim d only (a stride-0 view)."""
    strides = [0] * len(shape)
    strides[d] = index._v.strides[0]
    return index._alias(tuple(shape), tuple(strides), index._v.offset)


def _index_write(x, dim, index, source, name, accumulate, errors):
    """index_add (accumulate) and index_copy: one scatter of `source` along dim."""
    dtypes = (dt.int64, dt.int32) if accumulate else (dt.int64,)
    d, index = _vector_index(x, dim, index, name, dtypes, RuntimeError, IndexError)
    _check_source(x, d, index.numel(), source, name, errors)
    flat = not x.ndim
    if flat:  # a 0-d tensor is indexed as if it had one dimension of size 1
        x, source = x.reshape(1), source.reshape(-1)
    elif source.ndim == 0:
        source = source.reshape(1)
    # PyTorch's kinds: IndexError, except index_add on a tensor of 2+ dims (RuntimeError)
    kind = RuntimeError if accumulate and x.ndim > 1 else IndexError
    index = _check_bounds(index, x.shape[d], d, name, kind)
    out = _Scatter.apply(x, d, _along(index, source.shape, d), source, accumulate)
    return out.reshape(()) if flat else out


def index_add(input, dim, index, source, *, alpha=1):
    """input with alpha * source[i] added into slice index[i] along dim (repeats add up)."""
    if alpha != 1 and isinstance(source, Tensor):
        scaled = source * alpha
        source = scaled if scaled.dtype is source.dtype else scaled.to(source.dtype)
    return _index_write(input, dim, index, source, "index_add_", True, RuntimeError)


def index_copy(input, dim, index, source):
    """input with slice index[i] along dim replaced by source[i]."""
    return _index_write(input, dim, index, source, "index_copy_", False, IndexError)


def index_fill(input, dim, index, value):
    """input with the slices `index` along dim set to `value` (a number or a 0-d tensor)."""
    from .creation import tensor, zeros
    from .elementwise import where
    d, index = _vector_index(input, dim, index, "index_fill_", (dt.int64,), IndexError,
                             RuntimeError)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"index_fill_(): only a 0-dimensional value tensor is "
                               f"supported, got one with {value.ndim} dimension(s)")
        value = value.to(device=input.device, dtype=input.dtype)
    else:
        value = tensor(value, dtype=input.dtype, device=input.device)
    size = input.shape[d] if input.ndim else 1
    index = _check_bounds(index, size, d, "index_fill_", IndexError, negative=True)
    hit = zeros(size, device=input.device).scatter(0, index, 1.0) != 0
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = size
    return where(hit.reshape(shape), value, input)


def masked_scatter(input, mask, source):
    """input with its masked positions (in row-major order) taking source's leading values."""
    from .elementwise import where
    for name, t in (("mask", mask), ("source", source)):
        if not isinstance(t, Tensor):
            raise TypeError(f"masked_scatter(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if mask.dtype is not dt.bool:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got a mask of "
                           f"dtype {mask.dtype}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have the same dtype, "
                           f"got {input.dtype} and {source.dtype}")
    _same_device(input, mask, source)
    shape = broadcast_shapes(input.shape, mask.shape)
    x, m = input.expand(shape), mask.expand(shape)
    need = int(m.sum().item())
    if need > source.numel():
        raise RuntimeError(f"masked_scatter: number of elements of source ({source.numel()}) "
                           f"< number of ones in mask ({need})")
    if not source.numel():
        return x.clone()
    # the k-th masked position takes source's k-th element: a running count of the mask
    pos = (m.to(dt.int64).reshape(-1).cumsum(0) - 1).clamp(min=0)
    taken = _Gather.apply(source.reshape(-1), 0, pos).reshape(shape)  # pos is in range
    return where(m, taken, x)


def _inplace_of(fn):
    def op(self, *args, **kwargs):
        return self._inplace(fn(self, *args, **kwargs))
    op.__name__ = fn.__name__ + "_"
    return op


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
for _fn in (index_add, index_copy, index_fill, masked_scatter):
    setattr(Tensor, _fn.__name__, _fn)
    setattr(Tensor, _fn.__name__ + "_", _inplace_of(_fn))
for _fn in (gather, scatter, scatter_add, index_select, nonzero, masked_select):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.index_put = index_put
Tensor.index_put_ = lambda self, indices, values, accumulate=False: self._inplace(
    index_put(self, indices, values, accumulate))
Tensor.scatter_ = lambda self, *a, **k: self._inplace(scatter(self, *a, **k))
Tensor.scatter_add_ = lambda self, *a, **k: self._inplace(scatter_add(self, *a, **k))
