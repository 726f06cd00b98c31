"""Adadelta, as `torch.optim.Adadelta`."""
from ..autograd import grad_mode
from ..ops import zeros_like
from .optimizer import Optimizer, _check_nonneg, _lr_check, _scalar, _unused

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _lr_check(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg(epsilon=eps, weight_decay=weight_decay)
        _unused(differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                lr, rho, eps = _scalar(group["lr"]), group["rho"], group["eps"]
                for p, g, st in self._grads(group):
                    if not st:
                        st["step"] = 0.0
                        st["square_avg"] = zeros_like(p)
                        st["acc_delta"] = zeros_like(p)
                    st["step"] += 1
                    sq, acc = st["square_avg"], st["acc_delta"]
                    sq.mul_(rho).add_(g * g, alpha=1 - rho)
                    # delta = sqrt(acc + eps) / sqrt(sq + eps) * g: the step in units of x
                    delta = (acc + eps).sqrt_().div_((sq + eps).sqrt_()).mul_(g)
                    acc.mul_(rho).add_(delta * delta, alpha=1 - rho)
                    p.add_(delta, alpha=-lr)
        return loss
