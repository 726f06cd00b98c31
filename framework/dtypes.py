"""Data types and PyTorch's type-promotion rules."""
import builtins
import math

import ml_dtypes
import numpy as np

__all__ = ["dtype", "float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16",
           "int32", "int64", "bool", "half", "float", "double", "short", "int", "long",
           "result_type", "promote_types",
           "get_default_dtype", "set_default_dtype", "is_floating_point", "finfo", "iinfo"]

class dtype:
    """A tensor element type. Compare with `is` or `==`; `str` prints like PyTorch.

    `kind` orders the categories of PyTorch's promotion (0 bool, 1 integer, 2 floating
    point); `bits` orders the types within one (see promote_types)."""
    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "kind", "bits")
    is_complex = False

    def __init__(self, name, np_dtype, kind, signed=True):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.bits = 8 * self.itemsize
        self.kind = kind
        self.is_floating_point = kind == 2
        self.is_signed = kind != 0 and signed

    def __repr__(self):
        return "fw." + self.name

    def __reduce__(self):
        return self.name  # pickled by reference: framework.dtypes.<name> is this object


bool = dtype("bool", np.bool_, 0)  # noqa: A001 - PyTorch's name
uint8 = dtype("uint8", np.uint8, 1, signed=False)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
# NumPy has no bfloat16; ml_dtypes (JAX's) adds it as a NumPy dtype, so arrays, casts and
# files carry it like any other. Its arithmetic rounds after every element op; the cpu
# backend computes in float32 instead and rounds once, as PyTorch does (backends/fw_numpy).
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
half, float, double, short, int, long = float16, float32, float64, int16, int32, int64  # noqa: A001

ALL = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
LOW_PRECISION = (float16, bfloat16)  # stored in 16 bits, computed in float32
# PyTorch's C++ names (ScalarType), which its messages quote: "not implemented for 'Half'"
SCALAR_NAMES = {bool: "Bool", uint8: "Byte", int8: "Char", int16: "Short", int32: "Int",
                int64: "Long", float16: "Half", bfloat16: "BFloat16", float32: "Float",
                float64: "Double"}
_by_name = {d.name: d for d in ALL}
_by_np = {d.np: d for d in ALL}
_default_float = [float32]


def get_default_dtype():
    return _default_float[0]


def set_default_dtype(d):
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float[0] = d


def is_floating_point(t):
    return t.dtype.is_floating_point


class finfo:
    """Limits of a floating-point dtype (the default dtype without an argument), as torch.finfo."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        type = get_default_dtype() if type is None else type
        if not isinstance(type, dtype):
            raise TypeError(f"finfo(): argument 'type' must be fw.dtype, not {builtins.type(type).__name__}")
        if not type.is_floating_point:
            raise TypeError(f"fw.finfo() requires a floating point input type, got {type}; "
                            "use fw.iinfo for integer types")
        info = ml_dtypes.finfo(type.np)
        self.dtype, self.bits = type.name, info.bits
        self.eps, self.max, self.min = builtins.float(info.eps), builtins.float(info.max), builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision  # computed in double, as PyTorch does

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as torch.iinfo."""

    def __init__(self, type):  # noqa: A002
        if not isinstance(type, dtype):
            raise TypeError(f"iinfo(): argument 'type' must be fw.dtype, not {builtins.type(type).__name__}")
        if type.kind != 1:
            raise TypeError(f"{type} is not supported by fw.iinfo (use fw.finfo for floating types)")
        info = np.iinfo(type.np)
        self.dtype, self.bits = type.name, info.bits
        self.min, self.max = builtins.int(info.min), builtins.int(info.max)

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def from_numpy_dtype(npd):
    """The fw dtype for a NumPy dtype; uint16/uint32 widen to the signed type holding them."""
    npd = np.dtype(npd)
    d = _by_np.get(npd)
    if d is not None:
        return d
    if npd.kind == "f":
        return float32 if npd.itemsize <= 4 else float64
    if npd.kind in "iu":
        if npd.itemsize <= 4 and not (npd.kind == "u" and npd.itemsize == 4):
            return int32
        return int64
    raise TypeError(f"can't convert np.ndarray of type {npd}. fw supports: "
                    + ", ".join(d.name for d in ALL))


