"""Convolution and pooling against PyTorch beyond the op suite's table (whose cases in
framework/testing/cases_nn.py check every conv/pool option set, values and gradients, on
every device and on the composed defaults): double backward, -inf windows, adaptive
pooling, modules, errors, a small CNN."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
import framework.nn  # noqa: F401
import framework.nn.functional as F
from oracle import assert_same_error_kind

RNG = np.random.default_rng(0)


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
        if t is not None:
            _close(a.grad, t.grad, 1e-3)


def test_conv2d_double_backward(device):
    res = []
    xa, wa = _data((1, 2, 5, 5)), _data((3, 2, 3, 3))
    for lib, fn in ((fw, F), (torch, TF)):
        kw = {"device": device} if lib is fw else {}
        x = lib.tensor(xa, requires_grad=True, **kw)
        w = lib.tensor(wa, requires_grad=True, **kw)
        out = fn.conv2d(x, w, None, 2, 1)
        gx, gw = lib.autograd.grad((out * out).sum(), (x, w), create_graph=True)
        res.append([t.detach().cpu().numpy() for t in lib.autograd.grad((gx * gx).sum() + (gw ** 3).sum(), (x, w))])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("code", [
    "F.conv2d(L.zeros(4, 4), L.zeros(2, 1, 3, 3))",
    "F.conv2d(L.zeros(1, 4, 8, 8), L.zeros(2, 3, 3, 3))",
    "F.conv2d(L.zeros(1, 4, 8, 8), L.zeros(2, 2, 3, 3), groups=3)",
    "F.conv2d(L.zeros(1, 3, 4, 4), L.zeros(2, 3, 5, 5))",
    "F.conv2d(L.zeros(1, 3, 8, 8), L.zeros(2, 3, 3, 3), stride=0)",
    "F.conv2d(L.zeros(1, 3, 8, 8), L.zeros(2, 3, 3, 3), padding=-1)",
    "F.conv2d(L.zeros(1, 3, 8, 8), L.zeros(2, 3, 3, 3), padding='same', stride=2)",
    "F.conv2d(L.zeros(1, 3, 8, 8), L.zeros(2, 3, 3, 3), padding='foo')",
    "F.conv1d(L.zeros(1, 3, 8, 8), L.zeros(2, 3, 3))",
    "F.conv_transpose2d(L.zeros(1, 3, 8, 8), L.zeros(4, 3, 3, 3))",
    "F.conv_transpose2d(L.zeros(1, 4, 8, 8), L.zeros(4, 3, 3, 3), output_padding=1)",
    "F.max_pool2d(L.zeros(8), 2)",
    "F.max_pool2d(L.zeros(1, 1, 8, 8), 2, padding=2)",
    "F.max_pool2d(L.zeros(1, 1, 2, 2), 3)",
    "F.avg_pool2d(L.zeros(1, 1, 8, 8), 2, padding=2)",
    "L.nn.Conv2d(3, 4, 3, groups=2)",
    "L.nn.Conv2d(3, 4, 3, padding='same', stride=2)",
    "L.nn.Conv2d(3, 4, 3, padding_mode='bogus')",
])
def test_errors(code):
    assert_same_error_kind(code.replace("F.", "L.nn.functional."))


# -- pooling ------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", [(3, 2, 1, False), (2, 3, 1, True)])
def test_max_pool2d_windows_of_minus_inf(device, kernel, stride, padding, ceil_mode):
    # a max equal to the padding value: the index is the window's first in-bounds cell,
    # so each input gets the grads of the windows that chose it (and none leaks elsewhere)
    a = np.full((2, 2, 5, 7), -np.inf, np.float32)
    a[1, 1, 2, 3] = 1
    x, tx = fw.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, idx = F.max_pool2d(x, kernel, stride, padding, 1, ceil_mode, True)
    tout, tidx = TF.max_pool2d(tx, kernel, stride, padding, 1, ceil_mode, True)
    np.testing.assert_array_equal(idx.cpu().numpy(), tidx.numpy())
    _check_grads(out, tout, [(x, tx)], device)


def test_max_pool_double_backward(device):
    xa = _data((1, 2, 6, 6))
    res = []
    for lib, fn in ((fw, F), (torch, TF)):
        x = lib.tensor(xa, requires_grad=True, **({"device": device} if lib is fw else {}))
        (g,) = lib.autograd.grad((fn.max_pool2d(x, 3, 2, 1) ** 2).sum(), x, create_graph=True)
        res.append(lib.autograd.grad((g * g * x).sum(), x)[0].detach().cpu().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size", [(4, 5), (3, None), 1, (9, 11), (5, 2)])
def test_adaptive_pool2d(device, size):
    x, tx = _pair((2, 3, 9, 11), device)
    out, tout = F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(tx, size)
    _close(out, tout)
    _check_grads(out, tout, [(x, tx)], device)
    x.grad, tx.grad = None, None
    (out, idx), (tout, tidx) = F.adaptive_max_pool2d(x, size, True), TF.adaptive_max_pool2d(tx, size, True)
    _close(out, tout)
    np.testing.assert_array_equal(idx.cpu().numpy(), tidx.numpy())
    _check_grads(out, tout, [(x, tx)], device)


def test_adaptive_pool1d(device):
    x, tx = _pair((2, 3, 10), device)
    for size in (3, 5, 10):
        _close(F.adaptive_avg_pool1d(x, size), TF.adaptive_avg_pool1d(tx, size))
        _close(F.adaptive_max_pool1d(x, size), TF.adaptive_max_pool1d(tx, size))


# -- modules ------------------------------------------------------------------------------
def _copy_params(m, tm):
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname and tuple(p.shape) == tuple(tp.shape)
        with torch.no_grad():
            tp.copy_(torch.tensor(p.detach().cpu().numpy()))


@pytest.mark.parametrize("ctor,xs", [
    ("Conv2d(3, 4, 3)", (2, 3, 7, 7)),
    ("Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(2, 1), groups=2, bias=False)", (2, 4, 9, 8)),
    ("Conv2d(3, 4, 3, padding='same', padding_mode='reflect')", (2, 3, 6, 6)),
    ("Conv2d(3, 4, 3, padding=1, padding_mode='circular')", (2, 3, 6, 6)),
    ("Conv1d(3, 5, 4, stride=2, padding=1)", (2, 3, 12)),
    ("ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)", (2, 3, 5, 5)),
    ("ConvTranspose1d(3, 4, 3, stride=2)", (2, 3, 5)),
    ("MaxPool2d(3, 2, 1, ceil_mode=True)", (2, 3, 7, 8)),
    ("MaxPool1d(2)", (2, 3, 9)),
    ("AvgPool2d(3, 2, 1, count_include_pad=False)", (2, 3, 7, 8)),
    ("AvgPool1d(3, 2)", (2, 3, 9)),
    ("AdaptiveAvgPool2d((3, 4))", (2, 3, 7, 9)),
    ("AdaptiveAvgPool1d(4)", (2, 3, 9)),
    ("AdaptiveMaxPool2d(2)", (2, 3, 7, 9)),
])
def test_modules(device, ctor, xs):
    m = eval("fw.nn." + ctor).to(device)
    tm = eval("torch.nn." + ctor)
    assert repr(m) == repr(tm)
    _copy_params(m, tm)
    x, tx = _pair(xs, device)
    out, tout = m(x), tm(tx)
    _close(out, tout)
    _check_grads(out, tout, [(x, tx)] + [(p, tp) for p, tp in zip(m.parameters(), tm.parameters())],
                 device)


def test_conv_transpose_output_size(device):
    m = fw.nn.ConvTranspose2d(2, 3, 3, stride=2)
    tm = torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    _copy_params(m, tm)
    x, tx = _pair((1, 2, 4, 4), device)
    _close(m.to(device)(x, output_size=[10, 9]), tm(tx, output_size=[10, 9]))


def test_conv_default_init():
    # PyTorch's init: weights within the kaiming_uniform(a=sqrt(5)) bound = 1/sqrt(fan_in)
    m = fw.nn.Conv2d(4, 8, 3)
    bound = 1 / np.sqrt(4 * 9)
    for p in (m.weight, m.bias):
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound + 1e-7 and a.std() > bound / 4
    assert m.weight.shape == (8, 4, 3, 3) and m.weight.requires_grad
    t = fw.nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert tuple(t.weight.shape) == (4, 3, 3, 3)


def test_lenet_training_step(device):
    """A small CNN on both libraries with the same weights: same loss and gradients."""
    def build(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                             nn.Linear(8 * 2 * 2, 10))
    m, tm = build(fw.nn), build(torch.nn)
    _copy_params(m, tm)
    m.to(device)
    x = _data((4, 1, 14, 14))
    out = m(fw.tensor(x, device=device))
    tout = tm(torch.tensor(x))
    _close(out, tout)
    out.sum().backward()
    tout.sum().backward()
    for p, tp in zip(m.parameters(), tm.parameters()):
        _close(p.grad, tp.grad, 1e-3)
