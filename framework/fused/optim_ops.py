"""Fused optimizer steps, updating parameter and state Views in place."""


class OptimOps:
    # `param`, `grad` and the state buffers are Views of one float dtype and one shape;
    # hyper-parameters are Python numbers. Semantics are PyTorch's (foreach=False).

    def sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                  weight_decay, maximize, first_step):
        """One SGD step. `momentum_buf` is None when momentum == 0; on `first_step` it is
        set to the (decayed) gradient instead of being blended, as PyTorch does."""
        raise NotImplementedError

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                   beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize):
        """One Adam (or AdamW, when `decoupled_weight_decay`) step; `step` counts from 1;
        `max_exp_avg_sq` is None unless amsgrad."""
        raise NotImplementedError
