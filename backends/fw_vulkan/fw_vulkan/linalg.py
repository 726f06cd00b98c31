"""Batched matmul (kernels/matmul.wgsl): 64 x 64 output tiles, 4 x 4 outputs per invocation
(16 x 16 tiles, one output each, for thin products); operands read through their strides
(transposed, sliced and batch-broadcast views cost nothing). The fused op `matmul_bias`
(used by `linear`) adds the bias in the kernels' write-back."""
import itertools

from .layout import pack

KCHUNK = 16 * 1024  # K per dispatch: 1024 steps of 16, ~23 loop trips each


class LinalgOps:
    def matmul_bias(self, a, b, bias):
        """The fused op (framework/fused/nn_ops.py): no second kernel for the bias."""
        if len(a.shape) != 2 or len(b.shape) != 2 or bias.shape != (b.shape[1],) \
                or not a.dtype is b.dtype is bias.dtype:
            return super().matmul_bias(a, b, bias)
        return self._matmul(a, b, bias)

    def _gemm(self, out, a, b, bias, nb, sa, sb):
        """BufferBackend's hook (shapes, empty products and batch merging are its); `bias`
        (m,) or None."""
        n, k = a.shape[-2:]
        m = b.shape[-1]
        # One rule: an output side of at most 16 (matrix-vector and other thin products) takes
        # the one-output-per-invocation kernel: its 16-wide tiles give 4x the work-groups per
        # side, and 64-row tiles would leave 3/4 of each invocation's outputs out of range.
        entry, tile = ("matmul16", 16) if min(n, m) <= 16 else ("matmul", 64)
        pad = 1 if self.isize(a.dtype) == 4 else 0  # work-group row padding, see matmul.wgsl
        kern = self.rt.kernel("matmul.wgsl", entry, 4, (("T", self.wtype(a.dtype)), ("P", pad)))
        lim = self.rt.max_groups
        span = lim * tile  # output rows (columns) one dispatch covers
        mems = [out.buf.mem, a.buf.mem, b.buf.mem, (out if bias is None else bias).buf.mem]
        bx = (0, 0, 0) if bias is None else (bias.offset, bias.strides[0], 1)
        # Dispatches by batches, row and column blocks of at most `lim` work-groups, and K in
        # slices of KCHUNK added up in out (the K loop stays within LOOP_TRIPS).
        for b0, r0, c0, k0 in itertools.product(range(0, nb, lim), range(0, n, span),
                                                range(0, m, span), range(0, k, KCHUNK)):
            kk = min(KCHUNK, k - k0)
            meta = pack((), (), (a.offset + k0 * a.strides[-1], b.offset + k0 * b.strides[-2],
                                 bx[0], c0),
                        x=(n, m, kk, b0) + (bx[1:] if k0 == 0 else (0, 0)) + (int(k0 > 0), r0),
                        n=0)
            meta = _with_strides(meta, (sa, a.strides[-2], a.strides[-1]),
                                 (sb, b.strides[-2], b.strides[-1]))
            groups = (-(-min(span, m - c0) // tile), -(-min(span, n - r0) // tile),
                      min(lim, nb - b0))
            self.rt.dispatch(kern, mems, meta, groups)
        return out


def _with_strides(meta, sa, sb):
    """Meta bytes with slot 0 = sa and slot 1 = sb (raw, unmerged strides)."""
    import numpy as np
    w = np.frombuffer(meta, np.int32).copy()
    w[20:23] = sa
    w[28:31] = sb
    return w.tobytes()
