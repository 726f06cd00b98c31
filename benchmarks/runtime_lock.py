"""What the runtime lock of the buffer backends costs a single thread.

Every device-interface method of the OpenCL and Vulkan backends runs under its runtime's
lock (framework/buffer_backend.py), so that threads can share a device. This times the
same work with those methods and with the functions they wrap (`__wrapped__`), the two
taking turns burst by burst, and prints the median of the per-round ratios, in CPU time
of the calling thread and in wall time:
  - `fw.add` of two 8-float tensors (the op with the least work: the worst case);
  - a small MLP training step (64-128-10, batch 32, cross-entropy, SGD).

    python benchmarks/runtime_lock.py [--device opencl] [--rounds 41]
"""
import argparse
import statistics
import time

import framework as fw
from framework import nn, optim
from framework.plugins import get_backend


def _switch(cls, locked, on):
    for name, fn in locked.items():
        setattr(cls, name, fn if on else fn.__wrapped__)


def _burst(fn, n):
    fn().cpu()
    t, w = time.thread_time(), time.perf_counter()
    for _ in range(n):
        r = fn()
    r.cpu()
    return (time.thread_time() - t) / n * 1e6, (time.perf_counter() - w) / n * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="opencl")
    ap.add_argument("--rounds", type=int, default=41)
    args = ap.parse_args()
    dev = args.device
    cls = type(get_backend(dev))
    locked = {n: f for n, f in vars(cls).items() if getattr(f, "_fw_locked", False)}
    if not locked:
        raise SystemExit(f"device {dev!r} has no runtime lock (not a buffer backend)")

    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(dev)
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = fw.randn(32, 64, device=dev), fw.randint(0, 10, (32,), device=dev)
    a = fw.ones(8, device=dev)

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    try:
        for name, fn, n in (("fw.add, 8 floats", lambda: fw.add(a, a), 1000),
                            ("MLP training step", step, 30)):
            cpu, wall, base = [], [], []
            for i in range(args.rounds):
                res = {}
                for on in ((True, False) if i % 2 else (False, True)):
                    _switch(cls, locked, on)
                    res[on] = _burst(fn, n)
                cpu.append(res[True][0] / res[False][0])
                wall.append(res[True][1] / res[False][1])
                base.append(res[False])
            print(f"{dev} {name}: {statistics.median(b[0] for b in base):.1f} us CPU, "
                  f"{statistics.median(b[1] for b in base):.1f} us wall without the lock; "
                  f"with it {(statistics.median(cpu) - 1) * 100:+.1f} % CPU, "
                  f"{(statistics.median(wall) - 1) * 100:+.1f} % wall")
    finally:
        _switch(cls, locked, True)


if __name__ == "__main__":
    main()
