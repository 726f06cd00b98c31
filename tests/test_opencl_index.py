"""gather, scatter, scatter-add, cat and pad of the backends, checked against NumPy and
PyTorch on strided and broadcast views of every dtype. The backend primitives are called
directly, so these run on every device without the rest of the frontend."""
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
    return rng.integers(-100, 100, shape).astype(dtype.np)


def view_of(be, a, base_shape=None):
    """A View of `a` (any strides, non-negative) over a buffer holding its base array."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    buf = be.from_numpy(root)
    size = a.itemsize
    off = (a.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // size
    return View(buf.buf, a.shape, tuple(s // size for s in a.strides), off, buf.dtype)


def check(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape,
                                                                 got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_gather_dims_layouts(device, dtype):
    be = get_backend(device)
    rng = np.random.default_rng(0)
    big = sample(rng, (6, 7, 8), dtype)
    xs = {"contiguous": big[:4, :5, :6].copy(), "strided": big[1:5, ::1, 2:][:, :5, :6],
          "permuted": big.transpose(1, 2, 0)[:4, :5, :6]}
    for name, x in xs.items():
        for dim in range(3):
            # the index may be smaller than x on the other axes (PyTorch's rule)
            ishape = [3, 4, 5]
            ishape[dim] = 9
            idx = rng.integers(0, x.shape[dim], ishape)
            got = be.to_numpy(be.gather(view_of(be, x), dim, be.from_numpy(idx)))
            cut = x[tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(ishape))]
            check(got, np.take_along_axis(cut, idx, dim))
            # a broadcast index (stride 0) and an int32 index
            bidx = np.broadcast_to(idx[:, :1, :], idx.shape)
            got = be.to_numpy(be.gather(view_of(be, x), dim, view_of(be, bidx)))
            check(got, np.take_along_axis(cut, bidx, dim))
            got = be.to_numpy(be.gather(view_of(be, x), dim, be.from_numpy(idx.astype(np.int32))))
            check(got, np.take_along_axis(cut, idx, dim))


def test_gather_big(device):
    be = get_backend(device)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 4097)).astype(np.float32)
    idx = rng.integers(0, 4097, (1000, 33))
    check(be.to_numpy(be.gather(be.from_numpy(x), 1, be.from_numpy(idx))),
          np.take_along_axis(x, idx, 1))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_scatter_src_and_value(device, dtype):
    be = get_backend(device)
    rng = np.random.default_rng(2)
    x = sample(rng, (5, 6, 7), dtype)
    for dim in range(3):
        # unique indices along dim (a permutation per line), so the result is defined
        ishape = [4, 5, 6]
        ishape[dim] = x.shape[dim]
        idx = np.argsort(rng.random(ishape), axis=dim)[
            tuple(slice(0, 3) if d == dim else slice(None) for d in range(3))]
        src = sample(rng, (6, 7, 8), dtype)[1:, 1:, 1:]  # larger than the index, strided
        tx, ti = torch.from_numpy(x.copy()), torch.from_numpy(idx)
        cut = torch.from_numpy(np.ascontiguousarray(src[:idx.shape[0], :idx.shape[1],
                                                        :idx.shape[2]]))
        got = be.to_numpy(be.scatter(view_of(be, x), dim, be.from_numpy(idx),
                                     view_of(be, src), False))
        check(got, tx.scatter(dim, ti, cut).numpy())
        value = True if dtype is dt.bool else 3
        got = be.to_numpy(be.scatter(be.from_numpy(x), dim, be.from_numpy(idx), value, False))
        check(got, tx.scatter(dim, ti, value).numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_scatter_add_duplicates(device, dtype):
    be = get_backend(device)
    rng = np.random.default_rng(3)
    x = sample(rng, (4, 50), dtype)
    idx = rng.integers(0, 50, (4, 3000))  # many duplicates: the adds must be atomic
    src = sample(rng, (4, 3000), dtype)
    if dtype.is_floating_point:  # small integers in floats: exact in any order
        x, src = np.round(x * 4).astype(dtype.np), np.round(src * 4).astype(dtype.np)
    want = x.copy()
    np.add.at(want, (np.arange(4)[:, None], idx), src)
    got = be.to_numpy(be.scatter(be.from_numpy(x), 1, be.from_numpy(idx), be.from_numpy(src),
                                 True))
    check(got, want)
    if dtype is not dt.bool:  # PyTorch has no bool scatter_add
        t = torch.from_numpy(x).scatter_add(1, torch.from_numpy(idx), torch.from_numpy(src))
        check(got, t.numpy())


def test_scatter_add_float_sum_accuracy(device):
    be = get_backend(device)
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 10, (1, 100000))
    src = rng.random((1, 100000)).astype(np.float32)
    got = be.to_numpy(be.scatter(be.from_numpy(np.zeros((1, 10), np.float32)), 1,
                                 be.from_numpy(idx), be.from_numpy(src), True))
    want = np.zeros((1, 10))
    np.add.at(want[0], idx[0], src[0].astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_cat(device, dtype):
    be = get_backend(device)
    rng = np.random.default_rng(5)
    a = sample(rng, (3, 4, 5), dtype)
    b = sample(rng, (5, 4, 3), dtype).transpose(2, 1, 0)  # permuted
    c = np.broadcast_to(sample(rng, (1, 4, 1), dtype), (3, 4, 2))  # stride 0
    e = a[:, :, :0]
    got = be.to_numpy(be.cat([view_of(be, v) for v in (a, b, e, c)], 2))
    check(got, np.concatenate([a, b, e, c], 2))
    got = be.to_numpy(be.cat([view_of(be, a), view_of(be, b[1:])], 0))
    check(got, np.concatenate([a, b[1:]], 0))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_pad(device, dtype):
    be = get_backend(device)
    a = sample(np.random.default_rng(6), (2, 3, 4), dtype)
    x = a.transpose(0, 2, 1)
    value = True if dtype is dt.bool else 7
    pads = ((0, 1), (2, 0), (1, 3))
    got = be.to_numpy(be.pad(view_of(be, x), pads, value))
    check(got, np.pad(x, pads, constant_values=value))
    check(be.to_numpy(be.pad(view_of(be, x), ((0, 0),) * 3, value)), x)


def test_scatter_add_int64_atomics_message(device):
    """64-bit scatter-add either works or names the missing extension."""
    be = get_backend(device)
    x = be.from_numpy(np.zeros(3, np.int64))
    i = be.from_numpy(np.array([0, 0, 2]))
    try:
        got = be.to_numpy(be.scatter(x, 0, i, be.from_numpy(np.array([1, 2, 3])), True))
    except RuntimeError as e:
        assert "cl_khr_int64_base_atomics" in str(e)
    else:
        check(got, np.array([3, 0, 3]))
