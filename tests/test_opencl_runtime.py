"""The OpenCL runtime: device choice, memory pool, errors. Skips where no OpenCL device."""
import numpy as np
import pytest

import framework as fw

pytestmark = pytest.mark.skipif(not fw.opencl.is_available(),
                                reason="no OpenCL device (install pyopencl and pocl-binary-distribution)")


@pytest.fixture
def be():
    return fw.plugins.registry.backend("opencl")


def test_device_module_and_description():
    assert fw.opencl.device_count() >= 1
    from fw_opencl.backend import OpenCLBackend
    info = OpenCLBackend.describe()[0]
    for key in ("name", "platform", "type", "memory_gib", "compute_units", "fp64", "fp16"):
        assert key in info
    assert fw.opencl.get_device_name(0) == info["name"]
    assert fw.device("opencl") == fw.tensor([1.0], device="opencl").device.type


def test_default_device_from_environment(monkeypatch):
    from fw_opencl import runtime
    names = [d.name for d in runtime.all_devices()]
    monkeypatch.setenv(runtime.ENV_DEVICE, "0")
    assert runtime.default_index() == 0
    monkeypatch.setenv(runtime.ENV_DEVICE, names[0][-6:].upper())  # part of a name, any case
    assert runtime.default_index() == 0
    monkeypatch.setenv(runtime.ENV_DEVICE, str(len(names)))
    with pytest.raises(RuntimeError, match="only"):
        runtime.default_index()
    monkeypatch.setenv(runtime.ENV_DEVICE, "no such device anywhere")
    with pytest.raises(RuntimeError, match="matches no OpenCL device"):
        runtime.default_index()


def test_missing_device_index_is_an_error():
    with pytest.raises(RuntimeError, match="does not exist"):
        fw.zeros(2, device=f"opencl:{fw.opencl.device_count()}")


OOM = r"out of memory: tried to allocate .* GiB on"


