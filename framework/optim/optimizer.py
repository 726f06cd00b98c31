"""`Optimizer`: parameter groups, per-parameter state and their (de)serialisation.

Semantics follow `torch.optim.Optimizer`: `param_groups` is a list of dicts holding
`params` and the hyper-parameters (defaults filled in), `state` maps a parameter tensor
to a dict, and `state_dict()` replaces parameters by integer ids.
"""
from collections import OrderedDict, defaultdict

from ..compiler.seam import host_op
from ..tensor import Tensor
from ..autograd import grad_mode

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter every group must give (no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(x):
    if isinstance(x, Tensor):
        return "framework.Tensor"
    t = type(x)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


class _Handle:
    """What `register_*_hook` returns: `.remove()` takes the hook out again."""
    _next = 0

    def __init__(self, hooks):
        self._hooks, self.id = hooks, _Handle._next
        _Handle._next += 1

    def remove(self):
        self._hooks.pop(self.id, None)


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        self._step_pre_hooks = OrderedDict()
        self._step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # Subclasses define `step`; wrapping it here runs the hooks and records that it ran
    # (the LR schedulers warn when they are stepped before the optimizer).
    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "step" in cls.__dict__ and not getattr(cls.step, "_fw_wrapped", False):
            cls.step = _wrap_step(cls.step)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_step_post_hooks", OrderedDict())

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # -- groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        # (name, tensor) pairs, as named_parameters() yields, keep their names
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        for g in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in g):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
            if any(id(p) in ids for p in g["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients -------------------------------------------------------------------------
    @host_op  # fw.compile re-runs it at replay (framework/compiler/seam.py)
    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        raise NotImplementedError

    def _grads(self, group):
        """(param, gradient, state) for each parameter of `group` that has a gradient, the
        gradient negated for `maximize` and with L2 weight decay added: what the composed
        steps (Adagrad, Adadelta, RMSprop) update with."""
        wd = group["weight_decay"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if group["maximize"]:
                g = -g
            if wd != 0:
                g = g.add(p, alpha=wd)
            yield p, g, self.state[p]

    def _closure_loss(self, closure):
        """Evaluate `closure` with autograd on, as the step itself runs without it."""
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # -- hooks -------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before step."""
        h = _Handle(self._step_pre_hooks)
        self._step_pre_hooks[h.id] = hook
        return h

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None, after step."""
        h = _Handle(self._step_post_hooks)
        self._step_post_hooks[h.id] = hook
        return h

    # -- serialisation ---------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {id: {...}}, 'param_groups': [{..., 'params': [ids]}]}; the state holds
        the optimizer's own tensors (not copies), as PyTorch's does."""
        ids = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [ids.setdefault(id(p), len(ids)) for p in g["params"]]
            groups.append(packed)
        state = {(ids[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups, saved = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = {i: p for g, s in zip(groups, saved) for i, p in zip(s["params"], g["params"])}
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = {key: _cast(p, val, key) for key, val in v.items()}
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved):
            ng = dict(s)
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            new_groups.append(ng)
        self.state, self.param_groups = state, new_groups


def _cast(p, value, key=None):
    """A copy of a saved state value on `p`'s device (and dtype, for float tensors);
    the step counter stays a plain number."""
    if isinstance(value, Tensor):
        if key == "step":
            return float(value.item())
        if value.is_floating_point() and p.is_floating_point():
            return value.to(device=p.device, dtype=p.dtype, copy=True).detach()
        return value.to(device=p.device, copy=True).detach()
    if isinstance(value, dict):
        return {k: _cast(p, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(p, v) for v in value)
    return value


def _wrap_step(step):
    def wrapped(self, *args, **kwargs):
        self._opt_called = True
        if self._step_pre_hooks:
            for hook in list(self._step_pre_hooks.values()):
                r = hook(self, args, kwargs)
                if r is not None:
                    if not (isinstance(r, tuple) and len(r) == 2):
                        raise RuntimeError("optimizer step pre-hook must return None or a tuple "
                                           f"of (new_args, new_kwargs), but got {r}.")
                    args, kwargs = r
        out = step(self, *args, **kwargs)
        if self._step_post_hooks:
            for hook in list(self._step_post_hooks.values()):
                hook(self, args, kwargs)
        return out
    wrapped._fw_wrapped = True
    wrapped.__name__, wrapped.__doc__, wrapped.__qualname__ = \
        step.__name__, step.__doc__, step.__qualname__
    # fw.compile re-runs a step at replay, so that it reads the current hyper-parameters
    return host_op(wrapped)


def _check_nonneg(**values):
    """PyTorch's `Invalid <name> value: <value>` for each negative hyper-parameter."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")


def _lr_check(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _scalar(x):
    return x.item() if isinstance(x, Tensor) else x


def _unused(**kw):
    """Flags PyTorch accepts that change only how the step is run there; fw refuses the
    ones that would change results."""
    if kw.get("differentiable"):
        raise NotImplementedError("differentiable=True is not supported by fw's optimizers")


