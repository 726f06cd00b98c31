"""The Vulkan backend at and past its limits, with NaN and Inf, and with bad indices.

Sizes come from the limits the runtime states (`Runtime.lim`, fw_vulkan/runtime.py): work-
groups per dispatch dimension, storage binding size, and loop iterations per invocation
(lavapipe silently ends every loop of an invocation after 65,535 in total). Each real-size
test crosses one boundary with the smallest size that does; the multi-pass logic behind
them is also run at small sizes by shrinking the chunk constants (monkeypatch), which is
what keeps this file fast on lavapipe. Everything is compared against torch."""
import numpy as np
import pytest
import torch

import framework as fw
import framework.nn.functional as F

try:
    import wgpu  # noqa: F401
    _why = None
except ImportError:
    _why = "wgpu is not installed (pip install -e backends/fw_vulkan)"
if _why is None and "vulkan" not in fw.plugins.registry.device_types():
    _why = "the fw-vulkan plugin is not installed (pip install -e backends/fw_vulkan)"
if _why is None and not fw.vulkan.is_available():
    _why = "no Vulkan/WebGPU adapter (apt-get install mesa-vulkan-drivers for lavapipe)"
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

DEV = "vulkan"
NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def be():
    return fw.plugins.registry.backend(DEV)


@pytest.fixture(scope="module")
def lim(be):
    return be.rt.lim


def v(a):
    return fw.tensor(a, device=DEV)


def same(got, want, **kw):
    """Values equal to torch's (NaN where NaN, the sign of zeros and infinities kept)."""
    g = got.detach().cpu().numpy() if isinstance(got, fw.Tensor) else np.asarray(got)
    w = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert g.shape == w.shape, (g.shape, w.shape)
    np.testing.assert_allclose(g, w, equal_nan=True, **kw)
    fin = np.isfinite(w) & (w == 0)
    assert (np.signbit(g[fin]) == np.signbit(w[fin])).all(), "sign of zero differs"


# -- the limits themselves ---------------------------------------------------------------
def test_limits_are_stated(be, lim):
    import fw_vulkan.runtime as rt
    assert lim.groups_per_dim >= 65535 and lim.loop_trips == rt.LOOP_TRIPS
    assert 0 < lim.binding_size <= lim.buffer_size
    assert lim.bindings >= 7          # the LSTM cell's gradient binds 7 storage buffers
    assert lim.invocations >= 256     # matmul's 16 x 16 work-groups
    assert be.rt.max_groups == lim.groups_per_dim
    assert "groups_per_dim" in repr(lim)


def test_tensor_past_binding_size_is_refused(lim):
    n = lim.binding_size // 4 + 1
    with pytest.raises(RuntimeError, match="max-storage-buffer-binding-size"):
        fw.empty(n, device=DEV)


# -- past the work-group and loop bounds, at real sizes ----------------------------------
def test_sum_past_workgroup_and_loop_limits(lim):
    # the fill runs past groups_per_dim work-groups of 64 (folded 2-d); the full sum was
    # one work-group whose loops ran past loop_trips (fw.ones(4_000_000).sum() gave 43690)
    n = lim.groups_per_dim * 64 + 1
    x = fw.ones(n, device=DEV)
    assert x.sum().item() == n
    assert x[-1].item() == 1.0


def test_scan_argmax_past_loop_limit(lim):
    n = lim.loop_trips + 1  # one invocation per row walked the whole row
    a = np.random.default_rng(0).integers(-3, 4, n).astype(np.int32)
    a[-1] = 100
    same(fw.cumsum(v(a), 0), torch.cumsum(torch.tensor(a), 0))
    assert v(a).argmax().item() == n - 1
    f = a.astype(np.float32)
    f[-2] = NAN  # the first NaN wins, after the loop bound
    assert v(f).argmax().item() == n - 2 and v(f).argmin().item() == n - 2


@pytest.mark.parametrize("descending", [False, True])
def test_sort_past_loop_limit(lim, descending):
    n = lim.loop_trips + 2  # the rank sort looped over the whole row per element
    a = np.random.default_rng(1).integers(0, 50, n).astype(np.float32)  # many ties
    a[[5, n - 1]] = NAN
    got = fw.sort(v(a), descending=descending, stable=True)
    want = torch.sort(torch.tensor(a), descending=descending, stable=True)
    same(got.values, want.values)
    assert (got.indices.cpu().numpy() == want.indices.numpy()).all()


