"""`fw.nn.parallel` (torch.nn.parallel): DataParallel, a pass-through on one device."""
from .data_parallel import DataParallel

__all__ = ["DataParallel"]
