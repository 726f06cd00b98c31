"""The device interface: the contract every backend implements.

A backend owns buffers of memory and a small set of primitives that read strided
`View`s of them and return new contiguous `View`s. Everything else (autograd, views,
indexing, nn) is composed by the frontend. Optional fused ops have composed defaults
here, written with the primitives, so a new backend works as soon as the primitives do
and gets faster by overriding more. See docs/writing-a-backend.md.
"""
# The op names a backend's `unary` and `binary` must understand.
UNARY_OPS = ("neg", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt",
             "sin", "cos", "tan", "tanh", "sigmoid", "relu", "erf", "floor", "ceil",
             "round", "trunc", "reciprocal", "logical_not", "bitwise_not", "asin",
             "acos", "atan", "sinh", "cosh", "log2", "log10", "exp2")
BINARY_OPS = ("add", "sub", "mul", "div", "floor_divide", "remainder", "pow",
              "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge",
              "logical_and", "logical_or", "logical_xor",
              "bitwise_and", "bitwise_or", "bitwise_xor")
COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge",
                         "logical_and", "logical_or", "logical_xor"))
REDUCE_OPS = ("sum", "prod", "max", "min", "all", "any")


class device:
    """A device: a type registered by a backend plugin and an optional index.

    `fw.device("opencl:1")`, `fw.device("opencl", 1)` and `fw.device("cpu")` as in PyTorch.
    """
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif not isinstance(type, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'opencl:0', got {type!r}")
        elif ":" in type:
            if index is not None:
                raise RuntimeError(f"device string {type!r} already has an index; don't pass index={index}")
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"invalid device string: '{type}:{idx}'; expected 'type' or 'type:N'")
            index = int(idx)
        if not type or not type.replace("_", "").isalnum():
            raise RuntimeError(f"invalid device string: {type!r}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device index must be a non-negative integer, got {index!r}")
        self.type, self.index = type, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))


def contiguous_strides(shape):
    strides = [1] * len(shape)
    acc = 1
    for i in range(len(shape) - 1, -1, -1):
        strides[i] = acc
        acc *= shape[i] if shape[i] > 0 else 1
    return tuple(strides)


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


class View:
    """A strided window on a backend buffer: the unit every primitive reads and returns.

    `strides` and `offset` count elements, not bytes. `cache` is a slot a backend may use
    to memoise its own representation of this view (the NumPy backend keeps an ndarray).
    """
    __slots__ = ("buf", "shape", "strides", "offset", "dtype", "cache")

    def __init__(self, buf, shape, strides, offset, dtype, cache=None):
        self.buf, self.shape, self.strides = buf, shape, strides
        self.offset, self.dtype, self.cache = offset, dtype, cache

    @property
    def numel(self):
        return numel(self.shape)

    def is_contiguous(self):
        expected = 1
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            if size != 1 and stride != expected:
                return False
            expected *= size
        return True

    def __repr__(self):
        return (f"View(shape={self.shape}, strides={self.strides}, offset={self.offset}, "
                f"dtype={self.dtype.name})")


from .fused import NNOps, OptimOps  # noqa: E402  (they use the names above)


