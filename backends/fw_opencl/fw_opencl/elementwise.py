"""Elementwise ops of the OpenCL backend: unary, binary, where, cast.

Every kernel is in kernels/elementwise.cl, built once per element type (one program holds
all ops of that type). Inputs are read in place: contiguous operands of the output's
shape take a kernel without index math; anything else (strided, broadcast, offset views)
goes through a `layout` passed by value. A Python scalar operand is a kernel argument.

The per-call Python path is kept short, since a small op costs little more than its
launch: kernels, launch geometry and packed arguments are memoised, and arguments are set
with PyOpenCL's raw-bytes setter (its generic `set_arg` of a non-buffer costs ~10 us).
"""
import struct

import numpy as np

from framework import dtypes as dt
from framework.buffer_backend import scalar_array
from framework.device import (BINARY_OPS, COMPARISONS, UNARY_OPS, View, broadcast_shapes,
                              broadcast_view, contiguous_strides)

from . import runtime as rt
from .layout import pack

FILE = "elementwise.cl"
# Per element type: kind (0 bool, 1 int, 2 float) and the unsigned type integer
# arithmetic wraps in.
_KIND = {"float": 2, "double": 2, "int": 1, "long": 1, "uchar": 0}
_UNSIGNED = {"float": "uint", "double": "ulong", "int": "uint", "long": "ulong",
             "uchar": "uchar"}
_FLOAT_ONLY_UNARY = frozenset(("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos",
                               "tan", "tanh", "sigmoid", "erf", "reciprocal", "asin", "acos",
                               "atan", "sinh", "cosh", "log2", "log10", "exp2"))
# Ops each kind of element type has kernels for (see the #if blocks of elementwise.cl).
_UNARY_BY_KIND = {
    2: frozenset(UNARY_OPS) - {"bitwise_not"},
    1: frozenset(UNARY_OPS) - _FLOAT_ONLY_UNARY,
    0: frozenset(("logical_not", "sign", "abs", "relu", "floor", "ceil", "round", "trunc",
                  "bitwise_not")),
}
_BINARY_BY_KIND = {
    2: frozenset(BINARY_OPS) - {"bitwise_and", "bitwise_or", "bitwise_xor"},
    1: frozenset(BINARY_OPS) - {"atan2"},
    0: COMPARISONS | {"add", "mul", "maximum", "minimum", "bitwise_and", "bitwise_or",
                      "bitwise_xor"},
}
# Scalars travel as raw bytes in the kernel's element type.
_PACK = {"float32": struct.Struct("<f").pack, "float64": struct.Struct("<d").pack,
         "int32": struct.Struct("<i").pack, "int64": struct.Struct("<q").pack,
         "bool": struct.Struct("<B").pack}
_INT4 = struct.Struct("<4i").pack
_INT1 = struct.Struct("<i").pack
_MIN_CHUNK = 8192     # CPU devices: fewest elements worth a work-item of their own
_MEMO_MAX = 4096

def _launch(st, kernel, gsize, lsize, mems, raw):
    """Set buffer arguments `mems` (from index 0) and raw-bytes arguments `raw` after
    them, then enqueue without waiting (counted for batched submission, see runtime)."""
    i = 0
    for m in mems:
        kernel.set_arg(i, m)
        i += 1
    for r in raw:
        kernel._set_arg_buf(i, r)
        i += 1
    st.rt.submit(kernel, gsize, lsize)