def to_dtype(d):
    """Accept fw dtypes, NumPy dtypes, Python types and names like 'float32'."""
    if isinstance(d, dtype):
        return d
    if d is builtins.bool:
        return bool
    if d is builtins.int:
        return int64
    if d is builtins.float:
        return float64  # PyTorch reads the Python type `float` as double
    if isinstance(d, str) and d in _by_name:
        return _by_name[d]
    if isinstance(d, str) and d in _ALIASES:
        return _ALIASES[d]
    try:
        return from_numpy_dtype(d)
    except TypeError:
        raise TypeError(f"{d!r} is not a dtype fw knows; use one of "
                        + ", ".join("fw." + x.name for x in ALL)) from None


_ALIASES = {"half": float16, "float": float32, "double": float64, "short": int16,
            "int": int32, "long": int64}
_INT_RANGE = {d: (builtins.int(np.iinfo(d.np).min), builtins.int(np.iinfo(d.np).max))
              for d in ALL if d.kind == 1}
_FLOAT_MAX = {d: builtins.float(ml_dtypes.finfo(d.np).max) for d in (float16, bfloat16, float32)}
_FLOAT_MAX[float64] = builtins.float("inf")


def _overflow(d):
    return RuntimeError(f"value cannot be converted to type {d.name} without overflow")


def check_fits(value, d):
    """A Python fill value (full, fill_, masked_fill, clamp) must be representable in `d`,
    as PyTorch demands: a RuntimeError, never a silently wrapped value. Bool takes any."""
    if d.kind == 0 or isinstance(value, (builtins.bool, np.bool_)):
        return
    if d.kind == 1:
        lo, hi = _INT_RANGE[d]
        if not lo <= value <= hi:  # NaN compares false: refused too
            raise _overflow(d)
    elif abs(value) > _FLOAT_MAX[d] and math.isfinite(value):
        raise _overflow(d)


def check_array_fits(arr, d):
    """`check_fits` for every element of a NumPy array of Python data made into dtype `d`."""
    if d.kind != 1 or arr.dtype.kind not in "iuf" or not arr.size or arr.dtype == d.np:
        return
    lo, hi = _INT_RANGE[d]
    if arr.dtype.kind == "f" and not np.isfinite(arr).all() or arr.min() < lo or arr.max() > hi:
        raise _overflow(d)


def promote_types(a, b):
    """PyTorch's table: the higher category wins (bool < integer < floating point); within
    one, the wider type, except that uint8 with int8 gives int16 (uint8 with a wider signed
    type gives that type) and float16 with bfloat16 gives float32 (neither holds the other)."""
    if a is b:
        return a
    if a.kind != b.kind:
        return a if a.kind > b.kind else b
    if a.bits == b.bits:  # uint8/int8 or float16/bfloat16
        return int16 if a.kind == 1 else float32
    return a if a.bits > b.bits else b


def scalar_kind(x):
    if isinstance(x, (builtins.bool, np.bool_)):
        return 0
    if isinstance(x, (builtins.int, np.integer)):
        return 1
    return 2


def result_type(*operands):
    """PyTorch's promotion: dimensioned tensors > zero-dim tensors > Python scalars,
    where a lower priority operand only matters if its kind (bool < int < float) is higher."""
    dims = zero = None
    scal = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype) and hasattr(x, "_v"):
            if x._v.shape:
                dims = d if dims is None else promote_types(dims, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            scal = max(scal, scalar_kind(x))
    res = dims
    if zero is not None:
        res = zero if res is None else (zero if zero.kind > res.kind else res)
    if scal >= 0:
        sd = (bool, int64, get_default_dtype())[scal]
        res = sd if res is None else (sd if scal > res.kind else res)
    return res