class Backend(NNOps, OptimOps):
    """Base class of a device backend. Subclasses set `type` and implement the primitives.

    One instance serves one device (`self.device`). Class methods describe the hardware
    without allocating anything, so `fw devices` and `is_available()` stay cheap.
    """
    type = None

    def __init__(self, index=None):
        self.device = device(self.type, index)

    # -- describing the hardware -------------------------------------------------------
    @classmethod
    def is_available(cls):
        return cls.device_count() > 0

    @classmethod
    def device_count(cls):
        return 1

    @classmethod
    def describe(cls):
        """One dict per device for `fw devices`: at least `name`; anything else helps."""
        return [{"name": cls.type}]

    @classmethod
    def default_device_index(cls):
        """The index `"type"` without one means: None for single-device backends like cpu."""
        return None

    @classmethod
    def unavailable_reason(cls):
        """Where device_count() is 0: why, and what to install, in one line for `fw devices`
        and the error of using the device (None: fw says only that there is none)."""
        return None

    def dtype_unsupported(self, dtype):
        """None if this device holds tensors of `dtype`, else why not: the message of the
        RuntimeError that making one raises (the conformance kit reports such cases as
        unsupported, with this reason, after checking that the error is raised)."""
        return None

    def synchronize(self):
        """Wait until all queued work on this device has finished."""

    def empty_cache(self):
        """Give memory the backend keeps for reuse back to the device."""

    def set_num_threads(self, n):
        """Use n host threads for computing (fw.set_num_threads). False: nothing to set."""
        return False

    def get_num_threads(self):
        """The host threads the backend computes with, or None where it has no such pool."""
        return None

    # -- memory: required ----------------------------------------------------------------
    def from_numpy(self, array):
        """A new contiguous View holding a copy of a NumPy array of a supported dtype."""
        raise NotImplementedError

    def to_numpy(self, v):
        """A NumPy array (owning its data, shaped like `v`) with the values of view `v`."""
        raise NotImplementedError

    def full(self, shape, value, dtype):
        raise NotImplementedError

    def copy_(self, dst, src):
        """Write `src` into the (possibly strided) view `dst`; same shape and dtype."""
        raise NotImplementedError

    # -- compute: required. Each returns a new contiguous View. --------------------------
    def unary(self, op, x):
        """One of UNARY_OPS, elementwise; result dtype = x.dtype (bool for logical_not)."""
        raise NotImplementedError

    def binary(self, op, a, b):
        """One of BINARY_OPS with broadcasting. `a`, `b` are Views of the same dtype or
        Python scalars; the result is bool for COMPARISONS, else that dtype."""
        raise NotImplementedError

    def where(self, cond, a, b):
        """Select from `a` where bool `cond` is true, else `b`, broadcasting all three;
        `a` or `b` may be a Python scalar (the result has the other's dtype)."""
        raise NotImplementedError

    def cast(self, x, dtype):
        raise NotImplementedError

    def reduce(self, op, x, dims, keepdim):
        """One of REDUCE_OPS over the axes `dims` (a tuple, possibly empty = none)."""
        raise NotImplementedError

    def arg_reduce(self, op, x, dim, keepdim):
        """'argmax' or 'argmin' along one axis, int64 result, first index on ties."""
        raise NotImplementedError

    def scan(self, op, x, dim):
        """Inclusive 'sum' or 'prod' scan along `dim`."""
        raise NotImplementedError

    def sort(self, x, dim, descending, stable):
        """(values, int64 indices) sorted along `dim`."""
        raise NotImplementedError

    def contiguous(self, x):
        raise NotImplementedError

    def cat(self, views, dim):
        raise NotImplementedError

    def gather(self, x, dim, index):
        """out[i][j][k] = x[index[i][j][k]][j][k] for dim 0, and so on (PyTorch's gather)."""
        raise NotImplementedError

    def scatter(self, x, dim, index, src, accumulate):
        """A copy of `x` with `src` written (or added, when `accumulate`) at `index`."""
        raise NotImplementedError

    def matmul(self, a, b):
        """Batched matrix product of (..., n, k) and (..., k, m) with equal batch shapes."""
        raise NotImplementedError

    # -- optional fast paths with composed defaults ----------------------------------------
    def pad(self, x, pads, value):
        """Constant padding; `pads` is ((before, after), ...) for every axis."""
        shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
        out = self.full(shape, value, x.dtype)
        strides = out.strides
        offset = sum(lo * st for (lo, _), st in zip(pads, strides))
        self.copy_(View(out.buf, x.shape, strides, offset, x.dtype), x)
        return out

    def log_softmax(self, x, dim):
        m = self.reduce("max", x, (dim,), True)
        shifted = self.binary("sub", x, m)
        lse = self.unary("log", self.reduce("sum", self.unary("exp", shifted), (dim,), True))
        return self.binary("sub", shifted, lse)

    def softmax(self, x, dim):
        m = self.reduce("max", x, (dim,), True)
        e = self.unary("exp", self.binary("sub", x, m))
        return self.binary("div", e, self.reduce("sum", e, (dim,), True))


def broadcast_shapes(*shapes):
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, d in enumerate(s, ndim - len(s)):
            if d != 1:
                if out[i] != 1 and out[i] != d:
                    if len(shapes) == 2:
                        a, b = (s[i - ndim + len(s)] if i - ndim + len(s) >= 0 else 1 for s in shapes)
                        raise RuntimeError(f"The size of tensor a ({a}) must match the size of "
                                           f"tensor b ({b}) at non-singleton dimension {i}")
                    raise RuntimeError("shapes " + ", ".join(str(list(x)) for x in shapes)
                                       + f" cannot be broadcast together at dimension {i}")
                out[i] = d
    return tuple(out)


def broadcast_view(v, shape):
    """The same buffer seen with `shape`, using stride 0 on broadcast axes."""
    if v.shape == shape:
        return v
    lead = len(shape) - len(v.shape)
    strides = [0] * lead
    for i, (d, st) in enumerate(zip(v.shape, v.strides)):
        strides.append(0 if d == 1 and shape[lead + i] != 1 else st)
    return View(v.buf, tuple(shape), tuple(strides), v.offset, v.dtype)


# -- helpers for backends that index strided views themselves ------------------------------
def merge_dims(shape, strides_list):
    """Merge adjacent dims that are contiguous with each other in every operand and drop
    size-1 dims, so a kernel walks as few dims as possible: (shape, [strides per operand])
    as lists. A contiguous view becomes one dim."""
    out_shape, out_st = [], [[] for _ in strides_list]
    for i, s in enumerate(shape):
        if s == 1:
            continue
        sts = [st[i] for st in strides_list]
        if out_shape and all(o[-1] == st * s for o, st in zip(out_st, sts)):
            out_shape[-1] *= s
            for o, st in zip(out_st, sts):
                o[-1] = st
            continue
        out_shape.append(s)
        for o, st in zip(out_st, sts):
            o.append(st)
    return out_shape, out_st


def split_dims(v, dims):
    """(kept shape, kept strides, reduced shape, reduced strides) of View `v` when reducing
    over the axes `dims`."""
    ks, kst, rs, rst = [], [], [], []
    for i, (s, st) in enumerate(zip(v.shape, v.strides)):
        if i in dims:
            rs.append(s)
            rst.append(st)
        else:
            ks.append(s)
            kst.append(st)
    return tuple(ks), tuple(kst), tuple(rs), tuple(rst)
