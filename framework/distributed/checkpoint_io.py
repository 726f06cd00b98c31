"""Checkpoints in a data-parallel job: every rank holds the same model, so one rank writes
and all read (Horovod's and PyTorch's DDP tutorial's pattern, as two calls)."""
from .. import serialization
from .collectives import barrier
from .process_group import get_rank, is_initialized

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(obj, f, rank=0, **kwargs):
    """`fw.save(obj, f)` on rank `rank` only; the other ranks wait until the file is
    complete, so a `load_checkpoint` right after sees it. Without a process group it is
    fw.save."""
    if not is_initialized() or get_rank() == rank:
        serialization.save(obj, f, **kwargs)
    if is_initialized():
        barrier()


def load_checkpoint(f, map_location=None, **kwargs):
    """`fw.load(f, map_location=...)` on every rank, after every rank has reached this
    point (so no rank reads a file another is still writing)."""
    if is_initialized():
        barrier()
    return serialization.load(f, map_location=map_location, **kwargs)
