"""The legacy typed constructors: `fw.FloatTensor([1, 2])`, `fw.LongTensor(2, 3)`.
`isinstance(x, fw.FloatTensor)` is true for a float32 tensor, as in PyTorch."""
import numpy as np

from .. import dtypes as dt
from ..tensor import Size, Tensor


class _TypedMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        from .creation import tensor, zeros
        if not args:
            return zeros(0, dtype=cls.dtype, device=device)
        if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
            if not isinstance(args[0], (Tensor, list, tuple, range, np.ndarray)):
                raise TypeError(f"{cls.__name__}(): data must be a sequence (got "
                                f"{type(args[0]).__name__})")
            return tensor(args[0], dtype=cls.dtype, device=device)
        return zeros(*args, dtype=cls.dtype, device=device)  # sizes: zero-filled, never stale


def _typed(name, d):
    return _TypedMeta(name, (), {"dtype": d})


FloatTensor = _typed("FloatTensor", dt.float32)
DoubleTensor = _typed("DoubleTensor", dt.float64)
IntTensor = _typed("IntTensor", dt.int32)
LongTensor = _typed("LongTensor", dt.int64)
BoolTensor = _typed("BoolTensor", dt.bool)
HalfTensor = _typed("HalfTensor", dt.float16)
BFloat16Tensor = _typed("BFloat16Tensor", dt.bfloat16)
ByteTensor = _typed("ByteTensor", dt.uint8)
CharTensor = _typed("CharTensor", dt.int8)
ShortTensor = _typed("ShortTensor", dt.int16)
