"""Record what one call of a function asks of the device, and replay it.

The recording level is the device interface (`framework/device.py`): the calls the
frontend makes on a backend (`be.binary("add", a, b)`, `be.matmul(a, b)`,
`be.adam_step_(...)`), with their `View` arguments. Every backend implements it, so one
recorder serves cpu, opencl, vulkan and third-party devices alike, and a replay skips
everything above it: Python dispatch, autograd, broadcasting, dtype and shape logic.

Each View argument is recorded as a reference to a *slot*, so that a replay binds it to
this call's buffers:
- a buffer that an earlier recorded call returned (an intermediate: a new one each replay);
- a *source*: an input tensor of the call, or a tracked tensor (a parameter, its `.grad`),
  read from the live object at replay (so `.grad` rebound by the last replay is seen);
- anything else is a constant: the View itself (a tensor made before the call).
A view of a slot's buffer with another shape, strides or offset is rebuilt over the
replayed buffer.

Host ops (`seam.host_op`: random ops, optimizer steps, zero_grad) are recorded as one
entry that calls the Python function again at replay. Before each of them, and at the end,
the `.grad` of every tracked parameter is rebound to the replayed buffer (or to None), as
the eager call left it.
"""
import inspect
import sys

import numpy as np

from ..device import View
from ..tensor import Tensor

# Backend methods that describe the hardware or the host's threads: never recorded
_NOT_RECORDED = {"is_available", "device_count", "describe", "default_device_index",
                 "unavailable_reason", "set_num_threads", "get_num_threads", "to_numpy"}

CALL, HOST, SOURCE, REBIND = range(4)


class GraphBreak(Exception):
    """Internal: the call cannot be recorded (why, and the user's line)."""


class _Ref:
    """Slot k, as recorded (`view` None) or re-viewed with shape/strides/offset/dtype."""
    __slots__ = ("k", "geom")

    def __init__(self, k, geom=None):
        self.k, self.geom = k, geom

    def get(self, slots):
        v = slots[self.k]
        g = self.geom
        if g is None:
            return v
        return View(v.buf, g[0], g[1], v.offset + g[2], g[3])


class _ListRef:
    __slots__ = ("items", "kind")

    def __init__(self, items, kind):
        self.items, self.kind = items, kind

    def get(self, slots):
        return self.kind(x.get(slots) if isinstance(x, (_Ref, _ListRef, _TensorRef)) else x
                         for x in self.items)


class _TensorRef:
    """A tensor argument of a host op: a plain tensor over the replayed view."""
    __slots__ = ("ref", "be", "requires_grad")

    def __init__(self, ref, be, requires_grad):
        self.ref, self.be, self.requires_grad = ref, be, requires_grad

    def get(self, slots):
        v = self.ref.get(slots) if isinstance(self.ref, _Ref) else self.ref
        return Tensor._make(v, self.be, self.requires_grad)


_REFS = (_Ref, _ListRef, _TensorRef)


def _template(args):
    """(args with refs, [(index, ref)]) so that a replay fills only the refs."""
    return list(args), [(i, a) for i, a in enumerate(args) if isinstance(a, _REFS)]


def _user_line():
    """'file.py:12' of the innermost frame outside fw's own packages, for warnings."""
    import framework
    root = framework.__path__[0]
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        if not name.startswith(root) and "/fw_" not in name.replace("\\", "/"):
            return f"{name}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