# -- the multi-pass paths at small sizes (chunk constants shrunk) ------------------------
@pytest.fixture
def small_chunks(monkeypatch, be):
    import fw_vulkan.index as index
    import fw_vulkan.linalg as linalg
    import fw_vulkan.nn_ops as nn_ops
    import fw_vulkan.reduce as reduce
    monkeypatch.setattr(reduce, "RCHUNK", 64)
    monkeypatch.setattr(reduce, "CHUNK", 5)
    monkeypatch.setattr(reduce, "SORT_BLOCK", 4)
    monkeypatch.setattr(nn_ops, "CHUNK", 2)
    monkeypatch.setattr(linalg, "KCHUNK", 16)
    monkeypatch.setattr(index, "SERIAL", 7)
    monkeypatch.setattr(be.rt, "max_groups", 8)  # every grid folds into 2-d early


REDUCTIONS = ["sum", "prod", "amax", "amin", "all", "any", "mean"]


@pytest.mark.parametrize("op", REDUCTIONS)
def test_multipass_reductions(small_chunks, op):
    rng = np.random.default_rng(2)
    a = rng.uniform(0.9, 1.1, (3, 700)).astype(np.float32)
    a[1, 650] = NAN
    a[2, 3] = 0.0
    cases = ((a, None), (a, 1), (a.T.copy(), 0))
    if op not in ("prod", "all", "any"):  # torch takes a tuple of dims for the others
        cases += ((a, (0, 1)),)
    for x, dim in cases:
        got = getattr(fw, op)(v(x)) if dim is None else getattr(fw, op)(v(x), dim)
        want = getattr(torch, op)(torch.tensor(x)) if dim is None else \
            getattr(torch, op)(torch.tensor(x), dim)
        same(got, want, rtol=1e-4)


def test_multipass_arg_scan_sort(small_chunks):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, (4, 300)).astype(np.float32)  # ties across chunks
    a[1, 200], a[1, 250], a[3, 7] = NAN, NAN, NAN
    x, t = v(a), torch.tensor(a)
    for dim in (0, 1):
        for op in ("argmax", "argmin"):
            assert (getattr(x, op)(dim).cpu().numpy() == getattr(t, op)(dim).numpy()).all()
        same(fw.cumsum(x, dim), torch.cumsum(t, dim), rtol=1e-5)
        for desc in (False, True):
            got = fw.sort(x, dim, descending=desc, stable=True)
            want = torch.sort(t, dim=dim, descending=desc, stable=True)
            same(got.values, want.values)
            assert (got.indices.cpu().numpy() == want.indices.numpy()).all()
    for dtype in (np.float64, np.int64, np.int32):  # the other element types' kernels
        b = (a[1] if dtype == np.float64 else np.nan_to_num(a[1])).astype(dtype)
        xd, td = v(b), torch.tensor(b)
        got, want = fw.sort(xd, stable=True), torch.sort(td, stable=True)
        same(got.values, want.values)
        assert (got.indices.cpu().numpy() == want.indices.numpy()).all()
        assert xd.argmax().item() == td.argmax().item()
        same(fw.cumsum(xd, 0), torch.cumsum(td, 0))
    p = rng.uniform(0.5, 1.5, (2, 200)).astype(np.float32)
    same(fw.cumprod(v(p), 1), torch.cumprod(torch.tensor(p), 1), rtol=1e-4)
    same(fw.topk(x.reshape(-1), 9).values, torch.topk(t.reshape(-1), 9).values)


