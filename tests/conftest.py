import os
import time

import pytest
from hypothesis import HealthCheck, Phase, settings

# Installed third-party plugins must not leak into fw's own suite unless asked for.
os.environ.setdefault("FW_STRICT_PLUGINS", "0")

from framework.testing import available_devices  # noqa: E402

# The oracle's tensors are tiny: PyTorch's intra-op threads only spin against fw's work on
# a small machine (a small cross_entropy backward: 33 ms on 2 threads, 1.8 ms on one).
import torch  # noqa: E402
torch.set_num_threads(1)

# fw's own devices. A third-party backend installed beside fw (CI installs the example
# "counting" one) runs the conformance kit (tests/test_conformance.py), which is its
# contract, not fw's whole suite; FW_TEST_DEVICES=<type> runs everything on it.
DEVICES = [d for d in available_devices()
           if os.environ.get("FW_TEST_DEVICES") or d in ("cpu", "opencl", "vulkan")]

# A software Vulkan driver (lavapipe, how CI runs "vulkan") costs ~100 us per dispatch, so
# by default that device runs the op suite (every op's values and gradients against
# PyTorch) and tests/test_vulkan.py, not every device-parametrised test. Naming it in
# FW_TEST_DEVICES (e.g. FW_TEST_DEVICES=vulkan) runs everything on it.
OP_SUITE_ONLY = set() if os.environ.get("FW_TEST_DEVICES") else {"vulkan"}


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        everywhere = metafunc.module.__name__.endswith(("test_op_suite", "test_fuzz"))
        metafunc.parametrize("device", [d for d in DEVICES
                                        if everywhere or d not in OP_SUITE_ONLY])


# tests/test_fuzz.py's profiles (registered, not loaded: other Hypothesis tests keep theirs).
# "fuzz" keeps CI fast and reproducible (few examples, a fixed seed); FW_FUZZ=long selects
# "fuzz-long", the nightly-style run: many more examples, fresh seeds, bigger sizes.
# Shrinking a failure to a minimal example takes minutes on a busy 2-core machine: CI reports
# the example as found, FW_FUZZ_SHRINK=1 (or the long profile) shrinks it.
_SHRINK = [Phase.shrink] if os.environ.get("FW_FUZZ_SHRINK") else []
_FUZZ_COMMON = dict(deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.large_base_example])
settings.register_profile("fuzz", max_examples=3, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.generate] + _SHRINK, **_FUZZ_COMMON)
settings.register_profile("fuzz-long", max_examples=60, **_FUZZ_COMMON)


# -- the suite's time budget: seconds per device, printed at the end -----------------------
_SECONDS = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    yield
    spec = getattr(item, "callspec", None)
    stage = (spec.params.get("device") if spec else None) or "no device"
    _SECONDS[stage] = _SECONDS.get(stage, 0.0) + time.perf_counter() - start


def pytest_terminal_summary(terminalreporter):
    if _SECONDS:
        terminalreporter.write_line("seconds per device: " + ", ".join(
            f"{k} {v:.0f}" for k, v in sorted(_SECONDS.items(), key=lambda kv: -kv[1])))
