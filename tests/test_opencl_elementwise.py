"""The elementwise primitives (unary, binary, where, cast) and the fused optimizer steps
of a backend, called directly on Views, against PyTorch (and NumPy where PyTorch has no
such op). Written for the OpenCL backend's kernels, run on every device: contiguous,
strided, broadcast, offset, scalar, 0-dim, empty and large operands; edge values."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import dtypes as dt
from framework.device import BINARY_OPS, UNARY_OPS
from framework.testing import available_devices

RNG = np.random.default_rng(0)
DTYPES = {"float32": dt.float32, "float64": dt.float64, "int32": dt.int32, "int64": dt.int64,
          "bool": dt.bool}
FLOAT_ONLY = {"exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
              "sigmoid", "erf", "reciprocal", "asin", "acos", "atan", "sinh", "cosh", "log2",
              "log10", "exp2"}
# Inputs inside each op's domain (floats); everything else gets [-3, 3].
DOMAIN = {"log": (0.1, 4), "sqrt": (0.1, 4), "rsqrt": (0.1, 4), "log2": (0.1, 4),
          "log10": (0.1, 4), "reciprocal": (0.2, 4), "log1p": (-0.9, 3), "asin": (-0.95, 0.95),
          "acos": (-0.95, 0.95), "tan": (-1.4, 1.4), "pow": (0.1, 3)}
TORCH_UNARY = {"bitwise_not": torch.bitwise_not, "relu": torch.relu}
TORCH_BINARY = {"div": torch.true_divide, "pow": torch.pow, "atan2": torch.atan2}
COMPARE = {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"}
BITWISE = {"bitwise_and", "bitwise_or", "bitwise_xor"}


def backend(device):
    return fw.empty(0, device=device)._be


def data(shape, dtype, lo=-3.0, hi=3.0):
    if dtype in ("float32", "float64"):
        return RNG.uniform(lo, hi, shape).astype(dtype)
    if dtype == "bool":
        return RNG.integers(0, 2, shape).astype(bool)
    return RNG.integers(int(min(lo, -1)) - 5, int(hi) + 6, shape).astype(dtype)


def view_of(device, array, layout="contiguous"):
    """A View of `array`'s values on `device`, laid out as asked (the values stay those
    of `array`): 'contiguous', 'transposed' (a permuted copy read back through .t()),
    'sliced' (every other element of a bigger buffer, at an offset)."""
    if layout == "contiguous":
        return fw.tensor(array, device=device)._v
    if layout == "transposed":
        return fw.tensor(np.ascontiguousarray(array.T), device=device).t()._v
    big = np.zeros((2 * array.size + 3,), array.dtype)
    big[3::2] = array.reshape(-1)
    return fw.tensor(big, device=device)[3::2].reshape(array.shape)._v


def numpy_of(device, v):
    return backend(device).to_numpy(v)


def torch_unary(op, x):
    t = torch.from_numpy(x)
    f = TORCH_UNARY.get(op) or getattr(torch, op)
    return f(t).numpy()


def torch_binary(op, x, y):
    a = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
    b = torch.from_numpy(y) if isinstance(y, np.ndarray) else y
    f = TORCH_BINARY.get(op) or getattr(torch, op)
    if not isinstance(a, torch.Tensor):  # scalar first: torch wants a tensor there
        a = torch.tensor(a, dtype=b.dtype)
    return f(a, b).numpy()


def check(got, want, dtype):
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype == np.bool_ or dtype in ("int32", "int64", "bool"):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
    else:
        tol = 2e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def unary_cases():
    for op in UNARY_OPS:
        for d in ("float32", "float64", "int32", "int64", "bool"):
            if d in ("int32", "int64", "bool") and op in FLOAT_ONLY:
                continue
            if op == "bitwise_not" and d.startswith("float") or op == "neg" and d == "bool":
                continue
            yield op, d


def binary_cases():
    for op in BINARY_OPS:
        for d in ("float32", "float64", "int32", "int64", "bool"):
            if op in BITWISE and d.startswith("float") or op == "atan2" and not d.startswith("float"):
                continue
            if d == "bool" and op not in COMPARE | BITWISE | {"add", "mul", "maximum", "minimum"}:
                continue
            yield op, d


def bool_unary(op, x):  # torch refuses most unary ops on bool; NumPy's answers
    return np.logical_not(x) if op in ("logical_not", "bitwise_not") else x.copy()


def bool_binary(op, x, y):
    f = {"add": np.logical_or, "mul": np.logical_and, "maximum": np.maximum,
         "minimum": np.minimum}.get(op)
    return f(x, y) if f else torch_binary(op, x, y)


@pytest.mark.parametrize("op,dtype", list(unary_cases()))
def test_unary(device, op, dtype):
    be = backend(device)
    lo, hi = DOMAIN.get(op, (-3, 3))
    x = data((5, 7), dtype, lo, hi)
    if dtype.startswith("float"):
        x[0, :3] = [0.5, -2.5, 1.5]  # round() ties go to even
    want = bool_unary(op, x) if dtype == "bool" else torch_unary(op, x)
    for layout in ("contiguous", "transposed", "sliced"):
        got = numpy_of(device, be.unary(op, view_of(device, x, layout)))
        check(got, want, dtype)
    # 0-dim and empty
    check(numpy_of(device, be.unary(op, view_of(device, x[1, 1].copy()))), want[1, 1], dtype)
    empty = be.unary(op, view_of(device, x[:0]))
    assert empty.shape == (0, 7) and numpy_of(device, empty).shape == (0, 7)


@pytest.mark.parametrize("op,dtype", list(binary_cases()))
def test_binary(device, op, dtype):
    be = backend(device)
    lo, hi = DOMAIN.get(op, (-3, 3))
    x, y = data((4, 6), dtype, lo, hi), data((4, 6), dtype, lo, hi)
    if op in ("floor_divide", "remainder", "div") and dtype.startswith("int"):
        x[x == 0], y[y == 0] = 5, 3  # x is the divisor of the swapped cases
    if op == "pow" and dtype.startswith("int"):  # exponents >= 0: see test_int_semantics
        x, y = np.abs(x) % 5, np.abs(y) % 5  # they swap roles below
    ref = bool_binary if dtype == "bool" else torch_binary
    if op == "div" and dtype.startswith("int"):  # integer `div` truncates, in the dtype
        ref = lambda op_, a, b: torch.div(torch.as_tensor(a), torch.as_tensor(b),  # noqa: E731
                                          rounding_mode="trunc").numpy()
    # same shapes, every combination of layouts
    want = ref(op, x, y)
    for la, lb in (("contiguous", "contiguous"), ("transposed", "sliced"),
                   ("sliced", "contiguous")):
        got = numpy_of(device, be.binary(op, view_of(device, x, la), view_of(device, y, lb)))
        check(got, want, dtype)
    # broadcasting: (4, 6) with (6,), (4, 1) and a 0-dim tensor, both ways round
    for yb in (y[0], y[:, :1], y[2, 3].copy()):
        check(numpy_of(device, be.binary(op, view_of(device, x), view_of(device, yb))),
              ref(op, x, np.broadcast_to(yb, x.shape).copy()), dtype)
        check(numpy_of(device, be.binary(op, view_of(device, yb), view_of(device, x))),
              ref(op, np.broadcast_to(yb, x.shape).copy(), x), dtype)
    # a Python scalar on either side, with contiguous and strided tensors
    s = {"float32": 1.75, "float64": 1.75, "int32": 3, "int64": 3, "bool": True}[dtype]
    sv = np.full(x.shape, s, x.dtype)
    for layout in ("contiguous", "transposed"):
        check(numpy_of(device, be.binary(op, view_of(device, x, layout), s)), ref(op, x, sv),
              dtype)
        if not (op in ("floor_divide", "remainder", "div") and dtype.startswith("int")):
            check(numpy_of(device, be.binary(op, s, view_of(device, x, layout))),
                  ref(op, sv, x), dtype)
    # empty
    e = be.binary(op, view_of(device, x[:0]), view_of(device, y[0]))
    assert e.shape == (0, 6)


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_large(device, dtype):
    be = backend(device)
    n = 100_003  # not a multiple of any chunk or vector width
    x, y = data((n,), dtype), data((n,), dtype)
    vx, vy = view_of(device, x), view_of(device, y)
    check(numpy_of(device, be.binary("add", vx, vy)), x + y, dtype)
    check(numpy_of(device, be.binary("mul", vx, 2)), x * 2, dtype)
    check(numpy_of(device, be.unary("neg", vx)), -x, dtype)
    check(numpy_of(device, be.binary("lt", vx, vy)), x < y, dtype)
    # a large strided and broadcast case: (n/7, 7) plus a row, and a transposed read
    x2 = data((1000, 101), dtype)
    row = data((101,), dtype)
    check(numpy_of(device, be.binary("sub", view_of(device, x2, "transposed"),
                                     view_of(device, row))), x2 - row, dtype)
    cond = x > 0
    check(numpy_of(device, be.where(view_of(device, cond), vx, vy)), np.where(cond, x, y), dtype)
    check(numpy_of(device, be.cast(vx, dt.float32)), x.astype(np.float32), "float32")


def test_float_edge_values(device):
    be = backend(device)
    nan, inf = float("nan"), float("inf")
    x = np.array([nan, inf, -inf, 0.0, -0.0, 100.0, -100.0, 1e30, -1e30], np.float32)
    v = view_of(device, x)
    check(numpy_of(device, be.unary("sign", v)), torch.sign(torch.from_numpy(x)).numpy(), "float32")
    assert numpy_of(device, be.unary("sign", v))[0] == 0  # sign(nan) = 0, as PyTorch
    check(numpy_of(device, be.unary("relu", v)), torch.relu(torch.from_numpy(x)).numpy(), "float32")
    sig = numpy_of(device, be.unary("sigmoid", v))
    check(sig, torch.sigmoid(torch.from_numpy(x)).numpy(), "float32")
    assert np.isfinite(sig[1:]).all()
    for op in ("maximum", "minimum"):  # NaN propagates from either side
        got = numpy_of(device, be.binary(op, v, view_of(device, x[::-1].copy())))
        check(got, getattr(torch, op)(torch.from_numpy(x), torch.from_numpy(x[::-1].copy())).numpy(),
              "float32")
    r = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 3.5], np.float32)
    check(numpy_of(device, be.unary("round", view_of(device, r))), np.round(r), "float32")
    # Python's sign conventions of floor division and remainder, zero divisors included
    a = np.array([7, -7, 7, -7, 0, 5.5, -5.5, 1, -1, 0], np.float32)
    b = np.array([2, 2, -2, -2, 3, 0.5, -2, 0, 0, 0], np.float32)
    for op in ("floor_divide", "remainder"):
        got = numpy_of(device, be.binary(op, view_of(device, a), view_of(device, b)))
        want = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
        np.testing.assert_array_equal(got, want)
        ok = ~np.isnan(want)  # a NaN's sign bit means nothing
        np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(want[ok]))
    # a float scalar too large for float32 becomes inf, as in PyTorch
    got = numpy_of(device, be.binary("add", view_of(device, np.ones(2, np.float32)), 1e39))
    np.testing.assert_array_equal(got, [inf, inf])


def test_int_semantics(device):
    be = backend(device)
    big = np.array([2**40 + 5, -(2**35), 2**62, -(2**63)], np.int64)
    v = view_of(device, big)
    check(numpy_of(device, be.binary("add", v, v)), big + big, "int64")  # wraps
    check(numpy_of(device, be.binary("mul", v, 3)), big * 3, "int64")
    check(numpy_of(device, be.unary("neg", v)), -big, "int64")
    check(numpy_of(device, be.binary("sub", v, 2**40)), big - 2**40, "int64")
    i32 = np.array([2**31 - 1, -(2**31), 5], np.int32)
    check(numpy_of(device, be.binary("add", view_of(device, i32), 1)), i32 + np.int32(1), "int32")
    # floor division and remainder follow Python's signs, also for scalar operands
    a = np.array([7, -7, 7, -7, 0, -(2**31)], np.int32)
    b = np.array([2, 2, -2, -2, 3, -1], np.int32)
    va, vb = view_of(device, a), view_of(device, b)
    for op in ("floor_divide", "remainder"):
        want = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
        check(numpy_of(device, be.binary(op, va, vb)), want, "int32")
        check(numpy_of(device, be.binary(op, va, -3)),
              getattr(torch, op)(torch.from_numpy(a), -3).numpy(), "int32")
    # integer pow by squaring, exponents 0..20 and wrap-around
    x = np.array([2, 3, -2, -1, 0, 1, 7], np.int64)
    e = np.array([20, 13, 7, 5, 0, 9, 25], np.int64)
    check(numpy_of(device, be.binary("pow", view_of(device, x), view_of(device, e))),
          torch.pow(torch.from_numpy(x), torch.from_numpy(e)).numpy(), "int64")


@pytest.mark.parametrize("cl_device", ["opencl"] if "opencl" in available_devices() else [])
def test_opencl_int_pow_negative_exponents(cl_device):
    """PyTorch's integer pow with negative tensor exponents: 1 / x truncated (the CPU
    backend raises NumPy's ValueError instead)."""
    be = backend(cl_device)
    x = np.array([2, 1, -1, -1, 0, -3], np.int32)
    e = np.array([-1, -5, -3, -2, -1, -2], np.int32)
    check(numpy_of(cl_device, be.binary("pow", view_of(cl_device, x), view_of(cl_device, e))),
          torch.pow(torch.from_numpy(x), torch.from_numpy(e)).numpy(), "int32")


