"""fw.distributed: collectives, DDP, ZeRO and the failure model, each in a job started with
`fw run -n N` (the jobs live in tests/dist_jobs/ and check many things per launch, since
a launch costs about a second); the sampler against PyTorch's in this process."""
import os
import subprocess
import sys
import time

import pytest

import framework as fw
import framework.distributed as dist
from framework.utils.data import DistributedSampler

JOBS = os.path.join(os.path.dirname(__file__), "dist_jobs")


def _launcher_missing():
    try:
        import mpi4py  # noqa: F401  (only whether it imports)
    except ImportError:
        return "mpi4py is not installed (pip install 'fw-framework[distributed]')"
    from framework.distributed.launch import find_mpiexec
    try:
        find_mpiexec()
    except FileNotFoundError as e:
        return str(e)
    return None


needs_mpi = pytest.mark.skipif(_launcher_missing() is not None, reason=str(_launcher_missing()))


def fw_run(n, *args, timeout=120, popen=False):
    cmd = [sys.executable, "-m", "framework.cli", "run", "-n", str(n), *args]
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _passed(res, n, word):
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    for r in range(n):
        assert f"[rank {r}] {word} ok" in out, out[-3000:]


def _opencl():
    try:
        return fw.opencl.is_available()
    except Exception:
        return False


@needs_mpi
def test_collectives_ddp_syncbn_zero_checkpoint_two_ranks(tmp_path):
    """Every collective, op and dtype against NumPy (and the errors), then DDP, no_sync,
    unused parameters, SyncBatchNorm, ZeRO and checkpoints against one process: one launch."""
    devices = ["cpu", "opencl"] if _opencl() else ["cpu"]
    res = fw_run(2, os.path.join(JOBS, "run_jobs.py"), "collectives_job.py", *devices, "--",
                 "ddp_job.py", str(tmp_path / "ck.pt"), *devices[1:])
    _passed(res, 2, "collectives")
    _passed(res, 2, "ddp")


@needs_mpi
def test_collectives_four_ranks_oversubscribed():
    _passed(fw_run(4, os.path.join(JOBS, "collectives_job.py"), "--quick"), 4, "collectives")


@needs_mpi
def test_failing_rank_ends_the_job(tmp_path):
    """A rank that raises, one killed by SIGKILL, and one that never joins a collective:
    each job ends soon with a non-zero exit and a message naming the rank (three jobs at
    once, to save time)."""
    job = tmp_path / "fail.py"
    job.write_text(
        "import os, signal, sys, time\n"
        "import framework as fw, framework.distributed as dist\n"
        "dist.init_process_group()\n"
        "t = fw.ones(3)\n"
        "dist.all_reduce(t)\n"
        "if dist.get_rank() == 1:\n"
        "    mode = sys.argv[1]\n"
        "    if mode == 'raise':\n"
        "        raise ValueError('boom on purpose')\n"
        "    if mode == 'kill':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    time.sleep(60)\n"
        "dist.all_reduce(t)\n"
        "print('finished')\n")
    start = time.monotonic()
    procs = {m: fw_run(2, "--timeout", "1", str(job), m, popen=True) for m in ("raise", "kill", "absent")}
    outs = {}
    for m, p in procs.items():
        try:
            outs[m] = p.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            for q in procs.values():
                q.kill()
            pytest.fail(f"the '{m}' job did not end")
    assert time.monotonic() - start < 40
    for m, p in procs.items():
        assert p.returncode != 0, (m, outs[m])
        assert "finished" not in outs[m], (m, outs[m])
    assert "rank 1 failed with ValueError: boom on purpose" in outs["raise"], outs["raise"]
    assert "[rank 1] ValueError: boom on purpose" in outs["raise"]
    assert "fw run: rank 1 (pid" in outs["kill"] and "signal 9" in outs["kill"], outs["kill"]
    assert "rank 0: all_reduce did not complete within 1 s" in outs["absent"], outs["absent"]


