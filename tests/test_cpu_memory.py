"""The cpu backend keeps freed array memory for reuse (glibc malloc tuning), so a step that
allocates the same large arrays again does not page-fault them in again."""
import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, numpy as np
import framework as fw
fw.ones(1)  # instantiates the cpu backend
def step():
    arrays = [np.ones(1 << 20, np.float32) for _ in range(4)]  # 4 x 4 MiB, written
    del arrays
step()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) // 10)
"""

glibc = pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
                           reason="the tuning is for glibc's malloc")


def _faults_per_step(keep):
    env = dict(os.environ, FW_CPU_KEEP_MEMORY=keep)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


@glibc
def test_freed_arrays_are_reused_without_page_faults():
    # 16 MiB per step is 4096 pages; kept memory faults none of them in again
    assert _faults_per_step("1") < 100


@glibc
def test_the_tuning_can_be_turned_off():
    assert _faults_per_step("0") > 1000
