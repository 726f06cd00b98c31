"""Fused optimizer steps (contract: framework/fused/optim_ops.py): one dispatch per step
(kernels/optim.wgsl) reads the gradient once and updates the parameter and its state in
place. Scalars travel as float32 bits in the Meta block, so only float32 parameters take
the kernel (naga cannot bit-cast to f64); float64 and non-contiguous views take the
composed defaults.
"""
from framework import dtypes as dt
from framework.fused.optim_ops import OptimOps

from .nn_ops import _params

_MOMENTUM, _NESTEROV, _MAXIMIZE, _FIRST, _WD, _DECOUPLED, _AMSGRAD = 1, 2, 4, 8, 16, 32, 64


def _ok(*views):
    return all(v is None or (v.is_contiguous() and v.dtype is dt.float32) for v in views)


class VKOptimOps:
    def _optim(self, entry, views, flags, floats):
        n = views[0].numel
        if not n:
            return
        helper, subs = self._helpers(dt.float32)
        k = self.rt.kernel(helper + ("window.wgsl", "optim.wgsl"), entry, len(views), subs)
        meta = _params(n, (flags,) + tuple(v.offset for v in views), floats)
        self.launch(k, views, meta, n)

    def sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                  weight_decay, maximize, first_step):
        if not _ok(param, grad, momentum_buf if momentum != 0 else None):
            return OptimOps.sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening,
                                      nesterov, weight_decay, maximize, first_step)
        flags = (_MAXIMIZE if maximize else 0) | (_WD if weight_decay != 0 else 0)
        buf = param
        if momentum != 0:
            flags |= _MOMENTUM | (_NESTEROV if nesterov else 0) | (_FIRST if first_step else 0)
            buf = momentum_buf
        self._optim("sgd_step", (param, grad, buf), flags,
                    (lr, momentum, 1 - dampening, weight_decay))

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                   beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize):
        if not _ok(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None):
            return OptimOps.adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
                                       step, lr, beta1, beta2, eps, weight_decay,
                                       decoupled_weight_decay, amsgrad, maximize)
        flags = _MAXIMIZE if maximize else 0
        if weight_decay != 0:
            flags |= _DECOUPLED if decoupled_weight_decay else _WD
        mx = exp_avg_sq
        if amsgrad:
            flags |= _AMSGRAD
            mx = max_exp_avg_sq
        # As in PyTorch, scalars are computed in Python floats (double), then rounded.
        step_size = lr / (1 - beta1 ** step)
        bc2 = (1 - beta2 ** step) ** 0.5
        self._optim("adam_step", (param, grad, exp_avg, exp_avg_sq, mx), flags,
                    (1 - lr * weight_decay, 1 - beta1, beta2, 1 - beta2, eps, weight_decay,
                     step_size, bc2))
