"""Hardening of the OpenCL backend (issue 14), compared with PyTorch:

- no kernel touches memory outside its buffers, whatever the indices: bad class targets and
  indices raise PyTorch's error type on cpu and opencl, and the kernels themselves skip or
  neutralise a bad index when the host check is bypassed (those probes run in a child
  process, so a crash fails the test instead of killing pytest);
- results stay right at sizes around every launch limit, the sizes derived from the
  device's limits as the runtime states them (`Runtime.lim`);
- NaN and +-inf follow PyTorch in sums, norms, logsumexp, softmax, max/min, sort, clamp.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
import framework.nn.functional as F

opencl = pytest.mark.skipif(not fw.opencl.is_available(), reason="no OpenCL device")
inf, nan = float("inf"), float("nan")


def _be(device="opencl"):
    return fw.ones(1, device=device)._be


def _same(got, want, rtol=1e-5, atol=1e-6):
    got = got.detach().cpu().numpy() if isinstance(got, fw.Tensor) else np.asarray(got)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def _child(code):
    """Run `code` in a fresh interpreter; returns its stdout (asserts it exited cleanly:
    a kernel that reads or writes out of bounds shows up as a signal here)."""
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, f"child died with {p.returncode}: {p.stderr[-2000:]}"
    return p.stdout


# -- 1. indices from data --------------------------------------------------------------------
def _like_torch(fw_call, torch_call):
    """fw raises the exception type torch does, or gives torch's result."""
    try:
        want = torch_call()
    except Exception as e:  # noqa: BLE001 - whatever torch raises, fw must raise too
        with pytest.raises(type(e)):
            fw_call()
    else:
        _same(fw_call(), want)


BAD = [3, -1, -4, 10**9, -10**9]  # size 3: equal to the size, negative, far out both ways


@pytest.mark.parametrize("bad", [3, -1, -4])  # far-off ones: in a child process, below
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_target_out_of_range(device, fn, bad):
    x, t = np.ones((2, 3), np.float32), np.array([0, bad])
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
        getattr(TF, fn)(torch.tensor(x), torch.tensor(t))
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
        getattr(F, fn)(fw.tensor(x, device=device), fw.tensor(t, device=device)).item()


@opencl
def test_huge_target_does_not_crash_the_process():
    """The SIGSEGV of issue 14: the fused kernel read the logit row at the target index."""
    bads = (10**9, -10**9, 2**40, -2**40)
    out = _child(f"""
        import framework as fw, framework.nn.functional as F
        for fn in (F.cross_entropy, F.nll_loss):
            for bad in {bads}:
                try:
                    fn(fw.ones(2, 3, device="opencl"), fw.tensor([0, bad], device="opencl")).item()
                except IndexError as e:
                    print(e)
    """)
    assert out.strip().split("\n") == [f"Target {b} is out of bounds." for b in bads] * 2


@opencl
def test_kernels_never_use_a_bad_index_even_unchecked():
    """Defence in depth: the backend's kernels called with no host check before them
    (as when the deferred check is raised later) stay inside their buffers: the fused
    cross-entropy writes NaN for the bad row, gather reads 0, scatter(-add) skips."""
    out = _child("""
        import numpy as np, framework as fw
        be = fw.ones(1, device="opencl")._be
        x = be.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
        for bad in (3, -4, 10**9, -10**9, 2**40):
            t = be.from_numpy(np.array([1, bad]))
            loss = be.to_numpy(be.cross_entropy(x, t, -100, "none")[0])
            g = be.to_numpy(be.gather(x, 1, be.from_numpy(np.array([[0], [bad]]))))
            s = be.to_numpy(be.scatter(x, 1, be.from_numpy(np.array([[0], [bad]])), 9.0, False))
            a = be.to_numpy(be.scatter(x, 1, be.from_numpy(np.array([[0], [bad]])),
                                       be.from_numpy(np.ones((2, 1), np.float32)), True))
            print(np.isfinite(loss[0]), np.isnan(loss[1]), g.ravel().tolist(),
                  s.ravel().tolist(), a.ravel().tolist())
    """)
    lines = out.strip().split("\n")
    assert len(lines) == 5
    for line in lines:
        assert line == ("True True [0.0, 0.0] [9.0, 1.0, 2.0, 3.0, 4.0, 5.0] "
                        "[1.0, 1.0, 2.0, 3.0, 4.0, 5.0]"), line


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add", "index_select",
                                "index_add", "index_copy", "index_fill", "getitem", "setitem",
                                "index_put", "embedding", "one_hot"])
