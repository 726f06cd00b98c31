"""Device modules (`fw.opencl`, `fw.cpu`, ...) and `fw.accelerator`, answered by the
registered backends; nothing here knows a backend by name."""
from .plugins import PluginError, registry


def _backend_class(device_type):
    try:
        return registry.backend_class(device_type)
    except (PluginError, RuntimeError):
        return None


class DeviceModule:
    """`fw.<type>`: `is_available()`, `device_count()`, `synchronize()` for one device type."""

    def __init__(self, device_type):
        self.type = device_type

    def is_available(self):
        cls = _backend_class(self.type)
        try:
            return bool(cls is not None and cls.is_available())
        except Exception:  # a backend that cannot even probe its hardware is not available
            return False

    def device_count(self):
        cls = _backend_class(self.type)
        return cls.device_count() if self.is_available() else 0

    def synchronize(self, device=None):
        registry.backend(device or self.type).synchronize()

    def __repr__(self):
        return f"<fw device module '{self.type}'>"


class _Accelerator:
    """`fw.accelerator`: the best available non-CPU device, whatever backend provides it."""

    def _types(self):
        registry.load("fw.backends")
        found = []
        for t, (cls, _) in registry.backends.items():
            if getattr(cls, "is_accelerator", False) and DeviceModule(t).is_available():
                found.append((-getattr(cls, "priority", 0), t))
        return [t for _, t in sorted(found)]

    def is_available(self):
        return bool(self._types())

    def current_accelerator(self, check_available=False):
        types = self._types()
        if not types:
            return None
        return registry.backend(types[0]).device

    def device_count(self):
        types = self._types()
        return DeviceModule(types[0]).device_count() if types else 0

    def synchronize(self, device=None):
        dev = device or self.current_accelerator()
        if dev is not None:
            registry.backend(dev).synchronize()


accelerator = _Accelerator()
