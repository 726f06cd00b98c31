"""Views (reshape, permute, expand, basic indexing, as_strided) and their gradients.

A view is a new Tensor over the same buffer with other shape/strides/offset; it shares
the version counter, so writes through a view reach the base and are seen by autograd.
"""
import numpy as np

from ..autograd.function import Function
from ..device import contiguous_strides, numel
from ..tensor import Tensor, method
from .out import into


def _int_list(args, name):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = a.__index__()
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{name}(): expected a sequence of ints, got {type(a).__name__}")
        out.append(int(a))
    return tuple(out)


# -- reshape ------------------------------------------------------------------------------------
def _infer_shape(shape, n):
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or n % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif known != n:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return shape


def _split_strides(old_shape, old_strides, new_shape):
    """General case: walk both shapes, matching products of contiguous runs."""
    old = [(s, st) for s, st in zip(old_shape, old_strides) if s != 1]
    new = list(new_shape)
    strides = [0] * len(new)
    oi, ni = 0, 0
    while oi < len(old) or ni < len(new):
        # a maximal group of old dims and new dims with equal products
        while ni < len(new) and new[ni] == 1:
            strides[ni] = 1
            ni += 1
        if oi >= len(old) or ni >= len(new):
            break
        o_start, n_start = oi, ni
        po, pn = old[oi][0], new[ni]
        oi += 1
        ni += 1
        while po != pn:
            if po < pn:
                if oi >= len(old):
                    return None
                po *= old[oi][0]
                oi += 1
            else:
                while ni < len(new) and new[ni] == 1:
                    strides[ni] = 1
                    ni += 1
                if ni >= len(new):
                    return None
                pn *= new[ni]
                ni += 1
        group = old[o_start:oi]
        for k in range(len(group) - 1):
            if group[k][1] != group[k + 1][1] * group[k + 1][0]:
                return None
        acc = group[-1][1]
        for k in range(ni - 1, n_start - 1, -1):
            strides[k] = acc
            acc *= new[k]
    if oi != len(old):
        return None
    # size-1 dims take PyTorch's strides: what stepping over the next dim costs (the last
    # real dim's stride at the end), so views report the same strides as in PyTorch
    after = old[-1][1] if old else 1
    for k in range(len(new) - 1, -1, -1):
        if new[k] == 1:
            strides[k] = strides[k + 1] * new[k + 1] if k + 1 < len(new) else after
    return tuple(strides)


class _Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape, copy_ok):
        ctx.in_shape = x.shape
        v = x._v
        # a contiguous input gets PyTorch's strides directly (size-1 dims included)
        strides = (contiguous_strides(shape) if v.is_contiguous() or not numel(v.shape)
                   else _split_strides(v.shape, v.strides, shape))  # an empty one views freely
        if strides is None:
            if not copy_ok:
                raise RuntimeError("view size is not compatible with input tensor's size and stride "
                                   "(at least one dimension spans across two contiguous subspaces). "
                                   "Use .reshape(...) instead.")
            x = x._from(x._be.contiguous(v))
            return x._alias(shape, contiguous_strides(shape), 0)
        return x._alias(shape, strides, v.offset)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None, None


@method
def view(self, *shape):
    shape = _infer_shape(_int_list(shape, "view"), self.numel())
    return _Reshape.apply(self, shape, False)


@method
def reshape(self, *shape):
    shape = _infer_shape(_int_list(shape, "reshape"), self.numel())
    return _Reshape.apply(self, shape, True)


@method
def view_as(self, other):
    return self.view(other.shape)


@method
def reshape_as(self, other):
    return self.reshape(other.shape)


@method
def flatten(self, start_dim=0, end_dim=-1):
    if self.ndim == 0:
        return self.reshape(1)
    s, e = self._dim(start_dim), self._dim(end_dim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = self.shape
    return self.reshape(shape[:s] + (numel(shape[s:e + 1]),) + shape[e + 1:])


@method
def unflatten(self, dim, sizes):
    d = self._dim(dim)
    sizes = _infer_shape(tuple(sizes), self.shape[d])
    return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])


