"""Creating tensors, against PyTorch: from data, filled, ranges, random numbers."""
import numpy as np
import pytest
import torch

import framework as fw


def same(f, t):
    """fw tensor `f` equals torch tensor `t`: dtype, shape and values."""
    assert f.dtype.name == str(t.dtype).replace("torch.", ""), (f.dtype, t.dtype)
    assert tuple(f.shape) == tuple(t.shape)
    np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)


def raises_like_torch(expr, match=None):
    with pytest.raises(Exception) as et:
        eval(expr, {"L": torch, "np": np})
    with pytest.raises(type(et.value), match=match):
        eval(expr, {"L": fw, "np": np})


# -- from data ------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "L.tensor(3)", "L.tensor(2.5)", "L.tensor(True)", "L.tensor([1, 2])", "L.tensor([1, 2.5])",
    "L.tensor([[1, 2], [3, 4]])", "L.tensor([True, False])", "L.tensor([])",
    "L.tensor([[]])", "L.tensor([1, 2], dtype=L.float64)", "L.tensor([1.7, -1.7], dtype=L.int32)",
    "L.tensor(np.array([1.5, 2.5]))", "L.tensor(np.array([1, 2], dtype=np.int32))",
    "L.tensor(np.float64(2.5))", "L.tensor([L.tensor(1.5), L.tensor(2.0)])",
    "L.tensor(L.tensor([1, 2]))", "L.tensor((1, 2))", "L.tensor([0.5], dtype=L.bool)",
    "L.as_tensor([1, 2])", "L.as_tensor([1, 2], dtype=L.float32)",
    "L.tensor([np.float64(1.0), 2.0])", "L.tensor([np.float32(1.0)])", "L.tensor(np.array(5))",
    "L.ones(2, dtype=float)", "L.ones(2, dtype=int)", "L.ones(2, dtype=bool)",
    "L.tensor([1.5]).to(float)", "L.tensor(2 ** 40)",
])
def test_tensor_from_data(expr):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns on tensor(tensor)
        same(eval(expr, {"L": fw, "np": np}), eval(expr, {"L": torch, "np": np}))


def test_tensor_from_data_errors():
    raises_like_torch("L.tensor([[1, 2], [3]])")
    raises_like_torch("L.tensor('abc')")
    raises_like_torch("L.tensor([1], dtype='nonsense')")
    raises_like_torch("L.tensor([2 ** 63])", "Overflow")
    raises_like_torch("L.tensor([2 ** 70])", "Overflow")


def test_tensor_copies_and_requires_grad():
    a = np.array([1.0, 2.0])
    t = fw.tensor(a)
    a[0] = 9.0
    assert t[0].item() == 1.0
    x = fw.tensor([1.0], requires_grad=True)
    assert x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        fw.tensor([1], requires_grad=True)


def test_from_numpy_and_as_tensor_share_memory():
    for lib in (fw, torch):
        a = np.arange(6.0).reshape(2, 3)
        t = lib.from_numpy(a)
        a[0, 0] = 100.0
        assert t[0, 0].item() == 100.0
        t[1, 2] = -1.0
        assert a[1, 2] == -1.0
        assert t.dtype is lib.float64
        b = np.array([1, 2], dtype=np.int32)
        u = lib.as_tensor(b)
        b[0] = 7
        assert u.dtype is lib.int32 and u[0].item() == 7
        v = lib.as_tensor(b, dtype=lib.float32)     # a different dtype must copy
        b[1] = 8
        assert v[1].item() == 2.0
        w = lib.ones(2)
        assert lib.as_tensor(w) is w
    for lib in (fw, torch):           # strided arrays are shared too
        a = np.arange(24.0).reshape(4, 6)
        for view in (a[:, ::2], a[1:3, 2:5], a.T, a[:, 1]):
            t = lib.from_numpy(view)
            assert t.stride() == tuple(s // 8 for s in view.strides)
            view[0] = -5.0
            assert t.tolist() == view.tolist() and (t * 2).tolist() == (view * 2).tolist()
            t[-1] = 3.0
            assert view[-1].tolist() == t[-1].tolist()
    raises_like_torch("L.from_numpy(np.arange(3.0)[::-1])", "negative")
    with pytest.raises(TypeError):
        fw.from_numpy([1, 2])
    with pytest.raises(TypeError):
        torch.from_numpy([1, 2])


# -- filled -------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "L.zeros(2, 3)", "L.zeros((2, 3))", "L.zeros([2])", "L.zeros(())", "L.ones(2, dtype=L.int64)",
    "L.ones(0, 3)", "L.empty(2, 2).shape", "L.full((2, 2), 1.5)", "L.full((2,), 3)",
    "L.full((2,), True)", "L.full((1, 2), 2, dtype=L.float64)",
    "L.zeros_like(L.ones(2, dtype=L.int32))", "L.ones_like(L.ones(2, 2), dtype=L.float64)",
    "L.full_like(L.ones(3), 7)", "L.empty_like(L.ones(3, dtype=L.bool)).shape",
    "L.ones(2, dtype=L.int32).new_zeros(2, 3)", "L.ones(2, dtype=L.int32).new_ones((2,))",
    "L.ones(2).new_full((3,), 4)", "L.ones(2).new_tensor([1, 2])",
    "L.ones(2).new_empty(3).shape", "L.ones(2, dtype=L.float64).new_tensor([1.5])",
    "L.ones(2).new_zeros(2, dtype=L.int64)", "L.eye(3)", "L.eye(2, 3)",
    "L.eye(2, dtype=L.int64)",
])
def test_filled(expr):
    f, t = eval(expr, {"L": fw}), eval(expr, {"L": torch})
    if isinstance(t, torch.Size):
        assert tuple(f) == tuple(t)
    else:
        same(f, t)


