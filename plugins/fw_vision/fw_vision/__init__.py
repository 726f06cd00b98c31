"""fw's vision plugin: torchvision-style datasets, transforms, models and utils.

    from fw_vision import datasets, transforms, models, utils
"""
from . import datasets, models, transforms, utils

__version__ = "0.1.0"
__all__ = ["datasets", "models", "transforms", "utils"]
