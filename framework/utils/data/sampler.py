"""Samplers: the order in which a DataLoader visits indices (`torch.utils.data.sampler`)."""
import framework as fw

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _draw_seed(generator=None):
    """A fresh 63-bit seed from `generator` (fw's global one by default), so that one
    `fw.manual_seed` upstream makes everything seeded from it reproducible."""
    return int(fw.randint(0, 2 ** 63 - 1, (), generator=generator).item())


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class Sampler:
    """Base class: `__iter__` yields indices (or lists of them, for a batch sampler)."""

    def __init__(self, data_source=None):
        pass  # accepted for backward compatibility, as in PyTorch

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation (or draws with replacement) of the indices of `data_source`.

    Without a `generator`, each `iter()` seeds a private one from fw's global generator.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        # the data set may change size between construction and iteration
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        g = self.generator
        if g is None:
            g = fw.Generator()
            g.manual_seed(_draw_seed())
        if self.replacement:
            # in chunks of 32, so a huge num_samples needs no huge tensor
            for _ in range(self.num_samples // 32):
                yield from fw.randint(0, n, (32,), generator=g).tolist()
            yield from fw.randint(0, n, (self.num_samples % 32,), generator=g).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from fw.randperm(n, generator=g).tolist()
            yield from fw.randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in fw.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices in [0, len(weights)) drawn with probabilities ~ `weights`."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError("replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = fw.as_tensor(weights, dtype=fw.float64)
        if len(w.shape) != 1:
            raise ValueError("weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        draws = fw.multinomial(self.weights, self.num_samples, self.replacement,
                               generator=self.generator)
        yield from iter(draws.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size`; the last one may be
    shorter unless `drop_last`."""

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class _InfiniteConstantSampler(Sampler):
    """Yields None forever: the DataLoader's index source for an IterableDataset, whose
    fetcher ignores the index and pulls the next sample from the stream."""

    def __iter__(self):
        while True:
            yield None
