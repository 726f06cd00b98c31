"""Embeddings (`torch.nn.functional.embedding`, `embedding_bag`, `one_hot`).

The lookup is one gather of rows; its backward adds the incoming rows into a zero weight
gradient with one scatter-add (PyTorch's index_add), never a dense one-hot matmul.
`sparse=True` is accepted but the gradient is dense (fw has no sparse tensors).
"""
import numpy as np

from ... import dtypes as dt
from ... import ops as _ops
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.indexing import _index_range
from ...tensor import Tensor

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(idx, name):
    if not isinstance(idx, Tensor):
        raise TypeError(f"{name}(): argument 'indices' must be Tensor, not {type(idx).__name__}")
    if idx.dtype is not dt.int64 and idx.dtype is not dt.int32:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.type()} instead "
                           f"(while checking arguments for {name})")


def _rows_grad(g, idx, num, padding_idx, scale_grad_by_freq, count_idx):
    """The (num, D) weight gradient of looking up rows `idx` (n,) given their grads g (n, D)."""
    n, d = g.shape
    if padding_idx is not None and padding_idx >= 0:
        g = _ops.where((idx == padding_idx).unsqueeze(1), 0.0, g)  # the padding row learns nothing
    if scale_grad_by_freq:
        ones = _ops.ones(count_idx.shape[0], dtype=g.dtype, device=g.device)
        counts = _ops.zeros(num, dtype=g.dtype, device=g.device).scatter_add(0, count_idx, ones)
        g = g / counts.index_select(0, idx).clamp(min=1.0).unsqueeze(1)
    wide = idx.reshape(n, 1).expand(n, d)  # a stride-0 view: no copy of the index
    return _ops.zeros((num, d), dtype=g.dtype, device=g.device).scatter_add(0, wide, g)


class _Embedding(Function):
    @staticmethod
    def forward(ctx, weight, idx, shape, padding_idx, scale_grad_by_freq, count_idx):
        ctx.num, ctx.padding_idx, ctx.scale = weight.shape[0], padding_idx, scale_grad_by_freq
        ctx.save_for_backward(idx, count_idx)
        return _ops.index_select(weight, 0, idx).reshape(shape)

    @staticmethod
    def backward(ctx, g):
        idx, count_idx = ctx.saved_tensors
        g = g.reshape(idx.shape[0], g.shape[-1])
        gw = _rows_grad(g, idx, ctx.num, ctx.padding_idx, ctx.scale, count_idx)
        return gw, None, None, None, None, None


def _lookup(weight, idx, padding_idx, scale_grad_by_freq, count_idx=None):
    """weight[idx] for any index shape, through the one-node embedding Function."""
    flat = idx.reshape(-1)
    if flat.dtype is not dt.int64:
        flat = flat.to(dt.int64)
    if flat.numel():
        lo, hi = _index_range(flat)
        if lo < 0 or hi >= weight.shape[0]:
            raise IndexError("index out of range in self")
    shape = tuple(idx.shape) + (weight.shape[1],)
    if grad_mode._state.enabled and weight.requires_grad:
        c = flat if count_idx is None else count_idx
        return _Embedding.apply(weight, flat, shape, padding_idx, scale_grad_by_freq, c)
    return _ops.index_select(weight, 0, flat).reshape(shape)


def _renorm_(weight, idx, max_norm, norm_type):
    """Rescale in place (no graph) the rows named in `idx` whose norm exceeds max_norm."""
    rows_np = np.unique(idx.detach()._host().reshape(-1)).astype(np.int64)
    if rows_np.size == 0:
        return
    with grad_mode.no_grad():
        w = weight.detach()
        u = _ops.tensor(rows_np, device=weight.device)
        rows = w.index_select(0, u)
        norms = rows.norm(norm_type, 1, keepdim=True)
        scale = _ops.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[u] = rows * scale


