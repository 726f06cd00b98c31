"""fw.onnx.load: an ONNX model as an fw nn.Module that runs on any fw device.

Float initializers become parameters (trainable; BatchNormalization's running statistics
become buffers), under their ONNX names, so "layer1.0.conv1.weight" is a state_dict key as
in the model that was exported. Integer initializers and Constant nodes are sizes and indices:
they stay NumPy arrays on the host, and so do the results of Shape and of the integer
arithmetic on them, so that a Reshape never waits for the device to learn its shape.
LSTM/GRU/RNN nodes become fw's own nn.LSTM/GRU/RNN submodules ("rnn0", ...), weights
reordered to PyTorch's gate order.

Every node type is checked before anything runs: the unsupported ones are listed at once,
with their counts (UnsupportedOnnxOperatorError).
"""
import collections
import io
import os
import re

import numpy as np

from .. import dtypes as dt
from .. import ops as fwops
from ..nn import functional as F
from ..nn.modules.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from ._deps import require


class UnsupportedOnnxOperatorError(RuntimeError):
    """The model uses operators that fw.onnx.load does not implement (all listed)."""


_OPS = {}


def implements(*names):
    def register(f):
        for n in names:
            _OPS[n] = f
        return f
    return register


def loadable_ops():
    """The ONNX operator types fw.onnx.load runs (docs table, `fw onnx inspect`)."""
    return sorted(_OPS)


# -- value helpers: a value is an fw Tensor (device) or a NumPy array (host) -----------------------
def _host(v):
    return v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v)


def _dev(v, like=None, device=None):
    if isinstance(v, Tensor):
        return v
    arr = np.asarray(v)
    if device is None:
        device = like.device if isinstance(like, Tensor) else "cpu"
    return fwops.tensor(arr, device=device)


def _all_host(vals):
    return all(not isinstance(v, Tensor) for v in vals if v is not None)


def _ints(v):
    return [int(a) for a in np.asarray(_host(v)).reshape(-1)]


class _Ctx:
    """What an op implementation sees: its node's attributes, the module, the opset."""

    def __init__(self, node, mod):
        self.node, self.mod = node, mod
        self.attrs = mod._attrs[id(node)]

    def attr(self, name, default=None):
        return self.attrs.get(name, default)

    @property
    def device(self):
        return self.mod._device_hint


def _first_tensor(vals):
    return next((v for v in vals if isinstance(v, Tensor)), None)


# -- elementwise -----------------------------------------------------------------------------------
def _binary(np_fn, fw_fn):
    def run(c, a, b):
        if _all_host([a, b]):
            return np_fn(np.asarray(a), np.asarray(b))
        like = _first_tensor([a, b])
        return fw_fn(_dev(a, like), _dev(b, like))
    return run


def _int_div(a, b):
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return np.trunc(a / b).astype(np.result_type(a, b))
    return (a / b).astype(np.result_type(a, b))


for _name, _np, _fw in [
        ("Add", np.add, fwops.add), ("Sub", np.subtract, fwops.sub),
        ("Mul", np.multiply, fwops.mul), ("Div", _int_div, fwops.div),
        ("Pow", np.power, fwops.pow), ("Equal", np.equal, fwops.eq),
        ("Less", np.less, fwops.lt), ("Greater", np.greater, fwops.gt),
        ("LessOrEqual", np.less_equal, fwops.le), ("GreaterOrEqual", np.greater_equal, fwops.ge),
        ("And", np.logical_and, fwops.logical_and), ("Or", np.logical_or, fwops.logical_or),
        ("Xor", np.logical_xor, fwops.logical_xor), ("MatMul", np.matmul, fwops.matmul)]:
    implements(_name)(_binary(_np, _fw))


@implements("Mod")
def _mod(c, a, b):
    fmod = c.attr("fmod", 0)
    f = _binary(np.fmod if fmod else np.mod, fwops.fmod if fmod else fwops.remainder)
    return f(c, a, b)


@implements("Max", "Min", "Sum", "Mean")
def _variadic(c, *xs):
    op = c.node.op_type
    np_fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[op]
    fw_fn = {"Max": fwops.maximum, "Min": fwops.minimum, "Sum": fwops.add, "Mean": fwops.add}[op]
    f = _binary(np_fn, fw_fn)
    out = xs[0]
    for x in xs[1:]:
        out = f(c, out, x)
    return out / len(xs) if op == "Mean" else out


