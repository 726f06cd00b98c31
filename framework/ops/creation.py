"""Creating tensors, moving them between devices and dtypes, and random numbers.

Random numbers are drawn on the host by a NumPy PCG64 generator and uploaded, so a seed
gives the same numbers on every device (not PyTorch's numbers: its generator differs).
"""
import builtins
import math
import numbers
import threading

import numpy as np

from .. import dtypes as dt
from ..autograd.function import Function
from ..device import device as Device
from ..plugins import get_backend
from ..compiler.seam import host_op
from ..tensor import Tensor, method
from .out import into


class _DefaultDevice(threading.local):
    """set_default_device holds per thread, as in PyTorch: a new thread starts on cpu."""
    name = "cpu"


_default_device = _DefaultDevice()


def set_default_device(dev):
    dev = "cpu" if dev is None else dev  # None: back to cpu, as in PyTorch
    get_backend(dev)  # fail now, not at the next creation
    _default_device.name = dev


def get_default_device():
    return get_backend(_default_device.name).device


def _be(device):
    return get_backend(_default_device.name if device is None else device)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.__index__()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    if math.prod(out) >= 2 ** 60:  # 8 bytes an element would pass int64
        raise RuntimeError(f"Storage size calculation overflowed with sizes={out}")
    return tuple(out)


class _allocating:
    """Out of host memory is PyTorch's RuntimeError, not NumPy's MemoryError."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None and issubclass(kind, MemoryError):
            n = math.prod(self.shape) * self.dtype.itemsize
            raise RuntimeError(f"can't allocate memory: a tensor of shape {list(self.shape)} "
                               f"({self.dtype}) needs {n} bytes") from None
        return False


def _new(v, be, requires_grad):
    t = Tensor._make(v, be)
    if requires_grad:
        t.requires_grad_(True)
    return t


# -- from data --------------------------------------------------------------------------------
def _to_numpy_data(data, dtype):
    if isinstance(data, Tensor):
        return data.detach()._host()
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data)  # NumPy data keeps its dtype (np.float64 -> fw.float64)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested(data, lambda x: x.item() if isinstance(x, Tensor) else x)
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"expected a sequence of equal-length sequences: {e}") from None
    if arr.dtype == object or arr.dtype.kind in "USV" or arr.dtype == np.uint64:
        if all(isinstance(x, int) for x in _flat(data)):
            raise ValueError("Overflow when unpacking long: an integer does not fit in int64")
        odd = [x for x in _flat(data) if not isinstance(x, (numbers.Number, np.generic))]
        if odd and not isinstance(odd[0], (str, bytes)):  # PyTorch: RuntimeError (str: TypeError)
            raise RuntimeError(f"Could not infer dtype of {type(odd[0]).__name__}: tensor data "
                               "must be numbers, bools or sequences of them")
        raise TypeError(f"can't build a tensor from {type(data).__name__} data of element type "
                        f"{type(odd[0] if odd else next(iter(_flat(data)), None)).__name__}")
    if dtype is None and arr.dtype.kind == "f" and not _has_numpy_double(data):
        arr = arr.astype(dt.get_default_dtype().np)  # Python floats make the default dtype
    return arr


def _has_numpy_double(data):
    """NumPy float64 scalars in the data make a float64 tensor, as in PyTorch."""
    return any(isinstance(x, np.floating) and x.dtype == np.float64 for x in _flat(data))


def _flat(data):
    if isinstance(data, (list, tuple)):
        for x in data:
            yield from _flat(x)
    else:
        yield data


def _nested(data, fn):
    if isinstance(data, (list, tuple)):
        return [_nested(x, fn) for x in data]
    return fn(data)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (numbers, nested lists, arrays, tensors)."""
    if dtype is not None:
        dtype = dt.to_dtype(dtype)
    arr = _to_numpy_data(data, dtype)
    target = dtype or dt.from_numpy_dtype(arr.dtype)
    if arr.dtype != target.np:
        if not isinstance(data, (Tensor, np.ndarray, np.generic)):
            dt.check_array_fits(arr, target)  # Python numbers never wrap (arrays cast)
        with np.errstate(over="ignore", invalid="ignore"):  # too large for float16: inf
            arr = arr.astype(target.np)
    if device is None and isinstance(data, Tensor):
        device = data.device
    be = _be(device)
    return _new(be.from_numpy(arr), be, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but returns `data` itself (or shares its memory) when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device,
                       dtype=dtype if dtype is not None else data.dtype)
    if isinstance(data, np.ndarray) and dtype is None and (device is None or _be(device).device.type == "cpu"):
        try:
            return from_numpy(data)
        except TypeError:
            pass
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A CPU tensor sharing memory with `array` where the layout allows, as in PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    d = dt.from_numpy_dtype(array.dtype)
    if array.dtype != d.np:
        raise TypeError(f"can't convert np.ndarray of type numpy.{array.dtype}. The only supported "
                        "types are: float64, float32, float16, bfloat16 (ml_dtypes), int64, "
                        "int32, int16, int8, uint8, and bool.")
    if any(st < 0 for st in array.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array with array.copy().)")
    be = _be("cpu")
    return Tensor._make(be.wrap_numpy(array) if hasattr(be, "wrap_numpy") else be.from_numpy(array), be)


