"""Elementwise ops against PyTorch: dtype promotion, errors, in-place semantics, gradcheck,
second derivatives, and broadcasting properties against NumPy."""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework as fw
from oracle import assert_same_error_kind, assert_second_derivative_matches

DTYPES = ["bool", "int32", "int64", "float32", "float64"]
BINARY = ["add", "mul", "div", "floor_divide", "remainder", "maximum", "minimum", "eq", "lt",
          "logical_and", "atan2", "sub", "pow", "bitwise_and", "bitwise_or", "fmod"]


def _make(lib, dtype, dim):
    a = np.array([1, 2, 3]) if dim else np.array(2)
    return lib.tensor(a.astype(dtype))


def _outcome(fn):
    """The result dtype's name, or the exception type's name."""
    try:
        return str(fn().dtype).split(".")[-1]
    except (RuntimeError, TypeError, NotImplementedError, ValueError, IndexError) as e:
        return type(e).__name__


@pytest.mark.parametrize("op", BINARY)
def test_binary_promotion_matches_torch(op):
    bad = []
    for da, db in itertools.product(DTYPES, DTYPES):
        for dima, dimb in ((1, 1), (1, 0), (0, 1), (0, 0)):
            got = _outcome(lambda: getattr(fw, op)(_make(fw, da, dima), _make(fw, db, dimb)))
            want = _outcome(lambda: getattr(torch, op)(_make(torch, da, dima), _make(torch, db, dimb)))
            if got != want:
                bad.append((da, db, dima, dimb, got, want))
    assert not bad


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                "and", "or", "lt", "eq"])
def test_python_scalar_promotion_matches_torch(op):
    bad = []
    for d in DTYPES:
        for s in (2, 2.5, True):
            for name in (f"__{op}__", f"__r{op}__"):
                if not hasattr(torch.Tensor, name):
                    continue
                got = _outcome(lambda: getattr(_make(fw, d, 1), name)(s))
                want = _outcome(lambda: getattr(_make(torch, d, 1), name)(s))
                if got != want and want != "TypeError":
                    bad.append((d, s, name, got, want))
    assert not bad


@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "sigmoid", "tanh", "abs", "neg", "sign",
                                "floor", "round", "relu", "erf", "reciprocal", "square",
                                "logical_not", "bitwise_not", "rsqrt"])
def test_unary_result_dtype_matches_torch(op):
    for d in DTYPES:
        got = _outcome(lambda: getattr(fw, op)(_make(fw, d, 1)))
        want = _outcome(lambda: getattr(torch, op)(_make(torch, d, 1)))
        assert got == want, (op, d)


ERRORS = [
    "L.ones(2) + L.ones(3)",
    "L.ones(2, 3) * L.ones(4, 1, 2)",
    "L.tensor([True]) - L.tensor([False])",
    "L.tensor([1]) - True",
    "-L.tensor([True])",
    "L.tensor([1.5]) & L.tensor([1.0])",
    "L.tensor([1.5]) << 1",
    "~L.tensor([1.5])",
    "L.tensor([1, 2]) // 0",
    "L.tensor([1, 2]) % L.tensor([0, 1])",
    "L.tensor([1, 2]) ** -1",
    "L.add(L.tensor([1]), L.tensor([2]), alpha=0.5)",
    "L.div(L.ones(2), 2, rounding_mode='round')",
    "L.clamp(L.ones(2))",
    "L.relu(L.tensor([True]))",
    "L.floor(L.tensor([True]))",
    "L.remainder(L.tensor([True]), L.tensor([True]))",
    "L.where(L.ones(2), L.ones(2), L.zeros(2))",
    "L.tensor([1, 2]).__iadd__(1.5)",
    "L.tensor([1, 2]).mul_(L.tensor([0.5, 1.0]))",
    "L.tensor([True]).__iadd__(1)",
    "L.ones(2).add_(L.ones(2, 2))",
    "L.ones(2, requires_grad=True).add_(1)",
    "L.ones(2) + 'a'",
    "L.exp([1.0])",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors_match_torch(code):
    assert_same_error_kind(code)


def test_inplace_semantics():
    x = fw.arange(6.0).reshape(2, 3)
    v = x[0]
    ver = x._ver[0]
    assert v.add_(10) is v
    assert x[0].tolist() == [10.0, 11.0, 12.0] and x._ver[0] > ver
    y = fw.tensor([1, 2, 3])
    y += 2
    y *= 3
    y //= 2
    assert y.dtype is fw.int64 and y.tolist() == [4, 6, 7]
    f = fw.tensor([1.0, 2.0])
    f += fw.tensor([1, 1])  # int into float is fine
    assert f.dtype is fw.float32 and f.tolist() == [2.0, 3.0]
    b = fw.ones(2, 3)
    b += fw.tensor([1.0, 2.0, 3.0])  # broadcast of the right side is allowed
    assert b.tolist() == [[2.0, 3.0, 4.0]] * 2


def test_inplace_gradient_through_view_and_operand():
    for lib in (torch, fw):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]], requires_grad=True)
        y = lib.tensor([2.0, 3.0, -1.0], requires_grad=True)
        z = x * 1
        z[0].mul_(y)
        z.pow_(2)
        z.sum().backward()
        if lib is torch:
            want = x.grad.numpy(), y.grad.numpy()
        else:
            np.testing.assert_allclose(x.grad.numpy(), want[0])
            np.testing.assert_allclose(y.grad.numpy(), want[1])


