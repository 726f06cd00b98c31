"""Utilities (`torch.utils`): `framework.utils.data` holds data sets and the DataLoader."""
from . import data

__all__ = ["data"]
