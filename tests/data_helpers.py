"""Small data sets for tests/test_data.py, at module level so that worker processes started
by 'forkserver' or 'spawn' can import them."""
import math
import os
import random
import time

import numpy as np

import framework as fw
from framework.utils.data import Dataset, IterableDataset, get_worker_info


class Squares(Dataset):
    """Sample i: (float32 [i, i*i] as an fw tensor, i as a Python int)."""

    def __init__(self, n=10):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return fw.tensor([float(i), float(i * i)]), i

    def __len__(self):
        return self.n


class NumpySamples(Dataset):
    """Dict samples of NumPy arrays, NumPy scalars, Python numbers and strings."""

    def __init__(self, n=6):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full((2, 3), i, dtype=np.float32), "s": np.int32(i), "f": i / 2,
                "b": i % 2 == 0, "name": f"item{i}"}

    def __len__(self):
        return self.n


class FailsAt(Dataset):
    """Raises ValueError for one index."""

    def __init__(self, n, bad):
        self.n, self.bad = n, bad

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"bad sample {i}")
        return fw.tensor(float(i))

    def __len__(self):
        return self.n


class Dies(Dataset):
    """Its worker process exits abruptly."""

    def __getitem__(self, i):
        os._exit(3)

    def __len__(self):
        return 2


class Slow(Dataset):
    """Sleeps `delay` seconds per sample (timeouts and interrupts)."""

    def __init__(self, n, delay):
        self.n, self.delay = n, delay

    def __getitem__(self, i):
        time.sleep(self.delay)
        return i

    def __len__(self):
        return self.n


def _shard(start, end, info):
    """This worker's contiguous share of range(start, end)."""
    if info is None:
        return iter(range(start, end))
    per = int(math.ceil((end - start) / info.num_workers))
    lo = start + info.id * per
    return iter(range(lo, min(lo + per, end)))


class Range(IterableDataset):
    """range(start, end), split between workers with get_worker_info()."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return _shard(self.start, self.end, get_worker_info())

    def __len__(self):
        return self.end - self.start


class RandomDraws(Dataset):
    """Each sample: the worker id, fw / NumPy / Python random draws and the process id."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return {"worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed,
                "fw": float(fw.rand(1).item()), "np": float(np.random.rand()),
                "py": random.random(), "pid": os.getpid(),
                "init": int(os.environ.get("FW_TEST_WORKER_ID", "-1"))}


def record_worker_id(worker_id):
    """A worker_init_fn: remembers its argument in the environment of the worker."""
    os.environ["FW_TEST_WORKER_ID"] = str(worker_id)
