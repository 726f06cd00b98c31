"""Elementwise ops of the Vulkan backend: unary, binary, where, cast.

One WGSL kernel per (op, dtype): kernels/unary.wgsl or binary.wgsl with the op's expression
filled in, after the helper file of the dtype's kind (num_float / num_int / num_bool).
Every operand is read through its strides (broadcast dims have stride 0), so views need
no copy; a Python scalar operand is a cached one-element constant read with stride 0.
"""
from framework import dtypes as dt
from framework.device import (BINARY_OPS, COMPARISONS, UNARY_OPS, View, broadcast_shapes,
                              broadcast_view, contiguous_strides)

from .layout import pack

_NAN = {"f32": "return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;",
        # naga cannot bitcast f64; an ordered compare is false only for NaN (no fast-math)
        "f64": "return !(x == x);"}

# the largest finite value (isinf_ compares against it)
_MAXF = {"f32": "3.4028234663852886e38", "f64": "1.7976931348623157e308lf"}

_SAME = "floor ceil round trunc asin acos atan sqrt abs sin cos tan sinh cosh exp exp2".split()
UNARY = {
    2: dict({o: f"{o}(x)" for o in _SAME}, asin="asin_(x)", acos="acos_(x)", atan="atan_(x)",
            neg="-x", sign="sign_(x)", log1p="log1p_(x)",
            expm1="expm1_(x)", rsqrt="$T(1) / sqrt(x)", tanh="tanh_(x)", sigmoid="sigmoid_(x)",
            relu="relu_(x)", erf="erf_(x)", reciprocal="$T(1) / x",
            log="log_(x)", log2="log2_(x)",  # fns_f32.wgsl: denormal arguments too
            # lavapipe's sinh(1e-30) is 3e-8 and sinh(-0) is +0: x itself near 0
            sinh="select(sinh(x), x, abs(x) < $T(1e-4))",
            logical_not="select(0u, 1u, x == $T(0))", log10="log_(x) * $T(0.4342944819032518)"),
    1: dict({o: "x" for o in ("floor", "ceil", "round", "trunc")}, neg="-x", abs="abs(x)",
            sign="sign(x)", relu="max(x, $T(0))", logical_not="select(0u, 1u, x == $T(0))",
            bitwise_not="~x"),
    0: dict({o: "x" for o in ("sign", "abs", "relu", "floor", "ceil", "round", "trunc")},
            logical_not="1u - x", bitwise_not="1u - x"),
}
# float64: Vulkan's exp/log/sin/cos builtins take 32-bit floats only; fns_f64.wgsl has them
_SINH64 = ("select($T(0.5) * (exp_(x) - exp_(-x)), $T(0.5) * (expm1_(x) + expm1_(x) / "
           "(expm1_(x) + $T(1))), abs(x) < $T(1))")
UNARY_F64 = dict(UNARY[2], round="round_even_(x)", exp="exp_(x)", log="log_(x)", sin="sin_(x)", cos="cos_(x)",
                 tan="sin_(x) / cos_(x)", sinh=_SINH64,
                 cosh="$T(0.5) * (exp_(x) + exp_(-x))", exp2="exp_(x * $T(0.6931471805599453))",
                 log2="log_(x) * $T(1.4426950408889634)", log10="log_(x) * $T(0.4342944819032518)")
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_COMMON = dict({k: f"select(0u, 1u, a {v} b)" for k, v in _CMP.items()},
               logical_and="select(0u, 1u, !(a == $T(0)) && !(b == $T(0)))",
               logical_or="select(0u, 1u, !(a == $T(0)) || !(b == $T(0)))",
               logical_xor="select(0u, 1u, (a == $T(0)) != (b == $T(0)))")
_ARITH = dict(_COMMON, add="a + b", sub="a - b", mul="a * b", div="a / b",
              floor_divide="floordiv_(a, b)", remainder="remainder_(a, b)", pow="pow_(a, b)",
              maximum="maxv(a, b)", minimum="minv(a, b)")
BINARY = {
    # `!=` must be true for NaN operands: the negation of ordered `==`
    2: dict(_ARITH, atan2="atan2_(a, b)", ne="select(0u, 1u, !(a == b))"),
    1: dict(_ARITH, bitwise_and="a & b", bitwise_or="a | b", bitwise_xor="a ^ b"),
    0: dict(_COMMON, add="a | b", mul="a & b", maximum="a | b", minimum="a & b",
            bitwise_and="a & b", bitwise_or="a | b", bitwise_xor="a ^ b"),
}
# ops whose zero results have the argument's sign (trunc(-0.5) = -0, sin(-0) = -0)
_SIGNED_ZERO = frozenset("sin tan sinh tanh asin atan erf expm1 log1p round trunc floor ceil "
                         "sqrt".split())
_HELPERS = {2: "num_float.wgsl", 1: "num_int.wgsl", 0: "num_bool.wgsl"}
# Vulkan has these only for 32-bit floats and fns_f64.wgsl does not write them out yet:
# float64 refuses them rather than return a driver's garbage.
_NO_F64 = frozenset(("asin", "acos", "atan", "atan2", "erf"))


