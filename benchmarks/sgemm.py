"""SGEMM (float32 C = A @ B, square) on fw's OpenCL device against NumPy and PyTorch CPU,
in the same run. fw is timed through `fw.matmul` (the framework's call overhead included)
and waits for the device after each product; every figure is a median after warm-up.

    python benchmarks/sgemm.py [--sizes 512 1024 2048] [--repeat 7]

Prints GFLOP/s and the ratios opencl/numpy and opencl/torch (higher is better).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import table  # noqa: E402

import framework as fw  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    if not fw.opencl.is_available():
        sys.exit("no OpenCL device")
    dev = fw.device("opencl")
    print(f"opencl device: {fw.opencl.get_device_name()}")
    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        fa, fb = fw.tensor(a, device=dev), fw.tensor(b, device=dev)

        def fw_mm():
            fw.matmul(fa, fb)
            fw.opencl.synchronize()

        got = fw.matmul(fa, fb).cpu().numpy()
        ref = a.astype(np.float64) @ b
        err = float(np.abs(got - ref).max() / np.abs(ref).max())
        flop = 2.0 * n ** 3
        fns = [fw_mm, lambda: np.matmul(a, b)]
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            fns.append(lambda: torch.matmul(ta, tb))
        # Interleaved, one call of each per round, so that all three see the same load.
        times = [[] for _ in fns]
        for f in fns:
            f()  # warm-up
        for _ in range(args.repeat):
            for f, ts in zip(fns, times):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
        t_cl, t_np = statistics.median(times[0]), statistics.median(times[1])
        t_th = statistics.median(times[2]) if torch is not None else None
        g = [flop / t / 1e9 for t in (t_cl, t_np)]
        gt = flop / t_th / 1e9 if torch is not None else float("nan")
        rows.append([n, f"{g[0]:.1f}", f"{g[1]:.1f}", f"{gt:.1f}", f"{g[0] / g[1]:.2f}",
                     f"{g[0] / gt:.2f}", f"{err:.1e}"])
    print(table(rows, ["n", "opencl GFLOP/s", "numpy", "torch", "opencl/numpy",
                       "opencl/torch", "rel err"]))


if __name__ == "__main__":
    main()
