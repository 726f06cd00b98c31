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
Parameters travel in the Meta block's 32 stride words (`_params`). Only float dtypes have
kernels (float64 where the device has shader-f64); others take the composed defaults, as
do empty tensors.
"""
import numpy as np

from framework import dtypes as dt
from framework.device import View, contiguous_strides
from framework.fused.nn_ops import NNOps, _out_size

from .layout import pack
from .reduce import _INF


def _params(n, ints=(), floats=()):
    """Meta bytes: m.n = n and q(0..) = ints, then float32 bits of `floats` from q(8)."""
    a = np.zeros(64, np.int32)
    a[0] = n
    a[20:20 + len(ints)] = ints
    if floats:
        a[28:28 + len(floats)] = np.asarray(floats, np.float32).view(np.int32)
    return a.tobytes()


def _view(v, shape, strides=None, offset=None):
    shape = tuple(shape)
    return View(v.buf, shape, contiguous_strides(shape) if strides is None else tuple(strides),
                v.offset if offset is None else offset, v.dtype)


def _check_index(*sizes):
    if max(sizes) >= 2**31:
        raise RuntimeError("vulkan backend: conv/pool sizes beyond 32-bit indexing")


class VKNNOps:
    def _nn_kernel(self, file, entry, nbuf, dtype, extra=()):
        helper, subs = self._helpers(dtype)
        subs += (("NEGINF", _INF[self.wtype(dtype)][0]), ("I", self.wtype(dt.int64))) + extra
        return self.rt.kernel(helper + ("window.wgsl", file), entry, nbuf, subs)

    def _fused(self, dtype):
        return dtype.is_floating_point

    # -- convolution ---------------------------------------------------------------------
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

    def _grad_onl(self, grad):
        """grad (N, O, OH, OW), any strides, as a contiguous (O, N, OH, OW)."""
        N, O, oh, ow = grad.shape
        g = self.new((O, N, oh, ow), grad.dtype)
        s = grad.strides
        self._copy(g, _view(grad, (O, N, oh, ow), (s[1], s[0], s[2], s[3])))
        return g

    def _weight_groups(self, w, groups, transpose=False):
        """Weight (O, Cg, KH, KW) as (g, Og, K), or (g, K, Og) transposed (strided views
        of a contiguous copy: matmul reads any strides)."""
        w = w if w.is_contiguous() else self.contiguous(w)
        O, Cg, KH, KW = w.shape
        og, k = O // groups, Cg * KH * KW
        if transpose:
            return _view(w, (groups, k, og), (og * k, 1, k))
        return _view(w, (groups, og, k), (og * k, k, 1))

    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        N, C, H, W = x.shape
        O, Cg, KH, KW = weight.shape
        oh = _out_size(H, KH, stride[0], padding[0], dilation[0])
        ow = _out_size(W, KW, stride[1], padding[1], dilation[1])
        L = oh * ow
        if not self._fused(x.dtype) or N * O * L == 0 or Cg * KH * KW == 0:
            return NNOps.conv2d(self, x, weight, bias, stride, padding, dilation, groups)
        cols = self._im2col(x, weight.shape, stride, padding, dilation, groups, (oh, ow))
        r = self.matmul(self._weight_groups(weight, groups), cols)  # (g, Og, N*L) = (O, N, L)
        if N == 1 and bias is None:
            return _view(r, (1, O, oh, ow))
        out = self.new((N, O, oh, ow), x.dtype)
        ints = self._conv_ints(x.shape, x.strides, x.offset, weight.shape, stride, padding,
                               dilation, groups, (oh, ow), bias)
        self.launch(self._nn_kernel("conv.wgsl", "conv_out", 3, x.dtype),
                    (out, r, r if bias is None else bias), _params(out.numel, ints), out.numel)
        return out

    def conv2d_grad_input(self, grad, weight, input_shape, stride, padding, dilation, groups):
        N, C, H, W = input_shape
        _, O, oh, ow = grad.shape
        if not self._fused(grad.dtype):
            return NNOps.conv2d_grad_input(self, grad, weight, input_shape, stride, padding,
                                           dilation, groups)
        if N * C * H * W == 0 or O * oh * ow == 0:
            return self.full(tuple(input_shape), 0, grad.dtype)
        g = _view(self._grad_onl(grad), (groups, O // groups, N * oh * ow))
        cols = self.matmul(self._weight_groups(weight, groups, transpose=True), g)  # (g, K, NL)
        out = self.new(tuple(input_shape), grad.dtype)
        ints = self._conv_ints(tuple(input_shape), (0, 0, 0, 0), 0, weight.shape, stride,
                               padding, dilation, groups, (oh, ow))
        self.launch(self._nn_kernel("conv.wgsl", "col2im", 2, grad.dtype), (out, cols),
                    _params(out.numel, ints), out.numel)
        return out

    def conv2d_grad_weight(self, grad, x, weight_shape, stride, padding, dilation, groups):
        N, O, oh, ow = grad.shape
        _, Cg, KH, KW = weight_shape
        K, NL = Cg * KH * KW, N * oh * ow
        if not self._fused(grad.dtype):
            return NNOps.conv2d_grad_weight(self, grad, x, weight_shape, stride, padding,
                                            dilation, groups)
        if NL == 0 or K * O == 0:
            return self.full(tuple(weight_shape), 0, grad.dtype)
        g = _view(self._grad_onl(grad), (groups, O // groups, NL))
        cols = self._im2col(x, weight_shape, stride, padding, dilation, groups, (oh, ow))
        colsT = _view(cols, (groups, NL, K), (K * NL, 1, NL))
        return _view(self.matmul(g, colsT), tuple(weight_shape))   # (g, Og, K)

    # -- pooling -------------------------------------------------------------------------
    @staticmethod
    def _pool_ints(C, H, W, oh, ow, kernel, stride, padding, dilation, v,
                   count_include_pad=True, divisor=0):
        _check_index(v.shape[0] * C * H * W, v.shape[0] * C * oh * ow)
        return (C, H, W, oh, ow, *kernel, *stride, *padding, *dilation, *v.strides, v.offset,
                int(bool(count_include_pad)), int(divisor or 0))

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        if not self._fused(x.dtype):
            return NNOps.max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode)
        N, C, H, W = x.shape
        oh = _out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
        ow = _out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
        out, ind = self.new((N, C, oh, ow), x.dtype), self.new((N, C, oh, ow), dt.int64)
        if out.numel:
            ints = self._pool_ints(C, H, W, oh, ow, kernel, stride, padding, dilation, x)
            self.launch(self._nn_kernel("pool.wgsl", "max_pool", 3, x.dtype), (out, x, ind),
                        _params(out.numel, ints), out.numel)
        return out, ind

    def max_pool2d_grad(self, grad, indices, input_shape, kernel, stride, padding, dilation):
        if not self._fused(grad.dtype):
            return NNOps.max_pool2d_grad(self, grad, indices, input_shape, kernel, stride,
                                         padding, dilation)
        N, C, H, W = input_shape
        _, _, oh, ow = grad.shape
        out = self.new(tuple(input_shape), grad.dtype)
        if not out.numel:
            return out
        if not grad.numel:
            return self.full(tuple(input_shape), 0, grad.dtype)
        # the kernel reads ind as contiguous planes from the buffer's start
        ind = indices if indices.is_contiguous() and not indices.offset else \
            self.contiguous(indices)
        ints = self._pool_ints(C, H, W, oh, ow, kernel, stride, padding, dilation, grad)
        self.launch(self._nn_kernel("pool.wgsl", "max_pool_grad", 3, grad.dtype),
                    (out, grad, ind), _params(out.numel, ints), out.numel)
        return out

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        if not self._fused(x.dtype):
            return NNOps.avg_pool2d(self, x, kernel, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override)
        N, C, H, W = x.shape
        oh = _out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
        ow = _out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
        out = self.new((N, C, oh, ow), x.dtype)
        if out.numel:
            ints = self._pool_ints(C, H, W, oh, ow, kernel, stride, padding, (1, 1), x,
                                   count_include_pad, divisor_override)
            self.launch(self._nn_kernel("pool.wgsl", "avg_pool", 2, x.dtype), (out, x),
                        _params(out.numel, ints), out.numel)
        return out

    def avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
        if not self._fused(grad.dtype):
            return NNOps.avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding,
                                         ceil_mode, count_include_pad, divisor_override)
        N, C, H, W = input_shape
        _, _, oh, ow = grad.shape
        out = self.new(tuple(input_shape), grad.dtype)
        if out.numel:
            ints = self._pool_ints(C, H, W, oh, ow, kernel, stride, padding, (1, 1), grad,
                                   count_include_pad, divisor_override)
            self.launch(self._nn_kernel("pool.wgsl", "avg_pool_grad", 2, grad.dtype),
                        (out, grad), _params(out.numel, ints), out.numel)
        return out

    # -- softmax family ------------------------------------------------------------------
    def softmax(self, x, dim):
        return self._softmax(x, dim, 0)

    def log_softmax(self, x, dim):
        return self._softmax(x, dim, 1)

    def _softmax(self, x, dim, logsm):
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"softmax: expected a floating-point tensor, got {x.dtype}")
        v = self._as_1d(x)
        out = self.new(v.shape, x.dtype)
        if v.numel:
            ks = tuple(s for i, s in enumerate(v.shape) if i != dim)
            kst = tuple(s for i, s in enumerate(v.strides) if i != dim)
            okst = tuple(s for i, s in enumerate(out.strides) if i != dim)
            M, R = v.numel // v.shape[dim], v.shape[dim]
            meta = pack(ks, (kst, okst), (v.offset, 0),
                        x=(R, v.strides[dim], out.strides[dim], logsm), n=M)
            rows = R >= 64 or M < 256
            helper, subs = self._helpers(x.dtype)
            subs += (("NEGINF", _INF[self.wtype(x.dtype)][0]),)
            k = self.rt.kernel(helper + ("softmax.wgsl",), "rows" if rows else "cols", 2, subs)
            self.launch(k, (out, v), meta, M, 1 if rows else 64)
        return out if x.shape else View(out.buf, (), (), 0, x.dtype)