def _rebuild(array, device, requires_grad):
    return tensor(array, device=device, requires_grad=requires_grad)


# -- filled --------------------------------------------------------------------------------
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = dt.result_type(fill_value)
    dtype = dt.to_dtype(dtype)
    dt.check_fits(fill_value, dtype)
    be = _be(device)
    shape = _shape((size,) if isinstance(size, int) else tuple(size))
    with _allocating(shape, dtype):
        return _new(be.full(shape, fill_value, dtype), be, requires_grad)


def _filled(value, name):
    def make(*size, dtype=None, device=None, requires_grad=False, out=None):
        if out is not None:  # out's dtype and device unless given
            dtype = out.dtype if dtype is None else dtype
            device = out.device if device is None else device
        d = dt.get_default_dtype() if dtype is None else dt.to_dtype(dtype)
        be = _be(device)
        shape = _shape(size)
        with _allocating(shape, d):
            made = _new(be.full(shape, value, d), be, requires_grad)
        return into(name, out, made)
    make.__name__ = name
    return make


zeros = _filled(0, "zeros")
ones = _filled(1, "ones")
empty = _filled(0, "empty")  # fw's empty is zero-filled: never expose stale memory


def _like(maker):
    def like(input, dtype=None, device=None, requires_grad=False, **kwargs):
        return maker(*input.shape, dtype=dtype or input.dtype,
                     device=device or input.device, requires_grad=requires_grad)
    return like


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


@method
def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


def _size_kwarg(size, kwargs, name):
    """new_zeros(2, 3) or new_zeros(size=(2, 3)), as PyTorch takes both."""
    if "size" in kwargs:
        if size:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        size = (kwargs.pop("size"),)
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return size