def test_fw_run_command_line(monkeypatch):
    from framework.distributed import launch
    from framework.distributed.run_rank import _Prefixed
    with pytest.raises(FileNotFoundError, match="no-such-mpiexec"):
        launch.find_mpiexec("no-such-mpiexec")
    monkeypatch.setenv("FW_MPIEXEC", "no-such-mpiexec-either")
    with pytest.raises(FileNotFoundError, match="no-such-mpiexec-either"):
        launch.find_mpiexec()
    monkeypatch.setenv("FW_MPIEXEC", sys.executable)  # any program will do for the command line
    monkeypatch.setattr(launch, "_flavour", lambda m: "mpich")
    cmd = launch.mpiexec_command(3, ["train.py", "--lr", "1"], hosts="a,b", prefix=False)
    assert cmd[:5] == [sys.executable, "-n", "3", "-hosts", "a,b"]
    assert cmd[-5:] == ["framework.distributed.run_rank", "--no-prefix", "train.py", "--lr", "1"]
    monkeypatch.setattr(launch, "_flavour", lambda m: "openmpi")
    cmd = launch.mpiexec_command(2, ["t.py"], hostfile="hosts.txt")
    assert "--oversubscribe" in cmd and cmd[cmd.index("--hostfile") + 1] == "hosts.txt"
    with pytest.raises(ValueError, match="at least 1"):
        launch.run(0, ["t.py"])

    class Sink:
        text = ""

        def write(self, s):
            Sink.text += s

        def flush(self):
            pass
    p = _Prefixed(Sink(), "[rank 3] ")
    p.write("a\nb")
    p.write("c\n\nd")
    p.flush()
    assert Sink.text == "[rank 3] a\n[rank 3] bc\n[rank 3] \n[rank 3] d"


def test_without_the_extra_init_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    assert dist.is_available() and not dist.is_mpi_available()
    with pytest.raises(RuntimeError, match=r"fw-framework\[distributed\]"):
        dist.init_process_group()
    assert not dist.is_initialized() and dist.get_rank() == -1 and dist.get_world_size() == -1


def test_errors_without_a_process_group():
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(fw.ones(2))
    with pytest.raises(ValueError, match="has not been initialized"):
        fw.nn.parallel.DistributedDataParallel(fw.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="backend"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="timeout"):
        dist.init_process_group("mpi", timeout=-1)


def test_sampler_partitions_as_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in (1, 7, 10, 11, 100):
        for replicas in (1, 2, 3, 4):
            for shuffle in (False, True):
                for drop_last in (False, True):
                    for rank in range(replicas):
                        kw = dict(num_replicas=replicas, rank=rank, shuffle=shuffle, seed=5,
                                  drop_last=drop_last)
                        ours, theirs = DistributedSampler(range(n), **kw), TorchSampler(range(n), **kw)
                        for epoch in (0, 3):
                            ours.set_epoch(epoch)
                            theirs.set_epoch(epoch)
                            assert list(ours) == list(theirs), (n, kw, epoch)
                            assert len(ours) == len(theirs)
    big = dict(num_replicas=3, rank=2, seed=2 ** 33 + 1)
    assert list(DistributedSampler(range(5000), **big)) == list(TorchSampler(range(5000), **big))
    for bad in (dict(num_replicas=2, rank=2), dict(num_replicas=2, rank=-1)):
        with pytest.raises(ValueError, match="Invalid rank"):
            DistributedSampler(range(4), **bad)
        with pytest.raises(ValueError, match="Invalid rank"):
            TorchSampler(range(4), **bad)
    del torch


def test_engine_queue_callback_runs_when_backward_ends():
    """DDP's end-of-backward seam: a callback queued from a hook runs after the graph."""
    from framework.autograd import engine
    seen = []
    w = fw.ones(3, requires_grad=True)
    v = fw.ones(3, requires_grad=True)
    w.register_post_accumulate_grad_hook(
        lambda p: engine.queue_callback(lambda: seen.append((p.grad.tolist(), v.grad.tolist()))))
    (w * 2 + v * w).sum().backward()
    assert seen == [([3.0] * 3, [1.0] * 3)]  # v's gradient was in place too
    with pytest.raises(RuntimeError, match="while a backward pass runs"):
        engine.queue_callback(lambda: None)
