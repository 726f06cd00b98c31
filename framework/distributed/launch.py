"""`fw run -n N script.py args...`: start N ranks with MPI's launcher.

The launcher is the `mpiexec` of the MPI wheel installed with the `distributed` extra
(beside this Python), or the system's when asked (`--mpiexec PATH` or FW_MPIEXEC). Each
rank runs `python -m framework.distributed.run_rank script.py args...`, which prefixes
its output with its rank and makes an uncaught exception end the whole job.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

__all__ = ["find_mpiexec", "mpiexec_command", "run"]


def find_mpiexec(explicit=None):
    """The MPI launcher to use: `explicit`, else $FW_MPIEXEC, else the one installed beside
    this Python (the mpich wheel's), else the first on PATH."""
    for cand in (explicit, os.environ.get("FW_MPIEXEC")):
        if cand:
            path = shutil.which(cand)
            if path is None:
                raise FileNotFoundError(f"fw run: MPI launcher {cand!r} not found")
            return path
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(here):
        return here
    path = shutil.which("mpiexec")
    if path is None:
        raise FileNotFoundError("fw run: no mpiexec found; install the distributed extra "
                                "(pip install 'fw-framework[distributed]') or pass --mpiexec")
    return path


def _flavour(mpiexec):
    """'openmpi', or 'mpich' (Hydra; also Intel MPI and MVAPICH) for anything else."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "mpich"
    return "openmpi" if ("Open MPI" in out or "OpenRTE" in out or "prterun" in out) else "mpich"


def mpiexec_command(nproc, argv, mpiexec=None, hosts=None, hostfile=None, prefix=True):
    """The full command line that runs `argv` (a script and its arguments) on `nproc` ranks."""
    mpiexec = find_mpiexec(mpiexec)
    flavour = _flavour(mpiexec)
    cmd = [mpiexec, "-n", str(nproc)]
    if flavour == "openmpi":
        # Open MPI refuses root and more ranks than cores unless told; fw run allows both
        cmd += ["--oversubscribe"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["--allow-run-as-root"]
        if hosts:
            cmd += ["--host", hosts]
        if hostfile:
            cmd += ["--hostfile", hostfile]
    else:
        if hosts:
            cmd += ["-hosts", hosts]
        if hostfile:
            cmd += ["-f", hostfile]
    cmd += [sys.executable, "-u", "-m", "framework.distributed.run_rank"]
    if not prefix:
        cmd.append("--no-prefix")
    return cmd + list(argv)


def run(nproc, argv, mpiexec=None, hosts=None, hostfile=None, timeout=None, prefix=True):
    """Run the job and return its exit code. SIGINT, SIGTERM and SIGHUP are passed on to
    the MPI launcher, which passes them to every rank. The launcher's output is relayed
    line by line so that, when it reports a process that died (by PID), fw run can name
    that process's rank: each rank leaves its PID in a scratch folder (FW_RUN_DIR)."""
    if nproc < 1:
        raise ValueError(f"fw run: -n must be at least 1, got {nproc}")
    cmd = mpiexec_command(nproc, argv, mpiexec, hosts, hostfile, prefix)
    env = dict(os.environ)
    if timeout is not None:
        env["FW_DIST_TIMEOUT"] = str(timeout)
    if nproc > 1 and "OMP_NUM_THREADS" not in env:
        # as torchrun does: N ranks each running a core's worth of BLAS threads fight over
        # the cores; set OMP_NUM_THREADS yourself to give each rank more
        env["OMP_NUM_THREADS"] = "1"
    run_dir = tempfile.mkdtemp(prefix="fw-run-")
    env["FW_RUN_DIR"] = run_dir
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    dead = []  # (pid, exit code) the MPI launcher reported

    def relay():
        out = sys.stdout.buffer
        for line in proc.stdout:
            out.write(line)
            out.flush()
            m = re.search(rb"PID (\d+) RUNNING AT", line)
            if m:
                dead.append([int(m.group(1)), "an abnormal exit"])
            m = re.search(rb"EXIT CODE: (\d+)", line)
            if m and dead:
                dead[-1][1] = f"exit code {int(m.group(1))}"
            m = re.search(rb"EXIT STRING: (.+)", line)
            if m and dead:
                dead[-1][1] += f" ({m.group(1).decode(errors='replace').strip()})"
    relayer = threading.Thread(target=relay, daemon=True)
    relayer.start()

    def forward(signum, frame):
        proc.send_signal(signum)
    forwarded = {}
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            forwarded[sig] = signal.signal(sig, forward)
    try:
        rc = proc.wait()
        relayer.join(timeout=5)
    finally:
        for sig, old in forwarded.items():
            signal.signal(sig, old)
    if rc != 0:
        for pid, how in dead:
            sys.stderr.write(f"fw run: rank {_rank_of(run_dir, pid)} (pid {pid}) ended with {how}\n")
        sys.stderr.write(f"fw run: the job failed (exit code {rc}); see the ranks' messages above\n")
    shutil.rmtree(run_dir, ignore_errors=True)
    return 128 - rc if rc < 0 else rc


def _rank_of(run_dir, pid):
    try:
        with open(os.path.join(run_dir, str(pid))) as f:
            return f.read().strip()
    except OSError:
        return "?"
