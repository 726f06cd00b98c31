"""Graph nodes and `autograd.Function`, the one way every differentiable op is written.

Each call of `Function.apply` runs `forward` with grad mode off and, when an input needs
a gradient, makes a node (the `ctx`) that points at the nodes of its inputs. The graph is
therefore exactly the code that ran: loops and branches on tensor values just work.
"""
import itertools
import sys
import weakref

from . import grad_mode

_Tensor = None     # framework.tensor.Tensor, set by that module (it imports this one)
_next_seq = itertools.count(1).__next__

_RELEASED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class Node:
    """A backward function in the graph: what `tensor.grad_fn` holds."""
    # Defaults live on the class so that making a node (once per op) stays cheap.
    next_functions = ()
    _pre_hooks = None       # {output_nr: [hook, ...]} from Tensor.register_hook
    _retained = None        # {output_nr: weakref to tensor} from retain_grad()
    _out_meta = ()          # per output: (shape, dtype, backend), or None

    def __init__(self):
        self._seq = _next_seq()  # creation order: the engine runs newer nodes first

    def name(self):
        op = self.__dict__.get("op")  # generic unary/binary nodes say which op they are
        if op is not None:
            return "".join(p.capitalize() for p in op.split("_")) + "Backward0"
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    def register_hook(self, hook):
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    def _add_pre_hook(self, nr, hook):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.setdefault(nr, [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    def _release(self):
        pass


class _Handle:
    """What `register_hook` returns; `.remove()` takes the hook off."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds what arrives into `leaf.grad`."""

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def accumulate(self, g, create_graph):
        v = self.variable
        if g.shape != v.shape:
            g = g.sum_to_size(v.shape)
        if v.grad is None:
            if not create_graph and _unshared(g) and g.dtype == v.dtype:
                v.grad = g  # nothing else sees it: keep it, as PyTorch does
            else:
                # A copy, so that no two leaves share a gradient buffer and in-place
                # updates of one .grad (clipping, zero_grad) never touch another.
                v.grad = g.clone() if create_graph else g.detach().clone()
        elif create_graph:
            v.grad = v.grad + g
        else:
            with grad_mode.no_grad():
                v.grad.add_(g.detach())
        for hook in v.__dict__.get("_post_acc_hooks", ()):
            hook(v)


def _unshared(g):
    """True when only the caller holds gradient `g`: no other reference to the tensor
    and none to its version counter, which every view and detached alias shares."""
    return (sys.getrefcount(g) <= _FRESH_REFS and sys.getrefcount(g._ver) == 2
            and g._base is None and not g.requires_grad and g._v.is_contiguous())


# References to a gradient that only the engine passed on: accumulate's argument, the
# local name in `_unshared` and getrefcount's own argument.
_FRESH_REFS = 3


class FunctionCtx(Node):
    """The `ctx` a Function's forward and backward receive; also its graph node."""

    _saved = ()
    _non_diff = ()
    _dirty = ()
    needs_input_grad = ()
    materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tuple(None if t is None else (t, t._ver[0]) for t in tensors)

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(_RELEASED)
        out = []
        for item in self._saved:
            if item is None:
                out.append(None)
                continue
            t, ver = item[0], item[1]
            if t._ver[0] != ver:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.type()} {list(t.shape)}] is at version "
                    f"{t._ver[0]}; expected version {ver} instead. Hint: replace the in-place "
                    "operation (such as x += y or x.relu_()) by its out-of-place form.")
            if len(item) == 3:  # one of this node's outputs, kept without its grad_fn
                t = _Tensor._make(t._v, t._be, True)
                t._ver, t.grad_fn, t._output_nr = item[0]._ver, self, item[2]
            out.append(t)
        return tuple(out)

    def _unlink_saved_outputs(self):
        """Keep saved outputs without their grad_fn, as PyTorch's SavedVariable does (and
        re-attach this node when they are unpacked). Otherwise node -> saved output -> node
        is a reference cycle, and a forward that never runs backward holds its buffers
        until Python's cyclic collector runs (forever with the collector off)."""
        saved = list(self._saved)
        for k, item in enumerate(saved):
            if item is None:
                continue
            t = item[0]
            base = t._base
            if t.grad_fn is self or (base is not None and base.grad_fn is self):
                a = _Tensor._make(t._v, t._be)  # same storage and version counter, no links
                a._ver = t._ver
                if t.grad_fn is not self:
                    saved[k] = (a, item[1])
                else:  # marking an input dirty counted as a write: it is saved as written
                    dirty = any(t is d for d in self._dirty)
                    saved[k] = (a, t._ver[0] if dirty else item[1], t._output_nr)
        self._saved = tuple(saved)

    def mark_non_differentiable(self, *tensors):
        self._non_diff = self._non_diff + tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        """Say that forward modified these inputs in place (and returns them)."""
        self._dirty = tensors

    def _release(self):
        # Only nodes that saved tensors fail a second backward, as in PyTorch.
        saved = self._saved
        if saved is not None and any(s is not None for s in saved):
            self._saved = None

    def apply(self, *grads):
        return self._forward_cls.backward(self, *grads)


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`,
    then call `MyFunction.apply(*args)`, exactly as in PyTorch."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # fw's own ops are named like PyTorch's built-ins (MulBackward0), a user's
        # Function like PyTorch names it (MyFnBackward).
        own = cls.__module__.startswith("framework.")
        name = cls.__dict__.get("node_name") or \
            cls.__name__.lstrip("_") + ("Backward0" if own else "Backward")
        cls._backward_cls = type(name, (FunctionCtx,), {"_forward_cls": cls})
        # PyTorch 2's style: forward(*args) without ctx, plus setup_context(ctx, inputs, output)
        cls._setup = cls.setup_context is not Function.setup_context

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is only used when forward takes no ctx")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, ...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _Tensor
        ctx = cls._backward_cls()
        state = grad_mode._state
        enabled = state.enabled
        if enabled:
            needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            record = True in needs
        else:
            needs, record = (False,) * len(args), False
        ctx.needs_input_grad = needs
        state.enabled = False
        try:
            if cls._setup:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            state.enabled = enabled
        dirty = ctx._dirty
        for t in dirty:
            if record and t.requires_grad and t.grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                   "in-place operation.")
            t._ver[0] += 1  # PyTorch counts the marking as a write too
        if record:
            ctx.next_functions = tuple([a._edge() if n else None for a, n in zip(args, needs)])
            outs = out if type(out) is tuple else (out,)
            if _returns_input(outs, args):
                # An input returned as is becomes a new tensor (an alias), so that the
                # input keeps its own history; one marked dirty takes the new history.
                outs = tuple(o.detach() if any(o is a for a in args) and
                             not any(o is d for d in dirty) else o for o in outs)
                out = outs if isinstance(out, tuple) else outs[0]
            meta = []
            non_diff = ctx._non_diff
            for i, t in enumerate(outs):
                if isinstance(t, Tensor):
                    v = t._v
                    meta.append((v.shape, v.dtype, t._be))
                    if v.dtype.is_floating_point and (not non_diff or id(t) not in non_diff):
                        t.requires_grad = True
                        t.grad_fn = ctx
                        t._output_nr = i
                else:
                    meta.append(None)
            ctx._out_meta = meta
            if ctx._saved:
                ctx._unlink_saved_outputs()
        return out


def once_differentiable(backward):
    """Decorate a Function's backward that is not itself differentiable: it runs without
    recording, and a double backward through it raises instead of being silently wrong."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            out = backward(ctx, *grads)
        live = [g for g in grads if g is not None and g.requires_grad]
        if grad_mode._state.enabled and live:
            outs = out if isinstance(out, tuple) else (out,)
            outs = tuple(None if o is None else _NotTwice.apply(o, *live) for o in outs)
            return outs if isinstance(out, tuple) else outs[0]
        return out
    return wrapper


def _returns_input(outs, args):
    for o in outs:
        for a in args:
            if o is a:
                return True
    return False


def accumulator(t):
    """The AccumulateGrad node of leaf `t`, made once and shared by every use of `t`."""
    ref = t._acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._acc = weakref.ref(node)
    return node


class _NotTwice(Function):
    """Marks the result of a once_differentiable backward: differentiating it raises."""

    @staticmethod
    def forward(ctx, x, *grads):
        return x.detach()

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
