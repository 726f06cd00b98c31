"""Views (reshape, permute, expand, basic indexing, as_strided) and their gradients.

A view is a new Tensor over the same buffer with other shape/strides/offset; it shares
the version counter, so writes through a view reach the base and are seen by autograd.
"""
import numpy as np

from ..autograd.function import Function
from ..device import contiguous_strides, numel
from ..tensor import Tensor, method


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
    return tuple(strides)


class _Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape, copy_ok):
        ctx.in_shape = x.shape
        v = x._v
        strides = _split_strides(v.shape, v.strides, shape)
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


@method
def unsqueeze(self, dim):
    d = self._dim(dim, self.ndim + 1)
    return self.reshape(self.shape[:d] + (1,) + self.shape[d:])


@method
def squeeze(self, dim=None):
    shape = self.shape
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = {self._dim(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        dims = {d for d in dims if shape[d] == 1} if shape else set()
    return self.reshape(tuple(s for i, s in enumerate(shape) if i not in dims))


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
    if self.ndim == 0:
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


# -- basic indexing: ints, slices, None, Ellipsis ----------------------------------------------------
def _normalize_key(x, key):
    """Expand `key` into one entry per input dim (plus None for new dims)."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    out = []
    for k in key:
        if k is Ellipsis:
            if Ellipsis in out:
                raise IndexError("an index can only have a single ellipsis ('...')")
            out.extend([slice(None)] * (x.ndim - n_real))
            out.append(Ellipsis)
        else:
            out.append(k)
    out = [k for k in out if k is not Ellipsis]
    out.extend([slice(None)] * (x.ndim - sum(1 for k in out if k is not None)))
    return tuple(out)


def _basic_geometry(x, key):
    v = x._v
    shape, strides, offset, d = [], [], v.offset, 0
    for k in key:
        if k is None:
            shape.append(1)
            strides.append(0)
            continue
        size, st = v.shape[d], v.strides[d]
        if isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, _ = slice(k.start, k.stop).indices(size)
            n = max(0, (stop - start + step - 1) // step)
            shape.append(n)
            strides.append(st * step)
            offset += start * st if n else 0
        else:
            i = int(k)
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
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
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
