"""The Vulkan backend (fw-vulkan, WGSL through wgpu): runtime, dtypes, limits, errors and
the kernels the op suite reaches only partly. Skips where wgpu or an adapter is missing."""
import numpy as np
import pytest

import framework as fw

try:
    import wgpu  # noqa: F401
    _why = None
except ImportError:
    _why = "wgpu is not installed (pip install -e backends/fw_vulkan)"
if _why is None and "vulkan" not in fw.plugins.registry.device_types():
    _why = "the fw-vulkan plugin is not installed (pip install -e backends/fw_vulkan)"
if _why is None and not fw.vulkan.is_available():
    _why = "no Vulkan/WebGPU adapter (apt-get install mesa-vulkan-drivers for lavapipe)"
if _why:
    print(f"test_vulkan.py skipped: {_why}")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

DEV = "vulkan"


@pytest.fixture
def be():
    return fw.plugins.registry.backend(DEV)


def _fresh(monkeypatch, **env):
    """A new backend instance on adapter 0 with environment overrides (not the shared one)."""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from fw_vulkan.backend import VulkanBackend
    return VulkanBackend(0)


def t(a):
    return fw.tensor(a, device=DEV)


def test_describe_and_device_choice(monkeypatch):
    from fw_vulkan import runtime
    from fw_vulkan.backend import VulkanBackend
    info = VulkanBackend.describe()
    assert len(info) == fw.vulkan.device_count() >= 1
    for key in ("name", "api", "type", "max_buffer_mib", "max_storage_binding_mib",
                "features"):
        assert key in info[0]
    monkeypatch.setenv(runtime.ENV_DEVICE, "0")
    assert runtime.default_index() == 0
    monkeypatch.setenv(runtime.ENV_DEVICE, info[0]["name"][:6].upper())
    assert info[runtime.default_index()]["name"].upper().startswith(info[0]["name"][:6].upper())
    monkeypatch.setenv(runtime.ENV_DEVICE, str(len(info)))
    with pytest.raises(RuntimeError, match="only"):
        runtime.default_index()
    monkeypatch.setenv(runtime.ENV_DEVICE, "no such adapter anywhere")
    with pytest.raises(RuntimeError, match="matches no"):
        runtime.default_index()
    with pytest.raises(RuntimeError, match="does not exist"):
        fw.zeros(2, device=f"vulkan:{len(info)}")


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_, np.int64, np.float64])
def test_round_trip_and_strided_copy(dtype):
    a = (np.arange(24).reshape(2, 3, 4) * 37 % 11 - 5).astype(dtype)
    if dtype is np.int64:
        a = a * (2**40)  # beyond int32: needs shader-int64 (lavapipe has it)
    x = t(a)
    assert x.dtype == fw.tensor(a).dtype
    np.testing.assert_array_equal(x.cpu().numpy(), a)
    np.testing.assert_array_equal(x.permute(2, 0, 1)[1:, :, ::2].contiguous().cpu().numpy(),
                                  a.transpose(2, 0, 1)[1:, :, ::2])
    y = fw.zeros(2, 3, 4, dtype=x.dtype, device=DEV)
    y[:, 1:] = x[:, :2]
    want = np.zeros_like(a)
    want[:, 1:] = a[:, :2]
    np.testing.assert_array_equal(y.cpu().numpy(), want)


def test_int64_without_shader_int64_refuses_what_would_wrap(monkeypatch):
    be = _fresh(monkeypatch, FW_VULKAN_NO_INT64="1")
    v = be.from_numpy(np.array([1, -7, 2**31 - 1], np.int64))
    np.testing.assert_array_equal(be.to_numpy(be.binary("add", v, 1))[:2], [2, -6])
    with pytest.raises(RuntimeError, match="outside the int32 range"):
        be.from_numpy(np.array([2**31], np.int64))
    from framework import dtypes as dt
    with pytest.raises(RuntimeError, match="outside the int32 range"):
        be.cast(be.from_numpy(np.array([3e9], np.float32)), dt.int64)


def test_float64_math_is_computed_in_float64():
    a = np.array([-3.7, -0.5, 1e-9, 0.3, 2.5, 40.0, 700.0])
    x = t(a)
    for name, f in (("exp", np.exp), ("sin", np.sin), ("cos", np.cos), ("tanh", np.tanh),
                    ("expm1", np.expm1), ("sinh", np.sinh)):
        np.testing.assert_allclose(getattr(fw, name)(x).cpu().numpy(), f(a), rtol=1e-13,
                                   atol=1e-300, err_msg=name)
    p = np.abs(a) + 1e-3
    np.testing.assert_allclose(fw.log(t(p)).cpu().numpy(), np.log(p), rtol=1e-14)
    np.testing.assert_allclose((t(p) ** 1.7).cpu().numpy(), p ** 1.7, rtol=1e-13)
    inf = np.array([[-np.inf, -1e300], [np.inf, 1e300]])
    np.testing.assert_array_equal(t(inf).amax(1).cpu().numpy(), [-1e300, np.inf])
    np.testing.assert_array_equal(t(inf).amin(1).cpu().numpy(), [-np.inf, 1e300])
    with pytest.raises(RuntimeError, match="float64 is not supported|asin of float64"):
        fw.asin(t(np.array([0.5]))).cpu()


