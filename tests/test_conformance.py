"""The conformance kit: every available device passes it (the third-party "counting"
backend too, when installed), and a backend with one wrong primitive fails it."""
import importlib.metadata as md
import sys
import types

import pytest

import framework as fw
from framework import plugins
from framework.plugins import OWN_DIST, Registry, hookimpl
from framework.testing import CASES, available_devices, run_conformance
from fw_numpy.backend import NumpyBackend


def _counting_installed():
    try:
        md.distribution("fw-counting")
        return True
    except md.PackageNotFoundError:
        return False


@pytest.mark.parametrize("dev", available_devices())
def test_device_passes_the_kit(dev):
    report = run_conformance(dev)
    assert report.ok, report.summary()
    assert len(report.passed) == len(CASES)


@pytest.mark.skipif(not _counting_installed(), reason="pip install ./examples/third_party_backend")
def test_counting_backend_is_found_and_counts():
    import fw_counting
    assert "counting" in available_devices()
    assert plugins.registry.records["counting"].dist == "fw-counting"
    x = fw.ones(2, 3, device="counting")
    fw_counting.reset()
    y = (x.exp() + x).sum()
    counts = fw_counting.counts("counting")
    assert counts["unary.exp"] == 1 and counts["binary.add"] == 1 and counts["reduce.sum"] == 1
    assert y.device == fw.device("counting") and y.item() == pytest.approx(6 * (2.718281828 + 1))
    assert fw_counting.backend_for("counting") is plugins.registry.backend("counting")


class WrongExp(NumpyBackend):
    """Right everywhere except exp, which is off by 1%: the kit must notice."""
    type = "wrongexp"

    def unary(self, op, x):
        out = super().unary(op, x)
        return self.binary("mul", out, 1.01) if op == "exp" else out


@pytest.fixture
def wrong_registry(monkeypatch):
    monkeypatch.delenv("FW_TEST_DEVICES", raising=False)  # a run restricted to other devices
    @hookimpl
    def fw_register_backends(register):
        register("wrongexp", WrongExp)

    mod = types.ModuleType("fwt_wrongexp")
    mod.fw_register_backends = fw_register_backends
    monkeypatch.setitem(sys.modules, "fwt_wrongexp", mod)
    reg = Registry([md.distribution(OWN_DIST).entry_points["cpu"],
                    md.EntryPoint("wrongexp", "fwt_wrongexp", "fw.backends")])
    monkeypatch.setattr(plugins, "registry", reg)
    return reg


def test_wrong_backend_fails_the_kit(wrong_registry):
    assert "wrongexp" in available_devices()
    report = run_conformance("wrongexp")
    assert not report.ok
    failed = dict(report.failed)
    assert "exp" in failed and failed["exp"].startswith("value 0: max abs error")
    assert "add_broadcast" in report.passed          # the rest of the backend is right
    assert "wrongexp: " in report.summary() and "FAIL exp" in report.summary()


def test_crash_is_a_failure_of_that_case(wrong_registry, monkeypatch):
    def broken_matmul(self, a, b):
        raise NotImplementedError("matmul is not written yet")

    monkeypatch.setattr(WrongExp, "matmul", broken_matmul)
    cases = [c for c in CASES if c.name in ("mm", "neg") or c.name.startswith("matmul")]
    report = run_conformance("wrongexp", cases)
    assert "neg" in report.passed
    assert any("NotImplementedError: matmul is not written yet" in why for _, why in report.failed)
