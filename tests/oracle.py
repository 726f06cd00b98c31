"""Helpers shared by the tests that compare fw with PyTorch."""
import warnings

import torch

import framework as fw


def assert_same_error(fn):
    """`fn(lib)` must fail in torch, and fail in fw with the same exception type or a
    subclass of it (warnings on the way are not the point)."""
    kinds = []
    for lib in (torch, fw):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(lib)
            kinds.append(None)
        except Exception as e:  # noqa: BLE001 - the type is what we compare
            kinds.append(type(e))
    assert kinds[0] is not None, "torch accepts this; the test is wrong"
    assert kinds[1] is not None and issubclass(kinds[1], kinds[0]), kinds


def assert_same_error_kind(code):
    """`assert_same_error` of `code`, an expression with `L` standing for the library."""
    assert_same_error(lambda lib: eval(code, {"L": lib}))


def assert_second_derivative_matches(fn, data, rtol):
    """First and second derivatives of `fn(lib, x).sum()` at float64 `data` agree with torch
    (the second through `create_graph=True`)."""
    import numpy as np
    out = []
    for lib in (torch, fw):
        x = lib.tensor(data, requires_grad=True)
        (g,) = lib.autograd.grad(fn(lib, x).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        out.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=rtol, atol=1e-12)
