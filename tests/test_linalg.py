"""Matrix products and einsum against PyTorch: values, gradients, second derivatives, errors."""
import numpy as np
import pytest
import torch

import framework as fw

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape)


def same(f, t, atol=1e-10):
    f = f.detach().numpy() if isinstance(f, fw.Tensor) else np.asarray(f)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert f.shape == t.shape, (f.shape, t.shape)
    np.testing.assert_allclose(f, t, atol=atol)


def values_and_grads(fn, *arrays):
    """fn(lib, *leaves) with fw and torch in float64: (out, grads) for each."""
    res = []
    for lib in (fw, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, *xs)
        w = lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
        grads = lib.autograd.grad((out * w).sum(), xs)
        res.append((out, grads))
    return res


SHAPES = [((3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
          ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((5, 1, 2, 3), (1, 4, 3, 2)),
          ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_values_and_grads(sa, sb):
    (f, fg), (t, tg) = values_and_grads(lambda m, a, b: a @ b, arr(*sa), arr(*sb))
    same(f, t)
    for a, b in zip(fg, tg):
        same(a, b)


@pytest.mark.parametrize("fn,shapes", [
    (lambda m, a, b: m.mm(a, b), [(3, 4), (4, 2)]),
    (lambda m, a, b: a.bmm(b), [(2, 3, 4), (2, 4, 5)]),
    (lambda m, a, b: m.dot(a, b), [(5,), (5,)]),
    (lambda m, a, b: a.mv(b), [(3, 4), (4,)]),
    (lambda m, a, b: m.outer(a, b), [(3,), (4,)]),
    (lambda m, a, b: a.matmul(b.mT), [(2, 3, 4), (2, 5, 4)]),
])
def test_named_products(fn, shapes):
    (f, fg), (t, tg) = values_and_grads(fn, *(arr(*s) for s in shapes))
    same(f, t)
    for a, b in zip(fg, tg):
        same(a, b)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]), ("ij->ji", [(3, 4)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("i,j->ij", [(3,), (4,)]), ("ij->j", [(3, 4)]), ("ij->", [(3, 4)]), ("ij,jk", [(3, 4), (4, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("bi,bi->b", [(3, 4), (3, 4)]),
    ("ijk,ikj->i", [(2, 3, 4), (2, 4, 3)]), ("ij,kj->ikj", [(2, 3), (4, 3)]),
    ("i,jk->", [(2,), (3, 4)]), ("...i,...i", [(2, 3), (3,)]), ("bij,jk->bik", [(2, 3, 4), (4, 1)]),
    ("iij->j", [(3, 3, 2)]), ("i j , j k -> i k", [(3, 4), (4, 2)]),
])
def test_einsum_matches_torch(eq, shapes):
    (f, fg), (t, tg) = values_and_grads(lambda m, *xs: m.einsum(eq, *xs), *(arr(*s) for s in shapes))
    same(f, t)
    for a, b in zip(fg, tg):
        same(a, b)


def test_einsum_accepts_a_list_and_broadcasts_size_one():
    a, b = arr(1, 3, 4), arr(2, 4, 5)
    same(fw.einsum("bij,bjk->bik", [fw.tensor(a), fw.tensor(b)]),
         torch.einsum("bij,bjk->bik", [torch.tensor(a), torch.tensor(b)]))


@pytest.mark.parametrize("bad", [
    lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3)),
    lambda m: m.einsum("ij->ij", m.zeros(2, 3, 4)),
    lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3), m.zeros(4, 2)),
    lambda m: m.einsum("ij->k", m.zeros(2, 3)),
    lambda m: m.einsum("ij->ii", m.zeros(2, 3)),
    lambda m: m.einsum("i->i"),
])
def test_einsum_errors(bad):
    with pytest.raises(Exception) as te:
        bad(torch)
    with pytest.raises(type(te.value)):
        bad(fw)


