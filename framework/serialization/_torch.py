"""PyTorch's checkpoint formats, without PyTorch: the zip format both ways, the legacy one read.

Zip: `<name>/data.pkl` (a protocol-2 pickle whose tensors are
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` calls
and whose storages are persistent ids `("storage", torch.FloatStorage, key, location, numel)`),
the raw little-endian bytes of each storage in `<name>/data/<key>`, and `<name>/byteorder`,
`<name>/version`. fw writes the same names with its own pickler, so torch.load reads the file.
Legacy (torch.save(..., _use_new_zipfile_serialization=False)): a chain of pickles (magic
number, protocol version, system info, the object, the storage keys) followed by each
storage as an int64 element count and its bytes.
"""
import io
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np

from .. import dtypes as dt
from ..device import device as Device
from ..tensor import Size, Tensor
from . import _dtypes, _unpickler as U

_TORCH_STORAGE = {d.name: n + "Storage" for d, n in dt.SCALAR_NAMES.items()}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


# -- writing --------------------------------------------------------------------------------------
class _Global:
    """A global written by name (torch._utils._rebuild_tensor_v2), never imported."""
    __slots__ = ("module", "name")
    _cache = {}

    def __new__(cls, module, name):
        key = (module, name)
        if key not in cls._cache:
            g = object.__new__(cls)
            g.module, g.name = module, name
            cls._cache[key] = g
        return cls._cache[key]

    def __call__(self, *args):  # the pickler wants reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is only a name in a pickle")


class _OutStorage:
    """One device buffer written as one storage record (shared by all its views)."""

    def __init__(self, key, tensor, location):
        self.key, self.tensor, self.location, self.numel = key, tensor, location, 0

    def data(self):
        a = self.tensor._alias((self.numel,), (1,), 0)._host()
        return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()


class _Pickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol, storages, cpu_only):
        super().__init__(file, protocol)
        self.storages, self.cpu_only = storages, cpu_only

    def save_name(self, g):
        self.write(pickle.GLOBAL + f"{g.module}\n{g.name}\n".encode("utf-8"))
        self.memoize(g)

    def save_dtype(self, d):
        self.save(_Global("torch", d.name))

    def save_device(self, d):
        self.save_reduce(_Global("torch", "device"), (str(d),), obj=d)

    def save_size(self, s):
        self.save_reduce(_Global("torch", "Size"), (tuple(s),), obj=s)

    dispatch[_Global] = save_name
    dispatch[dt.dtype] = save_dtype
    dispatch[Device] = save_device
    dispatch[Size] = save_size

    def persistent_id(self, obj):
        if type(obj) is _OutStorage:
            return ("storage", _Global("torch", _TORCH_STORAGE[obj.tensor.dtype.name]), obj.key,
                    obj.location, obj.numel)
        return None

    def storage_of(self, t):
        v = t._v
        ident = (id(v.buf), t.dtype.name)
        st = self.storages.get(ident)
        if st is None:
            loc = "cpu" if self.cpu_only else str(t.device)
            st = self.storages[ident] = _OutStorage(str(len(self.storages)), t, loc)
        if t.numel():
            st.numel = max(st.numel, v.offset + sum((s - 1) * d for s, d in zip(v.shape, v.strides)) + 1)
        return st

    def reducer_override(self, obj):
        if not isinstance(obj, Tensor):
            return NotImplemented
        from ..nn.parameter import Parameter
        if isinstance(obj, Parameter):
            return (_Global("torch._utils", "_rebuild_parameter"),
                    (obj.detach(), obj.requires_grad, OrderedDict()))
        return (_Global("torch._utils", "_rebuild_tensor_v2"),
                (self.storage_of(obj), obj.storage_offset(), tuple(obj.shape), tuple(obj.stride()),
                 obj.requires_grad, OrderedDict()))


def _zip_entry(z, name, data):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    z.writestr(info, data, compress_type=zipfile.ZIP_STORED)


