"""`fw.distributed.optim.ZeroRedundancyOptimizer`: ZeRO stage 1 (Rajbhandari et al., 2020).

Each rank owns a share of the parameters and keeps optimizer state (Adam's two moments,
say) for that share only, so that state's memory per rank falls with the number of ranks.
Every rank still holds every parameter and (with DDP) every averaged gradient; after each
rank steps its own share, each share is broadcast from its owner.
"""

from ..optim.optimizer import Optimizer
from .collectives import _broadcast_into
from .process_group import _require

__all__ = ["ZeroRedundancyOptimizer"]


class ZeroRedundancyOptimizer(Optimizer):
    """Wraps `optimizer_class` (e.g. fw.optim.Adam) so that rank r builds it over its own
    parameters only; `defaults` are that class's arguments. Parameters are dealt out as
    PyTorch does: per group, largest first, each to the rank holding the fewest elements."""

    def __init__(self, params, optimizer_class, process_group=None,
                 parameters_as_bucket_view=False, overlap_with_ddp=False, **defaults):
        if process_group is not None:
            raise NotImplementedError("ZeroRedundancyOptimizer: fw has the world process group only")
        if overlap_with_ddp:
            raise NotImplementedError("ZeroRedundancyOptimizer: overlap_with_ddp is not supported")
        g = _require("ZeroRedundancyOptimizer")
        super().__init__(params, defaults)
        self.rank, self.world_size = g.rank, g.size
        self._owner = {}
        load = [0] * g.size
        local_groups = []
        for group in self.param_groups:
            mine = []
            for p in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                r = min(range(g.size), key=lambda k: load[k])
                load[r] += p.numel()
                self._owner[id(p)] = r
                if r == g.rank:
                    mine.append(p)
            # keep the group's own order among this rank's parameters
            order = {id(p): i for i, p in enumerate(group["params"])}
            mine.sort(key=lambda p: order[id(p)])
            local_groups.append({**{k: v for k, v in group.items() if k != "params"},
                                 "params": mine})
        self.optim = optimizer_class(local_groups, **defaults)
        self.state = self.optim.state  # this rank's share of the state
        for group, local in zip(self.param_groups, self.optim.param_groups):
            for k, v in local.items():  # the wrapped class's defaults (Adam's betas, ...)
                if k != "params":
                    group.setdefault(k, v)

    def _sync_param_groups(self):
        """Hyperparameters set on this optimizer's groups (an LR scheduler's lr) reach the
        local optimizer."""
        for mine, local in zip(self.param_groups, self.optim.param_groups):
            for k, v in mine.items():
                if k != "params":
                    local[k] = v

    def step(self, closure=None):
        self._sync_param_groups()
        loss = self.optim.step(closure) if closure is not None else self.optim.step()
        self._broadcast_shares()
        return loss

    def _broadcast_shares(self):
        """Each rank's freshly stepped parameters to every other rank: one flat host buffer
        per owner and dtype."""
        shares = {}
        for group in self.param_groups:
            for p in group["params"]:
                shares.setdefault((self._owner[id(p)], p.dtype.name), []).append(p)
        for (owner, _), ps in sorted(shares.items()):
            _broadcast_into(ps, owner, "ZeroRedundancyOptimizer parameter broadcast")

    def consolidate_state_dict(self, to=0):
        """Gather every rank's share of the state on rank `to` (for `state_dict()` there)."""
        from .collectives import all_gather_object
        shares = [None] * self.world_size
        mine = {i: self.optim.state[p] for i, p in enumerate(self._all_params())
                if self._owner[id(p)] == self.rank and p in self.optim.state}
        all_gather_object(shares, mine)
        self._consolidated = {k: v for s in shares for k, v in s.items()} if self.rank == to else None

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """The whole optimizer's state, indexed like a plain optimizer's; call
        `consolidate_state_dict(to=rank)` first on every rank."""
        if getattr(self, "_consolidated", None) is None:
            raise RuntimeError("Optimizer state has not been consolidated on this rank. Please "
                               "call `consolidate_state_dict(to=...)` on all ranks beforehand "
                               "and make sure that `state_dict()` is called on the rank `to`.")
        groups = []
        k = 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**{a: b for a, b in group.items() if a != "params"},
                           "params": list(range(k, k + n))})
            k += n
        return {"state": dict(self._consolidated), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a whole state (as `state_dict()` gives, or a plain optimizer's over the same
        parameters) on every rank: each keeps its own share."""
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups) or any(
                len(s["params"]) != len(g["params"]) for s, g in zip(saved, self.param_groups)):
            raise ValueError("loaded state dict's parameter groups do not match this optimizer's")
        index = {}  # saved id -> parameter
        for s, g in zip(saved, self.param_groups):
            index.update(zip(s["params"], g["params"]))
            for k, v in s.items():
                if k != "params":
                    g[k] = v
        local = {}  # this rank's parameters, numbered as the local optimizer numbers them
        for p in (p for g in self.optim.param_groups for p in g["params"]):
            local[id(p)] = len(local)
        state = {local[id(index[k])]: v for k, v in state_dict["state"].items()
                 if k in index and self._owner[id(index[k])] == self.rank}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [local[id(p)] for p in lg["params"]]}
                  for g, lg in zip(self.param_groups, self.optim.param_groups)]
        self.optim.load_state_dict({"state": state, "param_groups": groups})
        self.state = self.optim.state

