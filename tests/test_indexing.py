"""Indexing (`x[key]`, `x[key] = v`), gather/scatter and friends, vs PyTorch and NumPy."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

import framework as fw

RNG = np.random.default_rng(0)
A = np.arange(60.0).reshape(3, 4, 5)


def same(f, t):
    f = f.detach().numpy() if isinstance(f, fw.Tensor) else np.asarray(f)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert f.shape == t.shape, (f.shape, t.shape)
    assert f.dtype == t.dtype, (f.dtype, t.dtype)
    np.testing.assert_allclose(f, t, atol=1e-12)


def conv(key, lib):
    """The key with NumPy arrays turned into `lib` tensors."""
    if isinstance(key, tuple):
        return tuple(conv(k, lib) for k in key)
    return lib.tensor(key) if isinstance(key, np.ndarray) else key


KEYS = [
    1, -1, slice(None, None, 2), (slice(1, None), -2), (None, 1, None), (Ellipsis, 2),
    [0, 2], np.array([[0], [2]]), [-1, 0, -3], (slice(None), [1, 3]), ([0, 1], [1, 2]),
    (slice(None), [0, 1], [1, 2]), ([0, 1], slice(None), [1, 2]), ([0, 2], None, [1, 3]),
    (None, [0, -1], Ellipsis, [2]), (Ellipsis, [0, 4]), (1, [0, 2], slice(None)),
    ([[0], [2]], slice(1, 3), [1, 2, 3]), (np.array([True, False, True]), 1),
    (A[:, :, 0] > 20,), (A[:, 0, 0] > 20,), (slice(None), np.array([1, 0, 0, 1], bool)),
    (A > 30,), (np.array([2, 0]), Ellipsis, np.array([[1], [0]])), (np.array(1), [0, 1]),
    ([], slice(None)), (A[:, 0, 0] > 100, slice(None)), True, (Ellipsis, False),
    (None, True, 1, slice(None, None, 3)), (slice(np.int64(1), np.int64(3)), np.int64(-1)),
]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_getitem_matches_torch_and_numpy(key):
    f = fw.tensor(A)[conv(key, fw)]
    same(f, torch.tensor(A)[conv(key, torch)])
    np.testing.assert_array_equal(f.numpy(), A[np.array(key) if isinstance(key, list) else key])


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_getitem_gradient_matches_torch(key):
    grads = []
    for lib in (fw, torch):
        x = lib.tensor(A, requires_grad=True)
        y = x[conv(key, lib)]
        (y * y).sum().backward()
        grads.append(x.grad)
    same(*grads)


@pytest.mark.parametrize("key,value", [
    (1, 7.0), ((slice(None), 0), np.arange(5.0)), ((Ellipsis, [0, 2]), -1.0),
    (([0, 2], [1, 3]), np.array([[10.0], [20.0]])), (([0, 2], [1, 3]), np.arange(5.0)),
    ([2, 0], np.arange(20.0).reshape(4, 5)), (A > 40, 0.0), (A[:, 0, 0] > 20, 3.0),
    ((A[:, :, 0] > 20,), np.arange(5.0)), ((slice(None), [1, -1], slice(1, 3)), 4.0),
    ((1, np.array([True, False, True, True])), np.arange(5.0)),
    (([0, 1], slice(None), [1, 2]), np.arange(4.0)),
])
def test_setitem_matches_torch(key, value):
    f, t = fw.tensor(A), torch.tensor(A)
    f[conv(key, fw)] = fw.tensor(value) if isinstance(value, np.ndarray) else value
    t[conv(key, torch)] = torch.tensor(value) if isinstance(value, np.ndarray) else value
    same(f, t)


def test_setitem_gradients_flow_to_values_and_base():
    va = RNG.standard_normal(2)
    grads = []
    for lib in (fw, torch):
        x = lib.tensor(A, requires_grad=True)
        v = lib.tensor(va, requires_grad=True)
        y = x * 2
        y[lib.tensor([0, 2]), lib.tensor([1, 3])] = v[:, None] * 3
        y[y > 100] = 0.5
        (y * y).sum().backward()
        grads.append((x.grad, v.grad))
    same(grads[0][0], grads[1][0])
    same(grads[0][1], grads[1][1])


def test_setitem_casts_and_accepts_int_values():
    f, t = fw.zeros(3, dtype=fw.int64), torch.zeros(3, dtype=torch.int64)
    for lib_x in (f, t):
        lib_x[1] = 5
        lib_x[[0, 2]] = 7
    same(f, t)


def test_gather_scatter_family_like_torch():
    x = RNG.standard_normal((3, 4))
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    for fn in (lambda m, x, i: x.gather(1, i), lambda m, x, i: m.gather(x.t(), 0, i.t()),
               lambda m, x, i: x.scatter(1, i[:, :1], x[:, :1] * 10),
               lambda m, x, i: x.scatter(1, i[:, :1], -2.0),
               lambda m, x, i: x.scatter_add(1, i, x[:, :2]),
               lambda m, x, i: m.scatter_add(x, 0, i.t()[:1], x[:1, :3]),
               lambda m, x, i: x.index_select(0, i[:, 0]), lambda m, x, i: x.index_select(-1, i[0]),
               lambda m, x, i: x.masked_fill(x > 0, 1.5), lambda m, x, i: m.masked_select(x, x[0] > 0),
               lambda m, x, i: x.index_put((i[:, 0], i[:, 1]), m.tensor(9.0, dtype=x.dtype)),
               lambda m, x, i: x.clone().index_put_((i[:, 0],), x * 0 + 1, accumulate=True),
               lambda m, x, i: m.nonzero(x > 0), lambda m, x, i: m.where(x > 0),
               lambda m, x, i: m.where(x > 0, x, m.zeros_like(x)), lambda m, x, i: (x > 0).nonzero()):
        f = fn(fw, fw.tensor(x), fw.tensor(idx))
        t = fn(torch, torch.tensor(x), torch.tensor(idx))
        if isinstance(t, tuple):
            for a, b in zip(f, t):
                same(a, b)
        else:
            same(f, t)


def test_scatter_inplace_and_nonzero_as_tuple():
    f, t = fw.zeros(2, 3), torch.zeros(2, 3)
    for lib, x in ((fw, f), (torch, t)):
        x.scatter_(1, lib.tensor([[2], [0]]), 4.0)
        x.scatter_add_(0, lib.tensor([[1, 1, 0]]), lib.ones(1, 3))
    same(f, t)
    for a, b in zip(fw.nonzero(f, as_tuple=True), torch.nonzero(t, as_tuple=True)):
        same(a, b)


@pytest.mark.parametrize("bad,match", [
    (lambda m, x: x[3], "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda m, x: x[:, -5], "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda m, x: x[[0, 3]], "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda m, x: x[:, :, m.tensor([5])], "index 5 is out of bounds for dimension 2 with size 5"),
    (lambda m, x: x[0, 0, 0, 0], "too many indices"),
    (lambda m, x: x[1.0], "valid indices"),
    (lambda m, x: x[::-1], "step must be greater than zero"),
    (lambda m, x: x[m.tensor([True, False])], "mask"),
    (lambda m, x: x[m.tensor([0.5])], "tensors used as indices must be long"),
    (lambda m, x: x.gather(1, m.tensor([[[7]]])), "out of bounds"),
    (lambda m, x: x.index_select(0, m.tensor([3])), "out of range"),
    (lambda m, x: x.gather(1, m.tensor([[[-1]]])), "index -1 is out of bounds for dimension 1"),
    (lambda m, x: x.gather(1, m.tensor([[[0.0]]])), None),
    (lambda m, x: x.scatter(0, m.tensor([[[4]]]), 1.0), None),
    (lambda m, x: x.index_put_((m.tensor([9]),), m.tensor(1.0, dtype=x.dtype)), None),
    (lambda m, x: x.masked_fill(m.ones(2, dtype=m.bool), 1.0), None),
])
def test_index_errors_like_torch(bad, match):
    with pytest.raises(Exception) as te:
        bad(torch, torch.tensor(A))
    with pytest.raises(type(te.value), match=match):
        bad(fw, fw.tensor(A))


def test_float64_gradcheck_indexing():
    x = fw.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    v = fw.tensor(RNG.standard_normal(2), requires_grad=True)
    i, j = fw.tensor([0, 2, 2]), fw.tensor([1, -1, 1])
    gc = fw.autograd.gradcheck
    assert gc(lambda x: x[i, j], [x])
    assert gc(lambda x: x[:, None, [1, 3]][1:], [x])
    assert gc(lambda x: x[x > 0], [x])
    assert gc(lambda x: x.gather(1, fw.tensor([[0, 0], [3, 1], [2, 2]])), [x])
    assert gc(lambda x, v: x.index_put((fw.tensor([0, 1]), fw.tensor([2, 2])), v), [x, v])
    assert gc(lambda x, v: x.index_put((fw.tensor([1, 1]),), v[:, None].expand(2, 4),
                                       accumulate=True), [x, v])
    assert gc(lambda x: x.masked_fill(x < 0, 2.0), [x])
    assert gc(lambda x, v: fw.zeros(2, 4, dtype=fw.float64).scatter(
        1, fw.tensor([[3], [0]]), v[:, None]), [x, v])


# -- property tests against NumPy ------------------------------------------------------------------
@st.composite
def shapes_and_keys(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    key, adv = [], []
    n_real = draw(st.integers(1, len(shape)))
    for d in range(n_real):
        size = shape[d]
        kind = draw(st.sampled_from(["int", "slice", "array", "none", "array"]))
        if kind == "none":
            key.append(None)
        if kind == "int":
            key.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            lo = draw(st.none() | st.integers(-size - 1, size + 1))
            hi = draw(st.none() | st.integers(-size - 1, size + 1))
            step = draw(st.none() | st.integers(1, 3))
            key.append(slice(lo, hi, step))
        else:
            adv.append(len(key))
            key.append(None)  # filled below with broadcastable index arrays
    bshape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    real = 0
    for i, k in enumerate(key):
        if i in adv:
            size = shape[real]
            sub = bshape[draw(st.integers(0, len(bshape))):] if bshape else ()
            vals = draw(st.lists(st.integers(-size, size - 1), min_size=int(np.prod(sub)),
                                 max_size=int(np.prod(sub))))
            key[i] = np.array(vals, dtype=np.int64).reshape(sub)
            real += 1
        elif k is not None:
            real += 1
    if draw(st.booleans()):  # '...' anywhere covers no dim only when every dim is indexed
        key.insert(draw(st.integers(0, len(key))) if n_real == len(shape) else len(key), Ellipsis)
    return shape, tuple(key)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes_and_keys())
def test_property_getitem_matches_numpy(shape_key):
    shape, key = shape_key
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    # PyTorch, not NumPy, where they differ: an int (or 0-d index) selects before the
    # advanced indices are placed, so x[0, :, [1, 2]] is [4, 2] in torch, [2, 4] in NumPy
    want = torch.tensor(a)[conv(key, torch)].numpy()
    got = fw.tensor(a)[conv(key, fw)]
    assert tuple(got.shape) == want.shape, (key, got.shape, want.shape)
    np.testing.assert_array_equal(got.numpy(), want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes_and_keys(), st.integers(0, 2 ** 31))
def test_property_setitem_matches_numpy(shape_key, seed):
    shape, key = shape_key
    a = np.zeros(shape)
    region = tuple(torch.zeros(shape)[conv(key, torch)].shape)  # PyTorch's placement
    vals = np.random.default_rng(seed).standard_normal(region[1:] if region and seed % 2 else region)
    has_adv = any(isinstance(k, np.ndarray) for k in key)
    if has_adv:  # duplicate positions: the winner is unspecified; keep them unique
        flat = np.arange(a.size).reshape(shape)[key].reshape(-1)
        if len(np.unique(flat)) != len(flat):
            return
    t = torch.tensor(a)
    t[conv(key, torch)] = torch.tensor(vals)
    a = t.numpy()
    x = fw.zeros(shape, dtype=fw.float64)
    x[conv(key, fw)] = fw.tensor(vals)
    np.testing.assert_array_equal(x.numpy(), a)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2 ** 31), st.integers(0, 2))
def test_property_mask_index_matches_numpy(shape, seed, lead):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    lead = min(lead, len(shape) - 1) + 1
    mask = rng.random(shape[:lead]) < 0.5
    np.testing.assert_array_equal(fw.tensor(a)[fw.tensor(mask)].numpy(), a[mask])