def test_integer_division_by_zero_raises(device):
    """A Python 0 divisor raises in the backend; a tensor's zeros raise in the frontend
    (a deferred device check on accelerators), which passes ones to the backend."""
    be = backend(device)
    a = view_of(device, np.array([4, 5, 6], np.int64))
    x = fw.tensor([4, 5, 6], device=device)
    for op in ("floor_divide", "remainder"):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            numpy_of(device, be.binary(op, a, 0))
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            getattr(fw, op)(x, fw.tensor([1, 0, 2], device=device)).cpu()
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):  # broadcast divisor
            getattr(fw, op)(x, fw.tensor(0, device=device)).cpu()
    # torch agrees
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.tensor([4]) // torch.tensor([0])


def test_where(device):
    be = backend(device)
    for d in ("float32", "int64", "bool"):
        c = data((3, 5), "bool")
        x, y = data((3, 5), d), data((5,), d)
        vc = view_of(device, c)
        check(numpy_of(device, be.where(vc, view_of(device, x), view_of(device, x[::-1].copy()))),
              np.where(c, x, x[::-1]), d)
        check(numpy_of(device, be.where(view_of(device, c, "transposed"), view_of(device, x, "sliced"),
                                        view_of(device, y))), np.where(c, x, y), d)
        check(numpy_of(device, be.where(view_of(device, c[0]), view_of(device, x),
                                        view_of(device, y[0].copy()))), np.where(c[0], x, y[0]), d)
        s = x.dtype.type(1)
        check(numpy_of(device, be.where(vc, view_of(device, x), s)), np.where(c, x, s), d)
        check(numpy_of(device, be.where(vc, s, view_of(device, x))), np.where(c, s, x), d)
    assert be.where(view_of(device, np.zeros((0, 2), bool)), view_of(device, np.ones(2, np.float32)),
                    0.0).shape == (0, 2)