@method
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
    size = _size_kwarg(size, kwargs, "new_zeros")
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@method
def new_ones(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
    size = _size_kwarg(size, kwargs, "new_ones")
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@method
def new_empty(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
    size = _size_kwarg(size, kwargs, "new_empty")
    return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@method
def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


# -- ranges --------------------------------------------------------------------------------
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if not all(math.isfinite(x) for x in (start, end, step)):
        raise RuntimeError(f"arange: unsupported range {start} -> {end} with step {step} "
                           "(the ends and the step must be finite)")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = dt.result_type(start, end, step)
    dtype = dt.to_dtype(dtype)
    if dtype is dt.bool:
        raise NotImplementedError("arange: not implemented for bool; make an integer range and "
                                  "compare it instead")
    if not dtype.is_floating_point:
        # an integer range steps by integers, as in PyTorch: arange(0, 5, 1.5, dtype=int64)
        start, end, step = builtins.int(start), builtins.int(end), builtins.int(step)
        if step == 0:
            raise RuntimeError("arange: step must be nonzero")
    n = max(0, math.ceil((end - start) / step))
    if n >= 2 ** 60:
        raise RuntimeError(f"arange: invalid size {n}, possible overflow?")
    arr = (start + np.arange(n, dtype=np.float64 if dtype.is_floating_point or
                             any(isinstance(x, float) for x in (start, step)) else np.int64) * step)
    return tensor(arr.astype(dtype.np), device=device, requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    if isinstance(steps, Tensor):
        steps = steps.item()
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    dtype = dt.get_default_dtype() if dtype is None else dt.to_dtype(dtype)
    arr = np.linspace(start, end, steps, dtype=np.float64)
    if not dtype.is_floating_point:
        arr = np.trunc(arr)
    return tensor(arr.astype(dtype.np), device=device, requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    for name, k in (("n", n), ("m", m)):
        if k is None:
            continue
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(k).__name__}")
        if k < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {k}")
    dtype = dt.get_default_dtype() if dtype is None else dt.to_dtype(dtype)
    return tensor(np.eye(n, n if m is None else m, dtype=dtype.np), device=device,
                  requires_grad=requires_grad)


# -- random numbers ---------------------------------------------------------------------------
class Generator:
    """A random number generator; `fw.manual_seed` seeds the default one."""

    def __init__(self, device="cpu"):
        self.device = Device(device)
        self._seed = 67280421310721
        self._np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if not -(2 ** 63) <= seed < 2 ** 64:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} is out of range")
        self._seed = seed % 2 ** 64
        self._np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        s = int.from_bytes(np.random.SeedSequence().entropy.to_bytes(16, "little")[:8], "little")
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    # The state as bytes, little-endian: seed (8), PCG64 state (16) and increment (16), the
    # cached-half flag (1) and half (4). PyTorch's is a uint8 tensor; fw has no uint8, so the
    # bytes travel as an int64 tensor of values 0..255 (docs/tensors.md).
    _STATE_LAYOUT = (("seed", 8), ("state", 16), ("inc", 16), ("has_uint32", 1),
                     ("uinteger", 4))
    _STATE_BYTES = builtins.sum(n for _, n in _STATE_LAYOUT)

    def get_state(self):
        st = self._np.bit_generator.state
        vals = {"seed": self._seed, "state": st["state"]["state"], "inc": st["state"]["inc"],
                "has_uint32": st["has_uint32"], "uinteger": st["uinteger"]}
        raw = b"".join(builtins.int(vals[k]).to_bytes(n, "little") for k, n in self._STATE_LAYOUT)
        return tensor(np.frombuffer(raw, dtype=np.uint8).astype(np.int64))

    def set_state(self, new_state):
        if not isinstance(new_state, Tensor) or new_state.dtype is not dt.int64:
            got = type(new_state).__name__ if not isinstance(new_state, Tensor) else new_state.dtype
            raise TypeError(f"RNG state must be an int64 tensor of bytes (fw's form of PyTorch's "
                            f"ByteTensor, from get_state()), got {got}")
        if new_state.numel() != self._STATE_BYTES:
            raise RuntimeError(f"Expected an RNG state of size {self._STATE_BYTES} but found the "
                               f"input RNG state size to be {new_state.numel()}")
        raw = new_state.detach()._host().reshape(-1)
        if raw.min() < 0 or raw.max() > 255:
            raise RuntimeError("RNG state holds values outside 0..255: not a state from get_state()")
        raw, vals, i = raw.astype(np.uint8).tobytes(), {}, 0
        for k, n in self._STATE_LAYOUT:
            vals[k], i = builtins.int.from_bytes(raw[i:i + n], "little"), i + n
        if vals["inc"] % 2 == 0 or vals["has_uint32"] > 1:
            raise RuntimeError("RNG state is invalid: not a state from get_state()")
        self._seed = vals["seed"]
        self._np = np.random.Generator(np.random.PCG64())
        self._np.bit_generator.state = {"bit_generator": "PCG64",
                                       "state": {"state": vals["state"], "inc": vals["inc"]},
                                       "has_uint32": vals["has_uint32"],
                                       "uinteger": vals["uinteger"]}
        return self


default_generator = Generator()


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def _gen(generator):
    return (generator or default_generator)._np


def _float_dtype(dtype):
    d = dt.get_default_dtype() if dtype is None else dt.to_dtype(dtype)
    if not d.is_floating_point:
        # NotImplementedError (a RuntimeError), as PyTorch raises for integer dtypes
        raise NotImplementedError(f"random floating-point numbers can't be made in dtype {d}; "
                                  "use a floating-point dtype")
    return d


@host_op  # re-run by fw.compile's replay: new numbers each step
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    d = _float_dtype(dtype)
    shape = _shape(size)
    with _allocating(shape, d):
        return tensor(_gen(generator).random(shape, dtype=np.float64).astype(d.np),
                      device=device, requires_grad=requires_grad)


@host_op
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    d = _float_dtype(dtype)
    shape = _shape(size)
    with _allocating(shape, d):
        return tensor(_gen(generator).standard_normal(shape).astype(d.np),
                      device=device, requires_grad=requires_grad)


@host_op
def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None and isinstance(high, (tuple, list)):
        high, size = None, high  # randint(high, size)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dt.int64 if dtype is None else dt.to_dtype(dtype)
    if d is dt.bool and (low < 0 or high > 2) or d is dt.int32 and (low < -2 ** 31 or high > 2 ** 31):
        raise RuntimeError(f"randint: the range [{low}, {high}) is out of bounds for {d}")
    return tensor(_gen(generator).integers(low, high, _shape(tuple(size))).astype(d.np),
                  device=device, requires_grad=requires_grad)


def _like_kw(input, dtype, device):
    return {"dtype": input.dtype if dtype is None else dtype,
            "device": input.device if device is None else device}


@host_op
def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    return rand(*input.shape, generator=generator, requires_grad=requires_grad,
                **_like_kw(input, dtype, device))


@host_op
def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    return randn(*input.shape, generator=generator, requires_grad=requires_grad,
                 **_like_kw(input, dtype, device))


@host_op
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, **kwargs):
    """Integers in [low, high) in input's shape and (unless given) dtype, even a float one."""
    if high is None:
        low, high = 0, low
    kw = _like_kw(input, dtype, device)
    d = dt.to_dtype(kw["dtype"])
    vals = randint(low, high, input.shape, generator=generator, device="cpu")
    return tensor(vals._host().astype(d.np), device=kw["device"], requires_grad=requires_grad)


@host_op
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    d = dt.int64 if dtype is None else dt.to_dtype(dtype)
    return tensor(_gen(generator).permutation(n).astype(d.np), device=device,
                  requires_grad=requires_grad)


@host_op
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples: scalar mean/std with a `size`, or tensor mean and/or std (broadcast)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = mean.detach()._host() if isinstance(mean, Tensor) else mean
        s = std.detach()._host() if isinstance(std, Tensor) else std
        if np.any(np.asarray(s) < 0):
            raise RuntimeError("normal expects std >= 0.0")
        out = _gen(generator).normal(m, s, np.broadcast(m, s).shape)
        return tensor(out.astype(ref.dtype.np), device=ref.device)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() with scalar mean and std needs a size")
    d = _float_dtype(dtype)
    return tensor(_gen(generator).normal(mean, std, _shape(tuple(size))).astype(d.np),
                  device=device, requires_grad=requires_grad)


def _fill_random(t, arr):
    with_grad = t.requires_grad
    t.requires_grad = False  # init functions write into leaves under no_grad semantics
    try:
        t._inplace(tensor(arr.astype(t.dtype.np), device=t.device))
    finally:
        t.requires_grad = with_grad
    return t


@method
@host_op
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    return _fill_random(self, _gen(generator).uniform(a, b, self.shape))


@method
@host_op
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _fill_random(self, _gen(generator).normal(mean, std, self.shape))


@method
@host_op
def random_(self, low=0, high=None, *, generator=None):
    if high is None:
        low, high = 0, low if low else 2 ** 31
    return _fill_random(self, _gen(generator).integers(low, high, self.shape))


@method
@host_op
def bernoulli_(self, p=0.5, *, generator=None):
    _check_probability(p.detach()._host() if isinstance(p, Tensor) else p, "bernoulli_")
    return _fill_random(self, _gen(generator).random(self.shape) < p)


def _check_probability(p, name):
    if not np.all((np.asarray(p) >= 0) & (np.asarray(p) <= 1)):  # NaN fails too
        raise RuntimeError(f"{name} expects probabilities in [0, 1], got {p}")


@host_op
def bernoulli(input, p=None, *, generator=None):
    probs = input.detach()._host() if p is None else p
    _check_probability(probs, "bernoulli")
    return tensor((_gen(generator).random(input.shape) < probs).astype(input.dtype.np),
                  device=input.device)


def _check_multinomial(input, num_samples, replacement):
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {input.ndim} dims")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got "
                           f"{input.dtype}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples ({num_samples})")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} samples from {n} "
                           "categories without replacement")


