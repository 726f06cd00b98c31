"""Issue 14's leftovers, against PyTorch: integer division without host waits, fmod and
remainder at +-inf and signed zeros, norms of huge values, index_select's error types."""
import math

import numpy as np
import pytest
import torch

import framework as fw
import framework.nn.functional as F
from framework.testing import available_devices

DEVICES = [d for d in ("cpu", "opencl") if d in available_devices()]


def same(got, want):
    """Values, NaN positions and signs of zero as torch's."""
    got, want = got.detach().cpu().numpy(), want.numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if got.dtype.kind == "f":  # NaN's sign bit is not part of the answer
        np.testing.assert_array_equal(np.signbit(got) & ~np.isnan(got),
                                      np.signbit(want) & ~np.isnan(want))


# -- integer division never waits for the device ----------------------------------------------
@pytest.mark.skipif("opencl" not in DEVICES, reason="no OpenCL device")
def test_opencl_integer_division_queues_without_host_waits(monkeypatch):
    rt = fw.empty(0, device="opencl")._be.rt
    a = fw.tensor([7, -7, 9, 0], device="opencl")
    b = fw.tensor([2, 3, -4, 5], device="opencl")
    z = fw.tensor([1, 0, 2, 3], device="opencl")

    def waited(*args, **kwargs):
        raise AssertionError("integer division waited for the device")
    with monkeypatch.context() as m:
        m.setattr(rt, "download", waited)
        m.setattr(rt, "finish", waited)
        results = [a // b, a % b, fw.div(a, b, rounding_mode="trunc"), fw.fmod(a, b)]
    ta, tb = torch.tensor([7, -7, 9, 0]), torch.tensor([2, 3, -4, 5])
    for got, want in zip(results, [ta // tb, ta % tb, torch.div(ta, tb, rounding_mode="trunc"),
                                   torch.fmod(ta, tb)]):
        same(got, want)
    with monkeypatch.context() as m:
        m.setattr(rt, "download", waited)
        m.setattr(rt, "finish", waited)
        bad = a // z  # its error is raised at the next host wait
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        bad.cpu()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.tensor([7]) // torch.tensor([0])


# -- normalisation of huge values ---------------------------------------------------------------
def _norms(m, x):
    """layer/group/instance/batch norm of a (2, 4, 50) input (2 groups of 2 channels).
    """
    F_ = m.nn.functional
    return [F_.layer_norm(x, (50,)), F_.group_norm(x, 2), F_.instance_norm(x),
            F_.batch_norm(x, None, None, training=True)]


def test_norms_of_a_large_common_value_do_not_overflow(device):
    """torch: 0 for layer_norm and group_norm of rows of one large value (its mean cannot
    overflow); fw the same for every norm, fused or composed, and a zero gradient (torch's
    float32 instance_norm and batch_norm give +-inf here: their own overflow)."""
    v = torch.full((2, 4, 50), 3e38).mul(torch.tensor([1.0, 1.0, -0.5, -0.5]).view(1, 4, 1))
    same(F.layer_norm(fw.tensor([3e38] * 100, device=device), (100,)),
         torch.nn.functional.layer_norm(torch.tensor([3e38] * 100), (100,)))
    got, want = _norms(fw, fw.tensor(v.numpy(), device=device)), _norms(torch, v)
    for g, w in zip(got[:2], want[:2]):
        same(g, w)
    for g in got[2:]:
        same(g, torch.zeros(2, 4, 50))
    x = fw.tensor(v.numpy(), device=device, requires_grad=True)
    F.layer_norm(x, (50,)).sum().backward()
    same(x.grad, torch.zeros(2, 4, 50))
    x.grad = None
    g, = fw.autograd.grad(F.layer_norm(x, (50,)).sum(), x, create_graph=True)  # composed grad
    same(g, torch.zeros(2, 4, 50))


def test_norms_of_ordinary_values_unchanged(device):
    v = torch.randn(2, 4, 50, generator=torch.Generator().manual_seed(0)) * 100 + 1e4
    for got, want in zip(_norms(fw, fw.tensor(v.numpy(), device=device)), _norms(torch, v)):
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_norms_whose_variance_overflows_are_nan(device):
    """A variance past float32's range (rows of +-3e38): NaN, as torch's float32 answer;
    never the 0 that rsqrt(inf) gives (torch's answer on some of its paths)."""
    v = torch.tensor([3e38, -3e38] * 200).view(2, 4, 50)
    for got in _norms(fw, fw.tensor(v.numpy(), device=device)):
        assert got.isnan().all().item()
    assert torch.nn.functional.layer_norm(v, (50,)).isnan().all()


def test_composed_layer_norm_of_huge_values():
    """The composed default (devices without a fused layer norm, vulkan among them) as the
    fused kernels: 0 for a large common value, NaN where the variance overflows."""
    from framework.testing.conformance import composed_device
    with composed_device() as dev:
        big = F.layer_norm(fw.tensor([[3e38] * 100, [-3e38] * 100], device=dev), (100,))
        same(big, torch.zeros(2, 100))
        mixed = F.layer_norm(fw.tensor([3e38, -3e38] * 50, device=dev), (100,))
        assert mixed.isnan().all().item()
        x = fw.tensor([1.0, 2.0, 4.0, 8.0], device=dev)
        np.testing.assert_allclose(F.layer_norm(x, (4,)).cpu().numpy(),
                                   torch.nn.functional.layer_norm(torch.tensor(
                                       [1.0, 2.0, 4.0, 8.0]), (4,)).numpy(), rtol=1e-6)


# -- fmod and remainder at +-inf and signed zeros ---------------------------------------------
INF, NAN = math.inf, math.nan
A = [-3.0, 3.0, -4.0, 0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 0.0, -0.0, 5.0, -5.0, INF, NAN, 3.0,
     -7.5, 7.5, 1e30, -1e-10, 1e-10, 2.5]
B = [3.0, -3.0, 2.0, 5.0, 5.0, -5.0, -5.0, INF, INF, INF, -INF, -INF, -INF, 2.0, 2.0, 0.0,
     2.0, -2.0, 3.0, 1.0, -1.0, NAN]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["fmod", "remainder", "floor_divide"])
