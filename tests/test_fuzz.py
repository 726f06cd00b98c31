"""Fuzzing every device against PyTorch (Hypothesis): the op table with special values,
odd shapes and layouts; dtype extremes on elementwise ops; and sizes at each backend's
dispatch limits. fw must give torch's values (NaN where torch has NaN, the same
infinities) or raise the same kind of exception.

Profiles (tests/conftest.py): a small derandomized one by default; FW_FUZZ=long for a
nightly-style run with many more examples, random seeds and bigger sizes.
"""
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import framework as fw
from framework.testing import CASES
from framework.testing.conformance import check_refused, unsupported_reasons
from framework.testing.fuzz import (LONG, arrays, assert_same_outcome, boundary_sizes,
                                    expand_source, layouts, outcome, specials)

FUZZ = settings.get_profile("fuzz-long" if LONG else "fuzz")

# Ops whose index outputs are open under ties (non-stable sort, topk, median): their float
# inputs are drawn without ties.
_TIES_OPEN = ("sort", "argsort", "topk", "median")


def _ties_open(case):
    return any(k in case.name for k in _TIES_OPEN) and "stable" not in case.name


def _welford(case):
    """var_mean/std_mean: PyTorch's one-pass mean of a row holding an infinity is NaN or the
    infinity depending on where it sits, so there is no answer to compare with."""
    return case.name.endswith("_mean") and case.name[:3] in ("var", "std")


def _float_sum_of_ints(case):
    """mean(dtype=float32) of int64: the range ends cast to float cancel, and which small
    values survive depends on the summation order (torch's mean of [-2**63, 2**63 - 1] and
    ten 1s is 0.5, the exact mean of those float32 values 0.83), so there is no one answer
    to compare with; integers without their range ends sum exactly."""
    return case.name == "mean_int_dtype"


def _conv(case):
    """Convolutions: whether PyTorch multiplies a NaN/Inf weight by the zero padding (NaN)
    or skips the padded taps (finite) depends on the algorithm it picks (the depthwise kernel
    skips, im2col multiplies), so only finite specials go in."""
    return case.name.startswith("conv")


_DRAWN = 256  # inputs up to this many elements are drawn value by value


@st.composite
def _sprinkled(draw, spec, shape, infinities, nans):
    """A bigger input: the case's own kind of values (from a drawn seed) with a few
    specials at drawn positions."""
    import copy
    spec = copy.copy(spec)
    spec.shape = shape
    a = spec.make(np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))))
    flat = a.reshape(-1)
    pool = specials(a.dtype, extremes=a.dtype.kind in "iu", infinities=infinities, nans=nans)
    for _ in range(draw(st.integers(0, 4))):
        flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(pool))
    return a


@st.composite
def case_inputs(draw, case):
    """Inputs for a table case: its own shapes, or (a quarter of the time) each dim
    replaced by 0, 1 or one more; values with specials (no finite float extremes: sums and
    products of them overflow in an order-dependent way; integer range ends, but not where
    they are summed as floats); each input in some layout."""
    mutate = draw(st.integers(0, 3)) == 0
    arrs, lays = [], []
    for spec in case.inputs:
        shape = spec.shape
        if mutate:
            shape = tuple(draw(st.sampled_from((n, 0, 1, n + 1))) for n in shape)
        if np.prod(shape) > _DRAWN:
            a = draw(_sprinkled(spec, shape, not (_welford(case) or _conv(case)),
                                not _conv(case)))
        elif spec.kind == "index" and draw(st.booleans()):
            a = draw(arrays(spec.dtype, shape, 0, int(spec.high)))  # out-of-range too
        elif spec.kind == "index":
            a = np.asarray(draw(st.lists(st.integers(0, int(spec.high) - 1),
                                         min_size=int(np.prod(shape)),
                                         max_size=int(np.prod(shape))))).reshape(shape)
            a = a.astype(spec.dtype)
        else:
            ints = spec.dtype.startswith(("int", "uint"))
            a = draw(arrays(spec.dtype, shape, spec.low, spec.high,
                            extremes=ints and not _float_sum_of_ints(case),
                            unique=_ties_open(case) and spec.dtype.startswith("float"),
                            infinities=not (_welford(case) or _conv(case)),
                            nans=not _conv(case)))
        # a zero-stride view repeats values: ties, which those ops leave open
        lay = draw(layouts().filter(lambda v: v != "expanded" or not _ties_open(case)))
        arrs.append(expand_source(a, lay))
        lays.append(lay)
    return arrs, lays


