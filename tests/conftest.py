import os

import pytest

# Installed third-party plugins must not leak into fw's own suite unless asked for.
os.environ.setdefault("FW_STRICT_PLUGINS", "0")

from framework.testing import available_devices  # noqa: E402

DEVICES = available_devices()


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", DEVICES)
