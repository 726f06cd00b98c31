"""fw's default format for state dicts: safetensors, with fw's structure as JSON metadata.

A file holds every tensor of `obj` as a safetensors tensor, and the rest of `obj` (dicts,
lists, tuples, numbers, strings, bools, None, dtypes, devices) as JSON in the header's
metadata under "fw.structure", where each tensor is a reference to its key plus the device
it was saved from. A flat state dict keeps its own names as tensor keys, so the file is an
ordinary safetensors checkpoint for other tools too.
"""
import json
import math
from collections import OrderedDict

from .. import dtypes as dt
from ..device import device as Device
from ..tensor import Tensor
from . import _dtypes
from ._devices import place

FORMAT_VERSION = "1"


class Unsupported(TypeError):
    """An object the safetensors format can't hold (fw.save then pickles it)."""


# -- writing --------------------------------------------------------------------------------------
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
        from ..nn.parameter import Parameter
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
        if obj is None or type(obj) in (bool, str, int):
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, dt.dtype):
            return {"__dtype__": obj.name}
        if type(obj) is Device:
            return {"__device__": str(obj)}
        if type(obj) in (dict, OrderedDict):  # a state dict's _metadata attribute is not kept
            items = [[self.encode(k, path + ["<key>"]), self.encode(v, path + [str(k)])]
                     for k, v in obj.items()]
            node = {"__dict__": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        if type(obj) is tuple:
            return {"__tuple__": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if type(obj) is list:
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        raise Unsupported(f"fw.save can't store an object of type {type(obj).__name__} (at "
                          f"'{'.'.join(path) or '<root>'}') in a safetensors file: only tensors, "
                          "dicts, lists, tuples, str, int, float, bool, None, dtypes and devices "
                          "are stored there")


def serialize(obj):
    """The safetensors bytes for `obj`; Unsupported if it holds anything else."""
    enc = _Encoder()
    structure = enc.encode(obj, [])  # a flat state dict's names become its tensor keys
    from safetensors.numpy import save as st_save
    meta = {"format": "fw", "fw.format_version": FORMAT_VERSION,
            "fw.structure": json.dumps(structure, separators=(",", ":"))}
    return st_save(enc.arrays, metadata=meta)


# -- reading --------------------------------------------------------------------------------------
def looks_like(data):
    # the 8-byte little-endian header length (its first byte may well be 0x80), then "{"
    return len(data) > 8 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= len(data) - 8


_CODES = {"BOOL": "?", "U8": "u1", "I8": "i1", "I16": "i2", "U16": "u2", "F16": "f2",
          "BF16": _dtypes.BF16, "I32": "i4", "U32": "u4", "F32": "f4", "F64": "f8",
          "I64": "i8", "U64": "u8"}


def _header(data):
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("__metadata__ is not a map of strings")
    return header, meta, 8 + n


def _array(data, start, name, info, where):
    if not isinstance(info, dict):
        raise ValueError(f"tensor '{name}': its entry is not a JSON object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise ValueError(f"tensor '{name}': bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]
            and start + offsets[1] <= len(data)):
        raise ValueError(f"tensor '{name}': data offsets {offsets!r} outside the file")
    if dtype not in _CODES:
        raise RuntimeError(f"fw.load: tensor '{name}' in {where} has safetensors dtype "
                           f"{dtype!r}, which fw can't load (it loads {', '.join(_CODES)})")
    code = _CODES[dtype]
    count = math.prod(shape)
    itemsize = _dtypes.itemsize(code)
    if offsets[1] - offsets[0] != count * itemsize:
        raise ValueError(f"tensor '{name}': {offsets[1] - offsets[0]} bytes for {count} "
                         f"{dtype} values")
    arr = _dtypes.from_bytes(data, code, count, offset=start + offsets[0]).reshape(shape)
    return _dtypes.widen(arr, f"tensor '{name}' in {where}")


class Corrupt(ValueError):
    """The fw structure record does not match what fw.save writes."""


class _UserError(Exception):
    """An error from map_location or device placement: passed on to the caller as it is."""


class _Decoder:
    def __init__(self, arrays, map_location, where):
        self.arrays, self.map_location, self.where = arrays, map_location, where

    def tensor(self, node):
        from ..nn.parameter import Parameter
        key = node.get("__tensor__")
        if not isinstance(key, str) or key not in self.arrays:
            raise Corrupt(f"the structure refers to tensor {key!r}, which the file lacks")
        saved = node.get("device", "cpu")
        if not isinstance(saved, str):
            raise Corrupt(f"bad device {saved!r}")
        try:
            t = place(self.arrays[key], saved, self.map_location, self.where)
            if node.get("parameter"):
                return Parameter(t, requires_grad=bool(node.get("requires_grad")))
            if node.get("requires_grad"):
                t.requires_grad_(True)
            return t
        except Exception as e:
            raise _UserError(e) from None

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
                raise Corrupt(f"unknown dtype {node['__dtype__']!r}")
            return d
        if "__device__" in node:
            return Device(node["__device__"])
        raise Corrupt(f"unknown entry in the structure: {sorted(node)}")


def load(data, where, map_location):
    try:
        header, meta, start = _header(data)
        arrays = {k: _array(data, start, k, v, where) for k, v in header.items()}
    except ValueError as e:
        raise RuntimeError(f"fw.load: {where} is not a valid safetensors file (truncated or "
                           f"corrupted?): {e}") from None
    dec = _Decoder(arrays, map_location, where)
    try:
        if "fw.structure" not in meta:
            # a plain safetensors checkpoint: its tensors by name, in the header's order
            return OrderedDict((k, dec.tensor({"__tensor__": k})) for k in header)
        return dec.decode(json.loads(meta["fw.structure"]))
    except _UserError as e:
        raise e.args[0] from None
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError, RecursionError) as e:
        # crafted or damaged metadata: whatever went wrong, say which file and that it is this
        raise RuntimeError(f"fw.load: {where} has a corrupted fw structure record: "
                           f"{type(e).__name__}: {e}") from None
