"""Hypothesis strategies and oracle checks for fuzzing a device against PyTorch.

Reusable by a third-party backend's own tests: every helper takes the device type as a
string, and `device_limits` reads whatever limits the backend states. Values come from
pools that hold each dtype's special values (NaN, +-Inf, +-0, denormals, extremes); shapes
and layouts (strided, transposed, zero-stride) are drawn beside them. `outcome` runs the
same function in fw and in torch, and `assert_same_outcome` demands the same values (NaN
where torch has NaN, the same infinities) or the same kind of exception.

Hypothesis is a test dependency: importing this module requires it.
"""
import math
import os

import ml_dtypes
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .conformance import array_of, tensor_of

_BF16 = np.dtype(ml_dtypes.bfloat16)
# float16/bfloat16 results: PyTorch's assert_close tolerances, a little wider (cases_lowp.py)
_LOW_TOL = {np.dtype(np.float16): (3e-3, 3e-3), _BF16: (2e-2, 2e-2)}


def _is_float(dtype):
    return dtype.kind == "f" or dtype == _BF16

LONG = os.environ.get("FW_FUZZ", "") == "long"


# -- limits --------------------------------------------------------------------------
def device_limits(device):
    """{name: int} of the limits a device's backend states in one place: its runtime's `lim`
    object (fw_opencl, fw_vulkan: `Runtime.lim`), else a backend-level `limits` (dict, or a
    method returning one), else what the runtime object exposes (an OpenCL device's
    max_work_group_size; Vulkan's work-groups per dimension). The 1-D work-group size a
    backend's kernels use is added as 'workgroup_size' where its runtime module names it (WG).
    Empty for a backend that states none (cpu)."""
    import importlib
    from framework.plugins import registry
    backend = registry.backend(device)
    rt = getattr(backend, "rt", None)
    stated = getattr(rt, "lim", None) or getattr(backend, "limits", None)
    stated = stated() if callable(stated) else stated
    if stated is not None and not isinstance(stated, dict):
        names = getattr(stated, "__slots__", None) or vars(stated)
        stated = {k: getattr(stated, k) for k in names}
    found = {k: v for k, v in (stated or {}).items() if type(v) is int}
    if rt is None:
        return found
    wg = getattr(getattr(rt, "device", None), "max_work_group_size", None)
    if type(wg) is int:
        found.setdefault("invocations", wg)
    if type(getattr(rt, "max_groups", None)) is int:
        found.setdefault("groups_per_dim", rt.max_groups)
    per = getattr(importlib.import_module(type(rt).__module__), "WG", None)
    if type(per) is int:
        found.setdefault("workgroup_size", per)
    return found


# How boundary_sizes reads a stated limit: work-group sizes (in work-items) matter at their
# square too (two levels of a tree); work-groups per dimension times the group size is where
# a 1-D dispatch folds into a second dimension; bytes and counts of buffers aren't sizes.
_SQUARED = {"invocations", "group_size", "workgroup_size"}
_GRID = {"groups_per_dim"}
_NOT_ELEMENTS = {"buffer_size", "binding_size", "memory", "local_mem", "bindings",
                 "item_sizes"}


def boundary_sizes(device, cap):
    """Element counts just below, at and just above each limit of `device` (see
    `device_limits`) and its derived sizes; also 256 and 65,536, the work-group size kernels
    commonly pick and its square. Sizes above `cap` are left out."""
    lim = device_limits(device)
    centres = {256, 65536}
    for k, v in lim.items():
        if k in _NOT_ELEMENTS:
            continue
        centres.add(v)
        if k in _SQUARED:
            centres.add(v * v)
        if k in _GRID:
            centres.add(v * lim.get("workgroup_size", 64))
    sizes = {c + d for c in centres for d in (-1, 0, 1)}
    return sorted(s for s in sizes if 0 < s <= cap)


