"""The counting backend. It uses fw's public device interface only: `framework.device`
(Backend, View, device) and the NumPy backend it extends."""
import collections
import functools
import threading

from framework.device import Backend, device
from fw_numpy.backend import NumpyBackend

# Primitives whose first argument names an op: counted both as "unary" and "unary.exp".
_OP_PRIMITIVES = frozenset(("unary", "binary", "reduce", "arg_reduce", "scan"))
# What describes hardware or waits for it is not a primitive.
_NOT_PRIMITIVES = frozenset(("is_available", "device_count", "describe",
                             "default_device_index", "synchronize"))


def _primitive_names():
    """Every public method of the device interface, plus NumPy extras fw may call
    (`wrap_numpy`). Read from the classes so a primitive added to fw is counted too."""
    names = set()
    for cls in (Backend, NumpyBackend):
        names |= {n for n, v in vars(cls).items()
                  if not n.startswith("_") and callable(v) and n not in _NOT_PRIMITIVES}
    return sorted(names)


def _counted(name, method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._count_lock:
            self.counts[name] += 1
            if name in _OP_PRIMITIVES:
                self.counts[f"{name}.{args[0]}"] += 1
        return method(self, *args, **kwargs)
    return wrapper


class CountingBackend(NumpyBackend):
    """NumPy backend that counts each primitive call in `self.counts` (a Counter)."""
    type = "counting"
    is_accelerator = False

    _live = {}  # str(device) -> the instance fw made for it

    def __init__(self, index=None):
        super().__init__(index)
        self.counts = collections.Counter()
        self._count_lock = threading.Lock()
        CountingBackend._live[str(self.device)] = self

    @classmethod
    def describe(cls):
        info = super().describe()[0]
        return [{**info, "name": f"counting ({info['name']})"}]

    def reset(self):
        with self._count_lock:
            self.counts.clear()


for _name in _primitive_names():
    setattr(CountingBackend, _name, _counted(_name, getattr(NumpyBackend, _name)))
del _name


def backend_for(dev="counting"):
    """The CountingBackend instance of device `dev`, or None before fw has used it."""
    return CountingBackend._live.get(str(device(dev)))


def counts(dev="counting"):
    """A copy of the counts of device `dev` (empty before its first use)."""
    be = backend_for(dev)
    return collections.Counter() if be is None else collections.Counter(be.counts)


def reset(dev="counting"):
    be = backend_for(dev)
    if be is not None:
        be.reset()
