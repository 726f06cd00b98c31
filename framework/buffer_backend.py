"""A base class for backends whose tensors are strided views over device buffers.

The OpenCL and Vulkan backends differ in their kernels and in how they launch them, not in
the host-side work around a launch: device enumeration, output shapes, the edge cases of
empty and 0-dim tensors, bool reductions, how conv2d is cut into im2col + matmul, which
optimizer flags a step kernel gets. That work is written once here, against the device
interface (`framework.device`, `framework.fused`), and calls hooks for the kernels.

A subclass provides:
- `runtime`: a module with `default_index()`, `describe(handle)` and `Runtime(handle,
  index)`; the Runtime (`self.rt`) has `finish()` and `pool.empty()`, and may have `lock`
  (a reentrant lock that every op holds; one is made if it has none).
- `_handles()`: classmethod, the device handles in index order (what "type:N" indexes).
- `new(shape, dtype)`: an uninitialised contiguous View; `_copy(dst, src)`: a strided copy
  of `src` into `dst` (same shape and dtype); plus the other primitives of `Backend`.
- the kernel hooks below (`_reduce_kernel`, `_gemm`, `_im2col`, ...), each called only
  with non-empty work. Without the hooks of a fused op (conv, pooling, softmax, optimizer
  steps) that op runs fw's composed default; without those of a primitive (reduce, gemm,
  sort, ...) it raises NotImplementedError.
Fused nn kernels are taken for floating-point dtypes; others get the composed defaults.
"""
import functools
import inspect
import os
import threading
import weakref

import numpy as np

from . import dtypes as dt
from .device import Backend, View, merge_dims, numel, split_dims
from .fused.nn_ops import NNOps, _out_size, _view
from .fused.optim_ops import OptimOps

# bool has no arithmetic: NumPy sums bools as ints and casts back, which is "any"
_BOOL_OP = {"sum": "any", "prod": "all", "max": "any", "min": "all"}
# what a reduction over no elements gives (max / min raise instead)
IDENTITY = {"sum": 0, "prod": 1, "all": True, "any": False}
# Flag bits of the optimizer step kernels (`_step` hook): the kernels test these bits.
MOMENTUM, NESTEROV, MAXIMIZE, FIRST, WD, DECOUPLED, AMSGRAD = 1, 2, 4, 8, 16, 32, 64


def pick_device(env, what, names, preferred=()):
    """The index that a bare device type ("opencl") means: the device named by environment
    variable `env` (an index, or part of one of `names`, any case), else the first index in
    `preferred`, else 0. `what` is a device in words, for errors ("OpenCL device")."""
    want = os.environ.get(env, "").strip()
    if not want:
        return next(iter(preferred), 0)
    if want.isdigit():
        if int(want) >= len(names):
            raise RuntimeError(f"{env}={want}, but there are only {len(names)} {what}s "
                               "(see `fw devices`)")
        return int(want)
    for i, name in enumerate(names):
        if want.lower() in name.lower():
            return i
    raise RuntimeError(f"{env}={want!r} matches no {what}; have: " + "; ".join(names))


def as_1d(v):
    """A 0-dim View as a (1,) View (kernels index rows of at least one element)."""
    return View(v.buf, (1,), (1,), v.offset, v.dtype) if not v.shape else v


def _like(out, x):
    """`out`, computed on as_1d(x), back to x's 0-dim shape where x had none."""
    return out if x.shape else View(out.buf, (), (), 0, out.dtype)


def scalar_array(x, dtype):
    """Python scalar `x` as a 0-dim NumPy array of `dtype`, with PyTorch's overflow rules:
    floats round (to +-inf if too large), integers that do not fit raise."""
    if dtype.kind == 2:
        with np.errstate(over="ignore"):
            return np.asarray(float(x), dtype.np)
    if dtype.kind == 0:
        return np.asarray(bool(x), dtype.np)
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
        x = int(x)
    info = np.iinfo(dtype.np)
    if not info.min <= int(x) <= info.max:
        raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
    return np.asarray(int(x), dtype.np)


def unsupported_dtype(dtype, where, f16_feature, has_f16):
    """The message refusing a tensor of `dtype` on a device whose kernels lack it: what the
    device lacks (`f16_feature`, for float16: "the cl_khr_fp16 extension"), or that fw's
    kernels don't have it yet."""
    if dtype is dt.float16 and not has_f16:
        why = f"it lacks {f16_feature}"
    else:
        have = f" (the device has {f16_feature})" if dtype is dt.float16 else ""
        why = f"fw's kernels for this device have no {dtype.name} variant yet{have}"
    return (f"{dtype.name} is not supported on {where}: {why}; compute in {dtype.name} on the "
            "cpu, or convert first (.float() for floating point, .int() for integers)")


