"""Batched matmul (kernels/matmul.wgsl): 64 x 64 output tiles, 4 x 4 outputs per invocation
(16 x 16 tiles, one output each, for thin products); operands read through their strides
(transposed, sliced and batch-broadcast views cost nothing). The fused op `matmul_bias`
(used by `linear`) adds the bias in the kernels' write-back."""
from .layout import pack


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
        gx, gy = -(-m // tile), -(-n // tile)
        if gx > lim or gy > lim:
            raise RuntimeError(f"vulkan backend: matmul output {n} x {m} exceeds the dispatch "
                               f"limit of {self.rt.name}")
        mems = [out.buf.mem, a.buf.mem, b.buf.mem, (out if bias is None else bias).buf.mem]
        bx = (0, 0, 0) if bias is None else (bias.offset, bias.strides[0], 1)
        for b0 in range(0, nb, lim):
            meta = pack((), (), (a.offset, b.offset, bx[0]), x=(n, m, k, b0) + bx[1:], n=0)
            meta = _with_strides(meta, (sa, a.strides[-2], a.strides[-1]),
                                 (sb, b.strides[-2], b.strides[-1]))
            self.rt.dispatch(kern, mems, meta, (gx, gy, min(lim, nb - b0)))
        return out


def _with_strides(meta, sa, sb):
    """Meta bytes with slot 0 = sa and slot 1 = sb (raw, unmerged strides)."""
    import numpy as np
    w = np.frombuffer(meta, np.int32).copy()
    w[20:23] = sa
    w[28:31] = sb
    return w.tobytes()
