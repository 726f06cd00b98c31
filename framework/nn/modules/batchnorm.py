"""PyTorch's path for the batch-norm layers (`torch.nn.modules.batchnorm`); fw defines them
with the other normalisation layers."""
from .normalization import BatchNorm1d, BatchNorm2d, _BatchNorm, _NormBase
from .syncbatchnorm import SyncBatchNorm

__all__ = ["BatchNorm1d", "BatchNorm2d", "SyncBatchNorm"]
for _c in (BatchNorm1d, BatchNorm2d, _BatchNorm, _NormBase, SyncBatchNorm):
    _c.__module__ = __name__  # pickles name this module, as PyTorch's do
