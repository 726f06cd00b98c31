"""torch.distributed's collectives on MPI (mpi4py's buffer methods: no pickling).

MPI cannot time a collective out, so fw does: a blocking call is MPI's blocking form (as
fast as mpi4py's own) watched by a thread that aborts the job past the process group's
timeout; with `async_op=True` it is MPI's non-blocking form, and `Work.wait` polls it
against the timeout. Either way a rank that died or never called the collective ends the
job with an error naming the rank instead of a hang. Before the data moves, the ranks exchange a small signature
(collective, op, dtype, shape) so that mismatched calls raise a clear `DistError` on
every rank instead of corrupting memory or deadlocking inside MPI.

Device tensors are staged through host memory (the MPI wheels are not GPU-aware): one
download before and one upload after. A contiguous CPU tensor is reduced in its own
memory, with no copy at all.
"""
import collections
import pickle
import threading
import time

import numpy as np

from .. import dtypes as dt
from ..tensor import Tensor
from .process_group import DistBackendError, DistError, ReduceOp, _require, abort

__all__ = ["Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather", "scatter", "barrier",
           "send", "recv", "isend", "irecv", "all_gather_object", "broadcast_object_list"]

_DTYPE_CODE = {dt.float32: 1, dt.float64: 2, dt.int32: 3, dt.int64: 4, dt.bool: 5}
_DTYPE_NAME = {v: k.name for k, v in _DTYPE_CODE.items()}
_OP_CODE = {op: i + 1 for i, op in enumerate(ReduceOp)}
_COLLECTIVES = ["all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
                "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather", "scatter",
                "barrier", "object"]
_MAX_DIMS = 8


# -- waiting ------------------------------------------------------------------------------
def _wait(req, what, deadline=None):
    """Poll MPI request `req` until it completes; past the group's timeout raise
    DistBackendError (uncaught, fw's excepthook then aborts every rank). Polling is busy,
    as MPI's own Wait is, but after 10 ms it yields the core at each turn (so that
    oversubscribed ranks can run) and after a second it sleeps 1 ms between turns."""
    g = _require(what)
    start = time.monotonic()
    deadline = start + g.timeout if deadline is None else deadline
    spins = 0
    while not req.Test():
        spins += 1
        if spins < 256:
            continue
        now = time.monotonic()
        if now > deadline:
            raise DistBackendError(
                f"rank {g.rank}: {what} did not complete within {g.timeout:g} s: another rank "
                "failed, hangs, or did not call it (set the process group's timeout with "
                "init_process_group(timeout=...) or FW_DIST_TIMEOUT)")
        if now - start > 0.01:  # yield the core (to a rank this one waits for, maybe)
            time.sleep(0 if now - start < 1.0 else 1e-3)


class Work:
    """What a collective with `async_op=True` returns: `wait()` blocks until it is done
    (and its result is in the tensors); `is_completed()` asks without blocking."""

    def __init__(self, req, what, finish=None):
        self._req, self._what, self._finish = req, what, finish
        self._done = False

    def _complete(self):
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()
                self._finish = None

    def is_completed(self):
        if not self._done and self._req.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            deadline = None if timeout is None else time.monotonic() + _seconds(timeout)
            _wait(self._req, self._what, deadline)
            self._complete()
        return True

    def is_success(self):
        return self._done

    def result(self):
        return []


def _seconds(timeout):
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


def _mpi(g, name, what, *args, finish=None, async_op=False, **kwargs):
    """Run mpi4py's collective `name`. Blocking calls use MPI's blocking form (the
    fastest) under the watchdog; `async_op=True` (or an MPI without thread support)
    uses its non-blocking form "I" + name, waited for by polling. `finish` runs once
    the data is in place."""
    if async_op or not _Watchdog.usable(g):
        start = getattr(g.comm, "I" + name[0].lower() + name[1:])  # Allreduce -> Iallreduce
        work = Work(start(*args, **kwargs), what, finish)
        if async_op:
            return work
        work.wait()
        return None
    dog = g.__dict__.get("watchdog") or _Watchdog.start_for(g)
    dog.current = (what, time.monotonic() + g.timeout)
    try:
        getattr(g.comm, name)(*args, **kwargs)
    finally:
        dog.current = None
    if finish is not None:
        finish()
    return None


