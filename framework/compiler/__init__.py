"""fw.compile: record what a step asks of the device once, then replay it (docs/compile.md).

`seam` is imported by the frontend itself (random ops and optimizers mark themselves as
host ops); the rest loads at the first `fw.compile` call.
"""
from .seam import host_op  # noqa: F401


class GraphBreakError(RuntimeError):
    """Under fw.compile(fullgraph=True): the function cannot be captured as one graph (it
    reads a tensor's value on the host)."""


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """Wrap a function or an nn.Module so that, after a warm-up call, its device work is
    recorded once and replayed; PyTorch's signature (see docs/compile.md)."""
    from .api import compile as _compile
    return _compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                    options=options, disable=disable)


def reset():
    """No global state to clear: each compiled function keeps its own recordings
    (`compiled.reset()` forgets them)."""
