"""Unpickling checkpoints: PyTorch's names mapped to fw, and the `weights_only` allowlist.

The unpickler is Python's own pure-Python one with three hooks replaced: `find_class`
(every global a pickle names passes through it), `persistent_load` (tensor storages, kept
outside the pickle) and BUILD. Under `weights_only=True` find_class returns only objects on
the allowlist (or those the user allowed with `add_safe_globals`), so a pickle can't reach
`os.system`, `eval` or any other callable, and BUILD only completes objects fw made itself.
NumPy arrays and dtypes are rebuilt by fw from their validated state: NumPy's own
`dtype.__setstate__` would accept forged flags (an "object" dtype over raw bytes).
"""
import _compat_pickle
import collections
import math
import pickle

import numpy as np

from .. import dtypes as dt
from ..device import device as Device
from ..tensor import Size, Tensor
from . import _dtypes
from ._devices import place

_user_globals = {}  # "module.name" -> object, from add_safe_globals / safe_globals


def _name_of(obj):
    module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qual, str)):
        raise TypeError(f"add_safe_globals: {obj!r} has no module and name; pass (obj, "
                        "'module.name') instead")
    return f"{module}.{qual}"


def add_safe_globals(safe_globals):
    """Allow these classes/functions in `weights_only=True` loads. Each entry is an object
    or an (object, "module.name") pair for objects saved under another name."""
    for g in safe_globals:
        if isinstance(g, tuple) and len(g) == 2 and isinstance(g[1], str):
            _user_globals[g[1]] = g[0]
        else:
            _user_globals[_name_of(g)] = g


def get_safe_globals():
    return list(_user_globals.values())


def clear_safe_globals():
    _user_globals.clear()


class safe_globals:
    """Context manager: `with safe_globals([MyClass]): fw.load(f)` allows MyClass there only."""

    def __init__(self, safe_globals):
        self.globals = list(safe_globals)

    def __enter__(self):
        self.saved = dict(_user_globals)
        add_safe_globals(self.globals)

    def __exit__(self, *exc):
        _user_globals.clear()
        _user_globals.update(self.saved)


# -- PyTorch's names ------------------------------------------------------------------------------
class StorageType:
    """torch.FloatStorage and friends: the element type of a storage record."""

    def __init__(self, name, code):
        self.name, self.code = name, code

    def __repr__(self):
        return f"torch.{self.name}"


class TorchDtype:
    """A torch dtype fw lacks (torch.float16, ...), as a value in a loaded object."""

    def __init__(self, name, code):
        self.name, self.code = name, code

    def __repr__(self):
        return f"torch.{self.name}"


_STORAGES = {"FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2",
             "BFloat16Storage": _dtypes.BF16, "LongStorage": "i8", "IntStorage": "i4",
             "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?"}
STORAGE_TYPES = {n: StorageType(n, c) for n, c in _STORAGES.items()}
UNTYPED = StorageType("UntypedStorage", "u1")

_TORCH_DTYPES = {d.name: d for d in dt.ALL}
_TORCH_DTYPES.update(float=dt.float32, double=dt.float64, half=dt.float16, long=dt.int64,
                     int=dt.int32, short=dt.int16)
for _n, _c in [("uint16", "u2"), ("uint32", "u4"), ("uint64", "u8")]:
    _TORCH_DTYPES[_n] = TorchDtype(_n, _c)


def _code(d):
    return d.code if isinstance(d, TorchDtype) else _dtypes.code_of(d)


# -- NumPy, rebuilt from validated state (weights_only) -------------------------------------------
class _Pending:
    """Stands for a NumPy object until its BUILD state arrives; then replaced by the real one."""


