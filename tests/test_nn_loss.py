"""Losses against torch.nn.functional: every option combination, values and gradients
(input and, where torch has one, target), double backward of cross_entropy, module reprs
and error types. cross_entropy's and nll_loss's option sets (reductions, weights,
ignore_index, label smoothing, probabilities, spatial and unbatched inputs, long rows,
float64) are cases of the op suite's table, framework/testing/cases_nn.py."""
import warnings

import numpy as np
import pytest
import torch

import framework as fw
import framework.nn  # noqa: F401
from nn_compare import compare
from oracle import assert_same_error_kind, assert_second_derivative_matches

rng = np.random.default_rng(2)
X = rng.standard_normal((6, 5)).astype(np.float32)
T = np.array([0, 4, 1, 1, 3, 2])
W = rng.random(5).astype(np.float32) + 0.1
REDUCTIONS = ["none", "mean", "sum"]


def _dev(L, device):
    return {"device": device} if L is fw else {}


def test_cross_entropy_is_one_node():
    x = fw.tensor(X, requires_grad=True)
    loss = fw.nn.functional.cross_entropy(x, fw.tensor(T))
    assert loss.grad_fn.name() == "CrossEntropyBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "AccumulateGrad"


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2, "weight": "W"}, {"ignore_index": 1}])
def test_cross_entropy_double_backward(kw):
    kw = {k: (v if v != "W" else None) for k, v in kw.items()}

    def fn(L, x):
        k = dict(kw)
        if "weight" in k:
            k["weight"] = L.tensor(W.astype(np.float64))
        return L.nn.functional.cross_entropy(x, L.tensor(T), **k)
    assert_second_derivative_matches(fn, X.astype(np.float64), rtol=1e-6)


def test_cross_entropy_all_ignored_is_nan():
    x, t = fw.tensor(X), fw.full((6,), -100, dtype=fw.int64)
    assert np.isnan(fw.nn.functional.cross_entropy(x, t).item())
    assert fw.nn.functional.cross_entropy(x, t, reduction="sum").item() == 0.0


REGRESSION = [
    "F.mse_loss(x, t, reduction=r)", "F.l1_loss(x, t, reduction=r)",
    "F.smooth_l1_loss(x, t, reduction=r)", "F.smooth_l1_loss(x, t, reduction=r, beta=0.5)",
    "F.smooth_l1_loss(x, t, reduction=r, beta=0.0)", "F.huber_loss(x, t, reduction=r)",
    "F.huber_loss(x, t, reduction=r, delta=0.3)", "F.mse_loss(x, t, reduction=r, weight=w)",
    "F.l1_loss(x, t, reduction=r, weight=w)", "F.huber_loss(x, t, reduction=r, weight=w)",
    "F.soft_margin_loss(x, L.sign(t), reduction=r)",
    "F.hinge_embedding_loss(x, L.sign(t), reduction=r)",
    "F.hinge_embedding_loss(x, L.sign(t), margin=0.5, reduction=r)",
    "F.poisson_nll_loss(x, t.abs(), reduction=r)",
    "F.poisson_nll_loss(x.abs(), t.abs() * 3, log_input=False, full=True, reduction=r)",
    "F.kl_div(x, t.abs(), reduction=r)",
]


@pytest.mark.parametrize("code", REGRESSION)
@pytest.mark.parametrize("r", REDUCTIONS)
def test_elementwise_losses(code, r, device):
    t = rng.standard_normal((6, 5)).astype(np.float32)
    t[0, :2] = X[0, :2]  # zero differences: the kinks
    w = rng.random((6, 5)).astype(np.float32)

    def fn(L, F, x, tt):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(code, {"F": F, "L": L, "x": x, "t": tt, "r": r,
                               "w": L.tensor(w, **_dev(L, device))})
    grads = (0,) if "kl_div" in code or "sign" in code else (0, 1)
    compare(fn, [X, t], grads=grads, device=device)


