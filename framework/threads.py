"""`fw.set_num_threads` / `fw.get_num_threads`: the host threads of the cpu device.

fw's cpu device computes with NumPy, whose BLAS (matmul, the optimizer updates) is the
only part that runs threads; the cpu backend sets that pool's size. framework/ reaches it
through the backend's `set_num_threads` hook, never by importing the backend.
"""
import builtins
import os

from . import plugins

_requested = [None]  # the last count set, answered where the backend cannot read its own


def _cpu():
    return plugins.registry.backend("cpu")


def set_num_threads(int):  # noqa: A002  (PyTorch's argument name)
    n = int
    if not isinstance(n, builtins.int) or isinstance(n, builtins.bool):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    _cpu().set_num_threads(n)
    _requested[0] = n


def get_num_threads():
    n = _cpu().get_num_threads()
    if n is None:
        n = _requested[0] or os.cpu_count() or 1
    return n
