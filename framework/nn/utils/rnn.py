"""`torch.nn.utils.rnn`: padding and packing batches of variable-length sequences.

A PackedSequence holds the time steps of every sequence interleaved, longest sequence first:
`data[sum(batch_sizes[:t]) + b]` is step t of the b-th longest sequence, and `batch_sizes[t]`
counts the sequences still running at step t. Packing and unpacking are each one
index_select with an index computed on the host from the lengths (which PyTorch also keeps
on the host), so they run on any device and carry gradients.
"""
from collections import namedtuple

import numpy as np

from ... import dtypes as dt
from ... import ops
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                   "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's. batch_sizes is an
    int64 cpu tensor; the indices are None when the batch was packed already sorted."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """data (and the indices, to data's device) converted; batch_sizes stays on cpu."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        idx = [None if i is None else i.to(data.device) for i in
               (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *idx)

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtype=dt.float32)

    def double(self):
        return self.to(dtype=dt.float64)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The permutation that undoes `permutation` (None stays None)."""
    if permutation is None:
        return None
    inv = ops.empty_like(permutation)
    inv.scatter_(0, permutation, ops.arange(permutation.numel(), device=permutation.device))
    return inv


def _lengths(lengths):
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.dtype.is_floating_point:
            raise RuntimeError(f"lengths must be a 1-d integer tensor or a list of ints, got a "
                               f"{lengths.ndim}-d {lengths.dtype} tensor")
        return lengths.detach().cpu().numpy().astype(np.int64)
    return np.asarray([int(n) for n in lengths], dtype=np.int64)


def _pack_index(lengths_sorted, steps, batch):
    """Rows of a time-major (steps * batch) flattening that packing keeps, in packed order,
    and the batch sizes."""
    sizes = np.array([(lengths_sorted > t).sum() for t in range(lengths_sorted[0])],
                     dtype=np.int64)
    rows = np.concatenate([t * batch + np.arange(n) for t, n in enumerate(sizes)])
    return rows, sizes


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the
    given lengths. With enforce_sorted=False the batch is sorted here (and unsorted again by
    pad_packed_sequence and the recurrent layers)."""
    lengths = _lengths(lengths)
    bdim = 0 if batch_first else 1
    if input.ndim < 2:
        raise RuntimeError(f"pack_padded_sequence: input must have at least 2 dims (time and "
                           f"batch), got {input.ndim}")
    batch, steps = input.shape[bdim], input.shape[1 - bdim]
    if len(lengths) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={batch})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
        order = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
    if batch and lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if batch and lengths[0] > steps:
        # PyTorch reads past the padding here; fw refuses
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths[0]} is longer than the "
                           f"input's {steps} time steps")
    if batch == 0:
        raise RuntimeError("pack_padded_sequence: cannot pack an empty batch")
    x = input.transpose(0, 1) if batch_first else input
    sorted_indices = None
    if order is not None:
        sorted_indices = ops.tensor(order, device=input.device)
        x = x.index_select(1, sorted_indices)
    rows, sizes = _pack_index(lengths, steps, batch)
    data = x.reshape((steps * batch,) + tuple(x.shape[2:])).index_select(
        0, ops.tensor(rows, device=input.device))
    return PackedSequence(data, ops.tensor(sizes), sorted_indices)


def _host_sizes(sequence):
    return sequence.batch_sizes.detach().cpu().numpy().astype(np.int64)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64 tensor), in
    the batch's original order."""
    sizes = _host_sizes(sequence)
    data = sequence.data
    batch, steps = int(sizes[0]), len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    pad_row = offsets[-1]  # the row appended below, holding padding_value
    src = np.full((steps, batch), pad_row, dtype=np.int64)
    for t, n in enumerate(sizes):
        src[t, :n] = offsets[t] + np.arange(n)
    lengths = (src != pad_row).sum(0)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices.detach().cpu().numpy().astype(np.int64)
        src, lengths = src[:, unsorted], lengths[unsorted]
    pad = ops.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                   device=data.device)
    out = ops.cat([data, pad]).index_select(0, ops.tensor(src.reshape(-1), device=data.device))
    out = out.reshape((steps, batch) + tuple(data.shape[1:]))
    return (out.transpose(0, 1) if batch_first else out), ops.tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (max L, B, *) (or (B, max L, *)), padding the
    shorter ones with padding_value after (or, with padding_side='left', before) their data.
    The result takes the first sequence's dtype and device, as in PyTorch (an integer dtype
    truncates the padding value)."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(s).__name__}")
        if s.ndim == 0:
            raise RuntimeError("pad_sequence: every sequence needs a time dimension, got a "
                               "0-d tensor")
    first = sequences[0]
    trailing = tuple(first.shape[1:])
    for s in sequences[1:]:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: all sequences must have the same trailing "
                               f"dimensions, got {tuple(first.shape)} and {tuple(s.shape)}")
    if first.dtype is dt.bool:
        padding_value = bool(padding_value)
    elif not first.dtype.is_floating_point:
        padding_value = int(padding_value)
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        s = s.to(device=first.device, dtype=first.dtype)
        n = longest - s.shape[0]
        if n:
            fill = ops.full((n,) + trailing, padding_value, dtype=first.dtype, device=first.device)
            s = ops.cat([s, fill] if padding_side == "right" else [fill, s])
        rows.append(s)
    return ops.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences pad_sequence stacked (right padding), cut to their lengths."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_lengths(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence of pad_sequence(sequences)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences pack_sequence packed, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