def test_out_of_memory_is_a_clear_error_and_the_process_stays_usable(be):
    huge = be.rt.device.global_mem_size * 4
    with pytest.raises(RuntimeError, match=OOM):  # past the element limit too: memory first
        fw.empty(huge // 4, device="opencl")
    x = fw.ones(1000, device="opencl")
    assert x.cpu().numpy().sum() == 1000


def test_out_of_memory_below_the_element_limit(be, monkeypatch):
    """A tensor of fewer than 2**31 elements larger than one buffer may be: out of memory
    (int64 elements; where even 2**31 - 1 of them fit one buffer, the pool's bound is
    lowered to reach the same error without allocating)."""
    from fw_opencl.runtime import MAX_INDEX
    if MAX_INDEX * 8 <= be.rt.pool.max_alloc:
        monkeypatch.setattr(be.rt.pool, "max_alloc", MAX_INDEX * 4)
    with pytest.raises(RuntimeError, match=OOM):
        fw.empty(MAX_INDEX, dtype=fw.int64, device="opencl")
    assert fw.arange(5, device="opencl").sum().item() == 10


def test_element_limit_is_a_clear_error(be):
    """2**31 elements or more that would fit one buffer: refused when made (fw's kernels
    index with 32-bit ints), before any memory is asked for."""
    from fw_opencl.runtime import MAX_INDEX
    n = MAX_INDEX + 1
    expect = OOM if n > be.rt.lim.buffer_size else r"2147483648 elements are too large"
    live = be.rt.pool.live
    with pytest.raises(RuntimeError, match=expect):
        fw.empty(n, dtype=fw.bool, device="opencl")
    with pytest.raises(RuntimeError, match=expect):
        fw.zeros(2, 2**30, dtype=fw.bool, device="opencl")
    assert be.rt.pool.live == live


def test_freed_buffers_are_reused(be):
    x = fw.empty(1000, device="opencl")
    mem = x._v.buf.mem.int_ptr
    del x
    y = fw.empty(1000, device="opencl")
    assert y._v.buf.mem.int_ptr == mem
    fw.opencl.empty_cache()
    assert be.rt.pool.cached == 0


def test_kernel_build_failure_shows_the_compiler_log(be, monkeypatch):
    from fw_opencl import runtime
    monkeypatch.setitem(runtime._sources, "broken.cl",
                        "__kernel void k(__global float *x) { x[0] = undefined_name; }")
    with pytest.raises(RuntimeError, match=r"(?s)'broken.cl' failed to build.*undefined_name"):
        be.rt.program("broken.cl")


def test_build_log_shows_all_but_stock_remarks(be, monkeypatch):
    from fw_opencl import runtime
    stock = ("(): Warning: Function k is a kernel, so overriding noinline attribute. The "
             "function may be inlined when called.\n\n")  # NVIDIA's, for every kernel
    assert runtime.compiler_notes(stock) == []
    assert runtime.compiler_notes(stock + "<source>:1:2: warning: odd\n") == [
        "<source>:1:2: warning: odd"]
    monkeypatch.setitem(runtime._sources, "noisy.cl",
                        '#warning "fw-test-note"\n__kernel void k(__global float *x) { x[0] = 1; }')
    with pytest.warns(UserWarning, match=r"(?s)says of kernel file 'noisy.cl'.*fw-test-note"):
        be.rt.program("noisy.cl")


def test_batch_size_setting(monkeypatch):
    from fw_opencl import runtime
    monkeypatch.delenv("FW_OPENCL_BATCH", raising=False)
    assert runtime._batch_size() == 16
    monkeypatch.setenv("FW_OPENCL_BATCH", "4")
    assert runtime._batch_size() == 4
    monkeypatch.setenv("FW_OPENCL_BATCH", "0")
    assert runtime._batch_size() == runtime._NEVER
    monkeypatch.setenv("FW_OPENCL_BATCH", "many")
    with pytest.raises(RuntimeError, match="FW_OPENCL_BATCH='many': expected a number"):
        runtime._batch_size()


def test_batched_submission_gives_the_same_values(be, monkeypatch):
    from fw_opencl import runtime
    x = np.linspace(-1, 1, 37, dtype=np.float32)
    want = x.copy()
    for _ in range(20):
        want = want * np.float32(1.5) - np.float32(0.25)
    for batch in (1, 3, runtime._NEVER):
        be.rt.open_gate()
        monkeypatch.setattr(be.rt, "batch", batch)
        t = fw.tensor(x, device="opencl")
        for _ in range(20):
            t = t * 1.5 - 0.25
        np.testing.assert_allclose(t.cpu().numpy(), want, rtol=1e-6)
        assert be.rt.gate is None  # the read released everything held


def test_float64_without_fp64_names_the_device(be, monkeypatch):
    monkeypatch.setattr(be.rt, "fp64", False)
    with pytest.raises(RuntimeError, match=r"float64 is not supported on OpenCL device .*cl_khr_fp64"):
        fw.zeros(3, dtype=fw.float64, device="opencl")
    with pytest.raises(RuntimeError, match="cl_khr_fp64"):
        be.rt.program("copy.cl", (("T", "double"),))


def test_strided_round_trip():
    import numpy as np
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = fw.tensor(a, device="opencl")
    np.testing.assert_array_equal(x.permute(2, 0, 1).cpu().numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(x[:, 1:, ::2].cpu().numpy(), a[:, 1:, ::2])
    np.testing.assert_array_equal(x[1, 2].cpu().numpy(), a[1, 2])
    for dtype in (fw.int32, fw.int64, fw.bool, fw.float64):
        t = fw.tensor(a.astype(dtype.np), device="opencl")
        np.testing.assert_array_equal(t.t().contiguous().cpu().numpy() if t.ndim == 2 else
                                      t.transpose(0, 2).contiguous().cpu().numpy(),
                                      a.astype(dtype.np).transpose(2, 1, 0))


def test_layout_merges_contiguous_dims():
    from framework.device import merge_dims as merge
    assert merge((2, 3, 4), [(12, 4, 1), (12, 4, 1)]) == ([24], [[1], [1]])
    assert merge((2, 3, 4), [(12, 4, 1), (0, 4, 1)]) == ([2, 12], [[12, 1], [0, 1]])
    assert merge((2, 1, 4), [(4, 4, 1)]) == ([8], [[1]])