@pytest.mark.parametrize("r", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(r, log_target, device):
    p = rng.random((6, 5)).astype(np.float32)
    p[1, 1] = 0.0  # 0 * log 0 counts as 0
    t = np.log(p + 1e-3) if log_target else p
    logq = np.log(rng.random((6, 5)).astype(np.float32))

    def fn(L, F, x, tt):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return F.kl_div(x, tt, reduction=r, log_target=log_target)
    compare(fn, [logq, t], grads=(0,) if not log_target else (0, 1), device=device)


@pytest.mark.parametrize("r", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(r, weighted, device):
    p = rng.random((6, 5)).astype(np.float32)
    p[0, 0], p[0, 1] = 0.0, 1.0  # the clamp at -100 and the gradient at the ends
    t = rng.random((6, 5)).astype(np.float32)
    w = rng.random((5,)).astype(np.float32)

    def fn(L, F, x, tt):
        return F.binary_cross_entropy(x, tt, weight=L.tensor(w, **_dev(L, device)) if weighted
                                      else None, reduction=r)
    compare(fn, [p, t], grads=(0, 1), device=device, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("r", REDUCTIONS)
@pytest.mark.parametrize("weighted,pos", [(False, False), (True, False), (False, True), (True, True)])
def test_bce_with_logits(r, weighted, pos, device):
    x = (rng.standard_normal((6, 5)) * 30).astype(np.float32)  # large logits: no overflow
    x[0, 0] = 0.0
    t = rng.random((6, 5)).astype(np.float32)
    w = rng.random((6, 1)).astype(np.float32)
    pw = rng.random(5).astype(np.float32) * 3

    def fn(L, F, a, b):
        d = _dev(L, device)
        return F.binary_cross_entropy_with_logits(
            a, b, weight=L.tensor(w, **d) if weighted else None,
            pos_weight=L.tensor(pw, **d) if pos else None, reduction=r)
    compare(fn, [x, t], grads=(0, 1), device=device)


@pytest.mark.parametrize("code", [
    "F.cosine_similarity(a, b)", "F.cosine_similarity(a, b, dim=0)",
    "F.pairwise_distance(a, b)", "F.pairwise_distance(a, b, p=1.0, keepdim=True)",
    "F.cosine_embedding_loss(a, b, y)", "F.cosine_embedding_loss(a, b, y, margin=0.2, reduction='sum')",
    "F.margin_ranking_loss(a[:, 0], b[:, 0], y, margin=0.1)",
    "F.margin_ranking_loss(a[:, 0], b[:, 0], y, reduction='none')"])
def test_similarity_losses(code, device):
    y = np.array([1, -1, 1, -1, -1, 1], np.float32)
    b = rng.standard_normal((6, 5)).astype(np.float32)

    def fn(L, F, a, bb):
        return eval(code, {"F": F, "a": a, "b": bb, "y": L.tensor(y, **_dev(L, device))})
    compare(fn, [X, b], grads=(0, 1), device=device)


def test_legacy_size_average_and_reduce():
    for kw in [{"reduce": False}, {"size_average": False}, {"size_average": True, "reduce": True}]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = fw.nn.functional.mse_loss(fw.tensor(X), fw.zeros(6, 5), **kw).numpy()
            want = torch.nn.functional.mse_loss(torch.tensor(X), torch.zeros(6, 5), **kw).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-5)
            assert fw.nn.MSELoss(**kw).reduction == torch.nn.MSELoss(**kw).reduction


MODULES = [
    ("nn.CrossEntropyLoss()", "ce"), ("nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)", "ce"),
    ("nn.CrossEntropyLoss(ignore_index=1, reduction='sum')", "ce"), ("nn.NLLLoss()", "ce"),
    ("nn.NLLLoss(weight=w, reduction='none')", "ce"), ("nn.MSELoss()", "reg"),
    ("nn.L1Loss(reduction='sum')", "reg"), ("nn.SmoothL1Loss(beta=0.5)", "reg"),
    ("nn.HuberLoss(delta=2.0)", "reg"), ("nn.BCELoss()", "prob"), ("nn.BCELoss(weight=w)", "prob"),
    ("nn.BCEWithLogitsLoss()", "logit"), ("nn.BCEWithLogitsLoss(pos_weight=w)", "logit"),
    ("nn.KLDivLoss(reduction='batchmean')", "kl"), ("nn.KLDivLoss(log_target=True, reduction='sum')", "kl"),
    ("nn.SoftMarginLoss()", "sign"), ("nn.HingeEmbeddingLoss(margin=2.0)", "sign"),
    ("nn.PoissonNLLLoss()", "reg"),
]


@pytest.mark.parametrize("code,kind", MODULES)
def test_loss_modules(code, kind, device):
    p = rng.random((6, 5)).astype(np.float32)
    data = {"ce": (X, T), "reg": (X, p), "prob": (p, rng.random((6, 5)).astype(np.float32)),
            "logit": (X, p), "kl": (np.log(p), p), "sign": (X, np.sign(X[::-1].copy()))}[kind]
    results = []
    for lib in (torch, fw):
        d = _dev(lib, device)
        m = eval(code, {"nn": lib.nn, "w": lib.tensor(W, **d)})
        assert repr(m) == repr(eval(code, {"nn": torch.nn, "w": torch.tensor(W)}))
        x = lib.tensor(data[0], requires_grad=True, **d)
        out = m(x, lib.tensor(data[1], **d))
        out.sum().backward()
        results.append((out.detach().cpu().numpy(), x.grad.cpu().numpy()))
    for w_, h in zip(*results):
        np.testing.assert_allclose(h, w_, rtol=1e-4, atol=1e-5)


def test_weight_is_a_buffer():
    m = fw.nn.CrossEntropyLoss(weight=fw.tensor(W))
    assert [n for n, _ in m.named_buffers()] == ["weight"]
    m = fw.nn.BCEWithLogitsLoss(pos_weight=fw.ones(3))
    assert [n for n, _ in m.named_buffers()] == ["pos_weight"]


@pytest.mark.parametrize("code", [
    "nn.CosineEmbeddingLoss()", "nn.MarginRankingLoss(margin=0.5)", "nn.CosineSimilarity(dim=0)",
    "nn.PairwiseDistance(p=1.0)"])
def test_other_module_reprs(code):
    assert repr(eval(code, {"nn": fw.nn})) == repr(eval(code, {"nn": torch.nn}))


ERRORS = [
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1, 4]))",
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1, -1]))",
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1]))",
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1, 2], dtype=L.int32))",
    "F.cross_entropy(L.ones(3, 4), L.ones(3, 4), ignore_index=1)",
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1, 1]), reduction='avg')",
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1, 1]), weight=L.ones(3))",
    "F.cross_entropy(L.ones(3, 4), L.tensor([0, 1, 1]), label_smoothing=1.5)",
    "F.cross_entropy(L.ones(2, 3, 4), L.tensor([[0, 1, 1], [0, 1, 1]]))",
    "F.cross_entropy(L.ones(2, 3, 4), L.tensor([0, 1]))",
    "F.cross_entropy(L.tensor(1.0), L.tensor(0))",
    "F.cross_entropy(L.ones(3, 4), L.ones(3, 5))",
    "F.nll_loss(L.ones(3, 4), L.tensor([0, 1, 4]))", "F.nll_loss(L.ones(3, 4), L.tensor([0, 1]))",
    "F.nll_loss(L.ones(3, 4), L.tensor([0.0, 1, 1]))", "F.nll_loss(L.ones(3, 4), L.ones(3, 4))",
    "F.binary_cross_entropy(L.tensor([0.5, 1.5]), L.tensor([0.0, 1]))",
    "F.binary_cross_entropy(L.tensor([0.5, 0.5]), L.tensor([0.0, 1, 1]))",
    "F.binary_cross_entropy_with_logits(L.tensor([0.5, 0.5]), L.tensor([0.0, 1, 1]))",
    "F.mse_loss(L.tensor([0.5, 0.5]), L.tensor([0.0, 1, 1]))",
    "F.smooth_l1_loss(L.ones(2), L.ones(2), beta=-1)", "F.huber_loss(L.ones(2), L.ones(2), delta=0)",
    "F.kl_div(L.ones(2), L.ones(2), reduction='x')", "F.mse_loss(L.ones(2), L.ones(2), reduction='x')",
    "F.mse_loss(L.ones(2), L.ones(2), weight=L.ones(3))",
    "F.margin_ranking_loss(L.ones(2), L.ones(2, 1), L.ones(2))",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors_match_torch(code):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error_kind(code.replace("F.", "L.nn.functional."))