def test_float_division_ops_at_inf_and_signed_zeros(device, op, dtype):
    """fmod(x, +-inf) = x, remainder(-1, inf) = inf, zeros with the dividend's sign (both
    ops, as torch), tiny remainders exact: tensor and scalar divisors."""
    a_, b_ = A, B
    if device == "vulkan":  # its fmod is a - b * trunc(a / b): inexact for 1e30 / 3 (docs)
        a_, b_ = A[:18] + A[19:], B[:18] + B[19:]
    ta, tb = torch.tensor(a_, dtype=getattr(torch, dtype)), torch.tensor(b_, dtype=getattr(torch, dtype))
    a, b = fw.tensor(ta.numpy(), device=device), fw.tensor(tb.numpy(), device=device)
    fn, tfn = getattr(fw, op), getattr(torch, op)
    same(fn(a, b), tfn(ta, tb))
    for s in (INF, -INF, -3.0, 2.0):
        same(fn(a, s), tfn(ta, s))


@pytest.mark.parametrize("op", ["fmod", "remainder", "floor_divide"])
def test_integer_division_ops_signs(device, op):
    ta = torch.tensor([-3, 3, -4, 0, 7, -7, 7, -7, 2**40 + 1, -(2**40) - 1])
    tb = torch.tensor([3, -3, 2, -5, 2, 2, -2, -2, 3, 3])
    a, b = fw.tensor(ta.numpy(), device=device), fw.tensor(tb.numpy(), device=device)
    same(getattr(fw, op)(a, b), getattr(torch, op)(ta, tb))
    same(getattr(fw, op)(a, -3), getattr(torch, op)(ta, -3))


def test_fmod_gradients_match_torch(device):
    ta = torch.tensor([-7.5, 7.5, -1.0, 5.0, 2.5], requires_grad=True)
    tb = torch.tensor([2.0, -2.0, INF, 3.0, -1.5], requires_grad=True)
    torch.fmod(ta, tb).sum().backward()
    a = fw.tensor(ta.detach().numpy(), device=device, requires_grad=True)
    b = fw.tensor(tb.detach().numpy(), device=device, requires_grad=True)
    fw.fmod(a, b).sum().backward()
    same(a.grad, ta.grad)
    same(b.grad[[0, 1, 3, 4]], tb.grad[[0, 1, 3, 4]])  # d/d(inf): torch's is -trunc(x / inf)


# -- index_select's error type: torch's, layout by layout ---------------------------------------
@pytest.mark.parametrize("shape, dim, index", [
    ((5,), 0, [5]), ((5,), 0, [-1]), ((0,), 0, [0]), ((), 0, [1]), ((3, 4), 0, [3]),
    ((3, 4), 1, [4]), ((3, 4), -1, [-1]), ((2, 3, 4), 1, [3]), ((2, 3, 4), 2, [9]),
    ((2, 3, 4), 0, [2]), ((2, 0, 4), 0, [5]), ((2, 0, 4), 1, [0]), ((2, 0, 4), 2, [4]),
    ((0, 3), 0, [0]), ((3, 0), 0, [-1]), ((4, 3), 1, [3])])
def test_index_select_out_of_range_raises_torchs_type(device, shape, dim, index):
    """IndexError for 1-d and 0-d inputs and most dims; RuntimeError for dim 1 of an input of
    2 dims or more, and for an empty input (both PyTorch's CPU kernel's own paths)."""
    with pytest.raises((IndexError, RuntimeError)) as want:
        torch.index_select(torch.ones(shape), dim, torch.tensor(index))
    with pytest.raises(want.type, match="index_select"):
        fw.index_select(fw.ones(shape, device=device), dim,
                        fw.tensor(index, device=device)).cpu()
    transposed = fw.ones(shape[::-1], device=device).permute(*range(len(shape) - 1, -1, -1))
    with pytest.raises(want.type, match="index_select"):  # the layout of the input: no matter
        transposed.index_select(dim, fw.tensor(index, device=device)).cpu()


