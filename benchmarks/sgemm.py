"""SGEMM (float32 C = A @ B, square) on fw's GPU devices (OpenCL, Vulkan) against NumPy and
PyTorch CPU, in the same run. fw is timed through `fw.matmul` (the framework's call overhead included)
and waits for the device after each product; every figure is a median after warm-up.

    python benchmarks/sgemm.py [--sizes 512 1024 2048] [--repeat 7] [--devices opencl,vulkan]
                               [--torch-device cuda]

--devices defaults to those of opencl and vulkan that are available (vulkan needs the
fw-vulkan package). Prints GFLOP/s and the ratios device/numpy and device/torch (higher
is better). --torch-device cuda times torch (cuBLAS) on an NVIDIA GPU instead of the CPU,
for a run on a machine that has one.
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
    ap.add_argument("--devices", default=None,
                    help="comma-separated fw devices (default: opencl and vulkan if available)")
    ap.add_argument("--torch-device", default="cpu", help="where torch runs (cpu or cuda)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    devices = args.devices.split(",") if args.devices else [
        d for d in ("opencl", "vulkan")
        if d in fw.plugins.registry.device_types() and getattr(fw, d).is_available()]
    if not devices:
        sys.exit("no OpenCL or Vulkan device")
    for d in devices:
        print(f"{d} device: {fw.ones(1, device=d)._be.rt.name}")
    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        ref = a.astype(np.float64) @ b
        fns, errs = [], []
        for d in devices:
            fa, fb = fw.tensor(a, device=d), fw.tensor(b, device=d)
            sync = fa._be.synchronize

            def fw_mm(fa=fa, fb=fb, sync=sync):
                fw.matmul(fa, fb)
                sync()
            got = fw.matmul(fa, fb).cpu().numpy()
            errs.append(float(np.abs(got - ref).max() / np.abs(ref).max()))
            fns.append(fw_mm)
        flop = 2.0 * n ** 3
        fns.append(lambda: np.matmul(a, b))
        if torch is not None:
            ta, tb = (torch.from_numpy(m).to(args.torch_device) for m in (a, b))
            tsync = torch.cuda.synchronize if ta.is_cuda else (lambda: None)

            def torch_mm(ta=ta, tb=tb, tsync=tsync):
                torch.matmul(ta, tb)
                tsync()
            fns.append(torch_mm)
        # Interleaved, one call of each per round, so that all see the same load.
        times = [[] for _ in fns]
        for f in fns:
            f()  # warm-up
        for _ in range(args.repeat):
            for f, ts in zip(fns, times):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
        g = [flop / statistics.median(ts) / 1e9 for ts in times]
        g_np = g[len(devices)]
        g_th = g[len(devices) + 1] if torch is not None else float("nan")
        row = [n] + [f"{x:.1f}" for x in g[:len(devices)]] + [f"{g_np:.1f}", f"{g_th:.1f}"]
        for x in g[:len(devices)]:
            row += [f"{x / g_np:.3f}", f"{x / g_th:.3f}"]
        rows.append(row + [f"{e:.1e}" for e in errs])
    th = f"torch {args.torch_device}"
    header = ["n"] + [f"{d} GFLOP/s" for d in devices] + ["numpy", th]
    for d in devices:
        header += [f"{d}/numpy", f"{d}/{th}"]
    print(table(rows, header + [f"{d} rel err" for d in devices]))


if __name__ == "__main__":
    main()
