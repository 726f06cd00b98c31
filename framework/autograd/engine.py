"""The backward engine: walks the graph from the roots in dependency order."""
import heapq

from . import function as _function, grad_mode
from .function import AccumulateGrad

# Callbacks to run when the backward pass now running ends, one list per (nested) pass.
_callbacks = []


def queue_callback(callback):
    """Run `callback()` once the running backward pass has finished (PyTorch's
    `Variable._execution_engine.queue_callback`; DDP waits for its all-reduces there)."""
    if not _callbacks:
        raise RuntimeError("queue_callback can only be called while a backward pass runs")
    _callbacks[-1].append(callback)


def _root_edge(t, i):
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    if t.requires_grad:
        return (t._edge()[0], 0)
    raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def _root_grads(tensors, grads, create_graph):
    from ..tensor import Tensor
    if grads is None:
        grads = [None] * len(tensors)
    elif isinstance(grads, Tensor) or not isinstance(grads, (list, tuple)):
        grads = [grads]
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    out = []
    for t, g in zip(tensors, grads):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = t._ones_like_for_grad()
        elif not isinstance(g, Tensor):
            from ..ops.creation import tensor
            g = tensor(g, dtype=t.dtype, device=t.device)
        elif g.shape != t.shape:
            k = len(out)
            raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of {g.shape!r} "
                               f"and output[{k}] has a shape of {t.shape!r}.")
        if not create_graph:
            g = g.detach()
        out.append(g)
    return out


def run_backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                 inputs=None, allow_unused=False):
    """Backpropagate from `tensors`. With `inputs`, return their gradients instead of
    accumulating into `.grad` (that is `autograd.grad`)."""
    from ..tensor import Tensor
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [_root_edge(t, i) for i, t in enumerate(tensors)]
    grads = _root_grads(tensors, grad_tensors, create_graph)

    capture = None
    if inputs is not None:
        capture = {}
        for k, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"One of the differentiated Tensors (input {k}) does not require grad")
            node, nr = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._edge()[0], 0)
            capture.setdefault((node, nr), []).append(k)
        results = [None] * len(inputs)

    # With `inputs`, only the nodes between the roots and the inputs run (PyTorch does the
    # same): the rest of the graph is neither computed nor freed.
    run = targets = None
    if capture is not None:
        targets = {n for n, _ in capture}
        run = _needed([n for n, _ in roots], targets)

    # Count, for every node reachable from the roots, how many edges lead into it.
    deps = {}
    stack = [n for n, _ in roots]
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if run is not None and node not in run:
            continue
        for edge in node.next_functions:
            if edge is not None:
                deps[edge[0]] = deps.get(edge[0], 0) + 1
                stack.append(edge[0])

    buffers = {}
    for (node, nr), g in zip(roots, grads):
        _add(buffers, node, nr, g)
    # Nodes run newest first among those whose inputs are all in: a topological order.
    ready = [(-n._seq, id(n), n) for n in {n for n, _ in roots} if deps.get(n, 0) == 0]
    heapq.heapify(ready)

    prev_mode = grad_mode._state.enabled
    grad_mode._state.enabled = create_graph
    _callbacks.append([])
    try:
        while ready:
            node = heapq.heappop(ready)[2]
            slots = buffers.pop(node, {})
            if run is not None and node not in run and node not in targets:
                continue
            if node._pre_hooks:
                for nr, hooks in node._pre_hooks.items():
                    if nr in slots:
                        for hook in list(hooks):
                            new = hook(slots[nr])
                            if new is not None:
                                slots[nr] = new
            if node._retained:
                for nr, ref in node._retained.items():
                    t = ref()
                    if t is not None and nr in slots:
                        g = slots[nr] if create_graph else slots[nr].detach()
                        # retained gradients accumulate over backward calls, like a leaf's
                        t.grad = g.clone() if t.grad is None else t.grad + g
            if capture is not None:
                for nr, g in slots.items():
                    for k in capture.get((node, nr), ()):
                        results[k] = g
            if type(node) is AccumulateGrad:
                if capture is None and 0 in slots:
                    node.accumulate(slots.pop(0), create_graph)
                continue
            if run is not None and node not in run:
                continue
            out_grads = node.apply(*_materialize(node, slots))
            if not isinstance(out_grads, tuple):
                out_grads = (out_grads,)
            n_in = len(node.next_functions)
            if len(out_grads) != n_in:
                out_grads = _check_count(node, out_grads, n_in)
            for i, (edge, g) in enumerate(zip(node.next_functions, out_grads)):
                if edge is None:
                    continue
                nxt, nr = edge
                if g is not None:
                    _add(buffers, nxt, nr, _validate(node, i, g, nxt, nr))
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    heapq.heappush(ready, (-nxt._seq, id(nxt), nxt))
            for hook in node.__dict__.get("_post_hooks", ()):
                hook(out_grads, tuple(slots.get(i) for i in range(len(node._out_meta))))
            # Hold no gradient past this point, so that a leaf can tell (by reference
            # count) that nothing else sees the one it receives and keep it without a copy.
            out_grads = g = None
            if not retain_graph:
                node._release()
    finally:
        grad_mode._state.enabled = prev_mode
        queued = _callbacks.pop()
    for callback in queued:
        callback()

    if capture is not None:
        for k, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {k} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        return tuple(results)
    return None