class _ForkedRuntime:
    """What a device runtime becomes in a forked child process. The driver's context and
    threads belong to the parent, and a fork of a process that holds an OpenCL or Vulkan
    context may deadlock in the driver, so the child must not call into it: every attribute
    of the runtime, wherever it is referenced from, raises and says why. The runtime's state
    stays in place (dropping it would run driver calls in its destructors)."""

    def __getattribute__(self, name):
        if name.startswith("__"):
            return object.__getattribute__(self, name)
        dev = object.__getattribute__(self, "__dict__").get("_fw_forked_device", "?")
        raise RuntimeError(
            f"device '{dev}' can't be used in a forked child process: its driver context "
            "belongs to the parent. In DataLoader workers keep the data on the cpu and move "
            "batches to the device in the main process, or pass "
            "multiprocessing_context='spawn' (with the `if __name__ == \"__main__\":` guard)")


# every live buffer backend, so that a forked child can cut them off from the driver
_LIVE = weakref.WeakSet()


def _after_fork_in_child():
    for be in list(_LIVE):
        be.rt._fw_forked_device = str(be.device)
        be.rt.__class__ = _ForkedRuntime


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _one_thread_at_a_time(fn):
    """`fn` holding the device runtime's lock: an op's launches go out together, so two
    threads never interleave kernel arguments, recorded dispatches or deferred checks."""
    @functools.wraps(fn)
    def op(self, *args, **kwargs):
        with self.rt.lock:
            return fn(self, *args, **kwargs)
    op._fw_locked = True
    return op


# Optional hooks that the frontend looks up with getattr, beside Backend's methods.
_PROBED_HOOKS = ("check_index_range",)


def _interface():
    """The names the frontend calls on a backend: Backend's public methods and the probed
    hooks (the backends' own public helpers, called inside those, are not among them)."""
    return [n for n in dir(Backend) if not n.startswith("_")
            and inspect.isfunction(inspect.getattr_static(Backend, n))] + list(_PROBED_HOOKS)


