"""Reductions against PyTorch and NumPy: errors, result dtypes, gradients (zeros in prod and
cumprod included), second derivatives, and hypothesis properties over shapes and dims."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework as fw
from oracle import assert_same_error_kind, assert_second_derivative_matches

ERRORS = [
    "L.ones(3, 0).max(1)", "L.ones(3, 0).amax(1)", "L.ones(3, 0).argmax(1)", "L.ones(0).max()",
    "L.ones(0).argmin()", "L.ones(0).amin()", "L.ones(3, 0).median(1)", "L.ones(3, 0).min(-1)",
    "L.ones(3, 0).norm(float('inf'), 1)", "L.ones(3, 2).topk(3)", "L.ones(3, 0).topk(1, 1)",
    "L.ones(2, 3).sum(2)", "L.ones(2, 3).mean(-3)", "L.ones(2, 3).prod(5)", "L.ones(2, 3).var(3)",
    "L.ones(2, 3).cumsum(2)", "L.ones(2, 3).cumprod(-3)", "L.ones(2, 3).sort(2)",
    "L.ones(2, 3).all(2)", "L.ones(2, 3).norm(dim=4)", "L.ones(2, 3).logsumexp(3)",
    "L.ones(2, 3).sum((0, 0))", "L.tensor([1, 2]).mean()", "L.tensor([True]).mean()",
    "L.tensor([1, 2]).var()", "L.tensor([1, 2]).std()", "L.tensor([1, 2]).norm()",
    "L.ones(2, 3).argmax(2)", "L.ones(2).median(1)",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors_match_torch(code):
    assert_same_error_kind(code)


EMPTY_OK = ["x.sum(1)", "x.prod(1)", "x.sum()", "x.prod()", "x.cumsum(1)", "x.cumprod(1)",
            "x.all(1)", "x.any(1)", "x.all()", "x.any()", "x.norm()", "x.norm(dim=1)",
            "x.logsumexp(1)", "x.sort(1)[0]", "x.topk(0, 1)[0]", "x.mean(1)", "x.var(1)",
            "x.amax(0)", "x.max(0)[1]", "L.count_nonzero(x, 1)"]


@pytest.mark.parametrize("code", EMPTY_OK)
def test_empty_reductions_match_torch(code):
    got, want = (eval(code, {"L": lib, "x": lib.zeros(3, 0)}) for lib in (fw, torch))
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy())


@pytest.mark.parametrize("code", ["x.sum()", "x.prod()", "x.sum(0)", "x.cumsum(1)", "x.cumprod(0)",
                                  "x.all(1)", "x.any()", "x.max()", "x.amin(1)",
                                  "x.sort(1)[0]", "x.topk(2)[0]", "x.median()",
                                  "L.count_nonzero(x)", "x.argmax()"])
@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "float32", "float64"])
def test_result_dtypes_match_torch(code, dtype):
    data = np.array([[0, 1, 2], [3, 1, 0]]).astype(dtype)
    results = []
    for lib in (fw, torch):
        try:
            results.append(eval(code, {"L": lib, "x": lib.tensor(data)}))
        except (RuntimeError, NotImplementedError) as e:
            results.append(type(e))
    got, want = results
    if isinstance(want, type):  # torch refuses this dtype: fw must refuse it the same way
        assert got is want
        return
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy().astype(float), want.numpy().astype(float))


def test_var_arguments():
    x = np.random.default_rng(0).standard_normal((3, 4))
    for code in ["x.var(False)", "x.var(1, False)", "x.var(1, True, True)", "x.std(0, correction=0)",
                 "x.var(dim=1, unbiased=False, keepdim=True)", "x.std(correction=3)",
                 "L.var_mean(x, 1, correction=0)[0]", "L.std_mean(x)[1]"]:
        got, want = (eval(code, {"L": lib, "x": lib.tensor(x)}) for lib in (fw, torch))
        np.testing.assert_allclose(got.numpy(), want.numpy(), err_msg=code)
    with pytest.raises(RuntimeError):
        fw.tensor(x).var(1, unbiased=True, correction=0)


def test_sort_nan_and_stable():
    data = np.array([3.0, np.nan, 1.0, 3.0, -np.inf, 1.0])
    for descending in (False, True):
        got = fw.tensor(data).sort(descending=descending, stable=True)
        want = torch.tensor(data).sort(descending=descending, stable=True)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got._fields == ("values", "indices")


GRADCHECK = {
    "prod": lambda x: x.prod(1),
    "prod_all": lambda x: x.prod(),
    "prod_zero": lambda x: (x * fw.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], [1.0] * 4],
                                         dtype=fw.float64)).prod(1),
    "cumprod": lambda x: x.cumprod(1),
    "cumprod_zero": lambda x: (x * fw.tensor([1.0, 0.0, 1.0, 1.0], dtype=fw.float64)).cumprod(1),
    "cumsum": lambda x: x.cumsum(0),
    "var": lambda x: x.var(1),
    "std": lambda x: x.std(0, correction=0),
    "logsumexp": lambda x: x.logsumexp(1),
    "norm": lambda x: x.norm(dim=1),
    "norm_p3": lambda x: x.norm(p=3),
    "sort": lambda x: x.sort(1).values * fw.arange(4.0, dtype=fw.float64),
    "topk": lambda x: x.topk(2, 0).values,
    "median": lambda x: x.median(1).values,
    "mean": lambda x: x.mean((0, 1)),
    "amax": lambda x: x.amax(0),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(name):
    x = fw.tensor(np.random.default_rng(2).uniform(0.5, 2.0, (3, 4))
                  * np.array([1, -1, 1, -1]), requires_grad=True)
    assert fw.autograd.gradcheck(GRADCHECK[name], (x,))


SECOND = {
    "prod": lambda L, x: x.prod(1),
    "prod_zero": lambda L, x: (x * (x.abs() > 0.4)).prod(1),
    "cumprod": lambda L, x: x.cumprod(1),
    "cumprod_zero": lambda L, x: (x * (x.abs() > 0.4)).cumprod(1),
    "var": lambda L, x: x.var(1),
    "std": lambda L, x: x.std(0),
    "logsumexp": lambda L, x: L.logsumexp(x, 1),
    "norm": lambda L, x: x.norm(dim=1),
    "softmax": lambda L, x: L.softmax(x, 1) * x,
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivative_matches_torch(name):
    assert_second_derivative_matches(SECOND[name], np.array([[0.5, -1.2, 0.3, 2.0], [1.1, 0.7, -0.45, 0.9], [-0.6, 0.35, 1.5, -2.1]]), rtol=1e-9)


# -- properties against NumPy -----------------------------------------------------------------------
@st.composite
def _array_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda d: d % len(shape),
                         min_size=1, max_size=len(shape)))
    seed = draw(st.integers(0, 2 ** 16))
    a = np.random.default_rng(seed).uniform(-2, 2, shape)
    return a, tuple(dims), draw(st.booleans())


_NUMPY = {
    "sum": lambda a, d, k: np.sum(a, d, keepdims=k),
    "mean": lambda a, d, k: np.mean(a, d, keepdims=k),
    "amax": lambda a, d, k: np.max(a, d, keepdims=k),
    "amin": lambda a, d, k: np.min(a, d, keepdims=k),
    "prod": lambda a, d, k: np.prod(a, d, keepdims=k),
    "var": lambda a, d, k: np.var(a, d, keepdims=k, ddof=0),
    "all": lambda a, d, k: np.all(a > 0, d, keepdims=k),
    "any": lambda a, d, k: np.any(a > 1, d, keepdims=k),
    "logsumexp": lambda a, d, k: np.log(np.sum(np.exp(a), d, keepdims=k)),
    "norm": lambda a, d, k: np.sqrt(np.sum(a * a, d, keepdims=k)),
}
_FW = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "prod": lambda x, d, k: _prod_dims(x, d, k),
    "var": lambda x, d, k: x.var(d, keepdim=k, correction=0),
    "all": lambda x, d, k: (x > 0).all(d, keepdim=k),
    "any": lambda x, d, k: (x > 1).any(d, keepdim=k),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "norm": lambda x, d, k: x.norm(dim=d, keepdim=k),
}


def _prod_dims(x, dims, keepdim):
    for d in sorted((d % x.ndim for d in dims), reverse=True):
        x = x.prod(d, keepdim=keepdim)
    return x


@settings(max_examples=30, deadline=None)
@given(_array_and_dims(), st.sampled_from(sorted(_NUMPY)))
def test_reductions_match_numpy(case, op):
    a, dims, keepdim = case
    want = _NUMPY[op](a, dims, keepdim)
    got = _FW[op](fw.tensor(a), dims, keepdim)
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(_array_and_dims(), st.sampled_from(["cumsum", "cumprod", "sort", "argsort"]))
def test_scans_and_sort_match_numpy(case, op):
    a, dims, _ = case
    d = dims[0]
    x = fw.tensor(a)
    if op == "cumsum":
        got, want = x.cumsum(d), np.cumsum(a, d)
    elif op == "cumprod":
        got, want = x.cumprod(d), np.cumprod(a, d)
    elif op == "sort":
        got, want = x.sort(d).values, np.sort(a, d)
    else:
        got, want = x.argsort(d), np.argsort(a, d, kind="stable")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(_array_and_dims())
def test_sum_gradient_is_ones(case):
    a, dims, keepdim = case
    x = fw.tensor(a, requires_grad=True)
    x.sum(dims, keepdim=keepdim).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))