def test_multipass_matmul_softmax_scatter(small_chunks):
    rng = np.random.default_rng(4)
    # K in slices, and column / row blocks past 8 work-groups of 64 (and of 16, thin)
    a, b = rng.standard_normal((2, 70, 50)).astype(np.float32), \
        rng.standard_normal((50, 600)).astype(np.float32)
    bias = rng.standard_normal(600).astype(np.float32)
    same(v(a) @ v(b), torch.tensor(a) @ torch.tensor(b), rtol=1e-4, atol=1e-4)
    c = rng.standard_normal((1100, 3)).astype(np.float32)
    same(v(c) @ v(b[:3, :2]), torch.tensor(c) @ torch.tensor(b[:3, :2]), rtol=1e-4, atol=1e-5)
    same(F.linear(v(a[0]), v(b.T.copy()), v(bias)),
         torch.nn.functional.linear(torch.tensor(a[0]), torch.tensor(b.T.copy()),
                                    torch.tensor(bias)), rtol=1e-4, atol=1e-4)
    s = rng.standard_normal((3, 200)).astype(np.float32)
    s[2, 9] = NAN
    same(fw.softmax(v(s), 1), torch.softmax(torch.tensor(s), 1), rtol=1e-5, atol=1e-7)
    same(fw.log_softmax(v(s), 1), torch.log_softmax(torch.tensor(s), 1), rtol=1e-5)
    idx = rng.integers(0, 10, 100)
    src = rng.integers(-9, 9, 100)
    got = fw.zeros(10, dtype=fw.int64, device=DEV).scatter_add(0, v(idx), v(src))
    assert (got.cpu().numpy() == np.bincount(idx, weights=src, minlength=10)).all()


def test_layer_kernels_on_folded_grids(be, monkeypatch):
    """Conv, pooling, LSTM and optimizer kernels with grids folded into 2-d (a limit of 8
    work-groups per dimension stands in for 65,535)."""
    monkeypatch.setattr(be.rt, "max_groups", 8)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 20, 21)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    xf, xt = v(x).requires_grad_(), torch.tensor(x, requires_grad=True)
    wf, wt = v(w).requires_grad_(), torch.tensor(w, requires_grad=True)
    nf, nt = F, torch.nn.functional
    outs = [(nf.max_pool2d(nf.conv2d(xf, wf, padding=1), 2) + nf.avg_pool2d(xf, 3, 1, 1).sum()),
            (nt.max_pool2d(nt.conv2d(xt, wt, padding=1), 2) + nt.avg_pool2d(xt, 3, 1, 1).sum())]
    same(outs[0], outs[1], rtol=1e-4, atol=1e-4)
    outs[0].sum().backward()
    outs[1].sum().backward()
    same(xf.grad, xt.grad, rtol=1e-4, atol=1e-3)
    same(wf.grad, wt.grad, rtol=1e-4, atol=1e-3)
    fw.manual_seed(0)
    torch.manual_seed(0)
    lf, lt = fw.nn.LSTM(8, 20).to(DEV), torch.nn.LSTM(8, 20)  # cells of 30 x 20 items
    lf.load_state_dict({k: fw.tensor(p.detach().numpy()) for k, p in lt.state_dict().items()})
    seq = rng.standard_normal((1, 30, 8)).astype(np.float32)
    same(lf(v(seq))[0], lt(torch.tensor(seq))[0], rtol=1e-4, atol=1e-5)
    p0 = rng.standard_normal(3000).astype(np.float32)
    pf, pt = v(p0).requires_grad_(), torch.tensor(p0, requires_grad=True)
    of, ot = fw.optim.Adam([pf], lr=0.1), torch.optim.Adam([pt], lr=0.1)
    for _ in range(2):
        (pf * pf).sum().backward()
        (pt * pt).sum().backward()
        of.step()
        ot.step()
    same(pf, pt, rtol=1e-5, atol=1e-6)


def test_cross_entropy_of_many_samples(monkeypatch):
    import fw_vulkan.nn_ops as nn_ops
    monkeypatch.setattr(nn_ops, "CHUNK", 2)  # past 64 * CHUNK samples: the composed loss
    rng = np.random.default_rng(6)
    x = rng.standard_normal((300, 4)).astype(np.float32)
    tg = rng.integers(0, 4, 300)
    xf, xt = v(x).requires_grad_(), torch.tensor(x, requires_grad=True)
    got = F.cross_entropy(xf, v(tg))
    want = torch.nn.functional.cross_entropy(xt, torch.tensor(tg))
    same(got, want, rtol=1e-5)
    got.backward()
    want.backward()
    same(xf.grad, xt.grad, rtol=1e-4, atol=1e-7)


