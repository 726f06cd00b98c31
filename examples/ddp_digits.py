"""The digits CNN of train_digits.py, data-parallel: each rank trains on its share of every
epoch (DistributedSampler) and DDP averages the gradients, so N ranks with a per-rank batch
of B/N follow the same path as one process with batch B.

    fw run -n 2 examples/ddp_digits.py            # two ranks
    python examples/ddp_digits.py                 # one process, the same script

The four lines a PyTorch user adds to a one-process script are marked `# DDP`.
"""
import argparse
import os
import tempfile
import time

import framework as fw
import framework.distributed as dist
from framework import nn
from framework.nn.parallel import DistributedDataParallel as DDP
from framework.utils.data import DataLoader, DistributedSampler, TensorDataset
from train_digits import accuracy, load_split, make_model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64, help="over all ranks together")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    dist.init_process_group("mpi")                                       # DDP
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} does not divide over {world} ranks")
    fw.manual_seed(args.seed + rank)  # DDP makes every rank start from rank 0's weights
    (xtr, ytr), (xte, yte) = load_split(args.seed)
    data = TensorDataset(fw.tensor(xtr), fw.tensor(ytr))
    sampler = DistributedSampler(data, seed=args.seed, drop_last=True)  # DDP
    loader = DataLoader(data, batch_size=args.batch_size // world, sampler=sampler)
    model = DDP(make_model("cnn").to(args.device))                       # DDP
    opt = fw.optim.Adam(model.parameters(), lr=args.lr)
    sched = fw.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    if rank == 0:
        print(f"cnn on {world} rank(s), {args.batch_size // world} images per rank per step")

    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)                                         # DDP
        model.train()
        total, count = fw.zeros(()), 0
        for xb, yb in loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.detach().cpu() * len(yb), count + len(yb)
        sched.step()
        stats = fw.tensor([float(total), float(count)])
        dist.all_reduce(stats)  # the epoch's mean loss over every rank's samples
        if rank == 0 and (epoch % 10 == 0 or epoch == 1):
            print(f"epoch {epoch:3d}  loss {float(stats[0] / stats[1]):.4f}  "
                  f"{time.perf_counter() - t0:.1f} s")

    acc = accuracy(model.module, xte, yte, args.device)
    path = os.path.join(tempfile.gettempdir(), "fw_ddp_digits.pt")
    dist.save_checkpoint(model.module.state_dict(), path)  # rank 0 writes, the others wait
    fresh = make_model("cnn").to(args.device)
    fresh.load_state_dict(dist.load_checkpoint(path, map_location=args.device))
    acc_reloaded = accuracy(fresh, xte, yte, args.device)
    if rank == 0:
        print(f"test accuracy {acc:.4f} (reloaded: {acc_reloaded:.4f})")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