CASTS = [(a, b) for a in DTYPES for b in DTYPES]


@pytest.mark.parametrize("src,dst", CASTS)
def test_cast(device, src, dst):
    be = backend(device)
    if src.startswith("float"):
        x = np.array([0.0, -0.0, 1.7, -1.7, 2.5, -2.5, 3e9, -3e9, 0.25, 123456.75], src)
        if dst == "int32":
            x = x[np.abs(x) < 2**31]  # out of range is undefined for float -> int32
    elif src == "int64":
        x = np.array([0, 1, -1, 2**31 + 7, -(2**40), 2**53 + 1, 255], np.int64)
        if dst == "int32":
            x = x[np.abs(x) < 2**31]
    elif src == "int32":
        x = np.array([0, 1, -1, 2**31 - 1, -(2**31), 255], np.int32)
    else:
        x = np.array([True, False, True])
    want = torch.from_numpy(x).to(getattr(torch, dst)).numpy()
    for layout in ("contiguous", "sliced"):
        got = numpy_of(device, be.cast(view_of(device, x, layout), DTYPES[dst]))
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert be.cast(view_of(device, x[:0]), DTYPES[dst]).shape == (0,)


def _cl_devices():
    return ["opencl"] if "opencl" in available_devices() else []


@pytest.mark.parametrize("cl_device", _cl_devices())
def test_opencl_without_fp64(cl_device, monkeypatch):
    from fw_opencl.backend import OpenCLBackend
    be = OpenCLBackend()  # a fresh runtime whose device claims no cl_khr_fp64
    monkeypatch.setattr(be.rt, "fp64", False)
    x = be.from_numpy(np.ones(3, np.float32))
    with pytest.raises(RuntimeError, match="float64 is not supported"):
        be.cast(x, dt.float64)
    with pytest.raises(RuntimeError, match="float64 is not supported"):
        be.from_numpy(np.ones(3))
    np.testing.assert_array_equal(be.to_numpy(be.binary("add", x, 1.0)), [2, 2, 2])


