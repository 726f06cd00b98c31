"""Batched matmul (kernels/matmul.wgsl): 64 x 64 output tiles, 4 x 4 outputs per invocation
(16 x 16 tiles, one output each, for thin products); operands read through their strides
(transposed, sliced and batch-broadcast views cost nothing)."""
from .layout import pack


class LinalgOps:
    def _gemm(self, out, a, b, bias, nb, sa, sb):
        """BufferBackend's hook (shapes, empty products and batch merging are its); `bias`
        is always None: this backend keeps the composed matmul_bias."""
        n, k = a.shape[-2:]
        m = b.shape[-1]
        # One rule: an output side of at most 16 (matrix-vector and other thin products) takes
        # the one-output-per-invocation kernel: its 16-wide tiles give 4x the work-groups per
        # side, and 64-row tiles would leave 3/4 of each invocation's outputs out of range.
        entry, tile = ("matmul16", 16) if min(n, m) <= 16 else ("matmul", 64)
        pad = 1 if self.isize(a.dtype) == 4 else 0  # work-group row padding, see matmul.wgsl
        kern = self.rt.kernel("matmul.wgsl", entry, 3, (("T", self.wtype(a.dtype)), ("P", pad)))
        lim = self.rt.max_groups
        gx, gy = -(-m // tile), -(-n // tile)
        if gx > lim or gy > lim:
            raise RuntimeError(f"vulkan backend: matmul output {n} x {m} exceeds the dispatch "
                               f"limit of {self.rt.name}")
        mems = [out.buf.mem, a.buf.mem, b.buf.mem]
        for b0 in range(0, nb, lim):
            meta = pack((), (), (a.offset, b.offset), x=(n, m, k, b0), n=0)
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
