"""`fw.backends`: PyTorch's `torch.backends` switches, answered for fw.

fw runs on its own devices (cpu, opencl, vulkan, plugins), not on cuDNN, MPS or oneDNN, so
these report that those libraries are not there and keep their flags so that programs
that set them (`fw.backends.cudnn.benchmark = True`) run unchanged. The flags change nothing
in fw. (Not to be confused with the backend plugins, which are found through the
`fw.backends` entry-point group.)
"""
from . import cuda, cudnn, mkldnn, mps, openmp  # noqa: F401

__all__ = ["cuda", "cudnn", "mkldnn", "mps", "openmp"]