def test_dispatches_are_batched_until_a_value_is_read(be):
    from fw_vulkan import runtime
    be.rt.flush()
    x = t(np.ones(10, np.float32))
    for _ in range(5):
        x = x * 2
    assert be.rt.pending >= 5  # recorded, not submitted
    assert x.cpu().numpy()[0] == 32
    assert be.rt.pending == 0
    for _ in range(runtime.MAX_BATCH + 3):  # a full batch is submitted on its own
        x = x + 0
    assert be.rt.pending < runtime.MAX_BATCH
    assert x.sum().item() == 320


def test_large_grid_is_folded_into_two_dimensions(be):
    n = 65535 * 64 + 1000  # more work-groups than one dimension allows
    x = fw.ones(n, device=DEV)
    assert be.rt.groups(n)[1] == 2
    y = (x * 3).cpu().numpy()
    assert y[0] == 3 and y[-1] == 3 and y.sum() == 3 * n


def test_tensor_beyond_storage_binding_limit_is_a_clear_error(be):
    limit = be.rt.limits["max-storage-buffer-binding-size"]
    with pytest.raises(RuntimeError, match="max-storage-buffer-binding-size"):
        fw.empty(limit // 4 + 1024, device=DEV)
    assert fw.ones(4, device=DEV).sum().item() == 4  # still usable


def test_kernel_compile_error_names_kernel_and_log(be):
    with pytest.raises(RuntimeError, match=r"(?s)unary\.wgsl.*failed to compile.*no_such_fn"):
        be.rt.kernel(("num_int.wgsl", "unary.wgsl"), "unary", 2,
                     (("T", "i32"), ("O", "i32"), ("EXPR", "no_such_fn(x)")))


def test_matmul_tiles_strides_and_batches():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 37, 45)).astype(np.float32)
    b = rng.standard_normal((19, 45)).astype(np.float32)
    got = (t(a) @ t(b).t()).cpu().numpy()  # transposed, batch-broadcast operand
    np.testing.assert_allclose(got, a @ b.T, rtol=1e-4, atol=1e-4)
    ai = rng.integers(-5, 5, (17, 20)).astype(np.int64)
    np.testing.assert_array_equal((t(ai) @ t(ai.T)).cpu().numpy(), ai @ ai.T)


@pytest.mark.parametrize("no_atomic", ["", "1"])
def test_scatter_add_atomic_and_compare_exchange(monkeypatch, no_atomic):
    be = _fresh(monkeypatch, FW_VULKAN_NO_F32_ATOMIC=no_atomic) if no_atomic else \
        fw.plugins.registry.backend(DEV)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 5, (200,)).astype(np.int64)
    src = rng.standard_normal(200).astype(np.float32)
    x = np.zeros(5, np.float32)
    out = be.to_numpy(be.scatter(be.from_numpy(x), 0, be.from_numpy(idx),
                                 be.from_numpy(src), True))
    want = x.copy()
    np.add.at(want, idx, src)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    for dtype in (np.int32, np.int64, np.float64):  # integer atomics, serial 64-bit path
        xs = np.arange(5).astype(dtype)
        s = (src * 10).astype(dtype)
        got = be.to_numpy(be.scatter(be.from_numpy(xs), 0, be.from_numpy(idx),
                                     be.from_numpy(s), True))
        w = xs.copy()
        np.add.at(w, idx, s)
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_sort_reduce_scan_against_numpy():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 6, (4, 33)).astype(np.float32)
    a[1, 3] = np.nan
    x = t(a).t()  # strided rows
    v, i = fw.sort(x, dim=0, descending=True)
    want = np.flip(np.argsort(np.flip(a.T, 0), axis=0, kind="stable"), 0)
    want = a.T.shape[0] - 1 - want
    np.testing.assert_array_equal(i.cpu().numpy(), want)
    b = rng.standard_normal((5, 6, 7)).astype(np.float32)
    for dims in ((0,), (1, 2), (0, 2), (0, 1, 2)):
        np.testing.assert_allclose(t(b).sum(dim=dims).cpu().numpy(), b.sum(axis=dims),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(t(b).amax(dim=dims).cpu().numpy(), b.max(axis=dims))
    np.testing.assert_allclose(fw.cumsum(t(b), 1).cpu().numpy(), np.cumsum(b, 1), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_array_equal(t(b).argmin(dim=2).cpu().numpy(), b.argmin(axis=2))


def test_integer_division_by_zero_raises():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        (t(np.array([1, 2])) // t(np.array([1, 0]))).cpu()
