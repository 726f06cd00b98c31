"""The cpu backend's one-pass scaled adds through NumPy's own OpenBLAS (fw_numpy/blas.py),
used by the SGD and Adam updates: values, the cases that must fall back to ufuncs, and the
updates on large parameters against PyTorch with and without the BLAS path."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import framework as fw
from fw_numpy import blas

N = 2 * blas.MIN_SIZE  # large enough for the BLAS path

have_blas = pytest.mark.skipif(not blas._lookup(), reason="NumPy's BLAS is not an OpenBLAS "
                               "with axpby (the ufunc path is tested without it)")


@have_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_axpby_values(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(N).astype(dtype), rng.standard_normal(N).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-14  # one rounding (FMA) where NumPy has two
    want = y + dtype(0.3) * x
    assert blas.axpy(0.3, x, y)
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)
    want = dtype(-0.5) * x + dtype(0.9) * y
    assert blas.axpby(-0.5, x, 0.9, y)
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)
    ro = x.copy()
    ro.flags.writeable = False  # a read-only source is fine
    assert blas.axpy(1.0, ro, y)


@have_blas
def test_cases_left_to_ufuncs_are_untouched():
    x = np.ones(N, np.float32)
    cases = [(x[:blas.MIN_SIZE - 1], np.ones(blas.MIN_SIZE - 1, np.float32)),  # small
             (np.ones(2 * N, np.float32)[::2], np.ones(N, np.float32)),         # strided
             (x, np.ones(N, np.float64)),                                       # dtypes differ
             (np.ones(N, np.int32), np.ones(N, np.int32)),                      # not float
             (x, np.ones(N + 1, np.float32))]                                   # sizes differ
    ro = np.ones(N, np.float32)
    ro.flags.writeable = False
    cases.append((x, ro))                                                       # read-only y
    both = np.ones(N + 8, np.float32)
    cases.append((both[8:], both[:N]))                                          # overlapping
    for a, y in cases:
        before = y.copy()
        assert not blas.axpy(2.0, a, y) and not blas.axpby(2.0, a, 3.0, y)
        np.testing.assert_array_equal(y, before)
    assert blas.axpy(1.0, x, x) and x[0] == 2  # the same array is fine: y += y


def test_turned_off_by_the_environment():
    code = "from fw_numpy import blas; import numpy as np; print(blas._lookup() == {})"
    env = dict(os.environ, FW_CPU_BLAS_UPDATES="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("use_blas", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", OPTIMIZERS)
def test_large_parameter_trajectory_matches_torch(monkeypatch, use_blas, dtype, name, kw):
    if use_blas and not blas._lookup():
        pytest.skip("no OpenBLAS axpby here: the ufunc path is the one to test")
    monkeypatch.setattr(blas, "_fns", None if use_blas else {})
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((64, N // 64)).astype(dtype)
    grads = [rng.standard_normal(p0.shape).astype(dtype) for _ in range(4)]
    got = []
    for lib in (fw, torch):
        p = lib.tensor(p0.copy(), requires_grad=True)
        opt = getattr(lib.optim, name)([p], **kw)
        for g in grads:
            p.grad = lib.tensor(g)
            opt.step()
        got.append(p.detach().numpy())
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[0], got[1], rtol=tol, atol=tol)
    assert (blas._fns != {}) == use_blas  # the path asked for is the one that ran
