"""`fw.save` / `fw.load`: safetensors files, written atomically, read without running code.

A file holds every tensor of `obj` as a safetensors tensor, and the rest of `obj` (dicts,
lists, tuples, numbers, strings, bools, None, dtypes, devices) as JSON in the header's
metadata under "fw.structure", where each tensor is a reference to its key plus the device
it was saved from. A flat model state dict keeps its own names as tensor keys, so the file
is an ordinary safetensors checkpoint for other tools too. Shared tensors are stored once
per reference (they come back as separate tensors). See docs/saving.md.
"""
import json
import math
import os
import tempfile
from collections import OrderedDict

import numpy as np

from . import dtypes as dt
from .device import device as Device
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT_VERSION = "1"


# -- encoding -------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.arrays = {}

    def key_for(self, path):
        key = ".".join(path) or "tensor"
        base, n = key, 1
        while key in self.arrays:  # paths can collide ("a.b" vs {"a": {"b"}}): keep keys unique
            key, n = f"{base}#{n}", n + 1
        return key

    def tensor(self, t, path):
        from .nn.parameter import Parameter
        key = self.key_for(path)
        a = t.detach()._host()
        # views and strided tensors: their values only (ascontiguousarray would make 0-d 1-d)
        self.arrays[key] = a if a.flags.c_contiguous else a.copy(order="C")
        node = {"__tensor__": key, "device": str(t.device)}
        if t.requires_grad:
            node["requires_grad"] = True
        if isinstance(t, Parameter):
            node["parameter"] = True
        return node

    def encode(self, obj, path):
        if isinstance(obj, Tensor):
            return self.tensor(obj, path)
        if obj is None or isinstance(obj, (bool, str, int)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), path)
        if isinstance(obj, dt.dtype):
            return {"__dtype__": str(obj).split(".")[-1]}
        if isinstance(obj, Device):
            return {"__device__": str(obj)}
        if isinstance(obj, dict):
            items = [[self.encode(k, path + ["<key>"]), self.encode(v, path + [str(k)])]
                     for k, v in obj.items()]
            node = {"__dict__": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        raise TypeError(f"fw.save can't store an object of type {type(obj).__name__} (at "
                        f"'{'.'.join(path) or '<root>'}'): only tensors, dicts, lists, tuples, "
                        "str, int, float, bool, None, dtypes and devices are saved, as data "
                        "(never as code)")


def _serialize(obj):
    enc = _Encoder()
    structure = enc.encode(obj, [])  # a flat state dict's names become its tensor keys
    from safetensors.numpy import save as st_save
    meta = {"format": "fw", "fw.format_version": _FORMAT_VERSION,
            "fw.structure": json.dumps(structure, separators=(",", ":"))}
    return st_save(enc.arrays, metadata=meta)


# -- writing --------------------------------------------------------------------------------------
def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path, data):
    """Write to a temp file beside `path`, fsync it, then rename over `path`: a reader (or a
    crash) sees the old file or the new one, never a partial one."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:  # mkstemp makes 0600 files; give the file the mode a plain open() would
            mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~_umask()
            os.chmod(tmp, mode)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (best effort: not every platform can fsync a dir)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save `obj` (a state dict, or nested dicts/lists/tuples of tensors and plain values)
    to `f`, a path or a writable binary file, in the safetensors format. Writes to a path
    are atomic. The pickle arguments exist for PyTorch compatibility and are ignored: fw
    never pickles."""
    data = _serialize(obj)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, data)
    elif hasattr(f, "write"):
        f.write(data)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"fw.save: f must be a path or a writable binary file, got "
                        f"{type(f).__name__}")


# -- reading --------------------------------------------------------------------------------------
def _describe(f):
    if isinstance(f, (str, os.PathLike)):
        return f"'{os.fspath(f)}'"
    name = getattr(f, "name", None)
    return f"'{name}'" if isinstance(name, str) else f"the {type(f).__name__} given"


def _not_safetensors(data):
    if len(data) > 8 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= len(data) - 8:
        return None  # a safetensors header (its length's first byte may well be 0x80)
    if data[:4] == b"PK\x03\x04":
        return ("it is a zip archive, probably a PyTorch checkpoint written by torch.save; fw "
                "reads only safetensors files and never unpickles (convert it with "
                "safetensors.torch.save_file)")
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "it is a Python pickle; fw reads only safetensors files and never unpickles"
    return None


