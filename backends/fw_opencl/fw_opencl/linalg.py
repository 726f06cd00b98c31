"""Matrix products on OpenCL: batched matmul with a register-blocked SGEMM.

Paths (kernels/gemm.cl):
- direct: one output per work-item, reads A and B through their strides. Small products,
  integer dtypes, and anything too thin to tile.
- on CPUs `gemm_reg` / `gemm_reg_rows`: one work-item per TM x TN block, accumulators in
  vector registers, no local memory or barriers (PoCL runs those slowly), K split into
  cache-sized slices. A is read in place (any strides, when it has TM rows) and so is a
  row-major B whose rows are TN-aligned; otherwise the operand is first copied into
  zero-padded panels (`pack`, which reads any strides and batch-broadcast views).
- on GPUs `gemm_local`: both operands packed, work-group tiles staged in local memory.
The fused op `matmul_bias` (used by `linear`) adds a bias row in the CPU and
direct kernels' write-back.
`FW_OPENCL_GEMM=direct|reg|reg-packed|local` forces a path (tests use it to check all of
them; reg-packed: the CPU kernel with both operands packed).
"""
import os
import struct

# Register block of the CPU kernel by element type: 6 rows x 16 floats = 12 AVX2
# registers of accumulators (6 x 8 for double), the shape of BLIS's Haswell kernel;
# measured with a sweep over 4x8..8x16 on PoCL (6x16 and 4x16 lead, 8x8 is ~25% slower).
_REG = {"float": (6, 16), "double": (6, 8)}
_GROUP_M = 32   # row panels per group: their A slices (6*32*512*4 B = 384 KiB) stay in L2
_KC = 512       # K-slice length of the CPU kernel for long K (2048: +70% against no slicing)
# GPU tiles: 64 x 64 per work-group of 16 x 16 work-items (4 x 4 outputs each), K by 16.
_LOCAL = (("WG_M", 64), ("WG_N", 64), ("KWG", 16), ("WPT_M", 4), ("WPT_N", 4))
_SMALL = 80 ** 3  # below this many multiply-adds per matrix packing costs more than it saves


