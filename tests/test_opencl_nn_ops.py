"""The fused layer ops of each backend (conv2d and its gradients, pooling, layer norm),
called directly on the backend and compared with torch.nn.functional: values, indices
and gradients, over many geometries, strided inputs and float64."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
from framework import dtypes as dt
from framework.device import View

RNG = np.random.default_rng(0)


def _be(device):
    return fw.zeros(1, device=device)._be


def _data(shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _close(be, v, ref, tol=None):
    got = be.to_numpy(v)
    tol = tol or (2e-4 if got.dtype == np.float32 else 1e-10)
    assert got.shape == tuple(ref.shape)
    np.testing.assert_allclose(got, np.asarray(ref), rtol=tol, atol=tol)


def _strided(be, a):
    """`a` as a non-contiguous View: the (W, H) transpose of a buffer holding a.swapaxes."""
    v = be.from_numpy(np.ascontiguousarray(a.swapaxes(-1, -2)))
    s = list(v.strides)
    s[-1], s[-2] = s[-2], s[-1]
    return View(v.buf, a.shape, tuple(s), v.offset, v.dtype)


def _input(be, a, strided):
    return _strided(be, a) if strided else be.from_numpy(a)


# (N, C, H, W), (O, KH, KW), stride, padding, dilation, groups
CONV = [
    ((1, 1, 5, 5), (1, 3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((2, 3, 8, 9), (4, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((3, 4, 7, 7), (6, 3, 2), (2, 1), (1, 2), (1, 2), 2),
    ((2, 6, 9, 8), (6, 3, 3), (2, 2), (1, 1), (2, 2), 3),
    ((3, 2, 5, 6), (4, 1, 1), (2, 2), (0, 0), (1, 1), 1),
    ((1, 4, 10, 6), (8, 4, 3), (1, 2), (2, 2), (1, 1), 4),
    ((2, 4, 11, 13), (4, 3, 3), (2, 1), (2, 0), (2, 1), 4),
    ((2, 8, 12, 12), (16, 5, 5), (1, 1), (2, 2), (1, 1), 2),
    ((1, 3, 6, 6), (2, 6, 6), (1, 1), (0, 0), (1, 1), 1),
    ((3, 16, 13, 13), (32, 3, 3), (1, 1), (0, 0), (1, 1), 1),   # big enough for the tiled GEMM
]


def _conv_ref(x, w, b, g, stride, padding, dilation, groups, dtype):
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    out = TF.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    gx, gw = torch.autograd.grad(out, (tx, tw), torch.tensor(g))
    return out.detach(), gx, gw


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONV)
@pytest.mark.parametrize("strided", [False, True])
def test_conv2d(device, xs, ws, stride, padding, dilation, groups, strided):
    be = _be(device)
    N, C = xs[:2]
    x, w, b = _data(xs), _data((ws[0], C // groups) + ws[1:]), _data((ws[0],))
    ref = TF.conv2d(torch.tensor(x), torch.tensor(w), None, stride, padding, dilation, groups)
    g = _data(tuple(ref.shape))
    out, gx, gw = _conv_ref(x, w, b, g, stride, padding, dilation, groups, np.float32)
    args = (stride, padding, dilation, groups)
    _close(be, be.conv2d(_input(be, x, strided), _input(be, w, strided), be.from_numpy(b), *args), out)
    _close(be, be.conv2d(_input(be, x, strided), be.from_numpy(w), None, *args), ref)
    # grad_input is conv_transpose2d's forward; grad_weight as torch's autograd gives it
    _close(be, be.conv2d_grad_input(_input(be, g, strided), _input(be, w, strided), xs, *args), gx)
    _close(be, be.conv2d_grad_weight(_input(be, g, strided), _input(be, x, strided), w.shape, *args), gw)
    # the same input gradient is conv_transpose2d's forward, with the output padding that
    # restores the input size
    outpad = tuple(size - ((o - 1) * s - 2 * p + d * (k - 1) + 1) for size, o, s, p, d, k in
                   zip(xs[2:], ref.shape[2:], stride, padding, dilation, ws[1:]))
    tconv = TF.conv_transpose2d(torch.tensor(g), torch.tensor(w), None, stride, padding,
                                outpad, groups, dilation)
    _close(be, be.conv2d_grad_input(be.from_numpy(g), be.from_numpy(w), xs, *args), tconv)


def test_conv2d_strided_bias_and_float64(device):
    be = _be(device)
    if device.startswith("opencl") and not be.rt.fp64:
        pytest.skip("device without cl_khr_fp64")
    x, w, b = _data((2, 4, 7, 6), np.float64), _data((6, 2, 3, 3), np.float64), _data((12,), np.float64)
    bv = be.from_numpy(b)
    bias = View(bv.buf, (6,), (2,), 1, bv.dtype)   # b[1::2]
    args = ((2, 1), (1, 1), (1, 1), 2)
    ref = TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b[1::2]), *args)
    got = be.conv2d(be.from_numpy(x), be.from_numpy(w), bias, *args)
    assert got.dtype is dt.float64
    _close(be, got, ref)
    g = _data(tuple(ref.shape), np.float64)
    _, gx, gw = _conv_ref(x, w, None, g, *args, np.float64)
    _close(be, be.conv2d_grad_input(be.from_numpy(g), be.from_numpy(w), x.shape, *args), gx)
    _close(be, be.conv2d_grad_weight(be.from_numpy(g), be.from_numpy(x), w.shape, *args), gw)


# (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
POOL = [
    ((1, 1, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 9, 8), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((2, 3, 9, 8), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((3, 2, 7, 10), (3, 2), (2, 1), (1, 1), (2, 1), True),
    ((1, 4, 11, 11), (2, 3), (3, 2), (1, 0), (1, 2), False),
    ((2, 2, 10, 9), (4, 4), (3, 3), (2, 1), (1, 1), True),
    ((1, 5, 6, 7), (1, 1), (1, 2), (0, 0), (1, 1), False),
    ((2, 2, 5, 5), (5, 5), (1, 1), (2, 2), (2, 2), False),
]


@pytest.mark.parametrize("xs,kernel,stride,padding,dilation,ceil_mode", POOL)
@pytest.mark.parametrize("strided", [False, True])
def test_max_pool2d(device, xs, kernel, stride, padding, dilation, ceil_mode, strided):
    be = _be(device)
    x = _data(xs)
    x[0, 0, 0, :2] = x[0, 0, 1, 1]   # ties: the first one wins
    tx = torch.tensor(x, requires_grad=True)
    tv, ti = TF.max_pool2d(tx, kernel, stride, padding, dilation, ceil_mode, True)
    v, i = be.max_pool2d(_input(be, x, strided), kernel, stride, padding, dilation, ceil_mode)
    _close(be, v, tv.detach())
    assert i.dtype is dt.int64
    np.testing.assert_array_equal(be.to_numpy(i), ti.numpy())
    g = _data(tuple(tv.shape))
    (gx,) = torch.autograd.grad(tv, tx, torch.tensor(g))
    geo = (kernel, stride, padding, dilation)
    _close(be, be.max_pool2d_grad(_input(be, g, strided), i, xs, *geo), gx)
    # indices that did not come from this backend's max_pool2d (torch's, uploaded; strided
    # when the grad is): the geometry alone picks the kernel
    _close(be, be.max_pool2d_grad(be.from_numpy(g), _input(be, ti.numpy(), strided), xs, *geo),
           gx)


@pytest.mark.parametrize("xs,kernel,stride,padding,dilation,ceil_mode", POOL)
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None),
                                                                (True, 3), (False, 7)])
def test_avg_pool2d(device, xs, kernel, stride, padding, dilation, ceil_mode,
                    count_include_pad, divisor_override):
    if dilation != (1, 1):
        return   # avg_pool2d has no dilation; these rows are max-pool cases only
    be = _be(device)
    x = _data(xs)
    tx = torch.tensor(x, requires_grad=True)
    ref = TF.avg_pool2d(tx, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override)
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    _close(be, be.avg_pool2d(_strided(be, x), *args), ref.detach())
    g = _data(tuple(ref.shape))
    (gx,) = torch.autograd.grad(ref, tx, torch.tensor(g))
    _close(be, be.avg_pool2d_grad(_strided(be, g), xs, *args), gx)
    _close(be, be.avg_pool2d_grad(be.from_numpy(g), xs, *args), gx)


@pytest.mark.parametrize("shape,nd", [((4, 10), 1), ((3, 5, 7, 6), 2), ((2, 3, 300), 1),
                                      ((1, 1), 1), ((6, 1000), 1), ((2, 4, 3, 5), 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(device, shape, nd, affine):
    be = _be(device)
    x = _data(shape) * 3 + 1
    ns = shape[len(shape) - nd:]
    w, b = (_data(ns), _data(ns)) if affine else (None, None)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True) if affine else None
    tb = torch.tensor(b, requires_grad=True) if affine else None
    ref = TF.layer_norm(tx, ns, tw, tb, 1e-5)
    up = (lambda a: be.from_numpy(a) if a is not None else None)
    y, mean, rstd = be.layer_norm(_strided(be, x), up(w), up(b), nd, 1e-5)
    _close(be, y, ref.detach())
    axes = tuple(range(len(shape) - nd, len(shape)))
    _close(be, mean, x.mean(axes, keepdims=True), 1e-4)
    _close(be, rstd, 1 / np.sqrt(x.var(axes, keepdims=True) + 1e-5), 1e-4)
    g = _data(shape)
    want = torch.autograd.grad(ref, [t for t in (tx, tw, tb) if t is not None], torch.tensor(g))
    gx, gw, gb = be.layer_norm_grad(_strided(be, g), be.from_numpy(x), up(w), mean, rstd, nd)
    _close(be, gx, want[0], 1e-3)
    if affine:
        _close(be, gw, want[1], 1e-3)
        _close(be, gb, want[2], 1e-3)
    else:
        assert gw is None   # the bias gradient is always returned, as the composed default does
        _close(be, gb, g.sum(tuple(range(len(shape) - nd))), 1e-3)


def test_layer_norm_float64(device):
    be = _be(device)
    if device.startswith("opencl") and not be.rt.fp64:
        pytest.skip("device without cl_khr_fp64")
    x, w, b = _data((5, 33), np.float64), _data((33,), np.float64), _data((33,), np.float64)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ref = TF.layer_norm(tx, (33,), tw, tb)
    y, mean, rstd = be.layer_norm(be.from_numpy(x), be.from_numpy(w), be.from_numpy(b), 1, 1e-5)
    _close(be, y, ref.detach())
    g = _data((5, 33), np.float64)
    want = torch.autograd.grad(ref, (tx, tw, tb), torch.tensor(g))
    got = be.layer_norm_grad(be.from_numpy(g), be.from_numpy(x), be.from_numpy(w), mean, rstd, 1)
    for a, t in zip(got, want):
        _close(be, a, t)


def test_empty_and_deterministic(device):
    be = _be(device)
    # an empty batch gives empty results of the right shapes
    v, i = be.max_pool2d(be.from_numpy(np.zeros((0, 2, 4, 4), np.float32)), (2, 2), (2, 2),
                         (0, 0), (1, 1), False)
    assert v.shape == i.shape == (0, 2, 2, 2)
    out = be.conv2d(be.from_numpy(np.zeros((0, 2, 4, 4), np.float32)),
                    be.from_numpy(_data((3, 2, 3, 3))), None, (1, 1), (0, 0), (1, 1), 1)
    assert out.shape == (0, 3, 2, 2)
    # overlapping windows sum their gradients in a fixed order: equal bits every time
    x, g = _data((2, 3, 9, 9)), _data((2, 4, 9, 9))
    w = _data((4, 3, 3, 3))
    runs = [be.to_numpy(be.conv2d_grad_input(be.from_numpy(g), be.from_numpy(w), x.shape,
                                             (1, 1), (1, 1), (1, 1), 1)) for _ in range(3)]
    assert all((r == runs[0]).all() for r in runs)


@pytest.mark.skipif("opencl" not in fw.plugins.registry.device_types()
                    or not fw.opencl.is_available(), reason="no OpenCL device")
def test_buffer_backend_composes_fused_ops_whose_hooks_are_missing(monkeypatch):
    """A BufferBackend subclass without the kernel hooks of a fused op gets fw's composed
    default for it (BufferBackend's own hooks raise, so reaching one fails the test)."""
    from framework.buffer_backend import BufferBackend
    F = fw.nn.functional
    x, w = _data((2, 3, 8, 8)), _data((4, 3, 3, 3))

    def train_step():
        xt = fw.tensor(x, device="opencl", requires_grad=True)
        wt = fw.nn.Parameter(fw.tensor(w, device="opencl"))
        y = F.conv2d(xt, wt, padding=1)
        z = F.max_pool2d(y, 2) + F.avg_pool2d(y, 2)
        F.log_softmax(z.flatten(1), 1).sum().backward()
        grads = [xt.grad.cpu().numpy(), wt.grad.cpu().numpy()]
        fw.optim.Adam([wt], lr=0.1).step()
        return [z.detach().cpu().numpy()] + grads + [wt.detach().cpu().numpy()]

    want = train_step()
    cls = type(_be("opencl"))
    for hook in ("_im2col", "_conv_out", "_col2im", "_max_pool_kernel", "_max_pool_grad_kernel",
                 "_avg_pool_kernel", "_avg_pool_grad_kernel", "_softmax_kernel", "_step"):
        monkeypatch.setattr(cls, hook, getattr(BufferBackend, hook))
    for got, ref in zip(train_step(), want):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