class _Watchdog(threading.Thread):
    """Ends the job when a blocking collective outlives the group's timeout: MPI cannot
    time one out, and the main thread is inside it, so this thread prints the message
    and calls MPI_Abort (MPI allows that from another thread at THREAD_MULTIPLE)."""

    def __init__(self, g):
        super().__init__(daemon=True, name="fw-mpi-watchdog")
        self.g, self.current = g, None  # (what, deadline) while a collective runs

    @staticmethod
    def usable(g):
        ok = g.__dict__.get("threads_ok")
        if ok is None:
            ok = g.threads_ok = g.MPI.Query_thread() == g.MPI.THREAD_MULTIPLE
        return ok

    @staticmethod
    def start_for(g):
        dog = g.watchdog = _Watchdog(g)
        dog.start()
        return dog

    def run(self):
        g = self.g
        while True:
            time.sleep(min(0.5, g.timeout / 10))
            current = self.current
            if current is not None and time.monotonic() > current[1]:
                abort(f"fw.distributed: rank {g.rank}: {current[0]} did not complete within "
                      f"{g.timeout:g} s: another rank failed, hangs, or did not call it; "
                      "aborting all ranks (set the timeout with init_process_group(timeout=...) "
                      "or FW_DIST_TIMEOUT)")


# -- staging ------------------------------------------------------------------------------
class _Host:
    """A tensor's values as a C-contiguous NumPy array: the tensor's own memory when it
    is a contiguous CPU tensor, else a host copy written back by `store()`."""

    def __init__(self, t, read=True):
        self.t = t
        self.own = False
        if t._be.device.type == "cpu" and t._v.is_contiguous():
            a = t._be.to_numpy(t._v)
            if a.flags.c_contiguous and a.flags.writeable:
                self.a, self.own = a, True
                return
        if read:
            self.a = np.ascontiguousarray(t._be.to_numpy(t._v))
        else:
            self.a = np.empty(tuple(t.shape), t.dtype.np)

    def store(self):
        t = self.t
        if not self.own:
            t._be.copy_(t._v, t._be.from_numpy(self.a))
        t._ver[0] += 1


