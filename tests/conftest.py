import os

import pytest

# Installed third-party plugins must not leak into fw's own suite unless asked for.
os.environ.setdefault("FW_STRICT_PLUGINS", "0")

from framework.testing import available_devices  # noqa: E402

DEVICES = available_devices()

# A software Vulkan driver (lavapipe, how CI runs "vulkan") costs ~100 us per dispatch, so
# by default that device runs the op suite (every op's values and gradients against
# PyTorch) and tests/test_vulkan.py, not every device-parametrised test. Naming it in
# FW_TEST_DEVICES (e.g. FW_TEST_DEVICES=vulkan) runs everything on it.
OP_SUITE_ONLY = set() if os.environ.get("FW_TEST_DEVICES") else {"vulkan"}


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        everywhere = metafunc.module.__name__.endswith("test_op_suite")
        metafunc.parametrize("device", [d for d in DEVICES
                                        if everywhere or d not in OP_SUITE_ONLY])