# -- found by the fuzz suite: max_pool2d's NaN index, pow's +-0.5, gelu(tanh) saturation --------
POOL = [[[NAN, 1.0], [2.0, NAN]], [[1.0, NAN], [NAN, 2.0]], [[NAN, NAN], [NAN, NAN]],
        [[1.0, INF], [INF, NAN]], [[1.0, 1.0], [1.0, 1.0]], [[-INF, -INF], [-INF, 3.0]]]


def _pool_same(dev, x, **kw):
    v, i = F.max_pool2d(fw.tensor(x.numpy(), device=dev), return_indices=True, **kw)
    tv, ti = torch.nn.functional.max_pool2d(x, return_indices=True, **kw)
    same(v, tv)
    same(i, ti)


def test_max_pool2d_index_of_a_window_with_nan_is_its_last_nan(device):
    """PyTorch keeps the first of equal maxima but the last NaN (every NaN replaces the max)."""
    for t in POOL:
        _pool_same(device, torch.tensor(t).view(1, 1, 2, 2), kernel_size=2)
    x = torch.tensor([NAN, 1.0, NAN, 2.0, 5.0, NAN, 0.0, 5.0, NAN]).view(1, 1, 3, 3)
    _pool_same(device, x, kernel_size=2, stride=1)  # overlapping windows
    _pool_same(device, x, kernel_size=2, stride=2, padding=1, ceil_mode=True)
    _pool_same(device, x, kernel_size=2, dilation=2)


def test_composed_max_pool2d_nan_index():
    from framework.testing.conformance import composed_device
    x = torch.tensor([NAN, 1.0, NAN, 2.0, 5.0, NAN, 0.0, 5.0, NAN]).view(1, 1, 3, 3)
    with composed_device() as dev:
        _pool_same(dev, x, kernel_size=2, stride=1)
        _pool_same(dev, x, kernel_size=2, stride=2, padding=1, ceil_mode=True)


@pytest.mark.parametrize("exponent", [0.5, -0.5, 1.5, 2])
def test_pow_scalar_half_is_sqrt_as_torch(device, exponent):
    """torch takes a scalar exponent of +-0.5 as sqrt/rsqrt: pow(-inf, 0.5) = NaN, pow(-0., 0.5)
    = -0. (C's pow, which torch uses for a tensor exponent: inf, 0.)."""
    v = [-INF, -4.0, INF, -0.0, 0.0, NAN, 2.0, 0.25]
    got, want = fw.pow(fw.tensor(v, device=device), exponent), torch.pow(torch.tensor(v), exponent)
    same(got[:6], want[:6])  # the specials exactly, the others to the driver's precision
    np.testing.assert_allclose(got[6:].cpu().numpy(), want[6:].numpy(), rtol=3e-7)
    same(fw.pow(fw.tensor([4, 0, 9], device=device), exponent),
         torch.pow(torch.tensor([4, 0, 9]), exponent))
    ta = torch.tensor([0.5, 4.0], requires_grad=True)
    a = fw.tensor([0.5, 4.0], device=device, requires_grad=True)
    torch.pow(ta, exponent).sum().backward()
    fw.pow(a, exponent).sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-6)


def test_tanh_saturates_and_gelu_tanh_of_large_negatives(device):
    """tanh rounds to +-1 where torch's does (PoCL's builtin stopped one ulp short), so
    gelu(tanh) of -inf is NaN and of a large negative -0, as torch."""
    v = [-INF, INF, -1e13, -3e38, -20.0, -10.0, -9.2, 9.2, NAN]
    for dtype in ("float32", "float64"):
        t = torch.tensor(v, dtype=getattr(torch, dtype))
        x = fw.tensor(t.numpy(), device=device)
        same(F.gelu(x, approximate="tanh"), torch.nn.functional.gelu(t, approximate="tanh"))
        got, want = fw.tanh(x).cpu().numpy(), torch.tanh(t).numpy()
        sat = np.isnan(want) | (np.abs(want) == 1)  # exact where torch's is +-1 or NaN
        same(fw.tensor(got[sat]), torch.from_numpy(want[sat]))
        np.testing.assert_allclose(got[~sat], want[~sat], rtol=3e-7)
        t = torch.tensor([-0.5, 8.0, 9.0, -3.0], dtype=getattr(torch, dtype))
        np.testing.assert_allclose(fw.tanh(fw.tensor(t.numpy(), device=device)).cpu().numpy(),
                                   torch.tanh(t).numpy(), rtol=3e-7)