_UNARY = {"Relu": (lambda a: np.maximum(a, 0), F.relu), "Sigmoid": (None, fwops.sigmoid),
          "Tanh": (np.tanh, fwops.tanh), "Erf": (None, fwops.erf), "Exp": (np.exp, fwops.exp),
          "Log": (np.log, fwops.log), "Sqrt": (np.sqrt, fwops.sqrt),
          "Neg": (np.negative, fwops.neg),
          "Abs": (np.abs, fwops.abs), "Reciprocal": (np.reciprocal, fwops.reciprocal),
          "Sin": (np.sin, fwops.sin), "Cos": (np.cos, fwops.cos), "Floor": (np.floor, fwops.floor),
          "Ceil": (np.ceil, fwops.ceil), "Not": (np.logical_not, fwops.logical_not),
          "Sign": (np.sign, fwops.sign), "Softsign": (None, F.softsign),
          "Round": (np.round, fwops.round), "Identity": (lambda a: a, lambda a: a)}


def _unary(np_fn, fw_fn):
    def run(c, x):
        if not isinstance(x, Tensor) and np_fn is not None:
            return np_fn(np.asarray(x))
        return fw_fn(_dev(x, device=c.device))
    return run


for _name, (_np, _fw) in _UNARY.items():
    implements(_name)(_unary(_np, _fw))


@implements("Dropout")
def _dropout(c, x, *rest):
    if len(rest) > 1 and rest[1] is not None and bool(_host(rest[1])):
        raise RuntimeError("fw.onnx.load: Dropout with training_mode=True is not supported")
    return x


@implements("Cast")
def _cast(c, x):
    onnx = require()
    npd = onnx.helper.tensor_dtype_to_np_dtype(c.attr("to"))
    if not isinstance(x, Tensor):
        return np.asarray(x).astype(npd)
    return x.to(dt.from_numpy_dtype(npd))


@implements("CastLike")
def _cast_like(c, x, like):
    npd = _host(like).dtype if not isinstance(like, Tensor) else like.dtype.np
    if not isinstance(x, Tensor):
        return np.asarray(x).astype(npd)
    return x.to(dt.from_numpy_dtype(npd))


@implements("Where")
def _where(c, cond, a, b):
    if _all_host([cond, a, b]):
        return np.where(cond, a, b)
    like = _first_tensor([cond, a, b])
    return fwops.where(_dev(cond, like).bool(), _dev(a, like), _dev(b, like))


@implements("Clip")
def _clip(c, x, lo=None, hi=None):
    lo = c.attr("min") if lo is None and "min" in c.attrs else lo
    hi = c.attr("max") if hi is None and "max" in c.attrs else hi
    lo = None if lo is None else float(_host(lo))
    hi = None if hi is None else float(_host(hi))
    if not isinstance(x, Tensor):
        return np.clip(x, lo, hi)
    return fwops.clamp(x, lo, hi)


# -- activations -----------------------------------------------------------------------------------
@implements("LeakyRelu")
def _leaky(c, x):
    return F.leaky_relu(x, c.attr("alpha", 0.01))


@implements("Elu")
def _elu(c, x):
    return F.elu(x, c.attr("alpha", 1.0))


@implements("Celu")
def _celu(c, x):
    return F.celu(x, c.attr("alpha", 1.0))


@implements("Selu")
def _selu(c, x):
    a, g = c.attr("alpha", 1.67326319217681884765625), c.attr("gamma", 1.05070102214813232421875)
    return g * fwops.where(x > 0, x, a * (fwops.exp(x) - 1))


@implements("HardSigmoid")
def _hardsigmoid(c, x):
    return fwops.clamp(x * c.attr("alpha", 0.2) + c.attr("beta", 0.5), 0.0, 1.0)


@implements("HardSwish")
def _hardswish(c, x):
    return F.hardswish(x)


@implements("Softplus")
def _softplus(c, x):
    return F.softplus(x)


@implements("PRelu")
def _prelu(c, x, slope):
    slope = _dev(slope, x)
    return fwops.where(x >= 0, x, x * slope)


@implements("Gelu")
def _gelu(c, x):
    return F.gelu(x, approximate=c.attr("approximate", "none"))


