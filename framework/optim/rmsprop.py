"""RMSprop, as `torch.optim.RMSprop`."""
from ..autograd import grad_mode
from ..ops import zeros_like
from .optimizer import Optimizer, _check_nonneg, _lr_check, _scalar, _unused

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _lr_check(lr)
        _check_nonneg(epsilon=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        _unused(differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                lr, alpha, eps = _scalar(group["lr"]), group["alpha"], group["eps"]
                momentum, centered = group["momentum"], group["centered"]
                for p, g, st in self._grads(group):
                    if not st:
                        st["step"] = 0.0
                        st["square_avg"] = zeros_like(p)
                        if momentum > 0:
                            st["momentum_buffer"] = zeros_like(p)
                        if centered:
                            st["grad_avg"] = zeros_like(p)
                    st["step"] += 1
                    sq = st["square_avg"]
                    sq.mul_(alpha).add_(g * g, alpha=1 - alpha)
                    if centered:
                        ga = st["grad_avg"]
                        ga.add_((g - ga) * (1 - alpha))  # lerp towards g
                        avg = (sq - ga * ga).sqrt_()
                    else:
                        avg = sq.sqrt()
                    avg.add_(eps)
                    if momentum > 0:
                        buf = st["momentum_buffer"]
                        buf.mul_(momentum).add_(g / avg)
                        p.add_(buf, alpha=-lr)
                    else:
                        p.add_(g / avg, alpha=-lr)
        return loss