def _header(data):
    if len(data) < 8:
        raise ValueError(f"the file has only {len(data)} bytes; a safetensors file starts "
                         "with an 8-byte header length")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(f"the header length says {n} bytes but only {len(data) - 8} follow "
                         "(truncated or not a safetensors file)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def _available(dev):
    from .plugins import get_backend
    try:
        get_backend(dev)
        return True
    except Exception:
        return False


class _Corrupt(ValueError):
    """The fw structure record does not match what fw.save writes."""


class _Decoder:
    def __init__(self, arrays, map_location, where):
        self.arrays, self.map_location, self.where = arrays, map_location, where
        self.cache = {}

    def target(self, saved):
        ml = self.map_location
        if ml is None or callable(ml):  # a callable that returned None: the saved device
            return saved
        if isinstance(ml, (str, Device)):
            return str(ml)
        if isinstance(ml, dict):
            if saved in ml:
                return str(ml[saved])
            return str(ml.get(Device(saved).type, saved))
        raise TypeError(f"map_location must be None, a device, a dict or a callable, got "
                        f"{type(ml).__name__}")

    def tensor(self, node):
        from .ops.creation import tensor as make
        from .nn.parameter import Parameter
        key = node["__tensor__"]
        if key not in self.arrays:
            raise _Corrupt(f"the structure refers to tensor '{key}', which the file lacks")
        arr = self.arrays[key]
        saved = node.get("device", "cpu")
        t = None
        if callable(self.map_location):
            t = self.map_location(make(arr), saved)
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"map_location callable returned {type(t).__name__}, expected a "
                                "Tensor or None")
        if t is None:
            dev = self.target(saved)
            if not _available(dev):
                raise RuntimeError(f"fw.load: {self.where} holds tensors saved on device "
                                   f"'{saved}', which is not available here; pass "
                                   f"map_location='cpu' (or another device) to load them there")
            t = make(arr, device=dev)
        if node.get("parameter"):
            t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad"):
            t.requires_grad_(True)
        return t

    def decode(self, node):
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tensor__" in node:
            return self.tensor(node)
        if "__dict__" in node:
            out = OrderedDict() if node.get("ordered") else {}
            for k, v in node["__dict__"]:
                k = self.decode(k)
                out[tuple(k) if isinstance(k, list) else k] = self.decode(v)
            return out
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        if "__dtype__" in node:
            d = getattr(dt, str(node["__dtype__"]), None)
            if not isinstance(d, dt.dtype):
                raise _Corrupt(f"unknown dtype {node['__dtype__']!r}")
            return d
        if "__device__" in node:
            return Device(node["__device__"])
        raise _Corrupt(f"unknown entry in the structure: {sorted(node)}")


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load what `save` wrote. `map_location`: None (each tensor to the device it was saved
    from), a device, a dict {saved device: target}, or a callable (tensor on the CPU, saved
    device string) -> tensor or None. A safetensors file written by other tools loads as a
    dict of tensors. Nothing in a file is ever executed, so `weights_only` changes nothing."""
    where = _describe(f)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    elif hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"fw.load: {where} must be opened in binary mode")
        data = bytes(data)
    else:
        raise TypeError(f"fw.load: f must be a path or a readable binary file, got "
                        f"{type(f).__name__}")
    problem = _not_safetensors(data)
    if problem:
        raise RuntimeError(f"fw.load: {where} is not a safetensors file: {problem}")
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load
    try:
        header = _header(data)
        arrays = st_load(data)
    except (ValueError, SafetensorError) as e:
        raise RuntimeError(f"fw.load: {where} is not a valid safetensors file (truncated or "
                           f"corrupted?): {e}") from None
    meta = header.get("__metadata__") or {}
    dec = _Decoder(arrays, map_location, where)
    if "fw.structure" not in meta:
        # a plain safetensors checkpoint: its tensors by name, in the header's order
        names = [k for k in header if k != "__metadata__"]
        return OrderedDict((k, dec.tensor({"__tensor__": k})) for k in names)
    try:
        structure = json.loads(meta["fw.structure"])
    except json.JSONDecodeError as e:
        raise RuntimeError(f"fw.load: {where} has a corrupted fw structure record: {e}") from None
    try:
        return dec.decode(structure)
    except (_Corrupt, KeyError, AttributeError) as e:
        raise RuntimeError(f"fw.load: {where} has a corrupted fw structure record: {e}") from None

