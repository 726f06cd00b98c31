"""Fused layer ops (convolution, pooling, normalisation) with composed defaults.

The defaults below use only the primitives of `framework.device` (full, copy_, binary,
reduce, arg_reduce, matmul, contiguous, pad, gather, scatter, from_numpy), so a new
backend gets working layers for free. The trick that keeps them short: a strided View
over a padded input, (N, C, KH, KW, OH, OW) with the strides of the kernel and output
axes, *is* im2col; one `contiguous` materialises it and a `matmul` does the rest.
Small host-side index tables (pooling indices, divisors) go up with `from_numpy`.
"""
import math

import numpy as np


def _view(v, shape, strides=None, offset=None):
    """Another window on `v`'s buffer (contiguous strides by default)."""
    from ..device import View, contiguous_strides
    return View(v.buf, tuple(shape), contiguous_strides(shape) if strides is None else tuple(strides),
                v.offset if offset is None else offset, v.dtype)


def _out_size(size, k, s, p, d, ceil_mode=False):
    """PyTorch's output length of a window op; with ceil_mode the last window must start
    inside the input or the left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    n = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1
    return max(n, 0)


def _windows(be, x, kernel, stride, padding, dilation, out_hw, value, kernel_last):
    """x padded with `value` (extra bottom/right padding where ceil_mode needs it), seen as
    (N, C, KH, KW, OH, OW) windows, or (N, C, OH, OW, KH, KW) when `kernel_last`. A View,
    not copied: it holds the padded buffer."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    hp = max(H + 2 * ph, (oh - 1) * sh + dh * (kh - 1) + 1)
    wp = max(W + 2 * pw, (ow - 1) * sw + dw * (kw - 1) + 1)
    if (hp, wp) != (H, W):
        x = be.pad(x, ((0, 0), (0, 0), (ph, hp - H - ph), (pw, wp - W - pw)), value)
    sN, sC, sH, sW = x.strides
    ks, os_ = (dh * sH, dw * sW), (sh * sH, sw * sW)
    if kernel_last:
        return _view(x, (N, C, oh, ow, kh, kw), (sN, sC) + os_ + ks, x.offset)
    return _view(x, (N, C, kh, kw, oh, ow), (sN, sC) + ks + os_, x.offset)


def _avg_divisors(hw, out_hw, kernel, stride, padding, count_include_pad):
    """(OH, OW) NumPy table of what each average-pooling window's sum is divided by, as
    PyTorch counts it: windows stop at the padding's edge, and without count_include_pad
    the padded cells are not counted."""
    div = []
    for size, n, k, s, p in zip(hw, out_hw, kernel, stride, padding):
        start = np.arange(n) * s - p
        end = np.minimum(start + k, size + p)
        div.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
    return np.outer(div[0], div[1])


def disjoint_windows(kernel, stride, dilation):
    """Whether pooling windows never overlap (each stride >= the window's extent
    (kernel - 1) * dilation + 1): no input position is then the max of two outputs, and
    max_pool2d_grad is a plain scatter instead of a sum."""
    return all(s >= (k - 1) * d + 1 for k, s, d in zip(kernel, stride, dilation))


def _quarter(v, k):
    """Columns [k*H, (k+1)*H) of an (N, 4H) View: gate k of an LSTM."""
    H = v.shape[1] // 4
    return _view(v, (v.shape[0], H), v.strides, v.offset + k * H * v.strides[1])


def _contig(be, v):
    return v if v.is_contiguous() else be.contiguous(v)


def _col2im(be, cols, input_shape, kernel, stride, padding, dilation):
    """Sum (N, C, KH, KW, OH, OW) window values back into an (N, C, H, W) zeros tensor.
    Within one (kh, kw) the windows' cells are distinct, so each of the KH*KW strided
    slices is a plain add into a strided View of the (padded) output."""
    N, C, H, W = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = cols.shape[4], cols.shape[5]
    hp = max(H + 2 * ph, (oh - 1) * sh + dh * (kh - 1) + 1)
    wp = max(W + 2 * pw, (ow - 1) * sw + dw * (kw - 1) + 1)
    out = be.full((N, C, hp, wp), 0, cols.dtype)
    sN, sC, sH, sW = out.strides
    cN, cC, cKH, cKW, cOH, cOW = cols.strides
    for i in range(kh):
        for j in range(kw):
            dst = _view(out, (N, C, oh, ow), (sN, sC, sh * sH, sw * sW),
                        out.offset + i * dh * sH + j * dw * sW)
            src = _view(cols, (N, C, oh, ow), (cN, cC, cOH, cOW),
                        cols.offset + i * cKH + j * cKW)
            be.copy_(dst, be.binary("add", dst, src))
    if (hp, wp) == (H, W):
        return out
    return be.contiguous(_view(out, input_shape, out.strides, out.offset + ph * sH + pw * sW))


