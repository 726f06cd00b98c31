"""Batching helpers: `pad_sequence` (torch.nn.utils.rnn's), collate functions for
DataLoader (padded batches, EmbeddingBag offsets) and stable token hashing."""
import zlib

import numpy as np

import framework as fw
from framework.nn.utils.rnn import pad_sequence  # noqa: F401 - re-exported, the same function

__all__ = ["pad_sequence", "PadCollate", "BagCollate", "hash_tokens", "to_ids_tensor"]


def to_ids_tensor(ids):
    """A 1-D int64 tensor from a list / array / tensor of token ids."""
    if isinstance(ids, fw.Tensor):
        return ids.to(fw.int64)
    return fw.tensor(np.asarray(ids, dtype=np.int64).reshape(-1))


def _label_tensor(labels):
    return fw.tensor(np.asarray(labels, dtype=np.int64))


class PadCollate:
    """A DataLoader `collate_fn` for (label, text) items (the torchtext/AG_NEWS order; pass
    label_first=False for (text, label)). `text_transform` maps a text to token ids
    (e.g. `lambda s: vocab(tokenizer(s))`), `label_transform` maps a label to an int.
    Returns (padded ids int64 (B, L) or (L, B), lengths int64 (B,), labels int64 (B,))."""

    def __init__(self, text_transform=None, label_transform=None, padding_value=0,
                 batch_first=True, padding_side="right", label_first=True):
        self.text_transform, self.label_transform = text_transform, label_transform
        self.padding_value, self.batch_first = padding_value, batch_first
        self.padding_side, self.label_first = padding_side, label_first

    def _split(self, batch):
        labels, texts = [], []
        for item in batch:
            label, text = item if self.label_first else item[::-1]
            labels.append(self.label_transform(label) if self.label_transform else label)
            texts.append(self.text_transform(text) if self.text_transform else text)
        return labels, texts

    def __call__(self, batch):
        labels, texts = self._split(batch)
        seqs = [to_ids_tensor(t) for t in texts]
        if any(s.shape[0] == 0 for s in seqs):
            raise ValueError("PadCollate: a text produced no tokens; filter empty texts or "
                             "add a token for them")
        lengths = fw.tensor(np.array([s.shape[0] for s in seqs], dtype=np.int64))
        ids = pad_sequence(seqs, self.batch_first, self.padding_value, self.padding_side)
        return ids, lengths, _label_tensor(labels)


class BagCollate(PadCollate):
    """A `collate_fn` for `nn.EmbeddingBag` (the torchtext tutorial's collate_batch):
    returns (all ids concatenated, int64 (N,); offsets, int64 (B,); labels, int64 (B,))."""

    def __call__(self, batch):
        labels, texts = self._split(batch)
        arrays = [np.asarray(t, dtype=np.int64).reshape(-1) for t in texts]
        offsets = np.zeros(len(arrays), dtype=np.int64)
        np.cumsum([len(a) for a in arrays[:-1]], out=offsets[1:])
        flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
        return fw.tensor(flat), fw.tensor(offsets), _label_tensor(labels)


def hash_tokens(tokens, num_buckets, offset=0):
    """Stable bucket ids (CRC-32 of the UTF-8 bytes, modulo `num_buckets`, plus `offset`)
    for the hashing trick. Unlike Python's `hash`, the same in every process."""
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be positive, got {num_buckets}")
    return [offset + zlib.crc32(t.encode("utf-8")) % num_buckets for t in tokens]