def _needed(roots, targets):
    """The nodes from which some node of `targets` can be reached (not counting itself)."""
    below = {}  # node -> whether a target lies strictly below it
    stack = [(n, False) for n in roots]
    while stack:
        node, finish = stack.pop()
        if finish:
            below[node] = any(e is not None and (e[0] in targets or below.get(e[0], False))
                              for e in node.next_functions)
            continue
        if node in below:
            continue
        below[node] = False  # visited; settled when its children are
        stack.append((node, True))
        for e in node.next_functions:
            if e is not None and e[0] not in below:
                stack.append((e[0], False))
    return {n for n, b in below.items() if b}


def _check_count(node, grads, n_in):
    if len(grads) < n_in or any(g is not None for g in grads[n_in:]):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n_in}, got {len(grads)})")
    return grads[:n_in]


def _validate(node, i, g, nxt, nr):
    """A gradient a node returned, checked against the input it is for (PyTorch's
    validate_outputs): a broadcast shape is summed down, another dtype is cast."""
    if not isinstance(g, _function._Tensor):
        raise TypeError(f"function {node.name()} returned a gradient of type "
                        f"{type(g).__name__} at index {i}; expected a Tensor or None")
    if type(nxt) is AccumulateGrad:
        v = nxt.variable
        shape, dtype, be = v._v.shape, v._v.dtype, v._be
    else:
        meta = nxt._out_meta[nr] if nr < len(nxt._out_meta) else None
        if meta is None:
            return g
        shape, dtype, be = meta
    if g._v.shape != tuple(shape):
        try:
            g = g.sum_to_size(shape)
        except (RuntimeError, ValueError):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} "
                               f"- got {list(g.shape)} but expected shape compatible with "
                               f"{list(shape)}") from None
        if g._v.shape != tuple(shape):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} "
                               f"- got {list(g.shape)} but expected shape compatible with "
                               f"{list(shape)}")
    if g._be is not be:
        raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} - "
                           f"expected device {be.device} but got {g.device}")
    if g._v.dtype is not dtype:
        g = g.to(dtype)
    return g


def _add(buffers, node, nr, g):
    slots = buffers.setdefault(node, {})
    old = slots.get(nr)
    slots[nr] = g if old is None else old + g


def _materialize(node, slots):
    """The gradients of a node's outputs, with zeros for those that received none."""
    n = len(node._out_meta)
    if len(slots) == n:  # the common case: every output got a gradient
        return [slots[i] for i in range(n)]
    from ..ops.creation import zeros
    grads = []
    for i, meta in enumerate(node._out_meta):
        g = slots.get(i)
        if g is None and meta is not None and getattr(node, "materialize_grads", True):
            shape, dtype, be = meta
            g = zeros(shape, dtype=dtype, device=be.device)
        grads.append(g)
    return grads