# -- values --------------------------------------------------------------------------
def specials(dtype, extremes=True, infinities=True, nans=True):
    """The values of `dtype` that break kernels: NaN (with `nans`), +-Inf (with
    `infinities`), +-0, the smallest denormal, the smallest normal, halves (rounding ties)
    and (with `extremes`) the largest finite; for integers 0, +-1 and (with `extremes`) the
    range ends; for bool both."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return [False, True]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        ends = [int(info.min), int(info.max), int(info.min) + 1, int(info.max) - 1]
        return [0, 1] + ([-1] if info.min else []) + (ends if extremes else [])
    fi = ml_dtypes.finfo(dtype)  # NumPy's finfo has no bfloat16
    out = ([math.nan] if nans else []) + ([math.inf, -math.inf] if infinities else []) + [
        0.0, -0.0, float(fi.smallest_subnormal),
           -float(fi.smallest_subnormal), float(fi.tiny), -float(fi.tiny), 1.0, -1.0,
            0.5, -1.5, 2.5]  # ties of round-half-to-even
    if extremes:
        out += [float(fi.max), -float(fi.max)]
    return out


def elements(dtype, low=-4, high=4, extremes=True, infinities=True, nans=True):
    """A strategy for single values of `dtype`: specials half the time, else ordinary
    values (integers in [low, high) for integer dtypes, moderate floats)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return st.booleans()
    pool = st.sampled_from(specials(dtype, extremes, infinities, nans))
    if dtype.kind in "iu":
        ordinary = st.integers(int(low), max(int(low), int(high) - 1))
    else:
        width = {np.dtype(np.float16): 16, np.dtype(np.float32): 32, _BF16: 32}.get(dtype, 64)
        ordinary = st.one_of(st.integers(-3, 3).map(float), st.floats(-100, 100, width=width))
    return st.one_of(ordinary, pool)


@st.composite
def arrays(draw, dtype, shape, low=-4, high=4, extremes=True, unique=False, infinities=True,
           nans=True):
    """A NumPy array of `shape` and `dtype` whose values come from `elements`; `unique`
    asks for distinct values (at most one NaN), for ops whose ties leave indices open."""
    npd = np.dtype(dtype)
    els = elements(dtype, low, high, extremes, infinities, nans)
    if npd == _BF16:  # Hypothesis has no bfloat16: float32 values, rounded
        a = draw(hnp.arrays(np.float32, shape, unique=unique, elements=els)).astype(_BF16)
    else:
        a = draw(hnp.arrays(npd, shape, unique=unique, elements=els))
    if unique and _is_float(a.dtype):
        vals = a[~np.isnan(a)].ravel().tolist()
        # -0.0 == 0.0 is a tie too, and at most one NaN keeps NaN's rank defined
        if np.isnan(a).sum() > 1 or len(vals) != len(set(vals)):
            from hypothesis import assume
            assume(False)
    return a


LAYOUTS = ("contiguous", "strided", "transposed", "expanded")


def layouts():
    """How an input tensor lies in memory; the values it holds are the same either way."""
    return st.sampled_from(LAYOUTS)


def expand_source(a, layout):
    """For the 'expanded' layout, the values a zero-stride view can hold: the array with
    its first dim of size > 1 collapsed to one row (repeated by the expansion). Other
    layouts keep `a`."""
    if layout != "expanded":
        return a
    for d, n in enumerate(a.shape):
        if n > 1:
            return np.broadcast_to(np.take(a, [0], axis=d), a.shape).copy()
    return a


def make_tensor(lib, a, layout, device):
    """`a` as a tensor of `lib` on `device`, laid out as `layout`: 'strided' takes every
    other element of a buffer twice as long in the last dim, 'transposed' is the transpose
    of a contiguous transpose, 'expanded' a zero-stride `expand` of one row (pass it
    `expand_source(a, 'expanded')`). bfloat16 arrays go through float32 (exactly)."""
    if layout == "contiguous" or a.ndim == 0:
        return tensor_of(lib, a, device)
    if layout == "strided":
        wide = np.repeat(a, 2, axis=-1)
        return tensor_of(lib, wide, device)[..., ::2]
    if layout == "transposed":
        return tensor_of(lib, np.ascontiguousarray(a.T), device).permute(
            *reversed(range(a.ndim)))
    for d, n in enumerate(a.shape):
        if n > 1:
            return tensor_of(lib, np.take(a, [0], axis=d), device).expand(*a.shape)
    return tensor_of(lib, a, device)


