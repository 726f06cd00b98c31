"""DDP's cost on the CNN of train_step.py, and how much of its communication backward hides:

    fw run -n 2 benchmarks/ddp_overlap.py [--steps 15] [--batch 64] [--device cpu]

Each rank trains on half of `--batch`. Timed (median ms per step, SGD, random data):
  local      the plain model on the half batch: no communication (a 1-rank step);
  comm       the gradient's all-reduces alone, in the same buckets;
  no overlap DDP that starts its all-reduces only after backward;
  overlap    DDP as shipped, all-reduces started from the gradient hooks.
hidden = 1 - (overlap - local) / comm, the share of communication hidden behind backward.
Buckets: the default (25 MiB, first 1 MiB: the CNN's 0.9 MB of gradients is one bucket,
so there is nothing to overlap) and bucket_cap_mb=0.25 (three buckets).
"""
import argparse
import copy
import os
import statistics
import sys
import time

import framework as fw
import framework.distributed as dist
from framework import nn
from framework.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(__file__))
from train_step import cnn  # noqa: E402


def median_ms(steps, variants, comm):
    """Median ms per call of each variant, run in turns (one timed call of each per round)
    so that load from elsewhere hits them alike; each call is timed from a barrier to a
    barrier, so `local` too waits for the slower rank."""
    for fn in variants.values():
        fn()
    times = {name: [] for name in variants}
    for _ in range(steps):
        for name, fn in variants.items():
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            comm.Barrier()  # a step ends when the slowest rank's does, in every variant
            times[name].append(time.perf_counter() - t0)
    return {name: 1e3 * statistics.median(ts) for name, ts in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    dist.init_process_group("mpi")
    from mpi4py import MPI
    from framework.distributed.collectives import _iallreduce_host
    comm, rank, size = MPI.COMM_WORLD, dist.get_rank(), dist.get_world_size()
    fw.manual_seed(0)
    base = cnn(fw).to(args.device)
    g = fw.Generator().manual_seed(rank)
    x = fw.randn(args.batch // size, 1, 28, 28, generator=g).to(args.device)
    y = fw.randint(0, 10, (args.batch // size,), generator=g).to(args.device)

    def stepper(model):
        opt = fw.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return step

    rows = []
    for cap in (None, 0.25):
        local = copy.deepcopy(base)
        overlap = DDP(copy.deepcopy(base), bucket_cap_mb=cap)
        serial = DDP(copy.deepcopy(base), bucket_cap_mb=cap)
        serial._overlap = False
        bufs = [b.buf.copy() for b in overlap._buckets]

        def comm_only():
            for w in [_iallreduce_host(b, "bench") for b in bufs]:
                w.wait()
        t = median_ms(args.steps, {"local": stepper(local), "comm": comm_only,
                                   "no overlap": stepper(serial), "overlap": stepper(overlap)}, comm)
        rows.append((cap, len(bufs), t))
    if rank == 0:
        print(f"CNN, batch {args.batch} over {size} ranks ({args.batch // size} each), {args.device}; ms per step (median of {args.steps})")
        print(f"{'buckets':>18}  {'local':>6}  {'comm':>6}  {'no overlap':>10}  {'overlap':>7}  {'hidden':>6}")
        for cap, n, t in rows:
            hidden = 1 - (t["overlap"] - t["local"]) / t["comm"]
            hidden_serial = 1 - (t["no overlap"] - t["local"]) / t["comm"]
            name = f"{'default' if cap is None else f'cap {cap} MB'} ({n})"
            print(f"{name:>18}  {t['local']:6.1f}  {t['comm']:6.1f}  {t['no overlap']:10.1f}  "
                  f"{t['overlap']:7.1f}  {hidden:6.0%}  (no overlap: {hidden_serial:.0%})")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