def _ceil(a, b):
    return -(-a // b) * b


class LinalgOps:
    def matmul_bias(self, a, b, bias):
        """The fused op (framework/fused/nn_ops.py): the bias added in the product's
        write-back instead of by a second kernel."""
        if len(a.shape) != 2 or len(b.shape) != 2 or bias.shape != (b.shape[1],) \
                or not a.dtype is b.dtype is bias.dtype:
            return super().matmul_bias(a, b, bias)
        return self._matmul(a, b, bias)

    def _gemm(self, out, a, b, bias, nb, sa, sb):
        """BufferBackend's hook (shapes, empty products and batch merging are its)."""
        n, k = a.shape[-2:]
        m = b.shape[-1]
        a_sn, a_sk = a.strides[-2:]
        b_sk, b_sm = b.strides[-2:]
        # A shared B and A's rows running on across batches (x @ w in a linear layer):
        # one product with nb * n rows.
        if nb > 1 and sb == 0 and sa == n * a_sn:
            n, nb, sa = n * nb, 1, 0

        ctype = self.ctype(a.dtype)
        # B is read in place by the CPU kernel when each row of a TN-wide panel is one
        # aligned vector: unit column stride, TN-aligned row stride, offset and width.
        tn = _REG.get(ctype, (0, 1))[1]
        b_direct = (b_sm == 1 and m % tn == 0 and b_sk % tn == 0 and b.offset % tn == 0
                    and sb % tn == 0)
        path = os.environ.get("FW_OPENCL_GEMM") or self._gemm_path(ctype, n, m, k, b_direct)
        bargs = ((bias.buf.mem, *_longs(bias.offset, bias.strides[0]), _i32(1)) if bias
                 else (out.buf.mem, *_longs(0, 0), _i32(0)))
        if path == "direct" or ctype not in _REG:
            k_ = self.rt.kernel("gemm.cl", "gemm_direct", self._gemm_defines(ctype))
            self.rt.launch(k_, (m, n, nb), None, out.buf.mem, a.buf.mem, b.buf.mem,
                           *_ints(n, m, k), *_longs(a.offset, sa, a_sn, a_sk,
                                                    b.offset, sb, b_sk, b_sm), *bargs)
            return out

        local = path == "local"
        if local:
            defines = (("T", ctype), ("IS_FLOAT", 1)) + _LOCAL
            wm, wn, kq = 64, 64, 16
        else:
            defines = self._gemm_defines(ctype)
            wm, wn = _REG[ctype]
            kq = 1
        kp = _ceil(k, kq)
        npm, npn = -(-n // wm), -(-m // wn)
        if local:
            pa, a_bs = self._pack(defines, a, a.offset, sa, a_sn, a_sk, nb, n, k, wm, kp)
            pb, b_bs = self._pack(defines, b, b.offset, sb, b_sm, b_sk, nb, m, k, wn, kp)
            kern = self.rt.kernel("gemm.cl", "gemm_local", defines)
            self.rt.launch(kern, (npn * 16, npm * 16, nb), (16, 16, 1), out.buf.mem, pa.mem,
                           pb.mem, *_ints(n, m, kp, 0, kp, 0), *_longs(a_bs, b_bs))
            return out if bias is None else self.binary("add", out, bias)
        # CPU kernel: A read in place when it has TM rows (its loads are scalar
        # broadcasts; adjacent rows, as in a transposed matrix, make one stream, others
        # one stream per row: measured as fast as packing, without its launch), B when
        # aligned (see above); otherwise packed.
        name = "gemm_reg"
        if n >= wm and path != "reg-packed":
            if a_sn == 1:
                abuf, al = a.buf.mem, (a.offset, sa, 0, a_sk)
            else:
                abuf, al, name = a.buf.mem, (a.offset, sa, a_sn, a_sk), "gemm_reg_rows"
        else:
            pa, a_bs = self._pack(defines, a, a.offset, sa, a_sn, a_sk, nb, n, k, wm, kp)
            abuf, al = pa.mem, (0, a_bs, kp * wm, wm)
        if b_direct and path != "reg-packed":
            bbuf, bl = b.buf.mem, (b.offset, sb, wn, b_sk)
        else:
            pb, b_bs = self._pack(defines, b, b.offset, sb, b_sm, b_sk, nb, m, k, wn, kp)
            bbuf, bl = pb.mem, (0, b_bs, kp * wn, wn)
        kern = self.rt.kernel("gemm.cl", name, defines)
        gsize, lsize = (npn * npm, 1, nb), (1, 1, 1)
        # Equal K-slices of at most _KC (whole K when it fits in one slice pair).
        kc = kp if kp <= 2 * _KC else _ceil(-(-kp // -(-kp // _KC)), 16)
        for k0 in range(0, kp, kc):
            self.rt.launch(kern, gsize, lsize, out.buf.mem, abuf, bbuf,
                           *_ints(n, m, kp, k0, min(kc, kp - k0), k0 > 0),
                           *_longs(*al, *bl), *bargs)
        return out

    # -- helpers -------------------------------------------------------------------------
    def _gemm_path(self, ctype, n, m, k, b_direct):
        # Without packing (B aligned) the register kernel pays off sooner.
        small = _SMALL // 4 if b_direct else _SMALL
        if ctype not in _REG or n * m * k < small or min(n, m) < 4:
            return "direct"
        gpu = bool(self.rt.device.type & 4)  # CL_DEVICE_TYPE_GPU
        if gpu and self._local_fits(ctype):
            return "local"
        return "reg"

    def _local_fits(self, ctype):
        """Whether the GPU kernel's 16 x 16 work-groups fit this device and kernel."""
        fits = self.__dict__.get("_gemm_local_fits")
        if fits is None:
            import pyopencl as cl
            kern = self.rt.kernel("gemm.cl", "gemm_local",
                                  (("T", ctype), ("IS_FLOAT", 1)) + _LOCAL)
            fits = kern.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE,
                                            self.rt.device) >= 256
            self._gemm_local_fits = fits
        return fits

    @staticmethod
    def _gemm_defines(ctype):
        d = (("T", ctype), ("IS_FLOAT", int(ctype in ("float", "double"))))
        if ctype in _REG:
            tm, tn = _REG[ctype]
            d += (("TM", tm), ("TN", tn), ("GROUP_M", _GROUP_M))
        return d

    def _pack(self, defines, v, off, s_b, s_r, s_k, nb, rows, k, width, kp):
        """Copy an operand into zero-padded panels of `width` rows, k-major; returns the
        buffer and its batch stride (0 when the operand is shared by all batches)."""
        rp = _ceil(rows, width)
        nbp = nb if s_b else 1
        buf = self.rt.alloc(nbp * rp * kp * v.dtype.itemsize)
        if width > 16:  # GPU panels: one element per work-item, coalesced writes
            kern = self.rt.kernel("gemm.cl", "pack_elem", defines)
            gsize = (width, kp, rp // width * nbp)
        else:  # CPU panels: one (panel, k) row of `width` elements per work-item
            kern = self.rt.kernel("gemm.cl", "pack", defines)
            gsize = (kp, rp // width, nbp)
        self.rt.launch(kern, gsize, None, buf.mem, v.buf.mem,
                       *_longs(off, s_b, s_r, s_k), *_ints(rows, k, width, kp, rp))
        return buf, (rp * kp if s_b else 0)


def _ints(*xs):
    import numpy as np
    return [np.int32(x) for x in xs]


# Scalar kernel arguments as raw bytes: Runtime.launch sets bytes directly (a NumPy
# scalar costs a tobytes() call per argument per launch).
_I32, _I64 = struct.Struct("<i").pack, struct.Struct("<q").pack


def _i32(x):
    return _I32(int(x))


def _ints(*xs):
    return [_I32(int(x)) for x in xs]


def _longs(*xs):
    return [_I64(x) for x in xs]
