"""nn.init against torch.nn.init: same formulas (bounds, stds, gains), same errors; fw's own
random numbers, reproducible with fw.manual_seed, on every device."""
import math
import warnings

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn

SHAPES = [(64, 32), (128, 16, 3, 3), (32, 8, 5)]


def pair(shape, device="cpu"):
    return torch.empty(shape), nn.Parameter(fw.empty(shape, device=device))


def host(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None),
                                        ("conv_transpose3d", None)])
def test_calculate_gain(name, param):
    assert nn.init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize("code", ["calculate_gain('swish')", "calculate_gain('leaky_relu', 'x')",
                                  "calculate_gain('leaky_relu', True)",
                                  "_calculate_fan_in_and_fan_out(T.empty(3))",
                                  "kaiming_uniform_(T.empty(3, 4), mode='fan_avg')",
                                  "eye_(T.empty(3, 4, 5))", "dirac_(T.empty(3, 4))",
                                  "dirac_(T.empty(3, 4, 5), groups=2)",
                                  "orthogonal_(T.empty(3))", "sparse_(T.empty(3, 4, 5), 0.5)",
                                  "xavier_uniform_(T.empty(5))"])
def test_errors_match_torch(code):
    msgs = []
    for lib in (torch, fw):
        with pytest.raises(ValueError) as e:
            eval("I." + code, {"I": lib.nn.init, "T": lib})
        msgs.append(str(e.value))
    assert msgs[1] == msgs[0]


@pytest.mark.parametrize("shape", SHAPES + [(3, 0, 2)])
def test_fans(shape):
    assert nn.init._calculate_fan_in_and_fan_out(fw.empty(shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)  # deterministic tests; tolerances below are still ~6 sigma
    fw.manual_seed(0)


def _stats_close(f, t):
    """fw's sample and torch's come from the same distribution (mean and std agree within
    about 6 standard errors)."""
    a, b = host(f).astype(np.float64), t.numpy().astype(np.float64)
    n = a.size
    assert abs(a.mean() - b.mean()) < 6 * b.std() * math.sqrt(2.0 / n) + 1e-7
    assert a.std() == pytest.approx(b.std(), rel=6 * math.sqrt(1.0 / n))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kw", [{}, {"a": math.sqrt(5)}, {"mode": "fan_out"},
                                {"nonlinearity": "relu"}, {"a": 0.1, "mode": "fan_out"}])
def test_kaiming_uniform_bound_is_torch_formula(shape, kw):
    t, f = pair(shape)
    torch.nn.init.kaiming_uniform_(t, **kw)
    out = nn.init.kaiming_uniform_(f, **kw)
    assert out is f and isinstance(f, nn.Parameter) and f.requires_grad and f.grad_fn is None
    fan = nn.init._calculate_correct_fan(f, kw.get("mode", "fan_in"))
    gain = nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0))
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    a = host(f)
    assert a.min() >= -bound and a.max() <= bound
    assert a.max() > 0.97 * bound and a.min() < -0.97 * bound  # the bound itself is reached
    assert np.abs(t.numpy()).max() <= bound + 1e-7
    _stats_close(f, t)


@pytest.mark.parametrize("fn,kw", [("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out"}),
                                   ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.0}),
                                   ("xavier_normal_", {"gain": 0.5}), ("normal_", {"mean": 1.0, "std": 0.3}),
                                   ("uniform_", {"a": -2.0, "b": 5.0}),
                                   ("trunc_normal_", {"std": 0.02}),
                                   ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": 0.0, "b": 1.0}),
                                   ("orthogonal_", {"gain": 1.5})])