def _check(fn, arrs, lays, device, what, rtol=None, atol=None):
    want = outcome(torch, fn, arrs, lays, "cpu")
    got = outcome(fw, fn, arrs, lays, device)
    assert_same_outcome(got, want, rtol, atol, what)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_table_fuzzed(case, device):
    reasons = unsupported_reasons(case, device)
    if reasons:  # a dtype the device lacks: it must refuse the case (test_op_suite.py)
        assert check_refused(case, device, reasons) is None
        return

    @FUZZ
    @given(case_inputs(case))
    def prop(inputs):
        arrs, lays = inputs
        _check(case.fn, arrs, lays, device, f"{case.name} on {device} ({lays})",
               case.rtol, case.atol)
    prop()


# -- dtype extremes on elementwise ops and order-free reductions -------------------------
DTYPES = ("float32", "float64", "int32", "int64", "bool")
UNARY = {
    "neg": lambda m, x: -x, "abs": lambda m, x: x.abs(), "sign": lambda m, x: x.sign(),
    "exp": lambda m, x: x.exp(), "log": lambda m, x: x.log(), "sqrt": lambda m, x: x.sqrt(),
    "tanh": lambda m, x: x.tanh(), "sigmoid": lambda m, x: x.sigmoid(),
    "floor": lambda m, x: x.floor(), "round": lambda m, x: x.round(),
    "reciprocal": lambda m, x: x.reciprocal(), "relu": lambda m, x: m.relu(x),
    "square": lambda m, x: x * x, "isnan": lambda m, x: (x.isnan(), x.isinf(), x.isfinite()),
    "amax_amin": lambda m, x: (x.amax(-1), x.amin(0)),
    "argmax_argmin": lambda m, x: (x.argmax(), x.argmin(-1)),
    "max_dim": lambda m, x: tuple(x.max(-1)), "clamp": lambda m, x: x.clamp(-1, 1),
    "softmax": lambda m, x: x.softmax(-1), "log_softmax": lambda m, x: x.log_softmax(0),
    "logsumexp": lambda m, x: x.logsumexp(-1), "norm": lambda m, x: x.norm(dim=-1),
    "cumsum": lambda m, x: x.cumsum(-1), "all_any": lambda m, x: (x.all(-1), x.any(0)),
    "int_scalar": lambda m, x: (x + 2 ** 40, x * 3, x - 1),
}
# (No float remainder here: where x / y overflows, PyTorch's vectorised loop gives NaN and its
# scalar loop the exact 0, so the answer depends on the tensor's length; the op table fuzzes
# remainder at moderate sizes.)


def _div_trunc(m, x, y):
    """div(rounding_mode='trunc'); in torch, an integer min / -1 is taken as min (what its
    vectorised loop gives): its scalar loop traps there (SIGFPE kills the whole run)."""
    if m is not torch or x.dtype.is_floating_point or x.dtype == torch.bool:
        return m.div(x, y, rounding_mode="trunc")
    trap = (x == torch.iinfo(x.dtype).min) & (y == -1)
    return torch.where(trap, x, torch.div(x, torch.where(trap, 1, y), rounding_mode="trunc"))


BINARY = {
    "add": lambda m, x, y: x + y, "sub": lambda m, x, y: x - y, "mul": lambda m, x, y: x * y,
    "div": lambda m, x, y: x / y, "floordiv": lambda m, x, y: x // y,
    "pow": lambda m, x, y: x ** y,
    "div_trunc": lambda m, x, y: _div_trunc(m, x, y),
    "maximum": lambda m, x, y: m.maximum(x, y), "atan2": lambda m, x, y: m.atan2(x, y),
    "compare": lambda m, x, y: (x == y, x < y, x >= y, x != y),
    "where": lambda m, x, y: m.where(x > y, x, y),
}


@st.composite
def extreme_inputs(draw, n_inputs, dtype):
    """n_inputs arrays of one small 2-D shape (the second input sometimes a broadcast row),
    values from the dtype's specials and extremes."""
    r, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    shapes = [(r, c)] + [draw(st.sampled_from(((r, c), (c,), ()))) for _ in range(n_inputs - 1)]
    arrs = [draw(arrays(dtype, s)) for s in shapes]
    lays = [draw(layouts()) for _ in shapes]
    return [expand_source(a, lay) for a, lay in zip(arrs, lays)], lays


def _unsupported(ops, n_inputs, dtype, device):
    """The float64 ops fw refuses on `device` even for a plain input of ones where torch
    computes: float64 is where the device has it, a clear error where not."""
    if dtype != "float64":
        return set()
    ones = [np.ones((1, 2), dtype)] * n_inputs
    lays = ["contiguous"] * n_inputs
    return {name for name, fn in ops.items()
            if outcome(fw, fn, ones, lays, device)[0] == "error"
            and outcome(torch, fn, ones, lays, "cpu")[0] == "value"}


