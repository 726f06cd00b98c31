"""Every case of the op suite, on every available device, against PyTorch; and the fused-op
cases on the composed reference (the kit's reference without PyTorch, and the defaults a new
backend inherits), against PyTorch too."""
import pytest

import framework as fw
from framework.testing import CASES
from framework.testing.conformance import (COMPOSED, check_refused, compare, reference_results,
                                           run_case, unsupported_reasons)

FUSED = [c for c in CASES if "fused" in c.tags]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_matches_torch(case, device):
    reasons = unsupported_reasons(case, device)
    if reasons:  # a dtype the device lacks: it must refuse the case with its reason
        why = check_refused(case, device, reasons)
        assert why is None, f"{case.name} on {device}: {why}"
        return
    got = run_case(case, fw, device)
    want = reference_results(case, "torch")
    why = compare(case, got, want)
    assert why is None, f"{case.name} on {device}: {why}"


@pytest.mark.parametrize("case", FUSED, ids=[c.name for c in FUSED])
def test_composed_reference_matches_torch(case):
    got = reference_results(case, COMPOSED)
    why = compare(case, got, reference_results(case, "torch"))
    assert why is None, f"{case.name} on the composed reference: {why}"
