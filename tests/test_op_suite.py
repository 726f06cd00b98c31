"""Every case of the op suite, on every available device, against PyTorch."""
import pytest
import torch

import framework as fw
from framework.testing import CASES
from framework.testing.conformance import compare, run_case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_matches_torch(case, device):
    got = run_case(case, fw, device)
    want = run_case(case, torch, "cpu")
    why = compare(case, got, want)
    assert why is None, f"{case.name} on {device}: {why}"
