"""fw.distributed.all_reduce against raw mpi4py Allreduce on NumPy arrays, 1 KB to 64 MB of
float32, in the same job:

    fw run -n 2 benchmarks/allreduce.py [--opencl] [--max-mb 64]

Bandwidth is the algorithm bandwidth (bytes / time). The ranks run a fixed number of calls
per size (they must agree), and each figure is the best of 7 timed runs, each run
starting from a barrier (the best, not the median: on a shared machine the other load
only ever adds time). fw's call adds the check that the ranks agree on shape and dtype
(one small all-gather; the "unchecked" column is without it, as with FW_DIST_CHECKS=0),
and for opencl tensors a download and an upload.
"""
import argparse
import time

import numpy as np

import framework as fw
import framework.distributed as dist


def timed(fn, calls, comm):
    fn()
    runs = []
    for _ in range(7):
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - t0) / calls)
    return min(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--opencl", action="store_true", help="also time opencl tensors")
    ap.add_argument("--max-mb", type=float, default=64)
    args = ap.parse_args()
    dist.init_process_group("mpi")
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank = dist.get_rank()
    devices = ["cpu"] + (["opencl"] if args.opencl and fw.opencl.is_available() else [])
    rows = []
    nbytes = 1024
    while nbytes <= args.max_mb * 2 ** 20:
        n = nbytes // 4
        calls = max(3, min(300, int(2 ** 26 // nbytes)))
        a = np.ones(n, np.float32)
        t_mpi = timed(lambda: comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM), calls, comm)
        row = [nbytes, t_mpi]
        group = dist.process_group._group
        for dev in devices:
            t = fw.ones(n, device=dev)
            row.append(timed(lambda: dist.all_reduce(t), calls, comm))
            if dev == "cpu":  # without the shape/dtype agreement check (FW_DIST_CHECKS=0)
                group.check = False
                row.append(timed(lambda: dist.all_reduce(t), calls, comm))
                group.check = True
        rows.append(row)
        nbytes *= 4
    if rank == 0:
        names = ["cpu", "cpu unchecked"] + devices[1:]
        head = f"{'size':>8}  {'mpi4py GB/s':>11}" + "".join(f"  {'fw ' + d + ' GB/s':>16}  {'ratio':>5}" for d in names)
        print(f"all_reduce of float32, {dist.get_world_size()} ranks ({MPI.Get_library_version().splitlines()[0]})")
        print(head)
        for nb, t_mpi, *ts in rows:
            size = f"{nb // 1024} KB" if nb < 2 ** 20 else f"{nb // 2 ** 20} MB"
            line = f"{size:>8}  {nb / t_mpi / 1e9:11.3f}"
            for t in ts:
                line += f"  {nb / t / 1e9:16.3f}  {t_mpi / t:5.2f}"
            print(line)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