# -- the oracle ------------------------------------------------------------------------
_KINDS = (IndexError, ValueError, TypeError, ZeroDivisionError, OverflowError, MemoryError,
          NotImplementedError, RuntimeError)


def error_kind(exc):
    """The builtin exception class PyTorch's users catch for `exc`: torch's own classes
    (LinAlgError, OutOfMemoryError, ...) map to the builtin they derive from."""
    for k in type(exc).__mro__:
        if k in _KINDS:
            return k
    return type(exc)


def outcome(lib, fn, arrays_, layouts_, device):
    """Run `fn(lib, *tensors)`: ('value', [NumPy arrays]) or ('error', exception)."""
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xs = [make_tensor(lib, a, lay, device) for a, lay in zip(arrays_, layouts_)]
            out = fn(lib, *xs)
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            return "value", [array_of(o) for o in outs]
    except Exception as exc:  # noqa: BLE001 - which exception is what gets compared
        return "error", exc


def tolerance(dtype, rtol=None, atol=None):
    """(rtol, atol) for comparing results of `dtype`: exact for integers and bool, a few
    ulps' worth of float32/float64 rounding otherwise (looser when given)."""
    dtype = np.dtype(dtype)
    if not _is_float(dtype):
        return 0.0, 0.0
    base = _LOW_TOL.get(dtype) or ((1e-4, 1e-5) if dtype.itemsize <= 4 else (1e-7, 1e-10))
    return max(base[0], rtol or 0.0), max(base[1], atol or 0.0)


def value_mismatch(got, want, rtol=None, atol=None):
    """None if `got` matches torch's `want` (same shape and dtype; NaN exactly where torch
    has NaN; infinities equal; finite values within the dtype's tolerance), else why not."""
    if got.shape != want.shape:
        return f"shape {got.shape} != torch's {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != torch's {want.dtype}"
    if not _is_float(want.dtype):
        bad = got != want
    else:
        r, a = tolerance(want.dtype, rtol, atol)
        g, w = got.astype(np.float64), want.astype(np.float64)
        gn, wn = np.isnan(g), np.isnan(w)
        gi, wi = np.isinf(g), np.isinf(w)
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.abs(g - w) <= a + r * np.abs(w)
        bad = (gn != wn) | ((gi | wi) & ~gn & ~wn & (g != w)) | (~(gn | wn | gi | wi) & ~close)
    if not bad.any():
        return None
    i = tuple(int(j) for j in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {bad.size} differ; first at {i}: "
            f"fw {got[i]!r} vs torch {want[i]!r}")


def assert_same_outcome(fw_result, torch_result, rtol=None, atol=None, what=""):
    """fw's outcome equals torch's: both values (compared by `value_mismatch`), or both
    errors of the same kind (fw's may be a subclass)."""
    (fk, fv), (tk, tv) = fw_result, torch_result
    if fk == "error" and isinstance(fv, IndexError) and tk == "value" and all(
            w.size == 0 for w in tv):
        return  # fw checks indices even where nothing is read; PyTorch skips empty results
    if tk == "error" or fk == "error":
        assert fk == tk, (f"{what}: torch {'raised ' + repr(tv) if tk == 'error' else 'gave a value'}"
                          f", fw {'raised ' + repr(fv) if fk == 'error' else 'gave a value'}")
        assert isinstance(fv, error_kind(tv)), (
            f"{what}: fw raised {type(fv).__name__}({fv}) where torch raised "
            f"{type(tv).__name__}({tv})")
        return
    assert len(fv) == len(tv), f"{what}: {len(fv)} outputs, torch {len(tv)}"
    for k, (g, w) in enumerate(zip(fv, tv)):
        why = value_mismatch(g, w, rtol, atol)
        assert why is None, f"{what}: output {k}: {why}"
