"""framework.optim against torch.optim: trajectories, state dicts, errors."""
import copy
import math

import numpy as np
import pytest
import torch

import framework as fw
from framework import optim

RTOL, ATOL = 1e-4, 1e-5


def _problem(device, seed=0, dtype=np.float32, shape=(5, 3)):
    """A random linear least-squares problem; initial W (`shape`), b as NumPy arrays."""
    rng = np.random.default_rng(seed)
    k, m = shape
    A = rng.standard_normal((16, k)).astype(dtype)
    Y = rng.standard_normal((16, m)).astype(dtype)
    W0 = rng.standard_normal((k, m)).astype(dtype)
    b0 = rng.standard_normal(m).astype(dtype)
    return A, Y, W0, b0


def _fw_params(device, *arrays):
    return [fw.tensor(a, device=device, requires_grad=True) for a in arrays]


def _torch_params(*arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def _fw_grads(params, A, Y, device):
    """Gradient of the least-squares loss at `params`, by fw's autograd."""
    W, b = params
    A_, Y_ = fw.tensor(A, device=device), fw.tensor(Y, device=device)
    loss = ((A_ @ W + b - Y_) ** 2).mean()
    loss.backward()
    return loss


def _run(device, make_fw, make_torch, steps=30, groups=None, seed=0, start=None,
         shape=(5, 3)):
    """Step both optimizers `steps` times with the same gradients (fw's, copied into
    torch's .grad) and compare the parameters after every step."""
    A, Y, W0, b0 = _problem(device, seed, shape=shape)
    fp, tp = _fw_params(device, W0, b0), _torch_params(W0, b0)
    if groups is None:
        fopt, topt = make_fw(fp), make_torch(tp)
    else:
        fopt = make_fw([dict(g, params=[fp[i]]) for i, g in enumerate(groups)])
        topt = make_torch([dict(g, params=[tp[i]]) for i, g in enumerate(groups)])
    for _ in range(steps):
        fopt.zero_grad()
        topt.zero_grad()
        _fw_grads(fp, A, Y, device)
        for f, t in zip(fp, tp):
            t.grad = torch.from_numpy(f.grad.cpu().numpy().copy())
        fopt.step()
        topt.step()
        for f, t in zip(fp, tp):
            np.testing.assert_allclose(f.detach().cpu().numpy(), t.detach().numpy(),
                                       rtol=RTOL, atol=ATOL)
    return fopt, topt, fp, tp


# SGD, Adam and AdamW with every option (momentum, dampening, nesterov, weight decay,
# maximize, amsgrad, betas, eps, decoupled decay) are cases of the op suite's table
# (framework/testing/cases_optim.py): parameters and state buffers after five steps, on
# every device and on the composed default steps.
@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.01, amsgrad=True))], ids=str)
def test_large_parameter_trajectories(device, name, kw):
    """A (128, 64) weight: large enough for the cpu backend's BLAS axpy update."""
    _run(device, lambda p: getattr(optim, name)(p, **kw),
         lambda p: getattr(torch.optim, name)(p, **kw), steps=10, shape=(128, 64))


RMSPROP_CASES = [
    dict(),
    dict(lr=0.005, alpha=0.9),
    dict(lr=0.005, momentum=0.9),
    dict(lr=0.005, centered=True),
    dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1),
    dict(lr=0.005, weight_decay=0.1, maximize=True),
    dict(lr=0.005, eps=1e-4, centered=True, maximize=True),
]


@pytest.mark.parametrize("kw", RMSPROP_CASES, ids=str)
def test_rmsprop_trajectory(device, kw):
    _run(device, lambda p: optim.RMSprop(p, **kw), lambda p: torch.optim.RMSprop(p, **kw))


ADAGRAD_CASES = [
    dict(),
    dict(lr=0.1, lr_decay=0.01),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, initial_accumulator_value=0.5),
    dict(lr=0.1, eps=1e-3, maximize=True),
    dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.1,
         maximize=True),
]


@pytest.mark.parametrize("kw", ADAGRAD_CASES, ids=str)
def test_adagrad_trajectory(device, kw):
    _run(device, lambda p: optim.Adagrad(p, **kw), lambda p: torch.optim.Adagrad(p, **kw))


ADADELTA_CASES = [
    dict(),
    dict(lr=0.5, rho=0.8),
    dict(eps=1e-4, weight_decay=0.1),
    dict(lr=2.0, maximize=True),
    dict(lr=1.5, rho=0.95, eps=1e-3, weight_decay=0.05, maximize=True),
]


