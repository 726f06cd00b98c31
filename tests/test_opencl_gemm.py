"""matmul on every device against NumPy (float64 reference) and torch (gradients):
odd and degenerate shapes, transposed and sliced views, broadcast batches, dtypes.
On OpenCL every kernel path (direct, packed CPU, packed GPU) is run on every case."""
import numpy as np
import pytest
import torch

import framework as fw
from framework.testing import available_devices

SHAPES = [(1, 1, 1), (3, 5, 7), (17, 33, 1000), (1000, 17, 33), (64, 64, 64),
          (65, 63, 67), (100, 200, 300), (4, 1000, 4), (7, 1, 9), (513, 257, 129)]


# Every device, and on OpenCL each GEMM path in turn as well as the automatic choice (the
# packed GPU kernel runs on a CPU device too, only slower).
_DEV_PATHS = [(d, p) for d in available_devices()
              for p in (("auto", "direct", "reg", "reg-packed", "local") if d == "opencl" else ("auto",))]


@pytest.fixture(params=_DEV_PATHS, ids=lambda dp: dp[0] if dp[1] == "auto" else "-".join(dp))
def dev(request, monkeypatch):
    device, path = request.param
    if path != "auto":
        monkeypatch.setenv("FW_OPENCL_GEMM", path)
    return device


def _rand(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _check(got, a, b):
    """float32: error within 1e-5 * sqrt(k) of the componentwise bound |a| @ |b|."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = np.matmul(a64, b64)
    assert got.shape == ref.shape
    if got.dtype.kind == "i":
        np.testing.assert_array_equal(got, ref.astype(got.dtype))
        return
    k = a.shape[-1]
    eps = 1e-5 if got.dtype == np.float32 else 1e-13
    bound = np.matmul(np.abs(a64), np.abs(b64)) * eps * max(k, 1) ** 0.5 + 1e-30
    assert np.all(np.abs(got - ref) <= bound), np.max(np.abs(got - ref) / bound)


@pytest.mark.parametrize("n,k,m", SHAPES)
def test_shapes(dev, n, k, m):
    a, b = _rand((n, k)), _rand((k, m), seed=1)
    got = fw.matmul(fw.tensor(a, device=dev), fw.tensor(b, device=dev)).cpu().numpy()
    _check(got, a, b)


@pytest.mark.parametrize("ta,tb", [(False, True), (True, False), (True, True)])
@pytest.mark.parametrize("n,k,m", [(5, 3, 7), (130, 70, 90)])
def test_transposed(dev, ta, tb, n, k, m):
    a, b = _rand((n, k)), _rand((k, m), seed=1)
    # A transposed view: the data lies column-major, the strides say so.
    xa = fw.tensor(a.T.copy(), device=dev).mT if ta else fw.tensor(a, device=dev)
    xb = fw.tensor(b.T.copy(), device=dev).mT if tb else fw.tensor(b, device=dev)
    assert xa.is_contiguous() != ta and xb.is_contiguous() != tb
    _check(fw.matmul(xa, xb).cpu().numpy(), a, b)


@pytest.mark.parametrize("n,k,m", [(6, 5, 4), (96, 80, 72)])
def test_sliced(dev, n, k, m):
    big_a, big_b = _rand((2 * n + 1, 3 * k)), _rand((k + 2, 2 * m), seed=1)
    xa = fw.tensor(big_a, device=dev)[1::2, ::3]
    xb = fw.tensor(big_b, device=dev)[2:, 1::2]
    _check(fw.matmul(xa, xb).cpu().numpy(), big_a[1::2, ::3], big_b[2:, 1::2])


@pytest.mark.parametrize("sa,sb", [((2, 1, 9, 8), (3, 8, 7)),       # both broadcast
                                   ((4, 70, 60), (60, 50)),          # x @ w (rows fold)
                                   ((60, 50), (4, 50, 70)),          # w @ x
                                   ((3, 40, 30), (3, 30, 20)),       # plain batch
                                   ((2, 3, 65, 66), (1, 3, 66, 67))])
def test_batched(dev, sa, sb):
    a, b = _rand(sa), _rand(sb, seed=1)
    got = fw.matmul(fw.tensor(a, device=dev), fw.tensor(b, device=dev)).cpu().numpy()
    _check(got, a, b)


def test_batch_permuted_and_transposed(dev):
    # Batch dims that do not merge into one (permuted) and a transposed last pair.
    a, b = _rand((3, 2, 33, 20)), _rand((2, 3, 40, 33), seed=1)
    xa = fw.tensor(a, device=dev).permute(1, 0, 2, 3)          # (2, 3, 33, 20)
    xb = fw.tensor(b, device=dev).transpose(-1, -2)            # (2, 3, 33, 40)
    got = fw.matmul(xa.mT, xb).cpu().numpy()
    _check(got, a.transpose(1, 0, 3, 2), b.transpose(0, 1, 3, 2))


def test_k_zero_and_empty(dev):
    a, b = np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32)
    got = fw.matmul(fw.tensor(a, device=dev), fw.tensor(b, device=dev)).cpu().numpy()
    np.testing.assert_array_equal(got, np.zeros((3, 4), np.float32))
    e = fw.matmul(fw.zeros(2, 0, 5, device=dev), fw.zeros(2, 5, 3, device=dev))
    assert tuple(e.shape) == (2, 0, 3)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n,k,m", [(1, 1, 1), (17, 33, 19), (64, 70, 65)])
def test_integers(dev, dtype, n, k, m):
    a, b = _rand((2, n, k), dtype), _rand((2, k, m), dtype, seed=1)
    got = fw.matmul(fw.tensor(a, device=dev), fw.tensor(b, device=dev).mT.mT).cpu().numpy()
    assert got.dtype == dtype
    _check(got, a, b)


def _has_fp64(device):
    try:
        fw.zeros(1, dtype=fw.float64, device=device)
        return True
    except RuntimeError:
        return False


@pytest.mark.parametrize("n,k,m", [(3, 5, 7), (70, 130, 90)])
def test_float64(dev, n, k, m):
    a, b = _rand((n, k), np.float64), _rand((k, m), np.float64, seed=1)
    if not _has_fp64(dev):  # a device without cl_khr_fp64 says so clearly
        with pytest.raises(RuntimeError, match="float64"):
            fw.tensor(a, device=dev)
        return
    got = fw.matmul(fw.tensor(a, device=dev), fw.tensor(b, device=dev).mT.contiguous().mT)
    _check(got.cpu().numpy(), a, b)


def test_gradients_against_torch(dev):
    a, b = _rand((2, 40, 30)), _rand((30, 50), seed=1)
    g = _rand((2, 40, 50), seed=2)
    xa = fw.tensor(a, device=dev, requires_grad=True)
    xb = fw.tensor(b.T.copy(), device=dev).mT.detach().requires_grad_()
    fw.matmul(xa, xb).backward(fw.tensor(g, device=dev))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch.matmul(ta, tb).backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xb.grad.cpu().numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_errors(device):
    with pytest.raises(RuntimeError):
        fw.matmul(fw.zeros(2, 3, device=device), fw.zeros(4, 5, device=device))
    with pytest.raises(RuntimeError):
        fw.matmul(fw.zeros(2, 3, device=device), fw.zeros(3, 4, dtype=fw.int32, device=device))
