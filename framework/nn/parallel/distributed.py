"""DistributedDataParallel on fw.distributed (MPI).

The mechanics are PyTorch's (Li et al., VLDB 2020): parameters are grouped in reverse
registration order (about the order backward produces their gradients) into buckets of
`bucket_cap_mb` (25 MiB; the first 1 MiB so communication starts early), each one
contiguous host buffer. A post-accumulate-grad hook on every parameter copies its gradient
into its bucket; a full bucket starts a non-blocking all-reduce while backward continues.
When backward ends (an engine callback), DDP waits for the buckets and writes the averaged
gradients back into `.grad`. Buckets start in index order on every rank, as MPI needs
collectives in the same order everywhere.
"""
import contextlib

import numpy as np

from ...autograd import engine, grad_mode
from ...autograd.function import AccumulateGrad
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_MIB = 1 << 20
_FIRST_BUCKET_BYTES = 1 * _MIB
_WHAT = "DistributedDataParallel gradient all_reduce"


def _dist():
    from ... import distributed
    return distributed


class _Bucket:
    def __init__(self, params, dtype, with_flags):
        self.params = params
        self.dtype = dtype
        self.sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        n = int(self.offsets[-1])
        # with find_unused_parameters, one more slot per parameter counts the ranks that used it
        self.buf = np.zeros(n + (len(params) if with_flags else 0), dtype.np)
        self.with_flags = with_flags
        self.reset()

    def reset(self):
        self.ready = set()
        self.work = None

    def pack(self, i, p, used):
        a, b = self.offsets[i], self.offsets[i + 1]
        if p.grad is None:
            self.buf[a:b] = 0
        else:
            self.buf[a:b] = p.grad._host().reshape(-1)
        if self.with_flags:
            self.buf[self.offsets[-1] + i] = 1 if used or p.grad is not None else 0


