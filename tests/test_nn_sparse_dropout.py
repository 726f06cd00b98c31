"""Embedding, EmbeddingBag, one_hot and dropout against torch: values, weight gradients
(padding rows, frequency scaling, per-sample weights), reprs, errors; dropout statistics,
scaling, reproducibility and channel-wise masks."""
import numpy as np
import pytest
import torch

import framework as fw
import framework.nn  # noqa: F401
from nn_compare import compare
from oracle import assert_same_error_kind

rng = np.random.default_rng(1)
W = rng.standard_normal((7, 3)).astype(np.float32)


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                {"scale_grad_by_freq": True}, {"max_norm": 1.0},
                                {"max_norm": 0.5, "norm_type": 1.0},
                                {"padding_idx": 0, "scale_grad_by_freq": True}])
@pytest.mark.parametrize("idx", [[[1, 2, 2], [6, 0, 2]], [3], [[[1]], [[6]]], 4])
def test_embedding(kw, idx, device):
    def fn(L, F, w):
        i = L.tensor(idx, **({"device": device} if L is fw else {}))
        return F.embedding(i, w, **kw)
    compare(fn, [W], device=device)


BAGS = [([1, 2, 4, 4, 3], [0, 2, 2], {}), ([1, 2, 4, 4, 3], [0, 2, 5], {"include_last_offset": True}),
        ([1, 2, 4, 4, 3, 0], [0, 1, 6], {"padding_idx": 4}), ([5, 5, 1], [0], {}),
        ([[1, 2, 3], [4, 4, 0]], None, {}), ([[1, 2, 3], [4, 4, 0]], None, {"padding_idx": 4}),
        ([1, 2, 4, 4, 3], [0, 3], {"scale_grad_by_freq": True}),
        ([1, 2, 4, 4, 3], [0, 3], {"max_norm": 1.0})]


# max with scale_grad_by_freq is refused by torch (see ERRORS), so it is left out here
@pytest.mark.parametrize("mode,inp,offsets,kw", [
    (m,) + b for m in ("sum", "mean", "max") for b in BAGS
    if not (m == "max" and b[2].get("scale_grad_by_freq"))])
def test_embedding_bag(mode, inp, offsets, kw, device):

    def fn(L, F, w):
        dev = {"device": device} if L is fw else {}
        off = None if offsets is None else L.tensor(offsets, **dev)
        return F.embedding_bag(L.tensor(inp, **dev), w, off, mode=mode, **kw)
    compare(fn, [W], device=device)


@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_bag_per_sample_weights(padding_idx, device):
    psw = rng.random(6).astype(np.float32)

    def fn(L, F, w, p):
        dev = {"device": device} if L is fw else {}
        return F.embedding_bag(L.tensor([1, 3, 3, 0, 6, 2], **dev), w, L.tensor([0, 2, 2], **dev),
                               mode="sum", per_sample_weights=p, padding_idx=padding_idx)
    compare(fn, [W, psw], grads=(0, 1), device=device)


def test_embedding_backward_is_scatter_add():
    w = fw.tensor(W, requires_grad=True)
    out = fw.nn.functional.embedding(fw.tensor([1, 1, 5]), w)
    assert out.grad_fn.name() == "EmbeddingBackward0"


def test_one_hot(device):
    for args in [([0, 2, 1], 4), ([[1, 0], [2, 2]], -1), ([], 3)]:
        got = fw.nn.functional.one_hot(fw.tensor(args[0], dtype=fw.int64, device=device), args[1])
        want = torch.nn.functional.one_hot(torch.tensor(args[0], dtype=torch.long), args[1])
        assert got.dtype == fw.int64
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_embedding_module():
    fw.manual_seed(0)
    e = fw.nn.Embedding(1000, 8, padding_idx=3)
    w = e.weight.detach().numpy()
    assert np.all(w[3] == 0)
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05  # N(0, 1) init
    out = e(fw.tensor([[3, 4], [5, 3]]))
    out.sum().backward()
    g = e.weight.grad.numpy()
    assert np.all(g[3] == 0) and np.all(g[4] == 1) and np.all(g[0] == 0)

    pre = fw.tensor(W)
    f = fw.nn.Embedding.from_pretrained(pre)
    assert not f.weight.requires_grad
    np.testing.assert_array_equal(f(fw.tensor([2])).numpy(), W[2:3])
    assert fw.nn.Embedding.from_pretrained(pre, freeze=False).weight.requires_grad
    bag = fw.nn.EmbeddingBag.from_pretrained(pre, mode="sum")
    np.testing.assert_allclose(bag(fw.tensor([[0, 1]])).detach().numpy(), W[:1] + W[1:2], rtol=1e-6)


@pytest.mark.parametrize("code", [
    "nn.Embedding(10, 3)", "nn.Embedding(10, 3, padding_idx=0, max_norm=1.0)",
    "nn.Embedding(10, 3, padding_idx=-2)",
    "nn.Embedding(10, 3, scale_grad_by_freq=True, sparse=True, norm_type=1.)",
    "nn.EmbeddingBag(10, 3)", "nn.EmbeddingBag(10, 3, mode='sum', padding_idx=1, max_norm=2.)",
    "nn.Dropout()", "nn.Dropout(0.2, True)", "nn.Dropout1d()", "nn.Dropout2d(0.1)",
    "nn.Dropout3d()", "nn.AlphaDropout(0.3)", "nn.FeatureAlphaDropout()"])