class Recorder:
    """Active (as the seam's observer, with backend methods wrapped) while one call runs."""

    def __init__(self, inputs, tracked, fullgraph):
        self.inputs = inputs          # the call's input tensors, flattened
        self.tracked = tracked        # tensors whose .grad is rebound (parameters)
        self.fullgraph = fullgraph
        self.depth = 0                # >0 inside a recorded call or a host op
        self.entries = []
        self.slot_views = []          # slot -> the View it held while recording
        self.bufmap = {}              # id(buffer) -> slot
        self.keep = []                # keeps recorded buffers alive (ids stay unique)
        self.broken = None            # (reason, line) once the call cannot be replayed
        self.backward_ran = False
        self._sources()

    # -- sources ---------------------------------------------------------------------------
    def _sources(self):
        """id(buffer) -> (kind, index or tensor): what a replay reads from live objects."""
        src = {}
        for t in self.tracked:
            g = t._grad
            if g is not None:
                src.setdefault(id(g._v.buf), ("grad", t, g._v))
            src.setdefault(id(t._v.buf), ("data", t, t._v))
        for i, t in enumerate(self.inputs):
            src[id(t._v.buf)] = ("input", i, t._v)
        self.sources = src

    def _new_slot(self, v):
        k = len(self.slot_views)
        self.slot_views.append(v)
        self.bufmap[id(v.buf)] = k
        self.keep.append(v)
        return k

    def ref(self, v):
        """The reference a replay resolves to the counterpart of View v."""
        k = self.bufmap.get(id(v.buf))
        if k is None:
            src = self.sources.get(id(v.buf))
            if src is None:
                return v  # a constant: made before the call, not tracked
            kind, who, sv = src
            k = self._new_slot(sv)
            self.entries.append((SOURCE, k, kind, who, None))
        sv = self.slot_views[k]
        if v is sv or (v.shape == sv.shape and v.strides == sv.strides and v.offset == sv.offset
                       and v.dtype is sv.dtype):
            return _Ref(k)
        return _Ref(k, (v.shape, v.strides, v.offset - sv.offset, v.dtype))

    def arg(self, a):
        if isinstance(a, View):
            return self.ref(a)
        if isinstance(a, (list, tuple)) and any(isinstance(x, View) for x in a):
            kind = type(a) if type(a) in (list, tuple) else tuple
            return _ListRef([self.arg(x) for x in a], kind)
        if isinstance(a, np.ndarray):
            return a.copy()  # the host data of a constant (fw.tensor([...]) inside the call)
        return a

    def outputs(self, out):
        """The slots of the Views a call returned (None where one aliases a known buffer)."""
        if isinstance(out, View):
            if id(out.buf) in self.bufmap or id(out.buf) in self.sources:
                return None
            return self._new_slot(out)
        if isinstance(out, (tuple, list)):
            return tuple(self.outputs(o) for o in out)
        return None

    # -- what the wrapped backend methods and host ops call --------------------------------
    def device_call(self, method, args, kwargs):
        targs = [self.arg(a) for a in args]
        tkw = {k: self.arg(a) for k, a in kwargs.items()}
        self.depth += 1
        try:
            out = method(*args, **kwargs)
        finally:
            self.depth -= 1
        base, refs = _template(targs)
        self.entries.append((CALL, method, base, refs, tkw, self.outputs(out)))
        return out

    def host_read(self, method, args, kwargs):
        if self.depth == 0 and self.broken is None:
            line = _user_line()
            self.broken = ("a tensor's value is read on the host (.item(), bool(), float(), "
                           "print, an `if` on a tensor, .tolist(), .numpy())", line)
            if self.fullgraph:
                from . import GraphBreakError
                raise GraphBreakError(f"fw.compile(fullgraph=True): {line}: {self.broken[0]}; "
                                      "the step cannot be captured as one graph")
        self.depth += 1
        try:
            return method(*args, **kwargs)
        finally:
            self.depth -= 1

    def host_call(self, fn, args, kwargs):
        if self.depth:
            return fn(*args, **kwargs)
        self._rebind()
        from ..optim.optimizer import Optimizer
        for a in args[:1]:
            if isinstance(a, Optimizer):
                self._track_optimizer(a)
        targs = [self._host_arg(a) for a in args]
        tkw = {k: self._host_arg(a) for k, a in kwargs.items()}
        self.depth += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        outs = self.outputs(out._v) if isinstance(out, Tensor) else None
        base, refs = _template(targs)
        self.entries.append((HOST, fn, base, refs, tkw, outs))
        self._sources()  # the host op may have rebound tracked tensors
        return out

    def _host_arg(self, a):
        if isinstance(a, Tensor):
            r = self.ref(a._v)
            return _TensorRef(r, a._be, a.requires_grad) if isinstance(r, _Ref) else a
        return a

    def _track_optimizer(self, opt):
        for g in opt.param_groups:
            for p in g["params"]:
                self.track(p)

    def track(self, t):
        """Track leaf t from now on (backward is about to write its .grad): its current
        .grad, if any, becomes a source read live at replay."""
        if any(t is x for x in self.tracked):
            return
        self.tracked.append(t)
        if t._grad is not None:
            self.sources.setdefault(id(t._grad._v.buf), ("grad", t, t._grad._v))
        self.sources.setdefault(id(t._v.buf), ("data", t, t._v))

    def _rebind(self):
        """Record how each tracked tensor's .grad stands now: None, or a recorded buffer."""
        todo = []
        for t in self.tracked:
            g = t._grad
            if g is None:
                todo.append((t, None))
            elif id(g._v.buf) in self.bufmap:
                todo.append((t, (self.ref(g._v), g._be)))
        if todo:
            self.entries.append((REBIND, todo, None, None, None))

    def finish(self):
        self._rebind()


# -- wrapping the backends while recording ---------------------------------------------------
def _public_methods(be):
    names = []
    for n in dir(type(be)):
        if n.startswith("_") or n in _NOT_RECORDED:
            continue
        a = inspect.getattr_static(type(be), n, None)
        if inspect.isfunction(a):
            names.append(n)
    return names


