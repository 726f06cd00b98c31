"""Tensors of dtypes fw lacks load widened, losslessly, to the nearest dtype fw has.

float16 and bfloat16 -> float32; uint8, int8, int16, uint16 -> int32; uint32 -> int64;
uint64 -> int64 when every value fits, else an error (never a wrapped value).
`load_state_dict` then copies into the model's own dtype, as PyTorch does.
"""
import numpy as np

_WIDER = {"float16": np.float32, "uint8": np.int32, "int8": np.int32, "int16": np.int32,
          "uint16": np.int32, "uint32": np.int64}
_KEPT = {"bool", "int32", "int64", "float32", "float64"}

# NumPy has no bfloat16: such data is read as "<u2" and converted by bf16_to_f32
BF16 = "bf16"


def itemsize(code):
    return 2 if code == BF16 else np.dtype(code).itemsize


def bf16_to_f32(raw):
    """bfloat16 is the top half of a float32: shifting its bits up is exact."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


def from_bytes(buf, code, count, byteorder="little", offset=0):
    """`count` elements of type `code` (a NumPy code, or BF16) from `buf`, as a writable
    native-order array of a dtype fw has. Raises ValueError if `buf` is too short."""
    npd = np.dtype("u2" if code == BF16 else code)
    if npd.itemsize > 1:
        npd = npd.newbyteorder("<" if byteorder == "little" else ">")
    arr = np.frombuffer(buf, dtype=npd, count=count, offset=offset)
    if code == BF16:
        return bf16_to_f32(arr.astype("=u2"))
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
