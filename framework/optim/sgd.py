"""Stochastic gradient descent (optionally with momentum), as `torch.optim.SGD`."""
from ..autograd import grad_mode
from .optimizer import Optimizer, _check_nonneg, _lr_check, _scalar, _unused

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        _lr_check(lr)
        _check_nonneg(momentum=momentum, weight_decay=weight_decay)
        _unused(differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                lr, momentum = _scalar(group["lr"]), group["momentum"]
                dampening, nesterov = group["dampening"], group["nesterov"]
                wd, maximize = group["weight_decay"], group["maximize"]
                state = self.state
                for p in group["params"]:
                    g = p._grad
                    if g is None:
                        continue
                    buf, first = None, False
                    if momentum != 0:
                        st = state[p]
                        buf = st.get("momentum_buffer")
                        if buf is None:  # PyTorch starts the buffer at the first gradient
                            buf = st["momentum_buffer"] = p._from(
                                p._be.full(p._v.shape, 0, p._v.dtype))
                            first = True
                        buf = buf._v
                    p._be.sgd_step_(p._v, g._v, buf, lr, momentum, dampening, nesterov, wd,
                                    maximize, first)
                    p._ver[0] += 1  # an in-place write, for autograd's saved-tensor checks
        return loss