def wrap_backends(rec, backends):
    """Shadow each public method of each backend instance with a recording one; returns the
    undo list."""
    undo = []
    for be in backends:
        if not hasattr(be, "__dict__"):  # its methods cannot be shadowed: nothing replays
            rec.broken = (f"the {type(be).__name__} backend has no instance __dict__ (__slots__), "
                          "so its calls cannot be recorded", type(be).__name__)
            continue
        for n in _public_methods(be):
            method = getattr(be, n)

            def wrapped(*args, _m=method, **kwargs):
                if rec.depth:
                    return _m(*args, **kwargs)
                return rec.device_call(_m, args, kwargs)
            be.__dict__[n] = wrapped
            undo.append((be, n))
        orig = getattr(be, "to_numpy")

        def read(*args, _m=orig, **kwargs):
            return rec.host_read(_m, args, kwargs)
        be.__dict__["to_numpy"] = read
        undo.append((be, "to_numpy"))
    return undo


def unwrap(undo):
    for be, n in undo:
        be.__dict__.pop(n, None)


class Recording:
    """A replayable recording: entries in call order, the number of slots, and how to
    build the function's result from the slots."""

    def __init__(self, rec, result, keep=()):
        self.nslots = len(rec.slot_views)
        self.result = result
        self.ncalls = sum(1 for e in rec.entries if e[0] == CALL)
        self.nhost = sum(1 for e in rec.entries if e[0] == HOST)
        # each entry carries the slots that no later entry reads, dropped once it has run,
        # so that a replay holds no more memory than the eager call (the buffer pool of an
        # accelerator backend reuses them within the same replay)
        last = {}
        for i, e in enumerate(rec.entries):
            for k in _slots_of(e):
                last[k] = i
        for k in keep:
            last[k] = len(rec.entries)
        frees = [[] for _ in rec.entries]
        for k, i in last.items():
            if i < len(rec.entries):
                frees[i].append(k)
        self.entries = [_fast(e) + (tuple(f),) for e, f in zip(rec.entries, frees)]

    def replay(self, inputs):
        slots = [None] * self.nslots
        for e in self.entries:
            kind = e[0]
            if kind == CALL:
                _, method, base, refs, tkw, outs, frees = e
                args = base
                if refs:
                    args = list(base)
                    for i, k, g in refs:  # inlined _Ref.get: the hot loop of a replay
                        if g is None:
                            args[i] = slots[k]
                        elif g is _OTHER:
                            args[i] = k.get(slots)
                        else:
                            v = slots[k]
                            args[i] = View(v.buf, g[0], g[1], v.offset + g[2], g[3])
                if tkw:
                    out = method(*args, **{k: (a.get(slots) if isinstance(a, _REFS) else a)
                                           for k, a in tkw.items()})
                else:
                    out = method(*args)
                if outs is not None:
                    if outs.__class__ is int:
                        slots[outs] = out
                    else:
                        _place(out, outs, slots)
            elif kind == SOURCE:
                _, k, how, who, _, frees = e
                if how == "input":
                    slots[k] = inputs[who]._v
                elif how == "grad":
                    slots[k] = who._grad._v
                else:
                    slots[k] = who._v
            elif kind == REBIND:
                frees = e[-1]
                for t, r in e[1]:
                    if r is None:
                        t._grad = None
                    else:
                        ref, be = r
                        t._grad = Tensor._make(ref.get(slots) if isinstance(ref, _Ref) else ref, be)
            else:
                _, fn, base, refs, tkw, outs, frees = e
                args = base
                if refs:
                    args = list(base)
                    for i, r in refs:
                        args[i] = r.get(slots)
                out = fn(*args, **{k: (a.get(slots) if isinstance(a, _REFS) else a)
                                   for k, a in tkw.items()})
                if outs is not None:
                    slots[outs] = out._v
            for k in frees:
                slots[k] = None
        return slots


_OTHER = object()


def _fast(e):
    """A CALL entry with its refs as (index, slot, geometry) triples for the replay loop
    ((index, ref, _OTHER) for list and tensor refs)."""
    if e[0] != CALL:
        return e
    refs = [(i, r.k, r.geom) if isinstance(r, _Ref) else (i, r, _OTHER) for i, r in e[3]]
    return e[:3] + (refs,) + e[4:]


def _slots_of(e):
    """The slots entry e reads or writes."""
    out = []

    def walk(x):
        if isinstance(x, _Ref):
            out.append(x.k)
        elif isinstance(x, _ListRef):
            for y in x.items:
                walk(y)
        elif isinstance(x, _TensorRef):
            walk(x.ref)
        elif isinstance(x, tuple):
            for y in x:
                walk(y)
        elif isinstance(x, int) and not isinstance(x, bool):
            out.append(x)
    kind = e[0]
    if kind in (CALL, HOST):
        for _, r in e[3]:
            walk(r)
        for a in e[4].values():
            walk(a)
        if e[5] is not None:
            walk(e[5])
    elif kind == SOURCE:
        out.append(e[1])
    else:
        for _, r in e[1]:
            if r is not None:
                walk(r[0])
    return out


def _place(out, outs, slots):
    if isinstance(outs, int):
        slots[outs] = out
    else:
        for o, s in zip(out, outs):
            if s is not None:
                _place(o, s, slots)
