"""Reductions, arg-reductions, scans and sorting (kernels/reduce.wgsl, rowops.wgsl).

Each op sees its input as M rows: the kept dims (any strides) index the rows, the reduced
(or scanned / sorted) dims the elements of a row. Output shapes and the empty, 0-dim and
bool cases are framework/buffer_backend.py's; the methods here are its kernel hooks.
"""
from framework import dtypes as dt
from framework.buffer_backend import IDENTITY
from framework.device import contiguous_strides, numel, split_dims

from .layout import pack

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
        t = self.wtype(x.dtype)
        if op in ("all", "any"):
            a, load = "u32", "select(0u, 1u, v != $T(0))"
            ident = "1u" if op == "all" else "0u"
        else:
            a, load = t, "v"
            ident = (_INF[t][0] if op == "max" else _INF[t][1] if op == "min"
                     else f"{t}({IDENTITY[op]})")
        helper, subs = self._helpers(x.dtype)
        subs += (("A", a), ("LOAD", load), ("COMBINE", _COMBINE[op]), ("IDENT", ident))
        rows = R >= 64 or M < 256
        k = self.rt.kernel(helper + ("reduce.wgsl",), "rows" if rows else "cols", 2, subs)
        out = self.new(shape, out_dtype)
        meta = pack(ks, (kst,), (x.offset,), rs, (rst,), (R,), n=M)
        self.launch(k, (out, x), meta, M, 1 if rows else 64)
        return out

    # -- one-dim row ops -----------------------------------------------------------------
    def _rowop(self, entry, x, dim, outs, flag):
        """Dispatch `entry` of rowops.wgsl over the rows of x along `dim`; `outs` = (out
        values view or x, index view or x) laid out like x's shape (contiguous)."""
        ks, kst, _, _ = split_dims(x, (dim,))
        o = outs[0] if outs[0] is not None else outs[1]
        okst = tuple(st for i, st in enumerate(o.strides) if i != dim) if entry != "arg" else \
            contiguous_strides(ks)
        M, R = numel(ks), x.shape[dim]
        ostride = o.strides[dim] if entry != "arg" else 0
        helper, subs = self._helpers(x.dtype)
        subs += (("I", self.wtype(dt.int64)),)
        k = self.rt.kernel(helper + ("rowops.wgsl",), entry, 3, subs)
        meta = pack(ks, (kst, okst), (x.offset, 0), x=(R, x.strides[dim], ostride, flag), n=M)
        vals = outs[0] if outs[0] is not None else x
        idx = outs[1] if outs[1] is not None else x
        self.launch(k, (vals, x, idx), meta, M * R if entry == "sort" else M)

    def _arg_reduce_kernel(self, op, x, dim, out):
        self._rowop("arg", x, dim, (None, out), int(op == "argmax"))

    def _scan_kernel(self, x, dim, out, op):
        if x.dtype is dt.bool:  # NumPy/PyTorch scan bools as integers
            raise TypeError("vulkan backend: scan of bool; the frontend casts to int64 first")
        self._rowop("scan", x, dim, (out, None), int(op == "prod"))

    def _sort_kernel(self, x, dim, vals, idx, descending):
        # Stable: the rank kernel breaks ties by position, which costs nothing.
        self._rowop("sort", x, dim, (vals, idx), int(descending))