class _Restride(Function):
    """A view with given shape and strides over the same elements (squeeze/unsqueeze)."""
    @staticmethod
    def forward(ctx, x, shape, strides):
        ctx.in_shape = x.shape
        return x._alias(shape, strides, x._v.offset)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None, None


@method
def unsqueeze(self, dim):
    d = self._dim(dim, self.ndim + 1)
    shape, strides = self._v.shape, self._v.strides
    # PyTorch's stride for the new dim: what stepping over the next dim's extent costs
    st = shape[d] * strides[d] if d < len(shape) else 1
    return _Restride.apply(self, shape[:d] + (1,) + shape[d:], strides[:d] + (st,) + strides[d:])


@method
def squeeze(self, dim=None):
    shape = self.shape
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = {self._dim(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        dims = {d for d in dims if shape[d] == 1} if shape else set()
    keep = [i for i in range(self.ndim) if i not in dims]
    return _Restride.apply(self, tuple(shape[i] for i in keep),
                           tuple(self._v.strides[i] for i in keep))


# -- permutations ---------------------------------------------------------------------------------
class _Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        v = x._v
        return x._alias(tuple(v.shape[d] for d in dims), tuple(v.strides[d] for d in dims), v.offset)

    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return g.permute(inv), None


@method
def permute(self, *dims):
    dims = tuple(self._dim(d) for d in _int_list(dims, "permute"))
    if len(dims) != self.ndim or len(set(dims)) != len(dims):
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim() "
                           f"= {self.ndim} is not equal to len(dims) = {len(dims)}"
                           if len(dims) != self.ndim else "permute(): duplicate dims are not allowed.")
    return _Permute.apply(self, dims)


@method
def transpose(self, dim0, dim1):
    if self.ndim == 0:  # dims 0 and -1 only
        self._dim(dim0), self._dim(dim1)
        return self.view(())
    d0, d1 = self._dim(dim0), self._dim(dim1)
    dims = list(range(self.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _Permute.apply(self, tuple(dims))


method(transpose, "swapaxes")
method(transpose, "swapdims")


@method
def t(self):
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return self.transpose(0, 1) if self.ndim == 2 else self.view(self.shape)


@method
def movedim(self, source, destination):
    src = [self._dim(d) for d in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [self._dim(d) for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [d for d in range(self.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return self.permute(order)


Tensor.T = property(lambda self: self.permute(tuple(range(self.ndim - 1, -1, -1))))


def _mT(self):
    if self.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {self.ndim}-D tensor.")
    return self.transpose(-2, -1)


Tensor.mT = property(_mT)


# -- expand -----------------------------------------------------------------------------------------
class _Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        v = x._v
        lead = len(shape) - len(v.shape)
        strides = [0] * lead
        for i, (s, st) in enumerate(zip(v.shape, v.strides)):
            strides.append(st if s == shape[lead + i] else 0)
        return x._alias(shape, tuple(strides), v.offset)

    @staticmethod
    def backward(ctx, g):
        return g.sum_to_size(ctx.in_shape), None


@method
def expand(self, *sizes):
    sizes = _int_list(sizes, "expand")
    if len(sizes) < self.ndim:
        raise RuntimeError(f"expand(fw.{self.dtype.name}{{{list(self.shape)}}}, size={list(sizes)}): "
                           "the number of sizes provided must be greater or equal to the number "
                           "of dimensions in the tensor")
    lead = len(sizes) - self.ndim
    shape = list(sizes)
    for i, s in enumerate(self.shape):
        want = sizes[lead + i]
        if want == -1:
            shape[lead + i] = s
        elif s != want and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the existing "
                               f"size ({s}) at non-singleton dimension {lead + i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(self.shape)}")
    if any(s < 0 for s in shape[:lead]):
        raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
    if any(s < 0 for s in shape):
        raise RuntimeError(f"expand: invalid size {min(shape)} in {list(sizes)}: sizes must be "
                           "non-negative, or -1 to keep a dimension")
    shape = tuple(shape)
    if shape == self.shape:
        return self.view(shape)
    return _Expand.apply(self, shape)


@method
def expand_as(self, other):
    return self.expand(other.shape)


def broadcast_to(input, shape):
    return input.expand(shape)


method(broadcast_to)


def broadcast_shapes(*shapes):
    """The shape that tensors of `shapes` broadcast to; an int stands for a 1-d shape."""
    from ..device import broadcast_shapes as _broadcast
    from ..tensor import Size
    norm = []
    for s in shapes:
        s = (s,) if isinstance(s, (int, np.integer)) else s
        dims = _int_list((tuple(s),), "broadcast_shapes")
        if any(d < 0 for d in dims):
            raise ValueError("broadcast_shapes(): a dimension can't have a negative length, "
                             f"got {list(dims)}")
        norm.append(dims)
    return Size(_broadcast(*norm))


def broadcast_tensors(*tensors):
    """Each tensor expanded (a view) to the common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_tensors(): expected Tensors, got {type(t).__name__}")
    from ..device import broadcast_shapes as _broadcast
    shape = _broadcast(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


# -- basic indexing: ints, slices, None, Ellipsis ----------------------------------------------------
def _is_new_dim(k):
    """None adds a dim of size 1; a Python bool adds one of size 1 (True) or 0 (False)."""
    return k is None or k is True or k is False


def _normalize_key(x, key):
    """Expand `key` into one entry per input dim (plus None/bool entries for new dims)."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = sum(1 for k in key if not _is_new_dim(k) and k is not Ellipsis)
    if n_real > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    out, seen = [], False
    for k in key:
        if k is Ellipsis:
            if seen:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen = True
            out.extend([slice(None)] * (x.ndim - n_real))
        else:
            out.append(k)
    out.extend([slice(None)] * (x.ndim - sum(1 for k in out if not _is_new_dim(k))))
    return tuple(out)


def _as_index(k):
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, Tensor) and k.ndim == 0 and k.dtype.kind == 1:
        return int(k.item())
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(k).__name__})")


def _slice_bound(b):
    return None if b is None else _as_index(b)


def _basic_geometry(x, key):
    v = x._v
    shape, strides, offset, d = [], [], v.offset, 0
    for k in key:
        if _is_new_dim(k):  # strided as PyTorch's unsqueeze at this point would be
            shape.append(0 if k is False else 1)
            strides.append(v.shape[d] * v.strides[d] if d < len(v.shape) else 1)
            continue
        size, st = v.shape[d], v.strides[d]
        if isinstance(k, slice):
            step = 1 if k.step is None else _as_index(k.step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, _ = slice(_slice_bound(k.start), _slice_bound(k.stop)).indices(size)
            n = max(0, (stop - start + step - 1) // step)
            shape.append(n)
            strides.append(st * step)
            offset += start * st if n else 0
        else:
            i = _as_index(k)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {size}")
            offset += (i + size if i < 0 else i) * st
        d += 1
    return tuple(shape), tuple(strides), offset


class _Index(Function):
    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape, ctx.key = x.shape, key
        return x._alias(*_basic_geometry(x, key))

    @staticmethod
    def backward(ctx, g):
        return _IndexBackward.apply(g, ctx.in_shape, ctx.key), None


class _IndexBackward(Function):
    """Places a gradient into zeros at a basic-indexing region (differentiable, so second
    derivatives through indexing work)."""
    @staticmethod
    def forward(ctx, g, shape, key):
        ctx.key = key
        from .creation import zeros
        z = zeros(shape, dtype=g.dtype, device=g.device)
        region = z._alias(*_basic_geometry(z, key))
        z._be.copy_(region._v, g._v)
        return z

    @staticmethod
    def backward(ctx, gg):
        return _Index.apply(gg, ctx.key), None, None


def basic_index(x, key):
    return _Index.apply(x, _normalize_key(x, key))


@method
def narrow(self, dim, start, length):
    d = self._dim(dim)
    size = self.shape[d]
    start = int(start)
    if not -size <= start <= size:  # PyTorch: a start outside the dim is an IndexError
        raise IndexError(f"narrow(): start out of range (expected to be in range of "
                         f"[{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return basic_index(self, (slice(None),) * d + (slice(start, start + length),))


@method
def select(self, dim, index):
    d = self._dim(dim)
    return basic_index(self, (slice(None),) * d + (int(index),))


@method
def unbind(self, dim=0):
    d = self._dim(dim)
    return tuple(self.select(d, i) for i in range(self.shape[d]))


# -- as_strided and in-place writes through views -------------------------------------------------
def _positions(shape, strides, offset):
    """Storage positions of every element of a strided geometry, in row-major order."""
    pos = np.full(shape, offset, dtype=np.int64)
    for d, (s, st) in enumerate(zip(shape, strides)):
        idx = np.arange(s, dtype=np.int64) * st
        pos = pos + idx.reshape((s,) + (1,) * (len(shape) - d - 1))
    return pos.reshape(-1)


class _AsStrided(Function):
    @staticmethod
    def forward(ctx, x, shape, strides, offset):
        ctx.x_geom = (x.shape, x.stride(), x.storage_offset())
        ctx.geom = (shape, strides, offset)
        return x._alias(shape, strides, offset)

    @staticmethod
    def backward(ctx, g):
        from .creation import tensor, zeros
        out_pos = _positions(*ctx.geom)
        in_pos = _positions(*ctx.x_geom)
        size = int(max(out_pos.max(initial=-1), in_pos.max(initial=-1))) + 1
        dev = g.device
        store = zeros(size, dtype=g.dtype, device=dev).scatter_add(
            0, tensor(out_pos, device=dev), g.reshape(-1))
        return store.gather(0, tensor(in_pos, device=dev)).reshape(ctx.x_geom[0]), None, None, None


@method
def as_strided(self, size, stride, storage_offset=None):
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("as_strided: mismatch in length of strides and shape")
    if any(s < 0 for s in size + stride):
        raise RuntimeError("as_strided: negative sizes and strides are not supported")
    offset = self.storage_offset() if storage_offset is None else int(storage_offset)
    storage = (self._base if self._base is not None else self).numel()
    if numel(size) and offset + sum((s - 1) * st for s, st in zip(size, stride)) >= storage:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                           f"{offset} are out of bounds for storage of size {storage}")
    return _AsStrided.apply(self, size, stride, offset)


class _CopySlices(Function):
    """Graph node for a base after a write into one of its views: the region's gradient
    goes to the written value, the rest to the base's earlier history."""
    @staticmethod
    def forward(ctx, base, src, geom):
        from .creation import ones
        ctx.geom = geom
        mask = ones(base.shape, dtype=base.dtype, device=base.device)
        mask._be.copy_(mask._alias(*geom)._v, mask._be.full(geom[0], 0, base.dtype))
        ctx.mask = mask
        ctx.src_shape = src.shape
        return base._alias(base.shape, base.stride(), base.storage_offset())

    @staticmethod
    def backward(ctx, g):
        g = g.contiguous()
        shape, strides, offset = ctx.geom
        return g * ctx.mask, g.as_strided(shape, strides, offset), None


def rebase_history(t, result):
    """After `t`'s data was overwritten in place by `result`, make the graph say so."""
    if t._base is None:
        t.requires_grad = result.requires_grad
        t.grad_fn, t._output_nr = result.grad_fn, result._output_nr
        return
    base = t._base
    geom = (t.shape, t.stride(), t.storage_offset())
    src = result if result.requires_grad else result.detach()
    new_base = _CopySlices.apply(base, src, geom)
    if new_base.requires_grad:
        base.requires_grad, base.grad_fn, base._output_nr = True, new_base.grad_fn, 0
        view = _AsStrided.apply(base, *geom)
        t.requires_grad, t.grad_fn, t._output_nr = True, view.grad_fn, 0


# -- copies -----------------------------------------------------------------------------------------
class _Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x._from(x._be.contiguous(x._v))

    @staticmethod
    def backward(ctx, g):
        return g


def contiguous_copy(x):
    return _Clone.apply(x)


@method
def contiguous(self, memory_format=None):
    return self if self._v.is_contiguous() else _Clone.apply(self)


# -- joining and splitting ------------------------------------------------------------------------
def _same_backend(tensors, name):
    be = tensors[0]._be
    for t in tensors[1:]:
        if t._be is not be:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                               f"two devices, {tensors[0].device} and {t.device}!")


class _Cat(Function):
    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return xs[0]._from(xs[0]._be.cat([x._v for x in xs], dim))

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(g.split(ctx.sizes, ctx.dim))


def _tensor_seq(tensors, name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{name}(): argument 'tensors' must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor as element {i} in argument 0, "
                            f"but got {type(t).__name__}")
    if not tensors:
        if name == "cat":
            raise ValueError("cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return list(tensors)


def cat(tensors, dim=0, *, out=None):
    from .. import dtypes as dt
    tensors = _tensor_seq(tensors, "cat")
    _same_backend(tensors, "cat")
    dtype = dt.result_type(*tensors)
    # PyTorch skips legacy empty 1-D tensors (shape [0]) whatever the other shapes are
    parts = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = parts[0]
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = ref._dim(dim)
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.shape[0] == 0:
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for j in range(ref.ndim):
            if j != d and t.shape[j] != ref.shape[j]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {ref.shape[j]} but got size {t.shape[j]} for tensor "
                                   f"number {i} in the list.")
    parts = [t if t.dtype is dtype else t.to(dtype) for t in parts]
    return into("cat", out, _Cat.apply(d, *parts))


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = _tensor_seq(tensors, "stack")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = tensors[0]._dim(dim, tensors[0].ndim + 1)
    return into("stack", out, cat([t.unsqueeze(d) for t in tensors], d))


def hstack(tensors):
    tensors = _tensor_seq(tensors, "hstack")
    return cat([t.reshape(1) if t.ndim == 0 else t for t in tensors], 0 if tensors[0].ndim <= 1 else 1)


def vstack(tensors):
    tensors = _tensor_seq(tensors, "vstack")
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


@method
def split(self, split_size_or_sections, dim=0):
    d = self._dim(dim)
    size = self.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    else:
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and size != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}" if step == 0 else
                               f"split expects split_size be non-negative, but got split_size={step}")
        sizes = [min(step, size - i) for i in range(0, size, step)] if step else [0]
    out, start = [], 0
    for s in sizes:
        out.append(self.narrow(d, start, s))
        start += s
    return tuple(out)


@method
def chunk(self, chunks, dim=0):
    chunks = int(chunks)
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = self._dim(dim)
    size = self.shape[d]
    step = max(1, -(-size // chunks))
    return self.split(step, d) if size else self.split([0] * chunks, d)


@method
def tensor_split(self, indices_or_sections, dim=0):
    d = self._dim(dim)
    size = self.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = (indices_or_sections.tolist() if indices_or_sections.ndim
                               else indices_or_sections.item())
    if isinstance(indices_or_sections, (list, tuple)):
        bounds = [0] + [min(max(int(i) + (size if i < 0 else 0), 0), size)
                        for i in indices_or_sections] + [size]
    else:
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds = [0]
        for i in range(n):
            bounds.append(bounds[-1] + q + (1 if i < r else 0))
    return tuple(self.narrow(d, lo, max(hi - lo, 0)) for lo, hi in zip(bounds, bounds[1:]))


def _functional(name):
    """fw.name(input, ...) for a Tensor method `name`."""
    f = getattr(Tensor, name)
    return lambda input, *args, **kwargs: f(input, *args, **kwargs)


# -- padding ----------------------------------------------------------------------------------------
class _PadConstant(Function):
    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        return x._from(x._be.pad(x._v, pads, value))

    @staticmethod
    def backward(ctx, g):
        key = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(ctx.pads))
        return g[key], None, None


def _edge_index(size, lo, hi, mode):
    """Source positions along one axis for reflect / replicate / circular padding."""
    pos = np.arange(-lo, size + hi)
    if mode == "replicate":
        return np.clip(pos, 0, size - 1)
    if mode == "circular":
        return pos % size
    period = 2 * (size - 1)  # reflect: mirror about the edges, not repeating them
    pos = np.abs(pos) % period if period else np.zeros_like(pos)
    return np.where(pos >= size, period - pos, pos)


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: `pad` lists (left, right) pairs starting from the last dim."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           "dimension but got padding length "
                           f"{len(pad)} and input of dimension {input.ndim}")
    pairs = [(0, 0)] * (input.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    if mode == "constant":
        return _pad_constant(input, pairs, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0):
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Only 2D, 3D, 4D, 5D padding with non-constant padding are "
                                  f"supported for now (got {k}-d padding of a {input.ndim}-d input)")
    if mode != "circular" and input.dtype.kind == 0:  # reflect/replicate: no bool kernels
        raise NotImplementedError(f"{mode} padding: not implemented for bool")
    if mode != "circular" and 0 in input.shape[-(k + 1):]:  # PyTorch: only a batch dim may be empty
        raise RuntimeError(f"{mode} padding: expected a {k + 1}D or {k + 2}D (batch mode) input "
                           f"with possibly 0 batch size and other non-zero dimensions, but got: "
                           f"{list(input.shape)}")
    from .creation import tensor
    from .indexing import _select
    out = input
    for d in range(input.ndim - k, input.ndim):
        lo, hi = pairs[d]
        size = input.shape[d]
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension {d} "
                               f"of input {list(input.shape)}")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and size == 0 and lo + hi > 0:
            raise RuntimeError(f"padding of an empty dimension {d} with mode replicate")
        if lo or hi:
            idx = _edge_index(size, lo, hi, mode)
            out = _select(out, d, tensor(idx.astype(np.int64), device=input.device))
    return out


def _pad_constant(x, pairs, value):
    # negative padding crops: do that with a view, then pad what is left
    crop = tuple(slice(max(-lo, 0), x.shape[i] - max(-hi, 0)) for i, (lo, hi) in enumerate(pairs))
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        for i, (lo, hi) in enumerate(pairs):
            if x.shape[i] + lo + hi < 0:
                raise RuntimeError(f"The input size {x.shape[i]}, plus negative padding {lo} and "
                                   f"{hi} resulted in a negative output size, which is invalid.")
        x = x[crop]
    pairs = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
    return _PadConstant.apply(x, pairs, value)


# -- triangles, repeats, rolls, flips, diagonals -----------------------------------------------------
def _tri(x, diagonal, lower, name):
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    from .creation import arange
    n, m = x.shape[-2:]
    rows = arange(n, device=x.device).unsqueeze(-1)
    cols = arange(m, device=x.device)
    drop = (cols - rows > diagonal) if lower else (cols - rows < diagonal)
    return x.masked_fill(drop, 0)


@method
def tril(self, diagonal=0):
    return _tri(self, int(diagonal), True, "tril")


@method
def triu(self, diagonal=0):
    return _tri(self, int(diagonal), False, "triu")


Tensor.tril_ = lambda self, diagonal=0: self._inplace(self.tril(diagonal))
Tensor.triu_ = lambda self, diagonal=0: self._inplace(self.triu(diagonal))


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    ts = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    n = len(ts)
    out = [t.reshape((1,) * i + (-1,) + (1,) * (n - i - 1)).expand(shape) for i, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


@method
def repeat(self, *sizes):
    sizes = _int_list(sizes, "repeat")
    if len(sizes) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
    x = self.reshape(shape)
    # (a, b) -> (1, a, 1, b) -> (r0, a, r1, b) -> (r0*a, r1*b)
    inter = tuple(v for s in shape for v in (1, s))
    target = tuple(v for r, s in zip(sizes, shape) for v in (r, s))
    return x.reshape(inter).expand(target).reshape(tuple(r * s for r, s in zip(sizes, shape)))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    from .creation import tensor
    from .indexing import _select
    if repeats is None:  # repeat_interleave(counts): 0,0,1,2,2,... as in PyTorch
        counts = input.detach()._host().astype(np.int64)
        if counts.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return tensor(np.repeat(np.arange(len(counts)), counts), device=input.device)
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else x._dim(dim)
    size = x.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.dtype.is_floating_point or repeats.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        reps = repeats.detach()._host().astype(np.int64).reshape(-1)
    else:
        reps = np.array([int(repeats)], dtype=np.int64)
    if (reps < 0).any():
        raise RuntimeError("repeats can not be negative")
    if len(reps) == 1:
        reps = np.repeat(reps, size)
    elif len(reps) != size:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {len(reps)} and input.size({d}) = {size}")
    idx = np.repeat(np.arange(size, dtype=np.int64), reps)
    return _select(x, d, tensor(idx, device=x.device))


method(repeat_interleave)


@method
def roll(self, shifts, dims=None):
    from .creation import tensor
    from .indexing import _select
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return self.reshape(-1).roll(shifts, 0).view(self.shape)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    out = self
    for s, d in zip(shifts, dims):
        d = self._dim(d)
        n = self.shape[d]
        if n and int(s) % n:
            idx = (np.arange(n, dtype=np.int64) - int(s)) % n
            out = _select(out, d, tensor(idx, device=self.device))
    return out if out is not self else self.clone()


@method
def flip(self, *dims):
    from .creation import tensor
    from .indexing import _select
    dims = [self._dim(d) for d in _int_list(dims, "flip")]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dims has duplicates, original flip dims size={len(dims)}, but "
                           f"unique flip dims size={len(set(dims))}")
    out = self
    for d in dims:
        n = self.shape[d]
        out = _select(out, d, tensor(np.arange(n - 1, -1, -1, dtype=np.int64), device=self.device))
    return out if dims else self.clone()


Tensor.fliplr = lambda self: self.flip(1) if self.ndim >= 2 else _raise_dims("fliplr", 2)
Tensor.flipud = lambda self: self.flip(0) if self.ndim >= 1 else _raise_dims("flipud", 1)


def _raise_dims(name, n):
    raise RuntimeError(f"Input must be >= {n}-d.")


@method
def diagonal(self, offset=0, dim1=0, dim2=1):
    d1, d2 = self._dim(dim1), self._dim(dim2)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    n1, n2 = self.shape[d1], self.shape[d2]
    st1, st2 = self.stride(d1), self.stride(d2)
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = self.storage_offset()
    if length:
        start += offset * st2 if offset >= 0 else -offset * st1
    keep = [i for i in range(self.ndim) if i not in (d1, d2)]
    shape = tuple(self.shape[i] for i in keep) + (length,)
    strides = tuple(self.stride(i) for i in keep) + (st1 + st2,)
    return _AsStrided.apply(self, shape, strides, start)


@method
def diag(self, diagonal=0):
    from .creation import zeros, tensor
    k = int(diagonal)
    if self.ndim == 2:
        return self.diagonal(k).clone()
    if self.ndim != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{self.ndim}D")
    n = self.shape[0] + abs(k)
    i = np.arange(self.shape[0], dtype=np.int64)
    pos = (i + max(-k, 0)) * n + i + max(k, 0)
    flat = zeros(n * n, dtype=self.dtype, device=self.device)
    return flat.scatter(0, tensor(pos, device=self.device), self).view(n, n)


# public functional forms of the methods above
for _name in ("reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose",
              "swapaxes", "swapdims", "t", "movedim", "narrow", "select", "unbind", "split",
              "chunk", "tensor_split", "tril", "triu", "repeat_interleave", "roll", "flip",
              "fliplr", "flipud", "diagonal", "diag", "as_strided", "expand_copy"):
    if hasattr(Tensor, _name):
        globals()[_name] = _functional(_name)
moveaxis = globals()["movedim"]
Tensor.moveaxis = Tensor.movedim
