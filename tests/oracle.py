"""Helpers shared by the tests that compare fw with PyTorch."""
import torch

import framework as fw


def assert_same_error_kind(code):
    """`code` (with `L` standing for the library) must fail in torch, and fail in fw with
    the same exception type or a subclass of it."""
    kinds = []
    for lib in (torch, fw):
        try:
            eval(code, {"L": lib})
            kinds.append(None)
        except Exception as e:  # noqa: BLE001 - the type is what we compare
            kinds.append(type(e))
    assert kinds[0] is not None, "torch accepts this; the test is wrong"
    assert kinds[1] is kinds[0] or issubclass(kinds[1], kinds[0]), kinds