def test_index_out_of_range(device, op, bad):
    def run(M, dev):
        x = M.ones(2, 3, device=dev)
        i = M.tensor([[0], [bad]], device=dev)
        v = M.tensor([0, bad], device=dev)
        if op == "gather":
            return x.gather(1, i)
        if op == "scatter":
            return x.scatter(1, i, 2.0)
        if op == "scatter_add":
            return x.scatter_add(1, i, M.ones(2, 1, device=dev))
        if op == "index_select":
            return x.index_select(1, v)
        if op in ("index_add", "index_copy"):
            return getattr(x, op)(1, v, M.ones(2, 2, device=dev))
        if op == "index_fill":
            return x.index_fill(1, v, 2.0)
        if op == "getitem":
            return x[:, v]
        if op == "setitem":
            x[:, v] = 5.0
            return x
        if op == "index_put":
            return x.index_put((M.tensor([0, 1], device=dev), v), M.tensor(1.0, device=dev),
                               accumulate=True)
        if op == "embedding":
            return (torch.nn.functional if M is torch else F).embedding(v, x.t())
        return (torch.nn.functional if M is torch else F).one_hot(v, 3)

    if op == "index_select":  # RuntimeError on this layout (2-d, dim 1), as torch's
        with pytest.raises(RuntimeError, match="out of"):
            run(torch, "cpu")
        with pytest.raises(RuntimeError, match="out of range"):
            run(fw, device).sum().item()
        return
    # (a negative index in range wraps in indexing and index_fill, as in torch)
    _like_torch(lambda: run(fw, device).sum().item(), lambda: run(torch, "cpu").sum().item())


# -- 2. sizes around the launch limits ----------------------------------------------------------
def test_limits_in_one_place():
    """The runtime states the limits its kernels are sized against, from the driver."""
    if not fw.opencl.is_available():
        pytest.skip("no OpenCL device")
    be = _be()
    lim, d = be.rt.lim, be.rt.device
    assert lim.invocations == d.max_work_group_size
    assert lim.item_sizes == tuple(d.max_work_item_sizes)
    assert 1 <= lim.group_size <= min(lim.invocations, lim.item_sizes[0])
    assert lim.buffer_size == d.max_mem_alloc_size <= lim.memory
    assert lim.local_mem == d.local_mem_size
    assert lim.global_size == lim.elements == 2**31 - 1
    assert set(lim.as_dict()) == set(type(lim).__slots__)


def _boundaries():
    """Sizes just below, at and above each limit a 1-d kernel meets: the reduction
    work-group (at most 256), its square (tree of trees: 65,536 with 256), the device's
    largest work-group, and 65,535 work-groups (the common GPU dispatch limit)."""
    lim = _be().rt.lim
    wg = min(256, lim.group_size)
    edges = {wg, wg * wg, lim.group_size, 65535, 65536}
    return sorted({n + d for n in edges for d in (-1, 0, 1) if 0 < n + d <= 2**20})


@opencl
def test_1d_ops_at_limit_sizes():
    rng = np.random.default_rng(0)
    for n in _boundaries():
        a = rng.standard_normal(n).astype(np.float32)
        x, t = fw.tensor(a, device="opencl"), torch.tensor(a)
        _same(x.sum(), t.double().sum().float(), rtol=1e-4, atol=1e-3)
        _same(fw.ones(n, device="opencl").sum(), torch.tensor(float(n)))
        _same(x.amax(), t.amax())
        _same(x.argmin(), t.argmin())
        _same(x.cumsum(0), t.double().cumsum(0).float(), rtol=1e-4, atol=1e-2)
        _same(fw.ones(n, dtype=fw.int64, device="opencl").cumsum(0)[-1],
              torch.tensor(n))
        _same(x.log_softmax(0), t.log_softmax(0), rtol=1e-4, atol=1e-4)
        v, i = x.sort(descending=True)
        tv, ti = t.sort(descending=True, stable=True)
        _same(v, tv)
        _same(i, ti)


