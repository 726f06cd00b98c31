"""A two-spirals classification data set and a small network that separates them."""
import math

import framework as fw
from framework import nn
from framework.utils.data import Dataset


class TwoSpirals(Dataset):
    """Two interleaved spirals in the plane, labelled 0 and 1 (n points per spiral)."""

    def __init__(self, n=200, noise=0.02, seed=0, transform=None):
        gen = fw.Generator().manual_seed(seed)
        t = fw.linspace(0.25, 3 * math.pi, n)
        points, labels = [], []
        for label in (0, 1):
            angle = t + label * math.pi
            xy = fw.stack([t * angle.cos(), t * angle.sin()], dim=1) / (3 * math.pi)
            points.append(xy + noise * fw.randn(n, 2, generator=gen))
            labels.append(fw.full((n,), label, dtype=fw.int64))
        self.data, self.targets = fw.cat(points), fw.cat(labels)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        x = self.data[i]
        return (self.transform(x) if self.transform else x), int(self.targets[i])


class SpiralNet(nn.Sequential):
    """An MLP 2 -> hidden -> hidden -> 2 with tanh, enough for the spirals."""

    def __init__(self, hidden=64):
        super().__init__(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, 2))
