"""Minimal repros of what tests/test_fuzz.py found, kept as plain tests against PyTorch so a
regression fails here by name (the fuzz finds it again only when it draws the same input)."""
import math

import pytest
import torch

import framework as fw
from framework.testing.fuzz import assert_same_outcome, outcome

nan, inf = math.nan, math.inf


def _same(fn, *arrays, device="cpu"):
    import numpy as np
    arrs = [np.asarray(a, dtype=np.float32) if not isinstance(a, np.ndarray) else a
            for a in arrays]
    lays = ["contiguous"] * len(arrs)
    assert_same_outcome(outcome(fw, fn, arrs, lays, device),
                        outcome(torch, fn, arrs, lays, "cpu"), what=str(fn))


@pytest.mark.parametrize("data", [[1.0, nan, 3.0], [nan, 1.0], [[1.0, nan, 3.0, nan], [4, 1, 2, 3]],
                                  [[nan, 0.0], [0.0, nan], [2.0, 1.0]]])
def test_median_is_nan_where_there_is_one(data, device):
    # PyTorch: NaN, at the index of the row's first NaN (fw returned the middle number)
    _same(lambda m, x: (x.median(),) + tuple(x.median(0)) + tuple(x.median(-1, keepdim=True)),
          data, device=device)


@pytest.mark.parametrize("size,start,length", [(0, 1, 2), (0, -1, 0), (3, -4, 1), (3, 4, 0),
                                               (3, 1, -1), (3, 2, 2), (3, 3, 0), (3, -3, 3)])
def test_narrow_errors_are_torchs(size, start, length):
    # a start outside [-size, size] is an IndexError in PyTorch (fw raised RuntimeError)
    _same(lambda m, x: x.narrow(0, start, length), [0.5] * size)


@pytest.mark.parametrize("shape", [(0, 1), (1, 0), (0, 3), (3, 0), (0, 0), (1, 3), (2, 1)])
@pytest.mark.parametrize("eq", ["ij->ji", "ij->j", "ij->", "ii->i"])
def test_einsum_with_empty_and_size_one_dims(shape, eq):
    # a size-0 dim was broadcast to 1 ("expanded size ... must match"); 'ii' over (1, 3)
    # broadcast the diagonal instead of refusing it
    import numpy as np
    _same(lambda m, x: m.einsum(eq, x), np.ones(shape, np.float32))


@pytest.mark.parametrize("fn,x_shape,w_shape", [
    ("conv_transpose1d", (2, 3, 0), (3, 2, 4)),   # fw: NumPy's ValueError on cpu, a value elsewhere
    ("conv_transpose1d", (2, 3, 7), (3, 2, 0)),   # a kernel without taps: fw gave a value
    ("conv1d", (2, 3, 7), (2, 3, 0)),
    ("conv2d", (2, 3, 4, 4), (2, 3, 0, 1)),
    ("conv_transpose2d", (0, 3, 2, 4), (3, 2, 1, 1)),  # an empty batch is fine
])
def test_conv_with_empty_image_or_kernel(fn, x_shape, w_shape, device):
    import numpy as np
    _same(lambda m, x, w: getattr(m.nn.functional, fn)(x, w), np.zeros(x_shape, np.float32),
          np.zeros(w_shape, np.float32), device=device)


@pytest.mark.parametrize("p", [2, 3, 1, 0.5, -1, math.inf])
def test_norm_of_one_element_is_its_magnitude(p, device):
    # PyTorch: |x| (no x**p), so the largest float stays finite; fw squared it to inf
    _same(lambda m, x: (x.norm(p=p, dim=-1), x.norm(p=p)), [[3.4e38], [-2.0], [0.0]],
          device=device)
