"""Fused layer ops of the Vulkan backend (contract: framework/fused/nn_ops.py).

- conv2d: an im2col kernel (kernels/conv.wgsl; strided input read once, zero padding by
  bounds checks) writes columns [group][k][n][l], so ONE batched matmul covers the batch:
  (g, Og, K) @ (g, K, N*L) gives (O, N, L); conv_out turns that into NCHW plus the bias.
- conv2d_grad_input: W^T @ grad (grad moved to (O, N, L) by a strided copy), then col2im in
  gather form (each input pixel sums its window cells: no atomics, deterministic).
- conv2d_grad_weight: grad (g, Og, N*L) @ columns^T, the batch summed inside the GEMM's K.
- pooling (kernels/pool.wgsl): one item per output forward, a gather per input pixel
  backward (over the windows of max_pool2d_grad's geometry).
- softmax / log_softmax (kernels/softmax.wgsl): one work-group per row (one item per row
  for many short rows), an online max / sum of exponentials, then one write pass.
- lstm_cell and its gradient (kernels/rnn.wgsl): one item per unit of the state, inputs
  read through their strides.
Parameters travel in the Meta block's 32 stride words (`_params`). Only float dtypes have
kernels (float64 where the device has shader-f64); others take the composed defaults. The
methods here are kernel hooks: shapes, empty cases and the conv plan are
framework/buffer_backend.py's.
"""
import numpy as np

from framework import dtypes as dt

from framework.buffer_backend import BufferBackend
from framework.device import Backend
from framework.fused.nn_ops import NNOps

from .layout import pack
from .reduce import _INF
from .runtime import CHUNK


def _params(n, ints=(), floats=()):
    """Meta bytes: m.n = n and q(0..) = ints, then float32 bits of `floats` from q(8)."""
    a = np.zeros(64, np.int32)
    a[0] = n
    a[20:20 + len(ints)] = ints
    if floats:
        a[28:28 + len(floats)] = np.asarray(floats, np.float32).view(np.int32)
    return a.tobytes()


def _mat(*views):
    """(offset, row stride, column stride) of each 2-d View: the kernels read any layout."""
    return tuple(x for v in views for x in (v.offset, *v.strides))


def _check_index(*sizes):
    if max(sizes) >= 2**31:
        raise RuntimeError("vulkan backend: conv/pool sizes beyond 32-bit indexing")