class ElementwiseOps:
    def _helpers(self, dtype):
        """(helper files, substitutions) for element type `dtype`."""
        t = self.wtype(dtype)
        subs = (("T", t),)
        if dtype.kind == 2:
            return ("fns_" + t + ".wgsl", "num_float.wgsl"), subs + (("ISNAN", _NAN[t]),
                                                                     ("MAXF", _MAXF[t]))
        return (_HELPERS[dtype.kind],), subs

    def _ew_kernel(self, kind, op, dtype):
        memo = self.__dict__.setdefault("_ew_memo", {})
        key = (kind, op, dtype)
        e = memo.get(key)
        if e is None:
            table = (UNARY if kind == "unary" else BINARY)[dtype.kind]
            if dtype is dt.float64 and kind == "unary":
                table = UNARY_F64
            expr = table.get(op)
            if expr is None:
                known = UNARY_OPS if kind == "unary" else BINARY_OPS
                if op not in known:
                    raise ValueError(f"vulkan backend: unknown {kind} op {op!r}")
                raise TypeError(f"vulkan backend: {op} is not defined for {dtype.name} tensors")
            if op in _NO_F64 and dtype is dt.float64:
                raise RuntimeError(f"vulkan backend: {op} of float64 is not supported on "
                                   f"{self.rt.name} (Vulkan has no 64-bit {op}); use float32")
            if dtype.kind == 2 and op in _SIGNED_ZERO:  # drivers may return +0 for -0
                expr = f"select({expr}, zero_as_(x), {expr} == $T(0))"
            odt = dt.bool if (op in COMPARISONS or op == "logical_not") else dtype
            helper, subs = self._helpers(dtype)
            subs += (("O", self.wtype(odt)), ("EXPR", expr))
            k = self.rt.kernel(helper + (kind + ".wgsl",), kind, 2 if kind == "unary" else 3,
                               subs)
            e = memo[key] = (k, odt)
        return e

    def unary(self, op, x):
        k, odt = self._ew_kernel("unary", op, x.dtype)
        out = self.new(x.shape, odt)
        n = out.numel
        if n:
            self.launch(k, (out, x), pack(x.shape, (out.strides, x.strides), (0, x.offset)), n)
        return out

    def binary(self, op, a, b):
        va, vb = type(a) is View, type(b) is View
        if not (va or vb):
            raise TypeError(f"vulkan backend: {op} needs at least one tensor operand")
        dtype = a.dtype if va else b.dtype
        if va and vb and a.dtype is not b.dtype:
            raise TypeError(f"vulkan backend: {op} of {a.dtype.name} and {b.dtype.name}; "
                            "the frontend promotes both operands to one dtype first")
        k, odt = self._ew_kernel("binary", op, dtype)
        if dtype.kind == 1 and op in ("floor_divide", "remainder") and not vb and b == 0:
            raise RuntimeError("ZeroDivisionError")  # a tensor's zeros: the frontend's check
        if not va:
            a = self.const(a, dtype)
        if not vb:
            b = self.const(b, dtype)
        shape = a.shape if a.shape == b.shape else broadcast_shapes(a.shape, b.shape)
        out = self.new(shape, odt)
        n = out.numel
        if n:
            a, b = broadcast_view(a, shape), broadcast_view(b, shape)
            meta = pack(shape, (out.strides, a.strides, b.strides), (0, a.offset, b.offset))
            self.launch(k, (out, a, b), meta, n)
        return out

    def relu_backward(self, grad, out):
        """The fused op (framework/fused/nn_ops.py) as one binary kernel instead of a
        comparison and a where: 0 where out <= 0, else grad (a NaN out passes it)."""
        dtype = grad.dtype
        if out.dtype is not dtype or out.shape != grad.shape or dtype.kind == 0:
            return super().relu_backward(grad, out)
        helper, subs = self._helpers(dtype)
        k = self.rt.kernel(helper + ("binary.wgsl",), "binary", 3,
                           subs + (("O", self.wtype(dtype)),
                                   ("EXPR", "select(a, $T(0), b <= $T(0))")))
        res = self.new(grad.shape, dtype)
        if res.numel:
            meta = pack(grad.shape, (res.strides, grad.strides, out.strides),
                        (0, grad.offset, out.offset))
            self.launch(k, (res, grad, out), meta, res.numel)
        return res

    def where(self, cond, a, b):
        dtype = self._where_dtype(cond, a, b)
        if type(a) is not View:
            a = self.const(a, dtype)
        if type(b) is not View:
            b = self.const(b, dtype)
        shape = broadcast_shapes(cond.shape, a.shape, b.shape)
        out = self.new(shape, dtype)
        n = out.numel
        if n:
            c, a, b = (broadcast_view(v, shape) for v in (cond, a, b))
            k = self.rt.kernel("where.wgsl", "where_", 4, (("T", self.wtype(dtype)),))
            meta = pack(shape, (out.strides, c.strides, a.strides, b.strides),
                        (0, c.offset, a.offset, b.offset))
            self.launch(k, (out, c, a, b), meta, n)
        return out

    def cast(self, x, dtype):
        src, dst = self.wtype(x.dtype), self.wtype(dtype)
        if dtype is dt.int64 and dst == "i32" and x.dtype.kind == 2 and x.numel:
            # int64 held as i32 (no shader-int64): refuse what would not fit
            big = self.binary("ge", self.unary("abs", x), 2.0 ** 31)
            if self.to_numpy(self.reduce("any", big, tuple(range(len(x.shape))), False)):
                raise RuntimeError(f"cast to int64: a value is outside the int32 range that "
                                   f"int64 tensors hold on {self.rt.name} (no shader-int64)")
        if dtype is dt.bool:
            expr = "select(0u, 1u, !(x == $T(0)))"  # NaN is True; an ordered != said False
        elif src == dst:
            expr = "x"
        else:
            expr = "$O(x)"
        out = self.new(x.shape, dtype)
        n = out.numel
        if n:
            k = self.rt.kernel("cast.wgsl", "convert", 2, (("T", src), ("O", dst), ("EXPR", expr)))
            self.launch(k, (out, x), pack(x.shape, (out.strides, x.strides), (0, x.offset)), n)
        return out
