"""Train the digits CNN briefly, export it to ONNX with a dynamic batch, and serve it with
onnxruntime (no fw needed at serving time); then load the file back into fw and run it on
another device.

    python examples/export_onnx.py --epochs 5 --device cpu
    (needs the onnx extra: pip install 'fw-framework[onnx]'; scikit-learn for the digits)
"""
import argparse
import os
import tempfile
import time

import numpy as np

import framework as fw
from framework import nn
from framework.utils.data import DataLoader, TensorDataset
from train_digits import accuracy, load_split, make_model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="opencl" if fw.opencl.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "digits_cnn.onnx"))
    args = p.parse_args()

    fw.manual_seed(0)
    (xtr, ytr), (xte, yte) = load_split(0)
    loader = DataLoader(TensorDataset(fw.tensor(xtr), fw.tensor(ytr)), batch_size=64,
                        shuffle=True, generator=fw.Generator().manual_seed(0))
    model = make_model("cnn").to(args.device)
    opt = fw.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb.to(args.device)), yb.to(args.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    print(f"fw: trained {args.epochs} epochs on {args.device}, test accuracy "
          f"{accuracy(model, xte, yte, args.device):.2%}")

    # 1. export: eval mode, one example batch, the batch axis named dynamic
    model.eval()
    t0 = time.perf_counter()
    fw.onnx.export(model, fw.tensor(xte[:2], device=args.device), args.out,
                   input_names=["image"], output_names=["logits"],
                   dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    print(f"exported {args.out} in {time.perf_counter() - t0:.2f} s")

    # 2. serve with onnxruntime: any batch size, no fw
    import onnxruntime as ort
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    logits = sess.run(["logits"], {"image": xte})[0]
    print(f"onnxruntime: batch {len(xte)}, test accuracy {(logits.argmax(1) == yte).mean():.2%}")
    with fw.no_grad():
        ref = model(fw.tensor(xte, device=args.device)).cpu().numpy()
    print(f"max |onnxruntime - fw| = {np.abs(logits - ref).max():.2e}")

    # 3. and back: the ONNX file as an fw module, on the CPU backend
    back = fw.onnx.load(args.out).to("cpu")
    with fw.no_grad():
        again = back(fw.tensor(xte)).numpy()
    print(f"fw.onnx.load on cpu: max |diff| = {np.abs(again - ref).max():.2e}")


if __name__ == "__main__":
    main()