@pytest.mark.parametrize("kw", ADADELTA_CASES, ids=str)
def test_adadelta_trajectory(device, kw):
    _run(device, lambda p: optim.Adadelta(p, **kw), lambda p: torch.optim.Adadelta(p, **kw))


@pytest.mark.parametrize("name,groups", [
    ("SGD", [dict(lr=0.1, momentum=0.9), dict(lr=0.01, nesterov=True, momentum=0.5)]),
    ("Adam", [dict(lr=0.01, amsgrad=True), dict(lr=0.03, betas=(0.5, 0.9))]),
    ("AdamW", [dict(lr=0.01), dict(lr=0.02, weight_decay=0.3)]),
    ("RMSprop", [dict(centered=True), dict(lr=0.001, momentum=0.9)]),
    ("Adagrad", [dict(lr=0.05), dict(lr=0.2, lr_decay=0.1)]),
    ("Adadelta", [dict(rho=0.5), dict(lr=0.3)]),
])
def test_param_groups(device, name, groups):
    _run(device, lambda g: getattr(optim, name)(g, lr=0.02),
         lambda g: getattr(torch.optim, name)(g, lr=0.02), groups=groups)


def test_params_without_grad_are_skipped(device):
    a, b = fw.randn(3, requires_grad=True, device=device), fw.randn(3, requires_grad=True,
                                                                    device=device)
    before = b.detach().cpu().numpy().copy()
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    np.testing.assert_array_equal(b.detach().cpu().numpy(), before)
    assert b not in opt.state and len(opt.state) == 1


def test_step_bumps_version_and_autograd_notices(device):
    w = fw.randn(3, requires_grad=True, device=device)
    opt = optim.SGD([w], lr=0.1)
    v0 = w._version
    (w * w).sum().backward()
    y = (w * w).sum()  # saves w for its backward
    opt.step()
    assert w._version == v0 + 1
    with pytest.raises(RuntimeError):
        y.backward()


def test_closure_returns_loss(device):
    A, Y, W0, b0 = _problem(device)
    fp = _fw_params(device, W0, b0)
    opt = optim.SGD(fp, lr=0.1)

    def closure():
        opt.zero_grad()
        return _fw_grads(fp, A, Y, device)

    with fw.no_grad():  # the closure still gets autograd
        loss = opt.step(closure)
    assert loss is not None and fp[0].grad is not None


def test_zero_grad(device):
    w = fw.randn(3, requires_grad=True, device=device)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.cpu().numpy(), np.zeros(3, np.float32))
    opt.zero_grad()
    assert w.grad is None


def test_parameter_class_accepted(device):
    try:
        from framework.nn import Parameter
    except ImportError:
        pytest.skip("nn.Parameter not available yet")
    p = Parameter(fw.ones(2, device=device))
    opt = optim.SGD([p], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.detach().cpu().numpy(), [0.0, 0.0])


# -- state dicts -------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adadelta", dict(lr=0.5)),
])
def test_state_dict_round_trip(device, name, kw):
    A, Y, W0, b0 = _problem(device)
    fp = _fw_params(device, W0, b0)
    opt = getattr(optim, name)(fp, **kw)

    def train(o, params, n):
        out = []
        for _ in range(n):
            o.zero_grad()
            _fw_grads(params, A, Y, device)
            o.step()
            out.append([p.detach().cpu().numpy().copy() for p in params])
        return out

    train(opt, fp, 5)
    sd = copy.deepcopy(opt.state_dict())
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1] and set(sd["state"]) <= {0, 1}
    snapshot = [p.detach().cpu().numpy().copy() for p in fp]
    expected = train(opt, fp, 5)
    # a fresh optimizer on fresh parameters with the saved state continues identically
    fp2 = _fw_params(device, *snapshot)
    opt2 = getattr(optim, name)(fp2, lr=123.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    kept = copy.deepcopy(sd)
    got = train(opt2, fp2, 5)
    for e, g in zip(expected, got):
        for a, b in zip(e, g):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    # the loaded state is the optimizer's own copy: training did not touch the saved dict
    for i, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, fw.Tensor):
                np.testing.assert_array_equal(v.cpu().numpy(), kept["state"][i][k].cpu().numpy())
            else:
                assert v == kept["state"][i][k]


