"""The optional fused ops of the device interface, with composed defaults.

`Backend` inherits these mixins, so every backend has them. A default is written with
the primitives of `framework.device` only; a backend overrides the ones it can do faster
(the NumPy backend with NumPy, the OpenCL backend with kernels). All take and return
`View`s; results are new contiguous Views unless the name ends in `_` (in place).
"""
from .nn_ops import NNOps
from .optim_ops import OptimOps

__all__ = ["NNOps", "OptimOps"]
