"""DistributedSampler: each rank's share of a data set, as torch.utils.data.distributed.

The partition is PyTorch's, index for index: the shuffle is PyTorch's CPU `randperm` under
a generator seeded with `seed + epoch` (its Mersenne Twister and Fisher-Yates swaps, redone
here with NumPy's MT19937), the list is padded by repeating its head (or cut, with
`drop_last`), and rank r takes every num_replicas-th index from r. So a job mixing fw and
PyTorch ranks, or resuming a PyTorch run, sees the same samples.
"""
import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def torch_randperm(n, seed):
    """`torch.randperm(n, generator=torch.Generator().manual_seed(seed))`, as a list."""
    perm = list(range(n))
    if n < 2:
        return perm
    # PyTorch's mt19937 keeps the low 32 bits of the seed, as NumPy's legacy seeding does
    rs = np.random.RandomState(seed & 0xFFFFFFFF)
    draws = rs.randint(0, 2 ** 32, size=n - 1, dtype=np.uint32).astype(np.int64)
    picks = (draws % np.arange(n, 1, -1, dtype=np.int64)).tolist()
    for i, z in enumerate(picks):
        j = i + z
        perm[i], perm[j] = perm[j], perm[i]
    return perm


class DistributedSampler(Sampler):
    """Indices of `dataset` for rank `rank` of `num_replicas` (by default the process
    group's). Call `set_epoch(e)` before each epoch so the shuffle changes."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_initialized():
                raise ValueError("DistributedSampler: Default process group has not been "
                                 "initialized; pass num_replicas and rank, or call "
                                 "fw.distributed.init_process_group first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas!r}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch to shuffle for: every rank must set the same one."""
        self.epoch = epoch
