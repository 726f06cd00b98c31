"""Milliseconds per training step, fw on each device against PyTorch on CPU, same run.

    python benchmarks/train_step.py [--devices cpu,opencl] [--steps 30] [--models mlp,cnn,lstm]
                                    [--torch-device cuda] [--compile]

--devices takes any fw devices, e.g. cpu,opencl,vulkan (vulkan needs the fw-vulkan package;
it is left out of the default because lavapipe, Vulkan without a GPU, is slow).
--torch-device cuda runs the torch side on an NVIDIA GPU (for a machine that has one).
--compile adds fw.compile'd steps on each device (a process of their own) and the replay
cost per recorded device call of a chain of tiny ops (docs/compile.md).

Models (random data, float32, cross-entropy): (a) MLP 784-512-512-10, batch 128, SGD and
Adam; (b) LeNet-like CNN conv(1->32,3) relu maxpool2 conv(32->64,3) relu maxpool2
linear(1600->128) relu linear(10), batch 64, SGD and Adam; (c) one-layer LSTM, hidden 256,
sequence 32, batch 32, input 64, classifying from the last step, SGD; (d) with --models
mlp-small,lstm-small: MLP 20-64-10 batch 64 Adam, LSTM 8-16 sequence 8 batch 4 SGD, whose
steps cost more on the host than in the kernels. The same code builds
each model with fw and with torch (`lib.nn`), so only the library differs. torch and each
fw device run in processes of their own and take turns, 7 timed steps at a time after 0.15 s
(and at least 3 steps) untimed, so load from elsewhere hits them alike. Prints medians and the
ratio fw / torch (lower is better).
"""
import argparse
import multiprocessing
import os
import statistics
import sys
import time
import traceback

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


def mlp_small(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))


def lstm_small(lib):
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])
    return Classifier()


# name -> (builder, input shape, optimizers); the small ones (not in the default list) are
# host-bound: where fw.compile's savings show on a CPU
MODELS = {"mlp": (mlp, (128, 784), ("SGD", "Adam")),
          "cnn": (cnn, (64, 1, 28, 28), ("SGD", "Adam")),
          "lstm": (lstm, (32, 32, 64), ("SGD",)),
          "mlp-small": (mlp_small, (64, 20), ("Adam",)),
          "lstm-small": (lstm_small, (4, 8, 8), ("SGD",))}


def step_fn(lib, builder, shape, opt_name, device, sync, compiled=False):
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
        return loss
    if compiled:  # fw.compile: warm-up, record, then replays (docs/compile.md)
        step = lib.compile(step)

    def synced():
        loss = step()
        sync()
        return loss
    synced.compiled = step if compiled else None
    return synced


def timed_run(step, timed, settle, settle_s):
    """Seconds of each of `timed` steps, after at least `settle` steps and `settle_s` seconds
    untimed (the "run" message of a contender)."""
    start, i = time.perf_counter(), 0
    while i < settle or time.perf_counter() - start < settle_s:
        step()
        i += 1
    times = []
    for _ in range(timed):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def contender(conn, lib_name, device, compiled=False):
    """The loop of one contender's process: build a model's step on request, then run
    turns of untimed and timed steps and send the times back."""
    try:
        if lib_name == "torch":
            import torch as lib
            sync = lib.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        else:
            lib = fw
            sync = fw.plugins.registry.backend(device).synchronize
        conn.send(("ok", None))
        while True:
            msg = conn.recv()
            if msg[0] == "build":
                if callable(msg[1]):    # another benchmark's step: maker(lib, device, sync, arg)
                    step = msg[1](lib, device, sync, msg[2])
                else:
                    builder, shape, _ = MODELS[msg[1]]
                    step = step_fn(lib, builder, shape, msg[2], device, sync, compiled)
                conn.send(("ok", None))
            elif msg[0] == "run":
                conn.send(("ok", timed_run(step, *msg[1:])))
            else:
                return
    except Exception:  # the parent raises it, with this process's traceback
        conn.send(("error", traceback.format_exc()))