def _check_all(ops, n_inputs, dtype, device):
    """Every op of `ops` on the same drawn inputs; one failure message naming each op that
    differs from torch (an op the device refuses for this dtype must refuse every input)."""
    refused = _unsupported(ops, n_inputs, dtype, device)
    sp = np.array(specials(dtype), dtype)
    pairs = np.stack(np.meshgrid(sp, sp, indexing="ij"), -1).reshape(-1, 2)
    # Always every special once: unary ops on a column of them and on rows holding every
    # pair (softmax of [1, inf], logsumexp of [inf, inf], norm of [max, max]); binary ops on
    # every pair (a column against a row); then drawn inputs.
    firsts = [[sp[:, None]], [pairs]] if n_inputs == 1 else [[sp[:, None], sp]]

    @FUZZ
    @given(extreme_inputs(n_inputs, dtype))
    def prop(inputs):
        arrs, lays = inputs
        bad = []
        for name, fn in ops.items():
            what = f"{name}({dtype}) on {device} ({lays})"
            got = outcome(fw, fn, arrs, lays, device)
            try:
                if name in refused:
                    assert got[0] == "error" and isinstance(got[1], RuntimeError), (
                        f"{what}: refused for plain input, but gave {got}")
                else:
                    assert_same_outcome(got, outcome(torch, fn, arrs, lays, "cpu"), what=what)
            except AssertionError as e:
                bad.append(str(e))
        assert not bad, "\n".join(bad)
    for arrs in firsts:
        prop = example((arrs, ["contiguous"] * n_inputs))(prop)
    prop()


@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_unary(dtype, device):
    _check_all(UNARY, 1, dtype, device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_binary(dtype, device):
    _check_all(BINARY, 2, dtype, device)


# -- sizes at the dispatch limits --------------------------------------------------------
# Row ops over the last dim of x; inputs hold small integers, so sums and scans are exact in
# float32 in any order and any difference is a wrong answer, not rounding.
ROW_OPS = {
    "sum": lambda m, x: x.sum(-1), "mean": lambda m, x: x.mean(-1),
    "amax": lambda m, x: x.amax(-1), "argmax": lambda m, x: x.argmax(-1),
    "cumsum": lambda m, x: x.cumsum(-1), "softmax": lambda m, x: x.softmax(-1),
    "logsumexp": lambda m, x: x.logsumexp(-1), "norm": lambda m, x: x.norm(dim=-1),
    "sort_stable": lambda m, x: tuple(x.sort(dim=-1, stable=True)),
    "elementwise": lambda m, x: (x * 2 + 1).abs() - x.flip(-1),
    "full_sum": lambda m, x: (x.sum(), x.max()),
}
# Beyond these, an op is slow on a software device (sort is O(n log^2 n) dispatches).
# Sizes up to BIG for the cheap reductions and scans, MID for the rest, sort up to SORT
# (O(n log^2 n) work, slow on a software device); the long profile goes to 16.8 M.
BIG = 16_800_000 if LONG else 4_200_000
MID = 16_800_000 if LONG else 1_100_000
SORT = 1_100_000 if LONG else 70_000
CAP = {"sum": BIG, "full_sum": BIG, "cumsum": BIG, "amax": BIG, "argmax": BIG,
       "sort_stable": SORT}
FORMS = ("flat", "two_rows", "columns", "many_rows")


@st.composite
def limit_input(draw, sizes, form):
    """A float32 array around one limit size, of small integers with NaN/Inf placed at
    drawn positions (the last one and the middle among them)."""
    n = draw(st.sampled_from(sizes))
    shape = {"flat": (n,), "two_rows": (2, n), "columns": (n, 2),
             "many_rows": (n, 64) if n * 64 <= MID else (n // 64, 64)}[form]
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    a = rng.integers(-2, 3, shape).astype(np.float32)
    flat = a.reshape(-1)
    for _ in range(draw(st.integers(0, 2))):
        pos = draw(st.one_of(st.sampled_from([0, flat.size - 1, flat.size // 2]),
                             st.integers(0, flat.size - 1)))
        flat[pos] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return a


@pytest.mark.parametrize("op", sorted(ROW_OPS))
def test_sizes_at_limits(op, device):
    sizes = boundary_sizes(device, CAP.get(op, MID))
    fn = ROW_OPS[op]
    # Always the largest size once (a random draw may miss it), then random sizes and forms.
    largest = np.random.default_rng(0).integers(-2, 3, sizes[-1]).astype(np.float32)

    # sort of 65,536 takes seconds on lavapipe: by default its largest size and one more
    @(settings(FUZZ, max_examples=1) if op == "sort_stable" and not LONG else FUZZ)
    @example(largest)
    @given(st.sampled_from(FORMS).flatmap(lambda f: limit_input(sizes, f)))
    def prop(a):
        # columns: the op runs over dim 0 (rows of stride 2), the others over the last dim
        f = (lambda m, x: fn(m, x.t())) if a.ndim == 2 and a.shape[1] == 2 else fn
        _check(f, [a], ["contiguous"], device, f"{op} of shape {a.shape} on {device}",
               atol=1e-4)
    prop()
