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


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_half_to_even(dtype, device):
    # vulkan's float64 round took halves away from zero (round(1.5) gave 1, 2.5 gave 3)
    import numpy as np
    _same(lambda m, x: x.round(), np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 4.5e15 + 0.5,
                                            2.0 ** 60, nan, inf], dtype), device=device)


@pytest.mark.parametrize("dtype,tiny", [("float32", [1e-45, 1e-40, 3e-39, 1.1e-38, -1e-45]),
                                        ("float64", [5e-324, 1e-310, 2e-308, -5e-324])])
def test_functions_of_denormals(dtype, tiny, device):
    # vulkan's log flushed a denormal argument to the smallest normal: log(1e-45) was -88.03
    import numpy as np
    fns = ("log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal")
    _same(lambda m, x: tuple(getattr(x, f)() for f in fns) + (x ** 0.5,),
          np.array(tiny, dtype), device=device)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floor_divide_near_the_largest_float(dtype, device):
    # vulkan: finfo(float64).max // -1.5 gave -inf (the remainder step overflowed)
    import numpy as np
    big = np.finfo(dtype).max
    x = np.array([big, -big, big / 2, 1e30, 7.0, -7.25, inf, -inf, nan], dtype)
    _same(lambda m, x: (x // -1.5, x // 3.0, x // 0.25), x, device=device)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pow_of_negative_bases_with_huge_exponents(dtype, device):
    # every float past 2^24 (float32) / 2^53 (float64) is an even integer: (-1) ** 3.4e38 is 1
    # (vulkan gave NaN), (-2) ** huge is inf, (-0.5) ** huge is 0; odd ones keep the sign
    import numpy as np
    big = float(np.finfo(dtype).max)
    e = np.array([big, -big, 3.4e38, 1e20, 2.0 ** 53 + 2, 2.0 ** 24 - 1, -(2.0 ** 24 - 1), inf],
                 dtype)
    base = np.array([[-1.0], [-2.0], [-0.5], [-1.5], [-inf]], dtype)
    _same(lambda m, b, e: b ** e, base, e, device=device)


@pytest.mark.parametrize("index_shape,src_shape", [((3, 0), (0, 5)), ((5, 0), (1, 1)),
                                                   ((0, 9), (0, 1)), ((0,), (2, 2))])
def test_scatter_and_gather_with_an_empty_index(index_shape, src_shape, device):
    # PyTorch checks no shapes for an empty index (scatter gives the input, gather an empty
    # tensor of the index's shape); fw raised "Expected index [3, 0] to be no larger than src"
    import numpy as np
    _same(lambda m, x, i, s: (x.scatter_add(1, i, s), x.scatter(1, i, s), x.scatter(1, i, 2.0),
                              x.gather(1, i), m.scatter_add(x, 0, i, s)),
          np.arange(16, dtype=np.float32).reshape(4, 4), np.zeros(index_shape, np.int64),
          np.ones(src_shape, np.float32), device=device)
