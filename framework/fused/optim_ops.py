"""Fused optimizer steps, updating parameter and state Views in place."""


class OptimOps:
    # `param`, `grad` and the state buffers are Views of one float dtype and one shape;
    # hyper-parameters are Python numbers. Semantics are PyTorch's (foreach=False).
    # The defaults below compose the primitives (each `binary` makes a new View, and
    # `copy_` writes it back), so any backend has them; a backend overrides them with one
    # kernel per step.

    def sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                  weight_decay, maximize, first_step):
        """One SGD step. `momentum_buf` is None when momentum == 0; on `first_step` it is
        set to the (decayed) gradient instead of being blended, as PyTorch does."""
        b = self.binary
        d = self.unary("neg", grad) if maximize else grad
        if weight_decay != 0:
            d = b("add", d, b("mul", param, weight_decay))
        if momentum != 0:
            if first_step:
                self.copy_(momentum_buf, d)
            else:
                blend = d if dampening == 0 else b("mul", d, 1 - dampening)
                self.copy_(momentum_buf, b("add", b("mul", momentum_buf, momentum), blend))
            d = b("add", d, b("mul", momentum_buf, momentum)) if nesterov else momentum_buf
        self.copy_(param, b("add", param, b("mul", d, -lr)))

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                   beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize):
        """One Adam (or AdamW, when `decoupled_weight_decay`) step; `step` counts from 1;
        `max_exp_avg_sq` is None unless amsgrad."""
        b = self.binary
        g = self.unary("neg", grad) if maximize else grad
        if weight_decay != 0:
            if decoupled_weight_decay:
                self.copy_(param, b("mul", param, 1 - lr * weight_decay))
            else:
                g = b("add", g, b("mul", param, weight_decay))
        # exp_avg.lerp_(g, 1 - beta1), in lerp's form for a small weight
        self.copy_(exp_avg, b("add", exp_avg, b("mul", b("sub", g, exp_avg), 1 - beta1)))
        self.copy_(exp_avg_sq, b("add", b("mul", exp_avg_sq, beta2),
                                 b("mul", b("mul", g, g), 1 - beta2)))
        second = exp_avg_sq
        if amsgrad:
            self.copy_(max_exp_avg_sq, b("maximum", max_exp_avg_sq, exp_avg_sq))
            second = max_exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        bc2_sqrt = (1 - beta2 ** step) ** 0.5
        denom = b("add", b("div", self.unary("sqrt", second), bc2_sqrt), eps)
        self.copy_(param, b("add", param, b("mul", b("div", exp_avg, denom), -step_size)))
