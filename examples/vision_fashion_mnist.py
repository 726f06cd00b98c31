"""Train a small CNN on Fashion-MNIST with fw and fw_vision; fall back to scikit-learn's digits.

Fashion-MNIST comes from Debian (`apt-get install dataset-fashion-mnist`, real IDX .gz files in
/usr/share/datasets/fashion-mnist) or any folder holding the four IDX files. Writes a
checkpoint (fw.save, safetensors) and a PNG plot of loss and accuracy to --out.

    python examples/vision_fashion_mnist.py --epochs 3
    python examples/vision_fashion_mnist.py --subset 10000 --epochs 2    # quick run
    python examples/vision_fashion_mnist.py --dataset digits              # no apt needed
"""
import argparse
import os
import time

import framework as fw
from framework import nn
from framework.utils.data import DataLoader, Subset

from fw_vision import datasets, transforms as T, utils
from _common import save_and_reload, save_figure, subplots

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def make_model(image_size):
    # two 3x3 conv blocks; 28x28 -> 7x7, 8x8 -> 2x2
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * side * side, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 10))


def load_data(args):
    """(train set, test set, name, image side) as fw_vision datasets with transforms."""
    root = args.root or FASHION_DIR
    use_fashion = args.dataset == "fashion" or (args.dataset == "auto" and os.path.isdir(root))
    if use_fashion:
        tf = T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))])
        train_tf = T.Compose([T.RandomHorizontalFlip(), tf]) if args.augment else tf
        train = datasets.FashionMNIST(root, train=True, transform=train_tf)
        test = datasets.FashionMNIST(root, train=False, transform=tf)
        name, side = "Fashion-MNIST", 28
    else:
        if args.dataset == "auto":
            print(f"{root} not found (apt-get install dataset-fashion-mnist): using sklearn digits")
        tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
        train, test = datasets.Digits(train=True, transform=tf), datasets.Digits(train=False, transform=tf)
        name, side = "digits", 8
    if args.subset:
        g = fw.Generator().manual_seed(args.seed)
        train = Subset(train, fw.randperm(len(train), generator=g)[:args.subset].tolist())
    return train, test, name, side


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    with fw.no_grad():
        for x, y in loader:
            pred = model(x.to(device)).argmax(1).cpu()
            correct += int((pred == y).sum().item())
            total += len(y)
    return correct / total


def plot(history, path, title):
    fig, (a1, a2) = subplots()
    a1.plot(history["step"], history["loss"], lw=0.8)
    a1.set(xlabel="training step", ylabel="loss", title="training loss")
    a2.plot(range(1, len(history["test_acc"]) + 1), history["test_acc"], "o-", label="test")
    a2.plot(range(1, len(history["train_acc"]) + 1), history["train_acc"], "s--", label="train (running)")
    a2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    a2.legend()
    save_figure(fig, path, title)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, opencl, opencl:N, ...")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", default="runs/vision_fashion_mnist", help="folder for checkpoint and plot")
    p.add_argument("--dataset", choices=("auto", "fashion", "digits"), default="auto")
    p.add_argument("--root", default=None, help=f"folder with the IDX files (default {FASHION_DIR})")
    p.add_argument("--subset", type=int, default=0, help="train on this many images (0: all)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--augment", action="store_true", help="random horizontal flips")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--blas-threads", type=int, default=0,
                   help="limit NumPy's BLAS threads (1 is much faster on a busy machine)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.blas_threads)
    from tqdm import tqdm

    fw.manual_seed(args.seed)
    train, test, name, side = load_data(args)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                              generator=fw.Generator().manual_seed(args.seed))
    test_loader = DataLoader(test, batch_size=512, num_workers=args.workers)
    model = make_model(side).to(args.device)
    opt = fw.optim.Adam(model.parameters(), lr=args.lr)
    sched = fw.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                             steps_per_epoch=len(train_loader))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {len(train)} training and {len(test)} test images; CNN with {n_params} "
          f"parameters on {args.device}")
    os.makedirs(args.out, exist_ok=True)
    history = {"step": [], "loss": [], "train_acc": [], "test_acc": [], "epoch_s": []}
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, correct, seen = time.perf_counter(), 0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=True, mininterval=2.0)
        for x, y in bar:
            x, y = x.to(args.device), y.to(args.device)
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            lv = loss.item()
            correct += int((out.argmax(1) == y).sum().item())
            seen += len(y)
            history["step"].append(step)
            history["loss"].append(lv)
            bar.set_postfix(loss=f"{lv:.3f}", acc=f"{correct / seen:.3f}")
        history["epoch_s"].append(time.perf_counter() - t0)
        history["train_acc"].append(correct / seen)
        history["test_acc"].append(evaluate(model, test_loader, args.device))
        print(f"epoch {epoch}: {history['epoch_s'][-1]:.1f} s, train accuracy "
              f"{history['train_acc'][-1]:.2%}, test accuracy {history['test_acc'][-1]:.2%}", flush=True)

    ckpt = os.path.join(args.out, "model.safetensors")
    fresh = save_and_reload(model, lambda: make_model(side), ckpt, args.device)
    reloaded = evaluate(fresh, test_loader, args.device)
    png = os.path.join(args.out, "training.png")
    plot(history, png, f"{name} CNN: test accuracy {history['test_acc'][-1]:.2%}")
    first = fw.stack([test[i][0] for i in range(32)])
    utils.save_image(first, os.path.join(args.out, "test_images.png"), normalize=True)
    print(f"checkpoint {ckpt} (reloaded test accuracy {reloaded:.2%}); plot {png}")
    if abs(reloaded - history["test_acc"][-1]) > 1e-9:
        raise SystemExit("the reloaded model does not match the trained one")


if __name__ == "__main__":
    main()