@pytest.mark.parametrize("bad,match", [
    (lambda m: m.zeros(2, 3) @ m.zeros(2, 3), "cannot be multiplied"),
    (lambda m: m.zeros(2, 2, 3) @ m.zeros(2, 4, 2), None),
    (lambda m: m.zeros(3, 2, 3) @ m.zeros(2, 3, 2), None),
    (lambda m: m.matmul(m.zeros(3), m.zeros(4)), None),
    (lambda m: m.matmul(m.tensor(1.0), m.zeros(3)), "at least 1D"),
    (lambda m: m.zeros(2, 3) @ m.zeros(3, 2, dtype=m.float64), None),
    (lambda m: m.mm(m.zeros(2, 3, 1), m.zeros(3, 2)), "must be a matrix"),
    (lambda m: m.mm(m.zeros(2, 3), m.zeros(2, 2)), None),
    (lambda m: m.bmm(m.zeros(2, 3), m.zeros(2, 3, 2)), "3D"),
    (lambda m: m.bmm(m.zeros(2, 3, 4), m.zeros(3, 4, 2)), None),
    (lambda m: m.bmm(m.zeros(2, 3, 4), m.zeros(2, 5, 2)), None),
    (lambda m: m.dot(m.zeros(3), m.zeros(4)), "inconsistent tensor size"),
    (lambda m: m.dot(m.zeros(3, 1), m.zeros(3)), "1D tensors expected"),
    (lambda m: m.mv(m.zeros(2, 3), m.zeros(4)), None),
    (lambda m: m.mv(m.zeros(3), m.zeros(3)), None),
    (lambda m: m.outer(m.zeros(2, 2), m.zeros(3)), None),
    (lambda m: m.matmul(m.zeros(2, 2), [[1.0, 2.0]]), None),
])
def test_product_errors_like_torch(bad, match):
    with pytest.raises(Exception) as te:
        bad(torch)
    with pytest.raises(type(te.value), match=match):
        bad(fw)


def test_second_derivative_through_matmul_matches_torch():
    a, b = arr(3, 4), arr(4, 2)
    res = []
    for lib in (fw, torch):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(b, requires_grad=True)
        y = ((x @ w).tanh() ** 2).sum()
        gx, gw = lib.autograd.grad(y, (x, w), create_graph=True)
        z = (gx * gx).sum() + (gw ** 3).sum() + (gx @ w).sum()
        hx, hw = lib.autograd.grad(z, (x, w))
        res.append((gx, gw, hx, hw))
    for f, t in zip(*res):
        same(f, t)


def test_second_derivative_batched_and_vector():
    a, v = arr(2, 3, 4), arr(4)
    res = []
    for lib in (fw, torch):
        x = lib.tensor(a, requires_grad=True)
        u = lib.tensor(v, requires_grad=True)
        y = ((x @ u) ** 2).sum() + lib.einsum("bij,j->", x, u) ** 2
        gx, = lib.autograd.grad(y, x, create_graph=True)
        gu, = lib.autograd.grad((gx ** 2).sum(), u)
        res.append((gx, gu))
    for f, t in zip(*res):
        same(f, t)


@pytest.mark.parametrize("fn,shapes", [
    (lambda a, b: a @ b, [(3, 4), (4, 2)]),
    (lambda a, b: a @ b, [(2, 1, 1, 3), (4, 3, 2)]),
    (lambda a, b: a @ b, [(3,), (3, 2)]),
    (lambda a, b: fw.dot(a, b), [(3,), (3,)]),
    (lambda a, b: fw.outer(a, b), [(3,), (2,)]),
    (lambda a, b: fw.einsum("bhqd,bhkd->bhqk", a, b), [(1, 2, 3, 2), (1, 2, 2, 2)]),
    (lambda a, b: fw.einsum("ii,ij->j", a, b), [(3, 3), (3, 2)]),
])
def test_gradcheck_float64(fn, shapes):
    xs = [fw.tensor(arr(*s), requires_grad=True) for s in shapes]
    assert fw.autograd.gradcheck(fn, xs)


def test_small_matmul_fast_path_keeps_semantics():
    a, b = fw.randn(8, 8), fw.randn(8, 8)
    out = a @ b
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-5)
    assert out.grad_fn is None and not out.requires_grad
    a.requires_grad_()
    assert (a @ b).grad_fn is not None
    with fw.no_grad():
        assert (a @ b).grad_fn is None
    ia = fw.ones(2, 2, dtype=fw.int64)
    assert (ia @ ia).dtype is fw.int64 and (ia @ ia).tolist() == [[2, 2], [2, 2]]
