"""The cpu backend's convolution paths (backends/fw_numpy/nn_ops.py) against torch: the
transposed GEMM for few output channels, the input gradient as a convolution of the output
gradient with the flipped kernel, and the col2im path where the padding rules that out."""
import numpy as np
import pytest
import torch

import framework as fw


@pytest.mark.parametrize("C, O, k, padding, dilation, groups", [
    (4, 8, 3, 1, 1, 1),      # few channels: transposed GEMMs, input gradient as a convolution
    (4, 8, 3, 0, 2, 1),      # dilation, no padding
    (5, 6, 3, (2, 1), 2, 1),  # padding up to d*(k-1)
    (4, 8, 3, 3, 1, 1),      # padding past k-1: the col2im input gradient
    (8, 8, 3, 1, 1, 2),      # groups: the per-group GEMMs
    (4, 72, 3, 1, 1, 1),     # more output channels than the transposed form takes
])
def test_stride1_conv_paths_match_torch(C, O, k, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, C, 7, 6), dtype=np.float32)
    w = rng.standard_normal((O, C // groups, k, k), dtype=np.float32)
    b = rng.standard_normal(O, dtype=np.float32)
    outs = []
    for lib in (fw, torch):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        y = lib.nn.functional.conv2d(xt, wt, bt, 1, padding, dilation, groups)
        g = lib.tensor(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(tuple(y.shape)))
        (y * g).sum().backward()
        outs.append([t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)])
    for a, e in zip(*outs):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4)
