"""Pack the shape and strides of kernel operands into the `layout` struct of common.h.

The struct travels as a by-value kernel argument, so a launch uploads nothing. Packed
layouts are memoised: training loops see the same shapes over and over.
"""
import numpy as np

from framework.device import merge_dims

MAXD = 8
_SIZE = 2 + MAXD + 4 * MAXD + 4
_memo = {}


def pack(shape, strides_list, offsets):
    """Bytes of a `layout` for `shape` and up to four operands' strides and offsets."""
    key = (shape, tuple(strides_list), tuple(offsets))
    b = _memo.get(key)
    if b is not None:
        return b
    n = 1
    for s in shape:
        n *= s
    if n >= 2**31:
        raise RuntimeError(f"opencl backend: tensors of {n} elements are too large "
                           "(32-bit indexing; at most 2**31 - 1 elements)")
    if n:  # every element an operand reaches must be addressable by at()'s int
        for st, off in zip(strides_list, offsets):
            if off + sum((s - 1) * abs(t) for s, t in zip(shape, st)) >= 2**31:
                raise RuntimeError(f"opencl backend: a view of shape {tuple(shape)} reaches "
                                   "past element 2**31 - 1 of its buffer (32-bit indexing)")
    mshape, msts = merge_dims(shape, strides_list)
    if len(mshape) > MAXD:
        raise RuntimeError(f"opencl backend: a view of shape {tuple(shape)} has more than "
                           f"{MAXD} non-mergeable dimensions; call .contiguous() first")
    a = np.zeros(_SIZE, np.int32)
    a[0], a[1] = n, len(mshape)
    a[2:2 + len(mshape)] = mshape
    for k, st in enumerate(msts):
        base = 2 + MAXD + k * MAXD
        a[base:base + len(st)] = st
    a[2 + 5 * MAXD:2 + 5 * MAXD + len(offsets)] = offsets
    b = a.tobytes()
    if len(_memo) > 8192:
        _memo.clear()
    _memo[key] = b
    return b