@pytest.mark.parametrize("cl_device", _cl_devices())
def test_opencl_programs_per_dtype(cl_device):
    """All elementwise ops of one dtype share one program (PoCL builds are slow)."""
    be = backend(cl_device)
    v = view_of(cl_device, np.ones(4, np.float32))
    for op in ("add", "mul", "lt", "maximum"):
        be.binary(op, v, v)
    be.unary("exp", v)
    be.cast(v, dt.int32)
    progs = {k for k in be.rt._programs if k[0] == "elementwise.cl"
             and ("T", "float") in k[1]}
    assert len(progs) == 1


def test_unknown_ops_raise(device):
    be = backend(device)
    v = view_of(device, np.ones(3, np.float32))
    with pytest.raises((ValueError, KeyError, NotImplementedError)):
        be.binary("nope", v, v)
    with pytest.raises((ValueError, KeyError, NotImplementedError, AttributeError)):
        be.unary("nope", v)


# -- fused optimizer steps --------------------------------------------------------------------
def _sgd_ref(p, g, buf, lr, momentum, dampening, nesterov, wd, maximize, first):
    """PyTorch's single-tensor SGD, in float64 NumPy."""
    d = -g if maximize else g.copy()
    if wd:
        d = d + wd * p
    if momentum:
        buf[...] = d if first else momentum * buf + (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    p -= lr * d


def _adam_ref(p, g, m, v, vmax, t, lr, b1, b2, eps, wd, decoupled, amsgrad, maximize):
    g = -g if maximize else g.copy()
    if wd and decoupled:
        p *= 1 - lr * wd
    elif wd:
        g = g + wd * p
    m += (1 - b1) * (g - m)
    v[...] = b2 * v + (1 - b2) * g * g
    if amsgrad:
        vmax[...] = np.maximum(vmax, v)
    second = vmax if amsgrad else v
    denom = np.sqrt(second) / np.sqrt(1 - b2 ** t) + eps
    p -= lr / (1 - b1 ** t) * m / denom


SGD_CONFIGS = [dict(momentum=0.0, dampening=0.0, nesterov=False, wd=0.0, maximize=False),
               dict(momentum=0.9, dampening=0.0, nesterov=False, wd=0.01, maximize=False),
               dict(momentum=0.9, dampening=0.0, nesterov=True, wd=0.0, maximize=True),
               dict(momentum=0.5, dampening=0.3, nesterov=False, wd=0.1, maximize=False)]


@pytest.mark.parametrize("cfg", SGD_CONFIGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_step(device, cfg, dtype):
    be = backend(device)
    n = 1001
    p0 = data((n,), dtype)
    ref_p, ref_buf = p0.astype(np.float64), np.zeros(n)
    vp = view_of(device, p0)
    vbuf = view_of(device, np.zeros(n, dtype)) if cfg["momentum"] else None
    for step in range(3):
        g = data((n,), dtype)
        be.sgd_step_(vp, view_of(device, g), vbuf, 0.1, cfg["momentum"], cfg["dampening"],
                     cfg["nesterov"], cfg["wd"], cfg["maximize"], step == 0)
        _sgd_ref(ref_p, g.astype(np.float64), ref_buf, 0.1, cfg["momentum"], cfg["dampening"],
                 cfg["nesterov"], cfg["wd"], cfg["maximize"], step == 0)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(numpy_of(device, vp), ref_p, rtol=tol, atol=tol)
    if vbuf is not None:
        np.testing.assert_allclose(numpy_of(device, vbuf), ref_buf, rtol=tol, atol=tol)


ADAM_CONFIGS = [dict(wd=0.0, decoupled=False, amsgrad=False, maximize=False),
                dict(wd=0.05, decoupled=False, amsgrad=True, maximize=False),
                dict(wd=0.05, decoupled=True, amsgrad=False, maximize=True),
                dict(wd=0.01, decoupled=True, amsgrad=True, maximize=False)]


@pytest.mark.parametrize("cfg", ADAM_CONFIGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_step(device, cfg, dtype):
    be = backend(device)
    n = 1001
    p0 = data((n,), dtype)
    ref = [p0.astype(np.float64), np.zeros(n), np.zeros(n), np.zeros(n)]
    views = [view_of(device, p0)] + [view_of(device, np.zeros(n, dtype)) for _ in range(3)]
    for t in range(1, 5):
        g = data((n,), dtype)
        be.adam_step_(views[0], view_of(device, g), views[1], views[2],
                      views[3] if cfg["amsgrad"] else None, t, 1e-2, 0.9, 0.999, 1e-8,
                      cfg["wd"], cfg["decoupled"], cfg["amsgrad"], cfg["maximize"])
        _adam_ref(*ref[:1], g.astype(np.float64), *ref[1:], t, 1e-2, 0.9, 0.999, 1e-8,
                  cfg["wd"], cfg["decoupled"], cfg["amsgrad"], cfg["maximize"])
    tol = 1e-5 if dtype == "float32" else 1e-10
    for v, r in zip(views, ref):
        if v is views[3] and not cfg["amsgrad"]:
            continue
        np.testing.assert_allclose(numpy_of(device, v), r, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["sgd", "sgd_nesterov", "adam", "adamw_amsgrad"])
def test_optim_steps_match_torch(device, kind):
    """The fused steps, fed torch's gradients, track torch.optim for a few steps."""
    be = backend(device)
    p0 = RNG.standard_normal((7, 9)).astype(np.float32)
    tp = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    if kind.startswith("sgd"):
        opt = torch.optim.SGD([tp], lr=0.05, momentum=0.9, weight_decay=0.01,
                              nesterov=kind == "sgd_nesterov")
    elif kind == "adam":
        opt = torch.optim.Adam([tp], lr=0.01, weight_decay=0.1, foreach=False)
    else:
        opt = torch.optim.AdamW([tp], lr=0.01, weight_decay=0.1, amsgrad=True, foreach=False)
    vp = view_of(device, p0)
    state = [view_of(device, np.zeros_like(p0)) for _ in range(3)]
    for t in range(1, 5):
        g = RNG.standard_normal(p0.shape).astype(np.float32)
        tp.grad = torch.from_numpy(g.copy())
        opt.step()
        vg = view_of(device, g)
        if kind.startswith("sgd"):
            be.sgd_step_(vp, vg, state[0], 0.05, 0.9, 0.0, kind == "sgd_nesterov", 0.01, False,
                         t == 1)
        else:
            be.adam_step_(vp, vg, state[0], state[1], state[2], t, 0.01, 0.9, 0.999, 1e-8, 0.1,
                          kind != "adam", kind != "adam", False)
    np.testing.assert_allclose(numpy_of(device, vp), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_optim_steps_on_strided_views(device):
    """Non-contiguous parameters take the composed path and give the same update."""
    be = backend(device)
    p0 = data((6, 4), "float32")
    g = data((6, 4), "float32")
    flat = view_of(device, p0)
    strided = view_of(device, p0, "transposed")  # same values, read through .t()
    for v in (flat, strided):
        be.adam_step_(v, view_of(device, g), view_of(device, np.zeros_like(p0)),
                      view_of(device, np.zeros_like(p0)), None, 1, 0.1, 0.9, 0.999, 1e-8, 0.0,
                      False, False, False)
    np.testing.assert_allclose(numpy_of(device, strided), numpy_of(device, flat), rtol=1e-6)


@pytest.mark.parametrize("cl_device", _cl_devices())
def test_opencl_gpu_style_kernels(cl_device):
    """The kernels as built for GPUs (work-items striding over a grid, `at()` indexing),
    forced on whatever device is here, with a grid smaller than the data."""
    from fw_opencl.backend import OpenCLBackend
    be = OpenCLBackend()
    st = be._ew_state()
    st.chunked, st.wg, st.max_groups = False, 64, 3
    for d in ("float32", "int64", "bool"):
        x, y = data((300, 7), d), data((7,), d)
        vx = be.from_numpy(np.ascontiguousarray(x.T))
        vxt = type(vx)(vx.buf, (300, 7), (1, 300), 0, vx.dtype)  # x, read transposed
        vy = be.from_numpy(y)
        vxc = be.from_numpy(x)
        op = "add" if d != "bool" else "logical_xor"
        ref = torch_binary(op, x, np.broadcast_to(y, x.shape).copy())
        check(be.to_numpy(be.binary(op, vxt, vy)), ref, d)
        check(be.to_numpy(be.binary(op, vxc, be.contiguous(vxt))), torch_binary(op, x, x), d)
        s = x.dtype.type(1)
        check(be.to_numpy(be.binary("lt", vxt, s)), x < s, d)
        check(be.to_numpy(be.unary("abs", vxt)), np.abs(x) if d != "bool" else x, d)
        c = be.from_numpy(x != 0)
        check(be.to_numpy(be.where(c, vxc, vy)), np.where(x != 0, x, y), d)
        check(be.to_numpy(be.cast(vxt, dt.float32)), x.astype(np.float32), "float32")
    p, g = data((1000,), "float32"), data((1000,), "float32")
    vp, m, v = be.from_numpy(p), be.from_numpy(np.zeros_like(p)), be.from_numpy(np.zeros_like(p))
    be.adam_step_(vp, be.from_numpy(g), m, v, None, 1, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False,
                  False)
    ref = [p.astype(np.float64), np.zeros(1000), np.zeros(1000), np.zeros(1000)]
    _adam_ref(ref[0], g.astype(np.float64), *ref[1:], 1, 0.1, 0.9, 0.999, 1e-8, 0.0, False,
              False, False)
    np.testing.assert_allclose(be.to_numpy(vp), ref[0], rtol=1e-5, atol=1e-6)
    num, den = np.arange(-250, 250, dtype=np.int64), np.arange(1, 501, dtype=np.int64)
    check(be.to_numpy(be.binary("floor_divide", be.from_numpy(num), be.from_numpy(den))),
          num // den, "int64")
