"""`fw.nn.parallel` (torch.nn.parallel): DataParallel, a pass-through on one device, and
DistributedDataParallel on fw.distributed."""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
