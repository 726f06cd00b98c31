"""Per-op cost of fw's Vulkan backend against a bare wgpu dispatch of the same kernel.

Both sides run the same WGSL kernel (binary.wgsl with `a + b`, float32) on the same
device in the same run, many ops per sync:
  fw:   `z = x + y` on small "vulkan" tensors (allocation, views, meta, bind group
        cache, batching: everything the frontend and backend do per op);
  bare: the pipeline and one bind group made once, then set_pipeline / set_bind_group /
        dispatch_workgroups per op into one compute pass, submitted every MAX_BATCH
        dispatches as the backend does.
The ratio fw / bare is the backend's overhead (target: within 1.5x). On lavapipe the
dispatch itself dominates (tens of microseconds); on a real GPU the Python share shows.

    python benchmarks/vulkan_overhead.py [--n 1024] [--ops 2000] [--reps 5]
"""
import argparse
import statistics
import time

import numpy as np

import framework as fw


def bare_loop(be, n, ops):
    from fw_vulkan import runtime as rt
    from fw_vulkan.layout import pack
    k = be._ew_kernel("binary", "add", fw.float32)[0]
    dev = be.rt.device
    x = be.from_numpy(np.ones(n, np.float32))
    out = be.new((n,), fw.float32)
    meta = pack((n,), ((1,), (1,), (1,)), (0, 0, 0))
    U = rt.wgpu.BufferUsage
    ubuf = dev.create_buffer(size=256, usage=U.UNIFORM | U.COPY_DST)
    dev.queue.write_buffer(ubuf, 0, meta)
    entries = [{"binding": 0, "resource": {"buffer": ubuf, "offset": 0, "size": 256}}]
    entries += [{"binding": i, "resource": {"buffer": m, "offset": 0, "size": m.size}}
                for i, m in enumerate((out.buf.mem, x.buf.mem, x.buf.mem), 1)]
    bg = dev.create_bind_group(layout=k.layout, entries=entries)
    groups = be.rt.groups(n)

    def run():
        done = 0
        while done < ops:
            enc = dev.create_command_encoder()
            p = enc.begin_compute_pass()
            for _ in range(min(rt.MAX_BATCH, ops - done)):
                p.set_pipeline(k.pipeline)
                p.set_bind_group(0, bg, [0])
                p.dispatch_workgroups(*groups)
            p.end()
            dev.queue.submit([enc.finish()])
            done += rt.MAX_BATCH
        dev.queue.read_buffer(out.buf.mem, 0, 4)
    return run


def fw_loop(n, ops):
    x = fw.ones(n, device="vulkan")
    y = fw.ones(n, device="vulkan")

    def run():
        for _ in range(ops):
            z = x + y
        z[0].item()
    return run


def timed(fn, reps):
    fn()  # warm-up: kernels built, pool filled
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    if not (hasattr(fw, "vulkan") and fw.vulkan.is_available()):
        raise SystemExit("no Vulkan/WebGPU adapter: install fw-vulkan and a driver")
    be = fw.plugins.registry.backend("vulkan")
    print(f"device: {be.rt.name}; add of {args.n} float32, {args.ops} ops per sync")
    # interleave the two so that both see the same machine load
    res = {"fw": [], "bare": []}
    bare, mine = bare_loop(be, args.n, args.ops), fw_loop(args.n, args.ops)
    for _ in range(2):
        res["bare"].append(timed(bare, args.reps))
        res["fw"].append(timed(mine, args.reps))
    per = {k: min(m for m, _ in v) / args.ops * 1e6 for k, v in res.items()}
    best = {k: min(b for _, b in v) / args.ops * 1e6 for k, v in res.items()}
    print(f"{'':6} {'us/op (median)':>15} {'us/op (best)':>13}")
    for k in ("bare", "fw"):
        print(f"{k:6} {per[k]:15.1f} {best[k]:13.1f}")
    print(f"ratio fw / bare: {per['fw'] / per['bare']:.2f}x (median), "
          f"{best['fw'] / best['bare']:.2f}x (best); target <= 1.5x")


if __name__ == "__main__":
    main()
