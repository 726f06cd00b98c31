"""Device modules (`fw.opencl`, `fw.cpu`, ...) and `fw.accelerator`, answered by the
registered backends; nothing here knows a backend by name."""
from . import plugins
from .device import device


def _backend_class(device_type):
    try:
        return plugins.registry.backend_class(device_type)
    except RuntimeError:  # not registered, or its plugin failed: PluginError is a RuntimeError
        return None


class DeviceModule:
    """`fw.<type>`: `is_available()`, `device_count()`, `synchronize()`, `empty_cache()` for
    one device type, as `torch.cuda` is for CUDA. A type no plugin provides is simply not
    available."""

    def __init__(self, device_type):
        self.type = device_type

    def is_available(self):
        cls = _backend_class(self.type)
        try:
            return bool(cls is not None and cls.is_available())
        except Exception:  # a backend that cannot even probe its hardware is not available
            return False

    def device_count(self):
        if not self.is_available():
            return 0
        return _backend_class(self.type).device_count()

    def get_device_name(self, device=None):
        """The `name` the backend describes device `device` (an index, default 0) with."""
        index = 0 if device is None else device if isinstance(device, int) else _index(device)
        infos = _backend_class(self.type).describe() if self.is_available() else []
        if not 0 <= index < len(infos):
            raise RuntimeError(f"no '{self.type}' device with index {index} "
                               f"({len(infos)} available)")
        return infos[index].get("name", self.type)

    def synchronize(self, device=None):
        plugins.registry.backend(device or self.type).synchronize()

    def empty_cache(self, device=None):
        """Release the memory the backend's pool keeps for reuse (torch.cuda.empty_cache)."""
        plugins.registry.backend(device or self.type).empty_cache()

    def __repr__(self):
        return f"<fw device module '{self.type}'>"


def _index(dev):
    return device(dev).index or 0


class _Accelerator:
    """`fw.accelerator`: the best available non-CPU device type, whatever backend provides it.
    A backend class says it is one with `is_accelerator = True`; among several, the highest
    `priority` (default 0) wins, then the device type's name."""

    def _types(self):
        found = []
        for t in plugins.registry.device_types():
            cls = plugins.registry.backends[t][0]
            if getattr(cls, "is_accelerator", False) and DeviceModule(t).is_available():
                found.append((-getattr(cls, "priority", 0), t))
        return [t for _, t in sorted(found)]

    def is_available(self):
        return bool(self._types())

    def current_accelerator(self, check_available=False):
        """`fw.device(type)` of the accelerator, or None when there is none. (Accelerators
        found here are always available, so `check_available` changes nothing.)"""
        types = self._types()
        return device(types[0]) if types else None

    def device_count(self):
        types = self._types()
        return DeviceModule(types[0]).device_count() if types else 0

    def synchronize(self, device=None):
        dev = device or self.current_accelerator()
        if dev is not None:
            plugins.registry.backend(dev).synchronize()

    def __repr__(self):
        return "<fw.accelerator>"


accelerator = _Accelerator()
