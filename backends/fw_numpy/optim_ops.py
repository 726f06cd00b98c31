"""NumPy versions of the fused optimizer steps (see framework/fused/optim_ops.py).

Every update is done with ufuncs writing into the state arrays (`out=`), with one
scratch array (a second one for Adam with L2 weight decay). The scratch memory is kept
between calls: a fresh large array would be page-faulted in again at every step.
"""
import numpy as np


class NumpyOptimOps:
    _optim_scratch = None

    def _scratch(self, like):
        """A scratch array shaped like `like`: a window on one flat buffer, kept as large
        as the largest parameter seen."""
        buf, n = self._optim_scratch, like.size
        if buf is None or buf.size < n or buf.dtype != like.dtype:
            buf = self._optim_scratch = np.empty(n, like.dtype)
        return buf[:n].reshape(like.shape)

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
            else:
                buf *= momentum
                if dampening == 0:
                    buf += d
                else:  # nesterov needs no dampening, so d is not needed after this
                    scaled = np.multiply(d, 1 - dampening, out=s)
                    buf += scaled
            if nesterov:  # p -= lr * (d + momentum * buf), as two scaled adds
                if d is s:
                    d *= -lr
                    p += d
                else:
                    np.multiply(d, -lr, out=s)
                    p += s
                np.multiply(buf, -lr * momentum, out=s)
                p += s
                return
            d = buf
        np.multiply(d, -lr, out=s)
        p += s

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
        # m.lerp_(±g, 1 - beta1) = m + (1 - beta1) * (±g - m)
        if sign > 0:
            np.subtract(g, m, out=s)
        else:
            np.add(g, m, out=s)
            np.negative(s, out=s)
        s *= 1 - beta1
        m += s
        # v = beta2 * v + (1 - beta2) * g * g (the sign of g does not matter)
        v *= beta2
        np.square(g, out=s)
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
        s *= -lr / (1 - beta1 ** step) * bc2
        p += s
