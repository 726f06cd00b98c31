"""Element types of checkpoint files, read into the dtypes fw has.

Every fw dtype loads as itself (bfloat16 through ml_dtypes' NumPy dtype). The unsigned
types fw lacks widen losslessly: uint16 -> int32, uint32 -> int64, uint64 -> int64 when
every value fits, else an error (never a wrapped value). `load_state_dict` then copies
into the model's own dtype, as PyTorch does.
"""
import ml_dtypes
import numpy as np

from .. import dtypes as dt

_WIDER = {"uint16": np.int32, "uint32": np.int64}
_KEPT = {d.name for d in dt.ALL}

# bfloat16's code in the storage tables (NumPy has no letter for it)
BF16 = "bf16"


def itemsize(code):
    return 2 if code == BF16 else np.dtype(code).itemsize


def code_of(d):
    """The storage code of fw dtype `d`."""
    return BF16 if d is dt.bfloat16 else d.np.str


def from_bytes(buf, code, count, byteorder="little", offset=0):
    """`count` elements of type `code` (a NumPy code, or BF16) from `buf`, as a writable
    native-order array of a dtype fw has. Raises ValueError if `buf` is too short."""
    npd = np.dtype("u2" if code == BF16 else code)
    if npd.itemsize > 1:
        npd = npd.newbyteorder("<" if byteorder == "little" else ">")
    arr = np.frombuffer(buf, dtype=npd, count=count, offset=offset)
    if code == BF16:
        return arr.astype("=u2").view(ml_dtypes.bfloat16)
    return arr.astype(npd.newbyteorder("="))  # a copy: the caller may keep it


def widen(arr, what):
    """`arr` in a dtype fw has; `what` names the tensor (and file) for the error."""
    name = arr.dtype.name
    if name in _KEPT:
        return arr
    if name == "uint64":
        big = arr > np.iinfo(np.int64).max
        if big.any():
            raise RuntimeError(f"fw.load: {what} is a uint64 tensor holding {int(arr[big].flat[0])}, "
                               "beyond int64's range: fw has no uint64 dtype and won't wrap "
                               "the value")
        return arr.astype(np.int64)
    if name in _WIDER:
        return arr.astype(_WIDER[name])
    raise RuntimeError(f"fw.load: {what} has dtype {name}, which fw can't represent")