def serialize(obj, cpu_only, protocol=2):
    """The bytes of a PyTorch zip checkpoint holding `obj`."""
    storages = {}
    # a first pass learns how far into each buffer its views reach (the storage size the
    # persistent ids must state); the second writes the pickle
    _Pickler(io.BytesIO(), protocol, storages, cpu_only).dump(obj)
    out = io.BytesIO()
    _Pickler(out, protocol, storages, cpu_only).dump(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        _zip_entry(z, "archive/data.pkl", out.getvalue())
        _zip_entry(z, "archive/byteorder", b"little")
        for st in storages.values():
            _zip_entry(z, f"archive/data/{st.key}", st.data())
        _zip_entry(z, "archive/version", b"3\n")
    return buf.getvalue()


# -- reading --------------------------------------------------------------------------------------
def load_zip(data, where, map_location, weights_only):
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        pkls = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    except zipfile.BadZipFile as e:
        raise RuntimeError(f"fw.load: {where} is a damaged zip archive: {e}") from None
    if len(pkls) != 1:
        raise RuntimeError(f"fw.load: {where} is a zip archive but not a PyTorch checkpoint "
                           "(it has no <name>/data.pkl); fw reads safetensors files and "
                           "PyTorch checkpoints")
    prefix = pkls[0][:-len("data.pkl")]
    names = set(z.namelist())

    def entry(name):
        try:
            return z.read(name)
        except (zipfile.BadZipFile, KeyError, EOFError, OSError, ValueError) as e:
            raise RuntimeError(f"fw.load: {where} is damaged: can't read {name}: {e}") from None

    order = entry(prefix + "byteorder").decode("ascii", "replace") if prefix + "byteorder" in names else "little"
    if order not in ("little", "big"):
        raise RuntimeError(f"fw.load: {where} has an unknown byte order {order!r}")

    def read(st):
        raw = entry(f"{prefix}data/{st.key}")
        size = _dtypes.itemsize(st.stype.code)
        if len(raw) < st.numel * size:
            raise RuntimeError(f"fw.load: {where} is damaged: storage '{st.key}' has "
                               f"{len(raw)} bytes, {st.numel * size} expected")
        return memoryview(raw)[:st.numel * size]  # no copy: from_bytes makes the one copy

    loader = U.Loader(where, read, map_location, weights_only, order)
    return _unpickle(io.BytesIO(entry(pkls[0])), loader)


def _unpickle(f, loader):
    try:
        return U.Unpickler(f, loader).load()
    except (EOFError, IndexError, KeyError, ValueError, TypeError, AttributeError, OverflowError,
            struct.error, pickle.UnpicklingError) as e:
        if isinstance(e, pickle.UnpicklingError) and str(e).startswith("fw.load"):
            raise
        raise pickle.UnpicklingError(f"fw.load: {loader.where} is damaged: its pickle can't be "
                                     f"read ({type(e).__name__}: {e})") from None


def is_legacy(data):
    """A legacy checkpoint starts with a pickle of the magic number (any protocol)."""
    if data[:1] != b"\x80":
        return False
    try:
        return U.Unpickler(io.BytesIO(data[:64]), U.Loader("", None, None, True)).load() == LEGACY_MAGIC
    except Exception:  # not a pickle of a number: not a legacy checkpoint
        return False


def load_legacy(data, where, map_location, weights_only):
    f = io.BytesIO(data)
    plain = U.Loader(where, None, None, True)
    magic, version, info = (_unpickle(f, plain) for _ in range(3))
    if magic != LEGACY_MAGIC or version != _LEGACY_PROTOCOL or not isinstance(info, dict):
        raise RuntimeError(f"fw.load: {where} is a legacy PyTorch checkpoint of a version fw "
                           "doesn't read")
    order = "little" if info.get("little_endian", True) else "big"
    start = f.tell()
    # a scan of the object's pickle (nothing runs) learns each storage's element type, which
    # the record layout after the pickle needs
    scan = U.Loader(where, None, None, True)
    scan.scan = {}
    _unpickle(f, scan)
    keys = _unpickle(f, plain)
    if not (isinstance(keys, list) and all(isinstance(k, str) and k in scan.scan for k in keys)):
        raise RuntimeError(f"fw.load: {where} is damaged: bad storage key list")
    records = {}
    for key in keys:
        stype = scan.scan[key][0]
        count = int.from_bytes(f.read(8), order, signed=True)
        size = _dtypes.itemsize(stype.code)
        raw = f.read(count * size) if count >= 0 else b""
        if count < 0 or len(raw) != count * size:
            raise RuntimeError(f"fw.load: {where} is damaged: storage '{key}' is truncated")
        records[key] = raw

    def read(st):
        if st.key not in records:
            raise RuntimeError(f"fw.load: {where} is damaged: storage '{st.key}' is missing")
        return records[st.key]

    f.seek(start)
    return _unpickle(f, U.Loader(where, read, map_location, weights_only, order))