def test_wide_windows_take_the_composed_path(monkeypatch):
    import fw_vulkan.nn_ops as nn_ops
    assert not nn_ops._wide((3, 3)) and nn_ops._wide((300, 300))
    monkeypatch.setattr(nn_ops, "CHUNK", 2)  # a 3 x 3 window is now too wide for the kernels
    assert nn_ops._wide((3, 3))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 7, 8)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    cases = ((lambda m, a, k: m.avg_pool2d(a, 3, 2)), (lambda m, a, k: m.max_pool2d(a, 3, 1)),
             (lambda m, a, k: m.conv2d(a, k, padding=1)))
    for f in cases:
        xf, xt = v(x).requires_grad_(), torch.tensor(x, requires_grad=True)
        got, want = f(F, xf, v(w)), f(torch.nn.functional, xt, torch.tensor(w))
        same(got, want, rtol=1e-4, atol=1e-5)
        got.sum().backward()
        want.sum().backward()
        same(xf.grad, xt.grad, rtol=1e-4, atol=1e-5)


# -- no access outside a buffer, whatever the indices ------------------------------------
@pytest.mark.parametrize("bad", [3, 10**9, -4, -10**9])
def test_bad_class_targets_raise_index_error(bad):
    x = fw.ones(2, 3, device=DEV, requires_grad=True)
    for red in ("mean", "none"):
        with pytest.raises(IndexError):  # deferred to the next host wait
            F.cross_entropy(x, v([0, bad]), reduction=red).sum().item()
    with pytest.raises(IndexError):
        F.nll_loss(F.log_softmax(x, 1), v([bad, 0])).item()
    assert F.cross_entropy(x, v([0, 2])).item() > 0  # the device still works afterwards


def _raises_as_torch(f):
    """f(lib, tensor) raises on fw's vulkan device what it raises in torch."""
    try:
        f(torch, torch.tensor)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        kind = type(e)
    else:
        raise AssertionError("torch raised nothing")
    with pytest.raises(kind):
        f(fw, v)


