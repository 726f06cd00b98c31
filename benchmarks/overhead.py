"""Per-op overhead and elementwise throughput of fw's "cpu" device, against PyTorch and
NumPy in the same run. Prints medians and ratios (fw time / other time; lower is better).

    python benchmarks/overhead.py [--device cpu]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import median_seconds, table  # noqa: E402

import framework as fw  # noqa: E402


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def tiny_ops(device, torch):
    rows = []
    a, b = fw.ones(16, device=device), fw.ones(16, device=device)
    m = fw.ones(8, 8, device=device)
    na, nm = np.ones(16, np.float32), np.ones((8, 8), np.float32)
    ta, tm = (torch.ones(16), torch.ones(8, 8)) if torch else (None, None)

    def chain(lib, x):
        y = x
        for _ in range(10):
            y = y * 1.01
        y.sum().backward()

    cases = [
        ("a + b (no_grad, 16 floats)", lambda: a + b, lambda: ta + ta, lambda: na + na, True),
        ("a @ b (no_grad, 8x8)", lambda: m @ m, lambda: tm @ tm, lambda: nm @ nm, True),
        ("10 ops + backward (16 floats)",
         lambda: chain(fw, fw.ones(16, device=device, requires_grad=True)),
         lambda: chain(torch, torch.ones(16, requires_grad=True)), None, False),
    ]
    for name, f_fw, f_t, f_np, nograd in cases:
        with fw.no_grad() if nograd else fw.enable_grad():
            t_fw = median_seconds(f_fw)
        if torch:
            with torch.no_grad() if nograd else torch.enable_grad():
                t_t = median_seconds(f_t)
        else:
            t_t = None
        t_np = median_seconds(f_np) if f_np else None
        rows.append((name, f"{t_fw * 1e6:.2f}", f"{t_t * 1e6:.2f}" if t_t else "-",
                     f"{t_np * 1e6:.2f}" if t_np else "-",
                     f"{t_fw / t_t:.2f}x" if t_t else "-", f"{t_fw / t_np:.2f}x" if t_np else "-"))
    return table(rows, ("op", "fw us", "torch us", "numpy us", "fw/torch", "fw/numpy"))


def throughput(device, torch, n=1 << 20):
    rows = []
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(n).astype(np.float32)
    y_np = rng.standard_normal(n).astype(np.float32)
    x, y = fw.tensor(x_np, device=device), fw.tensor(y_np, device=device)
    tx, ty = (torch.from_numpy(x_np), torch.from_numpy(y_np)) if torch else (None, None)
    cases = [
        ("add", lambda: x + y, lambda: tx + ty, lambda: x_np + y_np),
        ("mul", lambda: x * y, lambda: tx * ty, lambda: x_np * y_np),
        ("exp", lambda: x.exp(), lambda: tx.exp(), lambda: np.exp(x_np)),
        ("relu", lambda: x.relu(), lambda: tx.relu(), lambda: np.maximum(x_np, 0)),
        ("sum", lambda: x.sum(), lambda: tx.sum(), lambda: x_np.sum()),
    ]
    sync = fw.accelerator.synchronize if device != "cpu" else (lambda: None)
    with fw.no_grad():
        for name, f_fw, f_t, f_np in cases:
            def fw_call(f=f_fw):
                r = f()
                sync()
                return r
            t_fw = median_seconds(fw_call)
            t_t = median_seconds(f_t) if torch else None
            t_np = median_seconds(f_np)
            gbs = 4 * n * (3 if name in ("add", "mul") else 2) / t_fw / 1e9
            rows.append((f"{name} (1M float32)", f"{t_fw * 1e6:.0f}", f"{gbs:.1f}",
                         f"{t_t * 1e6:.0f}" if t_t else "-", f"{t_np * 1e6:.0f}",
                         f"{t_fw / t_t:.2f}x" if t_t else "-", f"{t_fw / t_np:.2f}x"))
    return table(rows, ("op", "fw us", "fw GB/s", "torch us", "numpy us", "fw/torch", "fw/numpy"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"fw {fw.__version__} on {args.device}; numpy {np.__version__}"
          + (f"; torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "; torch not installed"))
    print("\nPer-op overhead (median of 7 runs):")
    print(tiny_ops(args.device, torch))
    print("\nElementwise throughput (median of 7 runs):")
    print(throughput(args.device, torch))


if __name__ == "__main__":
    main()