def _softmax_axis(c, x):
    default = -1 if c.mod._opset >= 13 else 1
    axis = c.attr("axis", default)
    if c.mod._opset < 13 and axis not in (-1, x.ndim - 1):
        raise RuntimeError("fw.onnx.load: Softmax before opset 13 over a non-last axis "
                           "(flattening semantics) is not supported")
    return axis


@implements("Softmax")
def _softmax(c, x):
    return F.softmax(x, dim=_softmax_axis(c, x))


@implements("LogSoftmax")
def _log_softmax(c, x):
    return F.log_softmax(x, dim=_softmax_axis(c, x))


# -- layers ----------------------------------------------------------------------------------------
def _sym_pads(c, n, kernel, strides, dilations, in_sizes):
    """ONNX pads [b1.., e1..] (or auto_pad) as (symmetric padding, extra F.pad or None)."""
    auto = c.attr("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    pads = list(c.attr("pads", [0] * (2 * n)))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * n)
        for i in range(n):
            out = -(-in_sizes[i] // strides[i])
            span = (kernel[i] - 1) * dilations[i] + 1
            total = max(0, (out - 1) * strides[i] + span - in_sizes[i])
            small, big = total // 2, total - total // 2
            pads[i], pads[i + n] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto == "VALID":
        pads = [0] * (2 * n)
    begin, end = pads[:n], pads[n:]
    if begin == end:
        return begin, None
    extra = []
    for i in reversed(range(n)):
        extra += [begin[i], end[i]]
    return [0] * n, extra


@implements("Conv")
def _conv(c, x, w, b=None):
    n = w.ndim - 2
    if n not in (1, 2):
        raise RuntimeError(f"fw.onnx.load: Conv with {n} spatial dims is not supported")
    strides = list(c.attr("strides", [1] * n))
    dil = list(c.attr("dilations", [1] * n))
    pad, extra = _sym_pads(c, n, list(w.shape[2:]), strides, dil, list(x.shape[2:]))
    if extra is not None:
        x = F.pad(x, extra)
    fn = F.conv2d if n == 2 else F.conv1d
    return fn(x, _dev(w, x), None if b is None else _dev(b, x), strides, pad, dil,
              c.attr("group", 1))


@implements("ConvTranspose")
def _conv_t(c, x, w, b=None):
    n = w.ndim - 2
    if n not in (1, 2) or c.attr("output_shape") is not None:
        raise RuntimeError("fw.onnx.load: ConvTranspose with output_shape or 3-D is not supported")
    pads = list(c.attr("pads", [0] * (2 * n)))
    if pads[:n] != pads[n:]:
        raise RuntimeError("fw.onnx.load: ConvTranspose with asymmetric pads is not supported")
    fn = F.conv_transpose2d if n == 2 else F.conv_transpose1d
    return fn(x, _dev(w, x), None if b is None else _dev(b, x), list(c.attr("strides", [1] * n)),
              pads[:n], list(c.attr("output_padding", [0] * n)), c.attr("group", 1),
              list(c.attr("dilations", [1] * n)))


@implements("Gemm")
def _gemm(c, a, b, cc=None):
    alpha, beta = c.attr("alpha", 1.0), c.attr("beta", 1.0)
    if c.attr("transA", 0):
        a = a.t()
    if c.attr("transB", 0) and alpha == 1.0 and (cc is None or beta == 1.0):
        return F.linear(a, _dev(b, a), None if cc is None else _dev(cc, a))
    b = _dev(b, a)
    y = fwops.matmul(a, b.t() if c.attr("transB", 0) else b)
    if alpha != 1.0:
        y = y * alpha
    if cc is not None:
        y = y + (_dev(cc, a) * beta if beta != 1.0 else _dev(cc, a))
    return y


@implements("BatchNormalization")
def _batch_norm(c, x, scale, bias, mean, var):
    if c.attr("training_mode", 0):
        raise RuntimeError("fw.onnx.load: BatchNormalization with training_mode=1 is not supported")
    return F.batch_norm(x, _dev(mean, x), _dev(var, x), _dev(scale, x), _dev(bias, x), False, 0.0,
                        c.attr("epsilon", 1e-5))


@implements("LayerNormalization")
def _layer_norm(c, x, scale, bias=None):
    axis = c.attr("axis", -1)
    axis = axis + x.ndim if axis < 0 else axis
    return F.layer_norm(x, tuple(x.shape[axis:]), _dev(scale, x),
                        None if bias is None else _dev(bias, x), c.attr("epsilon", 1e-5))


@implements("InstanceNormalization")
def _instance_norm(c, x, scale, bias):
    return F.instance_norm(x, weight=_dev(scale, x), bias=_dev(bias, x),
                           eps=c.attr("epsilon", 1e-5))


def _pool(c, x, is_max):
    n = x.ndim - 2
    if n not in (1, 2):
        raise RuntimeError(f"fw.onnx.load: pooling over {n} dims is not supported")
    k = list(c.attr("kernel_shape"))
    strides = list(c.attr("strides", [1] * n))
    dil = list(c.attr("dilations", [1] * n))
    pad, extra = _sym_pads(c, n, k, strides, dil, list(x.shape[2:]))
    ceil = bool(c.attr("ceil_mode", 0))
    if is_max:
        if extra is not None:
            x = F.pad(x, extra, value=float("-inf"))
        fn = F.max_pool2d if n == 2 else F.max_pool1d
        return fn(x, k, strides, pad, dil, ceil)
    include = bool(c.attr("count_include_pad", 0))
    if extra is not None:
        if not include:
            raise RuntimeError("fw.onnx.load: AveragePool with asymmetric pads is not supported")
        x = F.pad(x, extra)
    fn = F.avg_pool2d if n == 2 else F.avg_pool1d
    return fn(x, k, strides, pad, ceil, include)


@implements("MaxPool")
def _max_pool(c, x):
    if len(c.node.output) > 1 and c.node.output[1]:
        raise RuntimeError("fw.onnx.load: MaxPool's Indices output is not supported")
    return _pool(c, x, True)


@implements("AveragePool")
def _avg_pool(c, x):
    return _pool(c, x, False)


@implements("GlobalAveragePool")
def _gap(c, x):
    return x.mean(tuple(range(2, x.ndim)), keepdim=True)


@implements("GlobalMaxPool")
def _gmp(c, x):
    return x.amax(tuple(range(2, x.ndim)), keepdim=True)


# -- shapes ----------------------------------------------------------------------------------------
@implements("Shape")
def _shape(c, x):
    s = np.array(tuple(x.shape), np.int64)
    start, end = c.attr("start", 0), c.attr("end", None)
    return s[start:end]


@implements("Size")
def _size(c, x):
    return np.array(int(np.prod(tuple(x.shape))), np.int64)


@implements("Reshape")
def _reshape(c, x, shape):
    shape = _ints(shape)
    if not c.attr("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    if not isinstance(x, Tensor):
        return np.reshape(x, shape)
    return x.reshape(shape)


@implements("Flatten")
def _flatten(c, x):
    axis = c.attr("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    lead = int(np.prod(tuple(x.shape[:axis]))) if axis else 1
    return x.reshape(lead, -1) if isinstance(x, Tensor) else np.reshape(x, (lead, -1))


@implements("Transpose")
def _transpose(c, x):
    perm = c.attr("perm", list(reversed(range(x.ndim))))
    return x.permute(*perm) if isinstance(x, Tensor) else np.transpose(x, perm)


def _axes(c, axes_input, ndim):
    axes = _ints(axes_input) if axes_input is not None else c.attr("axes", None)
    if axes is None:
        return None
    return [a + ndim if a < 0 else a for a in axes]


@implements("Squeeze")
def _squeeze(c, x, axes=None):
    axes = _axes(c, axes, x.ndim)
    if axes is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    if not isinstance(x, Tensor):
        return np.squeeze(x, tuple(axes))
    for a in sorted(axes, reverse=True):
        x = x.squeeze(a)
    return x


@implements("Unsqueeze")
def _unsqueeze(c, x, axes=None):
    nd = x.ndim + len(_ints(axes) if axes is not None else c.attr("axes"))
    axes = sorted(_axes(c, axes, nd))
    if not isinstance(x, Tensor):
        return np.expand_dims(x, tuple(axes))
    for a in axes:
        x = x.unsqueeze(a)
    return x


@implements("Concat")
def _concat(c, *xs):
    axis = c.attr("axis")
    xs = [x for x in xs if x is not None]
    if _all_host(xs):
        return np.concatenate([np.asarray(x) for x in xs], axis)
    like = _first_tensor(xs)
    xs = [_dev(x, like) for x in xs]
    xs = [x for x in xs if x.numel() or len(xs) == 1]
    return fwops.cat(xs, axis)


@implements("Gather")
def _gather(c, data, idx):
    axis = c.attr("axis", 0)
    if _all_host([data, idx]):
        return np.take(np.asarray(data), np.asarray(idx), axis)
    data = _dev(data, device=c.device) if not isinstance(data, Tensor) else data
    axis = axis + data.ndim if axis < 0 else axis
    n = data.shape[axis]
    if not isinstance(idx, Tensor):
        idx = np.asarray(idx)
        idx = np.where(idx < 0, idx + n, idx)
        if idx.ndim == 0:
            return data.select(axis, int(idx))
        flat = fwops.tensor(idx.reshape(-1).astype(np.int64), device=data.device)
        shape = tuple(idx.shape)
    else:
        shape = tuple(idx.shape)
        flat = idx.reshape(-1).long()
        flat = fwops.where(flat < 0, flat + n, flat)
    if axis == 0 and data.ndim == 2:
        return F.embedding(flat, data).reshape(shape + (data.shape[1],))
    out = fwops.index_select(data, axis, flat)
    return out.reshape(tuple(data.shape[:axis]) + shape + tuple(data.shape[axis + 1:]))


@implements("Slice")
def _slice(c, x, starts=None, ends=None, axes=None, steps=None):
    if starts is None:             # opset < 10: attributes
        starts, ends, axes = c.attr("starts"), c.attr("ends"), c.attr("axes")
    starts, ends = _ints(starts), _ints(ends)
    axes = _axes(c, axes, x.ndim) if axes is not None else list(range(len(starts)))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        n = x.shape[a]
        if st <= 0 and isinstance(x, Tensor):
            raise RuntimeError("fw.onnx.load: Slice with a negative step is not supported")
        s = max(0, min(n, s + n if s < 0 else s))
        e = max(0, min(n, e + n if e < 0 else e))
        index[a] = slice(s, e, st)
    return x[tuple(index)]


@implements("Split")
def _split(c, x, split=None):
    axis = c.attr("axis", 0)
    axis = axis + x.ndim if axis < 0 else axis
    n_out = len(c.node.output)
    sizes = _ints(split) if split is not None else c.attr("split")
    if sizes is None:
        size = -(-x.shape[axis] // n_out)
        sizes = [min(size, x.shape[axis] - i * size) for i in range(n_out)]
    if not isinstance(x, Tensor):
        return tuple(np.split(x, np.cumsum(sizes)[:-1], axis))
    return tuple(fwops.split(x, list(sizes), axis))


@implements("Expand")
def _expand(c, x, shape):
    target = np.broadcast_shapes(tuple(x.shape), tuple(_ints(shape)))
    if not isinstance(x, Tensor):
        return np.broadcast_to(x, target)
    return x.expand(*target)


@implements("Tile")
def _tile(c, x, reps):
    return x.repeat(*_ints(reps)) if isinstance(x, Tensor) else np.tile(x, _ints(reps))


@implements("ConstantOfShape")
def _constant_of_shape(c, shape):
    onnx = require()
    value = c.attr("value")
    arr = onnx.numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    shape = tuple(_ints(shape))
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return np.full(shape, arr.reshape(-1)[0], arr.dtype)
    return fwops.full(shape, float(arr.reshape(-1)[0]), dtype=dt.from_numpy_dtype(arr.dtype),
                      device=c.device)


@implements("Range")
def _range(c, start, limit, delta):
    if _all_host([start, limit, delta]):
        return np.arange(np.asarray(start), np.asarray(limit), np.asarray(delta))
    return fwops.arange(float(_host(start)), float(_host(limit)), float(_host(delta)),
                        device=c.device)


@implements("Pad")
def _pad(c, x, pads=None, value=None, axes=None):
    mode = c.attr("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = _ints(pads) if pads is not None else list(c.attr("pads"))
    nd = x.ndim
    ax = _axes(c, axes, nd) if axes is not None else list(range(nd))
    k = len(ax)
    begin = dict(zip(ax, pads[:k]))
    end = dict(zip(ax, pads[k:]))
    padded = [a for a in ax if begin[a] or end[a]]
    if not padded:
        return x
    torch_pad = []                      # last dim first, down to the lowest padded dim
    for a in range(nd - 1, min(padded) - 1, -1):
        torch_pad += [begin.get(a, 0), end.get(a, 0)]
    fw_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
               "wrap": "circular"}[mode]
    v = 0.0 if value is None or np.asarray(_host(value)).size == 0 else float(_host(value))
    return F.pad(x, torch_pad, mode=fw_mode, value=v if fw_mode == "constant" else None)


# -- reductions ------------------------------------------------------------------------------------
def _reduce(fw_name):
    def run(c, x, axes=None):
        ax = _axes(c, axes, x.ndim)
        keep = bool(c.attr("keepdims", 1))
        if not ax:
            if c.attr("noop_with_empty_axes", 0):
                return x
            ax = list(range(x.ndim))
        if not isinstance(x, Tensor):
            np_fn = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min,
                     "prod": np.prod}[fw_name]
            return np_fn(x, axis=tuple(ax), keepdims=keep)
        return getattr(x, fw_name)(tuple(ax), keepdim=keep) if fw_name != "prod" else \
            _prod(x, ax, keep)
    return run


def _prod(x, ax, keep):
    for a in sorted(ax, reverse=True):
        x = x.prod(a, keepdim=keep)
    return x


for _name, _fw in [("ReduceSum", "sum"), ("ReduceMean", "mean"), ("ReduceMax", "amax"),
                   ("ReduceMin", "amin"), ("ReduceProd", "prod")]:
    implements(_name)(_reduce(_fw))


@implements("ArgMax", "ArgMin")
def _argmax(c, x):
    if c.attr("select_last_index", 0):
        raise RuntimeError("fw.onnx.load: ArgMax/ArgMin with select_last_index=1 is not supported")
    fn = fwops.argmax if c.node.op_type == "ArgMax" else fwops.argmin
    return fn(x, dim=c.attr("axis", 0), keepdim=bool(c.attr("keepdims", 1)))


@implements("Einsum")
def _einsum(c, *xs):
    eq = c.attr("equation")
    eq = eq.decode() if isinstance(eq, bytes) else eq
    like = _first_tensor(xs)
    return fwops.einsum(eq, *[_dev(x, like) for x in xs])


@implements("Trilu")
def _trilu(c, x, k=None):
    k = 0 if k is None else int(_host(k))
    return fwops.triu(x, k) if c.attr("upper", 1) else fwops.tril(x, k)


# -- recurrent layers: fw's own modules ------------------------------------------------------------
@implements("LSTM", "GRU", "RNN")
def _rnn(c, x, *rest):
    m = c.mod._rnns[id(c.node)]
    layout = c.attr("layout", 0)
    seq_lens = rest[3] if len(rest) > 3 else None
    h0 = rest[4] if len(rest) > 4 else None
    c0 = rest[5] if len(rest) > 5 else None
    T = x.shape[1] if layout else x.shape[0]
    if seq_lens is not None and np.any(_host(seq_lens) != T):
        raise RuntimeError("fw.onnx.load: LSTM/GRU/RNN with sequence_lens shorter than the "
                           "sequence is not supported")
    if layout:
        x = x.transpose(0, 1)
        h0 = None if h0 is None else _dev(h0, x).transpose(0, 1)
        c0 = None if c0 is None else _dev(c0, x).transpose(0, 1)
    hx = None
    if h0 is not None:
        h0 = _dev(h0, x)
        hx = (h0, _dev(c0, x) if c0 is not None else fwops.zeros_like(h0)) \
            if c.node.op_type == "LSTM" else h0
    elif c0 is not None:
        c0 = _dev(c0, x)
        hx = (fwops.zeros_like(c0), c0)
    y, h = m(x, hx)
    hn, cn = (h if c.node.op_type == "LSTM" else (h, None))
    dirs = 2 if m.bidirectional else 1
    y = y.reshape(y.shape[0], y.shape[1], dirs, m.hidden_size).permute(0, 2, 1, 3)
    if layout:
        y = y.permute(2, 0, 1, 3)
        hn = hn.transpose(0, 1)
        cn = None if cn is None else cn.transpose(0, 1)
    return (y, hn, cn) if c.node.op_type == "LSTM" else (y, hn)


_BACK = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2]}     # ONNX i,o,f,c / z,r,h -> torch


def _make_rnn(node, attrs, inits):
    """An nn.LSTM/GRU/RNN holding the node's W, R, B (which must be initializers)."""
    from ..nn.modules.rnn import GRU, LSTM, RNN
    op = node.op_type
    names = list(node.input) + [""] * (4 - len(node.input))
    for i, what in ((1, "W"), (2, "R")):
        if names[i] not in inits:
            raise RuntimeError(f"fw.onnx.load: {op} {node.name!r}: {what} must be an initializer")
    if attrs.get("clip") is not None or attrs.get("input_forget", 0):
        raise RuntimeError(f"fw.onnx.load: {op} with clip or input_forget is not supported")
    W, R = inits[names[1]], inits[names[2]]
    B = inits.get(names[3]) if names[3] else None
    if names[3] and B is None:
        raise RuntimeError(f"fw.onnx.load: {op} {node.name!r}: B must be an initializer")
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction == "reverse":
        raise RuntimeError(f"fw.onnx.load: {op} with direction='reverse' is not supported")
    dirs, H, I = W.shape[0], attrs["hidden_size"], W.shape[2]
    if op == "GRU" and not attrs.get("linear_before_reset", 0):
        raise RuntimeError("fw.onnx.load: GRU with linear_before_reset=0 is not supported "
                           "(PyTorch's GRU applies the reset gate after the linear map)")
    if op == "RNN":
        acts = list(attrs.get("activations", ["Tanh"]))
        if any(a not in ("Tanh", "Relu") for a in acts) or len(set(acts)) > 1:
            raise RuntimeError(f"fw.onnx.load: RNN activations {acts} are not supported")
        m = RNN(I, H, nonlinearity="relu" if acts[0] == "Relu" else "tanh",
                bidirectional=dirs == 2)
    else:
        m = (LSTM if op == "LSTM" else GRU)(I, H, bidirectional=dirs == 2)
    order = _BACK.get(op)

    def back(w):
        if order is None:
            return w
        return np.concatenate([w[i * H:(i + 1) * H] for i in order], 0)
    state = {}
    G = W.shape[1]
    for d in range(dirs):
        sfx = "_l0" + ("_reverse" if d else "")
        state["weight_ih" + sfx] = back(W[d])
        state["weight_hh" + sfx] = back(R[d])
        b = B[d] if B is not None else np.zeros(2 * G, W.dtype)
        state["bias_ih" + sfx], state["bias_hh" + sfx] = back(b[:G]), back(b[G:])
    m.load_state_dict({k: fwops.tensor(np.ascontiguousarray(v)) for k, v in state.items()})
    return m, [n for n in names[1:4] if n]


# -- the module ------------------------------------------------------------------------------------
_BUFFER_INPUTS = {"BatchNormalization": (3, 4)}    # running mean and var


def _attrs_of(node):
    onnx = require()
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [b.decode() for b in v]
        out[a.name] = v
    return out


class OnnxModule(Module):
    """An ONNX graph run with fw ops. forward(*inputs) takes the graph's inputs in order and
    returns its output (or a tuple of outputs)."""

    def __init__(self, model):
        super().__init__()
        onnx = require()
        graph = model.graph
        self._opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                           1)
        _check_supported(model)
        self._nodes = list(graph.node)
        self._attrs = {id(n): _attrs_of(n) for n in self._nodes}
        inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in inits]
        self.output_names = [o.name for o in graph.output]
        self._rnns, consumed = {}, set()
        for i, n in enumerate(n for n in self._nodes if n.op_type in ("LSTM", "GRU", "RNN")):
            m, used = _make_rnn(n, self._attrs[id(n)], inits)
            self.add_module(f"rnn{i}", m)
            self._rnns[id(n)] = m
            consumed.update(used)
        buffers = {n.input[i] for n in self._nodes for i in _BUFFER_INPUTS.get(n.op_type, ())
                   if i < len(n.input)}
        self._host, self._slots, taken = {}, {}, set()
        for name, arr in inits.items():
            if name in consumed and not any(name in n.input for n in self._nodes
                                            if n.op_type not in ("LSTM", "GRU", "RNN")):
                self._host[name] = None        # held by the rnn submodule
                continue
            if arr.dtype.kind != "f":
                self._host[name] = arr
                continue
            t = fwops.tensor(np.array(arr, order="C"))   # (ascontiguousarray makes 0-d 1-d)
            owner, attr = self._slot(name, taken)
            if name in buffers:
                owner.register_buffer(attr, t)
            else:
                owner.register_parameter(attr, Parameter(t))
            self._slots[name] = (owner, attr)
        for n in self._nodes:
            if n.op_type == "Constant":
                self._host[n.output[0]] = _constant_value(onnx, self._attrs[id(n)])

    def _slot(self, name, taken):
        """(module, attribute) for an initializer: dotted names become submodules, so that
        state_dict keys equal the ONNX names; other names are made into identifiers."""
        parts = name.split(".")
        if all(re.fullmatch(r"[A-Za-z0-9_]+", p) for p in parts) and name not in taken \
                and not any(name.startswith(t + ".") or t.startswith(name + ".") for t in taken):
            owner = self
            for p in parts[:-1]:
                sub = owner._modules.get(p)
                if sub is None:
                    sub = Module()
                    owner.add_module(p, sub)
                owner = sub
            if not hasattr(owner, parts[-1]) or parts[-1] in owner._parameters:
                taken.add(name)
                return owner, parts[-1]
        attr = "_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        while attr in taken or hasattr(self, attr):
            attr += "_"
        taken.add(attr)
        return self, attr

    @property
    def _device_hint(self):
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return getattr(self, "_input_device", "cpu")

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule expects {len(self.input_names)} inputs "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        env = dict(self._host)
        for name, (owner, attr) in self._slots.items():
            env[name] = getattr(owner, attr)
        for name, x in zip(self.input_names, inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"OnnxModule: input {name!r} must be a Tensor")
            env[name] = x
        if inputs:
            self._input_device = inputs[0].device
        for node in self._nodes:
            if node.op_type == "Constant":
                continue
            args = [env[i] if i else None for i in node.input]
            while args and args[-1] is None:
                args.pop()
            try:
                out = _OPS[node.op_type](_Ctx(node, self), *args)
            except (RuntimeError, ValueError, TypeError, IndexError) as e:
                raise type(e)(f"fw.onnx.load: {node.op_type} node {node.name!r}: {e}") from e
            outs = out if isinstance(out, tuple) else (out,)
            for name, v in zip(node.output, outs):
                if name:
                    env[name] = v
        res = [env[n] for n in self.output_names]
        res = [r if isinstance(r, Tensor) else _dev(r, device=self._device_hint) for r in res]
        return res[0] if len(res) == 1 else tuple(res)