class BufferBackend(Backend):
    """See the module docstring. Put kernel mixins before this class in the bases, so
    that their hooks are found first.

    Every method of the device interface (what the frontend calls) runs under the lock of
    its runtime (`rt.lock`, a reentrant lock), so several threads may use one device at
    once. The backend's own helpers run inside those and are left unwrapped: a wrapper
    costs a Python call, paid once per op instead of once per helper."""
    runtime = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in _interface():
            fn = inspect.getattr_static(cls, name, None)
            if inspect.isfunction(fn) and not getattr(fn, "_fw_locked", False):
                setattr(cls, name, _one_thread_at_a_time(fn))

    def __init__(self, index=None):
        index = self.runtime.default_index() if index is None else index
        super().__init__(index)
        handles = self._handles()
        if index >= len(handles):  # fw checks first; this guards direct construction
            raise RuntimeError(f"device '{self.type}:{index}' does not exist: "
                               f"{len(handles)} device(s)")
        self.rt = self.runtime.Runtime(handles[index], index)
        if not hasattr(self.rt, "lock"):
            self.rt.lock = threading.RLock()
        _LIVE.add(self)

    # -- describing the hardware -------------------------------------------------------
    @classmethod
    def _handles(cls):
        raise NotImplementedError

    @classmethod
    def device_count(cls):
        return len(cls._handles())

    @classmethod
    def describe(cls):
        return [cls.runtime.describe(h) for h in cls._handles()]

    @classmethod
    def default_device_index(cls):
        return cls.runtime.default_index()

    def synchronize(self):
        self.rt.finish()

    def empty_cache(self):
        self.rt.pool.empty()

    # -- memory --------------------------------------------------------------------------
    def copy_(self, dst, src):
        self._copy(dst, src)

    def contiguous(self, x):
        out = self.new(x.shape, x.dtype)
        self._copy(out, x)
        return out

    def _lacks(self, hook):
        """Whether the subclass left kernel hook `hook` out (its op then runs composed)."""
        return getattr(type(self), hook) is getattr(BufferBackend, hook)

    def _dense(self, v):
        """A contiguous View with offset 0 (for kernels that index from the buffer start)."""
        return v if v.is_contiguous() and v.offset == 0 else self.contiguous(v)

    def cat(self, views, dim):
        dtype = views[0].dtype
        shape = list(views[0].shape)
        shape[dim] = sum(v.shape[dim] for v in views)
        out = self.new(shape, dtype)
        start = 0
        for v in views:
            if v.numel:
                if v.dtype is not dtype:
                    v = self.cast(v, dtype)
                # each input is a strided copy into its slice of the output
                self._copy(View(out.buf, v.shape, out.strides, start * out.strides[dim], dtype), v)
            start += v.shape[dim]
        return out

    # -- indexing ------------------------------------------------------------------------
    def gather(self, x, dim, index):
        x, index = as_1d(x), as_1d(index)
        out = self.new(index.shape, x.dtype)
        if out.numel:
            self._gather_kernel(out, x, dim, index)
        return out

    def _gather_kernel(self, out, x, dim, index):
        """Hook: out = x gathered along `dim` at `index` (both at least 1-d, non-empty)."""
        raise NotImplementedError

    def scatter(self, x, dim, index, src, accumulate):
        out = self.contiguous(as_1d(x))
        index = as_1d(index)
        if index.numel:
            self._scatter_kernel(out, dim, index, as_1d(src) if type(src) is View else src,
                                 accumulate)
        return _like(out, x)

    def _scatter_kernel(self, out, dim, index, src, accumulate):
        """Hook: write (or add) `src`, a View or a Python scalar, into `out` in place at
        the non-empty `index` along `dim`."""
        raise NotImplementedError

    def _first_bad_index(self, v, size, ignore):
        """The first element of integer view `v` outside [0, size) and not `ignore`, or None:
        the host side of a deferred `check_index_range`, read once its flag is seen set."""
        h = self.to_numpy(v).reshape(-1)
        bad = h[((h < 0) | (h >= size)) & (h != ignore)]
        return int(bad[0]) if bad.size else None

    def _where_dtype(self, cond, a, b):
        """The dtype of where(cond, a, b), `a` or `b` possibly a Python scalar; raises
        what the frontend should have ruled out (it promotes the operands first)."""
        if type(a) is View:
            dtype = a.dtype
        elif type(b) is View:
            dtype = b.dtype
        else:
            raise TypeError(f"{self.type} backend: where needs at least one tensor operand")
        if type(b) is View and b.dtype is not dtype:
            raise TypeError(f"{self.type} backend: where of {a.dtype.name} and {b.dtype.name}; "
                            "the frontend promotes both operands to one dtype first")
        if cond.dtype is not dt.bool:
            raise TypeError(f"where expected condition to be a boolean tensor, but got a "
                            f"tensor with dtype {cond.dtype.name}")
        return dtype

    # -- reductions and row ops ------------------------------------------------------------
    def reduce(self, op, x, dims, keepdim):
        dims = tuple(sorted(set(dims)))
        out_dtype = dt.bool if op in ("all", "any") else x.dtype
        if x.dtype is dt.bool:
            op = _BOOL_OP.get(op, op)
        ks, kst, rs, rst = split = split_dims(x, dims)
        shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape)) if keepdim else ks
        M, R = numel(ks), numel(rs)
        if M == 0:
            return self.new(shape, out_dtype)
        if R == 0:
            if op in ("max", "min"):
                d = next(d for d in dims if x.shape[d] == 0)
                raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
            return self.full(shape, IDENTITY[op], out_dtype)
        return self._reduce_kernel(op, x, split, shape, out_dtype)

    def _reduce_kernel(self, op, x, split, shape, out_dtype):
        """Hook: `op` (bool ops already mapped to all/any) over M > 0 rows of R > 0 elements,
        `split` = split_dims(x, dims); a contiguous View of `shape` and `out_dtype`."""
        raise NotImplementedError

    def arg_reduce(self, op, x, dim, keepdim):
        squeeze = not x.shape  # a 0-dim tensor is its own single element
        if squeeze:
            x, dim, keepdim = as_1d(x), 0, False
        ks = tuple(s for i, s in enumerate(x.shape) if i != dim)
        shape = () if squeeze else (tuple(1 if i == dim else s for i, s in enumerate(x.shape))
                                    if keepdim else ks)
        out = self.new(shape, dt.int64)
        if numel(ks) == 0:
            return out
        if x.shape[dim] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")
        self._arg_reduce_kernel(op, x, dim, out)
        return out

    def _arg_reduce_kernel(self, op, x, dim, out):
        """Hook: write argmax/argmin of x along `dim` (non-empty) into int64 `out`."""
        raise NotImplementedError

    def _row_op(self, kernel, x, dim, arg):
        """`kernel(v, dim, out, arg)` for v = x as at least 1-d, when not empty; `out`
        (contiguous, x's dtype) shaped back like x."""
        v = as_1d(x)
        out = self.new(v.shape, x.dtype)
        if v.numel:
            kernel(v, dim, out, arg)
        return _like(out, x)

    def scan(self, op, x, dim):
        return self._row_op(self._scan_kernel, x, dim, op)

    def _scan_kernel(self, x, dim, out, op):
        """Hook: inclusive 'sum'/'prod' of non-empty x along `dim` into contiguous `out`."""
        raise NotImplementedError

    def sort(self, x, dim, descending, stable):
        v = as_1d(x)
        vals, idx = self.new(v.shape, x.dtype), self.new(v.shape, dt.int64)
        if v.numel:  # the kernels are always stable: one answer, no extra cost
            self._sort_kernel(v, dim, vals, idx, bool(descending))
        return _like(vals, x), _like(idx, x)

    def _sort_kernel(self, x, dim, vals, idx, descending):
        """Hook: sort non-empty x along `dim` into contiguous `vals` and int64 `idx`."""
        raise NotImplementedError

    def softmax(self, x, dim):
        return self._softmax(x, dim, False)

    def log_softmax(self, x, dim):
        return self._softmax(x, dim, True)

    def _softmax(self, x, dim, log):
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"softmax: expected a floating-point tensor, got {x.dtype}")
        if self._lacks("_softmax_kernel"):
            return (Backend.log_softmax if log else Backend.softmax)(self, x, dim)
        return self._row_op(self._softmax_kernel, x, dim, log)

    def _softmax_kernel(self, x, dim, out, log):
        """Hook: (log-)softmax of non-empty x along `dim` into contiguous `out`."""
        raise NotImplementedError

    # -- matmul ----------------------------------------------------------------------------
    def matmul(self, a, b):
        return self._matmul(a, b, None)

    def _matmul(self, a, b, bias):
        """a @ b (+ bias, for a subclass's `matmul_bias`): empty cases here, the product
        by the `_gemm` hook."""
        *batch, n, k = a.shape
        m = b.shape[-1]
        batch = tuple(batch)
        if k == 0:
            out = self.full(batch + (n, m), 0, a.dtype)
            return out if bias is None else self.binary("add", out, bias)
        out = self.new(batch + (n, m), a.dtype)
        if not out.numel:
            return out
        # One batch dim with a stride per operand (0 when broadcast); batch layouts that
        # do not merge into one are made contiguous first.
        bshape, (sa, sb) = merge_dims(batch, [a.strides[:-2], b.strides[:-2]])
        if len(bshape) > 1:
            a, b = self.contiguous(a), self.contiguous(b)
            bshape, (sa, sb) = merge_dims(batch, [a.strides[:-2], b.strides[:-2]])
        if not bshape:
            return self._gemm(out, a, b, bias, 1, 0, 0)
        return self._gemm(out, a, b, bias, bshape[0], sa[0], sb[0])

    def _gemm(self, out, a, b, bias, nb, sa, sb):
        """Hook: write the (n, m) products of `nb` batches into contiguous `out`, operand
        batch strides `sa`, `sb` (0: shared), matrices read through a's and b's last two
        strides; add `bias` (None unless the subclass passes one) per row. Returns out."""
        raise NotImplementedError

    # -- convolution: im2col + one matmul per group ---------------------------------------
    def _weight_groups(self, w, groups, transpose=False):
        """Weight (O, Cg, KH, KW) as (g, Og, K), or (g, K, Og) transposed: strided views of a
        contiguous copy (matmul reads any strides and offsets)."""
        w = w if w.is_contiguous() else self.contiguous(w)
        O, Cg, KH, KW = w.shape
        og, k = O // groups, Cg * KH * KW
        if transpose:
            return _view(w, (groups, k, og), (og * k, 1, k))
        return _view(w, (groups, og, k), (og * k, k, 1))

    def _grad_onl(self, grad):
        """grad (N, O, OH, OW), any strides, as a contiguous (O, N, OH, OW)."""
        N, O, oh, ow = grad.shape
        g = self.new((O, N, oh, ow), grad.dtype)
        s = grad.strides
        self._copy(g, _view(grad, (O, N, oh, ow), (s[1], s[0], s[2], s[3])))
        return g

    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        N, C, H, W = x.shape
        O, Cg, KH, KW = weight.shape
        oh = _out_size(H, KH, stride[0], padding[0], dilation[0])
        ow = _out_size(W, KW, stride[1], padding[1], dilation[1])
        if (not x.dtype.is_floating_point or N * O * oh * ow == 0 or Cg * KH * KW == 0
                or self._lacks("_im2col") or self._lacks("_conv_out")):
            return NNOps.conv2d(self, x, weight, bias, stride, padding, dilation, groups)
        cols = self._im2col(x, weight.shape, stride, padding, dilation, groups, (oh, ow))
        r = self.matmul(self._weight_groups(weight, groups), cols)  # (g, Og, N*L) = (O, N, L)
        if N == 1 and bias is None:
            return _view(r, (1, O, oh, ow))
        out = self.new((N, O, oh, ow), x.dtype)
        self._conv_out(out, r, bias, x, weight.shape, stride, padding, dilation, groups)
        return out

    def _im2col(self, x, w_shape, stride, padding, dilation, groups, out_hw):
        """Hook: the columns of x as a contiguous (groups, Cg*KH*KW, N*OH*OW) View."""
        raise NotImplementedError

    def _conv_out(self, out, r, bias, x, w_shape, stride, padding, dilation, groups):
        """Hook: NCHW `out` from the product `r` laid out (O, N, OH*OW), plus `bias`."""
        raise NotImplementedError

    def conv2d_grad_input(self, grad, weight, input_shape, stride, padding, dilation, groups):
        if not grad.dtype.is_floating_point or self._lacks("_col2im"):
            return NNOps.conv2d_grad_input(self, grad, weight, input_shape, stride, padding,
                                           dilation, groups)
        N, C, H, W = input_shape
        _, O, oh, ow = grad.shape
        if N * C * H * W == 0 or O * oh * ow == 0:
            return self.full(tuple(input_shape), 0, grad.dtype)
        g = _view(self._grad_onl(grad), (groups, O // groups, N * oh * ow))
        cols = self.matmul(self._weight_groups(weight, groups, transpose=True), g)  # (g, K, NL)
        out = self.new(tuple(input_shape), grad.dtype)
        self._col2im(out, cols, weight.shape, stride, padding, dilation, groups, (oh, ow))
        return out

    def _col2im(self, out, cols, w_shape, stride, padding, dilation, groups, out_hw):
        """Hook: sum the (groups, K, N*OH*OW) columns `cols` into NCHW `out`."""
        raise NotImplementedError

    def conv2d_grad_weight(self, grad, x, weight_shape, stride, padding, dilation, groups):
        if not grad.dtype.is_floating_point or self._lacks("_im2col"):
            return NNOps.conv2d_grad_weight(self, grad, x, weight_shape, stride, padding,
                                            dilation, groups)
        N, O, oh, ow = grad.shape
        _, Cg, KH, KW = weight_shape
        K, NL = Cg * KH * KW, N * oh * ow
        if NL == 0 or K * O == 0:
            return self.full(tuple(weight_shape), 0, grad.dtype)
        g = _view(self._grad_onl(grad), (groups, O // groups, NL))
        cols = self._im2col(x, weight_shape, stride, padding, dilation, groups, (oh, ow))
        colsT = _view(cols, (groups, NL, K), (K * NL, 1, NL))
        return _view(self.matmul(g, colsT), tuple(weight_shape))   # (g, Og, K)

    # -- pooling ---------------------------------------------------------------------------
    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        if not x.dtype.is_floating_point or self._lacks("_max_pool_kernel"):
            return NNOps.max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode)
        N, C, H, W = x.shape
        oh = _out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
        ow = _out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
        out, ind = self.new((N, C, oh, ow), x.dtype), self.new((N, C, oh, ow), dt.int64)
        if out.numel:
            self._max_pool_kernel(out, ind, x, kernel, stride, padding, dilation)
        return out, ind

    def max_pool2d_grad(self, grad, indices, input_shape, kernel, stride, padding, dilation):
        if not grad.dtype.is_floating_point or self._lacks("_max_pool_grad_kernel"):
            return NNOps.max_pool2d_grad(self, grad, indices, input_shape, kernel, stride,
                                         padding, dilation)
        out = self.new(tuple(input_shape), grad.dtype)
        if not out.numel:
            return out
        if not grad.numel:
            return self.full(tuple(input_shape), 0, grad.dtype)
        self._max_pool_grad_kernel(out, grad, self._dense(indices), kernel, stride, padding,
                                   dilation)
        return out

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        if not x.dtype.is_floating_point or self._lacks("_avg_pool_kernel"):
            return NNOps.avg_pool2d(self, x, kernel, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override)
        N, C, H, W = x.shape
        oh = _out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
        ow = _out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
        out = self.new((N, C, oh, ow), x.dtype)
        if out.numel:
            self._avg_pool_kernel(out, x, kernel, stride, padding, count_include_pad,
                                  divisor_override)
        return out

    def avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
        if not grad.dtype.is_floating_point or self._lacks("_avg_pool_grad_kernel"):
            return NNOps.avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding,
                                         ceil_mode, count_include_pad, divisor_override)
        out = self.new(tuple(input_shape), grad.dtype)
        if out.numel:
            self._avg_pool_grad_kernel(out, grad, kernel, stride, padding, count_include_pad,
                                       divisor_override)
        return out

    # Pooling hooks: `out` is contiguous NCHW and non-empty; `ind` / `indices` hold int64
    # flat positions in each input plane (`indices` contiguous, offset 0).
    def _max_pool_kernel(self, out, ind, x, kernel, stride, padding, dilation):
        raise NotImplementedError

    def _max_pool_grad_kernel(self, out, grad, indices, kernel, stride, padding, dilation):
        raise NotImplementedError

    def _avg_pool_kernel(self, out, x, kernel, stride, padding, count_include_pad, divisor):
        raise NotImplementedError

    def _avg_pool_grad_kernel(self, out, grad, kernel, stride, padding, count_include_pad,
                              divisor):
        raise NotImplementedError

    # -- optimizer steps -------------------------------------------------------------------
    def _step_ok(self, *views):
        """Hook: whether the step kernels take these Views (None entries are absent);
        otherwise the composed step runs. Default: all contiguous."""
        return all(v is None or v.is_contiguous() for v in views)

    def sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                  weight_decay, maximize, first_step):
        if self._lacks("_step") or not self._step_ok(param, grad,
                                                     momentum_buf if momentum != 0 else None):
            return OptimOps.sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening,
                                      nesterov, weight_decay, maximize, first_step)
        flags = (MAXIMIZE if maximize else 0) | (WD if weight_decay != 0 else 0)
        buf = param  # a placeholder binding when there is no momentum buffer
        if momentum != 0:
            flags |= MOMENTUM | (NESTEROV if nesterov else 0) | (FIRST if first_step else 0)
            buf = momentum_buf
        self._step("sgd_step", (param, grad, buf), flags,
                   (lr, momentum, 1 - dampening, weight_decay))

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                   beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize):
        if self._lacks("_step") or not self._step_ok(param, grad, exp_avg, exp_avg_sq,
                                                     max_exp_avg_sq if amsgrad else None):
            return OptimOps.adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
                                       step, lr, beta1, beta2, eps, weight_decay,
                                       decoupled_weight_decay, amsgrad, maximize)
        flags = MAXIMIZE if maximize else 0
        if weight_decay != 0:
            flags |= DECOUPLED if decoupled_weight_decay else WD
        mx = exp_avg_sq  # a placeholder binding without amsgrad
        if amsgrad:
            flags |= AMSGRAD
            mx = max_exp_avg_sq
        # As in PyTorch, scalars are computed in Python floats (double), then rounded.
        step_size = lr / (1 - beta1 ** step)
        bc2 = (1 - beta2 ** step) ** 0.5
        self._step("adam_step", (param, grad, exp_avg, exp_avg_sq, mx), flags,
                   (1 - lr * weight_decay, 1 - beta1, beta2, 1 - beta2, eps, weight_decay,
                    step_size, bc2))

    def _step(self, entry, views, flags, scalars):
        """Hook: run step kernel `entry` ("sgd_step" / "adam_step") over `views` (the
        parameter first; possibly empty) with the flag bits above and the float scalars."""
        raise NotImplementedError