@pytest.mark.parametrize("bad", [5, 10**9, -6])
def test_bad_indices_raise_as_torch(bad):
    x = [[0.0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    i = [[0, bad]]
    _raises_as_torch(lambda lib, t: lib.gather(t(x), 1, t(i)))
    _raises_as_torch(lambda lib, t: t(x).scatter(1, t(i), t([[1.0, 1.0]])))
    _raises_as_torch(lambda lib, t: t(x).scatter_add(1, t(i), t([[1.0, 1.0]])))
    with pytest.raises((IndexError, RuntimeError)):  # torch 2.13's cpu: RuntimeError
        fw.index_select(v(x), 1, v([0, bad]))
    _raises_as_torch(lambda lib, t: lib.nn.functional.embedding(t([1, bad]), t(x).t()))


def test_kernels_skip_out_of_range_indices(be):
    """Below the frontend's check: the kernels themselves never leave their buffers."""
    x = v([1.0, 2.0, 3.0])._v
    idx = v([0, 10**9, -10**9, 2, 3, -4, 2**32 + 1])._v  # 2**32 + 1 is 1 as an int32
    got = be.to_numpy(be.gather(x, 0, idx))  # in-range ones right, the rest not written
    assert got[0] == 1.0 and got[3] == 3.0
    for acc in (False, True):
        r = be.to_numpy(be.scatter(x, 0, idx, v([5.0] * 7)._v, acc))
        assert r.tolist() == ([6.0, 2.0, 8.0] if acc else [5.0, 2.0, 5.0])


def test_index_check_past_old_reduction_bound(lim):
    # the frontend's range check is a reduction: one bad index among 4.2M was missed
    n = lim.groups_per_dim * 64 + 1
    i = fw.cat([fw.zeros(n - 1, dtype=fw.int64, device=DEV), v([7])])
    with pytest.raises(IndexError):
        fw.index_select(fw.ones(5, device=DEV), 0, i)


# -- NaN and Inf as in PyTorch -------------------------------------------------------------
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, INF, -INF, NAN]
PA = [a for a in SPECIAL for _ in SPECIAL]
PB = [b for _ in SPECIAL for b in SPECIAL]
BINARY = ["atan2", "pow", "remainder", "floor_divide", "maximum", "minimum"]
UNARY = ["exp", "log", "log1p", "expm1", "tanh", "sigmoid", "sqrt", "sign", "relu", "abs", "sin",
         "tan", "sinh", "cosh", "round", "trunc", "floor", "ceil"]
NO_F64 = ["asin", "acos", "atan", "erf"]  # float64 refuses these on Vulkan (no 64-bit builtins)


@pytest.mark.parametrize("op", BINARY)
def test_binary_special_values(op):
    if not hasattr(fw, op):
        pytest.skip(f"fw has no {op}")
    got = getattr(fw, op)(v(PA), v(PB))
    same(got, getattr(torch, op)(torch.tensor(PA), torch.tensor(PB)), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", UNARY + NO_F64)
def test_unary_special_values(op, dtype):
    if dtype == "float64" and op in NO_F64:
        with pytest.raises(RuntimeError, match="float64"):
            getattr(fw, op)(v([0.5]).double())
        return
    f = getattr(F, op) if op == "relu" else getattr(fw, op)
    g = torch.relu if op == "relu" else getattr(torch, op)
    xs = SPECIAL + [89.0, -104.0, 1e-30, 1e-7, 0.3, -0.7]
    same(f(v(xs).to(getattr(fw, dtype))), g(torch.tensor(xs, dtype=getattr(torch, dtype))),
         rtol=1e-5)


def test_inverse_trig_accuracy():
    # lavapipe's builtins were off by up to 4e-4 (asin(0.5) = 0.52339); fw writes them out
    x = np.linspace(-1, 1, 4001).astype(np.float32)
    for op in ("asin", "acos", "atan"):
        same(getattr(fw, op)(v(x)), getattr(torch, op)(torch.tensor(x)), rtol=1e-6, atol=1e-7)
    y = np.random.default_rng(8).standard_normal((2, 4000)).astype(np.float32)
    y *= np.exp(np.random.default_rng(9).uniform(-20, 20, (2, 4000))).astype(np.float32)
    same(fw.atan2(v(y[0]), v(y[1])), torch.atan2(torch.tensor(y[0]), torch.tensor(y[1])),
         rtol=1e-6)


def test_nan_logits_propagate():
    a = [[1.0, NAN, 2.0], [1.0, 2.0, 3.0], [-INF, 0.0, INF]]
    x, t = v(a), torch.tensor(a)
    same(fw.softmax(x, 1), torch.softmax(t, 1), rtol=1e-5)
    same(fw.log_softmax(x, 1), torch.log_softmax(t, 1), rtol=1e-5)
    tg = [0, 1, 1]
    for red in ("none", "mean", "sum"):
        same(F.cross_entropy(x, v(tg), reduction=red),
             torch.nn.functional.cross_entropy(t, torch.tensor(tg), reduction=red), rtol=1e-5)
    same(fw.logsumexp(x, 1), torch.logsumexp(t, 1), rtol=1e-5)


def test_nan_in_reductions_and_sorting():
    a = [3.0, NAN, -1.0, INF, -INF, NAN, 0.0]
    x, t = v(a), torch.tensor(a)
    for op in ("max", "min", "argmax", "argmin", "sum", "prod", "any", "all"):
        same(getattr(x, op)(), getattr(t, op)())
    for desc in (False, True):
        same(fw.sort(x, descending=desc).values, torch.sort(t, descending=desc).values)
    same(fw.clamp(x, -0.5, 0.5), torch.clamp(t, -0.5, 0.5))
    same(x.bool(), t.bool())
    same(fw.logical_and(x, x), torch.logical_and(t, t))
    same(v([3e38, 3e38]).norm(), torch.tensor([3e38, 3e38]).norm())
    same(fw.logsumexp(v([INF, INF]), 0), torch.logsumexp(torch.tensor([INF, INF]), 0))
    same(fw.logsumexp(v([-INF, -INF]), 0), torch.logsumexp(torch.tensor([-INF, -INF]), 0))
