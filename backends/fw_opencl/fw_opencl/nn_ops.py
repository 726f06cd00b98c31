"""Fused layer ops of the OpenCL backend (contract: framework/fused/nn_ops.py).

- conv2d: an im2col kernel (kernels/conv.cl; reads strided x once, zero padding by bounds
  checks) writes the columns as [group][k][n][l], so ONE matmul per group covers the batch:
  (Og, K) @ (K, N*L) gives (O, N, L); a last kernel turns that into NCHW and adds the bias.
- conv2d_grad_input: W^T @ grad (grad moved to (O, N, L)), then col2im in gather form (each
  input pixel sums its window cells: no atomics, deterministic).
- conv2d_grad_weight: grad (O, N*L) @ columns^T, the batch summed inside the GEMM's K.
- pooling (kernels/pool.cl): one work-item per output forward, gather per input pixel
  backward; max-pool backward with disjoint windows is a zero fill + one write per output.
- layer_norm and cross_entropy (kernels/norm.cl): one work-group per row, reductions in
  local memory; cross_entropy_grad one work-item per logit.
- lstm_cell and its gradient (kernels/rnn.cl): one work-item per unit of the state.
Only float32/float64 have kernels; other dtypes take the composed defaults. Conv and
pooling are kernel hooks here: shapes, empty cases and the conv plan are
framework/buffer_backend.py's.
"""
import numpy as np

from framework import dtypes as dt
from framework.device import View
from framework.fused.nn_ops import NNOps, disjoint_windows

from . import runtime as rt

_FLOATS = (dt.float32, dt.float64)
_WG0 = 64       # work-group extent along dim 0 (kernels bounds-check dims 0 and 1)
_WG = 256       # work-group size of the 3-d kernels: PoCL pays per work-group, so not small
_LN_WG = 256    # largest layer-norm work-group


def _i32(*xs):
    return np.array(xs, np.int32).tobytes()


def _check_extent(*sizes):
    # the gather kernels divide positions in float (exact below 2**22)
    if max(sizes) >= 2**22:
        raise RuntimeError("opencl backend: conv/pool spatial sizes must be below 2**22")


