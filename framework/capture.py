"""Op-level capture: run a function once on real tensors and record the fw ops it called.

`fw.onnx.export` walks it to write an ONNX graph. (`fw.compile` records one level lower,
the device calls, so that backward and the optimizer are in it: framework/compiler/.)
The interface is small on purpose:

    graph = capture(fn, args, module=model)    # runs fn(*args) once, under no_grad
    graph.inputs, graph.outputs                # Values
    graph.nodes                                # Nodes, in call order
    node.op, node.fn, node.args, node.kwargs   # the call, tensors replaced by Values
    node.outputs, node.result, node.module     # output Values, their structure, module path

What is recorded: the outermost public op of each call (a function of `fw.*` or
`fw.nn.functional`, a Tensor method or operator, and the forward of the leaf modules in
`LEAF_MODULES`, whose Python loops would otherwise unroll), together with the path of the
module whose forward made the call ("layer1.0.conv1"). Ops that an op calls internally are
not recorded. A call whose inputs are all constants (parameters, buffers, tensors made
before the capture) is run and its result kept as a constant.

Sizes: `t.shape`, `t.size()` and `len(t)` of a traced tensor return `SymInt`s, ints that
remember where they came from (`("dim", value, i)`) and through which arithmetic, so an
exporter can compute them at run time (ONNX `Shape`) instead of freezing the traced number.
Python control flow on sizes is frozen, as in any tracer. Reading a traced tensor's data
(`item`, `tolist`, `numpy`, `bool`) raises `CaptureError`: the graph would depend on it.

A tensor produced during the capture by something the recorder did not see (a private op)
raises `CaptureError` when a recorded op uses it, instead of being frozen as a constant.
"""
import functools
import threading
import weakref

from . import ops as _ops
from .autograd import grad_mode
from .tensor import Size, Tensor

__all__ = ["capture", "CaptureError", "Graph", "Node", "Value", "SymInt", "is_capturing"]


class CaptureError(RuntimeError):
    """The function cannot be captured faithfully (data-dependent value, unseen op)."""


class Value:
    """A tensor in the graph. kind: "input", "node" (an op's output), "param" (a parameter
    or buffer of the module, `name` its qualified name) or "const" (any other constant)."""

    __slots__ = ("index", "kind", "name", "shape", "dtype", "tensor")

    def __init__(self, index, kind, tensor, name=None):
        self.index, self.kind, self.name, self.tensor = index, kind, name, tensor
        self.shape, self.dtype = tuple(tensor._v.shape), tensor.dtype

    def __repr__(self):
        return f"Value({self.index}, {self.kind}, {self.name or ''}{list(self.shape)})"


class Node:
    """One recorded call: op name, the function, args/kwargs with tensors replaced by Values
    (sizes stay SymInts), output Values, the returned structure with Values, module path."""

    __slots__ = ("op", "fn", "args", "kwargs", "outputs", "result", "module")

    def __init__(self, op, fn, args, kwargs, outputs, result, module):
        self.op, self.fn, self.args, self.kwargs = op, fn, args, kwargs
        self.outputs, self.result, self.module = outputs, result, module

    def __repr__(self):
        return f"Node({self.op} @ {self.module or '<top>'} -> {self.outputs})"


class Graph:
    def __init__(self, inputs, nodes, outputs, result):
        self.inputs, self.nodes, self.outputs, self.result = inputs, nodes, outputs, result

    def __repr__(self):
        return "\n".join([f"inputs: {self.inputs}"] + [f"  {n}" for n in self.nodes]
                         + [f"outputs: {self.outputs}"])


