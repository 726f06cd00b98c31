"""Device memory of forwards that never run backward (evaluation under grad mode).

200 forwards of an MLP with tanh, sigmoid, softmax and exp (batch 256, 1024 wide) on an
accelerator, each output dropped at once; prints the peak bytes the pool had handed out.
Under grad mode each node saves its output; a saved output that pointed back at its node
was a reference cycle, so every forward's buffers waited for Python's cyclic collector.
`--old` patches that behaviour back in, for comparison; `--no-gc` turns the collector off.

    python benchmarks/graph_memory.py [--device opencl] [--no-grad] [--no-gc] [--old]
"""
import argparse
import gc

import framework as fw
from framework import nn
from framework.autograd.function import FunctionCtx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="opencl")
    ap.add_argument("--no-grad", action="store_true", help="run the forwards under no_grad")
    ap.add_argument("--no-gc", action="store_true", help="turn Python's cyclic collector off")
    ap.add_argument("--old", action="store_true",
                    help="keep saved outputs with their grad_fn (the reference cycle)")
    args = ap.parse_args()
    if args.old:
        FunctionCtx._unlink_saved_outputs = lambda self: None
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 1024), nn.Tanh(), nn.Linear(1024, 1024), nn.Sigmoid(),
                          nn.Linear(1024, 64), nn.Softmax(1)).to(args.device)
    x = fw.randn(256, 256, device=args.device)
    pool = x._be.rt.pool
    if args.no_gc:
        gc.disable()
    peak = 0
    with fw.no_grad() if args.no_grad else fw.enable_grad():
        for _ in range(200):
            y = model(x).exp()
            peak = max(peak, pool.live - pool.cached)
            del y
    print(f"{args.device}, {'no_grad' if args.no_grad else 'grad mode'}, collector "
          f"{'off' if args.no_gc else 'on'}{', old saved outputs' if args.old else ''}: "
          f"peak {peak / 2**20:.0f} MiB in use")


if __name__ == "__main__":
    main()
