"""`fw.cuda`: what a CPU build of PyTorch answers, so that programs written for CUDA run.

fw has no CUDA backend (its GPU devices are "opencl" and "vulkan"). As in PyTorch built
without CUDA, `is_available()` is False, `device_count()` is 0, seeding and emptying the
cache do nothing, and what needs a device raises AssertionError, as torch's does.
"""

__all__ = ["is_available", "device_count", "is_initialized", "init", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "synchronize", "empty_cache",
           "current_device", "set_device", "get_device_name", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "reset_peak_memory_stats", "is_bf16_supported", "FloatTensor", "DoubleTensor",
           "IntTensor", "LongTensor", "BoolTensor"]


def _no_cuda():
    raise AssertionError("fw has no CUDA backend (torch.cuda's calls answer as a CPU build of "
                         "PyTorch does); use device 'opencl' or 'vulkan' for a GPU")


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def init():
    _no_cuda()


def manual_seed(seed):
    """Nothing to seed without CUDA devices (fw.manual_seed seeds fw's generator)."""


def manual_seed_all(seed):
    """Nothing to seed without CUDA devices."""


def seed():
    """Nothing to seed without CUDA devices."""


def seed_all():
    """Nothing to seed without CUDA devices."""


def empty_cache():
    """No CUDA cache to empty."""


def synchronize(device=None):
    _no_cuda()


def current_device():
    _no_cuda()


def set_device(device):
    _no_cuda()


def get_device_name(device=None):
    _no_cuda()


def is_bf16_supported(including_emulation=True):
    return False


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def max_memory_reserved(device=None):
    return 0


def reset_peak_memory_stats(device=None):
    """No CUDA memory statistics to reset."""


class _CudaTensorType(type):
    """`fw.cuda.FloatTensor` and friends: names programs test against; no tensor is one,
    and making one raises, as in PyTorch built without CUDA."""

    def __instancecheck__(cls, obj):
        return False

    def __call__(cls, *args, **kwargs):
        raise TypeError(f"type fw.cuda.{cls.__name__} not available: fw has no CUDA device")


FloatTensor, DoubleTensor, IntTensor, LongTensor, BoolTensor = (
    _CudaTensorType(n, (), {}) for n in ("FloatTensor", "DoubleTensor", "IntTensor",
                                         "LongTensor", "BoolTensor"))