class _State:
    """What an OpenCL backend instance memoises for elementwise work."""

    def __init__(self, backend):
        r = backend.rt
        self.rt, self.queue = r, r.queue
        dev = r.device
        # CPU devices: a few long contiguous chunks (one work-item each) beat many short
        # work-items; GPUs: a grid of work-groups striding over the elements.
        self.chunked = bool(dev.type & rt.cl.device_type.CPU)
        cus = max(1, dev.max_compute_units)
        self.parts = 32 * cus
        self.wg = min(256, r.lim.group_size)
        self.max_groups = cus * 64
        self.alloc = r.pool.alloc
        self.unary = {}      # (op, dtype) -> kernels and facts, see _ew_unary_entry
        self.binary = {}     # (op, dtype) -> kernels and facts, see _ew_binary_entry
        self.kernels = {}    # (kind of kernel, [op,] dtype) -> cl.Kernel(s) of where, cast
        self.geom = {}       # n -> (global size, local size, chunk)
        self.args = {}       # (n, off_a, off_b) -> (global, local, packed int4)
        self.shapes = {}     # shape -> (numel, contiguous strides)
        # Launch plans of repeated unary and binary ops: key (op, dtype, shape, strides,
        # offset of each tensor operand, and for a scalar operand its side; the keys of the
        # three kinds differ in length) -> (kernel, output shape, strides, dtype, bytes,
        # global and local size, packed index argument, chunk argument or None)
        self.plans = {}

    def plan(self, key, plan):
        if len(self.plans) > _MEMO_MAX:
            self.plans.clear()
        self.plans[key] = plan

    def defines(self, dtype):
        ct = rt.CL_TYPES[dtype.name]
        d = (("T", ct), ("KIND", str(_KIND[ct])), ("UT", _UNSIGNED[ct]))
        return d + (("CHUNKED", "1"),) if self.chunked else d

    def kernel(self, name, dtype):
        return self.rt.kernel(FILE, name, self.defines(dtype))

    def geometry(self, n):
        g = self.geom.get(n)
        if g is None:
            if n >= 2**31:
                raise RuntimeError(f"opencl backend: tensors of {n} elements are too large "
                                   "(32-bit indexing; at most 2**31 - 1 elements)")
            if self.chunked:
                chunk = max(_MIN_CHUNK, -(-n // self.parts))
                chunk = -(-chunk // 16) * 16  # whole cache lines per chunk
                g = ((-(-n // chunk),), (1,), chunk)
            else:
                groups = min(-(-n // self.wg), self.max_groups)
                g = ((groups * self.wg,), (self.wg,), 0)
            if len(self.geom) > _MEMO_MAX:
                self.geom.clear()
            self.geom[n] = g
        return g

    def contiguous_args(self, n, oa, ob):
        """(global size, local size, int4 bytes of n, chunk, oa, ob)."""
        key = (n, oa, ob)
        r = self.args.get(key)
        if r is None:
            gs, ls, chunk = self.geometry(n)
            r = (gs, ls, _INT4(n, chunk, oa, ob))
            if len(self.args) > _MEMO_MAX:
                self.args.clear()
            self.args[key] = r
        return r

    def shape(self, shape):
        s = self.shapes.get(shape)
        if s is None:
            n = 1
            for d in shape:
                n *= d
            s = (n, contiguous_strides(shape))
            if len(self.shapes) > _MEMO_MAX:
                self.shapes.clear()
            self.shapes[shape] = s
        return s


def _scalar_bytes(x, dtype):
    """`x` as raw bytes of `dtype`, with PyTorch's overflow rules."""
    try:
        return _PACK[dtype.name](x)
    except (struct.error, OverflowError, TypeError):  # out of range or another type
        return _PACK[dtype.name](scalar_array(x, dtype).item())


class ElementwiseOps:
    _ew = None

    def _ew_state(self):
        st = self._ew
        if st is None:
            st = self._ew = _State(self)
        return st

    def _ew_out(self, st, shape, dtype):
        n, strides = st.shape(shape)
        if dtype is dt.float64 and not self.rt.fp64 or dtype.name not in rt.CL_TYPES:
            self._check_dtype(dtype)
        return View(self.rt.alloc(n * dtype.itemsize), shape, strides, 0, dtype), n, strides

    # -- kernels, made on first use ------------------------------------------------------
    def _ew_unary_entry(self, st, op, dtype):
        """(contiguous kernel, strided kernel, output dtype) of unary `op` on `dtype`."""
        kind = _KIND[rt.CL_TYPES[dtype.name]]
        if op not in _UNARY_BY_KIND[kind]:
            if op not in UNARY_OPS:
                raise ValueError(f"opencl backend: unknown unary op {op!r}")
            raise TypeError(f"opencl backend: {op} is not defined for {dtype.name} tensors")
        e = st.unary[(op, dtype)] = (st.kernel("u_" + op, dtype), st.kernel("us_" + op, dtype),
                                     dt.bool if op == "logical_not" else dtype)
        return e

    def _ew_binary_entry(self, st, op, dtype):
        """The six kernels of binary `op` on `dtype` (contiguous: tensor-tensor,
        tensor-scalar, scalar-tensor; then the same strided), the output dtype and
        whether a scalar divisor must be checked for zero (integer division)."""
        kind = _KIND[rt.CL_TYPES[dtype.name]]
        if op not in _BINARY_BY_KIND[kind]:
            if op not in BINARY_OPS:
                raise ValueError(f"opencl backend: unknown binary op {op!r}")
            raise TypeError(f"opencl backend: {op} is not defined for {dtype.name} tensors")
        names = ("b_%s", "b_%s_vs", "b_%s_sv", "bs_%s", "bs_%s_vs", "bs_%s_sv")
        e = st.binary[(op, dtype)] = tuple(st.kernel(nm % op, dtype) for nm in names) + (
            dt.bool if op in COMPARISONS else dtype,
            kind == 1 and op in ("floor_divide", "remainder"))
        return e

    # -- unary -----------------------------------------------------------------------------
    def unary(self, op, x):
        st = self._ew or self._ew_state()
        plan = st.plans.get((op, x.dtype, x.shape, x.strides, x.offset))
        if plan is not None:  # a repeat: see binary
            k, shape, strides, odt, nbytes, gs, ls, raw, chunk = plan
            buf = st.alloc(nbytes)
            k.set_arg(0, buf.mem)
            k.set_arg(1, x.buf.mem)
            k._set_arg_buf(2, raw)
            if chunk is not None:
                k._set_arg_buf(3, chunk)
            st.rt.submit(k, gs, ls)
            return View(buf, shape, strides, 0, odt)
        e = st.unary.get((op, x.dtype)) or self._ew_unary_entry(st, op, x.dtype)
        shape = x.shape
        n, strides = st.shapes.get(shape) or st.shape(shape)
        odt = e[2]
        buf = st.alloc(n * odt.itemsize)
        out = View(buf, shape, strides, 0, odt)
        if n:
            if x.strides == strides or x.is_contiguous():
                gs, ls, p = st.args.get((n, x.offset, 0)) or st.contiguous_args(n, x.offset, 0)
                plan = (e[0], shape, strides, odt, n * odt.itemsize, gs, ls, p, None)
                raw = (p,)
            else:
                gs, ls, chunk = st.geometry(n)
                d = pack(shape, (strides, x.strides), (0, x.offset))
                chunk = _INT1(chunk)
                plan = (e[1], shape, strides, odt, n * odt.itemsize, gs, ls, d, chunk)
                raw = (d, chunk)
            st.plan((op, x.dtype, shape, x.strides, x.offset), plan)
            _launch(st, plan[0], gs, ls, (buf.mem, x.buf.mem), raw)
        return out

    # -- binary ----------------------------------------------------------------------------
    def binary(self, op, a, b):
        st = self._ew or self._ew_state()
        if type(b) is View and type(a) is View:
            # A repeat of a tensor-tensor op seen before (same op, dtypes, shapes, strides,
            # offsets) takes its launch plan from one dict: output allocation, four kernel
            # arguments and the enqueue are all that is left per call.
            plan = st.plans.get((op, a.dtype, b.dtype, a.shape, b.shape, a.strides, b.strides,
                                 a.offset, b.offset))
            if plan is not None:
                k, shape, strides, odt, nbytes, gs, ls, raw, chunk = plan
                buf = st.alloc(nbytes)
                k.set_arg(0, buf.mem)
                k.set_arg(1, a.buf.mem)
                k.set_arg(2, b.buf.mem)
                k._set_arg_buf(3, raw)
                if chunk is not None:
                    k._set_arg_buf(4, chunk)
                st.rt.submit(k, gs, ls)
                return View(buf, shape, strides, 0, odt)
            return self._ew_binary_tt(st, op, a, b)
        if type(a) is View:
            dtype = a.dtype
            v, s, which = a, b, 1
        elif type(b) is View:
            dtype = b.dtype
            v, s, which = b, a, 2
        else:
            raise TypeError(f"opencl backend: {op} needs at least one tensor operand")
        # one operand is a Python scalar, passed by value
        key = (op, dtype, which, v.shape, v.strides, v.offset)
        plan = st.plans.get(key)
        if plan is not None:  # a repeat: see above
            k, shape, strides, odt, nbytes, gs, ls, raw, chunk = plan
            sb = _scalar_bytes(s, dtype)
            buf = st.alloc(nbytes)
            k.set_arg(0, buf.mem)
            k.set_arg(1, v.buf.mem)
            k._set_arg_buf(2, raw)
            if chunk is None:
                k._set_arg_buf(3, sb)
            else:
                k._set_arg_buf(3, chunk)
                k._set_arg_buf(4, sb)
            st.rt.submit(k, gs, ls)
            return View(buf, shape, strides, 0, odt)
        e = st.binary.get((op, dtype)) or self._ew_binary_entry(st, op, dtype)
        if e[7] and which == 1:
            self._ew_check_divisor(st, s)
        sb = _scalar_bytes(s, dtype)
        shape = v.shape
        n, strides = st.shapes.get(shape) or st.shape(shape)
        odt = e[6]
        buf = st.alloc(n * odt.itemsize)
        out = View(buf, shape, strides, 0, odt)
        if n:
            if v.strides == strides or v.is_contiguous():
                gs, ls, p = st.args.get((n, v.offset, 0)) or st.contiguous_args(n, v.offset, 0)
                plan = (e[which], shape, strides, odt, n * odt.itemsize, gs, ls, p, None)
                raw = (p, sb)
            else:
                gs, ls, chunk = st.geometry(n)
                d = pack(shape, (strides, v.strides), (0, v.offset))
                chunk = _INT1(chunk)
                plan = (e[which + 3], shape, strides, odt, n * odt.itemsize, gs, ls, d, chunk)
                raw = (d, chunk, sb)
            if not (e[7] and which == 1):  # a scalar divisor is checked on every call
                st.plan(key, plan)
            _launch(st, plan[0], gs, ls, (buf.mem, v.buf.mem), raw)
        return out

    def _ew_binary_tt(self, st, op, a, b):
        """Binary op of two Views, the first time its plan is seen (or when it has none:
        empty outputs)."""
        dtype = a.dtype
        key = (op, dtype, b.dtype, a.shape, b.shape, a.strides, b.strides, a.offset, b.offset)
        if b.dtype is not dtype:
            raise TypeError(f"opencl backend: {op} of {dtype.name} and {b.dtype.name};"
                            " the frontend promotes both operands to one dtype first")
        e = st.binary.get((op, dtype)) or self._ew_binary_entry(st, op, dtype)
        shape = a.shape
        if shape == b.shape:
            n, strides = st.shapes.get(shape) or st.shape(shape)
            odt = e[6]
            buf = st.alloc(n * odt.itemsize)
            out = View(buf, shape, strides, 0, odt)
            if not n:
                return out
            if ((a.strides == strides or a.is_contiguous())
                    and (b.strides == strides or b.is_contiguous())):
                gs, ls, p = (st.args.get((n, a.offset, b.offset))
                             or st.contiguous_args(n, a.offset, b.offset))
                st.plan(key, (e[0], shape, strides, odt, n * odt.itemsize, gs, ls, p, None))
                _launch(st, e[0], gs, ls, (buf.mem, a.buf.mem, b.buf.mem), (p,))
                return out
        else:
            shape = broadcast_shapes(shape, b.shape)
            n, strides = st.shapes.get(shape) or st.shape(shape)
            odt = e[6]
            buf = st.alloc(n * odt.itemsize)
            out = View(buf, shape, strides, 0, odt)
            if not n:
                return out
            a, b = broadcast_view(a, shape), broadcast_view(b, shape)
        gs, ls, chunk = st.geometry(n)
        d = pack(shape, (strides, a.strides, b.strides), (0, a.offset, b.offset))
        chunk = _INT1(chunk)
        st.plan(key, (e[3], shape, strides, odt, n * odt.itemsize, gs, ls, d, chunk))
        _launch(st, e[3], gs, ls, (buf.mem, a.buf.mem, b.buf.mem), (d, chunk))
        return out

    def _ew_check_divisor(self, st, b):
        """Integer division by a Python 0 raises, as in PyTorch. A tensor divisor is not
        checked here: the frontend raises for its zeros (a deferred device check, so the
        queue never waits) and passes ones in their place, and the kernels' guards keep a
        zero divisor from trapping in any case."""
        if b == 0:
            raise RuntimeError("ZeroDivisionError")

    # -- where -----------------------------------------------------------------------------
    def where(self, cond, a, b):
        st = self._ew or self._ew_state()
        dtype = self._where_dtype(cond, a, b)
        if type(a) is not View or type(b) is not View:
            return self._where_scalar(st, cond, a, b, dtype)
        shape = cond.shape
        if not (shape == a.shape == b.shape):
            shape = broadcast_shapes(cond.shape, a.shape, b.shape)
        out, n, strides = self._ew_out(st, shape, dtype)
        if not n:
            return out
        mems = (out.buf.mem, cond.buf.mem, a.buf.mem, b.buf.mem)
        if (cond.shape == shape == a.shape == b.shape
                and all(v.strides == strides or v.is_contiguous() for v in (cond, a, b))):
            k = st.kernels.get(("wc", dtype))
            if k is None:
                k = st.kernels[("wc", dtype)] = st.kernel("where_c", dtype)
            gs, ls, p = st.contiguous_args(n, cond.offset, a.offset)
            _launch(st, k, gs, ls, mems, (p, _INT1(b.offset)))
            return out
        c, a, b = (broadcast_view(v, shape) for v in (cond, a, b))
        k = st.kernels.get(("ws", dtype))
        if k is None:
            k = st.kernels[("ws", dtype)] = st.kernel("where_s", dtype)
        gs, ls, chunk = st.geometry(n)
        d = pack(shape, (strides, c.strides, a.strides, b.strides), (0, c.offset, a.offset,
                                                                      b.offset))
        _launch(st, k, gs, ls, mems, (d, _INT1(chunk)))
        return out

    def _where_scalar(self, st, cond, a, b, dtype):
        """where with one operand a Python scalar, passed to the kernel by value."""
        which, v, s = ("vs", a, b) if type(a) is View else ("sv", b, a)
        sb = _scalar_bytes(s, dtype)
        shape = cond.shape if cond.shape == v.shape else broadcast_shapes(cond.shape, v.shape)
        out, n, strides = self._ew_out(st, shape, dtype)
        if not n:
            return out
        key = ("w" + which, dtype)
        ks = st.kernels.get(key)
        if ks is None:
            ks = st.kernels[key] = (st.kernel("where_c_" + which, dtype),
                                    st.kernel("where_s_" + which, dtype))
        mems = (out.buf.mem, cond.buf.mem, v.buf.mem)
        if (cond.shape == shape == v.shape
                and all(x.strides == strides or x.is_contiguous() for x in (cond, v))):
            gs, ls, p = st.contiguous_args(n, cond.offset, v.offset)
            _launch(st, ks[0], gs, ls, mems, (p, sb))
            return out
        c, v = broadcast_view(cond, shape), broadcast_view(v, shape)
        gs, ls, chunk = st.geometry(n)
        d = pack(shape, (strides, c.strides, v.strides), (0, c.offset, v.offset))
        _launch(st, ks[1], gs, ls, mems, (d, _INT1(chunk), sb))
        return out

    def relu_backward(self, grad, out):
        """The fused op (framework/fused/nn_ops.py) as one kernel instead of a
        comparison and a where."""
        st = self._ew or self._ew_state()
        shape, dtype = out.shape, out.dtype
        n, strides = st.shapes.get(shape) or st.shape(shape)
        if (grad.shape != shape or grad.dtype is not dtype
                or not (grad.strides == strides or grad.is_contiguous())
                or not (out.strides == strides or out.is_contiguous())):
            return super().relu_backward(grad, out)
        res, n, strides = self._ew_out(st, shape, dtype)
        if n:
            k = st.kernels.get(("rb", dtype))
            if k is None:
                k = st.kernels[("rb", dtype)] = st.kernel("relu_bwd", dtype)
            gs, ls, p = st.contiguous_args(n, grad.offset, out.offset)
            _launch(st, k, gs, ls, (res.buf.mem, grad.buf.mem, out.buf.mem), (p,))
        return res

    # -- cast ------------------------------------------------------------------------------
    def cast(self, x, dtype):
        st = self._ew or self._ew_state()
        out, n, strides = self._ew_out(st, x.shape, dtype)
        if not n:
            return out
        key = ("c", x.dtype, dtype)
        ks = st.kernels.get(key)
        if ks is None:
            ks = st.kernels[key] = (st.kernel("c_" + dtype.name, x.dtype),
                                    st.kernel("cs_" + dtype.name, x.dtype))
        if x.strides == strides or x.is_contiguous():
            gs, ls, p = st.contiguous_args(n, x.offset, 0)
            _launch(st, ks[0], gs, ls, (out.buf.mem, x.buf.mem), (p,))
        else:
            gs, ls, chunk = st.geometry(n)
            d = pack(x.shape, (strides, x.strides), (0, x.offset))
            _launch(st, ks[1], gs, ls, (out.buf.mem, x.buf.mem), (d, _INT1(chunk)))
        return out