def _draw(g, r, num_samples, replacement):
    """Category indices drawn from weights `r`. Without replacement, once the categories
    of positive weight are used up the others follow in random order, as in PyTorch."""
    nz = np.flatnonzero(r)
    if replacement or nz.size >= num_samples:
        return g.choice(r.size, num_samples, replace=replacement, p=r / r.sum())
    first = g.choice(nz, nz.size, replace=False, p=r[nz] / r[nz].sum())
    rest = g.permutation(np.flatnonzero(r == 0))[:num_samples - nz.size]
    return np.concatenate([first, rest])


@host_op
def multinomial(input, num_samples, replacement=False, *, generator=None):
    _check_multinomial(input, num_samples, replacement)
    p = input.detach()._host().astype(np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    rows = p.reshape(-1, p.shape[-1])
    g = _gen(generator)
    out = []
    for r in rows:
        if r.sum() <= 0:
            raise RuntimeError("multinomial: invalid distribution (sum of probabilities <= 0)")
        out.append(_draw(g, r, num_samples, replacement))
    res = np.stack(out).reshape(p.shape[:-1] + (num_samples,))
    return tensor(res.astype(np.int64), device=input.device)


# -- moving and casting -------------------------------------------------------------------------
class _ToDevice(Function):
    node_name = "ToCopyBackward0"  # PyTorch's name for both
    @staticmethod
    def forward(ctx, x, be):
        ctx.src = x._be
        return Tensor._make(be.from_numpy(np.asarray(x._host(), order="C")), be)

    @staticmethod
    def backward(ctx, g):
        return _ToDevice.apply(g, ctx.src), None


class _Cast(Function):
    node_name = "ToCopyBackward0"  # PyTorch's name for both
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x._from(x._be.cast(x._v, dtype))

    @staticmethod
    def backward(ctx, g):
        return (_Cast.apply(g, ctx.src) if ctx.src.is_floating_point else None), None


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, dt.dtype) or a in (builtins.float, builtins.int, builtins.bool):
            dtype = a
        elif isinstance(a, (str, Device)):
            dev = a
        else:
            raise TypeError(f"to() received an invalid argument {a!r}")
    unknown = set(kwargs) - {"non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument '{unknown.pop()}'")
    return dev, (None if dtype is None else dt.to_dtype(dtype)), kwargs.get("copy", False)