class SymInt(int):
    """An int that remembers how it was computed from traced sizes. expr is ("dim", Value, i)
    or (op, a, b) with op in add/sub/mul/floordiv and a, b SymInt or int, or ("neg", a)."""

    def __new__(cls, value, expr):
        s = int.__new__(cls, value)
        s.expr = expr
        return s

    def _bin(op, f, swap=False):
        def method(self, other):
            if not isinstance(other, int) or isinstance(other, bool):
                return f(int(self), other) if not swap else f(other, int(self))
            a, b = (other, self) if swap else (self, other)
            return SymInt(f(int(a), int(b)), (op, a, b))
        return method

    __add__ = _bin("add", lambda a, b: a + b)
    __radd__ = _bin("add", lambda a, b: a + b, True)
    __sub__ = _bin("sub", lambda a, b: a - b)
    __rsub__ = _bin("sub", lambda a, b: a - b, True)
    __mul__ = _bin("mul", lambda a, b: a * b)
    __rmul__ = _bin("mul", lambda a, b: a * b, True)
    __floordiv__ = _bin("floordiv", lambda a, b: a // b)
    __rfloordiv__ = _bin("floordiv", lambda a, b: a // b, True)
    del _bin

    def __neg__(self):
        return SymInt(-int(self), ("neg", self))

    def __repr__(self):
        return f"SymInt({int(self)})"


def _plain(x):
    """x with SymInts turned into ints (what the ops themselves are given)."""
    if isinstance(x, SymInt):
        return int(x)
    if isinstance(x, (tuple, list)) and any(isinstance(e, (SymInt, tuple, list)) for e in x):
        out = [_plain(e) for e in x]
        return type(x)(out) if type(x) in (tuple, list) else Size(out)
    return x


def _has_sym(x):
    if isinstance(x, SymInt):
        return True
    if isinstance(x, (tuple, list)):
        return any(_has_sym(e) for e in x)
    if isinstance(x, slice):
        return _has_sym((x.start, x.stop, x.step))
    return False


# -- the recorder ------------------------------------------------------------------------------
_state = threading.local()


def _active():
    return getattr(_state, "rec", None)


def is_capturing():
    return _active() is not None


class _Recorder:
    def __init__(self, module):
        self.depth = self.count = 0
        self.values = {}          # id(tensor) -> Value (tensors kept alive by Value.tensor)
        self.nodes = []
        self.path = [""]
        self.created = {}          # id -> weakref of tensors made during the capture
        self.names = {}
        self.module_names = {}
        if module is not None:
            for name, m in module.named_modules(remove_duplicate=False):
                self.module_names.setdefault(id(m), name)
            for name, t in module.named_parameters(remove_duplicate=False):
                self.names.setdefault(id(t), name)
            for name, t in module.named_buffers(remove_duplicate=False):
                self.names.setdefault(id(t), name)

    def new(self, kind, t, name=None):
        self.count += 1
        v = Value(self.count, kind, t, name)
        self.values[id(t)] = v
        return v

    def value(self, t, op):
        v = self.values.get(id(t))
        if v is not None and v.tensor is t:
            return v
        if id(t) in self.names:
            return self.new("param", t, self.names[id(t)])
        r = self.created.get(id(t))
        if r is not None and r() is t:
            raise CaptureError(f"capture: {op} (in module '{self.where()}') uses a tensor made "
                               f"by an operation the capture did not record; use fw's public "
                               f"ops in forward")
        return self.new("const", t)

    def where(self):
        return self.path[-1] or "<top>"

    def swap(self, x, op):
        """x with each Tensor replaced by its Value (nested tuples/lists/dicts)."""
        if isinstance(x, Tensor):
            return self.value(x, op)
        if isinstance(x, (tuple, list)) and not isinstance(x, Size):
            return type(x)(self.swap(e, op) for e in x) if type(x) in (tuple, list) else x
        if isinstance(x, dict):
            return {k: self.swap(e, op) for k, e in x.items()}
        return x

    def call(self, op, fn, args, kwargs):
        sargs, skw = self.swap(args, op), self.swap(kwargs, op)
        live = _traced(sargs) or _traced(skw) or _has_sym(args) or _has_sym(tuple(kwargs.values()))
        self.depth += 1
        try:
            out = fn(*_plain(args), **{k: _plain(e) for k, e in kwargs.items()})
        finally:
            self.depth -= 1
        kind = "node" if live else "const"
        outputs = []

        def mark(x):
            if isinstance(x, Tensor):
                v = self.new(kind, x)
                outputs.append(v)
                return v
            if isinstance(x, (tuple, list)) and not isinstance(x, Size):
                return (list if isinstance(x, list) else tuple)(mark(e) for e in x)
            return x
        result = mark(out)
        if live:
            self.nodes.append(Node(op, fn, sargs, skw, outputs, result, self.path[-1]))
        return out


def _traced(x):
    if isinstance(x, Value):
        return x.kind in ("input", "node")
    if isinstance(x, (tuple, list)):
        return any(_traced(e) for e in x)
    if isinstance(x, dict):
        return any(_traced(e) for e in x.values())
    return False


def _recorded(op, fn):
    @functools.wraps(fn)
    def traced(*args, **kwargs):
        rec = _active()
        if rec is None or rec.depth:
            return fn(*args, **kwargs)
        return rec.call(op, fn, args, kwargs)
    traced.__wrapped_op__ = op
    return traced


def _live_value(t):
    """t's Value when t is traced data and the call comes from user code, else None."""
    rec = _active()
    if rec is None or rec.depth:
        return None
    v = rec.values.get(id(t))
    return v if v is not None and v.tensor is t and v.kind in ("input", "node") else None


# -- what gets patched while a capture runs ------------------------------------------------------
# Tensor methods that only read metadata, or handled by _size_patches / _refused below.
_NOT_OPS = {"size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset",
            "is_contiguous", "element_size", "is_floating_point", "data_ptr", "register_hook",
            "backward", "retain_grad", "requires_grad_", "get_device", "is_complex",
            "is_signed", "untyped_storage", "storage", "type", "is_set_to", "is_shared",
            "is_pinned", "share_memory_", "pin_memory", "item", "tolist", "numpy", "dim_order"}
_DUNDERS = ["__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__",
            "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__",
            "__floordiv__", "__rfloordiv__", "__mod__", "__pow__", "__rpow__", "__matmul__",
            "__rmatmul__", "__neg__", "__pos__", "__abs__", "__invert__", "__and__", "__or__",
            "__xor__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
            "__getitem__", "__setitem__"]
_READS = ["item", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__"]

# modules recorded as one op: their forward loops over time steps in Python
LEAF_MODULES = ("RNNBase",)


def _patch_list():
    """(owner, attribute, replacement) for everything swapped in during a capture."""
    from .nn import functional as F
    from .nn.modules.module import Module
    import framework
    patches = []
    for name in sorted(set(_ops.__all__)):
        fn = getattr(framework, name, None)
        if callable(fn) and not isinstance(fn, type) and getattr(framework, name) is fn:
            patches.append((framework, name, _recorded(name, fn)))
    for name in dir(F):
        fn = getattr(F, name)
        if not name.startswith("_") and callable(fn) and not isinstance(fn, type) \
                and getattr(fn, "__module__", "").startswith("framework"):
            patches.append((F, name, _recorded(name, fn)))
    seen = set()
    for klass in Tensor.__mro__:
        for name, fn in vars(klass).items():
            if name in seen or name in _NOT_OPS or not callable(fn) or isinstance(fn, type):
                continue
            if name.startswith("_") and name not in _DUNDERS:
                continue
            seen.add(name)
            patches.append((Tensor, name, _recorded(name, getattr(Tensor, name))))
    patches += _size_patches() + _read_patches()

    orig_call = Module.__call__

    def module_call(self, *args, **kwargs):
        rec = _active()
        if rec is None or rec.depth:
            return orig_call(self, *args, **kwargs)
        path = rec.module_names.get(id(self), type(self).__name__)
        rec.path.append(path)
        try:
            if any(k.__name__ in LEAF_MODULES for k in type(self).__mro__):
                return rec.call(type(self).__name__, orig_call, (self,) + args, kwargs)
            return orig_call(self, *args, **kwargs)
        finally:
            rec.path.pop()
    patches.append((Module, "__call__", module_call))

    orig_make = Tensor.__dict__["_make"].__func__
    orig_alias = Tensor._alias

    def make(cls, *a, **k):
        t = orig_make(cls, *a, **k)
        rec = _active()
        if rec is not None:
            rec.created[id(t)] = weakref.ref(t)
        return t

    def alias(self, *a):
        t = orig_alias(self, *a)
        rec = _active()
        if rec is not None:
            rec.created[id(t)] = weakref.ref(t)
        return t
    patches += [(Tensor, "_make", classmethod(make)), (Tensor, "_alias", alias)]
    return patches


def _size_patches():
    shape_prop, size_fn, len_fn = Tensor.shape, Tensor.size, Tensor.__len__

    def sym_shape(t):
        v = _live_value(t)
        shape = shape_prop.fget(t)
        if v is None:
            return shape
        return Size(SymInt(n, ("dim", v, i)) for i, n in enumerate(shape))

    def size(self, dim=None):
        if dim is None:
            return sym_shape(self)
        n = size_fn(self, dim)
        v = _live_value(self)
        return n if v is None else SymInt(n, ("dim", v, self._dim(dim)))

    def length(self):
        n = len_fn(self)
        v = _live_value(self)
        return n if v is None else SymInt(n, ("dim", v, 0))
    return [(Tensor, "shape", property(sym_shape)), (Tensor, "size", size),
            (Tensor, "__len__", length)]


def _read_patches():
    out = []
    for name in _READS:
        orig = getattr(Tensor, name, None)
        if orig is None:
            continue

        def read(self, *a, _orig=orig, _name=name, **k):
            if _live_value(self) is not None:
                rec = _active()
                raise CaptureError(f"capture: {_name}() of a traced tensor in module "
                                   f"'{rec.where()}' makes the graph depend on the data; "
                                   f"keep the computation in tensor ops")
            return _orig(self, *a, **k)
        out.append((Tensor, name, read))
    return out


def _aliases(patches, module):
    """Patches for other references to the patched functions: names imported into fw's own
    modules (`from ..functional import linear`), class attributes (`fn = staticmethod(F.softmax)`)
    and functions a module instance keeps (`self.activation = F.relu`)."""
    import sys
    wrapped = {id(w.__wrapped__): w for _, _, w in patches if hasattr(w, "__wrapped_op__")}
    out = []

    def scan(owner, items):
        for n, a in items:
            f = a.__func__ if isinstance(a, staticmethod) else a
            w = wrapped.get(id(f))
            if w is not None and w.__wrapped__ is f:
                out.append((owner, n, staticmethod(w) if isinstance(a, staticmethod) else w))
    for name, mod in list(sys.modules.items()):
        if not name.startswith("framework.") or name.startswith(("framework.capture",
                                                                  "framework.onnx")):
            continue
        items = list(vars(mod).items())
        scan(mod, [(n, a) for n, a in items if not isinstance(a, type)])
        for n, klass in items:
            if isinstance(klass, type) and klass.__module__ == name and klass is not Tensor:
                scan(klass, list(vars(klass).items()))
    if module is not None:
        for m in module.modules():
            scan(m, list(vars(m).items()))
    return out


_lock = threading.Lock()


def capture(fn, args, module=None):
    """Run fn(*args) once with grad off and return its Graph. `module`'s parameters and
    buffers are named by their qualified names, and its submodules give the node paths."""
    if not isinstance(args, tuple):
        args = (args,)
    if _active() is not None:
        raise CaptureError("capture: already capturing (nested captures are not supported)")
    rec = _Recorder(module)
    inputs = []
    for a in args:
        if not isinstance(a, Tensor):
            raise TypeError(f"capture: inputs must be tensors, got {type(a).__name__}")
        if id(a) in rec.values:
            raise CaptureError("capture: the same tensor is passed twice as an input")
        inputs.append(rec.new("input", a))
    with _lock:
        patches = _patch_list()
        patches += _aliases(patches, module)
        saved = [(owner, name, owner.__dict__.get(name, _MISSING)) for owner, name, _ in patches]
        for owner, name, new in patches:
            setattr(owner, name, new)
        _state.rec = rec
        try:
            with grad_mode.no_grad():
                out = fn(*args)
        finally:
            _state.rec = None
            for owner, name, old in reversed(saved):
                if old is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, old)
    outputs = []

    def mark(x):
        if isinstance(x, Tensor):
            v = rec.values.get(id(x))
            if v is None or v.tensor is not x:
                v = rec.value(x, "output")
            outputs.append(v)
            return v
        if isinstance(x, (tuple, list)):
            return type(x)(mark(e) for e in x)
        if x is None:
            return x
        raise CaptureError(f"capture: the function returned a {type(x).__name__}; return "
                           f"tensors (or tuples/lists of them)")
    result = mark(out)
    return Graph(inputs, rec.nodes, outputs, result)


_MISSING = object()