def test_state_dict_layout_matches_torch(device):
    fp, tp = _fw_params(device, np.ones(2, np.float32)), _torch_params(np.ones(2, np.float32))
    fo = optim.SGD([{"params": fp}], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([{"params": tp}], lr=0.1, momentum=0.9)
    for p in fp:
        p.grad = fw.ones(2, device=device)
    for p in tp:
        p.grad = torch.ones(2)
    fo.step()
    to.step()
    fs, ts = fo.state_dict(), to.state_dict()
    assert fs["param_groups"] == ts["param_groups"]
    assert list(fs["state"]) == list(ts["state"])
    np.testing.assert_allclose(fs["state"][0]["momentum_buffer"].cpu().numpy(),
                               ts["state"][0]["momentum_buffer"].numpy())


def test_load_state_dict_casts_dtype(device):
    w = fw.randn(3, requires_grad=True, device=device)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].to("cpu", fw.float64)
    w2 = fw.randn(3, requires_grad=True, device=device)
    opt2 = optim.Adam([w2], lr=0.1)
    opt2.load_state_dict(sd)
    ea = opt2.state[w2]["exp_avg"]
    assert ea.dtype == fw.float32 and ea.device == w2.device


def test_load_state_dict_errors():
    a, b = fw.randn(2, requires_grad=True), fw.randn(2, requires_grad=True)
    ta, tb = torch.randn(2, requires_grad=True), torch.randn(2, requires_grad=True)
    one = optim.SGD([a, b], lr=0.1).state_dict()
    t_one = torch.optim.SGD([ta, tb], lr=0.1).state_dict()
    with pytest.raises(ValueError) as e:
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(one)
    with pytest.raises(ValueError) as t:
        torch.optim.SGD([{"params": [ta]}, {"params": [tb]}], lr=0.1).load_state_dict(t_one)
    assert str(e.value) == str(t.value)
    with pytest.raises(ValueError) as e:
        optim.SGD([a], lr=0.1).load_state_dict(one)
    with pytest.raises(ValueError) as t:
        torch.optim.SGD([ta], lr=0.1).load_state_dict(t_one)
    assert str(e.value) == str(t.value)


# -- construction errors and repr -------------------------------------------------------

def _same_error(fn_fw, fn_torch):
    with pytest.raises(Exception) as t:
        fn_torch()
    with pytest.raises(type(t.value)) as f:
        fn_fw()
    assert str(f.value) == str(t.value), (str(f.value), str(t.value))


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-1)), ("SGD", dict(weight_decay=-1)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-1)), ("Adam", dict(eps=-1)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1)),
    ("AdamW", dict(lr=-1)), ("RMSprop", dict(alpha=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1)), ("Adagrad", dict(lr_decay=-1)),
    ("Adagrad", dict(initial_accumulator_value=-1)), ("Adagrad", dict(eps=-1)),
    ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1)), ("LBFGS", dict(lr=-1)),
])
def test_hyperparameter_errors(name, kw):
    _same_error(lambda: getattr(optim, name)([fw.randn(2, requires_grad=True)], **kw),
                lambda: getattr(torch.optim, name)([torch.randn(2, requires_grad=True)], **kw))


