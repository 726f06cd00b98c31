"""The conformance kit: every available device passes it (the third-party "counting"
backend too, when installed), and a backend with one wrong primitive fails it."""
import importlib.metadata as md
import sys
import types

import pytest

import framework as fw
from framework import plugins
from framework.plugins import Registry, hookimpl
from framework.device import Backend
from framework.testing import CASES, available_devices, run_conformance
from framework.testing.conformance import (COMPOSED, composed_backend_class, default_reference,
                                           fused_op_names, run_case)
from fw_numpy.backend import NumpyBackend
from fw_numpy.nn_ops import NumpyNNOps
from fw_numpy.optim_ops import NumpyOptimOps


def _counting_installed():
    try:
        md.distribution("fw-counting")
        return True
    except md.PackageNotFoundError:
        return False


# fw's own devices run the same table against the same reference (torch) in
# tests/test_op_suite.py; here the kit runs on the others (the "counting" backend in CI).
@pytest.mark.parametrize("dev", [d for d in available_devices()
                                 if d not in ("cpu", "opencl", "vulkan")])
def test_device_passes_the_kit(dev):
    report = run_conformance(dev)
    assert report.ok, report.summary()
    assert len(report.passed) == len(CASES)


def test_cpu_passes_the_kit_without_torch():
    """The reference without PyTorch: the cpu backend's tuned kernels against the composed
    defaults (the other cases run the same code on both sides)."""
    report = run_conformance("cpu", [c for c in CASES if "fused" in c.tags], reference=COMPOSED)
    assert report.ok, report.summary()
    assert len(report.passed) > 100 and report.summary().endswith("(reference: composed)")


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


def _register(monkeypatch, device_type, cls):
    """A registry with the cpu backend and `cls` as `device_type`, in place of fw's own."""
    monkeypatch.delenv("FW_TEST_DEVICES", raising=False)  # a run restricted to other devices
    @hookimpl
    def fw_register_backends(register):
        register(device_type, cls)

    mod = types.ModuleType(f"fwt_{device_type}")
    mod.fw_register_backends = fw_register_backends
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    reg = Registry([md.distribution("fw-numpy").entry_points["cpu"],
                    md.EntryPoint(device_type, mod.__name__, "fw.backends")])
    monkeypatch.setattr(plugins, "registry", reg)
    return reg


@pytest.fixture
def wrong_registry(monkeypatch):
    return _register(monkeypatch, "wrongexp", WrongExp)


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


class WrongFused(NumpyBackend):
    """Right primitives, two wrong fused kernels: conv2d 1% too large, and Adam's bias
    corrections always those of the first step."""
    type = "wrongfused"

    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        out = super().conv2d(x, weight, bias, stride, padding, dilation, groups)
        return self.binary("mul", out, 1.01)

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *hyper):
        super().adam_step_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, 1, *hyper)


@pytest.mark.parametrize("reference", ["torch", COMPOSED])
def test_wrong_fused_kernel_fails_the_kit(monkeypatch, reference):
    _register(monkeypatch, "wrongfused", WrongFused)
    names = ("conv2d", "conv2d_s2_p1_d2_g3", "conv1d_s2_p1_d2_g2", "optim.Adam", "optim.AdamW",
             "optim.SGD_lr=0.05_momentum=0.9_dampening=0.5", "F.linear_5x4", "max_pool2d",
             "cross_entropy_smoothing=0.25_weight=True")
    cases = [c for c in CASES if c.name in names]
    report = run_conformance("wrongfused", cases, reference=reference)
    failed = dict(report.failed)
    assert sorted(failed) == ["conv1d_s2_p1_d2_g2", "conv2d", "conv2d_s2_p1_d2_g3", "optim.Adam",
                              "optim.AdamW"], report.summary()
    assert len(report.passed) == 4
    assert all(why.startswith("value 0: max abs error") for why in failed.values())
    assert f"(reference: {reference})" in report.summary()


def test_composed_reference_has_no_tuned_kernel():
    """The reference without PyTorch runs Backend's composed default of every fused op (the
    cpu backend's own kernels and the index-range hook removed), on the cpu primitives."""
    cls = composed_backend_class()
    names = fused_op_names()
    for name in names:
        assert getattr(cls, name) is getattr(Backend, name), name
    assert cls.check_index_range is None and issubclass(cls, NumpyBackend)
    # every kernel the cpu backend tunes is one of them (a new one added there is caught here)
    tuned = {n for mixin in (NumpyNNOps, NumpyOptimOps) for n in vars(mixin)
             if not n.startswith("_") and callable(getattr(mixin, n))}
    assert tuned - {"check_index_range"} <= set(names), tuned - set(names)
    assert {"pad", "softmax", "log_softmax", "matmul_bias", "relu_backward", "cross_entropy",
            "cross_entropy_grad", "lstm_cell", "lstm_cell_grad", "conv2d", "conv2d_grad_input",
            "conv2d_grad_weight", "max_pool2d", "max_pool2d_grad", "avg_pool2d",
            "avg_pool2d_grad", "layer_norm", "layer_norm_grad", "sgd_step_",
            "adam_step_"} <= set(names)
    assert COMPOSED not in available_devices()          # registered only while it runs
    assert default_reference() == "torch"               # torch is installed beside the tests


PUBLIC_FUSED = [n for n in fused_op_names() if not n.startswith("_")] + ["check_index_range"]


class Tracing(NumpyBackend):
    """The cpu backend, recording which fused ops the frontend calls."""
    type = "tracing"
    called = set()


def _traced(name):
    def op(self, *args, **kwargs):
        Tracing.called.add(name)
        return getattr(NumpyBackend, name)(self, *args, **kwargs)
    return op


for _name in PUBLIC_FUSED:
    setattr(Tracing, _name, _traced(_name))


def test_the_table_reaches_every_fused_op(monkeypatch):
    _register(monkeypatch, "tracing", Tracing)
    Tracing.called.clear()
    for case in CASES:
        if "fused" in case.tags:
            run_case(case, fw, "tracing")
    assert Tracing.called == set(PUBLIC_FUSED), set(PUBLIC_FUSED) - Tracing.called


def test_command_takes_the_reference():
    from click.testing import CliRunner
    from framework.cli import main
    r = CliRunner().invoke(main, ["conformance", "cpu", "--reference", "composed",
                                  "-k", "optim.SGD_"])
    assert r.exit_code == 0 and "cpu: 10 passed, 0 failed (reference: composed)" in r.output


def test_case_names_are_unique():
    """A report, `-k` and the test ids name cases: one name, one case."""
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names), sorted(n for n in set(names) if names.count(n) > 1)
