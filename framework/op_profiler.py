"""A per-op timer at the device interface: where a step's time goes, backend call by call.

    from framework.op_profiler import profile_ops
    with profile_ops(sync=True) as prof:
        step()
    print(prof.table())

Every op of fw reaches its device through a method of the Backend instance (`binary`,
`matmul`, `conv2d_grad_weight`, ...). While `profile_ops` is active those methods of the
live backend instances are shadowed by timing wrappers (an instance attribute), and on exit
the wrappers are removed, so profiling costs nothing when it is off. Rows are keyed by the
method and, for the generic ones, the op name they carry (`binary:mul`, `reduce:sum`).
`shapes=True` splits each row by the shapes of the call's first two tensor arguments.
`sync=True` waits for the device after each call (an asynchronous device such as OpenCL
otherwise charges queued work to whichever later call blocks). Times include what Python
does inside the backend call, not the frontend's work between calls: `other` in the table
is the step's wall time minus the backend calls (autograd, Python, the optimizer's loop).
"""
import contextlib
import time

from . import plugins

# The calls that are bookkeeping, not work: left unwrapped.
_SKIP = {"synchronize", "describe", "device_count", "default_device_index", "set_num_threads",
         "get_num_threads"}


class OpProfile:
    def __init__(self):
        self.stats = {}  # key -> [calls, seconds]
        self.wall = 0.0
        self.depth = 0  # > 0 inside a timed call

    def _add(self, key, seconds):
        s = self.stats.get(key)
        if s is None:
            self.stats[key] = [1, seconds]
        else:
            s[0] += 1
            s[1] += seconds

    def rows(self):
        """[(key, calls, seconds)] with the most time first, and 'other' where the wall time
        is known."""
        rows = sorted(((k, c, t) for k, (c, t) in self.stats.items()), key=lambda r: -r[2])
        if self.wall:
            rows.append(("other (frontend, autograd, Python)", 0,
                         max(0.0, self.wall - sum(t for _, _, t in rows))))
        return rows

    def table(self, top=25, steps=1):
        """The `top` rows as text, in ms per step (`steps`: how many steps were profiled)."""
        total = self.wall or sum(t for _, _, t in self.rows()) or 1.0
        lines = [f"{'backend call':44s} {'calls':>7s} {'ms/step':>9s} {'share':>6s}"]
        rows = self.rows()
        shown = rows[:top] + ([r for r in rows[top:] if r[0].startswith("other")] if top < len(rows) else [])
        for key, calls, t in shown:
            lines.append(f"{key[:44]:44s} {calls / steps:7.0f} {t * 1e3 / steps:9.2f} {t / total:6.1%}")
        lines.append(f"{'total (wall)':44s} {'':7s} {total * 1e3 / steps:9.2f}")
        return "\n".join(lines)


def _shapes(args):
    return " ".join("x".join(map(str, a.shape)) for a in args[:2] if hasattr(a, "shape"))


def _wrap(be, name, fn, prof, sync, shapes):
    def timed(*args, **kwargs):
        if prof.depth:  # a backend call made by another: counted in the outer one
            return fn(*args, **kwargs)
        key = f"{name}:{args[0]}" if args and isinstance(args[0], str) else name
        if shapes:
            key += " " + _shapes(args[1:] if isinstance(args[0], str) else args)
        prof.depth += 1
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
            if sync:
                be.synchronize()
        finally:
            prof.depth -= 1
        prof._add(key, time.perf_counter() - t0)
        return out
    return timed


@contextlib.contextmanager
def profile_ops(sync=False, shapes=False):
    """Time every backend call made inside the block (see the module's docstring); with
    `shapes`, rows are per shape of the first two tensor arguments (which convolutions)."""
    prof = OpProfile()
    wrapped = []
    for be in {id(b): b for b in plugins.registry._instances.values()}.values():
        for name in dir(type(be)):
            if name.startswith("_") or name in _SKIP or name in vars(be):
                continue
            fn = getattr(be, name, None)
            if callable(fn) and not isinstance(fn, type):
                setattr(be, name, _wrap(be, name, fn, prof, sync, shapes))
                wrapped.append((be, name))
    t0 = time.perf_counter()
    try:
        yield prof
    finally:
        prof.wall = time.perf_counter() - t0
        for be, name in wrapped:
            delattr(be, name)