@method
def to(self, *args, **kwargs):
    dev, dtype, copy = _parse_to(args, dict(kwargs))
    out = self
    if dev is not None:
        be = get_backend(dev)
        if be is not self._be:
            out = _ToDevice.apply(out, be)
    if dtype is not None and dtype is not out.dtype:
        out = _Cast.apply(out, dtype)
    if copy and out is self:
        out = self.clone()
    return out


@method
def cpu(self):
    return self.to("cpu")


def _cast_method(name, d):
    def cast(self, memory_format=None):
        return self.to(d)
    cast.__name__ = name
    method(cast)


for _name, _d in (("float", dt.float32), ("double", dt.float64), ("half", dt.float16),
                  ("bfloat16", dt.bfloat16), ("int", dt.int32), ("long", dt.int64),
                  ("short", dt.int16), ("char", dt.int8), ("byte", dt.uint8), ("bool", dt.bool)):
    _cast_method(_name, _d)


@method
def clone(self, memory_format=None):
    from .shape import contiguous_copy
    return contiguous_copy(self)


@method
def copy_(self, src, non_blocking=False):
    """Copy `src` (broadcast, cast and moved as needed) into self; differentiable."""
    if not isinstance(src, Tensor):
        src = tensor(src, dtype=self.dtype, device=self.device)
    if src.device != self.device:
        src = src.to(self.device)
    if src.dtype is not self.dtype:
        src = src.to(self.dtype)
    if src.shape != self.shape:
        src = src.expand(self.shape)
    return self._inplace(src if src.requires_grad else src.detach(), fresh=False)


@method
def zero_(self):
    return self.fill_(0)


@method
def fill_(self, value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return self.copy_(value.expand(self.shape))
    dt.check_fits(value, self.dtype)
    return self._inplace(Tensor._make(self._be.full(self._v.shape, value, self.dtype), self._be))
