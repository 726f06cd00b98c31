"""PyTorch's path for the instance-norm layers (`torch.nn.modules.instancenorm`)."""
from .normalization import InstanceNorm1d, InstanceNorm2d, _InstanceNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]
for _c in (InstanceNorm1d, InstanceNorm2d, _InstanceNorm):
    _c.__module__ = __name__
