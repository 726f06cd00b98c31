"""Train a two-layer network with fw's autograd on a built-in toy problem (two interleaved
spirals), printing the loss as it falls. No nn/optim needed: parameters are plain tensors.

    python examples/train_toy.py [--device cpu] [--steps 1000]
"""
import argparse
import math

import framework as fw


def spirals(n_per_class, generator):
    """Two spirals in the plane, labelled 0 and 1, with a little noise."""
    t = fw.linspace(0.25, 3 * math.pi, n_per_class)
    xs, ys = [], []
    for label in (0, 1):
        angle = t + label * math.pi
        pts = fw.stack([t * angle.cos(), t * angle.sin()], dim=1) / (3 * math.pi)
        xs.append(pts + 0.02 * fw.randn(n_per_class, 2, generator=generator))
        ys.append(fw.full((n_per_class,), label, dtype=fw.int64))
    return fw.cat(xs), fw.cat(ys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1.0)
    args = parser.parse_args()

    gen = fw.Generator().manual_seed(0)
    x, y = spirals(200, gen)
    x, y = x.to(args.device), y.to(args.device)

    def param(*shape, scale):
        return (fw.randn(*shape, generator=gen) * scale).to(args.device).requires_grad_()

    w1, b1 = param(2, args.hidden, scale=1.0), param(args.hidden, scale=0.0)
    w2, b2 = param(args.hidden, args.hidden, scale=args.hidden ** -0.5), param(args.hidden, scale=0.0)
    w3, b3 = param(args.hidden, 2, scale=args.hidden ** -0.5), param(2, scale=0.0)
    params = [w1, b1, w2, b2, w3, b3]

    for step in range(args.steps + 1):
        h = (x @ w1 + b1).tanh()
        h = (h @ w2 + b2).tanh()
        logits = h @ w3 + b3
        # cross-entropy from log_softmax and a gather of the true class
        loss = -logits.log_softmax(dim=1).gather(1, y.unsqueeze(1)).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with fw.no_grad():
            for p in params:
                p -= args.lr * p.grad
        if step % 100 == 0:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
