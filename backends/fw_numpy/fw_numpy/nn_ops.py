"""NumPy versions of the fused layer ops (see framework/fused/nn_ops.py).

Same contract and results as the composed defaults, with fewer temporaries: im2col is
an `as_strided` window view copied once into matmul layout (as flat runs for stride-1
convolutions, see below), col2im a loop of in-place strided adds, max-pool backward a
plain scatter for disjoint windows and a `bincount` otherwise.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from framework import dtypes as dt
from framework.fused.nn_ops import _avg_divisors, _out_size, disjoint_windows

from .threads import adapt as adapt_threads


def _padded(a, padding, value=0, extra=(0, 0)):
    ph, pw = padding
    if ph == pw == extra[0] == extra[1] == 0:
        return a
    return np.pad(a, ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1])),
                  constant_values=value)


def _extra(size, n, k, s, p, d):
    """Padding beyond the symmetric `p` that the last window (ceil_mode) needs."""
    return max(0, (n - 1) * s + d * (k - 1) + 1 - size - 2 * p)


def _cols(a, kernel, stride, dilation, out_hw, kernel_last=False):
    """(N, C, KH, KW, OH, OW) windows of padded `a` (or (N, C, OH, OW, KH, KW)); no copy."""
    N, C = a.shape[:2]
    sN, sC, sH, sW = a.strides
    ks = (kernel[0], kernel[1]), (dilation[0] * sH, dilation[1] * sW)
    os_ = tuple(out_hw), (stride[0] * sH, stride[1] * sW)
    if kernel_last:
        return as_strided(a, (N, C) + os_[0] + ks[0], (sN, sC) + os_[1] + ks[1], writeable=False)
    return as_strided(a, (N, C) + ks[0] + os_[0], (sN, sC) + ks[1] + os_[1], writeable=False)


def _col2im(cols, input_shape, stride, padding, dilation):
    """Add (N, C, KH, KW, OH, OW) window values back into (N, C, H, W)."""
    N, C, H, W = input_shape
    kh, kw, oh, ow = cols.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    hp = max(H + 2 * ph, (oh - 1) * sh + dh * (kh - 1) + 1)
    wp = max(W + 2 * pw, (ow - 1) * sw + dw * (kw - 1) + 1)
    out = np.zeros((N, C, hp, wp), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            # within one (i, j) the target cells are distinct: a plain strided +=
            out[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                j * dw:j * dw + (ow - 1) * sw + 1:sw] += cols[:, :, i, j]
    if (hp, wp) != (H, W):
        out = np.ascontiguousarray(out[:, :, ph:ph + H, pw:pw + W])
    return out


# Stride-1 convolutions with enough taps per output (C/groups * KH * KW) run as one GEMM
# over "flat runs": in a padded, contiguous (N, C, H, W) input, the window tap (c, i, j) of
# the outputs of sample n is the contiguous run x[n, c].flat[i*dh*W + j*dw:][:L] with
# L = (OH-1)*W + OW, output (r, s) at position r*W + s (positions with s >= OW are junk,
# skipped when reading the result and zero in the gradients). im2col then copies runs of
# L elements instead of OW, col2im adds them back, and each product is one large GEMM that
# BLAS spreads over its threads, instead of one small GEMM per sample.
_FLAT_MIN_TAPS = 32


def _flat_ok(stride, taps):
    return stride == (1, 1) and taps >= _FLAT_MIN_TAPS


def _flat_cols(a, kernel, dilation, oh, ow):
    """((C*KH*KW, N*L) im2col of contiguous `a`, L)."""
    N, C, H, W = a.shape
    L = (oh - 1) * W + ow
    sN, sC, sH, sW = a.strides
    v = as_strided(a, (C, kernel[0], kernel[1], N, L),
                   (sC, dilation[0] * sH, dilation[1] * sW, sN, sW), writeable=False)
    return np.ascontiguousarray(v).reshape(-1, N * L), L


def _flat_out(flat, N, oh, ow, W, L):
    """The (O, N*L) flat-run result (any strides) as (N, O, OH, OW), a strided view (no copy)."""
    so, sp = flat.strides
    return as_strided(flat, (N, flat.shape[0], oh, ow), (L * sp, so, W * sp, sp),
                      writeable=False)


# OpenBLAS is slow for products with few rows and many columns, such as the (O, K) @ (K, N*L)
# of a 64-channel convolution: 22 GFLOP/s on one core of the project's machine against 33
# for the same product transposed, (N*L, K) @ (K, O). Up to this many output channels the
# forward and the weight gradient compute the transposed product.
_FEW_ROWS = 64


def _few_rows_matmul(a, b):
    """a @ b as the transpose of b.T @ a.T (a view with strides swapped, not a copy)."""
    return np.matmul(b.T, a.T).T


def _flat_grad(g, W):
    """(O, N*L) flat-run layout of the output gradient, zero at the junk positions."""
    N, O, oh, ow = g.shape
    L = (oh - 1) * W + ow
    flat = np.zeros((O, N * L), g.dtype)
    it = flat.itemsize
    as_strided(flat, (N, O, oh, ow), (L * it, N * L * it, W * it, it))[...] = g
    return flat, L


def _grouped_matmul(a, b, groups, out):
    """out = a @ b per group, the groups being equal blocks of rows of a (and out) and b."""
    ra, rb = a.shape[0] // groups, b.shape[0] // groups
    for gi in range(groups):
        np.matmul(a[gi * ra:(gi + 1) * ra], b[gi * rb:(gi + 1) * rb], out=out[gi * ra:(gi + 1) * ra])
    return out


def _flat_conv(a, w, padding, dilation, groups, oh, ow):
    """A stride-1 convolution as one GEMM over flat runs: (N, O, OH, OW), writeable."""
    N = a.shape[0]
    O, Cg, KH, KW = w.shape
    K = Cg * KH * KW
    ap = np.ascontiguousarray(_padded(a, padding))
    cols, L = _flat_cols(ap, (KH, KW), dilation, oh, ow)
    if groups == 1 and O <= _FEW_ROWS:
        flat = _few_rows_matmul(w.reshape(O, K), cols)
    else:
        flat = _grouped_matmul(w.reshape(O, K), cols, groups, np.empty((O, cols.shape[1]), a.dtype))
    return np.array(_flat_out(flat, N, oh, ow, ap.shape[3], L))  # a copy, writeable


def _grad_input_as_conv(g, w, input_shape, padding, dilation):
    """The input gradient of a stride-1, ungrouped convolution as a forward convolution of
    the output gradient, padded by d*(k-1)-p, with the kernel flipped and its channel axes
    swapped: one im2col copy and GEMM instead of a GEMM into window columns and a col2im
    of KH*KW strided adds. None where the padding exceeds d*(k-1)."""
    _, _, KH, KW = w.shape
    q = (dilation[0] * (KH - 1) - padding[0], dilation[1] * (KW - 1) - padding[1])
    if min(q) < 0:
        return None
    wf = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, O, KH, KW)
    return _flat_conv(g, wf, q, dilation, 1, input_shape[2], input_shape[3])


def _flat_grad_input(g, w, input_shape, padding, dilation, groups):
    N, C, H, W = input_shape
    O, Cg, KH, KW = w.shape
    (ph, pw), (dh, dw) = padding, dilation
    Hp, Wp = H + 2 * ph, W + 2 * pw
    gflat, L = _flat_grad(g, Wp)
    # (C*KH*KW, N*L) window gradients; the groups' blocks of w.T pair with blocks of gflat
    wt = w.reshape(groups, O // groups, Cg * KH * KW).transpose(0, 2, 1).reshape(-1, O // groups)
    cols = _grouped_matmul(wt, gflat, groups, np.empty((C * KH * KW, gflat.shape[1]), g.dtype))
    cols = cols.reshape(C, KH, KW, N, L)
    out = np.zeros((C, N, Hp * Wp), g.dtype)
    for i in range(KH):
        for j in range(KW):
            start = i * dh * Wp + j * dw
            out[:, :, start:start + L] += cols[:, i, j]
    out = out.reshape(C, N, Hp, Wp)[:, :, ph:ph + H, pw:pw + W]
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))


def _tiled_max_pool(a, kh, kw, oh, ow):
    """Max pooling whose windows tile the input (kernel == stride, no padding/dilation),
    the common `MaxPool2d(2)`: (values, flat indices) from one pass per window cell over
    strided views, with no copy of the windows; None when a window holds a NaN (the
    general path then picks the index)."""
    N, C, H, W = a.shape
    sN, sC, sH, sW = a.strides
    tiles = as_strided(a, (N, C, oh, kh, ow, kw), (sN, sC, kh * sH, sH, kw * sW, sW),
                       writeable=False)
    cells = [tiles[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
    values = cells[0].copy()
    for c in cells[1:]:
        np.maximum(values, c, out=values)
    if np.isnan(values).any():
        return None
    # The first cell equal to the max, as a nested product of "not this one" flags:
    # k = !e0 * (1 + !e1 * (1 + ... !e[n-2])), which is n - 1 when no earlier cell matches.
    n = len(cells)
    k = np.zeros(values.shape, np.uint8 if n < 256 else np.int32)
    for i in range(n - 2, -1, -1):
        k += 1
        k *= cells[i] != values
    # cell k sits at (k // kw) * W + k % kw == (k // kw) * (W - kw) + k past its window's
    # corner: integer arithmetic, cheaper than a table lookup per element
    indices = (k // kw).astype(np.int64)
    indices *= W - kw
    indices += k
    indices += (np.arange(oh) * kh * W)[:, None] + np.arange(ow) * kw
    return values, indices


def _counted(t, ignore_index):
    """(mask of counted targets, or None when all are; targets safe to index with; count)."""
    valid = t != ignore_index
    n = np.count_nonzero(valid)
    if n == t.size:
        return None, t, n
    return valid, np.where(valid, t, 0), n


# float dtype -> the integer dtype of its size, to select floats with bit masks
_BITS = {np.dtype(np.float16): np.int16, np.dtype(np.float32): np.int32,
         np.dtype(np.float64): np.int64}


class NumpyNNOps:
    # -- activations -----------------------------------------------------------------------
    def relu_backward(self, grad, out):
        g, o = self._np(grad), self._np(out)
        ints = _BITS.get(g.dtype)
        if ints is None or o.dtype != g.dtype:
            return super().relu_backward(grad, out)
        # grad AND an all-ones mask where out > 0 (or NaN): exact, and several times faster
        # than np.where, which branches on every element of a random sign pattern
        m = np.less_equal(o, 0).astype(ints)  # 1 where the gradient is dropped
        m -= 1
        m &= g.view(ints)
        return self._wrap(m.view(g.dtype), grad.dtype)

    # -- recurrent cells ---------------------------------------------------------------------
    def lstm_cell(self, gates, c):
        a, cp = self._np(gates), self._np(c)
        H = cp.shape[1]
        with np.errstate(over="ignore"):  # exp overflows to inf: sigmoid 0, as it should
            act = self._unary("sigmoid", a)
        act[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        i, f, g, o = (act[:, k * H:(k + 1) * H] for k in range(4))
        c2 = f * cp
        c2 += i * g
        tc = np.tanh(c2)
        return (self._wrap(o * tc, c.dtype), self._wrap(c2, c.dtype), self._wrap(act, c.dtype),
                self._wrap(tc, c.dtype))

    def lstm_cell_grad(self, dh, dc, act, c_prev, tanh_c):
        a, dh_, tc = self._np(act), self._np(dh), self._np(tanh_c)
        H = tc.shape[1]
        i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
        dct = tc * tc
        np.subtract(1, dct, out=dct)
        dct *= o
        dct *= dh_
        dct += self._np(dc)
        d = np.empty_like(a)
        for k, (x, y, s) in enumerate(((dct, g, i), (dct, self._np(c_prev), f), (dct, i, None),
                                       (dh_, tc, o))):
            dk = np.multiply(x, y, out=d[:, k * H:(k + 1) * H])
            dk *= 1 - g * g if s is None else s - s * s  # tanh' or sigmoid' from the output
        dct *= f
        return self._wrap(d, act.dtype), self._wrap(dct, act.dtype)

    # -- losses ----------------------------------------------------------------------------
    @np.errstate(invalid="ignore", over="ignore")  # an inf logit gives NaN, quietly as PyTorch
    def cross_entropy(self, x, target, ignore_index, reduction):
        a, t = self._np(x), self._np(target)
        logp = a - a.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        valid, safe, n = _counted(t, ignore_index)
        loss = -logp[np.arange(len(t)), safe]
        if valid is not None:
            loss[~valid] = 0
        count = np.asarray(n, a.dtype)
        if reduction != "none":
            loss = loss.sum(dtype=a.dtype)
            if reduction == "mean":  # no counted target: NaN, as PyTorch
                loss = loss / count if n else np.asarray(np.nan, a.dtype)
        return self._wrap(loss, x.dtype), self._wrap(logp, x.dtype), self._wrap(count, x.dtype)

    def cross_entropy_grad(self, logp, target, ignore_index, reduction, grad, count):
        lp, t, g = self._np(logp), self._np(target), self._np(grad)
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # no counted target
                g = g / self._np(count)
        valid, safe, _ = _counted(t, ignore_index)
        s = np.broadcast_to(g, t.shape) if valid is None else np.where(valid, g, 0)
        out = np.exp(lp)
        out *= s.astype(lp.dtype, copy=False)[:, None]
        out[np.arange(len(t)), safe] -= s
        return self._wrap(out, logp.dtype)

    # -- convolution -----------------------------------------------------------------------
    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        adapt_threads()
        a, w = self._np(x), self._np(weight)
        N, C, H, W = a.shape
        O, Cg, KH, KW = w.shape
        oh = _out_size(H, KH, stride[0], padding[0], dilation[0])
        ow = _out_size(W, KW, stride[1], padding[1], dilation[1])
        K, Og = Cg * KH * KW, O // groups
        if _flat_ok(stride, K):
            out = _flat_conv(a, w, padding, dilation, groups, oh, ow)
            if bias is not None:
                out += self._np(bias).reshape(O, 1, 1)
            return self._wrap(out, x.dtype)
        cols = _cols(_padded(a, padding), (KH, KW), stride, dilation, (oh, ow))
        if groups == 1:
            # (O, K) @ (N, K, L): one batched matmul whose result is already NCHW
            out = np.matmul(w.reshape(O, K), cols.reshape(N, K, oh * ow))
        else:
            out = np.empty((N, O, oh * ow), a.dtype)
            for gi in range(groups):
                c = cols[:, gi * Cg:(gi + 1) * Cg].reshape(N, K, oh * ow)
                np.matmul(w[gi * Og:(gi + 1) * Og].reshape(Og, K), c, out=out[:, gi * Og:(gi + 1) * Og])
        out = out.reshape(N, O, oh, ow)
        if bias is not None:
            out += self._np(bias).reshape(O, 1, 1)
        return self._wrap(out, x.dtype)

    def conv2d_grad_input(self, grad, weight, input_shape, stride, padding, dilation, groups):
        adapt_threads()
        g, w = self._np(grad), self._np(weight)
        N, O, oh, ow = g.shape
        _, Cg, KH, KW = w.shape
        K, Og = Cg * KH * KW, O // groups
        if _flat_ok(stride, K):
            gi = None
            # measured faster where its GEMM takes the transposed form (few input channels)
            if groups == 1 and Cg <= _FEW_ROWS and _flat_ok(stride, O * KH * KW):
                gi = _grad_input_as_conv(g, w, tuple(input_shape), padding, dilation)
            if gi is None:
                gi = _flat_grad_input(g, w, tuple(input_shape), padding, dilation, groups)
            return self._wrap(gi, grad.dtype)
        g3 = g.reshape(N, O, oh * ow)
        if groups == 1:
            cols = np.matmul(w.reshape(O, K).T, g3)
        else:
            cols = np.empty((N, groups * K, oh * ow), g.dtype)
            for gi in range(groups):
                np.matmul(w[gi * Og:(gi + 1) * Og].reshape(Og, K).T, g3[:, gi * Og:(gi + 1) * Og],
                          out=cols[:, gi * K:(gi + 1) * K])
        cols = cols.reshape(N, groups * Cg, KH, KW, oh, ow)
        return self._wrap(_col2im(cols, tuple(input_shape), stride, padding, dilation), grad.dtype)

    def conv2d_grad_weight(self, grad, x, weight_shape, stride, padding, dilation, groups):
        adapt_threads()
        g, a = self._np(grad), self._np(x)
        N, O, oh, ow = g.shape
        _, Cg, KH, KW = weight_shape
        Og = O // groups
        K = Cg * KH * KW
        if _flat_ok(stride, K):
            ap = np.ascontiguousarray(_padded(a, padding))
            cols, L = _flat_cols(ap, (KH, KW), dilation, oh, ow)
            gflat, _ = _flat_grad(g, ap.shape[3])
            if groups == 1 and O <= _FEW_ROWS:
                out = np.ascontiguousarray(_few_rows_matmul(gflat, cols.T))
                return self._wrap(out.reshape(tuple(weight_shape)), grad.dtype)
            out = np.empty((O, K), a.dtype)
            for gi in range(groups):
                np.matmul(gflat[gi * Og:(gi + 1) * Og], cols[gi * K:(gi + 1) * K].T,
                          out=out[gi * Og:(gi + 1) * Og])
            return self._wrap(out.reshape(tuple(weight_shape)), grad.dtype)
        cols = _cols(_padded(a, padding), (KH, KW), stride, dilation, (oh, ow))
        L = oh * ow
        g3 = g.reshape(N, O, L)
        out = np.empty((O, K), a.dtype)
        for gi in range(groups):
            # per-sample (Og, L) @ (L, K) products summed over N: many small BLAS calls beat
            # one tall one here (and tensordot's transposing copies)
            c = cols[:, gi * Cg:(gi + 1) * Cg].reshape(N, K, L)
            np.matmul(g3[:, gi * Og:(gi + 1) * Og], c.transpose(0, 2, 1)).sum(0, out=out[gi * Og:(gi + 1) * Og])
        out = out.reshape(tuple(weight_shape))
        return self._wrap(out, grad.dtype)

    # -- pooling ---------------------------------------------------------------------------
    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        a = self._np(x)
        N, C, H, W = a.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh = _out_size(H, kh, sh, ph, dh, ceil_mode)
        ow = _out_size(W, kw, sw, pw, dw, ceil_mode)
        if ((kh, kw) == (sh, sw) and (ph, pw) == (0, 0) and (dh, dw) == (1, 1)
                and oh * kh <= H and ow * kw <= W and a.dtype.kind == "f"):
            found = _tiled_max_pool(a, kh, kw, oh, ow)
            if found is not None:
                return self._wrap(found[0], x.dtype), self._wrap(found[1], dt.int64)
        low = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
        xp = _padded(a, padding, low, (_extra(H, oh, kh, sh, ph, dh), _extra(W, ow, kw, sw, pw, dw)))
        win = _cols(xp, kernel, stride, dilation, (oh, ow), kernel_last=True).reshape(N, C, oh, ow, kh * kw)
        k = win.argmax(axis=4)[..., None]
        values = np.take_along_axis(win, k, 4)[..., 0]
        k = k[..., 0]
        nan = np.isnan(values) if a.dtype.kind == "f" else None
        if nan is not None and nan.any():  # PyTorch's index is the window's last NaN
            last = win.shape[4] - 1 - np.isnan(win[..., ::-1]).argmax(axis=4)
            k = np.where(nan, last, k)
        if xp is not a:
            # a max equal to the padding value may sit on a padding cell; PyTorch's index is
            # then the window's first in-bounds cell (first in-bounds row and column)
            at_low = values == low
            if at_low.any():
                kr = np.maximum(0, -((np.arange(oh) * sh - ph) // dh))
                kc = np.maximum(0, -((np.arange(ow) * sw - pw) // dw))
                k = np.where(at_low, kr[:, None] * kw + kc, k)
        # window cell k of output (i, j) is input row i*sh - ph + (k // kw)*dh, col likewise
        rows = (np.arange(oh) * sh - ph)[:, None] + (k // kw) * dh
        cols = (np.arange(ow) * sw - pw) + (k % kw) * dw
        return self._wrap(values, x.dtype), self._wrap(rows * W + cols, dt.int64)

    def max_pool2d_grad(self, grad, indices, input_shape, kernel, stride, padding, dilation):
        g, idx = self._np(grad), self._np(indices)
        N, C, H, W = input_shape
        planes = N * C
        flat = (idx.reshape(planes, -1) + (np.arange(planes) * (H * W))[:, None]).ravel()
        if disjoint_windows(kernel, stride, dilation):  # a plain scatter is the sum
            out = np.zeros(planes * H * W, g.dtype)
            out[flat] = g.reshape(-1)
        else:
            out = np.bincount(flat, weights=g.reshape(-1), minlength=planes * H * W)
            out = out.astype(g.dtype)
        return self._wrap(out.reshape(input_shape), grad.dtype)

    @staticmethod
    def _divisor(H, W, out_hw, kernel, stride, padding, count_include_pad, divisor_override, dtype):
        if divisor_override:
            return divisor_override
        return _avg_divisors((H, W), out_hw, kernel, stride, padding, count_include_pad).astype(dtype)

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        a = self._np(x)
        N, C, H, W = a.shape
        oh = _out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
        ow = _out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
        xp = _padded(a, padding, 0, (_extra(H, oh, kernel[0], stride[0], padding[0], 1),
                                     _extra(W, ow, kernel[1], stride[1], padding[1], 1)))
        out = _cols(xp, kernel, stride, (1, 1), (oh, ow), kernel_last=True).sum(axis=(4, 5))
        out /= self._divisor(H, W, (oh, ow), kernel, stride, padding, count_include_pad,
                             divisor_override, a.dtype)
        return self._wrap(out, x.dtype)

    def avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
        g = self._np(grad)
        N, C, H, W = input_shape
        oh, ow = g.shape[2:]
        g = g / self._divisor(H, W, (oh, ow), kernel, stride, padding, count_include_pad,
                              divisor_override, g.dtype)
        cols = as_strided(g, (N, C) + tuple(kernel) + (oh, ow),
                          g.strides[:2] + (0, 0) + g.strides[2:], writeable=False)
        return self._wrap(_col2im(cols, tuple(input_shape), stride, padding, (1, 1)), grad.dtype)

    # -- normalisation ---------------------------------------------------------------------
    def layer_norm(self, x, weight, bias, normalized_ndim, eps):
        a = self._np(x)
        axes = tuple(range(a.ndim - normalized_ndim, a.ndim))
        n = a.dtype.type(np.prod([a.shape[i] for i in axes], dtype=np.int64))
        # The mean as x0 + sum(x / n - x0 / n), x0 the row's first element: no overflow for
        # a large common value, and exact for a constant row (so its deviations are 0).
        x0 = a[(Ellipsis,) + (slice(0, 1),) * normalized_ndim]
        mean = x0 + np.sum(a / n - x0 / n, axis=axes, keepdims=True)
        y = a - mean
        with np.errstate(over="ignore", invalid="ignore"):
            var = np.mean(y * y, axis=axes, keepdims=True)
            # a variance past the dtype's range: NaN, not 0 (rsqrt(inf) = 0 would hide it)
            rstd = np.where(np.isposinf(var), a.dtype.type(np.nan), 1 / np.sqrt(var + eps))
            y *= rstd
        if weight is not None:
            y *= self._np(weight)
        if bias is not None:
            y += self._np(bias)
        return self._wrap(y, x.dtype), self._wrap(mean, x.dtype), self._wrap(rstd, x.dtype)

    def layer_norm_grad(self, grad, x, weight, mean, rstd, normalized_ndim):
        g, a, m, r = self._np(grad), self._np(x), self._np(mean), self._np(rstd)
        axes = tuple(range(a.ndim - normalized_ndim, a.ndim))
        lead = tuple(range(a.ndim - normalized_ndim))
        xhat = (a - m) * r
        gw = gb = None
        gxhat = g
        if weight is not None:
            gw = self._wrap((g * xhat).sum(axis=lead), x.dtype)
            gxhat = g * self._np(weight)
        gb = self._wrap(g.sum(axis=lead), x.dtype)
        gx = gxhat - gxhat.mean(axis=axes, keepdims=True)
        gx -= xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
        gx *= r
        return self._wrap(gx, x.dtype), gw, gb
