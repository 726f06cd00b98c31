"""Run by tests/test_distributed.py under `fw run -n 2`: DDP, SyncBatchNorm, ZeRO and the
checkpoint helpers against one process on the concatenated batch. Prints `ddp ok`."""
import copy
import sys

import numpy as np

import framework as fw
import framework.distributed as dist
from framework import nn
from framework.distributed.optim import ZeroRedundancyOptimizer
from framework.nn.parallel import DistributedDataParallel as DDP
from framework.utils.data import DistributedSampler

dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
B = 4  # per rank
F = nn.functional


def close(a, b, what, atol=1e-6):
    a = a.detach().cpu().numpy() if isinstance(a, fw.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, fw.Tensor) else np.asarray(b)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-5, atol=atol):
        raise AssertionError(f"rank {rank}: {what}: max diff {np.abs(a - b).max()}")


def batch(step, n_in=6, n_out=3):
    g = fw.Generator().manual_seed(1000 + step)
    return fw.randn(B * size, n_in, generator=g), fw.randn(B * size, n_out, generator=g)


def mine(t):
    return t[rank * B:(rank + 1) * B]


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def grads_equal(ddp_model, ref, what):
    for (name, p), q in zip(ddp_model.module.named_parameters(), ref.parameters()):
        close(p.grad, q.grad, f"{what}: grad of {name}")


# 1. construction broadcasts rank 0's parameters; one step's gradient equals one process's
fw.manual_seed(0)
ref = mlp()
for cap in (None, 0.0001):  # one bucket, then three
    fw.manual_seed(rank)  # every rank starts from different weights; rank 0's are ref's
    model = DDP(mlp(), bucket_cap_mb=cap)
    assert len(model._buckets) == (1 if cap is None else 3), len(model._buckets)
    for p, q in zip(model.module.parameters(), ref.parameters()):
        close(p, q, "parameters broadcast at construction")
    x, y = batch(0)
    F.mse_loss(model(mine(x)), mine(y)).backward()
    ref.zero_grad()
    F.mse_loss(ref(x), y).backward()
    grads_equal(model, ref, f"one step, bucket_cap_mb={cap}")

# 2. no_sync: two micro-batches accumulate locally, the second backward syncs the sum
model.module.zero_grad()
ref.zero_grad()
x1, y1 = batch(1)
x2, y2 = batch(2)
with model.no_sync():
    F.mse_loss(model(mine(x1)), mine(y1)).backward()
local = [p.grad.clone() for p in model.module.parameters()]
F.mse_loss(model(mine(x2)), mine(y2)).backward()
(F.mse_loss(ref(x1), y1) + F.mse_loss(ref(x2), y2)).backward()
grads_equal(model, ref, "no_sync accumulation")
everyone = [None] * size
dist.all_gather_object(everyone, [g.numpy() for g in local])
assert not all(np.allclose(a, b) for a, b in zip(everyone[0], everyone[1])), "no_sync synced"

# 3. training keeps the ranks identical; the state dict has PyTorch's module. prefix
opt = fw.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    x, y = batch(10 + step)
    opt.zero_grad()
    F.mse_loss(model(mine(x)), mine(y)).backward()
    opt.step()
sums = [None] * size
dist.all_gather_object(sums, [float(p.sum()) for p in model.parameters()])
assert all(s == sums[0] for s in sums), sums
assert all(k.startswith("module.") for k in model.state_dict())


# 4. unused parameters: rank 0 uses branch b, rank 1 does not; branch c nobody uses
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, 3), nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


fw.manual_seed(0)
ref = Branchy()
model = DDP(copy.deepcopy(ref), find_unused_parameters=True)
x, y = batch(20)
F.mse_loss(model(mine(x), rank == 0), mine(y)).backward()
total = sum(F.mse_loss(ref(x[r * B:(r + 1) * B], r == 0), y[r * B:(r + 1) * B]) for r in range(size))
(total / size).backward()
for name in ("a.weight", "a.bias", "b.weight", "b.bias"):
    close(model.module.get_parameter(name).grad, ref.get_parameter(name).grad, f"unused: {name}")
assert model.module.c.weight.grad is None and ref.c.weight.grad is None

# without find_unused_parameters the next forward says which parameters got no gradient
model = DDP(copy.deepcopy(ref))
F.mse_loss(model(mine(x), True), mine(y)).backward()
try:
    model(mine(x), True)
    raise AssertionError("no error for a parameter without a gradient")
