"""Reductions, arg-reductions, scans and sorting (kernels/reduce.wgsl, rowops.wgsl).

Each op sees its input as M rows: the kept dims (any strides) index the rows, the reduced
(or scanned / sorted) dims the elements of a row.
"""
from framework import dtypes as dt
from framework.device import View, contiguous_strides, numel, split_dims

from .layout import pack

# bool has no arithmetic: NumPy sums bools as ints and casts back, which is "any"
_BOOL_OP = {"sum": "any", "prod": "all", "max": "any", "min": "all"}
_IDENTITY = {"sum": 0, "prod": 1, "all": True, "any": False}
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
    def reduce(self, op, x, dims, keepdim):
        dims = tuple(sorted(set(dims)))
        out_dtype = dt.bool if op in ("all", "any") else x.dtype
        if x.dtype is dt.bool:
            op = _BOOL_OP.get(op, op)
        ks, kst, rs, rst = split_dims(x, dims)
        shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape)) if keepdim else ks
        M, R = numel(ks), numel(rs)
        if M == 0:
            return self.new(shape, out_dtype)
        if R == 0:
            if op in ("max", "min"):
                d = next(d for d in dims if x.shape[d] == 0)
                raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
            return self.full(shape, _IDENTITY[op], out_dtype)
        t = self.wtype(x.dtype)
        if op in ("all", "any"):
            a, load = "u32", "select(0u, 1u, v != $T(0))"
            ident = "1u" if op == "all" else "0u"
        else:
            a, load = t, "v"
            ident = (_INF[t][0] if op == "max" else _INF[t][1] if op == "min"
                     else f"{t}({_IDENTITY[op]})")
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

    @staticmethod
    def _as_1d(x):
        return View(x.buf, (1,), (1,), x.offset, x.dtype) if not x.shape else x

    def arg_reduce(self, op, x, dim, keepdim):
        squeeze = not x.shape
        if squeeze:
            x, dim, keepdim = self._as_1d(x), 0, False
        ks = tuple(s for i, s in enumerate(x.shape) if i != dim)
        shape = () if squeeze else (tuple(1 if i == dim else s for i, s in enumerate(x.shape))
                                    if keepdim else ks)
        out = self.new(shape, dt.int64)
        if numel(ks) == 0:
            return out
        if x.shape[dim] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")
        self._rowop("arg", x, dim, (None, out), int(op == "argmax"))
        return out

    def scan(self, op, x, dim):
        v = self._as_1d(x)
        out = self.new(v.shape, x.dtype)
        if v.numel:
            if x.dtype is dt.bool:  # NumPy/PyTorch scan bools as integers
                raise TypeError("vulkan backend: scan of bool; the frontend casts to int64 first")
            self._rowop("scan", v, dim, (out, None), int(op == "prod"))
        return out if x.shape else View(out.buf, (), (), 0, x.dtype)

    def sort(self, x, dim, descending, stable):
        # Always stable: the rank kernel breaks ties by position, which costs nothing.
        v = self._as_1d(x)
        vals = self.new(v.shape, x.dtype)
        idx = self.new(v.shape, dt.int64)
        if v.numel:
            self._rowop("sort", v, dim, (vals, idx), int(bool(descending)))
        if not x.shape:
            return View(vals.buf, (), (), 0, x.dtype), View(idx.buf, (), (), 0, dt.int64)
        return vals, idx
