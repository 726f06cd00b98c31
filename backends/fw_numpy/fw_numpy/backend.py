"""The CPU backend: every primitive of the device interface, done by NumPy.

A buffer is a C-contiguous ndarray. A View's ndarray is built once and memoised in
`View.cache`, so chains of ops on the same tensors pay for it once.
"""
import os
import platform

import numpy as np

from framework.device import Backend, View, contiguous_strides
from framework import dtypes as dt

from . import threads
from .lowp import LOW, LOW_NP, compute_fused_ops_in_float32, computed_in_float32, f32
from .memory import keep_freed_memory
from .nn_ops import NumpyNNOps
from .optim_ops import NumpyOptimOps

def _tanh(x):
    """NumPy's tanh, but +-1 wherever the correctly rounded value is (NumPy's float32 tanh
    stops one ulp short up to |x| ~ 9.2; torch's is +-1 there)."""
    big = 9.1 if x.dtype == np.float32 else 19.1
    return np.where(np.abs(x) > big, np.sign(x), np.tanh(x)).astype(x.dtype, copy=False)


_UNARY = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log,
    "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "tanh": _tanh, "floor": np.floor, "ceil": np.ceil, "round": np.round,
    "trunc": np.trunc, "reciprocal": np.reciprocal, "logical_not": np.logical_not,
    "bitwise_not": np.invert, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "log2": np.log2, "log10": np.log10, "exp2": np.exp2,
}


def _remainder(x, y):
    """NumPy's remainder, but a zero has the dividend's sign (PyTorch's: C's fmod, then one
    divisor added where the signs differ), not the divisor's."""
    r = np.remainder(x, y)
    if r.dtype.kind != "f":
        return r
    return np.where(r == 0, np.copysign(r, x), r)


_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "floor_divide": np.floor_divide, "remainder": _remainder, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "logical_xor": np.logical_xor,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
}
# Ops whose edge cases (x/0, log(0), overflow) make NumPy warn; PyTorch stays quiet.
_QUIET = frozenset(("div", "floor_divide", "remainder", "pow", "log", "log1p", "log2",
                    "log10", "sqrt", "rsqrt", "reciprocal", "asin", "acos", "exp", "expm1",
                    "exp2", "sinh", "cosh", "tan", "sigmoid"))
_NP_BOOL = np.dtype(np.bool_)
_STRIDES = {}  # shape -> contiguous strides
_REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min,
           "all": np.all, "any": np.any}


def _blas_ready(a):
    """`a` itself when BLAS can read its matrices (rows or columns contiguous), else a
    contiguous copy: NumPy's matmul falls back to a slow loop on other strides (e.g. the
    overlapping frames of an as_strided window)."""
    if a.ndim >= 2:
        s1, s2 = a.strides[-2:]
        size = a.itemsize
        if not ((s2 == size and s1 >= a.shape[-1] * size) or
                (s1 == size and s2 >= a.shape[-2] * size)):
            return np.ascontiguousarray(a)
    return a


_ZEROS = {}  # dtype -> the largest all-zero array asked for so far, never written


def _zeros(like):
    """Zeros shaped like `like`, a window on one cached array. It is made by np.zeros,
    whose pages the OS maps lazily to its shared zero page: reading it costs no memory."""
    z = _ZEROS.get(like.dtype)
    if z is None or z.size < like.size:
        z = _ZEROS[like.dtype] = np.zeros(like.size, like.dtype)
        z.flags.writeable = False
    return z[:like.size].reshape(like.shape)


def _int_pow(x, y):
    """Integer powers as PyTorch computes them: a negative exponent gives 0, except for
    bases 1 and -1 (NumPy refuses negative integer exponents)."""
    neg = y < 0
    if not np.any(neg):
        return np.power(x, y)
    r = np.power(x, np.where(neg, 0, y))
    unit = np.where(np.abs(y) % 2 == 1, x, 1)  # 1 ** -n == 1, (-1) ** -n == +-1
    return np.where(neg, np.where(np.abs(x) == 1, unit, 0), r).astype(r.dtype)


