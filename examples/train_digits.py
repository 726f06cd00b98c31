"""Train an MLP or a small CNN on scikit-learn's handwritten digits (8x8 images, 1797 of
them, shipped inside the scikit-learn package, so no download), evaluate on a held-out
test split, save the model with fw.save, load it into a fresh model and evaluate again.

    python examples/train_digits.py                      # MLP on the best device
    python examples/train_digits.py --model cnn --device opencl --epochs 30
"""
import argparse
import os
import tempfile
import time

import numpy as np

import framework as fw
from framework import nn
from framework.utils.data import DataLoader, TensorDataset
from _common import save_and_reload


def make_model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1),
                             nn.Linear(128, 10))
    return nn.Sequential(                                  # 1x8x8
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16x4x4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32x2x2
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def load_split(seed=0, test_fraction=0.2):
    """Digits scaled to [0, 1] as (N, 1, 8, 8) float32, split into train and test."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def accuracy(model, x, y, device):
    model.eval()
    with fw.no_grad():
        pred = model(fw.tensor(x, device=device)).argmax(1).cpu().numpy()
    return float((pred == y).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--device", default=str(fw.accelerator.current_accelerator() or "cpu"))
    p.add_argument("--epochs", type=int, default=None, help="default: 40 (mlp), 30 (cnn)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="checkpoint path (default: a temp file)")
    args = p.parse_args()
    epochs = args.epochs or (40 if args.model == "mlp" else 30)

    fw.manual_seed(args.seed)
    (xtr, ytr), (xte, yte) = load_split(args.seed)
    loader = DataLoader(TensorDataset(fw.tensor(xtr), fw.tensor(ytr)), batch_size=args.batch_size,
                        shuffle=True, generator=fw.Generator().manual_seed(args.seed))
    model = make_model(args.model).to(args.device)
    opt = fw.optim.Adam(model.parameters(), lr=args.lr)
    sched = fw.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    print(f"{args.model} on {args.device}: {sum(p.numel() for p in model.parameters())} "
          f"parameters, {len(xtr)} training and {len(xte)} test images")

    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
        sched.step()
        if epoch % 5 == 0 or epoch == epochs:
            acc = accuracy(model, xte, yte, args.device)
            print(f"epoch {epoch:3d}  loss {total / count:.4f}  test accuracy {acc:.2%}", flush=True)
    acc = accuracy(model, xte, yte, args.device)
    print(f"trained in {time.perf_counter() - t0:.1f} s; test accuracy {acc:.2%}")

    path = args.save or os.path.join(tempfile.mkdtemp(), f"digits_{args.model}.safetensors")
    fresh = save_and_reload(model, lambda: make_model(args.model), path, args.device)
    reloaded = accuracy(fresh, xte, yte, args.device)
    print(f"saved to {path}; reloaded model's test accuracy {reloaded:.2%}")
    if reloaded != acc:
        raise SystemExit("the reloaded model does not match the trained one")
    if acc < 0.97:
        raise SystemExit(f"test accuracy {acc:.2%} is below the 97% this example promises")


if __name__ == "__main__":
    main()
