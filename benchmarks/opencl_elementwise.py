"""Elementwise speed of fw's OpenCL backend against NumPy and PyTorch, in one run.

(a) add of two 16M-element float32 tensors: GB/s counting 12 bytes per element (two
    reads, one write), medians over repeated runs after warm-up;
(b) per-op launch overhead: microseconds per queued fw op on small tensors (many ops,
    one synchronize at the end) against a bare PyOpenCL launch of a no-op kernel and a
    torch CPU op.

    python benchmarks/opencl_elementwise.py [--n 16777216] [--reps 15]
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


def _median(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bandwidth(n, reps):
    rows = []
    gb = 12 * n / 1e9
    na = np.random.rand(n).astype(np.float32)
    nb = np.random.rand(n).astype(np.float32)
    nc = np.empty_like(na)

    a, b = fw.tensor(na, device="opencl"), fw.tensor(nb, device="opencl")
    be = a._be

    def fw_add():
        c = fw.add(a, b)  # fw allocates the output (from its buffer pool)
        be.synchronize()
        return c

    with fw.no_grad():
        c = fw_add()
        np.testing.assert_allclose(c.cpu().numpy(), na + nb)
        results = [("fw opencl add (out allocated by fw)", _median(fw_add, reps))]
    results.append(("numpy np.add(a, b, out=c)", _median(lambda: np.add(na, nb, out=nc), reps)))
    results.append(("numpy a + b", _median(lambda: na + nb, reps)))
    try:
        import torch
        ta, tb, tc = torch.from_numpy(na), torch.from_numpy(nb), torch.empty(n)
        results.append(("torch.add(a, b, out=c)", _median(lambda: torch.add(ta, tb, out=tc), reps)))
        results.append(("torch a + b", _median(lambda: ta + tb, reps)))
    except ImportError:
        pass
    t_np = results[1][1]
    for name, t in results:
        rows.append((name, f"{t * 1e3:.2f}", f"{gb / t:.1f}", f"{t_np / t:.2f}x"))
    return table(rows, ("add of %d float32" % n, "median ms", "GB/s", "speed vs numpy out=")), \
        results[0][1], t_np


def launch_overhead(ops=2000, reps=7):
    rows = []
    a, b = fw.ones(8, device="opencl"), fw.ones(8, device="opencl")
    be = a._be

    def fw_ops():
        for _ in range(ops):
            fw.add(a, b)
        be.synchronize()

    def fw_scalar_ops():
        for _ in range(ops):
            fw.mul(a, 1.5)
        be.synchronize()

    def fw_backend_only():
        va, vb, binary = a._v, b._v, be.binary
        for _ in range(ops):
            binary("add", va, vb)
        be.synchronize()

    with fw.no_grad():
        fw_add = _median(fw_ops, reps) / ops
        fw_mul_s = _median(fw_scalar_ops, reps) / ops
        fw_be = _median(fw_backend_only, reps) / ops

    import pyopencl as cl
    rt = be.rt
    prg = cl.Program(rt.ctx, "__kernel void noop(__global float *x) {}").build()
    k = cl.Kernel(prg, "noop")
    k.set_args(a._v.buf.mem)

    def bare():
        for _ in range(ops):
            cl.enqueue_nd_range_kernel(rt.queue, k, (1,), None)
        rt.queue.finish()

    t_bare = _median(bare, reps) / ops
    rows = [("fw.add(a, b), 8 floats, no_grad", fw_add),
            ("fw.mul(a, 1.5), 8 floats, no_grad", fw_mul_s),
            ("backend.binary('add') only", fw_be),
            ("bare pyopencl launch of a no-op kernel", t_bare)]
    try:
        import torch
        ta, tb = torch.ones(8), torch.ones(8)

        def torch_ops():
            for _ in range(ops):
                torch.add(ta, tb)
        with torch.no_grad():
            rows.append(("torch.add, 8 floats, CPU", _median(torch_ops, reps) / ops))
    except ImportError:
        pass
    out = [(name, f"{t * 1e6:.2f}", f"{t / t_bare:.2f}x") for name, t in rows]
    return table(out, ("per-op cost", "us/op", "vs bare launch")), fw_add


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16 * 1024 * 1024)
    p.add_argument("--reps", type=int, default=15)
    args = p.parse_args()
    if not fw.opencl.is_available():
        sys.exit("no OpenCL device")
    be = fw.ones(1, device="opencl")._be
    print("device:", be.rt.name)
    txt, t_fw, t_np = bandwidth(args.n, args.reps)
    print(txt)
    print()
    txt, _ = launch_overhead()
    print(txt)


if __name__ == "__main__":
    main()