except RuntimeError as e:
    assert "c.weight" in str(e) and "find_unused_parameters" in str(e), e

# ranks wrapping different models: a clear error on every rank
try:
    DDP(nn.Linear(6, 3 + rank))
    raise AssertionError("DDP accepted different models")
except RuntimeError as e:
    assert "wrap different models" in str(e), e

# 5. SyncBatchNorm equals BatchNorm over the concatenated batch: output, grads, running stats
fw.manual_seed(0)
ref = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(ref)))
assert isinstance(model.module[1], nn.SyncBatchNorm)
x, y = batch(30)
out = model(mine(x))
ref_out = ref(x)
close(out, mine(ref_out), "SyncBatchNorm forward")
F.mse_loss(out, mine(y)).backward()
F.mse_loss(ref_out, y).backward()
grads_equal(model, ref, "SyncBatchNorm")
close(model.module[1].running_mean, ref[1].running_mean, "running_mean")
close(model.module[1].running_var, ref[1].running_var, "running_var")

# 6. ZeRO-1: the same trajectory as plain Adam in one process; state sharded
fw.manual_seed(0)
ref = mlp()
model = DDP(copy.deepcopy(ref))
zero = ZeroRedundancyOptimizer(model.parameters(), fw.optim.Adam, lr=0.01)
adam = fw.optim.Adam(ref.parameters(), lr=0.01)
for step in range(3):
    x, y = batch(40 + step)
    zero.zero_grad()
    F.mse_loss(model(mine(x)), mine(y)).backward()
    zero.step()
    adam.zero_grad()
    F.mse_loss(ref(x), y).backward()
    adam.step()
for p, q in zip(model.module.parameters(), ref.parameters()):
    close(p, q, "ZeRO vs Adam", atol=1e-5)
held = [None] * size
dist.all_gather_object(held, len(zero.optim.state))
assert sum(held) == len(list(ref.parameters())) and min(held) > 0, held
zero.consolidate_state_dict(to=0)
sd = [zero.state_dict() if rank == 0 else None]
if rank == 0:
    assert sorted(sd[0]["state"]) == list(range(len(list(ref.parameters()))))
    close(sd[0]["state"][0]["exp_avg"], adam.state_dict()["state"][0]["exp_avg"], "ZeRO state", atol=1e-5)
dist.broadcast_object_list(sd, src=0)
# a fresh ZeRO optimizer loading it continues exactly as Adam does
model2 = DDP(copy.deepcopy(model.module))
zero2 = ZeroRedundancyOptimizer(model2.parameters(), fw.optim.Adam, lr=0.5)
zero2.load_state_dict(sd[0])
assert zero2.param_groups[0]["lr"] == 0.01
x, y = batch(45)
zero2.zero_grad()
F.mse_loss(model2(mine(x)), mine(y)).backward()
zero2.step()
adam.zero_grad()
F.mse_loss(ref(x), y).backward()
adam.step()
for p, q in zip(model2.module.parameters(), ref.parameters()):
    close(p, q, "ZeRO after load_state_dict vs Adam", atol=1e-5)

# 7. checkpoints: rank 0 writes, every rank reads
path = sys.argv[1]
dist.save_checkpoint(model.module.state_dict(), path)
sd = dist.load_checkpoint(path, map_location="cpu")
for k, v in model.module.state_dict().items():
    close(sd[k], v, f"checkpoint {k}")

# 8. the sampler takes its rank and world size from the process group
s = DistributedSampler(range(10), seed=3)
assert (s.rank, s.num_replicas, len(s)) == (rank, size, 5)
parts = [None] * size
dist.all_gather_object(parts, list(s))
assert sorted(sum(parts, [])) == list(range(10)), parts
# 9. a model on another device: gradients staged through host memory
for dev in sys.argv[2:]:
    fw.manual_seed(0)
    ref = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).to(dev)
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(ref)))
    x, y = batch(50)
    x, y = x.to(dev), y.to(dev)
    F.mse_loss(model(mine(x)), mine(y)).backward()
    F.mse_loss(ref(x), y).backward()
    assert model.module[0].weight.grad.device == ref[0].weight.grad.device
    grads_equal(model, ref, f"DDP + SyncBatchNorm on {dev}")
print("ddp ok")