def test_param_errors():
    a, ta = fw.randn(2, requires_grad=True), torch.randn(2, requires_grad=True)
    _same_error(lambda: optim.SGD([], lr=0.1), lambda: torch.optim.SGD([], lr=0.1))
    _same_error(lambda: optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1),
                lambda: torch.optim.SGD([{"params": [ta]}, {"params": [ta]}], lr=0.1))
    _same_error(lambda: optim.SGD([{"params": {a}}], lr=0.1),
                lambda: torch.optim.SGD([{"params": {ta}}], lr=0.1))
    _same_error(lambda: optim.SGD([a * 2], lr=0.1), lambda: torch.optim.SGD([ta * 2], lr=0.1))
    with pytest.raises(TypeError):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError):
        torch.optim.SGD(ta, lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD([1.0], lr=0.1)
    opt, topt = optim.SGD([a], lr=0.1), torch.optim.SGD([ta], lr=0.1)
    _same_error(lambda: opt.add_param_group({"params": [a]}),
                lambda: topt.add_param_group({"params": [ta]}))
    _same_error(lambda: opt.add_param_group([a]), lambda: topt.add_param_group([ta]))
    _same_error(lambda: optim.LBFGS([{"params": [a]}, {"params": [fw.randn(1)]}]),
                lambda: torch.optim.LBFGS([{"params": [ta]}, {"params": [torch.randn(1)]}]))


def test_add_param_group_fills_defaults():
    a, b = fw.randn(2, requires_grad=True), fw.randn(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["params"][0] is b


def test_named_params():
    a, ta = fw.randn(2, requires_grad=True), torch.randn(2, requires_grad=True)
    opt = optim.SGD([("w", a)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == \
        torch.optim.SGD([("w", ta)], lr=0.1).state_dict()["param_groups"][0]["param_names"]


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", {}),
                                     ("AdamW", dict(amsgrad=True)), ("RMSprop", {}),
                                     ("Adagrad", {}), ("Adadelta", {}), ("LBFGS", {})])
def test_repr_matches_torch(name, kw):
    f = getattr(optim, name)([fw.randn(2, requires_grad=True)], **kw)
    t = getattr(torch.optim, name)([torch.randn(2, requires_grad=True)], **kw)
    assert repr(f) == repr(t)


def test_hooks():
    a = fw.randn(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, args, kw: seen.append("pre"))
    opt.register_step_post_hook(lambda o, args, kw: seen.append("post"))
    opt.step()
    h1.remove()
    opt.step()
    assert seen == ["pre", "post", "post"]


# -- LBFGS ------------------------------------------------------------------------------

def _has_f64(device):
    try:
        fw.zeros(1, dtype=fw.float64, device=device)
        return True
    except (RuntimeError, TypeError):
        return False


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("kw", [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=0.5, history_size=3, max_iter=5),
    dict(line_search_fn="strong_wolfe", history_size=2, max_iter=7),
    dict(line_search_fn="strong_wolfe", max_eval=6),
    dict(lr=0.1, tolerance_change=1e-3),
])
def test_lbfgs_rosenbrock(device, kw):
    dtype = fw.float64 if _has_f64(device) else fw.float32
    start = np.array([-1.5, 2.0])
    x = fw.tensor(start, dtype=dtype, device=device, requires_grad=True)
    tx = torch.tensor(start, dtype=torch.float64 if dtype == fw.float64 else torch.float32,
                      requires_grad=True)
    fo, to = optim.LBFGS([x], **kw), torch.optim.LBFGS([tx], **kw)

    def closure_fw():
        fo.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    def closure_torch():
        to.zero_grad()
        loss = _rosenbrock(tx)
        loss.backward()
        return loss

    def tol(n_iter):
        if dtype == fw.float32:
            return dict(rtol=1e-3, atol=1e-4)
        if fw.device(device).type != "cpu":  # a GPU's float64 math (fused multiply-adds, its
            # own reduction order) is not NumPy's to the last bit: 4.4e-5 apart after 8
            # line-search steps on an H200
            return dict(rtol=1e-4, atol=1e-8)
        # fw and torch round differently in the last bit (NumPy's SIMD loops differ between
        # CPUs), and on Rosenbrock's curved valley each L-BFGS iteration about doubles such
        # a difference (the map's growth rate on this path: 2^27 ulps after 29 iterations
        # here, 2^33 on another CPU, where the first differing bit came earlier). So after
        # n iterations allow 2^n ulps, times 2^8 for when that first bit appears, and never
        # more than float32's bound. The early steps stay tight (6e-11 after 10 iterations).
        r = min(1e-3, np.finfo(np.float64).eps * 2.0 ** (n_iter + 8))
        return dict(rtol=r, atol=r)

    # Without a line search, lr=1 steps on Rosenbrock are chaotic: rounding differences
    # of 1e-16 double every few iterations, so compare the first 40 iterations only.
    steps = 8 if kw.get("line_search_fn") else max(1, 40 // kw.get("max_iter", 20))
    if dtype == fw.float32:  # and in float32 after far fewer
        steps, kw = 1, dict(kw, max_iter=min(kw.get("max_iter", 20), 4))
        fo, to = optim.LBFGS([x], **kw), torch.optim.LBFGS([tx], **kw)
    for _ in range(steps):
        n_before = to.state[tx].get("n_iter", 0)  # the loss returned is the step's first
        lf, lt = fo.step(closure_fw), to.step(closure_torch)
        np.testing.assert_allclose(float(lf), float(lt.detach()), **tol(n_before))
        np.testing.assert_allclose(x.detach().cpu().numpy(), tx.detach().numpy(),
                                   **tol(to.state[tx]["n_iter"]))
        fs, ts = fo.state[x], to.state[tx]
        assert fs["func_evals"] == ts["func_evals"] and fs["n_iter"] == ts["n_iter"]
    if "strong_wolfe" in str(kw) and "max_eval" not in kw:
        assert _rosenbrock(x).item() < 1e-8  # it actually solved the problem


def test_lbfgs_least_squares_multi_param(device):
    # float64 where the device has it: near the optimum float32 rounding (fw keeps the
    # line-search scalars in Python floats, torch in float32 tensors) moves the iterates
    f64 = _has_f64(device)
    A, Y, W0, b0 = _problem(device, dtype=np.float64 if f64 else np.float32)
    fp, tp = _fw_params(device, W0, b0), _torch_params(W0, b0)
    fo = optim.LBFGS(fp, line_search_fn="strong_wolfe", max_iter=10)
    to = torch.optim.LBFGS(tp, line_search_fn="strong_wolfe", max_iter=10)
    tA, tY = torch.tensor(A), torch.tensor(Y)

    def closure_torch():
        to.zero_grad()
        loss = ((tA @ tp[0] + tp[1] - tY) ** 2).mean()
        loss.backward()
        return loss

    def closure_fw():
        fo.zero_grad()
        return _fw_grads(fp, A, Y, device)

    for _ in range(3 if f64 else 1):
        fo.step(closure_fw)
        to.step(closure_torch)
        for f, t in zip(fp, tp):
            np.testing.assert_allclose(f.detach().cpu().numpy(), t.detach().numpy(),
                                       **(dict(rtol=1e-9, atol=1e-11) if f64 else
                                          dict(rtol=1e-3, atol=1e-4)))
        assert fo.state[fp[0]]["func_evals"] == to.state[tp[0]]["func_evals"] or not f64


def test_lbfgs_errors():
    x = fw.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        optim.LBFGS([x], line_search_fn="armijo").step(lambda: (x * x).sum())


def test_lbfgs_state_dict_round_trip():
    start = np.array([-1.2, 1.0])
    x = fw.tensor(start, requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3, line_search_fn="strong_wolfe")

    def closure(o, p):
        def c():
            o.zero_grad()
            loss = _rosenbrock(p)
            loss.backward()
            return loss
        return c

    opt.step(closure(opt, x))
    sd = copy.deepcopy(opt.state_dict())
    x2 = fw.tensor(x.detach().numpy().copy(), requires_grad=True)
    opt2 = optim.LBFGS([x2], max_iter=3, line_search_fn="strong_wolfe")
    opt2.load_state_dict(sd)
    opt.step(closure(opt, x))
    opt2.step(closure(opt2, x2))
    np.testing.assert_allclose(x2.detach().numpy(), x.detach().numpy(), rtol=1e-12)
    assert math.isfinite(x.detach().numpy().sum())


# -- the fused ops themselves --------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(momentum=0.0, nesterov=False, dampening=0.0),
                                dict(momentum=0.9, nesterov=True, dampening=0.0),
                                dict(momentum=0.9, nesterov=False, dampening=0.2)])
