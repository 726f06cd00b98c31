"""The backend conformance kit: run the op suite on a device and compare with "cpu"."""
import os

import numpy as np


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


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def run_case(case, lib, device, seed=0, to_tensor=None):
    """Run `case` with library `lib` (fw or torch) on `device`. Returns (outputs as NumPy
    arrays, input gradients as NumPy arrays or None)."""
    arrays = case.make_inputs(seed)
    xs = []
    for spec, a in zip(case.inputs, arrays):
        t = lib.tensor(a, device=device)
        if spec.grad and case.grad:
            t.requires_grad_(True)
        xs.append(t)
    outs = _outputs(case.fn(lib, *xs))
    values = [o.detach().cpu().numpy().copy() for o in outs]
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
        grads = [None if g is None else g.detach().cpu().numpy().copy() for g in gs]
    return values, grads


class ConformanceReport:
    def __init__(self, device):
        self.device, self.passed, self.failed = device, [], []

    @property
    def ok(self):
        return not self.failed

    def summary(self):
        lines = [f"{self.device}: {len(self.passed)} passed, {len(self.failed)} failed"]
        lines += [f"  FAIL {name}: {why}" for name, why in self.failed]
        return "\n".join(lines)


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
            if not np.allclose(g, w, rtol=case.rtol, atol=case.atol, equal_nan=True):
                err = np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))
                return f"{kind} {i}: max abs error {err:.3g}"
    return None


def run_conformance(device, cases=None, seed=0):
    """Run every case on `device` and on "cpu" with fw, and compare."""
    import framework as fw
    from .cases import CASES
    report = ConformanceReport(device)
    for case in cases or CASES:
        try:
            got = run_case(case, fw, device, seed)
            want = run_case(case, fw, "cpu", seed)
            why = compare(case, got, want)
        except Exception as exc:  # a crash is a failure of that case, not of the kit
            why = f"{type(exc).__name__}: {exc}"
        (report.failed.append((case.name, why)) if why else report.passed.append(case.name))
    return report
