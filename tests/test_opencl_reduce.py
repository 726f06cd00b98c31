"""Reductions, arg-reductions, scans, sorting and softmax of the backends, checked against
NumPy and PyTorch on strided, permuted and broadcast (stride-0) views of every dtype.

The backend primitives are called directly, so these tests run (on every device) while
the frontend ops they would need on OpenCL are still being written."""
import numpy as np
import pytest
import torch

from framework import dtypes as dt
from framework.device import View
from framework.plugins import get_backend

DTYPES = [dt.float32, dt.float64, dt.int32, dt.int64, dt.bool]


def sample(rng, shape, dtype):
    if dtype is dt.bool:
        return rng.random(shape) > 0.5
    if dtype.is_floating_point:
        return rng.standard_normal(shape).astype(dtype.np)
    return rng.integers(-3, 4, shape).astype(dtype.np)


def layouts(be, a):
    """(name, View, the same view in NumPy) for a 3-d array `a`: contiguous, permuted,
    sliced with steps and an offset, and broadcast along a stride-0 axis."""
    base = be.from_numpy(a)
    size = a.itemsize
    out = [("contiguous", base, a)]
    p = a.transpose(2, 0, 1)
    out.append(("permuted", View(base.buf, p.shape, tuple(s // size for s in p.strides), 0,
                                 base.dtype), p))
    s = a[1:, ::2, ::-1][:, :, ::-1]  # a positive-stride window with an offset
    off = (s.__array_interface__["data"][0] - a.__array_interface__["data"][0]) // size
    out.append(("sliced", View(base.buf, s.shape, tuple(st // size for st in s.strides), off,
                               base.dtype), s))
    b = np.broadcast_to(a[:, :1, :], a.shape)
    out.append(("broadcast", View(base.buf, a.shape, (a.strides[0] // size, 0, 1), 0,
                                  base.dtype), b))
    return out


def np_reduce(op, a, dims, keepdim):
    f = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "all": np.all,
         "any": np.any}[op]
    r = np.asarray(f(a, axis=dims, keepdims=keepdim))
    return r.astype(bool if op in ("all", "any") else a.dtype)


def check(got, want, rtol=1e-5, atol=1e-6):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_reduce_ops_layouts_dims(device, dtype):
    be = get_backend(device)
    rng = np.random.default_rng(0)
    a = sample(rng, (4, 5, 6), dtype)
    for name, v, ref in layouts(be, a):
        for op in ("sum", "prod", "max", "min", "all", "any"):
            for dims in [(), (0,), (1,), (2,), (0, 2), (1, 2), (0, 1, 2)]:
                for keepdim in (False, True):
                    got = be.to_numpy(be.reduce(op, v, dims, keepdim))
                    check(got, np_reduce(op, ref, dims, keepdim), rtol=1e-4)


@pytest.mark.parametrize("n", [1, 7, 1000, 4097, 1_000_000])
def test_full_sum_sizes(device, n):
    be = get_backend(device)
    a = np.random.default_rng(1).random(n).astype(np.float32)  # all positive: no cancellation
    got = be.to_numpy(be.reduce("sum", be.from_numpy(a), (0,), False))
    np.testing.assert_allclose(got, a.astype(np.float64).sum(), rtol=1e-5)
    m = be.to_numpy(be.reduce("max", be.from_numpy(a), (0,), False))
    assert m == a.max()


@pytest.mark.parametrize("shape,dims", [((1000, 4097), (1,)), ((4097, 1000), (0,)),
                                        ((3, 300000), (1,)), ((300000, 3), (0,)),
                                        ((7, 1000, 9), (0, 2)), ((100000, 16), (1,))])
def test_sum_max_big_shapes(device, shape, dims):
    be = get_backend(device)
    a = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    v = be.from_numpy(a)
    want = a.astype(np.float64).sum(axis=dims)
    got = be.to_numpy(be.reduce("sum", v, dims, False))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    check(be.to_numpy(be.reduce("max", v, dims, True)), a.max(axis=dims, keepdims=True))
    check(be.to_numpy(be.reduce("min", v, dims, False)), a.min(axis=dims))


def test_sum_accurate_transposed(device):
    """A long float32 sum over a strided (column) axis stays accurate (compensated)."""
    be = get_backend(device)
    a = np.random.default_rng(3).random((200000, 2)).astype(np.float32) + 1
    v = View(be.from_numpy(a).buf, (2, 200000), (1, 2), 0, dt.float32)
    got = be.to_numpy(be.reduce("sum", v, (1,), False))
    np.testing.assert_allclose(got, a.astype(np.float64).sum(0), rtol=1e-5)


def test_int_sums_keep_dtype(device):
    be = get_backend(device)
    a = np.arange(-50, 50, dtype=np.int64).reshape(10, 10) * (2**40)
    check(be.to_numpy(be.reduce("sum", be.from_numpy(a), (0, 1), False)), np.asarray(a.sum()))
    b = np.arange(12, dtype=np.int32).reshape(3, 4)
    check(be.to_numpy(be.reduce("sum", be.from_numpy(b), (1,), False)), b.sum(1).astype(np.int32))


def test_nan_propagates_in_max_min(device):
    be = get_backend(device)
    a = np.random.default_rng(4).standard_normal((5, 300)).astype(np.float32)
    a[1, 7] = a[3, 299] = np.nan
    a[4, :] = np.nan
    v = be.from_numpy(a)
    for op, f in (("max", np.max), ("min", np.min)):
        for dims in ((1,), (0,), (0, 1)):
            check(be.to_numpy(be.reduce(op, v, dims, False)), f(a, axis=dims))


def test_empty_reductions(device):
    be = get_backend(device)
    v = be.from_numpy(np.zeros((3, 0), np.float32))
    check(be.to_numpy(be.reduce("sum", v, (1,), False)), np.zeros(3, np.float32))
    check(be.to_numpy(be.reduce("prod", v, (1,), True)), np.ones((3, 1), np.float32))
    check(be.to_numpy(be.reduce("all", v, (1,), False)), np.ones(3, bool))
    check(be.to_numpy(be.reduce("any", v, (0, 1), False)), np.zeros((), bool))
    check(be.to_numpy(be.reduce("sum", v, (0,), False)), np.zeros(0, np.float32))
    for op in ("max", "min"):
        with pytest.raises((IndexError, ValueError)):
            be.to_numpy(be.reduce(op, v, (1,), False))


# -- argmax / argmin ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [dt.float32, dt.float64, dt.int32, dt.int64],
                         ids=lambda d: d.name)
def test_arg_reduce_layouts(device, dtype):
    be = get_backend(device)
    a = sample(np.random.default_rng(5), (4, 5, 6), dtype)  # ints: many ties
    for name, v, ref in layouts(be, a):
        for op, f in (("argmax", np.argmax), ("argmin", np.argmin)):
            for dim in range(3):
                for keepdim in (False, True):
                    got = be.to_numpy(be.arg_reduce(op, v, dim, keepdim))
                    check(got, f(ref, axis=dim, keepdims=keepdim).astype(np.int64))


@pytest.mark.parametrize("shape,dim", [((3, 100000), 1), ((100000, 3), 0), ((1_000_000,), 0),
                                       ((70, 4097), 1), ((4097, 70), 0), ((1,), 0)])
def test_arg_reduce_big_ties_nan(device, shape, dim):
    be = get_backend(device)
    rng = np.random.default_rng(6)
    a = rng.integers(0, 50, shape).astype(np.float32)  # lots of ties: first index wins
    v = be.from_numpy(a)
    for op, f in (("argmax", np.argmax), ("argmin", np.argmin)):
        check(be.to_numpy(be.arg_reduce(op, v, dim, False)), f(a, axis=dim))
    a.reshape(-1)[rng.integers(0, a.size, 5)] = np.nan
    v = be.from_numpy(a)
    t = torch.from_numpy(a)
    for op in ("argmax", "argmin"):
        want = getattr(torch, op)(t, dim).numpy()
        check(be.to_numpy(be.arg_reduce(op, v, dim, False)), want)


def test_arg_reduce_0d(device):
    be = get_backend(device)
    v = be.from_numpy(np.array(3.0, np.float32))
    check(be.to_numpy(be.arg_reduce("argmax", v, 0, False)), np.array(0, np.int64))


# -- scans -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_scan_layouts(device, dtype):
    be = get_backend(device)
    a = sample(np.random.default_rng(7), (4, 5, 6), dtype)
    for name, v, ref in layouts(be, a):
        for op, f in (("sum", np.cumsum), ("prod", np.cumprod)):
            for dim in range(3):
                check(be.to_numpy(be.scan(op, v, dim)), f(ref, axis=dim).astype(ref.dtype),
                      rtol=1e-4)


@pytest.mark.parametrize("shape,dim", [((2, 100000), 1), ((5000, 40), 0), ((4097,), 0),
                                       ((300, 1000), 1), ((1,), 0)])
def test_scan_long_rows(device, shape, dim):
    be = get_backend(device)
    a = np.random.default_rng(8).random(shape).astype(np.float32)
    got = be.to_numpy(be.scan("sum", be.from_numpy(a), dim))
    np.testing.assert_allclose(got, np.cumsum(a.astype(np.float64), axis=dim), rtol=1e-4)
    b = np.random.default_rng(8).integers(-5, 6, shape).astype(np.int64)
    check(be.to_numpy(be.scan("sum", be.from_numpy(b), dim)), np.cumsum(b, axis=dim))


# -- sort --------------------------------------------------------------------------------
def np_sort(a, dim, descending):
    if descending:
        n = a.shape[dim]
        idx = np.flip(n - 1 - np.argsort(np.flip(a, dim), axis=dim, kind="stable"), dim)
    else:
        idx = np.argsort(a, axis=dim, kind="stable")
    return np.take_along_axis(a, idx, dim), idx.astype(np.int64)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_sort_layouts(device, dtype):
    be = get_backend(device)
    a = sample(np.random.default_rng(9), (4, 5, 6), dtype)
    for name, v, ref in layouts(be, a):
        for dim in range(3):
            for desc in (False, True):
                vals, idx = be.sort(v, dim, desc, True)
                wv, wi = np_sort(ref, dim, desc)
                check(be.to_numpy(vals), wv)
                check(be.to_numpy(idx), wi)


@pytest.mark.parametrize("shape,dim", [((3, 1000), 1), ((4097,), 0), ((2, 5000), 1),
                                       ((20000,), 0), ((3000, 3), 0), ((7, 1), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_long_rows_ties_nan(device, shape, dim, descending):
    be = get_backend(device)
    rng = np.random.default_rng(10)
    a = rng.integers(0, 20, shape).astype(np.float32)  # ties: stability shows
    a.reshape(-1)[rng.integers(0, a.size, max(1, a.size // 50))] = np.nan
    vals, idx = be.sort(be.from_numpy(a), dim, descending, True)
    wv, wi = np_sort(a, dim, descending)
    check(be.to_numpy(vals), wv)
    check(be.to_numpy(idx), wi)
    tv, ti = torch.sort(torch.from_numpy(a), dim=dim, descending=descending, stable=True)
    check(be.to_numpy(idx), ti.numpy())


@pytest.mark.parametrize("dtype", [dt.float64, dt.int64, dt.int32, dt.bool], ids=lambda d: d.name)
def test_sort_long_rows_dtypes(device, dtype):
    be = get_backend(device)
    a = sample(np.random.default_rng(13), (2, 9000), dtype)  # merge passes for every size
    v = View(be.from_numpy(a).buf, (9000, 2), (1, 9000), 0, dtype)  # rows along a stride
    for desc in (False, True):
        vals, idx = be.sort(v, 0, desc, True)
        wv, wi = np_sort(a.T, 0, desc)
        check(be.to_numpy(vals), wv)
        check(be.to_numpy(idx), wi)


# -- softmax -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [dt.float32, dt.float64], ids=lambda d: d.name)
def test_softmax_layouts(device, dtype):
    be = get_backend(device)
    a = sample(np.random.default_rng(11), (4, 5, 6), dtype) * 10
    for name, v, ref in layouts(be, a):
        t = torch.from_numpy(np.ascontiguousarray(ref))
        for dim in range(3):
            check(be.to_numpy(be.softmax(v, dim)), torch.softmax(t, dim).numpy(), rtol=1e-5)
            check(be.to_numpy(be.log_softmax(v, dim)), torch.log_softmax(t, dim).numpy(),
                  rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,dim", [((64, 10), 1), ((8, 50000), 1), ((3, 4097), 0),
                                       ((2, 3, 100, 5), 2), ((1,), 0), ((5000, 7), 0)])
def test_softmax_shapes(device, shape, dim):
    be = get_backend(device)
    a = np.random.default_rng(12).standard_normal(shape).astype(np.float32) * 5
    t = torch.from_numpy(a)
    v = be.from_numpy(a)
    check(be.to_numpy(be.softmax(v, dim)), torch.softmax(t, dim).numpy(), rtol=1e-4)
    check(be.to_numpy(be.log_softmax(v, dim)), torch.log_softmax(t, dim).numpy(),
          rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NumPy backend's inf - inf
def test_softmax_inf_nan(device):
    be = get_backend(device)
    a = np.array([[0.0, -np.inf, 1.0, -np.inf], [-np.inf] * 4, [1.0, np.nan, 2.0, 3.0],
                  [1e30, -1e30, 5.0, 1e30]], np.float32)
    t = torch.from_numpy(a)
    v = be.from_numpy(a)
    check(be.to_numpy(be.softmax(v, 1)), torch.softmax(t, 1).numpy())
    check(be.to_numpy(be.log_softmax(v, 1)), torch.log_softmax(t, 1).numpy())