def test_filled_options_and_errors():
    x = fw.zeros(2, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert fw.zeros(2, device="cpu").device == fw.device("cpu")
    assert fw.zeros(2, device=fw.device("cpu")).is_cpu
    assert fw.ones_like(x).requires_grad is False
    raises_like_torch("L.zeros(-1)", "negative dimension")
    raises_like_torch("L.zeros(2.5)")
    raises_like_torch("L.ones(2, dtype=L.int64, requires_grad=True)", "floating point")


# -- ranges -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "L.arange(5)", "L.arange(2, 7)", "L.arange(7, 2, -2)", "L.arange(0, 1, 0.1)",
    "L.arange(1.0, 4)", "L.arange(0, 10, 3)", "L.arange(5, dtype=L.float64)",
    "L.arange(0.5, 3)", "L.arange(0)", "L.arange(-1.5, 1.5, 0.5)", "L.arange(L.tensor(4))",
    "L.arange(10, dtype=L.int32)", "L.arange(1, 2, 0.3, dtype=L.float64)",
    "L.arange(0, 5, 1.5, dtype=L.int64)", "L.arange(5.0, dtype=L.int64)", "L.arange(1, 2.5, 0.5)",
    "L.linspace(0, 1, 5)", "L.linspace(-2, 2, 1)", "L.linspace(0, 1, 0)",
    "L.linspace(1, 10, 4, dtype=L.float64)", "L.linspace(3, -3, 7)",
])
def test_ranges(expr):
    same(eval(expr, {"L": fw}), eval(expr, {"L": torch}))


def test_range_errors():
    raises_like_torch("L.arange(0, 5, 0)")
    raises_like_torch("L.arange(5, 0, 1)", "bound")
    raises_like_torch("L.linspace(0, 1, -1)", "non-negative")
    raises_like_torch("L.linspace(0, 1, 2.5)")


# -- random -----------------------------------------------------------------------------------
RANDOM = [
    ("rand", lambda L, g: L.rand(2, 3, generator=g)),
    ("rand_tuple", lambda L, g: L.rand((4,), generator=g, dtype=L.float64)),
    ("randn", lambda L, g: L.randn(3, 2, generator=g)),
    ("randint", lambda L, g: L.randint(0, 10, (5,), generator=g)),
    ("randint_high", lambda L, g: L.randint(10, (2, 2), generator=g)),
    ("randint_dtype", lambda L, g: L.randint(3, 9, (4,), generator=g, dtype=L.int32)),
    ("randperm", lambda L, g: L.randperm(6, generator=g)),
    ("normal", lambda L, g: L.normal(2.0, 3.0, (3,), generator=g)),
    ("normal_tensor", lambda L, g: L.normal(L.zeros(4), 1.0, generator=g)),
    ("normal_tensors", lambda L, g: L.normal(L.zeros(2, 2), L.ones(2, 2), generator=g)),
]


@pytest.mark.parametrize("name,fn", RANDOM, ids=[r[0] for r in RANDOM])
def test_random_shapes_dtypes_and_seeds(name, fn):
    t = fn(torch, None)
    fw.manual_seed(0)
    a = fn(fw, None)
    assert a.dtype.name == str(t.dtype).replace("torch.", "") and tuple(a.shape) == tuple(t.shape)
    fw.manual_seed(0)
    b = fn(fw, None)
    assert a.tolist() == b.tolist()             # same seed, same numbers
    g1 = fw.Generator().manual_seed(123)
    g2 = fw.Generator().manual_seed(123)
    g3 = fw.Generator().manual_seed(124)
    c, d, e = fn(fw, g1), fn(fw, g2), fn(fw, g3)
    assert c.tolist() == d.tolist()
    if a.numel() > 3:
        assert c.tolist() != e.tolist()         # different seeds differ
        assert fn(fw, g1).tolist() != c.tolist()   # the generator advances


def test_random_values_are_in_range():
    fw.manual_seed(1)
    r = fw.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    i = fw.randint(-3, 3, (1000,))
    assert i.min().item() == -3 and i.max().item() == 2
    assert sorted(fw.randperm(10).tolist()) == list(range(10))
    n = fw.randn(4000, dtype=fw.float64)
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    assert fw.randn(2, requires_grad=True).requires_grad


def test_random_generator_state():
    g = fw.Generator()
    g.manual_seed(5)
    assert g.initial_seed() == 5
    state = g.get_state()
    a = fw.rand(3, generator=g)
    g.set_state(state)
    assert fw.rand(3, generator=g).tolist() == a.tolist()
    fw.manual_seed(7)
    assert fw.initial_seed() == 7
    assert fw.default_generator.initial_seed() == 7


def test_random_errors():
    raises_like_torch("L.rand(2, dtype=L.int64)")
    raises_like_torch("L.randn(-1)", "negative")
    raises_like_torch("L.randint(5, 5, (2,))")
    raises_like_torch("L.randperm(-1)")
    raises_like_torch("L.randint(0, 5, (2,), dtype=L.bool)")
    raises_like_torch("L.normal(0.0, -1.0, (2,))", "std")
    raises_like_torch("L.normal(L.zeros(2), -L.ones(2))", "std")
