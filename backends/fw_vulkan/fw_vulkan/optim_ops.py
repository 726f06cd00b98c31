"""Fused optimizer steps (contract: framework/fused/optim_ops.py): one dispatch per step
(kernels/optim.wgsl) reads the gradient once and updates the parameter and its state in
place. Scalars travel as float32 bits in the Meta block, so only float32 parameters take
the kernel (naga cannot bit-cast to f64); float64 and non-contiguous views take the
composed defaults. Flags and scalars come from framework/buffer_backend.py.
"""
from framework import dtypes as dt

from .nn_ops import _params


class VKOptimOps:
    def _step_ok(self, *views):
        """Scalars travel as float32 bits: float32 only (the hook of BufferBackend)."""
        return all(v is None or (v.is_contiguous() and v.dtype is dt.float32) for v in views)

    def _step(self, entry, views, flags, floats):
        n = views[0].numel
        if not n:
            return
        helper, subs = self._helpers(dt.float32)
        k = self.rt.kernel(helper + ("window.wgsl", "optim.wgsl"), entry, len(views), subs)
        meta = _params(n, (flags,) + tuple(v.offset for v in views), floats)
        self.launch(k, views, meta, n)
