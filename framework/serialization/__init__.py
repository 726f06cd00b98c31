"""`fw.save` / `fw.load`: safetensors for state dicts, PyTorch's zip format for everything else.

- `_safetensors`: fw's default for tensors in dicts/lists/tuples with plain values.
- `_torch`: PyTorch's `.pt` zip format, written and read without torch (and its legacy format,
  read); used for any other object (a whole model, NumPy arrays, sets, ...).
- `_unpickler`: the `weights_only` allowlist; `add_safe_globals` / `safe_globals` extend it.
- `_files`: atomic writes, file names in errors.
See docs/saving.md.
"""
import pickle

from . import _files, _safetensors, _torch
from ._devices import check_map_location
from ._unpickler import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals"]

_FORMATS = (None, "safetensors", "torch")


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         *, format=None):
    """Save `obj` to `f` (a path, written atomically, or a writable binary file).

    format=None: tensors in dicts/lists/tuples with plain values (a state dict, an optimizer
    state, a training checkpoint) go to a safetensors file; any other object (a whole model,
    NumPy arrays, your own classes) to PyTorch's zip format, pickled, keeping each tensor's
    device. format="safetensors" refuses what safetensors can't hold (TypeError);
    format="torch" always writes PyTorch's zip format; tensors in plain containers are marked
    "cpu", a file `torch.load(f, weights_only=True)` reads, while an object holding fw's own
    classes (a whole model) keeps each tensor's device, as torch.save does. `pickle_module` and
    `_use_new_zipfile_serialization` are accepted for PyTorch compatibility and ignored.
    """
    if format not in _FORMATS:
        raise ValueError(f"fw.save: format must be None, 'safetensors' or 'torch', got {format!r}")
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"fw.save: pickle_protocol must be 2 to {pickle.HIGHEST_PROTOCOL}")
    data = None
    if format != "torch":
        try:
            data = _safetensors.serialize(obj)
        except _safetensors.Unsupported:
            if format == "safetensors":
                raise
    if data is None:
        # format="torch" marks plain data "cpu" so PyTorch loads it anywhere; an object that
        # pickles fw's classes (a whole model: only fw reads it) keeps each tensor's device,
        # so it loads back where it was, as torch.save's do
        cpu_only = format == "torch" and _plain(obj, set())
        data = _torch.serialize(obj, cpu_only=cpu_only, protocol=pickle_protocol)
    _files.write(f, data)


def _plain(obj, seen):
    """Whether `obj` is tensors, NumPy arrays, dtypes, devices and primitives in containers."""
    import numpy as np
    from ..device import device as Device
    from ..dtypes import dtype as DType
    from ..tensor import Tensor
    if isinstance(obj, (Tensor, np.ndarray, np.generic, DType, Device, str, bytes, int, float,
                        complex, type(None))):
        return True
    if not isinstance(obj, (dict, list, tuple, set, frozenset)):
        return False
    if id(obj) in seen:
        return True
    seen.add(id(obj))
    items = [v for kv in obj.items() for v in kv] if isinstance(obj, dict) else obj
    return all(_plain(v, seen) for v in items)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load a file written by `fw.save`, a safetensors file, or a PyTorch checkpoint
    (`torch.save`'s zip or legacy format). `map_location`: None (each tensor to the device it
    was saved from), a device, a dict {saved device: target}, or a callable
    (tensor on the CPU, saved device string) -> tensor or None. `weights_only=True` (the
    default, None means it too) unpickles only tensors, containers, primitives, NumPy
    arrays, dtypes, devices and what `add_safe_globals` allows; `weights_only=False` unpickles
    anything and can run code from the file: use it only for files you trust.
    Tensors of dtypes fw lacks load widened (docs/saving.md)."""
    where = _files.describe(f)
    check_map_location(map_location)
    weights_only = True if weights_only is None else bool(weights_only)
    data = _files.read_bytes(f, where)
    if _safetensors.looks_like(data):
        return _safetensors.load(data, where, map_location)
    if data[:4] == b"PK\x03\x04":
        return _torch.load_zip(data, where, map_location, weights_only)
    if _torch.is_legacy(data):
        return _torch.load_legacy(data, where, map_location, weights_only)
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        what = "a plain Python pickle, not a checkpoint"
    elif len(data) < 8:
        what = f"only {len(data)} bytes long"
    else:
        what = "truncated, damaged or in another format"
    raise RuntimeError(f"fw.load: {where} is neither a safetensors file nor a PyTorch checkpoint "
                       f"(zip or legacy format): it is {what}")