def _erf(a):
    from scipy.special import erf  # imported on first use: it is slow to import
    return erf(a)


class NumpyBackend(compute_fused_ops_in_float32(NumpyNNOps),
                   compute_fused_ops_in_float32(NumpyOptimOps), Backend):
    type = "cpu"

    def __init__(self, index=None):
        super().__init__(index)
        keep_freed_memory()
        threads.policy()  # BLAS sized to the available cores, following the load

    @classmethod
    def describe(cls):
        return [{"name": platform.processor() or platform.machine(),
                 "cores": os.cpu_count(), "numpy": np.__version__}]

    def set_num_threads(self, n):
        return threads.policy().fix(n)

    def get_num_threads(self):
        p = threads.policy()
        if p.adaptive:  # the most it uses; fewer while other processes keep the cores busy
            return p.ceiling
        from . import blas
        return blas.get_num_threads()

    # -- views ---------------------------------------------------------------------------
    @staticmethod
    def _np(v):
        a = v.cache
        if a is None:
            buf = v.buf
            size = buf.itemsize
            strides = tuple(s * size for s in v.strides)
            # the buffer itself only when the view is all of it in the same layout (a
            # permutation of equal-sized dims has the buffer's shape but not its strides)
            if v.offset == 0 and buf.shape == v.shape and buf.strides == strides:
                a = buf
            elif 0 in v.shape:  # an empty window may start past the buffer's end
                a = np.empty(v.shape, buf.dtype)
            else:
                a = np.ndarray(v.shape, buf.dtype, buffer=buf, offset=v.offset * size,
                               strides=strides)
            v.cache = a
        return a

    @staticmethod
    def _wrap(a, dtype=None):
        if type(a) is not np.ndarray or not a.flags.c_contiguous:
            a = np.array(a, order="C")
        if dtype is None:
            dtype = dt.from_numpy_dtype(a.dtype)
        elif a.dtype is not dtype.np and a.dtype != dtype.np:  # `is` first: it is cheap
            if dtype in LOW:  # a float32 result rounded: beyond the range is inf, quietly
                with np.errstate(over="ignore"):
                    a = a.astype(dtype.np)
            else:
                a = a.astype(dtype.np)
        shape = a.shape
        strides = _STRIDES.get(shape)
        if strides is None:
            if len(_STRIDES) > 4096:  # shapes repeat in real programs; bound the memo anyway
                _STRIDES.clear()
            strides = _STRIDES[shape] = contiguous_strides(shape)
        return View(a, shape, strides, 0, dtype, a)

    def _arg(self, x):
        """An operand of a compute op: a View's array (float16/bfloat16 as float32), or a
        Python scalar."""
        if type(x) is not View:
            return x
        a = self._np(x)
        return a.astype(np.float32) if a.itemsize == 2 and a.dtype in LOW_NP else a  # f32, inline

    # -- memory --------------------------------------------------------------------------
    def from_numpy(self, array):
        return self._wrap(np.array(array, order="C", copy=True))

    def wrap_numpy(self, array):
        if array.flags.c_contiguous and array.flags.writeable:
            return self._wrap(array)
        v = self._strided_view(array) if array.flags.writeable else None
        return v if v is not None else self.from_numpy(array)

    def _strided_view(self, a):
        """A View sharing memory with strided array `a` (as torch.from_numpy does), or None
        when its memory is not a window on a contiguous array of the same dtype."""
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        size = a.itemsize
        off = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        if (root is a or root.dtype != a.dtype or not root.flags.c_contiguous or off < 0
                or off % size or any(st < 0 or st % size for st in a.strides)):
            return None
        return View(root.reshape(-1), a.shape, tuple(st // size for st in a.strides),
                    off // size, dt.from_numpy_dtype(a.dtype), a)

    def to_numpy(self, v):
        return self._np(v)

    def full(self, shape, value, dtype):
        return self._wrap(np.full(shape, value, dtype.np), dtype)

    def copy_(self, dst, src):
        np.copyto(self._np(dst), self._np(src), casting="unsafe")

    # -- compute -------------------------------------------------------------------------
    def unary(self, op, x):
        a = self._arg(x)
        if op in _QUIET:
            with np.errstate(all="ignore"):
                r = self._unary(op, a)
        else:
            r = self._unary(op, a)
        return self._wrap(r, dt.bool if op == "logical_not" else x.dtype)

    @staticmethod
    def _unary(op, a):
        f = _UNARY.get(op)
        if f is not None:
            return f(a)
        if op == "relu":  # floats against zeros: NumPy's maximum with a scalar is not vectorised
            return np.maximum(a, _zeros(a) if a.dtype.kind == "f" else 0)
        if op == "sign":
            if a.dtype == np.bool_:
                return a.copy()
            r = np.asarray(np.sign(a))  # an array even for 0-dim input, to assign into
            if r.dtype.kind == "f":
                r[np.isnan(r)] = 0  # PyTorch: sign(nan) == 0
            return r
        if op == "sigmoid":  # 1 / (1 + e^-x): NumPy's exp is vectorised, its tanh is not
            r = np.asarray(np.exp(-(a if a.dtype.kind == "f" else a.astype(np.float32))))
            r += 1
            return np.reciprocal(r, out=r)
        if op == "rsqrt":
            return 1 / np.sqrt(a)
        if op == "erf":
            return _erf(a)
        raise NotImplementedError(f"cpu backend: unknown unary op {op!r}")

    def binary(self, op, a, b):
        f = _BINARY[op]
        x, y = self._arg(a), self._arg(b)
        if op == "pow" and type(b) is View and b.dtype.kind == 1:
            return self._wrap(_int_pow(x, y), (a if type(a) is View else b).dtype)
        if op in _QUIET:
            if op in ("floor_divide", "remainder") and (a if type(a) is View else b).dtype.kind == 1:
                if np.any(y == 0):  # PyTorch's error for integer division by zero
                    raise RuntimeError("ZeroDivisionError")
            with np.errstate(all="ignore"):
                r = f(x, y)
        else:
            r = f(x, y)
        return self._wrap(r, dt.bool if r.dtype is _NP_BOOL else (a if type(a) is View else b).dtype)

    def where(self, cond, a, b):
        dtype = (a if type(a) is View else b).dtype
        return self._wrap(np.where(self._np(cond), self._arg(a), self._arg(b)), dtype)

    def cast(self, x, dtype):
        if dtype.itemsize < x.dtype.itemsize or dtype.kind < x.dtype.kind:
            with np.errstate(over="ignore", invalid="ignore"):  # inf / wrapped, quietly as torch
                # 16-bit floats through float32, as PyTorch converts them (and as the CPU then
                # makes an integer of inf or NaN); ml_dtypes' own conversion differs there
                return self._wrap(self._arg(x).astype(dtype.np), dtype)
        return self._wrap(self._np(x).astype(dtype.np), dtype)

    def reduce(self, op, x, dims, keepdim):
        return self._wrap(_REDUCE[op](f32(self._np(x)), axis=dims, keepdims=keepdim),
                          dt.bool if op in ("all", "any") else x.dtype)

    def arg_reduce(self, op, x, dim, keepdim):
        f = np.argmax if op == "argmax" else np.argmin
        return self._wrap(f(f32(self._np(x)), axis=dim, keepdims=keepdim), dt.int64)

    def scan(self, op, x, dim):
        f = np.cumsum if op == "sum" else np.cumprod
        return self._wrap(f(f32(self._np(x)), axis=dim), x.dtype)

    def sort(self, x, dim, descending, stable):
        a = f32(self._np(x))
        if descending:
            # A stable ascending sort of the reversed axis, reversed back, keeps equal
            # elements in their original order and puts NaN first, as PyTorch does.
            n = a.shape[dim]
            idx = np.flip(n - 1 - np.argsort(np.flip(a, dim), axis=dim, kind="stable"), dim)
        else:
            idx = np.argsort(a, axis=dim, kind="stable")
        return (self._wrap(np.take_along_axis(a, idx, dim), x.dtype),
                self._wrap(idx, dt.int64))

    def contiguous(self, x):
        return self._wrap(np.array(self._np(x), order="C", copy=True), x.dtype)

    def cat(self, views, dim):
        return self._wrap(np.concatenate([self._np(v) for v in views], axis=dim), views[0].dtype)

    @staticmethod
    def _fit(a, shape, dim):
        """`a` cut down to `shape` on every axis but `dim` (PyTorch allows a larger input)."""
        if a.shape == shape:
            return a
        return a[tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(shape))]

    def gather(self, x, dim, index):
        idx = self._np(index)
        a = self._fit(self._np(x), idx.shape, dim)
        return self._wrap(np.take_along_axis(a, idx, dim), x.dtype)

    def check_index_range(self, v, size, ignore, make_error):
        """The optional hook of cross_entropy/nll_loss: every element of integer `v` is in
        [0, size) or equals `ignore`, else `make_error(bad value)` is raised (here, now)."""
        a = self._np(v)
        if not a.size or (a.min() >= 0 and a.max() < size):
            return
        bad = ((a < 0) | (a >= size)) & (a != ignore)
        if bad.any():
            raise make_error(int(a[bad].flat[0]))

    def scatter(self, x, dim, index, src, accumulate):
        out = np.array(self._np(x), order="C", copy=True)
        idx = self._np(index)
        pos = list(np.indices(idx.shape, sparse=True))
        pos[dim] = idx
        pos = tuple(pos)
        # src is read at the index's own positions, so it is cut down on every axis
        vals = self._fit(self._np(src), idx.shape, None) if type(src) is View else src
        if accumulate:
            np.add.at(out, pos, vals)
        else:
            out[pos] = vals
        return self._wrap(out, x.dtype)

    def matmul(self, a, b):
        threads.adapt()
        r = np.matmul(_blas_ready(self._arg(a)), _blas_ready(self._arg(b)))
        if r.ndim == 2 and r.flags.c_contiguous and a.dtype not in LOW:  # the common case, without _wrap's checks
            return View(r, r.shape, (r.shape[1] or 1, 1), 0, a.dtype, r)
        return self._wrap(r, a.dtype)

    @computed_in_float32  # the bias added before rounding
    def matmul_bias(self, a, b, bias):
        out = self.matmul(a, b)
        r = self._np(out)
        r += self._np(bias)  # in place: no second (n, m) array
        return out

    def pad(self, x, pads, value):
        return self._wrap(np.pad(self._np(x), pads, constant_values=value), x.dtype)

    @computed_in_float32
    @np.errstate(invalid="ignore", over="ignore", divide="ignore")  # inf rows: NaN, quietly
    def softmax(self, x, dim):
        a = self._np(x)
        # initial=-inf: a row of length 0 has no max, and then nothing to normalise
        e = np.exp(a - a.max(axis=dim, keepdims=True, initial=-np.inf))
        e /= e.sum(axis=dim, keepdims=True)
        return self._wrap(e, x.dtype)

    @computed_in_float32
    @np.errstate(invalid="ignore", over="ignore", divide="ignore")
    def log_softmax(self, x, dim):
        a = self._np(x)
        s = a - a.max(axis=dim, keepdims=True, initial=-np.inf)
        s -= np.log(np.exp(s).sum(axis=dim, keepdims=True))
        return self._wrap(s, x.dtype)