@opencl
@pytest.mark.parametrize("shape,dim", [((65537, 3), 0), ((65537, 3), 1), ((3, 65537), 1),
                                       ((257, 257), 0), ((257, 257), 1)])
def test_along_a_dim_at_limit_sizes(shape, dim):
    a = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    x, t = fw.tensor(a, device="opencl"), torch.tensor(a)
    _same(x.sum(dim), t.sum(dim), rtol=1e-4, atol=1e-3)
    _same(x.amin(dim), t.amin(dim))
    _same(x.argmax(dim), t.argmax(dim))
    _same(x.cumsum(dim), t.double().cumsum(dim).float(), rtol=1e-4, atol=1e-2)
    _same(x.softmax(dim), t.softmax(dim), rtol=1e-4, atol=1e-7)
    v, i = x.sort(dim)
    tv, ti = t.sort(dim=dim, stable=True)
    _same(v, tv)
    _same(i, ti)
    _same(x.t().contiguous(), t.t())  # the copy kernel, 65,537 rows in grid dimension 1


@opencl
def test_grid_dimensions_past_65535_groups():
    """2-d and 3-d launches with more than 65,535 work-groups along dimensions 1 and 2:
    batched matmul (batch in dimension 2), cross-entropy backward (rows in dimension 1),
    pooling (planes in dimension 1)."""
    rng = np.random.default_rng(2)
    nb = 65537
    a = rng.standard_normal((nb, 2, 3)).astype(np.float32)
    b = rng.standard_normal((nb, 3, 2)).astype(np.float32)
    _same(fw.tensor(a, device="opencl") @ fw.tensor(b, device="opencl"), a @ b, atol=1e-5)
    x = rng.standard_normal((nb, 5)).astype(np.float32)
    tg = rng.integers(0, 5, nb)
    xf = fw.tensor(x, device="opencl", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    lf = F.cross_entropy(xf, fw.tensor(tg, device="opencl"))
    lt = TF.cross_entropy(xt, torch.tensor(tg))
    lf.backward()
    lt.backward()
    _same(lf, lt, rtol=1e-5)
    _same(xf.grad, xt.grad, atol=1e-9)
    p = rng.standard_normal((1, nb, 2, 2)).astype(np.float32)
    _same(F.max_pool2d(fw.tensor(p, device="opencl"), 2), TF.max_pool2d(torch.tensor(p), 2))


def _watch_launches(monkeypatch, be):
    """Record (kernel, global size, local size) of every launch on `be`."""
    seen, submit = [], be.rt.submit

    def record(kernel, gsize, lsize):
        seen.append((kernel.function_name, tuple(gsize), lsize and tuple(lsize)))
        submit(kernel, gsize, lsize)
    monkeypatch.setattr(be.rt, "submit", record)
    return seen


def _check_launches(seen, lim):
    assert seen
    for name, g, loc in seen:
        assert g[0] <= lim.global_size, (name, g)
        if loc is not None:
            assert int(np.prod(loc)) <= lim.invocations, (name, loc)
            assert all(l <= m for l, m in zip(loc, lim.item_sizes)), (name, loc)
            assert all(a % b == 0 for a, b in zip(g, loc)), (name, g, loc)


@opencl
def test_every_launch_within_the_stated_limits(monkeypatch):
    """The device-limit self-check: an op of every kernel family, each launch checked
    against Runtime.lim (work-group size, per-dimension sizes, divisibility, global size)."""
    be = _be()
    seen = _watch_launches(monkeypatch, be)
    rng = np.random.default_rng(4)
    x = fw.tensor(rng.standard_normal((3, 4, 300)).astype(np.float32), device="opencl",
                  requires_grad=True)
    w = fw.tensor(rng.standard_normal((5, 4, 3)).astype(np.float32), device="opencl")
    img = fw.tensor(rng.standard_normal((2, 3, 9, 9)).astype(np.float32), device="opencl",
                    requires_grad=True)
    k = fw.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), device="opencl")
    y = (x.sum(2).sum() + x.amax(1).sum() + x.argmax(2).sum() + x.cumsum(2).sum()
         + x.softmax(2).sum() + x.sort(2).values.sum() + (x.transpose(1, 2) @ w[0]).sum()
         + F.layer_norm(x, (300,)).sum() + (x * 2 + 1).relu().sum()
         + x.gather(2, fw.tensor(rng.integers(0, 300, (3, 4, 7)), device="opencl")).sum()
         + F.cross_entropy(x[:, 0], fw.tensor([1, 2, 3], device="opencl"))
         + F.max_pool2d(F.conv2d(img, k, padding=1), 2).sum()
         + F.avg_pool2d(img, 3, 1, 1).sum())
    y.backward()
    assert np.isfinite(y.item())
    _check_launches(seen, be.rt.lim)
    assert {"rows_sum", "sort_block", "scan_rows", "softmax_rows", "cross_entropy",
            "layer_norm", "im2col", "max_pool", "gather"} <= {n for n, _, _ in seen}


