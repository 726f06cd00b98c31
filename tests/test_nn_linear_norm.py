"""Linear, Bilinear and the normalisation layers against PyTorch (values and gradients)
beyond the op suite's table (framework/testing/cases_nn.py: F.linear and F.layer_norm's
option sets on every device and on the composed defaults)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
import framework.nn  # noqa: F401
import framework.nn.functional as F
from oracle import assert_same_error_kind

RNG = np.random.default_rng(1)


def _data(shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _pair(shape, device):
    a = _data(shape)
    return fw.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)


def _close(a, b, tol=2e-4):
    a = a.detach().cpu().numpy() if isinstance(a, fw.Tensor) else a
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=tol, atol=tol)


def _check_grads(out, tout, pairs, device):
    g = _data(tuple(tout.shape))
    out.backward(fw.tensor(g, device=device))
    tout.backward(torch.tensor(g))
    for a, t in pairs:
        _close(a.grad, t.grad, 1e-3)


def test_linear_only_needed_grads(device):
    x = fw.tensor(_data((5, 4)), device=device)
    w = fw.tensor(_data((3, 4)), device=device, requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


def test_linear_double_backward(device):
    xa, wa = _data((3, 4)), _data((2, 4))
    res = []
    for lib, fn in ((fw, F), (torch, TF)):
        kw = {"device": device} if lib is fw else {}
        x, w = lib.tensor(xa, requires_grad=True, **kw), lib.tensor(wa, requires_grad=True, **kw)
        (gx,) = lib.autograd.grad((fn.linear(x, w) ** 2).sum(), x, create_graph=True)
        res.append([t.detach().cpu().numpy() for t in lib.autograd.grad((gx ** 2).sum(), (x, w))])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_bilinear(device):
    x1, tx1 = _pair((2, 3, 4), device)
    x2, tx2 = _pair((2, 3, 5), device)
    w, tw = _pair((6, 4, 5), device)
    b, tb = _pair((6,), device)
    out, tout = F.bilinear(x1, x2, w, b), TF.bilinear(tx1, tx2, tw, tb)
    _close(out, tout)
    _check_grads(out, tout, [(x1, tx1), (x2, tx2), (w, tw), (b, tb)], device)


@pytest.mark.parametrize("code", [
    "F.linear(L.zeros(3, 4), L.zeros(5, 3))",
    "F.linear(L.zeros(3, 4), L.zeros(5, 4, 1))",
    "F.layer_norm(L.zeros(2, 3), (4,))",
    "F.batch_norm(L.zeros(2, 3), L.zeros(4), L.ones(4))",
    "F.batch_norm(L.zeros(1, 3), None, None, training=True)",
    "F.group_norm(L.zeros(2, 3, 4), 2)",
    "L.nn.BatchNorm2d(3)(L.zeros(2, 3))",
    "L.nn.GroupNorm(2, 3)",
])
def test_errors(code):
    assert_same_error_kind(code.replace("F.", "L.nn.functional."))


def test_layer_norm_double_backward(device):
    xa, wa = _data((3, 6)), _data((6,))
    res = []
    for lib, fn in ((fw, F), (torch, TF)):
        kw = {"device": device} if lib is fw else {}
        x, w = lib.tensor(xa, requires_grad=True, **kw), lib.tensor(wa, requires_grad=True, **kw)
        (gx,) = lib.autograd.grad((fn.layer_norm(x, (6,), w) ** 3).sum(), x, create_graph=True)
        res.append([t.detach().cpu().numpy() for t in lib.autograd.grad((gx * gx).sum(), (x, w))])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("xs", [(6, 4), (3, 4, 5), (2, 4, 3, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(device, xs, training):
    x, tx = _pair(xs, device)
    w, tw = _pair((4,), device)
    b, tb = _pair((4,), device)
    rm, rv = np.abs(_data(4)), np.abs(_data(4)) + 0.5
    frm, frv = fw.tensor(rm, device=device), fw.tensor(rv, device=device)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    out = F.batch_norm(x, frm, frv, w, b, training, 0.2, 1e-4)
    tout = TF.batch_norm(tx, trm, trv, tw, tb, training, 0.2, 1e-4)
    _close(out, tout)
    _close(frm, trm)
    _close(frv, trv)
    _check_grads(out, tout, [(x, tx), (w, tw), (b, tb)], device)


def test_group_and_instance_norm(device):
    x, tx = _pair((2, 6, 4, 3), device)
    w, tw = _pair((6,), device)
    b, tb = _pair((6,), device)
    out, tout = F.group_norm(x, 3, w, b), TF.group_norm(tx, 3, tw, tb)
    _close(out, tout)
    _check_grads(out, tout, [(x, tx), (w, tw), (b, tb)], device)
    frm, frv, trm, trv = fw.zeros(6, device=device), fw.ones(6, device=device), torch.zeros(6), torch.ones(6)
    _close(F.instance_norm(x, frm, frv, w, b), TF.instance_norm(tx, trm, trv, tw, tb))
    _close(frm, trm)
    _close(frv, trv)


def test_normalize_and_lrn(device):
    x, tx = _pair((2, 5, 3, 4), device)
    _close(F.normalize(x, dim=2), TF.normalize(tx, dim=2))
    out, tout = F.local_response_norm(x, 3), TF.local_response_norm(tx, 3)
    _close(out, tout)
    _check_grads(out, tout, [(x, tx)], device)
    _close(F.local_response_norm(x[:, :, 0], 2), TF.local_response_norm(tx[:, :, 0], 2))


# -- modules ------------------------------------------------------------------------------
def _copy_params(m, tm):
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname
        with torch.no_grad():
            tp.copy_(torch.tensor(p.detach().cpu().numpy()))


@pytest.mark.parametrize("ctor,xs", [
    ("Linear(4, 3)", (5, 4)), ("Linear(4, 3, bias=False)", (2, 5, 4)),
    ("LayerNorm(5)", (3, 5)), ("LayerNorm((4, 5), elementwise_affine=False)", (2, 4, 5)),
    ("LayerNorm(5, bias=False)", (3, 5)),
    ("GroupNorm(2, 4)", (3, 4, 5)), ("GroupNorm(1, 4, affine=False)", (3, 4, 2, 2)),
    ("InstanceNorm2d(3, affine=True)", (2, 3, 4, 4)), ("InstanceNorm1d(3)", (2, 3, 5)),
    ("LocalResponseNorm(3)", (2, 5, 4)),
])
def test_modules(device, ctor, xs):
    m, tm = eval("fw.nn." + ctor).to(device), eval("torch.nn." + ctor)
    assert repr(m) == repr(tm)
    _copy_params(m, tm)
    x, tx = _pair(xs, device)
    out, tout = m(x), tm(tx)
    _close(out, tout)
    _check_grads(out, tout, [(x, tx)] + list(zip(m.parameters(), tm.parameters())), device)


def test_bilinear_module(device):
    m, tm = fw.nn.Bilinear(3, 4, 2).to(device), torch.nn.Bilinear(3, 4, 2)
    assert repr(m) == repr(tm)
    _copy_params(m, tm)
    x1, tx1 = _pair((5, 3), device)
    x2, tx2 = _pair((5, 4), device)
    _close(m(x1, x2), tm(tx1, tx2))


@pytest.mark.parametrize("ctor,xs", [("BatchNorm1d(4)", (6, 4)), ("BatchNorm1d(4, momentum=None)", (3, 4, 5)),
                                     ("BatchNorm2d(4, affine=False)", (2, 4, 3, 3)),
                                     ("BatchNorm2d(4, track_running_stats=False)", (2, 4, 3, 3))])
def test_batch_norm_module(device, ctor, xs):
    m, tm = eval("fw.nn." + ctor).to(device), eval("torch.nn." + ctor)
    assert repr(m) == repr(tm)
    _copy_params(m, tm)
    for _ in range(3):  # running stats over several training steps, then eval mode
        x, tx = _pair(xs, device)
        out, tout = m(x), tm(tx)
        _close(out, tout)
    _check_grads(out, tout, [(x, tx)] + list(zip(m.parameters(), tm.parameters())), device)
    ours, theirs = m.state_dict(), tm.state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        _close(ours[k], theirs[k])
    m.eval()
    tm.eval()
    x, tx = _pair(xs, device)
    _close(m(x), tm(tx))


def test_linear_default_init():
    m = fw.nn.Linear(16, 8)
    bound = 1 / np.sqrt(16)
    for p in (m.weight, m.bias):
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound + 1e-7 and a.std() > bound / 4


@pytest.mark.parametrize("ctor,xs", [
    ("InstanceNorm1d(3, track_running_stats=True)", (2, 3, 5)),
    ("InstanceNorm2d(3, momentum=None, track_running_stats=True, affine=True)", (2, 3, 4, 4)),
])
def test_instance_norm_running_stats(device, ctor, xs):
    # momentum=None leaves the running stats where they are (PyTorch's factor 0.0)
    m, tm = eval("fw.nn." + ctor).to(device), eval("torch.nn." + ctor)
    for _ in range(2):
        x, tx = _pair(xs, device)
        _close(m(x), tm(tx))
    for k, v in tm.state_dict().items():
        _close(m.state_dict()[k], v)
    m.eval()
    tm.eval()
    x, tx = _pair(xs, device)
    _close(m(x), tm(tx))