def _padding(padding_idx, num):
    if padding_idx is None:
        return -1
    if padding_idx >= num or padding_idx < -num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    _check_indices(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    pad = _padding(padding_idx, weight.shape[0])
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    return _lookup(weight, input, pad, scale_grad_by_freq)


def _bags(input, offsets, include_last_offset):
    """A (B, L) layout of 1-d `input` cut at `offsets`: positions into input (n for an empty
    slot) and the mask of real slots. Offsets are small and read on the host."""
    n = input.shape[0]
    off = offsets.detach()._host().astype(np.int64).reshape(-1)
    if off.size and off[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {off[0]}")
    if off.size and off[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {off[-1]}")
    if include_last_offset:
        starts, ends = off[:-1], off[1:]
    else:
        starts, ends = off, np.append(off[1:], n)
    lengths = ends - starts
    if (lengths < 0).any():
        raise RuntimeError("embedding_bag: offsets must be non-decreasing")
    width = int(lengths.max()) if lengths.size else 0
    slot = np.arange(width)
    valid = slot[None, :] < lengths[:, None]
    pos = np.where(valid, starts[:, None] + slot[None, :], n)
    return _ops.tensor(pos, device=input.device), _ops.tensor(valid, device=input.device)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings. Bags are laid out densely as (B, L)
    (L the longest bag), looked up with one gather, then reduced over L."""
    _check_indices(input, "embedding_bag")
    psw = per_sample_weights
    if psw is not None and tuple(input.shape) != tuple(psw.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({psw.shape}) is not None, then "
                         f"it must have the same shape as the input ({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences. However, found offsets of "
                             f"type {type(offsets)}")
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    num = weight.shape[0]
    flat = input.reshape(-1).to(dt.int64)
    if flat.numel():
        lo, hi = _index_range(flat)
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            i = int(np.argmax(flat._host() == bad))
            raise RuntimeError(f"Index {i} of input takes value {bad} which is not in the valid "
                               f"range [0, {num})")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    if psw is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{mode}'). Please open a feature request on GitHub.")
    pad = _padding(padding_idx, num)
    if input.ndim == 2:
        idx, valid, w = input.to(dt.int64), None, psw
    else:
        pos, valid = _bags(input, offsets, include_last_offset)
        zero = _ops.zeros(1, dtype=dt.int64, device=input.device)
        idx = _ops.cat([flat, zero])[pos]  # empty slots look up row 0, then are masked out
        if psw is not None:
            w = _ops.cat([psw, _ops.zeros(1, dtype=psw.dtype, device=psw.device)])[pos]
        else:
            w = None
    keep = valid
    if pad >= 0:
        keep = (idx != pad) if keep is None else keep & (idx != pad)
    rows = _lookup(weight, idx, pad, scale_grad_by_freq, flat)  # (B, L, D)
    if mode == "max":
        if keep is not None:
            rows = rows.masked_fill(~keep.unsqueeze(-1), float("-inf"))
        if rows.shape[1] == 0:
            return _ops.zeros((rows.shape[0], weight.shape[1]), dtype=weight.dtype,
                              device=weight.device)
        out = rows.max(1).values
        if keep is not None:  # a bag with nothing in it gives zeros, as in PyTorch
            out = _ops.where(keep.any(1, keepdim=True), out, 0.0)
        return out
    if keep is not None:
        m = keep.to(weight.dtype)
        w = m if w is None else w * m
    if w is not None:
        rows = rows * w.unsqueeze(-1)
    out = rows.sum(1)
    if mode == "mean":
        if keep is None:
            count = float(max(rows.shape[1], 1))
        else:
            count = keep.sum(1, keepdim=True).clamp(min=1).to(weight.dtype)
        out = out / count
    return out


def one_hot(tensor, num_classes=-1):
    if not isinstance(tensor, Tensor) or tensor.dtype is not dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel():
        lo, hi = _index_range(tensor)
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    classes = _ops.arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).to(dt.int64)
