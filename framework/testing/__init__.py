"""Tools for testing fw and third-party backends.

    from framework.testing import run_conformance
    report = run_conformance("mydevice")   # every op and fused-op case, values and gradients
    assert report.ok, report.summary()

or from a shell: `fw conformance mydevice`. The reference is PyTorch where it is importable,
else fw's composed ops on the cpu primitives (`reference="composed"`).
"""
import os

from .cases import CASES, Case, I, case
from .conformance import available_devices, run_case, run_conformance, ConformanceReport

__all__ = ["CASES", "Case", "I", "case", "available_devices", "run_case", "run_conformance",
           "ConformanceReport"]
