"""The backend conformance kit: run the op suite on a device and compare with a reference.

The reference is PyTorch where it is importable. Without it, the reference is fw itself on
the "composed" device: the cpu backend's primitives with every fused op (conv, pooling,
norms, softmax, cross-entropy, LSTM cell, optimizer steps, ...) reset to the composed
default of framework/device.py and framework/fused/, so a tuned kernel is never checked
against itself or another tuned kernel.
"""
import contextlib
import functools
import importlib.util
import os
import warnings

import numpy as np

from ..dtypes import LOW_PRECISION, bfloat16

_BF16 = bfloat16.np
_LOW = {d.np for d in LOW_PRECISION}


def available_devices():
    """Device types to test: every registered backend that is available, "cpu" first.
    FW_TEST_DEVICES=cpu,opencl restricts the list."""
    from ..plugins import registry
    from ..devices import DeviceModule
    registry.load("fw.backends")
    wanted = os.environ.get("FW_TEST_DEVICES")
    types = sorted(registry.backends, key=lambda t: (t != "cpu", t))
    if wanted:
        types = [t for t in types if t in {w.strip() for w in wanted.split(",")}]
    return [t for t in types if DeviceModule(t).is_available()]


# -- the reference ----------------------------------------------------------------------------
COMPOSED = "composed"  # the device type of the composed reference, registered only while used


def fused_op_names():
    """Every optional op of the device interface that has a composed default: the fused layer
    and optimizer ops (with the mixins' private helpers, which a backend could shadow too)
    and `pad`, `softmax`, `log_softmax`."""
    from ..fused import NNOps, OptimOps
    names = [n for mixin in (NNOps, OptimOps) for n, f in vars(mixin).items() if callable(f)]
    return sorted(set(names) | {"pad", "softmax", "log_softmax"})


def composed_backend_class(base=None):
    """A subclass of the cpu backend (or `base`) whose fused ops are the composed defaults of
    `Backend`, and which has no `check_index_range` hook (the frontend then checks on the host)."""
    from .. import plugins
    return _composed_class(base or plugins.registry.backend_class("cpu"))


@functools.lru_cache(maxsize=None)
def _composed_class(base):
    from ..device import Backend
    attrs = {name: getattr(Backend, name) for name in fused_op_names()}
    attrs.update(type=COMPOSED, check_index_range=None,
                 __doc__="The cpu backend's primitives with fw's composed fused ops.")
    return type("ComposedReference", (base,), attrs)


@contextlib.contextmanager
def composed_device():
    """Register the composed reference as device type "composed" for the duration."""
    from .. import plugins
    reg = plugins.registry
    cls = composed_backend_class()
    with reg._lock:
        if COMPOSED in reg.backends:  # a plugin's device of that name, or a run in progress
            raise RuntimeError(f"device type '{COMPOSED}' is taken; use reference='torch'")
        reg.backends[COMPOSED] = (cls, "framework.testing")
    try:
        yield COMPOSED
    finally:
        with reg._lock:
            reg.backends.pop(COMPOSED, None)
            for key in [k for k, be in reg._instances.items() if be.device.type == COMPOSED]:
                del reg._instances[key]


def default_reference():
    """"torch" where PyTorch is importable, else "composed"."""
    return "torch" if importlib.util.find_spec("torch") is not None else COMPOSED


@contextlib.contextmanager
def _one_thread(torch):
    """PyTorch on one thread: on tensors this small its thread pool only waits, up to 20x
    longer on a busy 2-core machine (cross_entropy's backward: 33 ms instead of 1.8 ms)."""
    n = torch.get_num_threads()
    if n != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if n != 1:
            torch.set_num_threads(n)


def reference_results(case, reference, seed=0):
    """(values, grads) of `case` under `reference`: "torch" or "composed"."""
    if reference == "torch":
        import torch
        with warnings.catch_warnings(), _one_thread(torch):
            warnings.simplefilter("ignore")  # PyTorch's performance hints are not the backend's
            return run_case(case, torch, "cpu", seed)
    if reference != COMPOSED:
        raise ValueError(f"reference must be 'torch' or '{COMPOSED}', got {reference!r}")
    import framework as fw
    with composed_device() as dev:
        return run_case(case, fw, dev, seed)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def tensor_of(lib, a, device):
    """NumPy array `a` as a tensor of `lib`; bfloat16 (ml_dtypes', which PyTorch can't read)
    through float32, which holds it exactly."""
    if a.dtype == _BF16:
        return lib.tensor(a.astype(np.float32), device=device).to(lib.bfloat16)
    return lib.tensor(a, device=device)


def array_of(t):
    """Tensor `t` (fw or PyTorch) as a NumPy array; bfloat16 as ml_dtypes' bfloat16."""
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        return t.float().cpu().numpy().astype(_BF16)
    return t.cpu().numpy().copy()


