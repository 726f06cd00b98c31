"""Elementwise speed of fw's GPU backends (OpenCL, Vulkan) against NumPy and PyTorch, in one run.

(a) add of two 16M-element float32 tensors: GB/s counting 12 bytes per element (two
    reads, one write), medians over repeated runs after warm-up;
(b) per-op launch overhead: microseconds per queued fw op on small tensors (bursts of
    2,000 ops, one synchronize at the end) against a bare PyOpenCL launch of a no-op kernel
    and a torch CPU op.

    python benchmarks/opencl_elementwise.py [--n 16777216] [--reps 15] [--devices opencl,vulkan]

--devices defaults to those of opencl and vulkan that are available (vulkan needs fw-vulkan);
for vulkan the bare launch is a wgpu dispatch of the same kernel fw's add uses.
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


def available_gpu_devices():
    """opencl and vulkan, those of them that exist here (vulkan needs fw-vulkan)."""
    have = fw.plugins.registry.device_types()
    return [d for d in ("opencl", "vulkan")
            if d in have and getattr(fw, d).is_available()]


def _median(fn, reps, warmup=3):
    """(median, best) seconds of `fn` over `reps` runs after `warmup` runs. The best run
    is shown too: on a shared machine it is the steadier figure."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def bandwidth(n, reps, devices):
    rows = []
    gb = 12 * n / 1e9
    na = np.random.rand(n).astype(np.float32)
    nb = np.random.rand(n).astype(np.float32)
    nc = np.empty_like(na)

    results = []
    for dev in devices:
        a, b = fw.tensor(na, device=dev), fw.tensor(nb, device=dev)

        def fw_add(a=a, b=b):
            c = fw.add(a, b)  # fw allocates the output (from its buffer pool)
            a._be.synchronize()
            return c

        with fw.no_grad():
            c = fw_add()
            np.testing.assert_allclose(c.cpu().numpy(), na + nb)
            results.append((f"fw {dev} add (out allocated by fw)", _median(fw_add, reps)))
        del a, b, c
    i_np = len(results)
    results.append(("numpy np.add(a, b, out=c)", _median(lambda: np.add(na, nb, out=nc), reps)))
    results.append(("numpy a + b", _median(lambda: na + nb, reps)))
    try:
        import torch
        ta, tb, tc = torch.from_numpy(na), torch.from_numpy(nb), torch.empty(n)
        results.append(("torch.add(a, b, out=c)", _median(lambda: torch.add(ta, tb, out=tc), reps)))
        results.append(("torch a + b", _median(lambda: ta + tb, reps)))
    except ImportError:
        pass
    t_np, b_np = results[i_np][1]
    for name, (t, best) in results:
        rows.append((name, f"{t * 1e3:.2f}", f"{gb / t:.1f}", f"{t_np / t:.2f}x",
                     f"{gb / best:.1f}", f"{b_np / best:.2f}x"))
    return table(rows, ("add of %d float32" % n, "median ms", "GB/s", "vs numpy out=",
                        "best GB/s", "best vs numpy"))


def _bare_pyopencl(be, va, ops):
    import pyopencl as cl
    rt = be.rt
    prg = cl.Program(rt.ctx, "__kernel void noop(__global float *x) {}").build()
    k = cl.Kernel(prg, "noop")
    k.set_args(va.buf.mem)

    def bare():
        for _ in range(ops):
            cl.enqueue_nd_range_kernel(rt.queue, k, (1,), None)
    return "bare pyopencl launch of a no-op kernel", bare, be.synchronize


def _bare_wgpu(be, va, ops):
    """fw's own add kernel dispatched through wgpu directly: one pipeline and bind group,
    one compute pass per MAX_BATCH dispatches (as the backend batches); sync submits the
    rest and reads 4 bytes back."""
    from fw_vulkan import runtime as rt
    from fw_vulkan.layout import pack
    k = be._ew_kernel("binary", "add", fw.float32)[0]
    dev = be.rt.device
    n = va.numel
    out = be.new((n,), fw.float32)
    U = rt.wgpu.BufferUsage
    ubuf = dev.create_buffer(size=256, usage=U.UNIFORM | U.COPY_DST)
    dev.queue.write_buffer(ubuf, 0, pack((n,), ((1,), (1,), (1,)), (0, 0, 0)))
    entries = [{"binding": 0, "resource": {"buffer": ubuf, "offset": 0, "size": 256}}]
    entries += [{"binding": i, "resource": {"buffer": m, "offset": 0, "size": m.size}}
                for i, m in enumerate((out.buf.mem, va.buf.mem, va.buf.mem), 1)]
    bg = dev.create_bind_group(layout=k.layout, entries=entries)
    groups = be.rt.groups(n)
    st = {"enc": None, "pass": None, "count": 0}

    def submit():
        if st["pass"] is not None:
            st["pass"].end()
            dev.queue.submit([st["enc"].finish()])
            st["enc"] = st["pass"] = None
            st["count"] = 0

    def bare():
        for _ in range(ops):
            if st["pass"] is None:
                st["enc"] = dev.create_command_encoder()
                st["pass"] = st["enc"].begin_compute_pass()
            p = st["pass"]
            p.set_pipeline(k.pipeline)
            p.set_bind_group(0, bg, [0])
            p.dispatch_workgroups(*groups)
            st["count"] += 1
            if st["count"] == rt.MAX_BATCH:
                submit()

    def sync():
        submit()
        dev.queue.read_buffer(out.buf.mem, 0, 4)
    return "bare wgpu dispatch of fw's add kernel", bare, sync


