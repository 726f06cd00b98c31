"""How many threads NumPy's BLAS may use: the cores this process may run on, fewer while
other processes keep them busy.

Why: OpenBLAS's threads wait for each other by spinning. On a machine whose cores are taken
by other processes, a worker that the OS has descheduled stalls every product, and its
partner spins meanwhile, taking CPU from everyone: a Transformer inference step went from
1.8 s with one BLAS thread to 11.6 s with two (load average 7 on 2 cores), where PyTorch's
OpenMP threads, which sleep after a short spin, took 1.5 s.

The ceiling is the number of cores available to the process: its CPU affinity, and a
cgroup's CPU quota (`cpu.max`) where one is set. Below it, the count follows the
machine's load: at most every 0.25 s (checked at the start of the products, so nothing runs
in the background) the count of runnable threads in `/proc/loadavg`, less this process's,
feeds a moving average of how many cores others keep busy, and BLAS gets the cores left
(at least one). An explicit `fw.set_num_threads(n)`, `OPENBLAS_NUM_THREADS`,
`OMP_NUM_THREADS` or `FW_CPU_ADAPTIVE_THREADS=0` fixes the count instead.
"""
import math
import os
import time

from . import blas

_INTERVAL = 0.25      # seconds between looks at the load
_SMOOTHING = 0.3      # weight of the newest look in the moving average


def available_cores():
    """Cores this process may use: its affinity mask, capped by a cgroup v2/v1 CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


def _cgroup_quota():
    """The cgroup's CPU quota in cores, or None when it has none."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:  # cgroup v2: "max 100000" or "200000 100000"
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def _runnable():
    """Threads runnable on the machine now (the 4th field of /proc/loadavg, "running/total"),
    or None where it cannot be read."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _own_running():
    """This process's threads in state R (running or runnable), from /proc/self/task."""
    n = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    # the state follows the parenthesised name, which may hold spaces
                    n += f.read().rpartition(")")[2].split()[0] == "R"
            except (OSError, IndexError):
                pass
    except OSError:
        return 1
    return max(1, n)


class Policy:
    def __init__(self):
        self.ceiling = available_cores()
        fixed = any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
        self.adaptive = os.environ.get("FW_CPU_ADAPTIVE_THREADS", "1") != "0" and not fixed
        self.current = None   # what BLAS was last set to by this policy
        self.others = 0.0     # moving average of cores kept busy by other processes
        self.next_look = 0.0
        if self.adaptive:
            self._apply(self.ceiling)

    def _apply(self, n):
        if n != self.current and blas.set_openblas_threads(n):
            self.current = n

    def fix(self, n):
        """fw.set_num_threads(n): n threads from now on, whatever the load."""
        self.adaptive = False
        self.ceiling = n
        self.current = None
        return blas.set_num_threads(n)

    def adapt(self):
        """Called before a product: look at the load now and then and resize BLAS."""
        now = time.monotonic()
        if not self.adaptive or now < self.next_look:
            return
        self.next_look = now + _INTERVAL
        running = _runnable()
        if running is None:
            return
        # less our own: this thread, and BLAS's workers, which may still spin from the
        # previous product
        others = max(0, running - _own_running())
        self.others += _SMOOTHING * (others - self.others)
        self._apply(max(1, min(self.ceiling, round(self.ceiling - self.others))))


_policy = None


def policy():
    global _policy
    if _policy is None:
        _policy = Policy()
    return _policy


def adapt():
    p = _policy
    if p is not None and p.adaptive:
        p.adapt()
