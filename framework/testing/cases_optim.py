"""Optimizer cases: the fused steps `sgd_step_` and `adam_step_` (framework/fused/optim_ops.py),
reached through `optim.SGD`/`Adam`/`AdamW`. A case takes three steps on a small quadratic
whose gradient depends on the parameter, and returns the parameter and the optimizer's state
buffers, which the step writes in place."""
from .cases import I, case as _case


def case(name, fn, *inputs, **kw):
    _case(name, fn, *inputs, tags=("fused",), **kw)

STEPS = 3


def _steps(make, *state_keys):
    def fn(m, p0, a):
        p = m.nn.Parameter(p0.detach().clone())
        opt = make(m.optim, [p])
        for _ in range(STEPS):
            opt.zero_grad()
            ((p * p * a).sum() + (p * a).sum()).backward()
            opt.step()
        return (p.detach(),) + tuple(opt.state[p][k] for k in state_keys)
    return fn


def optim_case(name, make, *state_keys):
    case(name, _steps(make, *state_keys), I(4, 3), I(4, 3, kind="positive"), grad=False,
         rtol=1e-4, atol=1e-6)


optim_case("optim.SGD", lambda o, ps: o.SGD(ps, lr=0.1))
optim_case("optim.SGD_weight_decay_maximize", lambda o, ps: o.SGD(ps, lr=0.05, weight_decay=0.1,
                                                                 maximize=True))
optim_case("optim.SGD_momentum_dampening",
           lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3), "momentum_buffer")
optim_case("optim.SGD_nesterov_weight_decay", lambda o, ps: o.SGD(
    ps, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01), "momentum_buffer")
optim_case("optim.SGD_momentum_maximize", lambda o, ps: o.SGD(
    ps, lr=0.02, momentum=0.5, maximize=True), "momentum_buffer")
optim_case("optim.Adam", lambda o, ps: o.Adam(ps, lr=0.1), "exp_avg", "exp_avg_sq")
optim_case("optim.Adam_weight_decay_amsgrad", lambda o, ps: o.Adam(
    ps, lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True),
           "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
optim_case("optim.Adam_maximize", lambda o, ps: o.Adam(ps, lr=0.05, maximize=True),
           "exp_avg", "exp_avg_sq")
optim_case("optim.AdamW", lambda o, ps: o.AdamW(ps, lr=0.1, weight_decay=0.1),
           "exp_avg", "exp_avg_sq")
optim_case("optim.AdamW_amsgrad_maximize", lambda o, ps: o.AdamW(
    ps, lr=0.05, weight_decay=0.2, amsgrad=True, maximize=True),
           "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
