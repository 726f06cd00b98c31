"""framework.optim.lr_scheduler against torch.optim.lr_scheduler: exact lr sequences."""
import copy
import warnings

import pytest
import torch

import framework as fw
from framework import optim
from framework.optim import lr_scheduler as fs
from torch.optim import lr_scheduler as ts


def _opts(device, kind="SGD", groups=2, **kw):
    """The same optimizer config in both frameworks, with `groups` param groups."""
    fp = [fw.randn(2, requires_grad=True, device=device) for _ in range(groups)]
    tp = [torch.randn(2, requires_grad=True) for _ in range(groups)]
    lrs = [0.1 * (i + 1) for i in range(groups)]
    fo = getattr(optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(fp, lrs)], **kw)
    to = getattr(torch.optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(tp, lrs)], **kw)
    return fo, to


def _run(fo, to, fsched, tsched, epochs=60, metrics=None, keys=("lr",)):
    """Step both for `epochs` epochs; every group value in `keys` must be exactly equal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lr_scheduler.step() before optimizer.step()
        for e in range(epochs):
            assert fsched.get_last_lr() == tsched.get_last_lr(), e
            for k in keys:
                assert [g[k] for g in fo.param_groups] == [g[k] for g in to.param_groups], (e, k)
            fo.step()
            to.step()
            if metrics is None:
                fsched.step()
                tsched.step()
            else:
                fsched.step(metrics[e])
                tsched.step(metrics[e])


CASES = [
    ("StepLR", dict(step_size=7)),
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=17, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.7, total_iters=23)),
    ("ConstantLR", dict(factor=0.25, total_iters=9)),
    ("PolynomialLR", dict(total_iters=30, power=2.0)),
]


@pytest.mark.parametrize("name,kw", CASES, ids=lambda x: str(x))
def test_schedule_matches_torch(device, name, kw):
    fo, to = _opts(device)
    _run(fo, to, getattr(fs, name)(fo, **kw), getattr(ts, name)(to, **kw))


def test_lambda_and_multiplicative(device):
    fo, to = _opts(device)
    lams = [lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e)]
    _run(fo, to, fs.LambdaLR(fo, lams), ts.LambdaLR(to, lams))
    fo, to = _opts(device)
    _run(fo, to, fs.MultiplicativeLR(fo, lambda e: 0.9), ts.MultiplicativeLR(to, lambda e: 0.9))


@pytest.mark.parametrize("kind,kw", [
    ("SGD", dict(anneal_strategy="cos")),
    ("SGD", dict(anneal_strategy="linear", pct_start=0.4)),
    ("SGD", dict(three_phase=True, div_factor=10.0, final_div_factor=100.0)),
    ("Adam", dict()),
    ("AdamW", dict(three_phase=True, anneal_strategy="linear", base_momentum=0.8,
                   max_momentum=0.9)),
    ("SGD", dict(cycle_momentum=False, pct_start=0.25)),
])
def test_one_cycle(device, kind, kw):
    extra = dict(momentum=0.9) if kind == "SGD" else {}
    fo, to = _opts(device, kind, **extra)
    keys = ("lr", "betas") if kind != "SGD" else ("lr", "momentum")
    _run(fo, to, fs.OneCycleLR(fo, max_lr=[1.0, 0.5], total_steps=50, **kw),
         ts.OneCycleLR(to, max_lr=[1.0, 0.5], total_steps=50, **kw), epochs=50, keys=keys)


def test_one_cycle_epochs_and_overrun():
    fo, to = _opts("cpu", momentum=0.9)
    f = fs.OneCycleLR(fo, max_lr=0.3, epochs=3, steps_per_epoch=4)
    t = ts.OneCycleLR(to, max_lr=0.3, epochs=3, steps_per_epoch=4)
    _run(fo, to, f, t, epochs=12, keys=("lr", "momentum"))
    with pytest.raises(ValueError) as e1:
        f.step()
        f.step()
    with pytest.raises(ValueError) as e2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t.step()
            t.step()
    assert str(e1.value) == str(e2.value)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(threshold_mode="abs", threshold=0.05, patience=1, cooldown=2),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.01, 0.05]),
    dict(factor=0.5, patience=1, min_lr=0.02, eps=1e-3),
])
def test_reduce_on_plateau(device, kw):
    fo, to = _opts(device)
    metrics = [1.0 / (1 + e) if e < 10 else 0.1 + 0.01 * ((e * 7) % 5) for e in range(60)]
    _run(fo, to, fs.ReduceLROnPlateau(fo, **kw), ts.ReduceLROnPlateau(to, **kw),
         metrics=metrics)


def test_sequential_and_chained(device):
    fo, to = _opts(device)
    f = fs.SequentialLR(fo, [fs.LinearLR(fo, 0.1, total_iters=5), fs.ExponentialLR(fo, 0.9),
                             fs.StepLR(fo, 4)], milestones=[5, 20])
    t = ts.SequentialLR(to, [ts.LinearLR(to, 0.1, total_iters=5), ts.ExponentialLR(to, 0.9),
                             ts.StepLR(to, 4)], milestones=[5, 20])
    _run(fo, to, f, t)
    fo, to = _opts(device)
    f = fs.ChainedScheduler([fs.ConstantLR(fo, 0.5, total_iters=4), fs.ExponentialLR(fo, 0.95)])
    t = ts.ChainedScheduler([ts.ConstantLR(to, 0.5, total_iters=4), ts.ExponentialLR(to, 0.95)])
    _run(fo, to, f, t)


def test_two_schedulers_on_one_optimizer(device):
    fo, to = _opts(device)
    f1, f2 = fs.StepLR(fo, 5, 0.5), fs.CosineAnnealingLR(fo, 12)
    t1, t2 = ts.StepLR(to, 5, 0.5), ts.CosineAnnealingLR(to, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in range(40):
            assert [g["lr"] for g in fo.param_groups] == [g["lr"] for g in to.param_groups]
            f1.step(), f2.step(), t1.step(), t2.step()


@pytest.mark.parametrize("name,kw", CASES[:6])
def test_explicit_epoch_uses_closed_form(name, kw):
    fo, to = _opts("cpu")
    f, t = getattr(fs, name)(fo, **kw), getattr(ts, name)(to, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in (3, 9, 4, 20):
            f.step(e)
            t.step(e)
            assert f.get_last_lr() == t.get_last_lr()


@pytest.mark.parametrize("make", [
    lambda m, o: m.StepLR(o, 4, 0.5),
    lambda m, o: m.CosineAnnealingLR(o, 9, 0.01),
    lambda m, o: m.OneCycleLR(o, 1.0, total_steps=40),
    lambda m, o: m.ReduceLROnPlateau(o, patience=1),
    lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.2, total_iters=4), m.ExponentialLR(o, 0.9)],
                                [4]),
])
def test_state_dict_round_trip(make):
    """Train 10 epochs, save optimizer and scheduler, go on 15 more; a fresh pair loaded
    from the save gives the same lrs as the original, and as torch."""
    fo, to = _opts("cpu", momentum=0.9)
    f, t = make(fs, fo), make(ts, to)
    plateau = isinstance(f, fs.ReduceLROnPlateau)
    metric = lambda e: 1.0 if e > 3 else 1.0 / (e + 1)  # noqa: E731

    def go(o, s, e0, n):
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in range(e0, e0 + n):
                o.step()
                s.step(metric(e)) if plateau else s.step()
                out.append(list(s.get_last_lr()))
        return out

    go(fo, f, 0, 10)
    go(to, t, 0, 10)
    osd, ssd = copy.deepcopy(fo.state_dict()), copy.deepcopy(f.state_dict())
    expected = go(fo, f, 10, 15)
    assert expected == go(to, t, 10, 15)
    fo2, _ = _opts("cpu", momentum=0.9)
    f2 = make(fs, fo2)
    fo2.load_state_dict(osd)
    f2.load_state_dict(ssd)
    assert go(fo2, f2, 10, 15) == expected


def test_lambda_state_dict_keeps_callable_objects():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e

    fo, _ = _opts("cpu")
    d = Decay()
    s = fs.LambdaLR(fo, [d, lambda e: 1.0])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    d.rate = 0.9
    s.load_state_dict(sd)
    assert d.rate == 0.5


def test_errors():
    fo, to = _opts("cpu")

    def same(f, t):
        with pytest.raises(Exception) as te:
            t()
        with pytest.raises(type(te.value)) as fe:
            f()
        assert str(fe.value) == str(te.value)

    same(lambda: fs.StepLR(object(), 3), lambda: ts.StepLR(object(), 3))
    same(lambda: fs.LinearLR(fo, start_factor=0), lambda: ts.LinearLR(to, start_factor=0))
    same(lambda: fs.ConstantLR(fo, factor=2), lambda: ts.ConstantLR(to, factor=2))
    same(lambda: fs.ReduceLROnPlateau(fo, factor=1.0), lambda: ts.ReduceLROnPlateau(to, factor=1.0))
    same(lambda: fs.ReduceLROnPlateau(fo, mode="up"), lambda: ts.ReduceLROnPlateau(to, mode="up"))
    same(lambda: fs.ReduceLROnPlateau(fo, min_lr=[0.1]),
         lambda: ts.ReduceLROnPlateau(to, min_lr=[0.1]))
    same(lambda: fs.OneCycleLR(fo, 0.1), lambda: ts.OneCycleLR(to, 0.1))
    same(lambda: fs.OneCycleLR(fo, 0.1, total_steps=10, anneal_strategy="exp"),
         lambda: ts.OneCycleLR(to, 0.1, total_steps=10, anneal_strategy="exp"))
    same(lambda: fs.LambdaLR(fo, [lambda e: 1.0]), lambda: ts.LambdaLR(to, [lambda e: 1.0]))
    same(lambda: fs.StepLR(fs_opt_without_initial(), 3, last_epoch=5),
         lambda: ts.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]), 3,
                           last_epoch=5))
    fo2, to2 = _opts("cpu")
    same(lambda: fs.SequentialLR(fo, [fs.StepLR(fo2, 2)], milestones=[]),
         lambda: ts.SequentialLR(to, [ts.StepLR(to2, 2)], milestones=[]))
    same(lambda: fs.SequentialLR(fo, [fs.StepLR(fo, 2)], milestones=[3]),
         lambda: ts.SequentialLR(to, [ts.StepLR(to, 2)], milestones=[3]))


def fs_opt_without_initial():
    return optim.SGD([fw.zeros(1, requires_grad=True)])


def test_warns_when_stepped_before_optimizer():
    fo, _ = _opts("cpu")
    s = fs.StepLR(fo, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    fo, _ = _opts("cpu")
    s = fs.StepLR(fo, 3)
    fo.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()
