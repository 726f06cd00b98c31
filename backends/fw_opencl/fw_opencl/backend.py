"""The OpenCL backend: fw's device interface on any OpenCL device.

The primitives are split by family into mixins (elementwise.py, reduce.py, index.py,
linalg.py, nn_ops.py, optim_ops.py); this file holds memory and the device description.
A View's `buf` is a runtime.Buffer; strides and offsets count elements as everywhere.
"""
import numpy as np

from framework import dtypes as dt
from framework.buffer_backend import BufferBackend
from framework.device import View, contiguous_strides, merge_dims

from . import runtime as rt
from .layout import pack
from framework.buffer_backend import unsupported_dtype

from .elementwise import ElementwiseOps
from .reduce import ReduceOps
from .index import IndexOps
from .linalg import LinalgOps
from .nn_ops import CLNNOps
from .optim_ops import CLOptimOps

# The type a copy moves, by element size: copies move bits, so float64 needs no fp64.
_BITS = {1: "uchar", 4: "int", 8: "long"}


class OpenCLBackend(ElementwiseOps, ReduceOps, IndexOps, LinalgOps, CLNNOps, CLOptimOps,
                    BufferBackend):
    type = "opencl"
    is_accelerator = True
    priority = 10
    runtime = rt  # BufferBackend's hooks: default_index, describe, Runtime

    @classmethod
    def _handles(cls):
        return rt.all_devices()

    @classmethod
    def unavailable_reason(cls):
        return rt.unavailable_reason()

    # -- helpers for the mixins ------------------------------------------------------
    def new(self, shape, dtype):
        """An uninitialised contiguous View."""
        shape = tuple(shape)
        n = 1
        for s in shape:
            n *= s
        if n > rt.MAX_INDEX:
            self._too_large(n, dtype)
        self._check_dtype(dtype)
        return View(self.rt.alloc(n * dtype.itemsize), shape, contiguous_strides(shape), 0,
                    dtype)

    def _too_large(self, n, dtype):
        """Refuse a tensor of n > MAX_INDEX elements when made, so that every offset into
        a buffer fits the kernels' 32-bit ints: as out of memory where it is (that error
        says how much there is), else as too many elements."""
        if n * dtype.itemsize > self.rt.lim.buffer_size:
            self.rt.alloc(n * dtype.itemsize)  # raises the out-of-memory error
        raise RuntimeError(f"opencl backend: tensors of {n} elements are too large (32-bit "
                           f"indexing; at most {rt.MAX_INDEX} elements)")

    def _check_dtype(self, dtype):
        """Every tensor made on this device passes here (new, from_numpy): a dtype its
        kernels can't hold is refused by name, never stored as another."""
        why = self.dtype_unsupported(dtype)
        if why:
            raise RuntimeError(why)

    def dtype_unsupported(self, dtype):
        if dtype is dt.float64 and not self.rt.fp64:
            return (f"float64 is not supported on OpenCL device {self.rt.name}: it lacks the "
                    "cl_khr_fp64 extension; use float32")
        if dtype.name not in rt.CL_TYPES:
            return unsupported_dtype(dtype, f"OpenCL device {self.rt.name}",
                                     "the cl_khr_fp16 extension", self.rt.fp16)
        return None

    @staticmethod
    def ctype(dtype):
        return rt.CL_TYPES[dtype.name]

    # -- memory ----------------------------------------------------------------------
    def from_numpy(self, array):
        a = np.array(array, order="C", copy=True)
        dtype = dt.from_numpy_dtype(a.dtype)
        if a.size > rt.MAX_INDEX:
            self._too_large(a.size, dtype)
        self._check_dtype(dtype)
        return View(self.rt.upload(a), a.shape, contiguous_strides(a.shape), 0, dtype)

    def to_numpy(self, v):
        if not v.is_contiguous():
            v = self.contiguous(v)
        size = v.dtype.itemsize
        raw = self.rt.download(v.buf, v.numel * size, v.offset * size)
        return raw.view(v.dtype.np).reshape(v.shape)

    def full(self, shape, value, dtype):
        out = self.new(shape, dtype)
        nbytes = out.numel * dtype.itemsize
        if nbytes:
            pattern = np.array(value, dtype.np).reshape(1)
            rt.cl.enqueue_fill_buffer(self.rt.queue, out.buf.mem, pattern, 0, nbytes)
        return out

    def _copy(self, dst, src):
        n = dst.numel
        if not n:
            return
        key = (dst.shape, dst.strides, src.strides, dst.offset, src.offset)
        plan = _copy_plans.get(key)
        if plan is None:
            shape, _ = merge_dims(dst.shape, (dst.strides, src.strides))
            inner = shape[-1] if shape else 1
            # An explicit work-group size: PoCL's own choice for None is several times slower.
            plan = (pack(dst.shape, (dst.strides, src.strides), (dst.offset, src.offset)),
                    (-(-inner // 64) * 64, n // inner))
            if len(_copy_plans) > 4096:
                _copy_plans.clear()
            _copy_plans[key] = plan
        k = self.rt.kernel("copy.cl", "copy_strided", (("T", _BITS[dst.dtype.itemsize]),))
        self.rt.launch(k, plan[1], (64, 1), dst.buf.mem, src.buf.mem, plan[0])


_copy_plans = {}  # (shape, strides, offsets) -> (packed layout, global size)