def _ceil(a, b):
    return -(-a // b) * b


class CLNNOps:
    # -- plumbing ------------------------------------------------------------------------
    def _nn_kernel(self, file, name, dtype):
        return self.rt.kernel(file, name, (("T", self.ctype(dtype)),))

    def _nn_launch(self, kern, gsize, lsize, *args):
        """Buffers (Views or cl objects) and raw-bytes arguments (packed structs, scalars),
        set in order, then enqueued without waiting."""
        for i, a in enumerate(args):
            if isinstance(a, bytes):
                kern._set_arg_buf(i, a)   # PyOpenCL's generic set_arg is ~10 us per scalar
            else:
                kern.set_arg(i, a.buf.mem if isinstance(a, View) else a)
        self.rt.submit(kern, gsize, lsize)

    def _grid(self, n0, n1=1, n2=1):
        """(global, local) sizes for n0 x n1 x n2 work-items: work-groups of _WG0 x r x 1,
        r as large as the device and n1 allow, the global size rounded up to them."""
        lim = self.rt.lim
        cap = lim.invocations
        if min(cap, lim.item_sizes[0]) < _WG0:
            return (n0, n1, n2), None
        r = 1
        while r * 2 * _WG0 <= min(cap, _WG) and r * 2 <= min(n1, lim.item_sizes[1]):
            r *= 2
        return (_ceil(n0, _WG0), _ceil(n1, r), n2), (_WG0, r, 1)

    # -- convolution and pooling: kernel hooks of framework/buffer_backend.py -----------
    def _conv_params(self, x_shape, x_strides, x_off, w_shape, stride, padding, dilation,
                     groups, out_hw, n, bias=None):
        N, C, H, W = x_shape
        O, Cg, KH, KW = w_shape
        _check_extent(H + 2 * padding[0], W + 2 * padding[1])
        L = out_hw[0] * out_hw[1]
        K = Cg * KH * KW
        # columns [g][k][n][l]: strides of n, g, k
        cols = (L, K * N * L, N * L)
        b = (bias.strides[0], bias.offset, 1) if bias is not None else (0, 0, 0)
        return _i32(N, C, H, W, groups, Cg, KH, KW, *out_hw, *stride, *padding, *dilation,
                    *cols, *x_strides, x_off, O, *b)

    def _im2col(self, x, w_shape, stride, padding, dilation, groups, out_hw):
        N, C, H, W = x.shape
        _, Cg, KH, KW = w_shape
        L = out_hw[0] * out_hw[1]
        cols = self.new((groups, Cg * KH * KW, N * L), x.dtype)
        p = self._conv_params(x.shape, x.strides, x.offset, w_shape, stride, padding, dilation,
                              groups, out_hw, N)
        self._nn_launch(self._nn_kernel("conv.cl", "im2col", x.dtype), *self._grid(L, C, N),
                        cols, x, p)
        return cols

    def _grad_onl(self, grad):
        N, O, oh, ow = grad.shape
        s = grad.strides
        if not (s[3] == 1 and s[2] == ow):
            return super()._grad_onl(grad)
        # rows of L in place: a plain transposing copy
        g = self.new((O, N, oh, ow), grad.dtype)
        self._nn_launch(self._nn_kernel("conv.cl", "to_onl", grad.dtype),
                        *self._grid(oh * ow, N, O), g, grad,
                        _i32(N, O, oh * ow, s[0], s[1], grad.offset))
        return g

    def _conv_out(self, out, r, bias, x, w_shape, stride, padding, dilation, groups):
        N, O, oh, ow = out.shape
        p = self._conv_params(x.shape, x.strides, x.offset, w_shape, stride, padding,
                              dilation, groups, (oh, ow), N, bias)
        self._nn_launch(self._nn_kernel("conv.cl", "conv_out", x.dtype),
                        *self._grid(oh * ow, O, N), out, r, r if bias is None else bias, p)

    def _col2im(self, out, cols, w_shape, stride, padding, dilation, groups, out_hw):
        N, C, H, W = out.shape
        p = self._conv_params(out.shape, (0, 0, 0, 0), 0, w_shape, stride, padding, dilation,
                              groups, out_hw, N)
        self._nn_launch(self._nn_kernel("conv.cl", "col2im", out.dtype),
                        *self._grid(H * W, N * C), out, cols, p)

    @staticmethod
    def _pool_params(C, H, W, oh, ow, kernel, stride, padding, dilation, v, planes,
                     count_include_pad=True, divisor=0):
        _check_extent(H + 2 * padding[0], W + 2 * padding[1])
        return _i32(C, H, W, oh, ow, *kernel, *stride, *padding, *dilation, *v.strides,
                    v.offset, int(bool(count_include_pad)), int(divisor or 0), planes)

    def _max_pool_kernel(self, out, ind, x, kernel, stride, padding, dilation):
        N, C, H, W = x.shape
        oh, ow = out.shape[2:]
        p = self._pool_params(C, H, W, oh, ow, kernel, stride, padding, dilation, x, N * C)
        self._nn_launch(self._nn_kernel("pool.cl", "max_pool", x.dtype),
                        *self._grid(oh * ow, N * C), out, ind, x, p)

    def _max_pool_grad_kernel(self, out, grad, ind, kernel, stride, padding, dilation):
        N, C, H, W = out.shape
        oh, ow = grad.shape[2:]
        p = self._pool_params(C, H, W, oh, ow, kernel, stride, padding, dilation, grad, N * C)
        if disjoint_windows(kernel, stride, dilation):
            # disjoint windows: zero fill + one write per output (~4x faster on PoCL than
            # gathering over the windows of every input pixel)
            rt.cl.enqueue_fill_buffer(self.rt.queue, out.buf.mem, np.zeros(1, grad.dtype.np),
                                      0, out.numel * grad.dtype.itemsize)
            self._nn_launch(self._nn_kernel("pool.cl", "max_pool_grad_disjoint", grad.dtype),
                            *self._grid(oh * ow, N * C), out, grad, ind, p)
        else:
            self._nn_launch(self._nn_kernel("pool.cl", "max_pool_grad", grad.dtype),
                            *self._grid(H * W, N * C), out, grad, ind, p)

    def _avg_pool_kernel(self, out, x, kernel, stride, padding, count_include_pad, divisor):
        N, C, H, W = x.shape
        oh, ow = out.shape[2:]
        p = self._pool_params(C, H, W, oh, ow, kernel, stride, padding, (1, 1), x, N * C,
                              count_include_pad=count_include_pad, divisor=divisor)
        self._nn_launch(self._nn_kernel("pool.cl", "avg_pool", x.dtype),
                        *self._grid(oh * ow, N * C), out, x, p)

    def _avg_pool_grad_kernel(self, out, grad, kernel, stride, padding, count_include_pad,
                              divisor):
        N, C, H, W = out.shape
        oh, ow = grad.shape[2:]
        p = self._pool_params(C, H, W, oh, ow, kernel, stride, padding, (1, 1), grad, N * C,
                              count_include_pad=count_include_pad, divisor=divisor)
        self._nn_launch(self._nn_kernel("pool.cl", "avg_pool_grad", grad.dtype),
                        *self._grid(H * W, N * C), out, grad, p)

    # -- cross-entropy (kernels/norm.cl) ---------------------------------------------------
    def cross_entropy(self, x, target, ignore_index, reduction):
        N, C = x.shape
        if x.dtype not in _FLOATS or not N * C:
            return NNOps.cross_entropy(self, x, target, ignore_index, reduction)
        logp, loss = self.new((N, C), x.dtype), self.new((N,), x.dtype)
        total, count = self.new((), x.dtype), self.new((), x.dtype)
        t, ignore = self._dense(target), np.int64(ignore_index).tobytes()
        wg = self._ln_wg(C)
        self._nn_launch(self._nn_kernel("norm.cl", "cross_entropy", x.dtype), (N * wg,), (wg,),
                        logp, loss, self._dense(x), t, ignore, _i32(C),
                        rt.cl.LocalMemory(wg * x.dtype.itemsize))
        wg = self._ln_wg(N)
        flags = (reduction != "none") | ((reduction == "mean") << 1)
        self._nn_launch(self._nn_kernel("norm.cl", "cross_entropy_total", x.dtype), (wg,),
                        (wg,), total, count, loss, t, ignore, _i32(N), _i32(flags),
                        rt.cl.LocalMemory(wg * x.dtype.itemsize))
        return (loss if reduction == "none" else total), logp, count

    def cross_entropy_grad(self, logp, target, ignore_index, reduction, grad, count):
        N, C = logp.shape
        if logp.dtype not in _FLOATS or not N * C:
            return NNOps.cross_entropy_grad(self, logp, target, ignore_index, reduction, grad,
                                            count)
        out = self.new((N, C), logp.dtype)
        flags = (reduction == "none") | ((reduction == "mean") << 1)
        self._nn_launch(self._nn_kernel("norm.cl", "cross_entropy_grad", logp.dtype),
                        *self._grid(C, N), out, self._dense(logp), self._dense(target),
                        self._dense(grad), self._dense(count), np.int64(ignore_index).tobytes(),
                        _i32(N), _i32(C), _i32(flags))
        return out

    # -- recurrent cells -----------------------------------------------------------------
    def lstm_cell(self, gates, c):
        if c.dtype not in _FLOATS:
            return NNOps.lstm_cell(self, gates, c)
        N, H = c.shape
        h, c2, tc = (self.new((N, H), c.dtype) for _ in range(3))
        act = self.new((N, 4 * H), c.dtype)
        if N * H:
            self._nn_launch(self._nn_kernel("rnn.cl", "lstm_cell", c.dtype), *self._grid(H, N),
                            h, c2, act, tc, self._dense(gates), self._dense(c), _i32(N), _i32(H))
        return h, c2, act, tc

    def lstm_cell_grad(self, dh, dc, act, c_prev, tanh_c):
        if act.dtype not in _FLOATS:
            return NNOps.lstm_cell_grad(self, dh, dc, act, c_prev, tanh_c)
        N, H = c_prev.shape
        dgates, dcp = self.new((N, 4 * H), act.dtype), self.new((N, H), act.dtype)
        if N * H:
            self._nn_launch(self._nn_kernel("rnn.cl", "lstm_cell_grad", act.dtype),
                            *self._grid(H, N), dgates, dcp,
                            *(self._dense(v) for v in (dh, dc, act, c_prev, tanh_c)),
                            _i32(N), _i32(H))
        return dgates, dcp

    # -- layer norm ----------------------------------------------------------------------
    def _ln_wg(self, n):
        """Work-group size for rows of n: a power of two, at most what the device takes."""
        cap = min(_LN_WG, self.rt.lim.group_size)
        wg = 1
        while wg * 2 <= cap and wg < n:
            wg *= 2
        return wg

    def layer_norm(self, x, weight, bias, normalized_ndim, eps):
        if x.dtype not in _FLOATS:
            return NNOps.layer_norm(self, x, weight, bias, normalized_ndim, eps)
        lead = tuple(x.shape[:len(x.shape) - normalized_ndim])
        rows = int(np.prod(lead, dtype=np.int64))
        n = x.numel // rows if rows else 0
        stat_shape = lead + (1,) * normalized_ndim
        y = self.new(x.shape, x.dtype)
        mean, rstd = self.new(stat_shape, x.dtype), self.new(stat_shape, x.dtype)
        if not x.numel:
            return y, mean, rstd
        xd = self._dense(x)
        w = self._dense(weight) if weight is not None else xd
        b = self._dense(bias) if bias is not None else xd
        flags = (weight is not None) | ((bias is not None) << 1)
        wg = self._ln_wg(n)
        self._nn_launch(self._nn_kernel("norm.cl", "layer_norm", x.dtype), (rows * wg,), (wg,),
                        y, mean, rstd, xd, w, b, _i32(n), _i32(flags),
                        np.array(eps, x.dtype.np).tobytes(),
                        rt.cl.LocalMemory(wg * x.dtype.itemsize))
        return y, mean, rstd

    def layer_norm_grad(self, grad, x, weight, mean, rstd, normalized_ndim):
        if x.dtype not in _FLOATS:
            return NNOps.layer_norm_grad(self, grad, x, weight, mean, rstd, normalized_ndim)
        nd = len(x.shape)
        norm_shape = tuple(x.shape[nd - normalized_ndim:])
        rows = int(np.prod(x.shape[:nd - normalized_ndim], dtype=np.int64))
        n = int(np.prod(norm_shape, dtype=np.int64))
        gx = self.new(x.shape, x.dtype)
        if not x.numel:
            gw = self.full(norm_shape, 0, x.dtype) if weight is not None else None
            return gx, gw, self.full(norm_shape, 0, x.dtype)
        g, xd = self._dense(grad), self._dense(x)
        m, r = self._dense(mean), self._dense(rstd)
        w = self._dense(weight) if weight is not None else xd
        flags = _i32(int(weight is not None))
        wg = self._ln_wg(n)
        self._nn_launch(self._nn_kernel("norm.cl", "layer_norm_grad_x", x.dtype),
                        (rows * wg,), (wg,), gx, g, xd, w, m, r, _i32(n), flags,
                        rt.cl.LocalMemory(wg * x.dtype.itemsize))
        # Column sums: split the rows into S slices so that ~16K work-items run.
        S = max(1, min(rows, 16384 // n, 256))
        gb = self.new(norm_shape, x.dtype)
        gw = self.new(norm_shape, x.dtype) if weight is not None else None
        pw, pb = (gw, gb) if S == 1 else (self.new((S, n), x.dtype) if weight is not None
                                          else gb, self.new((S, n), x.dtype))
        self._nn_launch(self._nn_kernel("norm.cl", "layer_norm_grad_wb", x.dtype),
                        *self._grid(n, S), pw if weight is not None else pb, pb, g, xd, m, r,
                        _i32(n), _i32(rows), _i32(S), flags)
        if S > 1:
            self._nn_launch(self._nn_kernel("norm.cl", "layer_norm_grad_wb_final", x.dtype),
                            *self._grid(n), gw if weight is not None else gb, gb,
                            pw if weight is not None else pb, pb, _i32(n), _i32(S), flags)
        return gx, gw, gb
