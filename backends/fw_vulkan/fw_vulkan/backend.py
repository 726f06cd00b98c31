"""The Vulkan backend: fw's device interface on any WebGPU adapter (through `wgpu`).

The primitives are split by family into mixins (elementwise.py, reduce.py, index.py,
linalg.py) and so are the fused ops (nn_ops.py, optim_ops.py); this file holds dtypes,
memory, copies and the device description. A View's
`buf` is a runtime.Buffer; strides and offsets count elements as everywhere.

Storage types: float32 f32, int32 i32, bool u32 (0/1: WGSL storage has no bytes),
float64 f64 (needs shader-f64), int64 i64 with shader-int64, else i32 with values
checked at upload, fill and cast (out-of-range values raise instead of wrapping).
"""
import numpy as np

from framework import dtypes as dt
from framework.buffer_backend import BufferBackend, scalar_array, unsupported_dtype
from framework.device import View, contiguous_strides, numel

from . import runtime as rt
from .layout import pack
from .elementwise import ElementwiseOps
from .reduce import ReduceOps
from .index import IndexOps
from .linalg import LinalgOps
from .nn_ops import VKNNOps
from .optim_ops import VKOptimOps

_BITS = {4: "u32", 8: "vec2<u32>"}


class VulkanBackend(ElementwiseOps, ReduceOps, IndexOps, LinalgOps, VKNNOps, VKOptimOps,
                    BufferBackend):
    type = "vulkan"
    is_accelerator = True
    priority = 5  # below opencl: lavapipe (the usual Vulkan without a GPU) is slow
    runtime = rt  # BufferBackend's hooks: default_index, describe, Runtime

    @classmethod
    def _handles(cls):
        return rt.all_adapters()

    @classmethod
    def unavailable_reason(cls):
        return rt.unavailable_reason()

    def __init__(self, index=None):
        super().__init__(index)
        r = self.rt
        # fw dtype name -> (WGSL storage type, NumPy storage dtype)
        self.st = {"float32": ("f32", np.float32), "int32": ("i32", np.int32),
                   "bool": ("u32", np.uint32),
                   "int64": ("i64", np.int64) if r.i64 else ("i32", np.int32),
                   "float64": ("f64", np.float64)}
        self._consts = {}

    # -- helpers for the mixins ------------------------------------------------------
    def wtype(self, dtype):
        """The WGSL storage type of fw dtype `dtype` (raises for float64 without f64)."""
        st = self.st.get(dtype.name)
        if st is None or dtype is dt.float64 and not self.rt.f64:
            raise RuntimeError(self.dtype_unsupported(dtype))
        return st[0]

    def dtype_unsupported(self, dtype):
        if dtype is dt.float64 and not self.rt.f64:
            return (f"float64 is not supported on Vulkan device {self.rt.name}: it lacks the "
                    "shader-f64 feature; use float32")
        if dtype.name not in self.st:
            return unsupported_dtype(dtype, f"Vulkan device {self.rt.name}",
                                     "the shader-f16 feature",
                                     "shader-f16" in self.rt.adapter.features)
        return None

    def isize(self, dtype):
        return np.dtype(self.st[dtype.name][1]).itemsize

    def bits(self, dtype):
        return _BITS[self.isize(dtype)]

    def new(self, shape, dtype):
        """An uninitialised contiguous View."""
        shape = tuple(shape)
        self.wtype(dtype)
        return View(self.rt.alloc(numel(shape) * self.isize(dtype)), shape,
                    contiguous_strides(shape), 0, dtype)

    def storage_array(self, a, dtype):
        """NumPy array `a` as the storage representation of `dtype` (checked)."""
        npd = self.st[dtype.name][1]
        if dtype is dt.int64 and npd is np.int32 and a.size:
            lo, hi = int(a.min()), int(a.max())
            if lo < -2**31 or hi >= 2**31:
                raise RuntimeError(
                    f"int64 value {hi if hi >= 2**31 else lo} is outside the int32 range that "
                    f"int64 tensors hold on {self.rt.name} (no shader-int64 feature)")
        return np.ascontiguousarray(a, dtype=npd)

    def const(self, value, dtype):
        """A 0-dim View of `value` (a Python scalar) as `dtype`: read-only, cached, used as
        a stride-0 operand (scalar operands of binary ops, `full`)."""
        key = (dtype.name, type(value).__name__, repr(value))  # repr: -0.0 and nan
        v = self._consts.get(key)
        if v is None:
            a = self.storage_array(scalar_array(value, dtype), dtype)
            if len(self._consts) > 1024:
                self._consts.clear()
            v = self._consts[key] = View(self.rt.upload(a.reshape(1)), (), (), 0, dtype)
        return v

    def launch(self, kernel, views, meta, n, per=rt.WG):
        """Dispatch `kernel` over the buffers of `views` with Meta bytes, n items."""
        self.rt.dispatch(kernel, [v.buf.mem for v in views], meta, self.rt.groups(n, per))

    # -- memory ----------------------------------------------------------------------
    def from_numpy(self, array):
        a = np.asarray(array)
        dtype = dt.from_numpy_dtype(a.dtype)
        self.wtype(dtype)
        s = self.storage_array(a.astype(dtype.np, copy=False), dtype)
        return View(self.rt.upload(s), a.shape, contiguous_strides(a.shape), 0, dtype)

    def to_numpy(self, v):
        if not v.is_contiguous():
            v = self.contiguous(v)
        size = self.isize(v.dtype)
        raw = self.rt.download(v.buf, v.numel * size, v.offset * size)
        return raw.view(self.st[v.dtype.name][1]).astype(v.dtype.np).reshape(v.shape)

    def full(self, shape, value, dtype):
        out = self.new(shape, dtype)
        if out.numel:
            self._copy(out, self.const(value, dtype))
        return out

    def _copy(self, dst, src):
        n = dst.numel
        if not n:
            return
        if src.shape != dst.shape:
            from framework.device import broadcast_view
            src = broadcast_view(src, dst.shape)
        same = dst.buf.mem is src.buf.mem
        k = self.rt.kernel("copy.wgsl", "copy_same" if same else "copy", 1 if same else 2,
                           (("B", self.bits(dst.dtype)),))
        meta = pack(dst.shape, (dst.strides, src.strides), (dst.offset, src.offset))
        self.launch(k, (dst,) if same else (dst, src), meta, n)

