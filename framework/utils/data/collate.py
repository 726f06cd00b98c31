"""Turning a list of samples into a batch (`torch.utils.data._utils.collate`).

`collate(batch, collate_fn_map=...)` walks the structure of the first sample; a leaf is
handled by the function registered for its type (exact type first, then the first
registered base class), so users can extend `default_collate_fn_map` for their own types.
"""
import collections.abc
import copy
import re

import numpy as np

import framework as fw

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map",
           "default_collate_err_msg_format"]

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, "
                                  "numbers, dicts or lists; found {}")

# NumPy dtypes with no tensor counterpart: bytes, str, unicode, object
_np_str_obj = re.compile(r"[SaUO]")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _rebuild_mapping(like, values):
    """`values` (a dict) in a mapping of `like`'s type (a mutable one is copied and
    updated, which keeps what its constructor would not, e.g. a defaultdict's factory), or
    a plain dict where that type cannot be built from one."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like, values):
    """`values` (a list) in a sequence of `like`'s type, or a plain list where that type
    cannot be built from one."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(like)(values)
    except TypeError:
        return values


def default_convert(data):
    """Make NumPy arrays and scalars inside `data` tensors, keeping the structure (tuples
    become lists, as in PyTorch); used when batching is off (`batch_size=None`)."""
    if isinstance(data, fw.Tensor):
        return data
    t = type(data)
    if t.__module__ == "numpy" and t.__name__ not in ("str_", "bytes_", "string_"):
        if isinstance(data, np.ndarray) and _np_str_obj.search(data.dtype.str) is not None:
            return data
        return fw.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return t(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def collate(batch, *, collate_fn_map=None):
    """Collate `batch` (a list of samples of one structure) with leaf functions from
    `collate_fn_map` ({type or tuple of types: fn(batch, *, collate_fn_map)})."""
    elem = batch[0]
    t = type(elem)
    if collate_fn_map is not None:
        if t in collate_fn_map:
            return collate_fn_map[t](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(
            elem, {k: collate([d[k] for d in batch], collate_fn_map=collate_fn_map) for k in elem})
    if _is_namedtuple(elem):
        return t(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # a tuple sample gives a list of columns, as in PyTorch
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(t))


def _collate_tensor(batch, *, collate_fn_map=None):
    return fw.stack(batch, 0)


def _collate_numpy_array(batch, *, collate_fn_map=None):
    if _np_str_obj.search(batch[0].dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([fw.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalar(batch, *, collate_fn_map=None):
    # a list of NumPy scalars keeps their dtype (float32 stays float32)
    return fw.as_tensor(np.array(batch))


def _collate_float(batch, *, collate_fn_map=None):
    return fw.tensor(batch, dtype=fw.float64)  # Python floats are doubles, as in PyTorch


def _collate_int(batch, *, collate_fn_map=None):
    return fw.tensor(batch)  # int64, or bool for a batch of bools


def _collate_str(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {
    fw.Tensor: _collate_tensor,
    np.ndarray: _collate_numpy_array,
    (np.bool_, np.number, np.object_): _collate_numpy_scalar,
    float: _collate_float,
    int: _collate_int,
    str: _collate_str,
    bytes: _collate_str,
}


def default_collate(batch):
    """PyTorch's default batching: tensors and NumPy arrays are stacked along a new first
    dimension; Python floats become a float64 tensor, ints int64, bools bool; strings stay
    a sequence; dicts, namedtuples and sequences are collated per field (tuples become
    lists); samples of different sizes raise RuntimeError."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
