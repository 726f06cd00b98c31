"""`repr` of tensors in PyTorch's style: `tensor([1.5000, 2.0000], requires_grad=True)`.

The rules (one width for all elements, integer mode for integer-valued floats, scientific
mode for wide ranges, summaries past `threshold` elements, 80-column lines) follow
PyTorch's printer so that reprs read the same.
"""
import math

import numpy as np

from . import dtypes as dt


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _Options()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Like torch.set_printoptions: profile is 'default', 'short' or 'full'."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                   "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"profile must be one of {sorted(presets)}, got {profile!r}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = presets[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """Chooses one format for every element of an array (PyTorch's _Formatter)."""

    def __init__(self, a, dtype):
        self.floating = dtype.is_floating_point
        self.bool = dtype is dt.bool
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = a.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size:
            p = PRINT_OPTS.precision
            mags = np.abs(vals).astype(np.float64)
            lo, hi = mags.min(), mags.max()
            self.int_mode = bool(np.all(vals == np.ceil(vals)))
            wide = hi / lo > 1000.0 or hi > 1.0e8
            self.sci_mode = wide if self.int_mode else (wide or lo < 1.0e-4)
            if PRINT_OPTS.sci_mode is not None:
                self.sci_mode = PRINT_OPTS.sci_mode
            if self.sci_mode:
                fmt, extra = f"{{:.{p}e}}", 0
            elif self.int_mode:
                fmt, extra = "{:.0f}", 1
            else:
                fmt, extra = f"{{:.{p}f}}", 0
            self.max_width = max(len(fmt.format(v)) + extra for v in vals.tolist())
        elif PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def format(self, v):
        if self.floating:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                s = f"{v:{self.max_width}.{p}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                s = f"{v:.{p}f}"
        else:
            s = str(v)
        return s.rjust(self.max_width)


def _summarized(a):
    """The elements that a summarized print shows (the corners)."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * e:
        a = np.concatenate([a[:e], a[-e:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a]) if a.shape[0] else a


def _vector(a, indent, summarize, fmt):
    e = PRINT_OPTS.edgeitems
    per_line = max(1, int((PRINT_OPTS.linewidth - indent) // (fmt.max_width + 2)))
    if summarize and a.shape[0] > 2 * e:
        data = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + \
               [fmt.format(v) for v in a[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        parts = [_nested(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] + \
                [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)]
    else:
        parts = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_array(a, dtype, indent):
    """The bracketed body of a repr for the values `a` (a NumPy array of `dtype`)."""
    if a.size == 0:
        return "[]"
    if dtype in dt.LOW_PRECISION:  # printed from float32 values, as PyTorch does
        a = a.astype(np.float32)
    summarize = a.size > PRINT_OPTS.threshold
    fmt = _Formatter(_summarized(a) if summarize else a, dtype)
    return _nested(a, indent, summarize, fmt)


def _add_suffixes(body, suffixes, indent):
    out = [body]
    last = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    out.append(")")
    return "".join(out)


def tensor_repr(t):
    prefix = "tensor("
    a = t._host()
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if t.dtype is not dt.get_default_dtype():
            suffixes.append(f"dtype={t.dtype!r}")
    elif t.dtype not in (dt.get_default_dtype(), dt.int64, dt.bool):
        suffixes.append(f"dtype={t.dtype!r}")
    body = format_array(a, t.dtype, len(prefix))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))
