"""Class targets out of range raise IndexError on every device: at once on the CPU, and on
an accelerator at the latest at the next read back to the host (the check runs on the
device so that a training step never waits for it)."""
import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F


def _logits(device, n=6, c=5):
    x = np.random.default_rng(0).standard_normal((n, c)).astype(np.float32)
    return fw.tensor(x, device=device, requires_grad=True)


@pytest.mark.parametrize("bad", [5, 17, -1, -7])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_out_of_range_target_raises(device, bad, fn):
    x = _logits(device)
    t = fw.tensor([0, 1, bad, 3, 4, 2], device=device)
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
        loss = getattr(F, fn)(x, t)
        loss.backward()
        loss.item()


def test_ignore_index_is_not_out_of_range(device):
    x = _logits(device)
    for ignore in (-100, 9, 2):
        t = fw.tensor([0, 1, ignore, 3, 4, 2], device=device)
        loss = F.cross_entropy(x, t, ignore_index=ignore)
        loss.backward()
        assert np.isfinite(loss.item())


def test_device_usable_after_error(device):
    x = _logits(device)
    with pytest.raises(IndexError):
        F.cross_entropy(x, fw.tensor([0, 1, 9, 3, 4, 2], device=device)).item()
    good = F.cross_entropy(x, fw.tensor([0, 1, 2, 3, 4, 2], device=device))
    assert np.isfinite(good.item())


def test_error_surfaces_without_reads(device):
    """A loop that never reads a value back still gets the error (the pending checks are
    bounded), and so does synchronize()."""
    x = _logits(device)
    t = fw.tensor([0, 1, 9, 3, 4, 2], device=device)
    with pytest.raises(IndexError, match="Target 9"):
        for _ in range(100):
            F.cross_entropy(x, t).backward()
    with pytest.raises(IndexError, match="Target 9"):
        F.cross_entropy(x, t)
        fw.plugins.registry.backend(device).synchronize()


def test_spatial_targets(device):
    x = fw.tensor(np.zeros((2, 3, 4, 4), np.float32), device=device)
    t = np.zeros((2, 4, 4), np.int64)
    t[1, 2, 3] = 3
    with pytest.raises(IndexError, match="Target 3 is out of bounds."):
        F.cross_entropy(x, fw.tensor(t, device=device)).item()
