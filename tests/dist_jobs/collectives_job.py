"""Run by tests/test_distributed.py under `fw run -n N`: every collective against NumPy,
for every ReduceOp and dtype, plus the errors. Prints `collectives ok` when all pass."""
import sys

import numpy as np

import framework as fw
import framework.distributed as dist
from framework.distributed import ReduceOp

assert "mpi4py" not in sys.modules, "importing framework.distributed loaded mpi4py"
dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
quick = "--quick" in sys.argv  # float32 and int64 only (for oversubscribed runs)
devices = [a for a in sys.argv[1:] if not a.startswith("--")] or ["cpu"]
DTYPES = (np.float32, np.int64) if quick else (np.float32, np.float64, np.int32, np.int64, np.bool_)
NP_OPS = {ReduceOp.SUM: np.sum, ReduceOp.PRODUCT: np.prod, ReduceOp.MIN: np.min,
          ReduceOp.MAX: np.max, ReduceOp.AVG: np.mean}


def values(r, dtype, shape=(3, 4)):
    """Rank r's data; every rank can compute every other rank's."""
    rng = np.random.default_rng(100 + r)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-3, 4, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def expect(got, want, what):
    got = got.cpu().numpy() if isinstance(got, fw.Tensor) else got
    if got.dtype != want.dtype or got.shape != want.shape or not np.allclose(got, want, rtol=1e-6, atol=1e-6):
        raise AssertionError(f"rank {rank}: {what}: got {got!r}, want {want!r}")


def raises(exc, text, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        assert text in str(e), f"rank {rank}: {fn.__name__}: {e}"
        return
    raise AssertionError(f"rank {rank}: {fn.__name__} did not raise {exc.__name__}")


for dev in devices:
    # the staging path is the same for every dtype: other devices get two
    for dtype in DTYPES if dev == "cpu" else (np.float32, np.int64):
        every = np.stack([values(r, dtype) for r in range(size)])
        mine = every[rank]
        for op, npop in NP_OPS.items():
            if op is ReduceOp.AVG and dtype not in (np.float32, np.float64):
                raises(ValueError, "AVG", dist.all_reduce, fw.tensor(mine, device=dev), op=op)
                continue
            want = npop(every, axis=0)
            if dtype == np.bool_:  # SUM is a logical or, PRODUCT an and (PyTorch's)
                want = {ReduceOp.SUM: every.any(0), ReduceOp.PRODUCT: every.all(0)}.get(op, want)
            want = want.astype(dtype)
            t = fw.tensor(mine, device=dev)
            dist.all_reduce(t, op=op)
            expect(t, want, f"all_reduce {op} {dtype.__name__} {dev}")
            t = fw.tensor(mine, device=dev)
            work = dist.all_reduce(t, op=op, async_op=True)
            assert work.wait() and work.is_completed()
            expect(t, want, f"async all_reduce {op} {dtype.__name__} {dev}")
            rows = np.stack([values(r, dtype, (size, 4)) for r in range(size)])
            want_rows = npop(rows, axis=0).astype(dtype) if dtype != np.bool_ else (
                {ReduceOp.SUM: rows.any(0), ReduceOp.PRODUCT: rows.all(0)}.get(op, npop(rows, axis=0)))
            out = fw.zeros(1, 4, dtype=t.dtype, device=dev)
            dist.reduce_scatter_tensor(out, fw.tensor(rows[rank], device=dev), op=op)
            expect(out, want_rows[rank:rank + 1].astype(dtype), f"reduce_scatter_tensor {op} {dtype.__name__}")
            t = fw.tensor(mine, device=dev)
            dist.reduce(t, dst=size - 1, op=op)
            expect(t, want if rank == size - 1 else mine, f"reduce {op} {dtype.__name__}")
        t = fw.tensor(mine, device=dev)
        dist.broadcast(t, src=1)
        expect(t, every[1], f"broadcast {dtype.__name__}")
        outs = [fw.zeros(3, 4, dtype=fw.tensor(mine).dtype, device=dev) for _ in range(size)]
        work = dist.all_gather(outs, fw.tensor(mine, device=dev), async_op=True)
        work.wait()
        for r in range(size):
            expect(outs[r], every[r], f"all_gather {dtype.__name__}")
        big = fw.zeros(size * 3, 4, dtype=outs[0].dtype, device=dev)
        dist.all_gather_into_tensor(big, fw.tensor(mine, device=dev))
        expect(big, every.reshape(size * 3, 4), f"all_gather_into_tensor {dtype.__name__}")
        gl = [fw.zeros(3, 4, dtype=outs[0].dtype, device=dev) for _ in range(size)] if rank == 0 else None
        dist.gather(fw.tensor(mine, device=dev), gl, dst=0)
        if rank == 0:
            for r in range(size):
                expect(gl[r], every[r], f"gather {dtype.__name__}")
        t = fw.zeros(3, 4, dtype=outs[0].dtype, device=dev)
        sl = [fw.tensor(every[r], device=dev) for r in range(size)] if rank == 0 else None
        dist.scatter(t, sl, src=0)
        expect(t, every[rank], f"scatter {dtype.__name__}")

# a non-contiguous view is reduced in place through a copy
base = fw.zeros(4, 4)
base[:, 1] = float(rank + 1)
dist.all_reduce(base[:, 1])
expect(base[:, 1], np.full(4, size * (size + 1) / 2, np.float32), "strided all_reduce")
expect(base[:, 0], np.zeros(4, np.float32), "strided all_reduce leaves the rest")

# reduce_scatter from a list, point to point, objects, barrier
out = fw.zeros(2)
dist.reduce_scatter(out, [fw.full((2,), float(r + rank)) for r in range(size)])
expect(out, np.full(2, sum(rank + r for r in range(size)), np.float32), "reduce_scatter")
if rank == 0:
    dist.send(fw.arange(5, dtype=fw.float64), dst=size - 1, tag=3)
if rank == size - 1:
    t = fw.zeros(5, dtype=fw.float64)
    assert dist.recv(t, src=0, tag=3) == 0
    expect(t, np.arange(5, dtype=np.float64), "send/recv")
objs = [None] * size
dist.all_gather_object(objs, {"rank": rank})
assert objs == [{"rank": r} for r in range(size)], objs
lst = [rank, "x"] if rank == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == [0, "x"], lst
dist.barrier()

# errors: every rank raises the same clear error, and the job goes on
shape = (3,) if rank == 0 else (4,)
raises(dist.DistError, "mismatched", dist.all_reduce, fw.ones(*shape))
raises(dist.DistError, "rank 1: all_reduce of float64", dist.all_reduce,
       fw.ones(3, dtype=fw.float32 if rank != 1 else fw.float64))
raises(ValueError, "not a rank", dist.broadcast, fw.ones(2), src=size)
raises(ValueError, "world_size", dist.all_gather, [fw.zeros(2)], fw.ones(2))
raises(ValueError, "ReduceOp", dist.all_reduce, fw.ones(2), op="sum")
raises(RuntimeError, "twice", dist.init_process_group)
t = fw.ones(2)
dist.all_reduce(t)
expect(t, np.full(2, size, np.float32), "all_reduce after the errors")
dist.destroy_process_group()
assert not dist.is_initialized() and dist.get_rank() == -1
print("collectives ok")
