"""The cpu backend's BLAS thread count (backends/fw_numpy/threads.py) and the per-op profiler
(framework/op_profiler.py)."""
import numpy as np
import pytest

import framework as fw
from fw_numpy import threads


def test_available_cores_follow_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: None)
    assert threads.available_cores() == 4
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1.5)  # 150 % of a core: 2 threads
    assert threads.available_cores() == 2
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {3})
    assert threads.available_cores() == 1


def _policy(monkeypatch, ceiling, running):
    """A policy over a fake BLAS (the counts it was set to) and a fake load."""
    sets = []
    monkeypatch.setattr(threads, "available_cores", lambda: ceiling)
    monkeypatch.setattr(threads.blas, "set_openblas_threads", lambda n: sets.append(n) or True)
    monkeypatch.setattr(threads, "_runnable", lambda: running[0])
    monkeypatch.setattr(threads, "_own_running", lambda: 1)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "FW_CPU_ADAPTIVE_THREADS"):
        monkeypatch.delenv(var, raising=False)
    return threads.Policy(), sets


def _looks(p, n):
    for _ in range(n):
        p.next_look = 0.0
        p.adapt()


def test_threads_drop_under_load_and_come_back(monkeypatch):
    running = [1]  # only this thread
    p, sets = _policy(monkeypatch, 4, running)
    assert sets == [4] and p.current == 4
    _looks(p, 20)
    assert p.current == 4
    running[0] = 1 + 6  # six busy threads elsewhere: one core left to us, at least
    _looks(p, 20)
    assert p.current == 1 and sets[-1] == 1
    running[0] = 1 + 2  # two of the four cores busy: two for BLAS
    _looks(p, 30)
    assert p.current == 2
    running[0] = 1
    _looks(p, 30)
    assert p.current == 4


def test_environment_or_set_num_threads_fix_the_count(monkeypatch):
    running = [10]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    p = threads.Policy()
    assert not p.adaptive
    p, sets = _policy(monkeypatch, 4, running)
    assert p.adaptive
    monkeypatch.setattr(threads.blas, "set_num_threads", lambda n: sets.append(("fixed", n)) or True)
    p.fix(3)
    _looks(p, 10)
    assert sets[-1] == ("fixed", 3) and not p.adaptive and p.ceiling == 3


def test_op_profiler_counts_backend_calls_and_leaves_nothing_behind():
    from framework.op_profiler import profile_ops
    be = fw.plugins.registry.backend("cpu")
    a = fw.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    b = fw.tensor(np.ones((4, 2), np.float32))
    with profile_ops(shapes=True) as prof:
        out = (a @ b).relu().sum()
    assert float(out) == pytest.approx(float((a.numpy() @ b.numpy()).sum()))
    assert prof.stats["matmul 3x4 4x2"][0] == 1
    assert any(k.startswith("reduce:sum") for k in prof.stats)
    assert "matmul" not in vars(be)  # the timing wrappers are gone
    text = prof.table()
    assert "matmul 3x4 4x2" in text and "total (wall)" in text
