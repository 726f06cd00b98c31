"""Real-size models: ms per training step and per inference batch, fw against PyTorch on CPU.

    python benchmarks/models.py [--devices cpu,opencl] [--models resnet112,resnet32,transformer,lstm]
                                [--modes train,infer] [--steps 5] [--load N] [--profile]

Models (random data, float32, cross-entropy):
  resnet112    ResNet-18 (torchvision's layout, 1000 classes), batch 16 at 3x112x112, SGD momentum 0.9
  resnet32     ResNet-18 for 32x32 (3x3 stem, no max-pool, 10 classes), batch 64, SGD momentum 0.9
  transformer  embedding(1000, 256) + TransformerEncoder (6 layers, d_model 256, 8 heads,
               feed-forward 1024, dropout 0.1, batch_first) + linear to 1000 tokens, sequence 128,
               batch 16, Adam
  lstm         LSTM language model: embedding(10000, 512), 2-layer LSTM hidden 512, linear to
               10000 words, sequence 64, batch 32, SGD
fw's ResNets are fw_vision's (`resnet18`, `resnet18_cifar`); torch's are the same
architecture built below with `torch.nn` (parameter counts are checked equal). "train" is
zero_grad + forward + loss + backward + step; "infer" is forward under no_grad in eval mode.

torch and each fw device run in processes of their own and take turns (2 timed steps at a
time after at least 1 step and 0.15 s untimed), as in train_step.py; medians of --steps.
--load N: each row is measured quiet, then again with N busy processes (`while True`) beside
it, and the table adds each library's slowdown (loaded / quiet).
--profile: for each row, one step of fw on each device under fw's per-op timer
(framework.op_profiler, each call synchronised) beside torch.profiler's table of the same step.
"""
import argparse
import multiprocessing
import os
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import table  # noqa: E402
from train_step import Contenders, timed_run  # noqa: E402


# -- torch's ResNet-18, the architecture of fw_vision.models (torchvision's) ------------------
def torch_resnet18(torch, num_classes=1000, cifar=False):
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, inp, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inp != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = (nn.Conv2d(3, 64, 3, 1, 1, bias=False) if cifar
                          else nn.Conv2d(3, 64, 7, 2, 3, bias=False))
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1)
            layers, inp = [], 64
            for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers.append(nn.Sequential(BasicBlock(inp, planes, stride), BasicBlock(planes, planes)))
                inp = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))
    return ResNet()


def resnet(lib, cifar):
    if lib.__name__ == "torch":
        return torch_resnet18(lib, 10 if cifar else 1000, cifar)
    from fw_vision import models
    return models.resnet18_cifar(10) if cifar else models.resnet18()


def transformer(lib):
    nn = lib.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(1000, 256)
            layer = nn.TransformerEncoderLayer(256, 8, dim_feedforward=1024, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 6, enable_nested_tensor=False)
            self.head = nn.Linear(256, 1000)

        def forward(self, tokens):
            return self.head(self.encoder(self.embed(tokens))).flatten(0, 1)
    return Encoder()


def lstm_lm(lib):
    nn = lib.nn

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10000, 512)
            self.rnn = nn.LSTM(512, 512, num_layers=2, batch_first=True)
            self.head = nn.Linear(512, 10000)

        def forward(self, tokens):
            out, _ = self.rnn(self.embed(tokens))
            return self.head(out).flatten(0, 1)
    return LanguageModel()


# name -> (builder(lib), input: ("image", shape) or ("tokens", shape, vocab), classes, optimizer)
MODELS = {
    "resnet112": (lambda lib: resnet(lib, False), ("image", (16, 3, 112, 112)), 1000, "SGDm"),
    "resnet32": (lambda lib: resnet(lib, True), ("image", (64, 3, 32, 32)), 10, "SGDm"),
    "transformer": (transformer, ("tokens", (16, 128), 1000), 1000, "Adam"),
    "lstm": (lstm_lm, ("tokens", (32, 64), 10000), 10000, "SGD"),
}


def step_fn(lib, name, mode, device, sync):
    builder, inp, classes, opt_name = MODELS[name]
    rng = np.random.default_rng(0)
    if inp[0] == "image":
        x = lib.tensor(rng.standard_normal(inp[1], dtype=np.float32), device=device)
        n_targets = inp[1][0]
    else:
        x = lib.tensor(rng.integers(0, inp[2], inp[1]), device=device)
        n_targets = inp[1][0] * inp[1][1]
    y = lib.tensor(rng.integers(0, classes, n_targets), device=device)
    lib.manual_seed(0)
    model = builder(lib).to(device)
    F = lib.nn.functional
    if mode == "infer":
        model.eval()

        def step():
            with lib.no_grad():
                out = model(x)
            sync()
            return out
        return step, model
    params = model.parameters()
    opt = (lib.optim.SGD(params, lr=0.01, momentum=0.9) if opt_name == "SGDm"
           else lib.optim.SGD(params, lr=0.01) if opt_name == "SGD"
           else lib.optim.Adam(params, lr=1e-4))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss
    return step, model


