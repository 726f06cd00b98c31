"""ONNX: export time of fw_vision's ResNet18, and inference of the exported model imported
with fw.onnx.load on an fw device vs onnxruntime's CPU provider (batch 8, 224x224).

    python benchmarks/onnx_resnet.py --device opencl [--repeat 3] [--size 224] [--batch 8]

Each side runs in its own process (no shared thread pools); the ratio is fw / onnxruntime.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def export(path, size):
    import onnx  # noqa: F401 - imported first: its import (seconds here) is not the export
    import framework as fw
    from fw_vision.models import resnet18
    fw.manual_seed(0)
    model = resnet18().eval()
    x = fw.randn(1, 3, size, size)
    t0 = time.perf_counter()
    fw.onnx.export(model, x, path, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    return time.perf_counter() - t0


def run_fw(path, device, batch, size, repeat):
    import numpy as np
    import framework as fw
    from common import median_seconds
    m = fw.onnx.load(path).to(device).eval()
    x = fw.tensor(np.random.default_rng(0).standard_normal((batch, 3, size, size),
                                                           dtype=np.float32), device=device)

    def once():
        with fw.no_grad():
            m(x).cpu()
    return median_seconds(once, repeat=repeat, number=1)


def run_ort(path, batch, size, repeat):
    import numpy as np
    import onnxruntime as ort
    from common import median_seconds
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
    return median_seconds(lambda: sess.run(None, {"x": x}), repeat=repeat, number=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="opencl")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--part", choices=("all", "export", "fw", "ort"), default="all")
    p.add_argument("--model", default=None)
    a = p.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if a.part == "export":
        print(json.dumps({"export_s": export(a.model, a.size)}))
        return
    if a.part == "fw":
        print(json.dumps({"s": run_fw(a.model, a.device, a.batch, a.size, a.repeat)}))
        return
    if a.part == "ort":
        print(json.dumps({"s": run_ort(a.model, a.batch, a.size, a.repeat)}))
        return
    path = os.path.join(tempfile.mkdtemp(), "resnet18.onnx")
    base = [sys.executable, os.path.abspath(__file__), "--model", path, "--batch", str(a.batch),
            "--size", str(a.size), "--repeat", str(a.repeat), "--device", a.device]

    def part(name):
        out = subprocess.run(base + ["--part", name], check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    e = part("export")["export_s"]
    print(f"export ResNet18 (1x3x{a.size}x{a.size}, dynamic batch): {e:.2f} s")
    ort_s, fw_s = part("ort")["s"], part("fw")["s"]
    print(f"inference batch {a.batch}, {a.size}x{a.size}, median of {a.repeat}:")
    print(f"  onnxruntime CPU   {ort_s * 1e3:9.1f} ms")
    print(f"  fw {a.device:<14} {fw_s * 1e3:9.1f} ms   ({fw_s / ort_s:.2f}x onnxruntime)")


if __name__ == "__main__":
    main()
