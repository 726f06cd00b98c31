"""Data movement by index: gather, scatter(-add) (kernels/index*.wgsl); cat is
framework/buffer_backend.py's."""
from framework.device import View

from .layout import pack

SERIAL = 1024  # elements per dispatch of the serial scatter-add (~20 loop trips each)


class IndexOps:
    def _index_meta(self, index, dim, out, other, zero_out_dim, span=()):
        """Layout over the index's shape: slot 0 = out, 1 = index, 2 = `other`, with dim's
        stride 0 in the operand the index addresses (out for scatter, other for gather)."""
        nd = len(index.shape)

        def strides(v, zero):
            st = list(v.strides[:nd]) + [0] * (nd - len(v.strides))  # 0-dim: a constant
            if zero:
                st[dim] = 0
            return tuple(st)
        addressed = out if zero_out_dim else other
        return pack(index.shape, (strides(out, zero_out_dim), index.strides,
                                  strides(other, not zero_out_dim)),
                    (out.offset, index.offset, other.offset),
                    x=(addressed.strides[dim], addressed.shape[dim]) + span)

    # gather / scatter: kernel hooks of framework/buffer_backend.py (0-dim and empty cases)
    def _gather_kernel(self, out, x, dim, index):
        k = self.rt.kernel("index.wgsl", "gather", 3, (("B", self.bits(x.dtype)),
                                                      ("I", self.wtype(index.dtype))))
        self.launch(k, (out, x, index), self._index_meta(index, dim, out, x, False), out.numel)

    def _scatter_kernel(self, out, dim, index, src, accumulate):
        if type(src) is not View:
            src = self.const(src, out.dtype)
        meta = self._index_meta(index, dim, out, src, True)
        itype = self.wtype(index.dtype)
        if accumulate:
            k, serial = self._scatter_add_kernel(out.dtype, itype)
        else:
            k, serial = self.rt.kernel("index.wgsl", "scatter", 3,
                                       (("B", self.bits(out.dtype)), ("I", itype))), False
        if not serial:
            self.launch(k, (out, src, index), meta, index.numel)
            return
        n = index.numel
        for i in range(0, n, SERIAL):  # ranges in order: each dispatch's loop stays bounded
            meta = self._index_meta(index, dim, out, src, True, (i, min(n, i + SERIAL)))
            self.launch(k, (out, src, index), meta, 1, 1)

    def _scatter_add_kernel(self, dtype, itype):
        """(kernel, serial) of scatter-add for `dtype` with index type `itype`."""
        t = self.wtype(dtype)
        files = ("index_add.wgsl",)
        if t == "f32":
            if self.rt.f32_atomic:
                at, add = "atomic<f32>", "atomicAdd(&out[p], v)"
            else:  # compare-exchange on the bits
                at, add, files = "atomic<u32>", "add_cas(p, v)", files + ("index_add_cas.wgsl",)
        elif t == "i32":
            at, add = "atomic<i32>", "atomicAdd(&out[p], v)"
        elif t == "u32":
            at, add = "atomic<u32>", "atomicOr(&out[p], v)"
        else:  # 64-bit types: no portable atomics; one ordered pass
            return self.rt.kernel("index_add_serial.wgsl", "scatter_add_serial", 3,
                                  (("T", t), ("I", itype))), True
        subs = (("AT", at), ("T", t), ("I", itype), ("ADD", add))
        return self.rt.kernel(files, "scatter_add", 3, subs), False

    def check_index_range(self, v, size, ignore, make_error):
        """Optional backend hook (class targets of cross_entropy / nll_loss): every element
        of integer view `v` is in [0, size) or equals `ignore`, else `make_error(bad value)`
        raises at the host's next wait on this device (Runtime.defer_check), so a training
        step needs no round trip for it; the kernels using the indices meanwhile never
        read out of bounds."""
        if not v.numel:
            return
        if not (0 <= size < 2**31 and -2**31 <= ignore < 2**31):  # beyond the kernel's i32s
            bad = self._first_bad_index(v, size, ignore)
            if bad is not None:
                raise make_error(bad)
            return
        # v stays alive until the check is read
        slot = self.rt.defer_check(lambda: make_error(self._first_bad_index(v, size, ignore)))
        k = self.rt.kernel("check.wgsl", "check_range", 2, (("I", self.wtype(v.dtype)),))
        self.rt.dispatch(k, [self.rt.checks_buf, v.buf.mem],
                         pack(v.shape, (v.strides,), (v.offset,), x=(slot, size, ignore)),
                         self.rt.groups(v.numel))