@pytest.mark.parametrize("wd,maximize", [(0.0, False), (0.1, True)])
def test_composed_sgd_step_matches_backend(device, kw, wd, maximize):
    """The composed default of framework.fused agrees with the device's own version."""
    from framework.device import Backend
    rng = np.random.default_rng(1)
    outs = []
    for impl in ("backend", "composed"):
        p = fw.tensor(rng.standard_normal(7).astype(np.float32), device=device)
        g = fw.tensor(rng.standard_normal(7).astype(np.float32), device=device)
        buf = fw.zeros(7, device=device) if kw["momentum"] else None
        rng = np.random.default_rng(1)
        fn = p._be.sgd_step_ if impl == "backend" else \
            (lambda *a: Backend.sgd_step_(p._be, *a))
        for first in (True, False, False):
            fn(p._v, g._v, None if buf is None else buf._v, 0.1, kw["momentum"],
               kw["dampening"], kw["nesterov"], wd, maximize, first)
        outs.append(p.cpu().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("wd,decoupled,maximize", [(0.0, False, False), (0.1, False, True),
                                                   (0.1, True, True)])
def test_composed_adam_step_matches_backend(device, amsgrad, wd, decoupled, maximize):
    from framework.device import Backend
    outs = []
    for impl in ("backend", "composed"):
        rng = np.random.default_rng(2)
        p = fw.tensor(rng.standard_normal(7).astype(np.float32), device=device)
        m, v, mx = (fw.zeros(7, device=device) for _ in range(3))
        for step in (1, 2, 3):
            g = fw.tensor(rng.standard_normal(7).astype(np.float32), device=device)
            fn = p._be.adam_step_ if impl == "backend" else \
                (lambda *a: Backend.adam_step_(p._be, *a))
            fn(p._v, g._v, m._v, v._v, mx._v if amsgrad else None, step, 0.01, 0.9, 0.999,
               1e-8, wd, decoupled, amsgrad, maximize)
        outs.append(p.cpu().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6, atol=1e-7)
