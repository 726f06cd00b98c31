"""Reductions, arg-reductions, scans and sorting (kernels/reduce.wgsl, rowops.wgsl).

Each op sees its input as M rows: the kept dims (any strides) index the rows, the reduced
(or scanned / sorted) dims the elements of a row. Output shapes and the empty, 0-dim and
bool cases are framework/buffer_backend.py's; the methods here are its kernel hooks.
"""
from framework import dtypes as dt
from framework.buffer_backend import IDENTITY
from framework.device import contiguous_strides, numel, split_dims

from .layout import pack
from .runtime import CHUNK

RCHUNK = 16 * CHUNK  # elements per work-group of the `rows` reduction (CHUNK / 4 per item)
SORT_BLOCK = 64      # the first pass of sort ranks each element within its block of these

_COMBINE = {"sum": "a + b", "prod": "a * b", "max": "maxv(a, b)", "min": "minv(a, b)",
            "all": "a & b", "any": "a | b"}
# identities for max / min by WGSL type
_INF = {"f32": ("bitcast<f32>(0xff800000u)", "bitcast<f32>(0x7f800000u)"),
        # naga cannot bitcast to f64: an overflowing product is the infinity
        "f64": ("(-1e308lf * f64(m.nd + 10u))", "(1e308lf * f64(m.nd + 10u))"),
        "i32": ("i32(-2147483647 - 1)", "2147483647"),
        "i64": ("(-9223372036854775807li - 1li)", "9223372036854775807li"),
        "u32": ("0u", "1u")}


class ReduceOps:
    # x is non-empty and at least 1-d in every hook.
    def _reduce_kernel(self, op, x, split, shape, out_dtype):
        ks, kst, rs, rst = split
        M, R = numel(ks), numel(rs)
        dtype, off = x.dtype, x.offset
        while True:  # a row longer than a chunk leaves G partials per row for another pass
            rows = R >= 64 or M < 256
            G = -(-R // RCHUNK) if rows else 1
            k = self._reduce_pass(op, dtype, rows)
            out = self.new(shape if G == 1 else (M, G), out_dtype)
            meta = pack(ks, (kst,), (off,), rs, (rst,), (R, G, RCHUNK), n=M * G)
            self.launch(k, (out, x), meta, M * G, 1 if rows else 64)
            if G == 1:
                return out
            # the partials: M rows of G, contiguous; all/any partials are already 0/1
            x, ks, kst, rs, rst, R, off = out, (M,), (G,), (G,), (1,), G, 0
            dtype = dt.bool if op in ("all", "any") else dtype

    def _reduce_pass(self, op, dtype, rows):
        t = self.wtype(dtype)
        if op in ("all", "any"):
            # !(v == 0): an ordered != would call NaN zero
            a, load = "u32", "select(0u, 1u, !(v == $T(0)))"
            ident = "1u" if op == "all" else "0u"
        else:
            a, load = t, "v"
            ident = (_INF[t][0] if op == "max" else _INF[t][1] if op == "min"
                     else f"{t}({IDENTITY[op]})")
        helper, subs = self._helpers(dtype)
        subs += (("A", a), ("LOAD", load), ("COMBINE", _COMBINE[op]), ("IDENT", ident))
        return self.rt.kernel(helper + ("reduce.wgsl",), "rows" if rows else "cols", 2, subs)

    # -- one-dim row ops (rowops.wgsl, scan.wgsl) ----------------------------------------
    def _row_kernel(self, file, entry, dtype, nbuf):
        helper, subs = self._helpers(dtype)
        return self.rt.kernel(helper + (file,), entry, nbuf,
                              subs + (("I", self.wtype(dt.int64)),))

    def _arg_reduce_kernel(self, op, x, dim, out):
        ks, kst, _, _ = split_dims(x, (dim,))
        M, R, xs, off = numel(ks), x.shape[dim], x.strides[dim], x.offset
        k = self._row_kernel("rowops.wgsl", "arg", x.dtype, 4)
        src, idx_in, chained = x, x, 0  # idx_in is a placeholder binding on the first pass
        while True:  # each pass leaves the best of every chunk of CHUNK
            G = -(-R // CHUNK)
            vals, idx = self.new((M, G), x.dtype), out if G == 1 else self.new((M, G), dt.int64)
            meta = pack(ks, (kst,), (off,), x=(R, xs, 0, int(op == "argmax"), G, CHUNK, chained),
                        n=M * G)
            self.launch(k, (vals, src, idx, idx_in), meta, M * G)
            if G == 1:
                return
            src, idx_in, chained = vals, idx, 1
            ks, kst, off, R, xs = (M,), (G,), 0, G, 1

    def _scan_kernel(self, x, dim, out, op):
        if x.dtype is dt.bool:  # NumPy/PyTorch scan bools as integers
            raise TypeError("vulkan backend: scan of bool; the frontend casts to int64 first")
        ks, kst, _, _ = split_dims(x, (dim,))
        okst = tuple(st for i, st in enumerate(out.strides) if i != dim)
        M, R = numel(ks), x.shape[dim]
        G = -(-R // CHUNK)
        tot = self.new((M, G), x.dtype)
        words = (R, x.strides[dim], out.strides[dim], int(op == "prod"), G, CHUNK)
        meta = pack(ks, (kst, okst), (x.offset, out.offset), x=words, n=M * G)
        self.launch(self._row_kernel("scan.wgsl", "scan", x.dtype, 3), (out, x, tot), meta, M * G)
        if G > 1:  # rows of several chunks: scan the chunk totals, then carry them in
            acc = self.new((M, G), x.dtype)
            self._scan_kernel(tot, 1, acc, op)
            self.launch(self._row_kernel("scan.wgsl", "carry", x.dtype, 3), (out, x, acc),
                        pack(ks, (kst, okst), (x.offset, out.offset), x=words, n=M), M * R)

    def _sort_kernel(self, x, dim, vals, idx, descending):
        """Stable (ties by position, which costs nothing): a rank sort within blocks of
        SORT_BLOCK, then merges of neighbouring runs, each pass one dispatch."""
        ks, kst, _, _ = split_dims(x, (dim,))
        M, R = numel(ks), x.shape[dim]
        final = (vals, idx, tuple(st for i, st in enumerate(vals.strides) if i != dim),
                 vals.strides[dim])
        ts = tuple(st * R for st in contiguous_strides(ks))  # temporaries: (M, R) rows
        temps = [(self.new((M * R,), x.dtype), self.new((M * R,), dt.int64), ts, 1)
                 for _ in range(min(2, -(-R // SORT_BLOCK) - 1))]
        flag = int(descending)
        dst = final if R <= SORT_BLOCK else temps[0]
        meta = pack(ks, (kst, dst[2]), (x.offset, 0),
                    x=(R, x.strides[dim], dst[3], flag, SORT_BLOCK), n=M)
        self.launch(self._row_kernel("rowops.wgsl", "sort", x.dtype, 3), (dst[0], x, dst[1]),
                    meta, M * R)
        merge = self._row_kernel("rowops.wgsl", "merge", x.dtype, 4)
        w, cur = SORT_BLOCK, 0
        while w < R:
            src, dst = temps[cur], final if 2 * w >= R else temps[1 - cur]
            meta = pack(ks, (ts, dst[2]), (0, 0), x=(R, 1, dst[3], flag, w), n=M)
            self.launch(merge, (dst[0], src[0], dst[1], src[1]), meta, M * R)
            w, cur = 2 * w, 1 - cur