def launch_overhead(device="opencl", ops=2000, reps=9):
    """Per-op seconds of each row: (median, best) wall time of a burst of `ops` ops with its
    final synchronize, and (median, best) CPU time of the Python thread while it queues the
    ops (what the op costs the caller, including the driver's enqueue; time the thread
    spends descheduled by other processes is not counted). The rows take turns burst by
    burst, so drift in the machine's load touches them all alike."""
    a, b = fw.ones(8, device=device), fw.ones(8, device=device)
    x, bias = fw.ones(4, 8, device=device), fw.ones(8, device=device)
    be = a._be
    va, vb, binary = a._v, b._v, be.binary

    def fw_add():
        for _ in range(ops):
            fw.add(a, b)

    def fw_mul_scalar():
        for _ in range(ops):
            fw.mul(a, 1.5)

    def fw_bias_add():
        for _ in range(ops):
            fw.add(x, bias)

    def backend_add():
        for _ in range(ops):
            binary("add", va, vb)

    bare_name, bare, bare_sync = (_bare_wgpu if device == "vulkan" else _bare_pyopencl)(
        be, va, ops)
    sync = be.synchronize
    rows = [(f"fw.add(a, b), 8 floats, no_grad, {device}", fw_add, sync),
            ("fw.mul(a, 1.5), 8 floats, no_grad", fw_mul_scalar, sync),
            ("fw.add(x[4, 8], bias[8]), no_grad", fw_bias_add, sync),
            ("backend.binary('add') only", backend_add, sync),
            (bare_name, bare, bare_sync)]
    try:
        import torch
        ta, tb = torch.ones(8), torch.ones(8)

        def torch_add():
            for _ in range(ops):
                torch.add(ta, tb)
        rows.append(("torch.add, 8 floats, CPU", torch_add, lambda: None))
    except ImportError:
        pass

    def burst(loop, sync):
        t0, c0 = time.perf_counter(), time.thread_time()
        loop()
        c1 = time.thread_time()
        sync()
        return time.perf_counter() - t0, c1 - c0

    runs = [[] for _ in rows]
    with fw.no_grad():
        for rep in range(reps + 2):  # the first two rounds warm up
            for i, (_, loop, sync) in enumerate(rows):
                r = burst(loop, sync)
                if rep >= 2:
                    runs[i].append(r)
    stats = []
    for r in runs:
        wall, cpu = [w / ops for w, _ in r], [c / ops for _, c in r]
        stats.append((statistics.median(wall), min(wall), statistics.median(cpu), min(cpu)))
    bare_t = stats[4]
    out = [(name, f"{t[0] * 1e6:.2f}", f"{t[1] * 1e6:.2f}", f"{t[2] * 1e6:.2f}",
            f"{t[3] * 1e6:.2f}", f"{t[1] / bare_t[1]:.2f}x")
           for (name, _, _), t in zip(rows, stats)]
    return table(out, ("per-op cost (us)", "wall median", "wall best", "thread CPU median",
                       "thread CPU best", "wall best vs bare"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16 * 1024 * 1024)
    p.add_argument("--reps", type=int, default=15,
                   help="timed runs of (a), and bursts per row of (b)")
    p.add_argument("--devices", default=None,
                   help="comma-separated fw devices (default: opencl and vulkan if available)")
    args = p.parse_args()
    devices = args.devices.split(",") if args.devices else available_gpu_devices()
    if not devices:
        sys.exit("no OpenCL or Vulkan device")
    for d in devices:
        print(f"{d} device:", fw.ones(1, device=d)._be.rt.name)
    print(bandwidth(args.n, args.reps, devices))
    for d in devices:
        print()
        print(launch_overhead(d, reps=args.reps))


if __name__ == "__main__":
    main()