def _lowest(dtype):
    return -float("inf") if dtype.is_floating_point else int(np.iinfo(dtype.np).min)


class NNOps:
    # Spatial arguments are 2-tuples of ints: stride=(sh, sw), padding=(ph, pw) (symmetric,
    # zeros), dilation=(dh, dw), kernel=(kh, kw). Shapes are tuples. Layouts are PyTorch's:
    # x (N, C, H, W), weight (O, C // groups, KH, KW).

    def matmul_bias(self, a, b, bias):
        """`a @ b + bias` for a 2-d `a` (n, k), `b` (k, m) and a 1-d `bias` (m,): the
        forward of `linear`, where a backend can add the bias as it writes the product."""
        return self.binary("add", self.matmul(a, b), bias)

    def relu_backward(self, grad, out):
        """PyTorch's threshold_backward: 0 where `out` <= 0, else `grad` (so a NaN passes
        its gradient); `grad` and `out` have one shape and dtype."""
        return self.where(self.binary("le", out, 0), 0, grad)

    def cross_entropy(self, x, target, ignore_index, reduction):
        """Cross-entropy of (N, C) logits `x` against (N,) int64 `target`, each a class
        index or `ignore_index` (the caller has checked): (the loss: per sample, 0 where
        ignored, for reduction "none", else their 0-d "sum" or "mean" over the counted
        targets; log_softmax(x); the count of counted targets, 0-d, x's dtype)."""
        N = x.shape[0]
        valid = self.binary("ne", target, ignore_index)
        logp = self.log_softmax(x, 1)
        picked = self.gather(logp, 1, _view(self.where(valid, target, 0), (N, 1)))
        loss = self.where(valid, self.unary("neg", _view(picked, (N,))), 0)
        count = self.reduce("sum", self.cast(valid, x.dtype), (0,), False)
        if reduction != "none":
            loss = self.reduce("sum", loss, (0,), False)
            if reduction == "mean":
                loss = self.binary("div", loss, count)
        return loss, logp, count

    def cross_entropy_grad(self, logp, target, ignore_index, reduction, grad, count):
        """The gradient with respect to the logits of `cross_entropy`, from its log_softmax
        and count: (softmax - one_hot(target)) * g_n, rows of ignored targets 0, where g_n
        is `grad` (per sample for reduction "none", else 0-d), divided by `count` for
        "mean"."""
        N = logp.shape[0]
        scale = self.binary("div", grad, count) if reduction == "mean" else grad
        valid = self.binary("ne", target, ignore_index)
        s = _view(self.where(valid, scale, 0), (N, 1))
        out = self.binary("mul", self.unary("exp", logp), s)
        return self.scatter(out, 1, _view(self.where(valid, target, 0), (N, 1)),
                            self.unary("neg", s), True)

    def lstm_cell(self, gates, c):
        """One LSTM step from the pre-activation gates (N, 4H), in PyTorch's order input,
        forget, cell, output, and the cell state c (N, H): (o * tanh(c'), the new cell
        state c' = f * c + i * g, the gate activations (N, 4H): sigmoid of i, f, o and tanh
        of g, and tanh(c')), the last two kept for `lstm_cell_grad`."""
        act = self.unary("sigmoid", gates)
        self.copy_(_quarter(act, 2), self.unary("tanh", _quarter(gates, 2)))
        i, f, g, o = (_quarter(act, k) for k in range(4))
        c2 = self.binary("add", self.binary("mul", f, c), self.binary("mul", i, g))
        tc = self.unary("tanh", c2)
        return self.binary("mul", o, tc), c2, act, tc

    def lstm_cell_grad(self, dh, dc, act, c_prev, tanh_c):
        """The backward of `lstm_cell`: (the gradient of its gates (N, 4H), of c_prev) from
        the gradients dh of its first output and dc of c'."""
        mul, sub = (lambda a, b: self.binary("mul", a, b)), (lambda a, b: self.binary("sub", a, b))
        i, f, g, o = (_quarter(act, k) for k in range(4))
        dct = self.binary("add", dc, mul(mul(dh, o), sub(1, mul(tanh_c, tanh_c))))
        parts = [mul(mul(dct, g), sub(i, mul(i, i))), mul(mul(dct, c_prev), sub(f, mul(f, f))),
                 mul(mul(dct, i), sub(1, mul(g, g))), mul(mul(dh, tanh_c), sub(o, mul(o, o)))]
        return self.cat(parts, 1), mul(dct, f)

    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        """(N, O, OH, OW) cross-correlation; `bias` is an (O,) View or None."""
        N, C, H, W = x.shape
        O, Cg, KH, KW = weight.shape
        oh = _out_size(H, KH, stride[0], padding[0], dilation[0])
        ow = _out_size(W, KW, stride[1], padding[1], dilation[1])
        g, K, L = groups, Cg * KH * KW, oh * ow
        # im2col: (N, C, KH, KW, OH, OW) -> contiguous -> (N, g, Cg*KH*KW, OH*OW)
        cols = self.contiguous(_windows(self, x, (KH, KW), stride, padding, dilation,
                                        (oh, ow), 0, False))
        cols = _view(cols, (N, g, K, L))
        w = _contig(self, weight)
        w = _view(w, (N, g, O // g, K), (0, (O // g) * K, K, 1), w.offset)
        out = _view(self.matmul(w, cols), (N, O, oh, ow))  # (N, g, O/g, L) is (N, O, OH, OW)
        if bias is not None:
            out = self.binary("add", out, _view(bias, (O, 1, 1), (bias.strides[0], 1, 1)))
        return out

    def conv2d_grad_input(self, grad, weight, input_shape, stride, padding, dilation, groups):
        """d(loss)/dx of conv2d, shaped `input_shape` (also conv_transpose2d's forward)."""
        N, O, oh, ow = grad.shape
        _, Cg, KH, KW = weight.shape
        g, K = groups, Cg * KH * KW
        w = _contig(self, weight)
        wt = _view(w, (N, g, K, O // g), (0, (O // g) * K, 1, K), w.offset)  # W^T per group
        gr = _view(_contig(self, grad), (N, g, O // g, oh * ow))
        cols = _view(self.matmul(wt, gr), (N, g * Cg, KH, KW, oh, ow))
        return _col2im(self, cols, tuple(input_shape), (KH, KW), stride, padding, dilation)

    def conv2d_grad_weight(self, grad, x, weight_shape, stride, padding, dilation, groups):
        """d(loss)/dweight of conv2d, shaped `weight_shape`."""
        N, O, oh, ow = grad.shape
        _, Cg, KH, KW = weight_shape
        g, K, L = groups, Cg * KH * KW, oh * ow
        # One matmul over all of N: grad as (g, O/g, N*L) and windows as (g, N*L, K).
        cols = _windows(self, x, (KH, KW), stride, padding, dilation, (oh, ow), 0, True)
        sN, sC, sOH, sOW, sKH, sKW = cols.strides
        cols = self.contiguous(_view(cols, (g, N, oh, ow, Cg, KH, KW),
                                     (Cg * sC, sN, sOH, sOW, sC, sKH, sKW), cols.offset))
        cols = _view(cols, (g, N * L, K))
        gr = _contig(self, grad)
        gr = self.contiguous(_view(gr, (g, O // g, N, L), ((O // g) * L, L, O * L, 1), gr.offset))
        return _view(self.matmul(_view(gr, (g, O // g, N * L)), cols), tuple(weight_shape))

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        """(values, int64 indices): each index is the flat position h * W + w of the max
        in its input plane, as PyTorch's return_indices gives. Padding counts as -inf."""
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh = _out_size(H, kh, sh, ph, dh, ceil_mode)
        ow = _out_size(W, kw, sw, pw, dw, ceil_mode)
        win = self.contiguous(_windows(self, x, kernel, stride, padding, dilation, (oh, ow),
                                       _lowest(x.dtype), True))
        win = _view(win, (N, C, oh, ow, kh * kw))
        values = self.reduce("max", win, (4,), False)
        k = self.arg_reduce("argmax", win, 4, True)
        if x.dtype.is_floating_point:  # PyTorch's index of a window with NaN: its last NaN
            cells = self.from_numpy(np.arange(kh * kw, dtype=np.int64))
            cells = _view(cells, (N, C, oh, ow, kh * kw), (0, 0, 0, 0) + cells.strides,
                          cells.offset)
            isnan = self.binary("ne", win, win)
            last = self.arg_reduce("argmax", self.where(isnan, cells, -1), 4, True)
            k = self.where(self.reduce("any", isnan, (4,), True), last, k)
        # The input position of every window cell, computed on the host: a small table.
        hh = (np.arange(oh) * sh - ph)[:, None, None, None] + (np.arange(kh) * dh)[None, None, :, None]
        ww = (np.arange(ow) * sw - pw)[None, :, None, None] + (np.arange(kw) * dw)[None, None, None, :]
        table = self.from_numpy((hh * W + ww).reshape(oh, ow, kh * kw).astype(np.int64))
        table = _view(table, (N, C, oh, ow, kh * kw), (0, 0) + table.strides, table.offset)
        idx = self.gather(table, 4, k)
        return values, _view(idx, (N, C, oh, ow))

    def max_pool2d_grad(self, grad, indices, input_shape, kernel, stride, padding, dilation):
        """Scatter-add `grad` into zeros of `input_shape` at `indices` (per plane).

        `indices` are those max_pool2d made with the same kernel, stride, padding and
        dilation (2-tuples; the output size is grad's). The geometry lets a backend pick a
        faster form: with `disjoint_windows` a plain scatter (one write per output) equals
        the sum; otherwise positions chosen by several overlapping windows get the sum of
        their grads. This default ignores it."""
        N, C, H, W = input_shape
        L = grad.shape[2] * grad.shape[3]
        out = self.full((N, C, H * W), 0, grad.dtype)
        out = self.scatter(out, 2, _view(_contig(self, indices), (N, C, L)),
                           _view(_contig(self, grad), (N, C, L)), True)
        return _view(out, tuple(input_shape))

    def _avg_divisor(self, H, W, out_hw, kernel, stride, padding, count_include_pad,
                     divisor_override, dtype):
        if divisor_override:
            return divisor_override
        return self.from_numpy(_avg_divisors((H, W), out_hw, kernel, stride, padding,
                                             count_include_pad).astype(dtype.np))

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        N, C, H, W = x.shape
        oh = _out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
        ow = _out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
        win = _windows(self, x, kernel, stride, padding, (1, 1), (oh, ow), 0, True)
        total = self.reduce("sum", win, (4, 5), False)
        div = self._avg_divisor(H, W, (oh, ow), kernel, stride, padding, count_include_pad,
                                divisor_override, x.dtype)
        return self.binary("div", total, div)

    def avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
        N, C, H, W = input_shape
        oh, ow = grad.shape[2], grad.shape[3]
        div = self._avg_divisor(H, W, (oh, ow), kernel, stride, padding, count_include_pad,
                                divisor_override, grad.dtype)
        g = self.binary("div", grad, div)
        # every cell of a window gets the same share: a stride-0 "cols" over the kernel axes
        cols = _view(g, (N, C, kernel[0], kernel[1], oh, ow),
                     (g.strides[0], g.strides[1], 0, 0, g.strides[2], g.strides[3]), g.offset)
        return _col2im(self, cols, tuple(input_shape), kernel, stride, padding, (1, 1))

    def layer_norm(self, x, weight, bias, normalized_ndim, eps):
        """(y, mean, rstd) normalising over the last `normalized_ndim` axes; mean and rstd
        are shaped like x with those axes of size 1; weight/bias Views or None."""
        axes = tuple(range(len(x.shape) - normalized_ndim, len(x.shape)))
        n = 1
        for a in axes:
            n *= x.shape[a]
        # The mean as x0 + sum(x / n - x0 / n), x0 the row's first element: no overflow for
        # a large common value, and exact for a constant row (so its deviations are 0).
        x0 = _view(x, tuple(1 if a in axes else s for a, s in enumerate(x.shape)), x.strides,
                   x.offset)
        mean = self.binary("add", x0, self.reduce("sum", self.binary(
            "sub", self.binary("div", x, n), self.binary("div", x0, n)), axes, True))
        xc = self.binary("sub", x, mean)
        var = self.binary("div", self.reduce("sum", self.binary("mul", xc, xc), axes, True), n)
        # a variance past the dtype's range: NaN, not the 0 that rsqrt(inf) would give
        rstd = self.where(self.binary("eq", var, math.inf), math.nan,
                          self.unary("rsqrt", self.binary("add", var, eps)))
        y = self.binary("mul", xc, rstd)
        if weight is not None:
            y = self.binary("mul", y, weight)
        if bias is not None:
            y = self.binary("add", y, bias)
        return y, mean, rstd

    def layer_norm_grad(self, grad, x, weight, mean, rstd, normalized_ndim):
        """(grad_x, grad_weight or None, grad_bias or None)."""
        nd = len(x.shape)
        axes = tuple(range(nd - normalized_ndim, nd))
        lead = tuple(range(nd - normalized_ndim))
        n = 1
        for a in axes:
            n *= x.shape[a]
        xhat = self.binary("mul", self.binary("sub", x, mean), rstd)
        gw = self.reduce("sum", self.binary("mul", grad, xhat), lead, False) if weight is not None else None
        gb = self.reduce("sum", grad, lead, False)
        gxhat = self.binary("mul", grad, weight) if weight is not None else grad
        # dx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))
        m1 = self.binary("div", self.reduce("sum", gxhat, axes, True), n)
        m2 = self.binary("div", self.reduce("sum", self.binary("mul", gxhat, xhat), axes, True), n)
        gx = self.binary("sub", self.binary("sub", gxhat, m1), self.binary("mul", xhat, m2))
        return self.binary("mul", gx, rstd), gw, gb
