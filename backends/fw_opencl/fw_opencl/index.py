"""Data movement by index: gather, scatter(-add), pad (cat: framework/buffer_backend.py)."""
import numpy as np

from framework.device import View, contiguous_strides

from .layout import pack
from .runtime import cl

# Moving values moves bits: one program per element size serves every dtype of that size.
_BITS = {1: ("uchar", np.uint8), 4: ("int", np.int32), 8: ("long", np.int64)}


_CHECK_WG = {}  # check_range kernel -> its work-group size


class IndexOps:
    def _index_layout(self, index, dim, out, other, zero_out_dim):
        """Layout over the index's shape: 0 = out, 1 = index, 2 = `other`, with dim's
        stride set to 0 in out (scatter: out is addressed by the index) or in other
        (gather)."""
        def strides(v, zero):
            st = list(v.strides[:len(index.shape)])
            if zero:
                st[dim] = 0
            return tuple(st)
        ost = strides(out, zero_out_dim)
        xst = strides(other, not zero_out_dim) if other is not None else (0,) * len(ost)
        xoff = other.offset if other is not None else 0
        return pack(index.shape, (ost, index.strides, xst), (out.offset, index.offset, xoff))

    # gather / scatter: kernel hooks of framework/buffer_backend.py (0-dim and empty cases)
    def _gather_kernel(self, out, x, dim, index):
        bits, _ = _BITS[x.dtype.itemsize]
        k = self.rt.kernel("index.cl", "gather", (("T", bits), ("I", self.ctype(index.dtype))))
        d = self._index_layout(index, dim, out, x, False)
        self.rt.launch(k, (out.numel,), None, out.buf.mem, x.buf.mem, index.buf.mem, d,
                       np.int32(x.strides[dim]), np.int32(x.shape[dim]))

    def _scatter_kernel(self, out, dim, index, src, accumulate):
        dtype = out.dtype
        is_view = isinstance(src, View)
        itype = self.ctype(index.dtype)
        if accumulate:
            k = self._scatter_add_kernel(dtype, itype)
            value = np.array(0 if is_view else src, dtype.np).reshape(())
            if dtype.np == np.bool_:
                value = value.view(np.uint8)
        else:
            bits, bits_np = _BITS[dtype.itemsize]
            k = self.rt.kernel("index.cl", "scatter", (("T", bits), ("I", itype)))
            value = np.array(0 if is_view else src, dtype.np).reshape(()).view(bits_np)
        d = self._index_layout(index, dim, out, src if is_view else None, True)
        self.rt.launch(k, (index.numel,), None, out.buf.mem,
                       (src if is_view else out).buf.mem, index.buf.mem, d,
                       np.int32(out.strides[dim]), np.int32(out.shape[dim]), value[()],
                       np.int32(not is_view))

    def check_index_range(self, v, size, ignore, make_error):
        """Optional backend hook (used by cross_entropy / nll_loss for class targets): every
        element of integer view `v` must be in [0, size) or equal `ignore`; otherwise
        `make_error(bad value)` is raised, here at the host's next wait on this device
        (`.item()`, `.numpy()`, printing, synchronize), so a training step needs no round
        trip for it. The kernels that use the indices meanwhile never touch memory out of
        bounds (gather reads 0, scatter skips)."""
        if not v.numel:
            return
        k = self.rt.kernel("index.cl", "check_range", (("T", "int"), ("I", self.ctype(v.dtype))))
        wg = _CHECK_WG.get(k)
        if wg is None:  # one work-group, as large as this kernel allows up to 64
            most = k.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE,
                                         self.rt.device)
            wg = _CHECK_WG[k] = 1 << (min(64, most, self.rt.lim.group_size).bit_length() - 1)
        flag = self.rt.alloc(4)
        self.rt.launch(k, (wg,), (wg,), flag.mem, v.buf.mem, pack(v.shape, (v.strides,), (v.offset,)),
                       np.int64(size), np.int64(ignore))
        # v stays alive until the check is read; the error path may wait
        self.rt.defer_check(flag, lambda: make_error(self._first_bad_index(v, size, ignore)))

    def _scatter_add_kernel(self, dtype, itype):
        c = self.ctype(dtype)
        defs = [("T", c), ("I", itype)]
        if dtype.itemsize == 8:
            if "cl_khr_int64_base_atomics" not in self.rt.device.extensions.split():
                raise RuntimeError(f"scatter_add / index_put(accumulate=True) of {dtype.name} "
                                   f"needs 64-bit atomics, which OpenCL device {self.rt.name} "
                                   "lacks (no cl_khr_int64_base_atomics); use float32/int32")
            defs.append(("ATOM64", "1"))
        return self.rt.kernel("index_add.cl", "scatter_add", tuple(defs))

    def pad(self, x, pads, value):
        if not any(lo or hi for lo, hi in pads):
            return self.contiguous(x)
        shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
        out = self.full(shape, value, x.dtype)
        strides = contiguous_strides(shape)
        offset = sum(lo * st for (lo, _), st in zip(pads, strides))
        if x.numel:
            self._copy(View(out.buf, x.shape, strides, offset, x.dtype), x)
        return out
