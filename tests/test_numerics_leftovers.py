"""Issue 14's leftovers, against PyTorch: integer division without host waits, fmod and
remainder at +-inf and signed zeros, norms of huge values, index_select's error types."""
import math

import numpy as np
import pytest
import torch

import framework as fw
import framework.nn.functional as F
from framework.testing import available_devices

DEVICES = [d for d in ("cpu", "opencl") if d in available_devices()]


def same(got, want):
    """Values, NaN positions and signs of zero as torch's."""
    got, want = got.cpu().numpy(), want.numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


# -- integer division never waits for the device ----------------------------------------------
@pytest.mark.skipif("opencl" not in DEVICES, reason="no OpenCL device")
def test_opencl_integer_division_queues_without_host_waits(monkeypatch):
    rt = fw.empty(0, device="opencl")._be.rt
    a = fw.tensor([7, -7, 9, 0], device="opencl")
    b = fw.tensor([2, 3, -4, 5], device="opencl")
    z = fw.tensor([1, 0, 2, 3], device="opencl")

    def waited(*args, **kwargs):
        raise AssertionError("integer division waited for the device")
    with monkeypatch.context() as m:
        m.setattr(rt, "download", waited)
        m.setattr(rt, "finish", waited)
        results = [a // b, a % b, fw.div(a, b, rounding_mode="trunc"), fw.fmod(a, b)]
    ta, tb = torch.tensor([7, -7, 9, 0]), torch.tensor([2, 3, -4, 5])
    for got, want in zip(results, [ta // tb, ta % tb, torch.div(ta, tb, rounding_mode="trunc"),
                                   torch.fmod(ta, tb)]):
        same(got, want)
    with monkeypatch.context() as m:
        m.setattr(rt, "download", waited)
        m.setattr(rt, "finish", waited)
        bad = a // z  # its error is raised at the next host wait
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        bad.cpu()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.tensor([7]) // torch.tensor([0])