class DistributedDataParallel(Module):
    """Data parallelism across the ranks of fw.distributed's process group: wrap the model,
    give each rank its own share of every batch (DistributedSampler), and every rank steps
    with the gradient averaged over all of them."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 init_sync=True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects an nn.Module, got {type(module).__name__}")
        dist = _dist()
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: Default process group has not been "
                             "initialized, please make sure to call init_process_group.")
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: fw has the world process group only")
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view, self.static_graph = gradient_as_bucket_view, static_graph
        self.require_backward_grad_sync = True
        self._overlap = True  # False: all-reduce only after backward (benchmarks compare)
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MIB)

        named, seen = [], set()
        for name, p in module.named_parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                named.append((name, p))
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        self._names = {id(p): n for n, p in named}
        self._verify_across_ranks()
        if init_sync:
            self._broadcast([p for _, p in module.named_parameters()]
                            + [b for _, b in module.named_buffers()])
        self._make_buckets([p for _, p in named])
        self._expect_backward = False
        self._unfinished = None   # names of parameters the last backward gave no gradient
        self._unused = set()
        self._poller = None
        self._hooks = [p.register_post_accumulate_grad_hook(self._on_grad) for _, p in named]

    # -- set-up --------------------------------------------------------------------------
    def _verify_across_ranks(self):
        """Every rank must wrap the same parameters (names, shapes, dtypes, order)."""
        dist = _dist()
        mine = [(n, tuple(p.shape), p.dtype.name) for n, p in self.module.named_parameters()]
        every = [None] * dist.get_world_size()
        dist.all_gather_object(every, mine)
        for r, theirs in enumerate(every):
            if theirs != mine:
                diff = next(((a, b) for a, b in zip(mine, theirs) if a != b),
                            (f"{len(mine)} parameters", f"{len(theirs)} parameters"))
                raise RuntimeError(f"DistributedDataParallel: rank {dist.get_rank()} and rank {r} "
                                   f"wrap different models: {diff[0]} vs {diff[1]}")

    def _broadcast(self, tensors):
        """Rank 0's values into `tensors` on every rank, one flat host buffer per dtype."""
        from ...distributed.collectives import _broadcast_into
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for ts in by_dtype.values():
            _broadcast_into(ts, 0, "DistributedDataParallel broadcast from rank 0")

    def _make_buckets(self, params):
        """Reverse registration order; one dtype per bucket; the first bucket small."""
        self._buckets, self._where = [], {}
        open_, cap = {}, min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for p in reversed(params):
            b = open_.setdefault(p.dtype, [])
            b.append(p)
            if sum(q.numel() for q in b) * np.dtype(p.dtype.np).itemsize >= cap:
                self._add_bucket(b, p.dtype)
                del open_[p.dtype]
                cap = self.bucket_bytes_cap
        for dtype, b in open_.items():
            self._add_bucket(b, dtype)

    def _add_bucket(self, params, dtype):
        k = len(self._buckets)
        self._buckets.append(_Bucket(params, dtype, self.find_unused_parameters))
        for i, p in enumerate(params):
            self._where[id(p)] = (k, i)

    # -- forward -------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._unfinished:
            names = ", ".join(self._unfinished[:8])
            self._unfinished = None
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one: these parameters received no gradient in the last backward: "
                f"{names}. Make sure every forward output takes part in the loss, or pass "
                "find_unused_parameters=True to DistributedDataParallel.")
        if self.broadcast_buffers and self.training:
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers:
                self._broadcast(buffers)
        out = self.module(*inputs, **kwargs)
        self._expect_backward = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if self._expect_backward:
            for b in self._buckets:
                b.reset()
            self._next = 0
            self._queued = False
            self._poller = None
            self._unused = self._find_unused(out) if self.find_unused_parameters else set()
            for pid in self._unused:
                k, i = self._where[pid]
                self._buckets[k].ready.add(i)
        return out

    def _find_unused(self, out):
        """The parameters the graph of `out` does not reach (PyTorch's traversal)."""
        roots, stack = [], [out]
        while stack:
            o = stack.pop()
            if isinstance(o, (list, tuple)):
                stack.extend(o)
            elif isinstance(o, dict):
                stack.extend(o.values())
            elif hasattr(o, "grad_fn"):
                if o.grad_fn is not None:
                    roots.append(o.grad_fn)
                elif o.requires_grad:
                    roots.append(o._edge()[0])
        reached, seen = set(), set()
        while roots:
            node = roots.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if type(node) is AccumulateGrad:
                reached.add(id(node.variable))
            roots.extend(e[0] for e in node.next_functions if e is not None)
        return {pid for pid in self._where if pid not in reached}

    @contextlib.contextmanager
    def no_sync(self):
        """Gradients of the forward/backward passes inside accumulate locally; the first
        backward after leaving the block all-reduces the accumulated sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- backward ------------------------------------------------------------------------
    def _on_grad(self, p):
        if not self._expect_backward:
            return
        if not self._queued:
            self._queued = True
            engine.queue_callback(self._finish)
        k, i = self._where[id(p)]
        self._buckets[k].ready.add(i)
        if self._overlap:
            self._launch_ready()
        if self._poller is None:  # no progress thread: MPI progresses while it is asked
            for b in self._buckets[:self._next]:
                b.work.is_completed()

    def _launch_ready(self):
        from ...distributed.collectives import _iallreduce_host, _Poller
        while self._next < len(self._buckets):
            b = self._buckets[self._next]
            if len(b.ready) < len(b.params):
                return
            for i, p in enumerate(b.params):
                b.pack(i, p, id(p) not in self._unused)
            b.work = _iallreduce_host(b.buf, _WHAT)
            self._next += 1
            if self._poller is None and _Poller.usable():
                self._poller = _Poller()
            if self._poller is not None:
                self._poller.add(b.work)

    def _finish(self):
        self._expect_backward = False
        self._launch_ready()
        from ... import ops
        if self._poller is not None:
            self._poller.finish(_WHAT)
            self._poller = None
        n = _dist().get_world_size()
        missing = []
        for b in self._buckets:
            if b.work is None:
                missing += [self._names[id(p)] for i, p in enumerate(b.params) if i not in b.ready]
                continue
            b.work.wait()  # done already where the progress thread waited for it
            np.divide(b.buf, n, out=b.buf)
            base = b.offsets[-1]
            for i, p in enumerate(b.params):
                if b.with_flags and b.buf[base + i] == 0:
                    continue  # no rank used it: its .grad stays as it was
                a, e = b.offsets[i], b.offsets[i + 1]
                vals = b.buf[a:e].reshape(tuple(p.shape))
                if p.grad is None:
                    p.grad = ops.tensor(vals.copy(), device=p.device)
                else:
                    g = p.grad
                    g._be.copy_(g._v, g._be.from_numpy(vals))
                    g._ver[0] += 1
        if missing:
            self._unfinished = missing

    def __getstate__(self):
        raise TypeError("DistributedDataParallel cannot be pickled: save .module (or its state_dict)")