def _check_tensor(t, what, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a Tensor, got {type(t).__name__}")
    if t.dtype not in _DTYPE_CODE:
        raise TypeError(f"{what}: unsupported dtype {t.dtype}")


def _check_group(group, what):
    if group is not None:
        raise NotImplementedError(f"{what}: fw has the default (world) process group only; "
                                  "pass group=None")


def _world(what, group):
    """The initialised (world) process group for collective `what`; other groups refused."""
    g = _require(what)
    _check_group(group, what)
    return g


def _check_root_list(g, root, tensors, like, what, name, role):
    """`tensors` is the root's list of one tensor per rank like `like`; empty elsewhere."""
    if g.rank == root:
        _check_list(g, tensors, like, what, name)
    elif tensors:
        raise ValueError(f"{what}: {name} must be None or empty on non-{role} ranks")


_COLL_CODE = {name: i + 1 for i, name in enumerate(_COLLECTIVES)}


def _signature(coll, t=None, op=None, root=-1):
    """What a rank is about to do, as int64s: collective, op, dtype, root, ndim, shape."""
    if t is None:
        return np.array([_COLL_CODE[coll], 0, 0, root, 0] + [0] * _MAX_DIMS, np.int64)
    shape = list(t._v.shape)
    ndim = len(shape)
    if ndim > _MAX_DIMS:  # fold the trailing dims into the last slot
        shape = shape[:_MAX_DIMS - 1] + [int(np.prod(shape[_MAX_DIMS - 1:]))]
    return np.array([_COLL_CODE[coll], 0 if op is None else _OP_CODE[op], _DTYPE_CODE[t.dtype],
                     root, ndim] + shape + [0] * (_MAX_DIMS - len(shape)), np.int64)


def _describe(row):
    if row[0] == 0:
        return "nothing"
    text = _COLLECTIVES[row[0] - 1]
    if row[2]:
        shape = [int(n) for n in row[5:5 + min(int(row[4]), _MAX_DIMS)]]
        text += f" of {_DTYPE_NAME[int(row[2])]} {shape}"
    if row[1]:
        text += f" op={list(ReduceOp)[row[1] - 1].name}"
    if row[3] >= 0:
        text += f" root={int(row[3])}"
    return text


def _agree(g, what, *signature, **kw):
    """Every rank gets every rank's signature; any difference is a DistError on all of them."""
    if not g.check:
        return
    sig = _signature(*signature, **kw)
    rows = np.empty((g.size, sig.size), np.int64)
    _mpi(g, "Allgather", what, sig, rows)
    if (rows != rows[0]).any():
        lines = "; ".join(f"rank {r}: {_describe(row)}" for r, row in enumerate(rows))
        raise DistError(f"{what}: the ranks called mismatched collectives ({lines})")


def _mpi_op(g, op, t, what):
    if not isinstance(op, ReduceOp):
        raise ValueError(f"{what}: op must be a ReduceOp, got {op!r}")
    ops = g.__dict__.get("mpi_ops")
    if ops is None:
        MPI = g.MPI
        ops = g.mpi_ops = (
            {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX},
            # bools travel as uint8: a sum is a logical or, a product a logical and (PyTorch's)
            {ReduceOp.SUM: MPI.MAX, ReduceOp.MAX: MPI.MAX, ReduceOp.PRODUCT: MPI.MIN,
             ReduceOp.MIN: MPI.MIN})
    if op is ReduceOp.AVG:
        if t.dtype is dt.bool:
            raise ValueError(f"{what}: ReduceOp.AVG is not defined for bool tensors")
        if t.dtype.kind != 2:
            raise ValueError(f"{what}: ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
    return ops[t.dtype is dt.bool][op]


def _buf(a):
    return a.view(np.uint8) if a.dtype == np.bool_ else a


def _check_root(g, root, what, name):
    if not isinstance(root, int) or not 0 <= root < g.size:
        raise ValueError(f"{what}: {name}={root!r} is not a rank of this group (world size {g.size})")


# -- collectives --------------------------------------------------------------------------
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` across all ranks in place; every rank gets the result."""
    what = "all_reduce"
    g = _world(what, group)
    _check_tensor(tensor, what)
    mop = _mpi_op(g, op, tensor, what)
    _agree(g, what, what, tensor, op)
    h = _Host(tensor)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(h.a, g.size, out=h.a)
        h.store()
    return _mpi(g, "Allreduce", what, g.MPI.IN_PLACE, _buf(h.a), op=mop, finish=finish,
                async_op=async_op)


def broadcast(tensor, src, group=None, async_op=False):
    what = "broadcast"
    g = _world(what, group)
    _check_tensor(tensor, what)
    _check_root(g, src, what, "src")
    _agree(g, what, what, tensor, root=src)
    h = _Host(tensor, read=g.rank == src)
    return _mpi(g, "Bcast", what, _buf(h.a), root=src,
                finish=h.store if g.rank != src else None, async_op=async_op)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce into `tensor` on rank `dst`; other ranks' tensors are left as they were."""
    what = "reduce"
    g = _world(what, group)
    _check_tensor(tensor, what)
    _check_root(g, dst, what, "dst")
    mop = _mpi_op(g, op, tensor, what)
    _agree(g, what, what, tensor, op, dst)
    h = _Host(tensor)
    send, recv = (g.MPI.IN_PLACE, _buf(h.a)) if g.rank == dst else (_buf(h.a), None)

    def finish():
        if g.rank == dst:
            if op is ReduceOp.AVG:
                np.divide(h.a, g.size, out=h.a)
            h.store()
    return _mpi(g, "Reduce", what, send, recv, op=mop, root=dst, finish=finish,
                async_op=async_op)


def _check_list(g, tensors, like, what, name):
    if not isinstance(tensors, (list, tuple)) or len(tensors) != g.size:
        n = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what}: {name} must be a list of world_size={g.size} tensors, got {n}")
    for t in tensors:
        _check_tensor(t, what, name)
        if t.shape != like.shape or t.dtype is not like.dtype:
            raise ValueError(f"{what}: every tensor in {name} must have the input's shape and dtype "
                             f"({list(like.shape)}, {like.dtype}); got {list(t.shape)}, {t.dtype}")


def _store_rows(rows, tensors):
    for row, t in zip(rows, tensors):
        t._be.copy_(t._v, t._be.from_numpy(row))
        t._ver[0] += 1


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] = rank r's `tensor`, on every rank."""
    what = "all_gather"
    g = _world(what, group)
    _check_tensor(tensor, what)
    _check_list(g, tensor_list, tensor, what, "tensor_list")
    _agree(g, what, what, tensor)
    a = _Host(tensor).a
    rows = np.empty((g.size,) + a.shape, a.dtype)
    return _mpi(g, "Allgather", what, _buf(a), _buf(rows),
                finish=lambda: _store_rows(rows, tensor_list), async_op=async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Rank r's input lands in the r-th slice of `output_tensor` (world_size times the
    input's size: concatenated along dim 0 or stacked in a new leading dim)."""
    what = "all_gather_into_tensor"
    g = _world(what, group)
    _check_tensor(output_tensor, what, "output_tensor")
    _check_tensor(input_tensor, what, "input_tensor")
    if output_tensor.dtype is not input_tensor.dtype:
        raise ValueError(f"{what}: output dtype {output_tensor.dtype} != input dtype {input_tensor.dtype}")
    if output_tensor.numel() != g.size * input_tensor.numel():
        raise ValueError(f"{what}: output_tensor must hold world_size * input size = "
                         f"{g.size * input_tensor.numel()} elements, got {output_tensor.numel()}")
    _agree(g, what, what, input_tensor)
    out = _Host(output_tensor, read=False)
    return _mpi(g, "Allgather", what, _buf(_Host(input_tensor).a), _buf(out.a),
                finish=out.store, async_op=async_op)


def _reduce_scatter(what, out, flat_in, op, async_op):
    g = _require(what)
    mop = _mpi_op(g, op, out.t, what)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(out.a, g.size, out=out.a)
        out.store()
    return _mpi(g, "Reduce_scatter_block", what, _buf(flat_in), _buf(out.a), op=mop,
                finish=finish, async_op=async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `input` (world_size times the output's size) across ranks; rank r keeps the
    r-th slice of the result in `output`."""
    what = "reduce_scatter_tensor"
    g = _world(what, group)
    _check_tensor(output, what, "output")
    _check_tensor(input, what, "input")
    if output.dtype is not input.dtype:
        raise ValueError(f"{what}: output dtype {output.dtype} != input dtype {input.dtype}")
    if input.numel() != g.size * output.numel():
        raise ValueError(f"{what}: input must hold world_size * output size = "
                         f"{g.size * output.numel()} elements, got {input.numel()}")
    _mpi_op(g, op, output, what)
    _agree(g, what, what, input, op)
    return _reduce_scatter(what, _Host(output, read=False), _Host(input).a, op, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output = the reduction over ranks of input_list[rank]."""
    what = "reduce_scatter"
    g = _world(what, group)
    _check_tensor(output, what, "output")
    _check_list(g, input_list, output, what, "input_list")
    _mpi_op(g, op, output, what)
    _agree(g, what, what, output, op)
    flat = np.concatenate([_Host(t).a.reshape(-1) for t in input_list])
    return _reduce_scatter(what, _Host(output, read=False), flat, op, async_op)


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """gather_list[r] = rank r's `tensor`, on rank `dst` only."""
    what = "gather"
    g = _world(what, group)
    _check_tensor(tensor, what)
    _check_root(g, dst, what, "dst")
    _check_root_list(g, dst, gather_list, tensor, what, "gather_list", "destination")
    _agree(g, what, what, tensor, root=dst)
    a = _Host(tensor).a
    rows = np.empty((g.size,) + a.shape, a.dtype) if g.rank == dst else None
    finish = (lambda: _store_rows(rows, gather_list)) if g.rank == dst else None
    return _mpi(g, "Gather", what, _buf(a), None if rows is None else _buf(rows), root=dst,
                finish=finish, async_op=async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank r's `tensor` = scatter_list[r] from rank `src`."""
    what = "scatter"
    g = _world(what, group)
    _check_tensor(tensor, what)
    _check_root(g, src, what, "src")
    _check_root_list(g, src, scatter_list, tensor, what, "scatter_list", "source")
    _agree(g, what, what, tensor, root=src)
    rows = np.stack([_Host(t).a for t in scatter_list]) if g.rank == src else None
    out = _Host(tensor, read=False)
    return _mpi(g, "Scatter", what, None if rows is None else _buf(rows), _buf(out.a), root=src,
                finish=out.store, async_op=async_op)


def barrier(group=None, async_op=False, device_ids=None):
    what = "barrier"
    g = _world(what, group)
    return _mpi(g, "Barrier", what, async_op=async_op)


# -- point to point -----------------------------------------------------------------------
_P2P_TAG = 1 << 12  # user tags are offset so they never meet fw's own traffic


def isend(tensor, dst, group=None, tag=0):
    what = f"send to rank {dst}"
    g = _world("send", group)
    _check_tensor(tensor, "send")
    _check_root(g, dst, "send", "dst")
    a = np.array(_Host(tensor).a)  # a snapshot: the caller may change the tensor meanwhile
    return Work(g.comm.Isend(_buf(a), dest=dst, tag=_P2P_TAG + tag), what)


def irecv(tensor, src=None, group=None, tag=0):
    g = _world("recv", group)
    _check_tensor(tensor, "recv")
    MPI = g.MPI
    if src is not None:
        _check_root(g, src, "recv", "src")
    out = _Host(tensor, read=False)
    status = MPI.Status()
    req = g.comm.Irecv(_buf(out.a), source=MPI.ANY_SOURCE if src is None else src,
                       tag=_P2P_TAG + tag)
    work = _RecvWork(req, f"recv from rank {'any' if src is None else src}", out, status)
    return work


class _RecvWork(Work):
    def __init__(self, req, what, out, status):
        super().__init__(req, what, self._store)
        self._out, self._status, self.source = out, status, None

    def is_completed(self):
        if not self._done and self._req.Test(self._status):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            deadline = None if timeout is None else time.monotonic() + _seconds(timeout)
            _wait(_StatusReq(self._req, self._status), self._what, deadline)
            self._complete()
        return True

    def _store(self):
        n = self._status.Get_count(self._status_type())
        if n != self._out.a.size:
            raise DistError(f"{self._what}: received {n} elements into a tensor of {self._out.a.size}")
        self.source = self._status.Get_source()
        self._out.store()

    def _status_type(self):
        from mpi4py import MPI
        return MPI._typedict[_buf(self._out.a).dtype.char]


class _StatusReq:
    def __init__(self, req, status):
        self.req, self.status = req, status

    def Test(self):
        return self.req.Test(self.status)


def send(tensor, dst, group=None, tag=0):
    isend(tensor, dst, group, tag).wait()


def recv(tensor, src=None, group=None, tag=0):
    """Receive into `tensor`; returns the sender's rank."""
    work = irecv(tensor, src, group, tag)
    work.wait()
    return work.source


# -- Python objects (pickled; for metadata, not tensors) ------------------------------------
def _gather_bytes(g, what, data):
    sizes = np.empty(g.size, np.int64)
    _mpi(g, "Allgather", what, np.array([len(data)], np.int64), sizes)
    out = np.empty(int(sizes.sum()), np.uint8)
    counts = sizes.astype(np.int64)
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]])
    src = np.frombuffer(data, np.uint8)
    _mpi(g, "Allgatherv", what, src, [out, counts, displs, g.MPI.BYTE])
    return [out[d:d + c].tobytes() for d, c in zip(displs, counts)]


def all_gather_object(object_list, obj, group=None):
    """object_list[r] = rank r's `obj` (pickled: only for trusted peers)."""
    what = "all_gather_object"
    g = _world(what, group)
    if len(object_list) != g.size:
        raise ValueError(f"{what}: object_list must have world_size={g.size} entries")
    _agree(g, what, "object")
    for r, b in enumerate(_gather_bytes(g, what, pickle.dumps(obj))):
        object_list[r] = pickle.loads(b)


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Rank `src`'s objects replace object_list's on every rank (pickled)."""
    what = "broadcast_object_list"
    g = _world(what, group)
    _check_root(g, src, what, "src")
    _agree(g, what, "object", root=src)
    data = pickle.dumps(list(object_list)) if g.rank == src else b""
    n = np.array([len(data)], np.int64)
    _mpi(g, "Bcast", what, n, root=src)
    buf = np.frombuffer(data, np.uint8).copy() if g.rank == src else np.empty(int(n[0]), np.uint8)
    _mpi(g, "Bcast", what, buf, root=src)
    if g.rank != src:
        object_list[:] = pickle.loads(buf.tobytes())


# -- host-array forms for DDP and ZeRO, which check their layout once up front -------------
def _iallreduce_host(a, what):
    """Start a SUM all-reduce of host array `a` in place; returns its Work."""
    g = _require(what)
    return Work(g.comm.Iallreduce(g.MPI.IN_PLACE, _buf(a), op=g.MPI.SUM), what)


def _broadcast_host(a, root, what):
    g = _require(what)
    _mpi(g, "Bcast", what, _buf(a), root=root)


def _broadcast_into(tensors, root, what):
    """Rank `root`'s values into `tensors` (all of one dtype) on every rank: one flat host
    buffer and one broadcast; the root's own tensors are left as they are."""
    flat = np.concatenate([t.detach()._host().reshape(-1) for t in tensors])
    _broadcast_host(flat, root, what)
    if _require(what).rank == root:
        return
    o = 0
    for t in tensors:
        n = t.numel()
        t._be.copy_(t._v, t._be.from_numpy(flat[o:o + n].reshape(tuple(t.shape))))
        t._ver[0] += 1
        o += n


# how often the progress thread tests: rarely enough to leave the computing thread the GIL
_POLL_S = 1e-3


class _Poller(threading.Thread):
    """Keeps non-blocking requests moving while the main thread computes: MPICH (like most
    MPIs) advances a collective only inside MPI calls, so without this a bucket's
    all-reduce started early in backward would mostly run when backward ends. Only this
    thread tests the requests handed to it (MPI forbids two threads on one request); the
    hand-over is a deque, so the main thread never waits for a lock."""

    def __init__(self):
        super().__init__(daemon=True, name="fw-mpi-progress")
        self._incoming = collections.deque()
        self._closed = False

    @staticmethod
    def usable():
        g = _require("progress")
        return _Watchdog.usable(g)

    def add(self, work):
        self._incoming.append(work)
        if not self.is_alive():
            self.start()

    def run(self):
        pending = []
        while True:
            closed = self._closed  # read first: every add came before the close
            while self._incoming:
                pending.append(self._incoming.popleft())
            pending = [w for w in pending if not w._req.Test()]
            if closed and not pending:
                return
            time.sleep(_POLL_S)

    def finish(self, what):
        """Wait (up to the group's timeout) until every request added is complete."""
        g = _require(what)
        self._closed = True
        if not self.is_alive():
            return
        self.join(g.timeout)
        if self.is_alive():
            raise DistBackendError(f"rank {g.rank}: {what} did not complete within {g.timeout:g} s: "
                                   "another rank failed, hangs, or did not call it")
