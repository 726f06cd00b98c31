"""Dropout (`torch.nn.functional.dropout`, `dropout1d/2d/3d`, `alpha_dropout`).

Masks come from fw's default generator (`fw.manual_seed` makes them reproducible; the
numbers differ from PyTorch's, whose generator differs) and are made on the input's
device. The kept elements are scaled by 1/(1-p) during training, as in PyTorch.
"""
import math
import warnings

from ... import ops as _ops
from ...tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(x, shape, p):
    """A mask of `shape` on x's device in x's dtype: 1/(1-p) where kept, 0 where dropped."""
    u = _ops.rand(shape, dtype=x.dtype, device=x.device)
    return (u >= p).to(x.dtype) * (1.0 / (1.0 - p))


def _apply(x, p, training, inplace, mask_shape):
    if not isinstance(x, Tensor):
        raise TypeError(f"dropout(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    _check_p(p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        out = x * 0.0  # everything dropped; keeps the graph (the gradient is zero)
    else:
        out = x * _keep_mask(x, mask_shape, p)  # one mul: the gradient is g * mask
    return x._inplace(out) if inplace else out


def dropout(input, p=0.5, training=True, inplace=False):
    return _apply(input, p, training, inplace, input.shape)


def _feature(input, p, training, inplace):
    """Channel-wise dropout of (N, C, *): one draw per (sample, channel)."""
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _apply(input, p, training, inplace, shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an "
                           "optional batch dimension (i.e. 2D or 3D inputs).")
    if input.ndim == 2:  # (C, L): one draw per channel
        return _apply(input, p, training, inplace, (input.shape[0], 1))
    return _feature(input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead.",
                      stacklevel=2)
    if input.ndim == 3:  # PyTorch's historical reading: (N, C, L), not (C, H, W)
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim.", stacklevel=2)
    if input.ndim < 2:
        return _apply(input, p, training, inplace, input.shape)
    return _feature(input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release.",
                      stacklevel=2)
    if input.ndim == 4:  # (C, D, H, W): unbatched
        out = _feature(input.unsqueeze(0), p, training, False).squeeze(0)
        return input._inplace(out) if inplace and training and p > 0 else out
    if input.ndim < 2:
        return _apply(input, p, training, inplace, input.shape)
    return _feature(input, p, training, inplace)


# SELU's fixed point: alpha' = -scale * alpha
_ALPHA_P = -1.7580993408473766


def _alpha(input, p, training, inplace, mask_shape):
    """Dropped values are set to SELU's negative saturation, then an affine map a*x + b
    restores zero mean and unit variance (Klambauer et al., 2017)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input._inplace(input * 0.0) if inplace else input * 0.0
    keep = (_ops.rand(mask_shape, dtype=input.dtype, device=input.device) >= p).to(input.dtype)
    a = 1.0 / math.sqrt((_ALPHA_P ** 2 * p + 1) * (1 - p))
    b = -a * _ALPHA_P * p
    # a * (x * keep + alpha' * (1 - keep)) + b, with the constants folded
    out = input * (keep * a) + (keep * (-a * _ALPHA_P) + (a * _ALPHA_P + b))
    return input._inplace(out) if inplace else out


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha(input, p, training, inplace, input.shape)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha(input, p, training, inplace, shape)
