"""`out=` writes the result into the given tensor, as in PyTorch, on every device."""
import numpy as np
import pytest
import torch

import framework as fw
from oracle import assert_same_error_kind

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)
B = np.array([[2.0, 1.0, -3.0], [4.0, 0.25, 2.0]], np.float32)


def _run(lib, device, name, kw):
    dev = {} if lib is torch else {"device": device}
    a, b = lib.tensor(A, **dev), lib.tensor(B, **dev)
    out = lib.zeros(2, 3, **dev)
    ops = {"add": lambda: lib.add(a, b, alpha=2, out=out), "sub": lambda: lib.sub(a, b, out=out),
           "mul": lambda: lib.mul(a, 3.0, out=out), "div": lambda: lib.div(a, b, out=out, **kw),
           "ones": lambda: lib.ones(2, 3, out=out)}
    returned = ops[name]()
    assert returned is out
    return out.cpu().numpy()


@pytest.mark.parametrize("name,kw", [("add", {}), ("sub", {}), ("mul", {}), ("div", {}),
                                     ("div", {"rounding_mode": "floor"}), ("ones", {})])
def test_result_is_written_into_out(device, name, kw):
    np.testing.assert_allclose(_run(fw, device, name, kw), _run(torch, None, name, kw), rtol=1e-6)


def test_cat_and_stack_into_out_and_an_empty_out_takes_the_shape(device):
    a, b = fw.tensor(A, device=device), fw.tensor(B, device=device)
    empty = fw.tensor([], device=device)
    assert fw.cat([a, b], out=empty) is empty
    np.testing.assert_array_equal(empty.cpu().numpy(), np.concatenate([A, B]))
    s = fw.zeros(2, 2, 3, device=device)
    fw.stack([a, b], out=s)
    np.testing.assert_array_equal(s.cpu().numpy(), np.stack([A, B]))


def test_creation_into_out_keeps_its_dtype():
    out = fw.zeros(3, dtype=fw.int64)
    fw.ones(3, out=out)
    assert out.dtype is fw.int64 and out.tolist() == [1, 1, 1]


@pytest.mark.parametrize("code", [
    "L.add(L.ones(3), L.ones(3), out=L.zeros(3, dtype=L.int64))",      # float into long
    "L.add(L.ones(3, requires_grad=True), L.ones(3), out=L.zeros(3))",  # no autograd with out=
])
def test_errors_match_torch(code):
    assert_same_error_kind(code)


def test_out_must_be_a_tensor():
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not int"):
        fw.mul(fw.ones(3), 2, out=3)


def test_a_non_empty_out_of_another_shape_is_an_error_not_resized():
    out = fw.zeros(5)
    with pytest.raises(RuntimeError, match="does not resize"):
        fw.add(fw.ones(3), fw.ones(3), out=out)
    assert out.tolist() == [0.0] * 5
