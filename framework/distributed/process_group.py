"""The process group: MPI's world communicator behind torch.distributed's names.

mpi4py is imported only by `init_process_group`, so `import framework.distributed` works
without the `distributed` extra. MPI has no timeout of its own: every collective here is
non-blocking and its wait polls against the group's timeout (see `collectives.wait`).
"""
import datetime
import enum
import os
import sys
import traceback

__all__ = ["ReduceOp", "init_process_group", "destroy_process_group", "is_available",
           "is_initialized", "is_mpi_available", "get_rank", "get_world_size", "get_backend",
           "DistError", "DistBackendError"]

# torch's default for CPU backends is 30 minutes; fw picks 5, so that a lost rank ends the
# job in minutes (FW_DIST_TIMEOUT, in seconds, or `timeout=` change it).
DEFAULT_TIMEOUT = datetime.timedelta(minutes=5)

_EXTRA_HINT = ("framework.distributed needs mpi4py and an MPI library: "
               "pip install 'fw-framework[distributed]' (mpi4py and the mpich wheel)")


class DistError(RuntimeError):
    """Raised by a collective that cannot be done (torch.distributed.DistError)."""


class DistBackendError(DistError):
    """The communication itself failed or timed out (torch.distributed.DistBackendError)."""


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    def __repr__(self):
        return f"<ReduceOp.{self.name}>"


class _Group:
    """What init_process_group sets up: a private duplicate of MPI's world communicator
    (so user code on COMM_WORLD never matches fw's messages) and the timeout."""

    def __init__(self, MPI, comm, timeout):
        self.MPI, self.comm, self.timeout = MPI, comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        # the ranks compare each collective's shape and dtype first (one small message);
        # FW_DIST_CHECKS=0 skips that, for latency-bound code that is known to agree
        self.check = os.environ.get("FW_DIST_CHECKS", "1") != "0"


_group = None


def _mpi():
    """mpi4py's MPI module, or an error naming the extra that brings it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"{_EXTRA_HINT} ({e})") from None
    return MPI


def is_available():
    """True: fw always has the distributed package (its MPI backend may be missing)."""
    return True


def is_mpi_available():
    """Whether mpi4py and an MPI library can be loaded."""
    try:
        _mpi()
    except RuntimeError:
        return False
    return True


def is_initialized():
    return _group is not None


def _seconds(timeout):
    if timeout is None:
        env = os.environ.get("FW_DIST_TIMEOUT")
        return float(env) if env else DEFAULT_TIMEOUT.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive timedelta or number of seconds, got {timeout!r}")
    return float(timeout)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the MPI job this process was started in (`fw run -n N`, or any `mpiexec`).
    Rank and world size come from MPI; `world_size`/`rank`, when given, must agree with it.
    A process started without a launcher is a world of one."""
    global _group
    if backend not in (None, "mpi"):
        raise ValueError(f"fw.distributed has the 'mpi' backend only, got backend={backend!r} "
                         "(gloo and nccl are torch's; fw runs their collectives on MPI)")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_method={init_method!r} is not supported: MPI's launcher "
                         "(fw run / mpiexec) wires the ranks together")
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    seconds = _seconds(timeout)
    MPI = _mpi()
    comm = MPI.COMM_WORLD.Dup()
    for name, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group: {name}={given} but the MPI job says {actual} "
                             "(start the job with `fw run -n N`)")
    _group = _Group(MPI, comm, seconds)
    install_excepthook()


def destroy_process_group(group=None):
    global _group
    g = _require("destroy_process_group")
    _group = None
    g.comm.Free()


def _require(what):
    if _group is None:
        raise ValueError(f"{what}: Default process group has not been initialized, please make "
                         "sure to call init_process_group.")
    return _group


def get_rank(group=None):
    """This process's rank; -1 when no process group is initialised (as PyTorch)."""
    return -1 if _group is None else _group.rank


def get_world_size(group=None):
    """The number of ranks; -1 when no process group is initialised (as PyTorch)."""
    return -1 if _group is None else _group.size


def get_backend(group=None):
    _require("get_backend")
    return "mpi"


def _launched_rank():
    """The MPI rank from the launcher's environment, before (or without) MPI_Init."""
    for key in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "RANK"):
        if key in os.environ:
            return os.environ[key]
    return "?"


def abort(message, code=1):
    """Print `message` and end every rank of the job now (MPI_Abort). Without a process
    group or MPI, only this process exits."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    try:
        MPI = _group.MPI if _group is not None else _mpi()
        MPI.COMM_WORLD.Abort(code)
    finally:
        os._exit(code)


def _excepthook(exc_type, exc, tb):
    """An uncaught exception in any rank ends the whole job, naming the rank; otherwise
    the other ranks would wait forever in their next collective (or in MPI_Finalize)."""
    rank = _group.rank if _group is not None else _launched_rank()
    while tb is not None and _launcher_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next  # start the traceback at the user's script
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    abort(f"{text}fw.distributed: rank {rank} failed with {exc_type.__name__}: {exc}; "
          "aborting all ranks")


def _launcher_frame(filename):
    return filename.endswith(("run_rank.py", "runpy.py")) or filename == "<frozen runpy>"


def install_excepthook():
    if sys.excepthook is not _excepthook:
        sys.excepthook = _excepthook