@pytest.mark.parametrize("shape", SHAPES)
def test_statistics_match_torch(fn, kw, shape):
    t, f = pair(shape)
    getattr(torch.nn.init, fn)(t, **kw)
    getattr(nn.init, fn)(f, **kw)
    _stats_close(f, t)
    a, b = host(f), t.numpy()
    if fn == "uniform_":
        assert a.min() >= kw["a"] and a.max() < kw["b"]
    if fn == "trunc_normal_":
        lo, hi = kw.get("a", -2.0), kw.get("b", 2.0)
        assert a.min() >= lo and a.max() <= hi
        assert a.min() == pytest.approx(b.min(), abs=0.05 * (hi - lo))


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (5, 2, 3)])
def test_orthogonal(shape):
    f = fw.empty(shape)
    nn.init.orthogonal_(f, gain=2.0)
    m = host(f).reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 2, 3, 3), 2), ((4, 6, 1, 3, 3), 1),
                                          ((3, 5, 2, 2), 3)])
def test_dirac_eye_constant_equal_torch(shape, groups):
    t, f = pair(shape)
    torch.nn.init.dirac_(t, groups)
    nn.init.dirac_(f, groups)
    np.testing.assert_array_equal(host(f), t.numpy())
    for n, m in [(3, 5), (4, 4), (5, 2)]:
        t, f = pair((n, m))
        torch.nn.init.eye_(t)
        nn.init.eye_(f)
        np.testing.assert_array_equal(host(f), t.numpy())
    for fn, args in [("constant_", (0.25,)), ("ones_", ()), ("zeros_", ())]:
        t, f = pair(shape)
        getattr(torch.nn.init, fn)(t, *args)
        getattr(nn.init, fn)(f, *args)
        np.testing.assert_array_equal(host(f), t.numpy())


def test_sparse():
    f = fw.empty(10, 7)
    nn.init.sparse_(f, 0.35, std=0.5)
    a = host(f)
    assert ((a == 0).sum(axis=0) == math.ceil(0.35 * 10)).all()


def test_seed_makes_init_reproducible():
    out = []
    for _ in range(2):
        fw.manual_seed(123)
        vals = []
        for fn in ("kaiming_uniform_", "xavier_normal_", "orthogonal_", "trunc_normal_", "sparse_"):
            f = fw.empty(8, 6)
            getattr(nn.init, fn)(f, *((0.5,) if fn == "sparse_" else ()))
            vals.append(host(f))
        out.append(vals)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    g = fw.Generator().manual_seed(5)
    a = host(nn.init.normal_(fw.empty(4), generator=g))
    g.manual_seed(5)
    np.testing.assert_array_equal(host(nn.init.normal_(fw.empty(4), generator=g)), a)


@pytest.mark.parametrize("fn,args", [("uniform_", ()), ("normal_", ()), ("kaiming_uniform_", ()),
                                     ("kaiming_normal_", ()), ("xavier_uniform_", ()),
                                     ("xavier_normal_", ()), ("trunc_normal_", ()),
                                     ("orthogonal_", ()), ("eye_", ()), ("constant_", (3.0,)),
                                     ("sparse_", (0.5,)), ("zeros_", ())])
def test_on_device_in_place_no_history(device, fn, args):
    fw.manual_seed(7)
    p = nn.Parameter(fw.zeros(6, 5, device=device))
    ver = p._version
    out = getattr(nn.init, fn)(p, *args)
    assert out is p and p.device == fw.empty(0, device=device).device and p.grad_fn is None and p.requires_grad
    assert p._version > ver
    fw.manual_seed(7)
    q = getattr(nn.init, fn)(fw.zeros(6, 5), *args)
    np.testing.assert_allclose(host(p), host(q), rtol=1e-6)  # same numbers on every device
    (p * 2).sum().backward()  # still a usable leaf
    assert p.grad is not None


def test_zero_element_warns_like_torch():
    for lib in (torch, fw):
        with pytest.warns(UserWarning, match="zero-element"):
            lib.nn.init.kaiming_uniform_(lib.empty(0, 3))


def test_deprecated_aliases():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FutureWarning):
            nn.init.xavier_uniform(fw.empty(3, 4))