def _profile(lib, lib_name, device, step, sync):
    """One step's per-op table: fw's op profiler, or torch.profiler's."""
    if lib_name == "torch":
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)
    from framework.op_profiler import profile_ops
    with profile_ops(sync=True, shapes=True) as prof:
        step()
    return prof.table(top=30)


def contender(conn, lib_name, device):
    """One contender's process: builds a model's step on request, runs turns of untimed and
    timed steps and sends the times back, or one profiled step's table."""
    try:
        if lib_name == "torch":
            import torch as lib
            sync = lib.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        else:
            import framework as lib
            sync = lib.plugins.registry.backend(device).synchronize
        conn.send(("ok", None))
        step = None
        while True:
            msg = conn.recv()
            if msg[0] == "build":
                step = None
                step, model = step_fn(lib, msg[1], msg[2], device, sync)
                conn.send(("ok", sum(p.numel() for p in model.parameters())))
            elif msg[0] == "run":
                conn.send(("ok", timed_run(step, *msg[1:])))
            elif msg[0] == "profile":
                step()
                conn.send(("ok", _profile(lib, lib_name, device, step, sync)))
            else:
                return
    except Exception:  # the parent raises it, with this process's traceback
        conn.send(("error", traceback.format_exc()))


def _busy():
    while True:
        pass


class Load:
    """N busy processes (one CPU-bound Python loop each) while the block runs."""

    def __init__(self, n):
        self.n, self.procs = n, []

    def __enter__(self):
        ctx = multiprocessing.get_context("spawn")
        self.procs = [ctx.Process(target=_busy, daemon=True) for _ in range(self.n)]
        for p in self.procs:
            p.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join(timeout=10)


def main():
    import framework as fw
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(
        d for d in ("cpu", "opencl") if d == "cpu" or fw.opencl.is_available()))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--modes", default="train,infer")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--load", type=int, default=0, help="busy processes beside (0: none)")
    p.add_argument("--profile", action="store_true", help="print per-op profiles instead of timing")
    p.add_argument("--profile-skip", default="", help="contenders not to profile, e.g. torch")
    args = p.parse_args()
    import torch
    devices = args.devices.split(",")
    contenders = Contenders({"torch": ("torch", "cpu"), **{d: ("fw", d) for d in devices}},
                            target=contender)
    names = ["torch"] + devices
    header = ["model", "mode", "torch ms"] + [f"fw {d} ms" for d in devices] + \
        [f"fw {d} / torch" for d in devices]
    if args.load:
        header += [f"loaded {n} ms" for n in names] + [f"{n} slowdown" for n in names]
    rows = []

    def median_ms():
        return contenders.median_ms(args.steps, burst=2, settle=1, settle_s=0.15)
    try:
        for name in args.models.split(","):
            for mode in args.modes.split(","):
                counts = {}
                for n, conn in contenders.conns.items():
                    conn.send(("build", name, mode))
                    counts[n] = contenders._reply(n)
                if len(set(counts.values())) != 1:
                    raise RuntimeError(f"{name}: parameter counts differ: {counts}")
                if args.profile:
                    skip = set(args.profile_skip.split(","))
                    for n, conn in contenders.conns.items():
                        if n in skip:
                            continue
                        conn.send(("profile",))
                        print(f"\n== {name} {mode}: {'torch cpu' if n == 'torch' else 'fw ' + n}")
                        print(contenders._reply(n), flush=True)
                    continue
                ms = median_ms()
                row = [name, mode, f"{ms['torch']:.1f}"] + [f"{ms[d]:.1f}" for d in devices] + \
                    [f"{ms[d] / ms['torch']:.2f}x" for d in devices]
                if args.load:
                    with Load(args.load):
                        loaded = median_ms()
                    row += [f"{loaded[n]:.1f}" for n in names] + \
                        [f"{loaded[n] / ms[n]:.2f}x" for n in names]
                rows.append(row)
                print("  ".join(row), flush=True)
    finally:
        contenders.close()
    if rows:
        print()
        print(f"torch {torch.__version__} with {torch.get_num_threads()} threads, fw with "
              f"{fw.get_num_threads()}; medians of {args.steps} steps; each library in its own "
              f"process, taking turns" + (f"; loaded: {args.load} busy processes" if args.load else ""))
        print(table(rows, header))


if __name__ == "__main__":
    main()
