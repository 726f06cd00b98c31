"""fw-spirals: an example domain plugin for fw."""
from .data import SpiralNet, TwoSpirals

__all__ = ["TwoSpirals", "SpiralNet"]