def _wide(kernel, stride=(1, 1), dilation=(1, 1)):
    """Whether a window is too large for one invocation's loops (runtime.LOOP_TRIPS): a
    forward item loops over the KH x KW cells, a gradient item over the windows that
    cover its pixel. Such ops take fw's composed defaults instead."""
    cover = 1
    for k, s, d in zip(kernel, stride, dilation):
        cover *= -(-((k - 1) * d + 1) // s) + 2
    return max(kernel[0] * (kernel[1] + 2), cover) > 4 * CHUNK


class VKNNOps:
    # -- windows too large for the kernels' loops take fw's composed defaults ------------
    def _windowed(self, name, wide, *args):
        return getattr(NNOps if wide else BufferBackend, name)(self, *args)

    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        return self._windowed("conv2d", _wide(weight.shape[2:], stride, dilation), x, weight,
                              bias, stride, padding, dilation, groups)

    def conv2d_grad_input(self, grad, weight, input_shape, stride, padding, dilation, groups):
        return self._windowed("conv2d_grad_input", _wide(weight.shape[2:], stride, dilation),
                              grad, weight, input_shape, stride, padding, dilation, groups)

    def conv2d_grad_weight(self, grad, x, weight_shape, stride, padding, dilation, groups):
        return self._windowed("conv2d_grad_weight", _wide(weight_shape[2:], stride, dilation),
                              grad, x, weight_shape, stride, padding, dilation, groups)

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        return self._windowed("max_pool2d", _wide(kernel, stride, dilation), x, kernel, stride,
                              padding, dilation, ceil_mode)

    def max_pool2d_grad(self, grad, indices, input_shape, kernel, stride, padding, dilation):
        return self._windowed("max_pool2d_grad", _wide(kernel, stride, dilation), grad, indices,
                              input_shape, kernel, stride, padding, dilation)

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        return self._windowed("avg_pool2d", _wide(kernel, stride), x, kernel, stride, padding,
                              ceil_mode, count_include_pad, divisor_override)

    def avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
        return self._windowed("avg_pool2d_grad", _wide(kernel, stride), grad, input_shape,
                              kernel, stride, padding, ceil_mode, count_include_pad,
                              divisor_override)

    def _nn_kernel(self, file, entry, nbuf, dtype, extra=()):
        helper, subs = self._helpers(dtype)
        subs += (("NEGINF", _INF[self.wtype(dtype)][0]), ("I", self.wtype(dt.int64))) + extra
        return self.rt.kernel(helper + ("window.wgsl", file), entry, nbuf, subs)

    # -- convolution and pooling: kernel hooks of framework/buffer_backend.py -----------
    def _conv_ints(self, x_shape, x_strides, x_off, w_shape, stride, padding, dilation,
                   groups, out_hw, bias=None):
        N, C, H, W = x_shape
        O, Cg, KH, KW = w_shape
        L = out_hw[0] * out_hw[1]
        K = Cg * KH * KW
        _check_index(groups * K * N * L, N * C * H * W, N * O * L)
        b = (bias.strides[0], bias.offset, 1) if bias is not None else (0, 0, 0)
        return (N, C, H, W, groups, Cg, KH, KW, *out_hw, *stride, *padding, *dilation,
                L, K * N * L, N * L, *x_strides, x_off, O, *b)

    def _im2col(self, x, w_shape, stride, padding, dilation, groups, out_hw):
        N, C, H, W = x.shape
        _, Cg, KH, KW = w_shape
        L = out_hw[0] * out_hw[1]
        cols = self.new((groups, Cg * KH * KW, N * L), x.dtype)
        ints = self._conv_ints(x.shape, x.strides, x.offset, w_shape, stride, padding,
                               dilation, groups, out_hw)
        self.launch(self._nn_kernel("conv.wgsl", "im2col", 2, x.dtype), (cols, x),
                    _params(N * C * L, ints), N * C * L)
        return cols

    def _conv_out(self, out, r, bias, x, w_shape, stride, padding, dilation, groups):
        ints = self._conv_ints(x.shape, x.strides, x.offset, w_shape, stride, padding,
                               dilation, groups, out.shape[2:], bias)
        self.launch(self._nn_kernel("conv.wgsl", "conv_out", 3, x.dtype),
                    (out, r, r if bias is None else bias), _params(out.numel, ints), out.numel)

    def _col2im(self, out, cols, w_shape, stride, padding, dilation, groups, out_hw):
        ints = self._conv_ints(out.shape, (0, 0, 0, 0), 0, w_shape, stride, padding, dilation,
                               groups, out_hw)
        self.launch(self._nn_kernel("conv.wgsl", "col2im", 2, out.dtype), (out, cols),
                    _params(out.numel, ints), out.numel)

    @staticmethod
    def _pool_ints(C, H, W, oh, ow, kernel, stride, padding, dilation, v,
                   count_include_pad=True, divisor=0):
        _check_index(v.shape[0] * C * H * W, v.shape[0] * C * oh * ow)
        return (C, H, W, oh, ow, *kernel, *stride, *padding, *dilation, *v.strides, v.offset,
                int(bool(count_include_pad)), int(divisor or 0))

    def _max_pool_kernel(self, out, ind, x, kernel, stride, padding, dilation):
        ints = self._pool_ints(*x.shape[1:], *out.shape[2:], kernel, stride, padding, dilation,
                               x)
        self.launch(self._nn_kernel("pool.wgsl", "max_pool", 3, x.dtype), (out, x, ind),
                    _params(out.numel, ints), out.numel)

    def _max_pool_grad_kernel(self, out, grad, ind, kernel, stride, padding, dilation):
        ints = self._pool_ints(*out.shape[1:], *grad.shape[2:], kernel, stride, padding,
                               dilation, grad)
        self.launch(self._nn_kernel("pool.wgsl", "max_pool_grad", 3, grad.dtype),
                    (out, grad, ind), _params(out.numel, ints), out.numel)

    def _avg_pool_kernel(self, out, x, kernel, stride, padding, count_include_pad, divisor):
        ints = self._pool_ints(*x.shape[1:], *out.shape[2:], kernel, stride, padding, (1, 1),
                               x, count_include_pad, divisor)
        self.launch(self._nn_kernel("pool.wgsl", "avg_pool", 2, x.dtype), (out, x),
                    _params(out.numel, ints), out.numel)

    def _avg_pool_grad_kernel(self, out, grad, kernel, stride, padding, count_include_pad,
                              divisor):
        ints = self._pool_ints(*out.shape[1:], *grad.shape[2:], kernel, stride, padding,
                               (1, 1), grad, count_include_pad, divisor)
        self.launch(self._nn_kernel("pool.wgsl", "avg_pool_grad", 2, grad.dtype),
                    (out, grad), _params(out.numel, ints), out.numel)

    # -- softmax family ------------------------------------------------------------------
    def _softmax_kernel(self, v, dim, out, log):
        ks = tuple(s for i, s in enumerate(v.shape) if i != dim)
        kst = tuple(s for i, s in enumerate(v.strides) if i != dim)
        okst = tuple(s for i, s in enumerate(out.strides) if i != dim)
        M, R = v.numel // v.shape[dim], v.shape[dim]
        if R > 64 * CHUNK:  # the rows kernel's loops would run past the bound
            self._copy(out, (Backend.log_softmax if log else Backend.softmax)(self, v, dim))
            return
        meta = pack(ks, (kst, okst), (v.offset, 0),
                    x=(R, v.strides[dim], out.strides[dim], int(log)), n=M)
        rows = R >= 64 or M < 256
        helper, subs = self._helpers(v.dtype)
        subs += (("NEGINF", _INF[self.wtype(v.dtype)][0]),)
        k = self.rt.kernel(helper + ("softmax.wgsl",), "rows" if rows else "cols", 2, subs)
        self.launch(k, (out, v), meta, M, 1 if rows else 64)

    # -- recurrent cells (kernels/rnn.wgsl) ----------------------------------------------
    def _rnn_ok(self, *views):
        return (views[0].dtype.is_floating_point and all(v.dtype is views[0].dtype for v in views)
                and all(len(v.shape) == 2 for v in views))

    def lstm_cell(self, gates, c):
        if not self._rnn_ok(gates, c):
            return super().lstm_cell(gates, c)
        N, H = c.shape
        h, c2, tc = (self.new((N, H), c.dtype) for _ in range(3))
        act = self.new((N, 4 * H), c.dtype)
        if N * H:
            _check_index(N * 4 * H)
            self.launch(self._nn_kernel("rnn.wgsl", "lstm_cell", 6, c.dtype),
                        (h, c2, act, tc, gates, c), _params(N * H, (H,) + _mat(gates, c)), N * H)
        return h, c2, act, tc

    def lstm_cell_grad(self, dh, dc, act, c_prev, tanh_c):
        ins = (dh, dc, act, c_prev, tanh_c)
        if not self._rnn_ok(*ins):
            return super().lstm_cell_grad(*ins)
        N, H = c_prev.shape
        dgates, dcp = self.new((N, 4 * H), act.dtype), self.new((N, H), act.dtype)
        if N * H:
            _check_index(N * 4 * H)
            self.launch(self._nn_kernel("rnn.wgsl", "lstm_cell_grad", 7, act.dtype),
                        (dgates, dcp) + ins, _params(N * H, (H,) + _mat(*ins)), N * H)
        return dgates, dcp

    # -- cross-entropy (kernels/loss.wgsl) ------------------------------------------------
    def _ce_ok(self, x, target, ignore_index):
        return (x.dtype.is_floating_point and target.dtype is dt.int64 and x.shape[0] * x.shape[1]
                and -2**31 <= ignore_index < 2**31)

    def cross_entropy(self, x, target, ignore_index, reduction):
        # ce_loss is one work-group: beyond 64 * CHUNK samples its loop would run too long
        if not self._ce_ok(x, target, ignore_index) or x.shape[0] > 64 * CHUNK:
            return super().cross_entropy(x, target, ignore_index, reduction)
        N, C = x.shape
        _check_index(N * C)
        logp = self.log_softmax(x, 1)
        loss, total, count = self.new((N,), x.dtype), self.new((), x.dtype), self.new((), x.dtype)
        flags = (reduction != "none") | (reduction == "mean") << 1
        self.launch(self._nn_kernel("loss.wgsl", "ce_loss", 5, x.dtype),
                    (loss, total, count, target, logp),
                    _params(1, (N, C, flags, ignore_index, target.offset, target.strides[0])), 1,
                    64)
        return (loss if reduction == "none" else total), logp, count

    def cross_entropy_grad(self, logp, target, ignore_index, reduction, grad, count):
        if not (self._ce_ok(logp, target, ignore_index) and logp.is_contiguous()
                and logp.offset == 0):  # as cross_entropy made it
            return super().cross_entropy_grad(logp, target, ignore_index, reduction, grad,
                                              count)
        N, C = logp.shape
        out = self.new((N, C), logp.dtype)
        flags = (reduction == "mean") << 1 | (reduction == "none") << 2
        gs = grad.strides[0] if grad.shape else 0
        self.launch(self._nn_kernel("loss.wgsl", "ce_grad", 5, logp.dtype),
                    (out, logp, count, target, grad),
                    _params(N * C, (N, C, flags, ignore_index, target.offset, target.strides[0],
                                    grad.offset, gs, count.offset)), N * C)
        return out
