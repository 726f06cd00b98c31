"""Let the C allocator keep freed array memory for reuse (Linux with glibc).

A training step allocates and frees the same large arrays every step. By default glibc
serves big blocks with fresh mmap'd pages and hands freed heap tops back to the OS, so every
step page-faults its activations in again: over 10 ms of kernel time per step of a small
CNN, a third of the step. With a fixed mmap threshold of 32 MiB (glibc's largest) and a
trim threshold of 256 MiB, blocks up to 32 MiB come from the heap and freed memory stays
there for the next step; the peak resident size does not change. FW_CPU_KEEP_MEMORY=0
leaves the allocator alone.
"""
import ctypes
import functools
import os
import platform
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters from glibc's malloc.h


@functools.cache
def keep_freed_memory():
    """Tune glibc's malloc once per process; True when it was tuned."""
    if (os.environ.get("FW_CPU_KEEP_MEMORY", "1") == "0" or sys.platform != "linux"
            or platform.libc_ver()[0] != "glibc"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # both or neither: setting one turns off glibc's adaptive choice of the other
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 256 << 20))