def test_module_reprs(code):
    assert repr(eval(code, {"nn": fw.nn})) == repr(eval(code, {"nn": torch.nn}))


ERRORS = [
    "L.nn.functional.embedding(L.tensor([7]), L.ones(7, 3))",
    "L.nn.functional.embedding(L.tensor([-1]), L.ones(7, 3))",
    "L.nn.functional.embedding(L.tensor([1.0]), L.ones(7, 3))",
    "L.nn.functional.embedding(L.tensor([1]), L.ones(7))",
    "L.nn.functional.embedding(L.tensor([1]), L.ones(7, 3), padding_idx=7)",
    "L.nn.functional.embedding(L.tensor([1]), L.ones(7, 3), padding_idx=-8)",
    "L.nn.Embedding(5, 2, padding_idx=5)",
    "L.nn.functional.embedding_bag(L.tensor([1, 8]), L.ones(7, 3), L.tensor([0]))",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3), L.tensor([1]))",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3), L.tensor([0, 3]))",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3))",
    "L.nn.functional.embedding_bag(L.tensor([[1, 2]]), L.ones(7, 3), L.tensor([0]))",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3), L.tensor([0]), mode='min')",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3), L.tensor([0]), mode='max', scale_grad_by_freq=True)",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3), L.tensor([0]), per_sample_weights=L.ones(2))",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7, 3), L.tensor([0]), mode='sum', per_sample_weights=L.ones(3))",
    "L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(7), L.tensor([0]))",
    "L.nn.functional.one_hot(L.tensor([1, 5]), 3)", "L.nn.functional.one_hot(L.tensor([1, -1]), 3)",
    "L.nn.functional.one_hot(L.tensor([1, 2], dtype=L.int32), 3)",
    "L.nn.functional.one_hot(L.tensor([], dtype=L.int64))",
    "L.nn.functional.dropout(L.ones(3), 1.5)", "L.nn.functional.dropout(L.ones(3), -0.1)",
    "L.nn.Dropout(2.0)", "L.nn.functional.dropout1d(L.ones(3), 0.5)",
    "L.nn.functional.dropout2d(L.ones(2, 3, 4), 1.1)", "L.nn.functional.alpha_dropout(L.ones(3), 2.0)",
    "L.nn.functional.dropout(L.ones(3, requires_grad=True), 0.5, True, True)",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors_match_torch(code):
    assert_same_error_kind(code)


# -- dropout ------------------------------------------------------------------------------------
def test_dropout_values_scaling_and_grad(device):
    F = fw.nn.functional
    x = fw.ones(200, 50, device=device, requires_grad=True)
    y = F.dropout(x, 0.3)
    v = y.detach().cpu().numpy()
    assert np.all((v == 0) | np.isclose(v, 1 / 0.7, rtol=1e-6))
    assert abs((v == 0).mean() - 0.3) < 0.02
    y.backward(fw.ones(200, 50, device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), v, rtol=1e-6)  # grad = mask / (1 - p)
    assert str(y.device) == str(x.device)


def test_dropout_identity_cases(device):
    F = fw.nn.functional
    x = fw.randn(4, 5, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).cpu().numpy(), np.zeros((4, 5)))
    m = fw.nn.Dropout(0.5)
    m.eval()
    assert m(x) is x


def test_dropout_reproducible_with_manual_seed():
    F = fw.nn.functional
    fw.manual_seed(123)
    a = F.dropout(fw.ones(100), 0.5).numpy()
    fw.manual_seed(123)
    b = F.dropout(fw.ones(100), 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, F.dropout(fw.ones(100), 0.5).numpy())


def test_dropout_inplace(device):
    x = fw.ones(10, 10, device=device)
    y = fw.nn.functional.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.cpu().numpy())) <= {0.0, 2.0}


@pytest.mark.parametrize("fn,shape,mask_dims", [("dropout1d", (8, 16, 5), (2,)),
                                                ("dropout1d", (16, 5), (1,)),
                                                ("dropout2d", (8, 16, 4, 3), (2, 3)),
                                                ("dropout3d", (4, 8, 2, 3, 2), (2, 3, 4)),
                                                ("dropout3d", (8, 2, 3, 2), (1, 2, 3))])
def test_channel_dropout_drops_whole_channels(fn, shape, mask_dims, device):
    y = getattr(fw.nn.functional, fn)(fw.ones(*shape, device=device), 0.5).cpu().numpy()
    lo, hi = y.min(axis=mask_dims), y.max(axis=mask_dims)
    np.testing.assert_array_equal(lo, hi)  # each channel is all kept or all dropped
    assert set(np.unique(lo)) <= {0.0, 2.0} and 0 < (lo == 0).mean() < 1


def test_alpha_dropout_keeps_mean_and_variance():
    fw.manual_seed(0)
    x = fw.randn(200000)
    y = fw.nn.functional.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert fw.nn.functional.alpha_dropout(x, 0.2) is x  # training=False by default
