"""`fw.compile`: guards, the cache of recordings, eager fallbacks. See docs/compile.md."""
import functools
import threading
import warnings

from ..autograd import grad_mode
from ..autograd.function import AccumulateGrad
from ..nn.modules.module import Module
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from . import seam
from .recording import Recorder, Recording, _Ref, unwrap, wrap_backends

# Recordings kept per compiled function; past it, new keys run eagerly (torch's
# recompile_limit is also 8)
CACHE_LIMIT = 8
_MODES = (None, "default", "lite", "reduce-overhead", "max-autotune",
          "max-autotune-no-cudagraphs")
_BACKENDS = (None, "inductor", "eager", "fw")
_record_lock = threading.RLock()


class _Watcher:
    """The observer of an eager (warm-up) call: notes the optimizers a step uses."""

    def __init__(self, found):
        self.found = found
        self.depth = 0

    def host_call(self, fn, args, kwargs):
        if not self.depth and args:
            if isinstance(args[0], Optimizer):
                self.found(args[0])
        self.depth += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.depth -= 1


def _flat_tensors(args, kwargs):
    """The input tensors: top-level arguments and one level inside lists, tuples, dicts."""
    out = []
    for a in list(args) + [kwargs[k] for k in sorted(kwargs)]:
        if isinstance(a, Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out += [x for x in a if isinstance(x, Tensor)]
        elif isinstance(a, dict):
            out += [x for x in a.values() if isinstance(x, Tensor)]
    return out


def _plain_key(a):
    try:
        hash(a)
        return a
    except TypeError:
        return ("object", type(a).__name__, id(a))


class CompiledFunction:
    """What `fw.compile(fn)` returns for a function (a module gets an `OptimizedModule`)."""

    def __init__(self, fn, fullgraph=False, owner=None):
        functools.update_wrapper(self, fn, updated=())
        self._fn, self._fullgraph = fn, fullgraph
        self._cache = {}          # key -> None (warmed up) or Recording, or "eager"
        self._last_key = None
        self.replays = 0          # calls answered by a replay (for tests and benchmarks)
        self._eager_reason = None
        self._warned = set()
        self._modules, self._optimizers, self._params = [], [], []
        self._discover(owner)

    # -- what the function uses: modules and optimizers it can reach ---------------------
    def _discover(self, owner):
        fn = self._fn
        cands = [owner, getattr(fn, "__self__", None)]
        code = getattr(fn, "__code__", None)
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                cands.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        if code is not None:
            g = getattr(fn, "__globals__", {})
            names = set(code.co_names)
            for c in code.co_consts:
                if hasattr(c, "co_names"):
                    names.update(c.co_names)
            cands += [g[n] for n in names if n in g]
        for c in cands:
            if isinstance(c, Module):
                self._add_module(c)
            elif isinstance(c, Optimizer):
                self._add_optimizer(c)
            elif isinstance(c, Tensor) and c.requires_grad:
                self._add_params([c])
            elif isinstance(c, (list, tuple)):  # a list of parameters
                self._add_params(t for t in c if isinstance(t, Tensor) and t.requires_grad)

    def _add_module(self, m):
        if any(m is x for x, _ in self._modules):
            return
        self._modules.append((m, list(m.modules())))
        self._add_params(m.parameters())

    def _add_optimizer(self, opt):
        if any(opt is o for o in self._optimizers):
            return
        self._optimizers.append(opt)
        self._add_params(p for g in opt.param_groups for p in g["params"])

    def _add_params(self, params):
        have = {id(p) for p in self._params}
        for p in params:
            if id(p) not in have:
                have.add(id(p))
                self._params.append(p)

    # -- the guard key -------------------------------------------------------------------
    def _key(self, inputs, args, kwargs):
        parts = [("grad mode", grad_mode._state.enabled),
                 ("arguments", (len(args), tuple(sorted(kwargs))))]
        for i, t in enumerate(inputs):
            v = t._v
            parts.append((f"input tensor {i}", (v.shape, v.strides, v.offset, v.dtype.name,
                                                 str(t._be.device), t.requires_grad)))
        bufs = [id(t._v.buf) for t in inputs]
        parts.append(("inputs sharing storage", tuple(bufs.index(b) for b in bufs)))
        for i, a in enumerate(args):
            if not isinstance(a, (Tensor, list, tuple, dict)):
                parts.append((f"argument {i}", _plain_key(a)))
        for k, a in kwargs.items():
            if not isinstance(a, (Tensor, list, tuple, dict)):
                parts.append((f"argument {k!r}", _plain_key(a)))
        for m, mods in self._modules:
            parts.append((f"training mode of {type(m).__name__}",
                          tuple(x.training for x in mods)))
        parts.append(("parameters", tuple(id(p._v) for p in self._params)))
        parts.append(("which parameters have a .grad",
                      tuple(p._grad is None for p in self._params)))
        parts.append(("optimizer parameter count", tuple(
            sum(len(g["params"]) for g in o.param_groups) for o in self._optimizers)))
        return tuple(parts)

    def _changed(self, key):
        """What differs from the previous key, in words."""
        old = dict(self._last_key or ())
        diffs = [f"{name}: {old.get(name)!r} -> {val!r}" for name, val in key
                 if old.get(name, _MISSING) != val]
        return "; ".join(diffs[:3]) or "a new guard key"

    # -- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self._eager_reason is not None or seam.observer() is not None:
            return self._fn(*args, **kwargs)  # eager for good, or nested in another capture
        inputs = _flat_tensors(args, kwargs)
        key = self._key(inputs, args, kwargs)
        entry = self._cache.get(key, _MISSING)
        if isinstance(entry, Recording):
            self._last_key = key
            self.replays += 1
            return self._replay(entry, inputs)
        if entry is _MISSING:
            if len(self._cache) >= CACHE_LIMIT:
                self._warn_once("limit", f"fw.compile: {self._name()} was recorded for "
                                f"{CACHE_LIMIT} different guard keys (cache limit); the last "
                                f"change: {self._changed(key)}. New keys run eagerly.")
                return self._fn(*args, **kwargs)
            self._last_key = key
            self._cache[key] = None
            return self._warm_up(args, kwargs)
        if entry == "eager":
            return self._fn(*args, **kwargs)
        self._last_key = key
        return self._record(key, inputs, args, kwargs)

    def _name(self):
        return getattr(self._fn, "__qualname__", type(self._fn).__name__)

    def _warn_once(self, what, msg):
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(msg, RuntimeWarning, stacklevel=3)

    def _warm_up(self, args, kwargs):
        prev = seam.set_observer(_Watcher(self._add_optimizer))
        try:
            return self._fn(*args, **kwargs)
        finally:
            seam.set_observer(prev)

    def _backends(self, inputs):
        from ..plugins import registry
        bes = {id(t._be): t._be for t in inputs + self._params}
        for be in list(getattr(registry, "_instances", {}).values()):
            bes.setdefault(id(be), be)
        return list(bes.values())

    def _record(self, key, inputs, args, kwargs):
        from .. import autograd
        rec = Recorder(inputs, list(self._params), self._fullgraph)
        with _record_lock:
            undo = wrap_backends(rec, self._backends(inputs))
            run_backward = autograd.run_backward

            def watched(*a, **k):
                rec.backward_ran = True
                return run_backward(*a, **k)
            autograd.run_backward = watched
            accumulate = AccumulateGrad.accumulate

            def tracked_accumulate(node, *a, **k):  # a leaf the discovery missed
                rec.track(node.variable)
                return accumulate(node, *a, **k)
            AccumulateGrad.accumulate = tracked_accumulate
            prev = seam.set_observer(rec)
            try:
                out = self._fn(*args, **kwargs)
                rec.finish()
            finally:
                seam.set_observer(prev)
                autograd.run_backward = run_backward
                AccumulateGrad.accumulate = accumulate
                unwrap(undo)
        for p in rec.tracked[len(self._params):]:
            self._add_params([p])
        why = rec.broken
        result = None
        if why is None:
            try:
                result = _result_spec(rec, out, inputs)
            except _NotReplayable as e:
                why = (str(e), self._name())
        if why is not None:
            reason, line = why
            self._cache[key] = "eager"
            if "host" in reason:
                self._eager_reason = reason
            self._warn_once(reason, f"fw.compile: {line}: {reason}; {self._name()} runs "
                            "eagerly" + (" from now on" if "host" in reason else
                                         " for these inputs"))
            return out
        self._cache[key] = Recording(rec, result, _result_slots(result))
        return out

    def _replay(self, recording, inputs):
        slots = recording.replay(inputs)
        return _build(recording.result, slots, inputs)

    # introspection, for the benchmarks and tests
    def recordings(self):
        """The recordings kept, one per guard key that has been recorded."""
        return [r for r in self._cache.values() if isinstance(r, Recording)]

    def reset(self):
        """Forget every recording (torch's `torch.compiler.reset()`, per function)."""
        self._cache.clear()
        self._eager_reason = None
        self._warned.clear()


_MISSING = object()


class _NotReplayable(Exception):
    pass


def _result_spec(rec, out, inputs):
    """How a replay builds the result: ("t", ref, be) for a recorded tensor, ("in", i) for
    an input returned as is, ("k", obj) for a tensor made before the call, and the same
    structure of tuples, lists and dicts."""
    if out is None:
        return ("k", None)
    if isinstance(out, Tensor):
        for i, t in enumerate(inputs):
            if out is t:
                return ("in", i)
        if out.requires_grad and grad_mode._state.enabled and not rec.backward_ran:
            raise _NotReplayable("its output needs autograd (backward() is called outside the "
                                 "compiled function); compile the whole step, or run it under "
                                 "fw.no_grad() for inference")
        if id(out._v.buf) in rec.bufmap or id(out._v.buf) in rec.sources:
            r = rec.ref(out._v)
            return ("t", r, out._be)
        return ("k", out)
    if isinstance(out, (tuple, list)):
        return (type(out), [_result_spec(rec, o, inputs) for o in out])
    if isinstance(out, dict):
        return ("dict", {k: _result_spec(rec, o, inputs) for k, o in out.items()})
    raise _NotReplayable(f"it returns a {type(out).__name__}, which a replay cannot "
                         "recompute; return tensors (or tuples, lists, dicts of them)")


def _result_slots(spec):
    tag = spec[0]
    if tag == "t":
        return [spec[1].k] if isinstance(spec[1], _Ref) else []
    if tag in ("in", "k"):
        return []
    items = spec[1].values() if tag == "dict" else spec[1]
    return [k for s in items for k in _result_slots(s)]


def _build(spec, slots, inputs):
    tag = spec[0]
    if tag == "t":
        return Tensor._make(spec[1].get(slots), spec[2])
    if tag == "in":
        return inputs[spec[1]]
    if tag == "k":
        return spec[1]
    if tag == "dict":
        return {k: _build(s, slots, inputs) for k, s in spec[1].items()}
    items = [_build(s, slots, inputs) for s in spec[1]]
    return tag(*items) if hasattr(tag, "_fields") else tag(items)  # namedtuples too


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """PyTorch's `torch.compile`: see docs/compile.md."""
    if mode not in _MODES:
        raise RuntimeError(f"fw.compile: Unrecognized mode={mode!r}, should be one of: "
                           + ", ".join(repr(m) for m in _MODES[1:]))
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"fw.compile: options must be a dict, got {type(options).__name__}")
    if not (backend in _BACKENDS or callable(backend)):
        raise RuntimeError(f"fw.compile: invalid backend {backend!r}; fw records and "
                           "replays device calls ('inductor', the default, or 'eager')")
    if callable(backend) and backend not in _BACKENDS:
        raise RuntimeError("fw.compile: custom backends (a callable) are not supported; fw "
                           "records device calls itself")
    if dynamic not in (None, True, False):
        raise TypeError(f"fw.compile: dynamic must be None, True or False, got {dynamic!r}")
    if not isinstance(fullgraph, int):  # bool, or 0/1 as PyTorch takes
        raise TypeError(f"fw.compile: fullgraph must be a bool, got {type(fullgraph).__name__}")
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if not callable(model):
        raise TypeError(f"fw.compile: model must be a callable (a function or an "
                        f"nn.Module), got {type(model).__name__}")
    if isinstance(model, Module):
        return OptimizedModule(model, bool(fullgraph), disable or backend == "eager")
    if disable or backend == "eager":
        return model
    return CompiledFunction(model, bool(fullgraph))


class OptimizedModule(Module):
    """A module whose calls are compiled (`fw.compile(model)`); the original is `_orig_mod`,
    and its parameters are this module's under `_orig_mod.`, as in PyTorch."""

    def __init__(self, mod, fullgraph, disable):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = None if disable else CompiledFunction(
            mod.__call__, fullgraph, owner=mod)

    def __call__(self, *args, **kwargs):
        c = self.__dict__["_compiled"]
        return self._orig_mod(*args, **kwargs) if c is None else c(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)
