"""Milliseconds per training step, fw on each device against PyTorch on CPU, same run.

    python benchmarks/train_step.py [--devices cpu,opencl] [--steps 30] [--models mlp,cnn,lstm]
                                    [--torch-device cuda]

--devices takes any fw devices, e.g. cpu,opencl,vulkan (vulkan needs the fw-vulkan package;
it is left out of the default because lavapipe, Vulkan without a GPU, is slow).
--torch-device cuda runs the torch side on an NVIDIA GPU (for a machine that has one).

Models (random data, float32, cross-entropy): (a) MLP 784-512-512-10, batch 128, SGD and
Adam; (b) LeNet-like CNN conv(1->32,3) relu maxpool2 conv(32->64,3) relu maxpool2
linear(1600->128) relu linear(10), batch 64, SGD and Adam; (c) one-layer LSTM, hidden 256,
sequence 32, batch 32, input 64, classifying from the last step, SGD. The same code builds
each model with fw and with torch (`lib.nn`), so only the library differs. torch and each
fw device take turns, 10 steps at a time (the first 3 untimed), so load from elsewhere hits
them alike. Prints medians and the ratio fw / torch (lower is better).
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


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def lstm(lib):
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(64, 256, batch_first=True)
            self.head = nn.Linear(256, 10)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])
    return Classifier()


# name -> (builder, input shape, optimizers)
MODELS = {"mlp": (mlp, (128, 784), ("SGD", "Adam")),
          "cnn": (cnn, (64, 1, 28, 28), ("SGD", "Adam")),
          "lstm": (lstm, (32, 32, 64), ("SGD",))}


def step_fn(lib, builder, shape, opt_name, device, sync):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape, dtype=np.float32), device=device)
    y = lib.tensor(rng.integers(0, 10, shape[0]), device=device)
    lib.manual_seed(0)
    model = builder(lib).to(device)
    opt = (lib.optim.SGD(model.parameters(), lr=0.01) if opt_name == "SGD"
           else lib.optim.Adam(model.parameters(), lr=1e-3))
    F = lib.nn.functional

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss
    return step


def median_ms(steps_by_name, steps, burst=10, settle=3):
    """Median ms per step of each step function. They take turns, `burst` steps at a time,
    so that a change in the machine's load hits all of them alike; the first `settle` steps
    of each turn are not timed, since the other library's worker threads may still be
    spinning (OpenMP and OpenBLAS threads busy-wait a while after their last task)."""
    times = {name: [] for name in steps_by_name}
    while len(next(iter(times.values()))) < steps:
        for name, step in steps_by_name.items():
            for i in range(burst):
                t0 = time.perf_counter()
                step()
                if i >= settle:
                    times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(
        d for d in ("cpu", "opencl") if d == "cpu" or fw.opencl.is_available()))
    p.add_argument("--models", default="mlp,cnn,lstm")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--torch-device", default="cpu", help="where torch runs (cpu or cuda)")
    args = p.parse_args()
    import torch
    tdev = args.torch_device
    tsync = torch.cuda.synchronize if tdev.startswith("cuda") else (lambda: None)
    devices = args.devices.split(",")
    header = ["model", "optimizer", f"torch {tdev} ms"] + [f"fw {d} ms" for d in devices] + \
        [f"fw {d} / torch" for d in devices]
    rows = []
    for name in args.models.split(","):
        builder, shape, opts = MODELS[name]
        for opt_name in opts:
            steps = {"torch": step_fn(torch, builder, shape, opt_name, tdev, tsync)}
            for d in devices:
                sync = fw.plugins.registry.backend(d).synchronize
                steps[d] = step_fn(fw, builder, shape, opt_name, d, sync)
            ms = median_ms(steps, args.steps)
            t_torch, t_fw = ms["torch"], [ms[d] for d in devices]
            rows.append([name, opt_name, f"{t_torch:.2f}"] + [f"{t:.2f}" for t in t_fw]
                        + [f"{t / t_torch:.2f}x" for t in t_fw])
            print(table(rows[-1:], header) if len(rows) == 1 else "  ".join(rows[-1]), flush=True)
    print()
    print(f"torch {torch.__version__} with {torch.get_num_threads()} threads; medians of "
          f"{args.steps} steps, torch and fw taking turns 10 steps at a time (3 untimed)")
    print(table(rows, header))


if __name__ == "__main__":
    main()
