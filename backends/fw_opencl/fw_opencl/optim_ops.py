"""Fused optimizer steps (see framework/fused/optim_ops.py): one kernel per step reads
the gradient once and updates the parameter and its state in place (kernels/optim.cl).

Which views take the kernel, its flags and scalars: framework/buffer_backend.py (views
that are not contiguous take the composed default).
"""
import struct

from . import runtime as rt

FILE = "optim.cl"
_INT8 = struct.Struct("<8i").pack
_FLOAT = {"float32": struct.Struct("<f").pack, "float64": struct.Struct("<d").pack}


class CLOptimOps:
    def _optim_kernel(self, name, dtype):
        if not dtype.is_floating_point:
            raise TypeError(f"{name}: parameters must be floating point, got {dtype.name}")
        st = self._ew or self._ew_state()
        key = ("optim", name, dtype)
        k = st.kernels.get(key)
        if k is None:
            defines = (("T", rt.CL_TYPES[dtype.name]),)
            if st.chunked:
                defines += (("CHUNKED", "1"),)
            k = st.kernels[key] = self.rt.kernel(FILE, name, defines)
        return st, k

    def _step(self, entry, views, flags, scalars):
        """BufferBackend's hook: flags and scalars come from its sgd_step_ / adam_step_."""
        dtype, n = views[0].dtype, views[0].numel
        st, k = self._optim_kernel(entry, dtype)  # raises for integer params, even empty
        if not n:
            return
        gs, ls, chunk = st.geometry(n)
        for i, v in enumerate(views):
            k.set_arg(i, v.buf.mem)
        offsets = [v.offset for v in views] + [0] * (5 - len(views))
        k._set_arg_buf(len(views), _INT8(n, chunk, flags, *offsets))
        f = _FLOAT[dtype.name]
        for j, s in enumerate(scalars, len(views) + 1):
            k._set_arg_buf(j, f(s))
        st.rt.submit(k, gs, ls)