def run_case(case, lib, device, seed=0, to_tensor=None):
    """Run `case` with library `lib` (fw or torch) on `device`. Returns (outputs as NumPy
    arrays, input gradients as NumPy arrays or None)."""
    arrays = case.make_inputs(seed)
    xs = []
    for spec, a in zip(case.inputs, arrays):
        t = tensor_of(lib, a, device)
        if spec.grad and case.grad:
            t.requires_grad_(True)
        xs.append(t)
    outs = _outputs(case.fn(lib, *xs))
    values = [array_of(o) for o in outs]
    grads = None
    diff = [o for o in outs if o.dtype.is_floating_point and o.requires_grad]
    wanted = [x for x in xs if x.requires_grad]
    if case.grad and diff and wanted:
        rng = np.random.default_rng(seed + 1)
        loss = None
        for o in diff:
            w = lib.tensor(rng.standard_normal(tuple(o.shape)).astype(np.float64),
                           device=device).to(o.dtype)
            term = (o * w).sum()
            loss = term if loss is None else loss + term
        gs = lib.autograd.grad(loss, wanted, allow_unused=True)
        grads = [None if g is None else array_of(g) for g in gs]
    return values, grads


class ConformanceReport:
    """Cases passed, failed (name, why) and unsupported (name, the device's reason): a case
    whose dtypes the device lacks (`Backend.dtype_unsupported`) is not compared; it passes
    as unsupported when the device refuses it with that reason, and fails otherwise."""

    def __init__(self, device, reference=None):
        self.device, self.reference, self.passed, self.failed = device, reference, [], []
        self.unsupported = []

    @property
    def ok(self):
        return not self.failed

    def summary(self):
        lines = [f"{self.device}: {len(self.passed)} passed, {len(self.failed)} failed"
                 + (f", {len(self.unsupported)} unsupported" if self.unsupported else "")
                 + (f" (reference: {self.reference})" if self.reference else "")]
        lines += [f"  FAIL {name}: {why}" for name, why in self.failed]
        reasons = {}
        for name, why in self.unsupported:  # one line per reason, not per case
            reasons.setdefault(why, []).append(name)
        lines += [f"  UNSUPPORTED {', '.join(names)}: {why}" for why, names in reasons.items()]
        return "\n".join(lines)


def unsupported_reasons(case, device):
    """{dtype: why} for the dtypes of `case` that `device` lacks (empty: it can run it)."""
    from ..plugins import registry
    be = registry.backend(device)
    reasons = {d: be.dtype_unsupported(d) for d in case.dtypes}
    return {d: why for d, why in reasons.items() if why}


def check_refused(case, device, reasons, seed=0):
    """None if running `case` on `device` raises RuntimeError with one of `reasons` (as a
    device lacking a dtype must: never a silent other dtype), else what happened instead."""
    import framework as fw
    try:
        run_case(case, fw, device, seed)
    except RuntimeError as exc:
        if str(exc) in reasons.values():
            return None
        return f"expected the device to refuse its dtype, got RuntimeError: {exc}"
    return "the device says it lacks " + ", ".join(d.name for d in reasons) + " but ran the case"


def compare(case, got, want):
    """None if the (values, grads) pairs agree within the case's tolerance, else why not."""
    for kind, g_list, w_list in (("value", got[0], want[0]), ("grad", got[1], want[1])):
        if (g_list is None) != (w_list is None):
            return f"{kind}s: one side has none"
        for i, (g, w) in enumerate(zip(g_list or [], w_list or [])):
            if (g is None) != (w is None):
                return f"{kind} {i}: one side is None"
            if g is None:
                continue
            if g.shape != w.shape:
                return f"{kind} {i}: shape {g.shape} != {w.shape}"
            if g.dtype != w.dtype and kind == "value":
                return f"{kind} {i}: dtype {g.dtype} != {w.dtype}"
            if g.dtype in _LOW:  # float16/bfloat16: compared as the float64 they hold
                g, w = g.astype(np.float64), w.astype(np.float64)
            if not np.allclose(g, w, rtol=case.rtol, atol=case.atol, equal_nan=True):
                err = np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))
                return f"{kind} {i}: max abs error {err:.3g}"
    return None


def run_conformance(device, cases=None, seed=0, reference=None):
    """Run every case (or `cases`) on `device` with fw and compare with `reference`: "torch"
    or "composed" (the default: "torch" where it is importable)."""
    import framework as fw
    from .cases import CASES
    reference = reference or default_reference()
    report = ConformanceReport(device, reference)
    for case in cases or CASES:
        reasons = unsupported_reasons(case, device)
        if reasons:
            why = check_refused(case, device, reasons, seed)
            if why is None:
                report.unsupported.append((case.name, next(iter(reasons.values()))))
            else:
                report.failed.append((case.name, why))
            continue
        try:
            got = run_case(case, fw, device, seed)
            want = reference_results(case, reference, seed)
            why = compare(case, got, want)
        except Exception as exc:  # a crash is a failure of that case, not of the kit
            why = f"{type(exc).__name__}: {exc}"
        (report.failed.append((case.name, why)) if why else report.passed.append(case.name))
    return report
