"""`repr` of tensors in PyTorch's style: `tensor([1.5000, 2.0000], requires_grad=True)`."""
import numpy as np

from . import dtypes as dt

_THRESHOLD, _EDGE = 1000, 3


def _element_formatter(a, dtype):
    if dtype is dt.bool:
        return lambda x: "True" if x else "False"
    if not dtype.is_floating_point:
        return str
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return lambda x: f"{x}".replace("inf", "inf")
    amax, amin = np.abs(finite).max(), np.abs(finite).min()
    if np.all(finite == np.round(finite)) and amax < 1e8:
        return lambda x: f"{x:.0f}." if np.isfinite(x) else f"{x}"
    if amax >= 1e8 or (amin > 0 and (amin < 1e-4 or amax / amin > 1000)):
        return lambda x: f"{x:.4e}"
    return lambda x: f"{x:.4f}"


def _lines(a, fmt, width, indent, summarize):
    if a.ndim == 0:
        return fmt(a.item()).rjust(width)
    n = a.shape[0]
    idx = list(range(n)) if not summarize or n <= 2 * _EDGE else \
        list(range(_EDGE)) + [None] + list(range(n - _EDGE, n))
    if a.ndim == 1:
        parts = ["..." if i is None else fmt(a[i].item()).rjust(width) for i in idx]
        return "[" + ", ".join(parts) + "]"
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    parts = ["..." if i is None else _lines(a[i], fmt, width, indent + 1, summarize) for i in idx]
    return "[" + sep.join(parts) + "]"


def format_array(a, dtype, indent):
    summarize = a.size > _THRESHOLD
    fmt = _element_formatter(a.astype(np.float64) if dtype.is_floating_point else a, dtype)
    shown = a
    if summarize and a.ndim:
        # format only the corner elements that are shown
        sl = tuple(np.r_[0:min(_EDGE, s), max(s - _EDGE, min(_EDGE, s)):s] for s in a.shape)
        shown = a[np.ix_(*sl)]
    width = max((len(fmt(x)) for x in shown.reshape(-1).tolist()), default=0)
    return _lines(a, fmt, width, indent, summarize)


def tensor_repr(t):
    a = t.detach()._host()
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    if a.size == 0:
        body = "[]" if a.ndim == 1 else f"size={tuple(a.shape)}"
        if t.dtype is not dt.get_default_dtype():
            extras.append(f"dtype={t.dtype!r}")
    else:
        body = format_array(a, t.dtype, len("tensor("))
        if t.dtype not in (dt.get_default_dtype(), dt.int64, dt.bool):
            extras.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + extras) + ")"