class Contenders:
    """One process per contender (torch, and fw on each device), so that no library runs
    with another's thread pools or memory-allocator settings: fw's cpu device tunes
    glibc's malloc for the whole process, which in one process made torch's steps ~20 %
    faster than torch on its own."""

    def __init__(self, specs, target=contender):
        ctx = multiprocessing.get_context("spawn")
        self.conns, self.procs = {}, {}
        for name, (lib_name, device, *compiled) in specs.items():
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=target, args=(child, lib_name, device, *compiled),
                               daemon=True)
            proc.start()
            self.conns[name] = parent
            self.procs[name] = proc
        for name in self.conns:
            self._reply(name)

    def _reply(self, name):
        try:
            status, value = self.conns[name].recv()
        except EOFError:  # it died without a word (a crash in native code, a kill)
            proc = self.procs[name]
            proc.join(timeout=5)
            raise RuntimeError(f"the {name} process ended with exit code {proc.exitcode}") from None
        if status == "error":
            raise RuntimeError(f"the {name} process failed:\n{value}")
        return value

    def build(self, model, opt_name):
        """Each contender builds its step: of MODELS[model] with `opt_name`, or, when
        `model` is a function (module-level, so it pickles), `model(lib, device, sync,
        opt_name)`."""
        for name, conn in self.conns.items():
            conn.send(("build", model, opt_name))
            self._reply(name)

    def median_ms(self, steps, burst=7, settle=3, settle_s=0.15):
        """Median ms per step of each contender. They take turns of `burst` timed steps, so
        that a change in the machine's load hits all of them alike. Each turn starts with
        untimed steps, at least `settle` of them and for at least `settle_s` seconds: they
        wake the contender's own worker threads, and outlast the previous contender's,
        which busy-wait a while after their last task (OpenBLAS's about 0.1 s)."""
        times = {name: [] for name in self.conns}
        while min(len(t) for t in times.values()) < steps:
            for name, conn in self.conns.items():
                conn.send(("run", burst, settle, settle_s))
                times[name] += self._reply(name)
        return {name: statistics.median(t) * 1e3 for name, t in times.items()}

    def close(self):
        for conn in self.conns.values():
            try:
                conn.send(("quit",))
            except OSError:  # that process has already ended
                pass
        for proc in self.procs.values():
            proc.join(timeout=10)


def replay_cost(device, ops=200, calls=30):
    """(eager us per op, compiled us per recorded device call) for a chain of tiny ops (8
    floats), synchronised once per call: what a replay costs beside the kernels."""
    sync = fw.plugins.registry.backend(device).synchronize

    def chain(x):
        for _ in range(ops // 2):
            x = x * 1.0001 + 0.5
        return x
    compiled = fw.compile(chain)
    x = fw.ones(8, device=device)
    out = {}
    for name, fn in (("eager", chain), ("compiled", compiled)):
        for _ in range(3):
            fn(x)
        sync()
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn(x)
            sync()
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times) * 1e6 / ops
    n = compiled.recordings()[0].ncalls
    assert n == ops, f"recorded {n} device calls, expected {ops}"
    return out["eager"], out["compiled"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(
        d for d in ("cpu", "opencl") if d == "cpu" or hasattr(fw, "opencl") and fw.opencl.is_available()))
    p.add_argument("--models", default="mlp,cnn,lstm")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--torch-device", default="cpu", help="where torch runs (cpu or cuda)")
    p.add_argument("--compile", action="store_true",
                   help="also fw.compile'd steps on each device, and the replay cost per op")
    args = p.parse_args()
    import torch
    tdev = args.torch_device
    devices = args.devices.split(",")
    specs = {"torch": ("torch", tdev), **{d: ("fw", d) for d in devices}}
    if args.compile:
        specs.update({f"{d} compiled": ("fw", d, True) for d in devices})
    fws = [n for n in specs if n != "torch"]
    header = ["model", "optimizer", f"torch {tdev} ms"] + [f"fw {d} ms" for d in fws] + \
        [f"fw {d} / torch" for d in fws]
    rows = []
    contenders = Contenders(specs)
    try:
        for name in args.models.split(","):
            for opt_name in MODELS[name][2]:
                contenders.build(name, opt_name)
                ms = contenders.median_ms(args.steps)
                t_torch, t_fw = ms["torch"], [ms[d] for d in fws]
                rows.append([name, opt_name, f"{t_torch:.2f}"] + [f"{t:.2f}" for t in t_fw]
                            + [f"{t / t_torch:.2f}x" for t in t_fw])
                print(table(rows[-1:], header) if len(rows) == 1 else "  ".join(rows[-1]),
                      flush=True)
    finally:
        contenders.close()
    print()
    print(f"torch {torch.__version__} with {torch.get_num_threads()} threads; medians of "
          f"{args.steps} steps; each library in its own process, taking turns 7 timed steps at "
          "a time after 0.15 s (and 3 steps) untimed")
    print(table(rows, header))
    if args.compile:
        print()
        cost = [[d] + [f"{c:.1f}" for c in replay_cost(d)] for d in devices]
        print("a chain of 200 tiny ops (8 floats), one sync per call: us per op")
        print(table(cost, ["device", "eager us/op", "compiled us/recorded op"]))


if __name__ == "__main__":
    main()
