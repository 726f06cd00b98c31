"""Optimizer cases: the fused steps `sgd_step_` and `adam_step_` (framework/fused/optim_ops.py),
reached through `optim.SGD`/`Adam`/`AdamW`. A case takes five steps on a small quadratic
whose gradient depends on the parameter, and returns the parameter and the optimizer's state
buffers, which the step writes in place."""
from .cases import I, case as _case


def case(name, fn, *inputs, **kw):
    _case(name, fn, *inputs, tags=("fused",), **kw)

STEPS = 5


def _steps(make, *state_keys, transpose=False):
    def fn(m, p0, a):
        # transposed: a non-contiguous parameter, a view of the input
        p = m.nn.Parameter(p0.detach().t() if transpose else p0.detach().clone())
        a = a.t() if transpose else a
        opt = make(m.optim, [p])
        for _ in range(STEPS):
            opt.zero_grad()
            ((p * p * a).sum() + (p * a).sum()).backward()
            opt.step()
        return (p.detach(),) + tuple(opt.state[p][k] for k in state_keys)
    return fn


def _name(cls, kw):
    return "optim." + "_".join([cls] + [f"{k}={v}".replace(" ", "") for k, v in kw.items()])


def optim_case(cls, kw):
    if cls == "SGD":
        keys = ("momentum_buffer",) if kw.get("momentum") else ()
    else:
        keys = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if kw.get("amsgrad") else ())
    case(_name(cls, kw), _steps(lambda o, ps: getattr(o, cls)(ps, **kw), *keys),
         I(4, 3), I(4, 3, kind="positive"), grad=False, rtol=1e-4, atol=1e-6)


for kw in [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
           dict(lr=0.05, momentum=0.9, dampening=0.5),
           dict(lr=0.05, momentum=0.8, weight_decay=0.1),
           dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
           dict(lr=0.01, maximize=True),
           dict(lr=0.01, momentum=0.5, maximize=True, weight_decay=0.1),
           dict(lr=0.02, momentum=0.9, dampening=0.3, weight_decay=0.05, maximize=True)]:
    optim_case("SGD", kw)
ADAM = [dict(), dict(lr=0.05, betas=(0.8, 0.99)), dict(lr=0.05, weight_decay=0.1),
        dict(lr=0.05, amsgrad=True), dict(lr=0.05, amsgrad=True, weight_decay=0.05, maximize=True),
        dict(lr=0.05, maximize=True), dict(lr=0.05, eps=1e-3),
        dict(lr=0.05, weight_decay=0.1, maximize=True)]
for kw in ADAM:
    optim_case("Adam", kw)
for kw in ADAM[:6] + [dict(lr=0.05, weight_decay=0.5)]:
    optim_case("AdamW", kw)
optim_case("Adam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True))


def _strided_steps(cls, kw, *keys):
    """The steps on a non-contiguous parameter."""
    return _steps(lambda o, ps: getattr(o, cls)(ps, **kw), *keys, transpose=True)


F64 = dict(grad=False, rtol=1e-10, atol=1e-12)
P64, A64 = I(3, 4, dtype="float64"), I(3, 4, kind="positive", dtype="float64")
case("optim.SGD_strided_param_float64",
     _strided_steps("SGD", dict(lr=0.1, momentum=0.9), "momentum_buffer"), P64, A64, **F64)
case("optim.Adam_strided_param_float64", _strided_steps(
    "Adam", dict(lr=0.05, amsgrad=True), "exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
     P64, A64, **F64)
