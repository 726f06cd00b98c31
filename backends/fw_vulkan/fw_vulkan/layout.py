"""Pack kernel parameters into the 256-byte `Meta` block of kernels/common.wgsl.

Meta (64 x 32-bit words): n, nd, nd2, p | shape[8] | shape2[8] | st[4][8] | off[4] | x[8].
`at(k, i)` in WGSL walks `shape` with the strides of operand slot k; `at2(k, i)` walks
`shape2` with slot k. Dims are merged on the host, so a contiguous view is one dim.
Packed blocks are memoised: training loops see the same shapes over and over.
"""
import numpy as np

from framework.device import merge_dims, numel

MAXD = 8
_memo = {}


def pack(shape, strides, offsets=(), shape2=(), strides2=(), x=(), n=None):
    """Meta bytes. `strides` (one tuple per operand, over `shape`) fill slots 0..;
    `strides2` (over `shape2`) fill the slots after them; `x` are extra int32 words;
    `n` defaults to numel(shape)."""
    key = (shape, tuple(strides), tuple(offsets), shape2, tuple(strides2), tuple(x), n)
    b = _memo.get(key)
    if b is not None:
        return b
    if n is None:
        n = numel(shape)
    if n >= 2**31:
        raise RuntimeError(f"vulkan backend: {n} elements are too many for one kernel "
                           "(32-bit indexing; at most 2**31 - 1)")
    ms, mst = merge_dims(shape, list(strides)) if strides else (list(shape), [])
    ms2, mst2 = merge_dims(shape2, list(strides2)) if strides2 else (list(shape2), [])
    if len(ms) > MAXD or len(ms2) > MAXD:
        raise RuntimeError(f"vulkan backend: a view of shape {tuple(shape)} has more than "
                           f"{MAXD} non-mergeable dimensions; call .contiguous() first")
    if len(mst) + len(mst2) > 4:
        raise ValueError("vulkan backend: at most 4 operand layouts per kernel")
    a = np.zeros(64, np.int64)
    a[0], a[1], a[2] = n, len(ms), len(ms2)
    a[4:4 + len(ms)] = ms
    a[12:12 + len(ms2)] = ms2
    for k, st in enumerate(mst + mst2):
        a[20 + 8 * k:20 + 8 * k + len(st)] = st
    a[52:52 + len(offsets)] = offsets
    a[56:56 + len(x)] = x
    b = a.astype(np.int32).tobytes()
    if len(_memo) > 8192:
        _memo.clear()
    _memo[key] = b
    return b
