"""map_location: where a loaded tensor goes, the same rules for every format."""
from ..device import device as Device
from ..tensor import Tensor


def check_map_location(ml):
    if not (ml is None or callable(ml) or isinstance(ml, (str, Device, dict))):
        raise TypeError(f"map_location must be None, a device, a dict or a callable, got "
                        f"{type(ml).__name__}")


def _target(ml, saved):
    if ml is None or callable(ml):  # a callable that returned None: the saved device
        return saved
    if isinstance(ml, (str, Device)):
        return str(ml)
    if saved in ml:
        return str(ml[saved])
    return str(ml.get(Device(saved).type, saved))


def _available(dev):
    from ..plugins import get_backend
    try:
        get_backend(dev)
        return True
    except Exception:
        return False


def place(arr, saved, ml, where):
    """A tensor holding NumPy array `arr` (saved from device `saved`) where `ml` sends it."""
    from ..ops.creation import tensor as make
    if callable(ml):
        t = ml(make(arr), saved)
        if t is not None:
            if not isinstance(t, Tensor):
                raise TypeError(f"map_location callable returned {type(t).__name__}, expected a "
                                "Tensor or None")
            return t
    dev = _target(ml, saved)
    if not _available(dev):
        raise RuntimeError(f"fw.load: {where} holds tensors saved on device '{saved}', which is "
                           f"not available here; pass map_location='cpu' (or another device) to "
                           "load them there")
    return make(arr, device=dev)
