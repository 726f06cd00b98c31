"""fw: a deep-learning framework with PyTorch's API and pluggable devices.

    import framework as fw
    x = fw.randn(3, 4, requires_grad=True)
    (x @ x.T).sum().backward()
"""
from importlib.metadata import PackageNotFoundError, version as _version

from .dtypes import (dtype, float16, bfloat16, float32, float64, uint8, int8, int16, int32,
                    int64, bool, half, float, double, short, int, long,
                    get_default_dtype, set_default_dtype, promote_types, result_type,
                    is_floating_point, finfo, iinfo)
from .device import device
from .tensor import Tensor, Size
from . import autograd
from .autograd import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                       is_inference_mode_enabled)
from .printing import set_printoptions
from .ops import *  # noqa: F401,F403  (the op namespace: fw.add, fw.cat, ...)
from .ops import __all__ as _ops_all
from .devices import DeviceModule, accelerator
from . import plugins
from . import nn, optim, utils  # fw.nn, fw.optim, fw.utils as in torch
from .serialization import save, load
from . import backends, cuda, onnx  # torch.backends / torch.cuda / torch.onnx shims
from . import layouts, linalg, random  # torch.linalg, torch.random
from .random import get_rng_state, set_rng_state
from .layouts import (memory_format, contiguous_format, preserve_format, channels_last,
                      channels_last_3d)
from .threads import set_num_threads, get_num_threads
from . import compiler  # fw.compile, as torch.compile; fw.compiler as torch.compiler
from .compiler import compile

try:
    __version__ = _version(plugins.OWN_DIST)
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

cpu = DeviceModule("cpu")


def __getattr__(name):
    # fw.<device type> for every installed backend (fw.opencl.is_available(), fw.counting...),
    # also one that failed to load (its is_available() is False), read from the entry points
    if name.startswith("_"):
        raise AttributeError(f"module 'framework' has no attribute '{name}'")
    installed = set(plugins.registry.device_types())
    installed |= {ep.name for ep in plugins.registry.entry_points()
                  if ep.group == plugins.BACKEND_GROUP}
    if name in installed:
        return DeviceModule(name)
    raise AttributeError(f"module 'framework' has no attribute '{name}'")


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.numel()


def clone(input, *, memory_format=None):
    """A copy of input with its own storage; differentiable (Tensor.clone as a function)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"clone(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    layouts.check("clone", memory_format)
    return input.clone(memory_format=memory_format)