def _constant_value(onnx, attrs):
    if "value" in attrs:
        return onnx.numpy_helper.to_array(attrs["value"])
    for k, npd in (("value_float", np.float32), ("value_floats", np.float32),
                   ("value_int", np.int64), ("value_ints", np.int64)):
        if k in attrs:
            return np.array(attrs[k], npd)
    raise RuntimeError(f"fw.onnx.load: Constant with {sorted(attrs)} is not supported")


def _check_supported(model):
    missing = collections.Counter()
    for n in model.graph.node:
        if n.domain not in ("", "ai.onnx") or (n.op_type not in _OPS and n.op_type != "Constant"):
            foreign = n.domain not in ("", "ai.onnx")
            missing[f"{n.domain}::{n.op_type}" if foreign else n.op_type] += 1
            continue
        for a in n.attribute:
            if a.type == a.GRAPH or a.type == a.GRAPHS:
                missing[f"{n.op_type} (with a subgraph)"] += 1
    if missing:
        listed = ", ".join(f"{k} x{v}" for k, v in sorted(missing.items()))
        raise UnsupportedOnnxOperatorError(
            f"fw.onnx.load: the model uses {sum(missing.values())} node(s) of "
            f"{len(missing)} operator type(s) that fw does not run: {listed}")


def read_model(f):
    """A ModelProto from a path, bytes, a binary file object or a ModelProto."""
    onnx = require()
    if isinstance(f, onnx.ModelProto):
        return f
    if isinstance(f, (bytes, bytearray, memoryview)):
        return onnx.load_from_string(bytes(f))
    if isinstance(f, (str, os.PathLike)):
        return onnx.load(os.fspath(f))
    if isinstance(f, io.IOBase) or hasattr(f, "read"):
        return onnx.load_from_string(f.read())
    raise TypeError(f"fw.onnx.load: expected a path, bytes or a file object, got "
                    f"{type(f).__name__}")


def load(f):
    return OnnxModule(read_model(f))