GRADCHECK = {
    "exp": lambda x, y: x.exp(),
    "log": lambda x, y: (x.abs() + 0.5).log(),
    "sigmoid_tanh": lambda x, y: x.sigmoid() * x.tanh(),
    "gelu": lambda x, y: fw.gelu(x) + fw.gelu(y, approximate="tanh"),
    "silu_erf": lambda x, y: fw.silu(x) + x.erf(),
    "div_broadcast": lambda x, y: x / (y.abs() + 1),
    "pow_both": lambda x, y: (x.abs() + 0.5) ** y,
    "rpow": lambda x, y: 2.0 ** x,
    "rsqrt_recip": lambda x, y: (x * x + 1).rsqrt() + (y * y + 1).reciprocal(),
    "clamp_tensor": lambda x, y: x.clamp(min=y - 10, max=y + 10) * x,
    "atan2": lambda x, y: fw.atan2(x, y.abs() + 1),
    "maximum": lambda x, y: fw.maximum(x, y + 5),
    "where": lambda x, y: fw.where(x > 0, x * y, y),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(name):
    rng = np.random.default_rng(1)
    x = fw.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = fw.tensor(rng.standard_normal(3), requires_grad=True)
    assert fw.autograd.gradcheck(GRADCHECK[name], (x, y))


SECOND = {
    "exp": lambda L, x: x.exp(),
    "log": lambda L, x: x.log(),
    "sqrt": lambda L, x: x.sqrt(),
    "rsqrt": lambda L, x: x.rsqrt(),
    "reciprocal": lambda L, x: x.reciprocal(),
    "sin": lambda L, x: x.sin(),
    "cos": lambda L, x: x.cos(),
    "tanh": lambda L, x: x.tanh(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "erf": lambda L, x: x.erf(),
    "log1p": lambda L, x: x.log1p(),
    "expm1": lambda L, x: x.expm1(),
    "gelu": lambda L, x: (L.nn.functional.gelu if L is torch else L.gelu)(x),
    "gelu_tanh": lambda L, x: (L.nn.functional.gelu if L is torch else L.gelu)(x, approximate="tanh"),
    "silu": lambda L, x: (L.nn.functional.silu if L is torch else L.silu)(x),
    "pow_scalar": lambda L, x: x ** 3,
    "pow_tensor": lambda L, x: x ** x,
    "rpow": lambda L, x: 3.0 ** x,
    "div": lambda L, x: 1.5 / (x + 1),
    "mul_self": lambda L, x: x * x * x,
    "abs_relu": lambda L, x: (x - 1).abs() * (x - 1).relu(),
    "clamp": lambda L, x: x.clamp(0.7, 1.5) * x,
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivative_matches_torch(name):
    assert_second_derivative_matches(SECOND[name], np.array([0.6, 0.9, 1.3, 1.75]), rtol=1e-10)


# -- broadcasting properties against NumPy ---------------------------------------------------------
def _broadcastable_shapes(draw):
    out = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    a = [d if draw(st.booleans()) else 1 for d in out]
    b = [d if draw(st.booleans()) else 1 for d in out]
    return tuple(a[draw(st.integers(0, len(a))):]), tuple(b[draw(st.integers(0, len(b))):])


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(["add", "sub", "mul", "maximum", "lt", "eq"]))
def test_broadcasting_matches_numpy(data, op):
    sa, sb = _broadcastable_shapes(data.draw)
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    a = rng.integers(-3, 4, sa).astype(np.float32)
    b = rng.integers(-3, 4, sb).astype(np.float32)
    want = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum,
            "lt": np.less, "eq": np.equal}[op](a, b)
    got = getattr(fw, op)(fw.tensor(a), fw.tensor(b))
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_broadcast_gradient_sums_to_input_shape(data):
    sa, sb = _broadcastable_shapes(data.draw)
    a = fw.ones(*sa, requires_grad=True)
    b = fw.full(sb, 2.0, requires_grad=True)
    (a * b).sum().backward()
    n = int(np.prod(np.broadcast_shapes(sa, sb)))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert np.isclose(a.grad.sum().item(), 2.0 * n) and np.isclose(b.grad.sum().item(), n)
