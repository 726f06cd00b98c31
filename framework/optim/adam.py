"""Adam and AdamW (decoupled weight decay), as `torch.optim.Adam` / `torch.optim.AdamW`."""
from ..tensor import Tensor
from ..autograd import grad_mode
from .optimizer import Optimizer, _check_nonneg, _lr_check, _scalar, _unused

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _lr_check(lr)
        _check_nonneg(epsilon=eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_nonneg(weight_decay=weight_decay)
        if not (all(isinstance(b, (int, float)) for b in betas)
                or all(isinstance(b, Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        _unused(differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(_scalar(b) for b in betas), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                lr = _scalar(group["lr"])
                beta1, beta2 = (_scalar(b) for b in group["betas"])
                eps, wd, amsgrad = group["eps"], group["weight_decay"], group["amsgrad"]
                decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
                state = self.state
                for p in group["params"]:
                    g = p._grad
                    if g is None:
                        continue
                    st = state[p]
                    if not st:  # lazily, at the first step, as PyTorch
                        be, shape, dtype = p._be, p._v.shape, p._v.dtype
                        st["step"] = 0.0
                        st["exp_avg"] = p._from(be.full(shape, 0, dtype))
                        st["exp_avg_sq"] = p._from(be.full(shape, 0, dtype))
                        if amsgrad:
                            st["max_exp_avg_sq"] = p._from(be.full(shape, 0, dtype))
                    step = st["step"] = st["step"] + 1
                    mx = st["max_exp_avg_sq"]._v if amsgrad else None
                    p._be.adam_step_(p._v, g._v, st["exp_avg"]._v, st["exp_avg_sq"]._v, mx,
                                     step, lr, beta1, beta2, eps, wd, decoupled, amsgrad,
                                     maximize)
                    p._ver[0] += 1  # an in-place write, for autograd's saved-tensor checks
        return loss


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
