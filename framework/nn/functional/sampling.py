"""Resampling (`F.interpolate`, `F.upsample*`), composed from index_select and arithmetic so
every device has it, with gradients from those ops.

Every mode is separable: along each spatial dim an output element is a weighted sum of a few
input elements ("taps"). The taps' indices and weights depend only on the sizes, so they are
computed on the host in float64 (PyTorch's coordinate rules) and sent once per call; the
device does one index_select and one multiply-add per tap and dim.
"""
import math
import numbers

import numpy as np

from ... import ops
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_INTERPOLATING = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _spatial_sizes(input, size, scale_factor, recompute_scale_factor, align_corners, mode):
    """(output sizes, scales for the coordinate mapping or None per dim)."""
    n = input.ndim - 2
    shape = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        if isinstance(size, (list, tuple)):
            if len(size) != n:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {shape} and output size of {size}. Please "
                    "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                    "(o1, o2, ...,oK) format.")
            out = list(size)
        else:
            out = [size] * n
        for s in out:
            if not isinstance(s, numbers.Integral) or isinstance(s, bool):
                raise TypeError(f"interpolate(): size must be int or a sequence of ints, got "
                                f"{type(s).__name__}")
        return [int(s) for s in out], [None] * n
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != n:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {shape} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and scale_factor in (s1, s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * n
    out = [int(math.floor(s * f)) for s, f in zip(shape, scales)]
    if recompute_scale_factor:  # the mapping then uses in/out, as if size had been given
        return out, [None] * n
    return out, scales


def _coords(n_in, n_out, scale, align_corners, mode):
    """Source coordinates (float64) of the n_out output elements along one dim."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return dst * step
    step = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    if mode.startswith("nearest"):  # in float32 as PyTorch, so the same rounding picks the index
        f, step = dst.astype(np.float32), np.float32(step)
        return (f * step if mode == "nearest" else (f + np.float32(0.5)) * step).astype(np.float64)
    src = (dst + 0.5) * step - 0.5
    return src if mode == "bicubic" else np.maximum(src, 0.0)


def _cubic(t, A=-0.75):
    """Keys' cubic convolution weights of the four taps at offsets -1, 0, 1, 2 (PyTorch's A)."""
    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _taps(n_in, n_out, scale, align_corners, mode):
    """[(indices int64 array, weights float64 array or None)] along one dim."""
    src = _coords(n_in, n_out, scale, align_corners, mode)
    last = n_in - 1
    if mode in ("nearest", "nearest-exact"):
        return [(np.minimum(np.floor(src), last).astype(np.int64), None)]
    i0 = np.floor(src)
    t = src - i0
    i0 = i0.astype(np.int64)
    if mode == "bicubic":
        return [(np.clip(i0 + k, 0, last), w) for k, w in zip(range(-1, 3), _cubic(t))]
    return [(np.minimum(i0, last), 1.0 - t), (np.minimum(i0 + 1, last), t)]


def _resample_dim(x, dim, taps):
    out = None
    for idx, w in taps:
        picked = x.index_select(dim, ops.tensor(idx, device=x.device))
        if w is not None:
            shape = [1] * x.ndim
            shape[dim] = -1
            picked = picked * ops.tensor(w, dtype=x.dtype, device=x.device).reshape(shape)
        out = picked if out is None else out + picked
    return out


def _check_mode(input, mode, align_corners, antialias):
    if mode not in _MODES or input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: {' | '.join(_MODES)} (got {mode})")
    if align_corners is not None and mode not in _INTERPOLATING:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    want = _INTERPOLATING.get(mode)
    if want is not None and input.ndim != want:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {want}D "
                                  "input")
    if antialias:
        if mode not in ("bilinear", "bicubic"):
            raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                             "requires a 4-D tensor as input")
        raise NotImplementedError(f"interpolate: antialias=True is not implemented in fw "
                                  f"(mode {mode!r}); resize without it")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims (all but the first two) of a 3-, 4- or 5-d input."""
    _check_mode(input, mode, align_corners, antialias)
    out, scales = _spatial_sizes(input, size, scale_factor, recompute_scale_factor,
                                 align_corners, mode)
    shape = list(input.shape[2:])
    if any(o <= 0 for o in out) or any(s <= 0 for s in shape):
        names = "DHW"[3 - len(shape):]
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{c}: {s}" for c, s in zip(names, shape)) + ") and output ("
            + ", ".join(f"{c}: {s}" for c, s in zip(names, out)) + ")")
    if not input.dtype.is_floating_point:  # PyTorch's integer case is uint8 only, fw has none
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented for "
                                  f"{input.dtype}; convert the input to a float dtype")
    if mode == "area":
        if input.ndim == 5:
            raise NotImplementedError("interpolate: mode 'area' of a 5-d input needs "
                                      "adaptive_avg_pool3d, which fw doesn't have yet")
        pool = adaptive_avg_pool1d if input.ndim == 3 else adaptive_avg_pool2d
        return pool(input, out if input.ndim == 4 else out[0])
    x = input
    for k, (n_in, n_out, s) in enumerate(zip(shape, out, scales)):
        if n_in == n_out and s is None and mode in ("nearest", "nearest-exact"):
            continue  # the identity along this dim
        x = _resample_dim(x, 2 + k, _taps(n_in, n_out, s, bool(align_corners), mode))
    return x if x is not input else input.clone()


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate, as in PyTorch."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
