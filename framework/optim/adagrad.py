"""Adagrad, as `torch.optim.Adagrad`."""
from ..autograd import grad_mode
from ..ops import full_like
from .optimizer import Optimizer, _check_nonneg, _lr_check, _scalar, _unused

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _lr_check(lr)
        _check_nonneg(lr_decay=lr_decay, weight_decay=weight_decay,
                      initial_accumulator_value=initial_accumulator_value, epsilon=eps)
        _unused(differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # Adagrad's state exists from the start (PyTorch makes it in the constructor)
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["step"] = 0.0
                st["sum"] = full_like(p, initial_accumulator_value).detach()

    def share_memory(self):
        pass  # one process: nothing to share

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                lr, lr_decay, eps = _scalar(group["lr"]), group["lr_decay"], group["eps"]
                for p, g, st in self._grads(group):
                    st["step"] += 1
                    clr = lr / (1 + (st["step"] - 1) * lr_decay)
                    s = st["sum"]
                    s.add_(g * g)
                    p.add_(g / s.sqrt().add_(eps), alpha=-clr)
        return loss
