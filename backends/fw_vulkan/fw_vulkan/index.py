"""Data movement by index: gather, scatter(-add), cat (kernels/index*.wgsl, copy.wgsl)."""
from framework import dtypes as dt
from framework.device import View

from .layout import pack


def _as_1d(v):
    return View(v.buf, (1,), (1,), v.offset, v.dtype) if not v.shape else v


class IndexOps:
    def _index_meta(self, index, dim, out, other, zero_out_dim):
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
                    x=(addressed.strides[dim], addressed.shape[dim]))

    def gather(self, x, dim, index):
        x, index = _as_1d(x), _as_1d(index)
        out = self.new(index.shape, x.dtype)
        if out.numel:
            k = self.rt.kernel("index.wgsl", "gather", 3, (("B", self.bits(x.dtype)),
                                                          ("I", self.wtype(index.dtype))))
            self.launch(k, (out, x, index), self._index_meta(index, dim, out, x, False),
                        out.numel)
        return out

    def scatter(self, x, dim, index, src, accumulate):
        shape = x.shape
        x, index = _as_1d(x), _as_1d(index)
        out = self.contiguous(x)
        if index.numel:
            src = _as_1d(src) if type(src) is View else self.const(src, x.dtype)
            meta = self._index_meta(index, dim, out, src, True)
            itype = self.wtype(index.dtype)
            if accumulate:
                k, serial = self._scatter_add_kernel(x.dtype, itype)
            else:
                k, serial = self.rt.kernel("index.wgsl", "scatter", 3,
                                           (("B", self.bits(x.dtype)), ("I", itype))), False
            self.launch(k, (out, src, index), meta, 1 if serial else index.numel,
                        1 if serial else 64)
        return out if shape else View(out.buf, (), (), 0, out.dtype)

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

    def cat(self, views, dim):
        dtype = views[0].dtype
        shape = list(views[0].shape)
        shape[dim] = sum(v.shape[dim] for v in views)
        out = self.new(shape, dtype)
        start = 0
        for v in views:
            if v.numel:
                if v.dtype is not dtype:
                    v = self.cast(v, dtype)
                # each input is a strided copy into its slice of the output
                self._copy(View(out.buf, v.shape, out.strides, start * out.strides[dim], dtype), v)
            start += v.shape[dim]
        return out