class _PendingDtype(_Pending):
    def __init__(self, spec):
        self.spec = spec

    def build(self, state):
        if not (isinstance(state, tuple) and len(state) >= 5 and all(s is None for s in state[2:5])):
            raise ValueError("only plain NumPy dtypes (no fields or subarrays) load under "
                             "weights_only=True")
        d = np.dtype(self.spec)
        if state[1] in ("<", ">"):
            d = d.newbyteorder(state[1])
        return d


def _np_dtype(spec, align=False, copy=True):
    if not isinstance(spec, str) or np.dtype(spec).kind not in "biufc":
        raise ValueError(f"NumPy dtype {spec!r} is not allowed under weights_only=True")
    return _PendingDtype(spec)


def _plain_dtype(d):
    if not isinstance(d, np.dtype) or d.kind not in "biufc":
        raise ValueError(f"NumPy dtype {d!r} is not allowed under weights_only=True")
    return d


def _array_from(raw, dtype, shape, order="C"):
    dtype = _plain_dtype(dtype)
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    if not (isinstance(shape, tuple) and all(type(s) is int and s >= 0 for s in shape)):
        raise ValueError(f"bad NumPy array shape {shape!r}")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != math.prod(shape) * dtype.itemsize:
        raise ValueError("NumPy array data does not match its shape and dtype")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy(order="K")


class _PendingArray(_Pending):
    def build(self, state):
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, data)
        if not (isinstance(state, tuple) and len(state) == 4):
            raise ValueError("bad NumPy array state")
        shape, dtype, fortran, raw = state
        return _array_from(raw, dtype, shape, "F" if fortran else "C")


_NDARRAY = object()  # numpy.ndarray, only as _reconstruct's first argument


def _np_reconstruct(subtype, shape, dtype):
    if subtype is not _NDARRAY:
        raise ValueError("only numpy.ndarray loads under weights_only=True")
    return _PendingArray()


def _np_scalar(dtype, raw):
    return _array_from(raw, dtype, ())[()]


def _np_frombuffer(buf, dtype, shape, order):
    return _array_from(bytes(buf), dtype, tuple(shape), order)


