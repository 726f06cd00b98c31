"""NumPy versions of the fused optimizer steps (see framework/fused/optim_ops.py).

Every update is done with ufuncs writing into the state arrays (`out=`), with one
scratch array (a second one for Adam with L2 weight decay), and the scaled adds
(`y += a * x`, `y = a * x + b * y`) in one pass by NumPy's own OpenBLAS where it has them
(blas.py). The scratch memory is kept between calls: a fresh large array would be
page-faulted in again at every step.
"""
import threading

import numpy as np

from . import blas


class NumpyOptimOps:
    _optim_scratch = threading.local()  # one per thread: two threads' steps must not share it

    def _scratch(self, like):
        """A scratch array shaped like `like`: a window on one flat buffer, kept as large
        as the largest parameter seen."""
        local, n = self._optim_scratch, like.size
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < n or buf.dtype != like.dtype:
            buf = local.buf = np.empty(n, like.dtype)
        return buf[:n].reshape(like.shape)

    def _axpy(self, a, x, y, s):
        """y += a * x, through `s` (scratch shaped like y, or x itself) without BLAS."""
        if not blas.axpy(a, x, y):
            y += np.multiply(x, a, out=s)

    def sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                  weight_decay, maximize, first_step):
        p, g = self._np(param), self._np(grad)
        s = self._scratch(p)
        # d: the gradient as the update uses it (±grad + wd * param); g itself when unchanged
        if weight_decay != 0:
            d = np.multiply(p, weight_decay, out=s)
            (np.subtract if maximize else np.add)(d, g, out=d)
        elif maximize:
            d = np.negative(g, out=s)
        else:
            d = g
        if momentum != 0:
            buf = self._np(momentum_buf)
            if first_step:
                np.copyto(buf, d)
            elif not blas.axpby(1 - dampening, d, momentum, buf):
                buf *= momentum  # (dampening rules out nesterov: d may be scaled in place)
                buf += d if dampening == 0 else np.multiply(d, 1 - dampening, out=s)
            if nesterov:  # p -= lr * (d + momentum * buf), as two scaled adds
                self._axpy(-lr, d, p, s)
                d = buf
                lr *= momentum
            else:
                d = buf
        self._axpy(-lr, d, p, s)

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                   beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize):
        p, g = self._np(param), self._np(grad)
        m, v = self._np(exp_avg), self._np(exp_avg_sq)
        s = self._scratch(p)
        sign = -1.0 if maximize else 1.0
        if weight_decay != 0 and decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        elif weight_decay != 0:  # L2: the gradient becomes ±g + wd * p, kept in its own array
            g2 = np.multiply(p, weight_decay)
            (np.subtract if maximize else np.add)(g2, g, out=g2)
            g, sign = g2, 1.0
        # m.lerp_(±g, 1 - beta1) = beta1 * m + (1 - beta1) * ±g
        if not blas.axpby(sign * (1 - beta1), g, beta1, m):
            (np.subtract if sign > 0 else np.add)(g, m, out=s)
            if sign < 0:
                np.negative(s, out=s)
            s *= 1 - beta1
            m += s
        # v = beta2 * v + (1 - beta2) * g * g (the sign of g does not matter)
        np.square(g, out=s)
        if not blas.axpby(1 - beta2, s, beta2, v):
            v *= beta2
            s *= 1 - beta2
            v += s
        if amsgrad:
            mx = self._np(max_exp_avg_sq)
            np.maximum(mx, v, out=mx)
            v = mx
        # p -= lr/bc1 * m / (sqrt(v)/bc2 + eps), with bc2 moved out of the denominator
        # (m / (sqrt(v) + eps*bc2) * bc2): one pass less over the arrays
        bc2 = (1 - beta2 ** step) ** 0.5
        np.sqrt(v, out=s)
        s += eps * bc2
        np.divide(m, s, out=s)
        self._axpy(-lr / (1 - beta1 ** step) * bc2, s, p, s)