@opencl
def test_row_kernels_respect_a_smaller_global_size(monkeypatch):
    """Where one work-group per row would pass the global size (tensors past 2**30
    elements), reductions, arg-reductions and softmax take their one-work-item-per-row
    kernels: checked by lowering the stated limit below M rows x 16 work-items."""
    be = _be()
    a = np.random.default_rng(5).standard_normal((4096, 16)).astype(np.float32)
    x, t = fw.tensor(a, device="opencl"), torch.tensor(a)
    monkeypatch.setattr(be.rt.lim, "global_size", 4096 * 16 - 1)
    seen = _watch_launches(monkeypatch, be)
    _same(x.sum(1), t.sum(1), rtol=1e-5, atol=1e-5)
    _same(x.argmax(1), t.argmax(1))
    _same(x.log_softmax(1), t.log_softmax(1), rtol=1e-5, atol=1e-5)
    _check_launches(seen, be.rt.lim)
    assert {"cols_sum", "arg_cols", "softmax_cols"} <= {n for n, _, _ in seen}


@opencl
def test_32_bit_indexing_is_refused_not_wrapped():
    """A view reaching past element 2**31 - 1, or a launch of more work-items than the
    kernels' ints count, is a clear RuntimeError (never an overflowed offset)."""
    from fw_opencl.layout import pack
    with pytest.raises(RuntimeError, match="32-bit indexing"):  # refused when made
        fw.zeros(2**31, dtype=fw.bool, device="opencl")
    with pytest.raises(RuntimeError, match="32-bit indexing"):
        pack((2,), ((2**30,),), (2**30,))
    pack((2,), ((2**30 - 1,),), (2**30,))  # the last addressable element is fine
    be = _be()
    k = be.rt.kernel("copy.cl", "copy_strided", (("T", "int"),))
    with pytest.raises(RuntimeError, match="32-bit ints"):
        be.rt.submit(k, (2**31,), None)


# -- 3. NaN and inf --------------------------------------------------------------------------------
ROWS = {"+inf": [1.0, inf, 2.0], "-inf": [1.0, -inf, 2.0], "all -inf": [-inf, -inf, -inf],
        "nan": [1.0, nan, 2.0], "inf and -inf": [inf, -inf, 0.0], "all +inf": [inf, inf, inf],
        "overflow": [3e38, 3e38], "nan and inf": [nan, inf, -inf]}