def _encode(s, encoding="utf-8"):
    if not isinstance(s, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise ValueError("_codecs.encode is allowed for str in latin1/utf-8 only")
    return s.encode(encoding)


def _fw_rebuild(array, device, requires_grad):
    from ..ops.creation import tensor
    if not isinstance(array, np.ndarray):
        raise ValueError("fw tensor data must be a NumPy array")
    return tensor(array, device=device, requires_grad=requires_grad)


_NUMPY = {}
for _m in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _NUMPY[f"{_m}._reconstruct"] = _np_reconstruct
    _NUMPY[f"{_m}.scalar"] = _np_scalar
for _m in ("numpy.core.numeric", "numpy._core.numeric"):
    _NUMPY[f"{_m}._frombuffer"] = _np_frombuffer
_NUMPY.update({"numpy.ndarray": _NDARRAY, "numpy.dtype": _np_dtype, "_codecs.encode": _encode})

_SAFE = {"collections.OrderedDict": collections.OrderedDict, "builtins.set": set,
         "collections.Counter": collections.Counter,  # MultiStepLR's milestones, as torch allows
         "builtins.frozenset": frozenset, "builtins.bytearray": bytearray,
         "builtins.complex": complex, "framework.device.device": Device,
         "framework.tensor.Size": Size, "framework.ops.creation._rebuild": _fw_rebuild,
         "torch.device": Device, "torch.Size": Size}
_SAFE.update({f"framework.dtypes.{d.name}": d for d in dt.ALL})
_SAFE.update({f"torch.{n}": d for n, d in _TORCH_DTYPES.items()})
_SAFE.update({f"torch.{n}": s for n, s in STORAGE_TYPES.items()})
_SAFE["torch.storage.UntypedStorage"] = UNTYPED


class Anything:
    """Every global in a scan pass (one that only learns the storage types): runs nothing."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return Anything()

    def __setstate__(self, state):
        pass

    def append(self, x):
        pass

    def extend(self, xs):
        pass

    def __setitem__(self, k, v):
        pass


# -- storages and tensors -------------------------------------------------------------------------
class Storage:
    """One storage record: raw bytes, turned into one fw tensor per element type on use."""

    def __init__(self, loader, key, stype, location, numel):
        self.loader, self.key, self.stype, self.location = loader, key, stype, location
        self.numel, self.bases = numel, {}

    def base(self, code):
        """The whole storage as a 1-d fw tensor of element type `code`, widened and placed."""
        if code not in self.bases:
            ld = self.loader
            raw = ld.read(self)
            size = _dtypes.itemsize(code)
            what = f"storage '{self.key}' in {ld.where}"
            try:
                arr = _dtypes.from_bytes(raw, code, len(raw) // size, ld.byteorder)
            except ValueError as e:
                raise RuntimeError(f"fw.load: {what} is damaged: {e}") from None
            arr = _dtypes.widen(arr, what)
            self.bases[code] = place(arr, self.location, ld.map_location, ld.where)
        return self.bases[code]


class Loader:
    """What one load needs: the file's name, how to read a storage record, map_location."""

    def __init__(self, where, read, map_location, weights_only, byteorder="little"):
        self.where, self.read, self.map_location = where, read, map_location
        self.weights_only, self.byteorder = weights_only, byteorder
        self.storages, self.scan = {}, None

    def storage(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and isinstance(pid[2], str)
                and isinstance(pid[3], str) and type(pid[4]) is int and pid[4] >= 0):
            raise pickle.UnpicklingError(f"fw.load: {self.where} has a persistent id fw doesn't "
                                         f"know: {pid!r}")
        _, stype, key, location, numel = pid[:5]
        if self.scan is not None:  # a scan pass: note the record's type, make nothing
            self.scan[key] = (stype, numel)
            return Anything()
        if key not in self.storages:
            self.storages[key] = Storage(self, key, stype, location, numel)
        st = self.storages[key]
        if len(pid) == 6 and pid[5] is not None:  # a legacy view into another storage
            return _LegacyView(st, *pid[5])
        return st

    # torch._utils._rebuild_tensor_v2 and friends
    def tensor(self, storage, offset, size, stride, requires_grad, code=None):
        from ..autograd import no_grad
        if isinstance(storage, Anything):
            return Anything()
        if isinstance(storage, _LegacyView):
            storage, offset = storage.root, offset + storage.offset
        ints = lambda xs: isinstance(xs, (tuple, list)) and all(type(x) is int and x >= 0 for x in xs)
        if not (isinstance(storage, Storage) and type(offset) is int and offset >= 0 and ints(size)
                and ints(stride) and len(size) == len(stride) and type(requires_grad) is bool):
            raise RuntimeError(f"fw.load: {self.where} holds a tensor record fw can't read "
                               f"(storage {storage!r}, offset {offset!r}, size {size!r}, "
                               f"stride {stride!r})")
        base = storage.base(code or storage.stype.code)
        end = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1
        if offset > base.numel() or (math.prod(size) and end > base.numel()):
            raise RuntimeError(f"fw.load: {self.where}: a tensor of size {list(size)}, stride "
                               f"{list(stride)}, offset {offset} reaches past the end of its "
                               f"storage '{storage.key}' ({base.numel()} elements)")
        with no_grad():
            t = base.as_strided(tuple(size), tuple(stride), offset).detach()
        if requires_grad:
            t.requires_grad_(True)
        return t

    def globals(self):
        L = self
        return {
            "torch._utils._rebuild_tensor_v2":
                lambda st, off, size, stride, rg, hooks=None, meta=None: L.tensor(st, off, size, stride, rg),
            "torch._utils._rebuild_tensor_v3":
                lambda st, off, size, stride, rg, hooks, d, meta=None: L.tensor(st, off, size, stride, rg, _code(d)),
            "torch._utils._rebuild_parameter": L.parameter,
            "torch._utils._rebuild_parameter_with_state":
                lambda data, rg, hooks, state: L.parameter(data, rg, hooks),
        }

    def parameter(self, data, requires_grad, hooks=None):
        from ..nn.parameter import Parameter
        if isinstance(data, Anything):
            return data
        if not isinstance(data, Tensor) or type(requires_grad) is not bool:
            raise RuntimeError(f"fw.load: {self.where} holds a parameter record fw can't read")
        return Parameter(data, requires_grad=requires_grad)


class _LegacyView:
    def __init__(self, root, view_key, offset, size):
        self.root, self.offset = root, offset


def refused(where, name):
    return pickle.UnpicklingError(
        f"fw.load: weights_only load of {where} failed: unsupported global: GLOBAL {name} is "
        "not an allowed global. Loading it could run arbitrary code. If you trust the file "
        "and where it came from, load it with weights_only=False; or allow just this global "
        f"with framework.serialization.add_safe_globals([{name.rsplit('.', 1)[-1]}]) or the "
        "framework.serialization.safe_globals([...]) context manager.")


class Unpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, loader):
        super().__init__(file)
        self.loader = loader
        self.torch = loader.globals()

    def find_class(self, module, name):
        if self.proto < 3:  # protocol 2 pickles name builtins by their Python 2 names
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        L = self.loader
        if L.scan is not None:  # scan pass: storage types only
            return _SAFE[full] if isinstance(_SAFE.get(full), StorageType) else Anything
        if full in self.torch:
            return self.torch[full]
        if full in _SAFE:
            return _SAFE[full]
        if module == "torch" and name.endswith("Storage"):
            raise RuntimeError(f"fw.load: {L.where} holds tensors of type torch.{name}, which "
                               "fw can't load (fw has no complex, quantized or float8 dtypes)")
        if full in _user_globals:
            return _user_globals[full]
        if L.weights_only:
            if full in _NUMPY:
                return _NUMPY[full]
            raise refused(L.where, full)
        if module == "torch" or module.startswith("torch."):  # fw never imports torch
            raise pickle.UnpicklingError(
                f"fw.load: {L.where} pickles {full}, a PyTorch object fw has no counterpart "
                "for; a whole PyTorch model can't load in fw: save its state_dict() in PyTorch "
                "and load that into the fw model with load_state_dict")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self.loader.storage(pid)

    def load_build(self):
        inst = self.stack[-2]
        if isinstance(inst, _Pending):
            state = self.stack.pop()
            try:
                real = inst.build(state)
            except (ValueError, TypeError) as e:
                raise pickle.UnpicklingError(f"fw.load: {self.loader.where}: {e}") from None
            self.stack[-1] = real
            for k, v in self.memo.items():  # later references to it get the real object
                if v is inst:
                    self.memo[k] = real
            return
        if self.loader.weights_only and not isinstance(inst, Anything):
            allowed = isinstance(inst, collections.OrderedDict) or type(inst) in _user_globals.values()
            if not allowed:
                raise pickle.UnpicklingError(
                    f"fw.load: weights_only load of {self.loader.where} failed: it sets the state "
                    f"of a {type(inst).__name__}, which only OrderedDict and types allowed with "
                    "add_safe_globals may have")
            if isinstance(inst, collections.OrderedDict) and not (
                    isinstance(self.stack[-1], dict) and all(isinstance(k, str) for k in self.stack[-1])):
                raise pickle.UnpicklingError(f"fw.load: {self.loader.where}: bad OrderedDict state")
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build

    def load_bytearray8(self):
        # pickle's own allocates the stated length before reading: a forged length is a
        # huge allocation. Read first, then check.
        n = int.from_bytes(self.read(8), "little")
        data = self.read(n)
        if len(data) != n:
            raise pickle.UnpicklingError(f"fw.load: {self.loader.where} is truncated")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8
