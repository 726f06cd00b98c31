"""float16 and bfloat16 on the CPU: stored in 16 bits, computed in float32.

PyTorch's CPU kernels load half and bfloat16 elements into float32, compute there (sums,
dot products and softmax accumulate in float32 too) and round the result once when they
store it. NumPy's float16 arithmetic and ml_dtypes' bfloat16 would instead round after
every step (a bfloat16 sum of 1000 ones stops at 256), so every op of this backend on such
a view converts its operands to float32 first and rounds its results back: the same values
as PyTorch's, up to the order of float32 additions.
"""
import functools

import numpy as np

from framework import dtypes as dt
from framework.device import View

LOW = frozenset(dt.LOW_PRECISION)
LOW_NP = frozenset(d.np for d in dt.LOW_PRECISION)
_F32 = np.dtype(np.float32)


def f32(a):
    """NumPy array `a` itself, or as float32 if it holds float16/bfloat16."""
    # itemsize first: it is cheap, and rules out almost every array a program computes on
    return a.astype(_F32) if a.itemsize == 2 and a.dtype in LOW_NP else a


def _low_dtype(args, kwargs):
    for a in (*args, *kwargs.values()):
        if type(a) is View and a.dtype in LOW:
            return a.dtype
    return None


def computed_in_float32(f):
    """Method decorator of a fused op: float16/bfloat16 View arguments are given to `f` as
    float32 copies, and its float32 View results come back rounded to that dtype. Ops whose
    names end in `_` update their arguments in place (optimizer steps): the float32 copies
    are written back, rounded."""
    inplace = f.__name__.endswith("_")

    @functools.wraps(f)
    def run(self, *args, **kwargs):
        low = _low_dtype(args, kwargs)
        if low is None:
            return f(self, *args, **kwargs)
        copies = []

        def up(a):
            if type(a) is View and a.dtype in LOW:
                v = self._wrap(self._np(a).astype(_F32), dt.float32)
                copies.append((a, v))
                return v
            return a
        out = f(self, *map(up, args), **{k: up(v) for k, v in kwargs.items()})
        if inplace:
            for orig, v in copies:
                self.copy_(orig, v)
        return _down(self, out, low)
    return run


def _down(be, out, low):
    if type(out) is View:
        return be._wrap(be._np(out).astype(low.np), low) if out.dtype is dt.float32 else out
    if isinstance(out, (tuple, list)):
        return type(out)(_down(be, o, low) for o in out)
    return out


def compute_fused_ops_in_float32(cls):
    """Class decorator: every public method `cls` defines computes in float32 (above)."""
    for name, f in list(vars(cls).items()):
        if callable(f) and not name.startswith("_"):
            setattr(cls, name, computed_in_float32(f))
    return cls