OPS = {
    "sum": lambda M, x: x.sum(), "mean": lambda M, x: x.mean(), "var": lambda M, x: x.var(),
    "logsumexp": lambda M, x: M.logsumexp(x, 0), "norm": lambda M, x: M.norm(x),
    "norm1": lambda M, x: M.norm(x, 1), "norm3": lambda M, x: M.norm(x, 3),
    "norm_inf": lambda M, x: M.norm(x, inf),
    "softmax": lambda M, x: M.softmax(x, 0), "log_softmax": lambda M, x: M.log_softmax(x, 0),
    "softmax_rows": lambda M, x: M.softmax(x.reshape(1, -1).expand(3, -1), 1),
    "softmax_cols": lambda M, x: M.log_softmax(x.reshape(-1, 1).expand(-1, 3), 0),
    "max": lambda M, x: x.max(), "min": lambda M, x: x.min(), "argmax": lambda M, x: x.argmax(),
    "argmin": lambda M, x: x.argmin(), "amax_dim": lambda M, x: x.reshape(1, -1).amax(1),
    "cumsum": lambda M, x: x.cumsum(0), "cumprod": lambda M, x: x.cumprod(0),
    "sort": lambda M, x: x.sort().values, "sort_desc": lambda M, x: x.sort(descending=True).values,
    "argsort": lambda M, x: x.sort(stable=True).indices, "topk": lambda M, x: x.topk(2).values,
    "clamp": lambda M, x: x.clamp(0, 1), "maximum": lambda M, x: M.maximum(x, x.flip(0)),
    "minimum": lambda M, x: M.minimum(x, M.zeros_like(x)),
    "cross_entropy": lambda M, x: (TF if M is torch else F).cross_entropy(
        x.reshape(1, -1).expand(3, -1), M.tensor([0, 1, 1], device=x.device), reduction="none"),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's inf - inf on cpu
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("n", [0, 100])  # 0: the row as given; 100: the row repeated (tree paths)
def test_nan_and_inf_follow_torch(device, op, n):
    for name, row in ROWS.items():
        a = np.array((row * (n // len(row) + 1))[:n] if n else row, np.float32)
        want = OPS[op](torch, torch.tensor(a))
        got = OPS[op](fw, fw.tensor(a, device=device))
        try:
            _same(got, want, rtol=1e-5, atol=0)
        except AssertionError as e:
            raise AssertionError(f"{op} of {name} ({a.size} elements): {e}") from None


NAN_OPS = {
    "amax": lambda M, x, d: x.amax(d), "amin": lambda M, x, d: x.amin(d),
    "argmax": lambda M, x, d: x.argmax(d), "argmin": lambda M, x, d: x.argmin(d),
    "sum": lambda M, x, d: x.sum(d), "logsumexp": lambda M, x, d: M.logsumexp(x, d),
    "softmax": lambda M, x, d: x.softmax(d), "cumsum": lambda M, x, d: x.cumsum(d),
    "sort": lambda M, x, d: x.sort(d).values,
    "argsort": lambda M, x, d: x.sort(dim=d, stable=True).indices,
}


@opencl
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_and_inf_across_work_groups():
    """A NaN or inf first, in the middle or last of rows that several work-groups (or
    chunks, or sort blocks merged later) share: sizes past the reduction work-group's
    square and past two sort blocks of local memory; and the one-work-item-per-row path."""
    lim = _be().rt.lim
    wg = min(256, lim.group_size)
    block = 1 << ((min(lim.local_mem, 32768) // 8).bit_length() - 1)  # float32 + int32 keys
    rng = np.random.default_rng(3)
    cases = [((wg * wg + 1,), 0), ((2 * block + 1,), 0), ((1, 2 * block + 1), 1),
             ((300, 600), 0)]
    for shape, d in cases:
        n = shape[d]
        for val, pos in ((nan, 0), (nan, n - 1), (inf, n // 2), (-inf, n - 1)):
            a = rng.standard_normal(shape).astype(np.float32)
            a[(pos,) if len(shape) == 1 else ((0, pos) if d == 1 else (pos, 5))] = val
            x, t = fw.tensor(a, device="opencl"), torch.tensor(a)
            for name, f in NAN_OPS.items():
                if n != 2 * block + 1 and name in ("sort", "argsort", "cumsum", "softmax"):
                    continue  # the reductions' chunked / per-item paths only
                want = f(torch, t.double(), d).float() if name == "cumsum" else f(torch, t, d)
                try:
                    _same(f(fw, x, d), want, rtol=1e-4, atol=1e-2)
                except AssertionError as e:
                    raise AssertionError(f"{name} of {shape} along {d}, {val} at {pos}: "
                                         f"{e}") from None
