"""fw.onnx.export: walk the op-level capture (framework/capture.py) and write ONNX..

Each recorded op has a converter below (`@converts("name", ...)`) that emits ONNX nodes
through `_Emitter`. Sizes the model read from tensors (`x.size(0)`) arrive as SymInts and
are computed at run time from `Shape`, so dynamic axes stay dynamic; a recorded op with no
converter raises UnsupportedOperatorError naming the op and the module where it ran.
"""
import io
import os

import numpy as np

from ..capture import Value, SymInt, capture
from ._deps import require

INT64_MAX = np.iinfo(np.int64).max


class UnsupportedOperatorError(RuntimeError):
    """An op of the model has no ONNX mapping (torch.onnx.errors.UnsupportedOperatorError)."""


_CONVERTERS = {}


def converts(*names):
    def register(f):
        for n in names:
            _CONVERTERS[n] = f
        return f
    return register


def exportable_ops():
    """The recorded op names that the exporter maps (for the docs' table and the CLI)."""
    return sorted(_CONVERTERS)


def _onnx_dtype(dtype):
    onnx = require()
    return onnx.helper.np_dtype_to_tensor_dtype(dtype.np)


class _Emitter:
    """Collects nodes and initializers; names ONNX tensors."""

    def __init__(self, opset, dynamic):
        self.onnx = require()
        self.opset, self.dynamic = opset, dynamic   # dynamic: {input Value index: {axis: name}}
        self.nodes, self.inits, self.names, self.used = [], [], {}, set()
        self.syms, self.node = {}, None

    def fresh(self, hint):
        hint = hint.replace("/", ".") or "t"
        name, i = hint, 0
        while name in self.used:
            i += 1
            name = f"{hint}_{i}"
        self.used.add(name)
        return name

    def op(self, op_type, inputs, outputs=1, **attrs):
        where = (self.node.module or "top") if self.node is not None else "top"
        outs = [self.fresh(f"{where}/{op_type}") for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), outs, name=self.fresh(f"{where}/{op_type}_node"),
            **{k: v for k, v in attrs.items() if v is not None}))
        return outs[0] if outputs == 1 else outs

    def const(self, arr, hint="const"):
        name = self.fresh(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(np.asarray(arr), name))
        return name

    def of(self, x, like=None):
        """The ONNX name of a Value (params and constants become initializers on first use),
        or of a Python scalar (as a constant of `like`'s dtype)."""
        if isinstance(x, Value):
            if x.index not in self.names:
                arr = x.tensor.detach().cpu().numpy()
                self.names[x.index] = self.const(arr, x.name or "const")
            return self.names[x.index]
        if isinstance(x, SymInt):
            return self.op("Squeeze", [self.sym(x), self.const(np.array([0], np.int64))])
        dt = like.dtype.np if isinstance(like, Value) else np.float32
        return self.const(np.array(x, dtype=dt), "scalar")

    def param(self, t, name):
        """An initializer for a tensor that reaches a converter without a Value (leaf modules)."""
        return self.const(t.detach().cpu().numpy(), name)

    def sym(self, s):
        """A 1-D int64 [1] tensor holding int s, computed from Shape where s is a SymInt."""
        if not isinstance(s, SymInt):
            return self.const(np.array([int(s)], np.int64), "int")
        key = id(s)
        if key in self.syms:
            return self.syms[key][1]
        e = s.expr
        if e[0] == "dim":
            v, d = e[1], e[2]
            if v.kind != "input" or d in self.dynamic.get(v.index, {}):
                out = self.op("Shape", [self.of(v)], start=d, end=d + 1)
            else:
                out = self.const(np.array([int(s)], np.int64), "int")
        elif e[0] == "neg":
            out = self.op("Neg", [self.sym(e[1])])
        else:
            kind = {"add": "Add", "sub": "Sub", "mul": "Mul", "floordiv": "Div"}[e[0]]
            out = self.op(kind, [self.sym(e[1]), self.sym(e[2])])
        self.syms[key] = (s, out)          # keep s alive so that id(s) stays its own
        return out

    def ints(self, seq):
        """A 1-D int64 tensor of the ints in seq, computed at run time where they are SymInts."""
        seq = list(seq)
        if not any(isinstance(s, SymInt) for s in seq):
            return self.const(np.array(seq, np.int64).reshape(-1), "ints")
        return self.op("Concat", [self.sym(s) for s in seq], axis=0)

    def reduce(self, op_type, x, axes, keepdims):
        """Reduce* with axes as an input (opset 18+, ReduceSum from 13) or an attribute."""
        if axes is None:
            return self.op(op_type, [x], keepdims=int(keepdims))
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=list(axes), keepdims=int(keepdims))

    def unsqueeze(self, x, axes):
        return self.op("Unsqueeze", [x, self.ints(axes)])

    def set(self, value, name):
        self.names[value.index] = name


def _arg(node, i, name, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _rank(v):
    return len(v.shape)


def _axis(d, rank):
    return d + rank if d < 0 else d


def _out(e, node, names):
    names = names if isinstance(names, (list, tuple)) else [names]
    for v, n in zip(node.outputs, names):
        e.set(v, n)


def _refuse(node, why):
    raise UnsupportedOperatorError(f"fw.onnx.export: {node.op} in module '{node.module or '<top>'}'"
                                   f" cannot be exported: {why}")


# -- elementwise ---------------------------------------------------------------------------------
_BINARY = {"Add": ("add", "__add__", "__radd__", "__iadd__", "add_"),
           "Sub": ("sub", "subtract", "__sub__", "__rsub__", "__isub__", "sub_"),
           "Mul": ("mul", "multiply", "__mul__", "__rmul__", "__imul__", "mul_"),
           "Div": ("div", "divide", "true_divide", "__truediv__", "__rtruediv__", "__itruediv__",
                   "div_"),
           "Pow": ("pow", "__pow__", "__rpow__"), "Max": ("maximum",), "Min": ("minimum",),
           "Equal": ("eq", "__eq__"), "Less": ("lt", "less", "__lt__"),
           "Greater": ("gt", "greater", "__gt__"), "LessOrEqual": ("le", "less_equal", "__le__"),
           "GreaterOrEqual": ("ge", "greater_equal", "__ge__"),
           "And": ("logical_and", "__and__"), "Or": ("logical_or", "__or__"),
           "Xor": ("logical_xor", "__xor__"),
           "MatMul": ("matmul", "__matmul__", "__rmatmul__", "mm", "bmm")}


def _binary(onnx_op):
    def convert(e, node):
        a, b = node.args[0], _arg(node, 1, "other")
        if node.op.startswith("__r"):          # reflected: other <op> self
            a, b = b, a
        like = a if isinstance(a, Value) else b
        if onnx_op in ("Div",) and node.kwargs.get("rounding_mode") is not None:
            _refuse(node, "rounding_mode is not mapped")
        ta, tb = e.of(a, like), e.of(b, like)
        alpha = node.kwargs.get("alpha", 1)
        if alpha != 1:
            tb = e.op("Mul", [tb, e.of(alpha, like)])
        if like.dtype != node.outputs[0].dtype and onnx_op not in (
                "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
            to = _onnx_dtype(node.outputs[0].dtype)
            ta, tb = e.op("Cast", [ta], to=to), e.op("Cast", [tb], to=to)
        _out(e, node, e.op(onnx_op, [ta, tb]))
    return convert


for _op, _names in _BINARY.items():
    converts(*_names)(_binary(_op))

_UNARY = {"Neg": ("neg", "negative", "__neg__"), "Abs": ("abs", "absolute", "__abs__"),
          "Exp": ("exp",), "Log": ("log",), "Sqrt": ("sqrt",), "Sin": ("sin",), "Cos": ("cos",),
          "Tan": ("tan",), "Tanh": ("tanh",), "Sigmoid": ("sigmoid",), "Relu": ("relu", "relu_"),
          "Erf": ("erf",), "Reciprocal": ("reciprocal",), "Floor": ("floor",), "Ceil": ("ceil",),
          "Sign": ("sign",), "Not": ("logical_not", "__invert__"), "Softsign": ("softsign",),
          "Identity": ("contiguous", "clone", "detach", "__pos__"),
          "Asin": ("asin", "arcsin"), "Acos": ("acos", "arccos"), "Atan": ("atan", "arctan"),
          "Sinh": ("sinh",), "Cosh": ("cosh",), "Round": ("round",)}


def _unary(onnx_op):
    def convert(e, node):
        _out(e, node, e.op(onnx_op, [e.of(node.args[0])]))
    return convert


for _op, _names in _UNARY.items():
    converts(*_names)(_unary(_op))


@converts("rsqrt")
def _rsqrt(e, node):
    _out(e, node, e.op("Reciprocal", [e.op("Sqrt", [e.of(node.args[0])])]))


@converts("square")
def _square(e, node):
    x = e.of(node.args[0])
    _out(e, node, e.op("Mul", [x, x]))


@converts("log1p")
def _log1p(e, node):
    x = node.args[0]
    _out(e, node, e.op("Log", [e.op("Add", [e.of(x), e.of(1.0, x)])]))


@converts("float", "double", "half", "long", "int", "bool", "to", "type_as")
def _cast(e, node):
    x, out = node.args[0], node.outputs[0]
    if x.dtype == out.dtype:
        _out(e, node, e.op("Identity", [e.of(x)]))
    else:
        _out(e, node, e.op("Cast", [e.of(x)], to=_onnx_dtype(out.dtype)))


@converts("clamp", "clip", "clamp_min", "clamp_max", "hardtanh", "relu6")
def _clamp(e, node):
    x = node.args[0]
    if node.op == "relu6":
        lo, hi = 0.0, 6.0
    elif node.op == "hardtanh":
        lo, hi = _arg(node, 1, "min_val", -1.0), _arg(node, 2, "max_val", 1.0)
    elif node.op == "clamp_min":
        lo, hi = _arg(node, 1, "min"), None
    elif node.op == "clamp_max":
        lo, hi = None, _arg(node, 1, "max")
    else:
        lo, hi = _arg(node, 1, "min"), _arg(node, 2, "max")
    ins = [e.of(x), "" if lo is None else e.of(lo, x), "" if hi is None else e.of(hi, x)]
    while ins and ins[-1] == "":
        ins.pop()
    _out(e, node, e.op("Clip", ins))


@converts("where")
def _where(e, node):
    c, a, b = node.args[0], _arg(node, 1, "input"), _arg(node, 2, "other")
    like = a if isinstance(a, Value) else b
    _out(e, node, e.op("Where", [e.of(c), e.of(a, like), e.of(b, like)]))


@converts("masked_fill")
def _masked_fill(e, node):
    x, mask, value = node.args[0], _arg(node, 1, "mask"), _arg(node, 2, "value")
    _out(e, node, e.op("Where", [e.of(mask), e.of(value, x), e.of(x)]))


# -- activations ----------------------------------------------------------------------------------
@converts("leaky_relu", "leaky_relu_")
def _leaky(e, node):
    _out(e, node, e.op("LeakyRelu", [e.of(node.args[0])],
                       alpha=float(_arg(node, 1, "negative_slope", 0.01))))


@converts("elu", "celu")
def _elu(e, node):
    op = "Elu" if node.op == "elu" else "Celu"
    _out(e, node, e.op(op, [e.of(node.args[0])], alpha=float(_arg(node, 1, "alpha", 1.0))))


@converts("selu")
def _selu(e, node):
    _out(e, node, e.op("Selu", [e.of(node.args[0])], alpha=1.6732632423543772,
                       gamma=1.0507009873554805))


@converts("gelu")
def _gelu(e, node):
    x = node.args[0]
    approx = _arg(node, 1, "approximate", "none")
    if e.opset >= 20:
        _out(e, node, e.op("Gelu", [e.of(x)], approximate=approx))
        return
    if approx == "tanh":
        inner = e.op("Mul", [e.of(x), e.op("Add", [e.of(1.0, x), e.op("Mul", [
            e.of(0.044715, x), e.op("Mul", [e.of(x), e.of(x)])])])])
        t = e.op("Tanh", [e.op("Mul", [e.of(0.7978845608028654, x), inner])])
    else:
        t = e.op("Erf", [e.op("Mul", [e.of(x), e.of(0.7071067811865476, x)])])
    half = e.op("Mul", [e.of(x), e.of(0.5, x)])
    _out(e, node, e.op("Mul", [half, e.op("Add", [t, e.of(1.0, x)])]))


@converts("silu")
def _silu(e, node):
    x = e.of(node.args[0])
    _out(e, node, e.op("Mul", [x, e.op("Sigmoid", [x])]))


@converts("mish")
def _mish(e, node):
    x = e.of(node.args[0])
    _out(e, node, e.op("Mul", [x, e.op("Tanh", [e.op("Softplus", [x])])]))


@converts("softplus")
def _softplus(e, node):
    x, beta = node.args[0], float(_arg(node, 1, "beta", 1.0))
    if beta == 1.0:
        _out(e, node, e.op("Softplus", [e.of(x)]))
    else:
        sp = e.op("Softplus", [e.op("Mul", [e.of(x), e.of(beta, x)])])
        _out(e, node, e.op("Div", [sp, e.of(beta, x)]))


@converts("hardsigmoid")
def _hardsigmoid(e, node):
    _out(e, node, e.op("HardSigmoid", [e.of(node.args[0])], alpha=1 / 6, beta=0.5))


@converts("hardswish")
def _hardswish(e, node):
    _out(e, node, e.op("HardSwish", [e.of(node.args[0])]))


@converts("logsigmoid")
def _logsigmoid(e, node):
    x = e.of(node.args[0])
    _out(e, node, e.op("Neg", [e.op("Softplus", [e.op("Neg", [x])])]))


@converts("prelu")
def _prelu(e, node):
    x, w = node.args[0], _arg(node, 1, "weight")
    slope = e.of(w)
    if _rank(x) > 2 and w.shape[0] > 1:   # per channel: (C,) -> (C, 1, ...) to broadcast on dim 1
        slope = e.op("Reshape", [slope, e.ints([-1] + [1] * (_rank(x) - 2))])
    _out(e, node, e.op("PRelu", [e.of(x), slope]))


@converts("softmax", "log_softmax")
def _softmax(e, node):
    x, dim = node.args[0], _arg(node, 1, "dim")
    if dim is None:
        _refuse(node, "softmax needs an explicit dim")
    op = "Softmax" if node.op == "softmax" else "LogSoftmax"
    _out(e, node, e.op(op, [e.of(x)], axis=_axis(dim, _rank(x))))


@converts("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
          "feature_alpha_dropout")
def _dropout(e, node):
    default = node.op not in ("alpha_dropout", "feature_alpha_dropout")
    p, training = _arg(node, 1, "p", 0.5), _arg(node, 2, "training", default)
    if training and p > 0:
        _refuse(node, "dropout is active (training mode): call model.eval() before exporting")
    _out(e, node, e.op("Identity", [e.of(node.args[0])]))


# -- layers ----------------------------------------------------------------------------------------
@converts("linear")
def _linear(e, node):
    x, w, b = node.args[0], _arg(node, 1, "weight"), _arg(node, 2, "bias")
    if _rank(x) == 2:
        ins = [e.of(x), e.of(w)] + ([e.of(b)] if b is not None else [])
        _out(e, node, e.op("Gemm", ins, transB=1))
        return
    y = e.op("MatMul", [e.of(x), e.op("Transpose", [e.of(w)], perm=[1, 0])])
    _out(e, node, y if b is None else e.op("Add", [y, e.of(b)]))


def _tuple(v, n):
    return [int(v)] * n if isinstance(v, int) else [int(a) for a in v]


def _conv_pads(node, padding, k, dil, n):
    if padding == "valid":
        return [0] * (2 * n)
    if padding == "same":
        total = [d * (kk - 1) for d, kk in zip(dil, k)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    p = _tuple(padding, n)
    return p + p


@converts("conv1d", "conv2d")
def _conv(e, node):
    x, w, b = node.args[0], _arg(node, 1, "weight"), _arg(node, 2, "bias")
    n = 1 if node.op == "conv1d" else 2
    stride, dil = _tuple(_arg(node, 3, "stride", 1), n), _tuple(_arg(node, 5, "dilation", 1), n)
    k = list(w.shape[2:])
    pads = _conv_pads(node, _arg(node, 4, "padding", 0), k, dil, n)
    ins = [e.of(x), e.of(w)] + ([e.of(b)] if b is not None else [])
    if _rank(x) == n + 1:
        _refuse(node, "unbatched convolution input is not mapped")
    _out(e, node, e.op("Conv", ins, kernel_shape=k, strides=stride, pads=pads, dilations=dil,
                       group=int(_arg(node, 6, "groups", 1))))


@converts("conv_transpose1d", "conv_transpose2d")
def _conv_t(e, node):
    x, w, b = node.args[0], _arg(node, 1, "weight"), _arg(node, 2, "bias")
    n = 1 if node.op == "conv_transpose1d" else 2
    stride = _tuple(_arg(node, 3, "stride", 1), n)
    pad = _tuple(_arg(node, 4, "padding", 0), n)
    outpad = _tuple(_arg(node, 5, "output_padding", 0), n)
    groups, dil = int(_arg(node, 6, "groups", 1)), _tuple(_arg(node, 7, "dilation", 1), n)
    ins = [e.of(x), e.of(w)] + ([e.of(b)] if b is not None else [])
    _out(e, node, e.op("ConvTranspose", ins, kernel_shape=list(w.shape[2:]), strides=stride,
                       pads=pad + pad, output_padding=outpad, dilations=dil, group=groups))


@converts("batch_norm")
def _batch_norm(e, node):
    x, mean, var = node.args[0], _arg(node, 1, "running_mean"), _arg(node, 2, "running_var")
    w, b = _arg(node, 3, "weight"), _arg(node, 4, "bias")
    training, eps = _arg(node, 5, "training", False), _arg(node, 7, "eps", 1e-5)
    if training or mean is None:
        _refuse(node, "batch norm in training mode (batch statistics): call model.eval()")
    c = x.shape[1]
    scale = e.of(w) if w is not None else e.const(np.ones(c, np.float32))
    bias = e.of(b) if b is not None else e.const(np.zeros(c, np.float32))
    _out(e, node, e.op("BatchNormalization", [e.of(x), scale, bias, e.of(mean), e.of(var)],
                       epsilon=float(eps)))


@converts("layer_norm")
def _layer_norm(e, node):
    x, shape = node.args[0], _arg(node, 1, "normalized_shape")
    w, b, eps = _arg(node, 2, "weight"), _arg(node, 3, "bias"), _arg(node, 4, "eps", 1e-5)
    shape = [shape] if isinstance(shape, int) else list(shape)
    if e.opset < 17:
        _refuse(node, "LayerNormalization needs opset 17 or later")
    scale = e.of(w) if w is not None else e.const(np.ones(shape, np.float32))
    ins = [e.of(x), scale] + ([e.of(b)] if b is not None else [])
    _out(e, node, e.op("LayerNormalization", ins, axis=-len(shape), epsilon=float(eps)))


@converts("group_norm")
def _group_norm(e, node):
    x, g = node.args[0], int(_arg(node, 1, "num_groups"))
    w, b, eps = _arg(node, 2, "weight"), _arg(node, 3, "bias"), _arg(node, 4, "eps", 1e-5)
    r = _rank(x)
    y = e.op("Reshape", [e.of(x), e.ints([0, g, -1])])
    mean = e.reduce("ReduceMean", y, [2], True)
    d = e.op("Sub", [y, mean])
    var = e.reduce("ReduceMean", e.op("Mul", [d, d]), [2], True)
    y = e.op("Div", [d, e.op("Sqrt", [e.op("Add", [var, e.of(float(eps), x)])])])
    y = e.op("Reshape", [y, e.op("Shape", [e.of(x)])])
    bshape = e.ints([-1] + [1] * (r - 2))
    if w is not None:
        y = e.op("Mul", [y, e.op("Reshape", [e.of(w), bshape])])
    if b is not None:
        y = e.op("Add", [y, e.op("Reshape", [e.of(b), bshape])])
    _out(e, node, y)


def _is_whole(k, x, n):
    """k (a kernel size) equals x's trailing n sizes as read from x itself."""
    ks = [k] * n if isinstance(k, int) else list(k)
    return all(isinstance(s, SymInt) and s.expr[0] == "dim" and s.expr[1] is x
               and s.expr[2] == _rank(x) - n + i for i, s in enumerate(ks))


@converts("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d")
def _pool(e, node):
    x, k = node.args[0], _arg(node, 1, "kernel_size")
    n = 1 if node.op.endswith("1d") else 2
    is_max = node.op.startswith("max")
    stride = _arg(node, 2, "stride", None)
    padding = _arg(node, 3, "padding", 0)
    if is_max:
        dil, ceil = _arg(node, 4, "dilation", 1), _arg(node, 5, "ceil_mode", False)
        if _arg(node, 6, "return_indices", False):
            _refuse(node, "return_indices is not mapped")
    else:
        dil, ceil = 1, _arg(node, 4, "ceil_mode", False)
        include_pad = _arg(node, 5, "count_include_pad", True)
        if _arg(node, 6, "divisor_override", None) is not None:
            _refuse(node, "divisor_override is not mapped")
    if (stride is None or stride == [] or stride == k) and _tuple(padding, n) == [0] * n \
            and _is_whole(k, x, n):
        _out(e, node, e.op("GlobalMaxPool" if is_max else "GlobalAveragePool", [e.of(x)]))
        return
    k = _tuple(k, n)
    stride = k if stride is None or stride == [] else _tuple(stride, n)
    p = _tuple(padding, n)
    attrs = dict(kernel_shape=k, strides=stride, pads=p + p, ceil_mode=int(bool(ceil)))
    if is_max:
        attrs["dilations"] = _tuple(dil, n)
    else:
        attrs["count_include_pad"] = int(bool(include_pad))
    _out(e, node, e.op("MaxPool" if is_max else "AveragePool", [e.of(x)], **attrs))


@converts("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
          "adaptive_max_pool2d")
def _adaptive(e, node):
    x, size = node.args[0], _arg(node, 1, "output_size")
    n = 1 if node.op.endswith("1d") else 2
    is_max = "max" in node.op
    if _arg(node, 2, "return_indices", False):
        _refuse(node, "return_indices is not mapped")
    size = [size] * n if isinstance(size, int) or size is None else list(size)
    ins = list(x.shape[-n:])
    size = [i if s is None else s for s, i in zip(size, ins)]
    if all(s == 1 for s in size):
        _out(e, node, e.op("GlobalMaxPool" if is_max else "GlobalAveragePool", [e.of(x)]))
        return
    if any(i % s for i, s in zip(ins, size)):
        _refuse(node, f"adaptive pooling from {ins} to {size} has uneven windows")
    k = [i // s for i, s in zip(ins, size)]
    _out(e, node, e.op("MaxPool" if is_max else "AveragePool", [e.of(x)], kernel_shape=k,
                       strides=k))


@converts("embedding")
def _embedding(e, node):
    idx, w = node.args[0], _arg(node, 1, "weight")
    if _arg(node, 3, "max_norm", None) is not None:
        _refuse(node, "max_norm renormalises the weight in place and is not mapped")
    _out(e, node, e.op("Gather", [e.of(w), e.of(idx)], axis=0))


@converts("embedding_bag")
def _embedding_bag(e, node):
    """Dense (B, L) bags: Gather then a reduction over L. Flat indices with offsets: each
    index's bag number counts the offsets at or before it, and a (B, N) one-hot of those
    numbers times the gathered rows sums every bag in one MatMul (mean divides by counts)."""
    idx, w = node.args[0], _arg(node, 1, "weight")
    offsets, mode = _arg(node, 2, "offsets"), _arg(node, 6, "mode", "mean")
    psw, last = _arg(node, 8, "per_sample_weights"), _arg(node, 9, "include_last_offset", False)
    if _arg(node, 3, "max_norm") is not None or _arg(node, 10, "padding_idx") is not None:
        _refuse(node, "max_norm and padding_idx are not mapped")
    rows = e.op("Gather", [e.of(w), e.of(idx)], axis=0)
    if psw is not None:
        rows = e.op("Mul", [rows, e.unsqueeze(e.of(psw), [_rank(idx)])])
    if offsets is None:
        op = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax"}[mode]
        _out(e, node, e.reduce(op, rows, [1], False))
        return
    if mode == "max":
        _refuse(node, "mode='max' with offsets is not mapped")
    offs = e.of(offsets)
    if last:
        offs = e.op("Slice", [offs, e.ints([0]), e.ints([-1])])
    n = e.op("Shape", [e.of(idx)])
    pos = e.op("Range", [e.of(0, offsets), e.op("Squeeze", [n, e.ints([0])]),
                         e.of(1, offsets)])
    seen = e.op("GreaterOrEqual", [e.unsqueeze(pos, [1]), e.unsqueeze(offs, [0])])  # (N, B)
    onehot = e.op("Cast", [seen], to=_onnx_dtype(w.dtype))
    # index i belongs to bag j when offsets[j] <= i < offsets[j+1]: seen[:, j] - seen[:, j+1]
    nxt = e.op("Concat", [e.op("Slice", [onehot, e.ints([1]), e.ints([INT64_MAX]), e.ints([1])]),
                          e.op("Slice", [e.op("Mul", [onehot, e.of(0.0, w)]), e.ints([0]),
                                         e.ints([1]), e.ints([1])])], axis=1)
    member = e.op("Transpose", [e.op("Sub", [onehot, nxt])], perm=[1, 0])          # (B, N)
    out = e.op("MatMul", [member, rows])
    if mode == "mean":
        count = e.reduce("ReduceSum", member, [1], True)
        out = e.op("Div", [out, e.op("Max", [count, e.of(1.0, w)])])
    _out(e, node, out)


@converts("pad")
def _pad(e, node):
    x, pad = node.args[0], list(_arg(node, 1, "pad"))
    mode, value = _arg(node, 2, "mode", "constant"), _arg(node, 3, "value", None)
    r, m = _rank(x), len(pad) // 2
    begins, ends = [0] * r, [0] * r
    for i in range(m):
        begins[r - 1 - i], ends[r - 1 - i] = pad[2 * i], pad[2 * i + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}.get(mode)
    if onnx_mode is None or (onnx_mode == "wrap" and e.opset < 19):
        _refuse(node, f"padding mode {mode!r} is not mapped at opset {e.opset}")
    ins = [e.of(x), e.ints(begins + ends)]
    if onnx_mode == "constant":
        ins.append(e.of(0.0 if value is None else value, x))
    _out(e, node, e.op("Pad", ins, mode=onnx_mode))


# -- shapes and indexing --------------------------------------------------------------------------
def _dims(node, start):
    """The size arguments of reshape/view/expand/permute: varargs or one sequence."""
    rest = list(node.args[start:])
    if not rest:
        rest = node.kwargs.get("shape", node.kwargs.get("size", node.kwargs.get("dims", ())))
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        rest = list(rest[0])
    return list(rest)


@converts("reshape", "view")
def _reshape(e, node):
    x = node.args[0]
    if node.op == "view" and len(node.args) == 2 \
            and not isinstance(node.args[1], (int, tuple, list)):
        _refuse(node, "view(dtype) is not mapped")
    _out(e, node, e.op("Reshape", [e.of(x), e.ints(_dims(node, 1))]))


@converts("view_as", "reshape_as", "expand_as")
def _as(e, node):
    x, other = node.args[0], node.args[1]
    op = "Expand" if node.op == "expand_as" else "Reshape"
    _out(e, node, e.op(op, [e.of(x), e.op("Shape", [e.of(other)])]))


@converts("flatten")
def _flatten(e, node):
    x = node.args[0]
    r = _rank(x)
    s, t = _axis(_arg(node, 1, "start_dim", 0), r), _axis(_arg(node, 2, "end_dim", -1), r)
    if r == 0:
        _out(e, node, e.op("Reshape", [e.of(x), e.ints([1])]))
    elif t == r - 1 and s == 1:
        _out(e, node, e.op("Flatten", [e.of(x)], axis=1))
    elif s == 0 and t == r - 1:
        _out(e, node, e.op("Reshape", [e.of(x), e.ints([-1])]))
    else:
        shape = e.op("Shape", [e.of(x)])
        parts = []
        if s > 0:
            parts.append(e.op("Slice", [shape, e.ints([0]), e.ints([s])]))
        parts.append(e.ints([-1]))
        if t < r - 1:
            parts.append(e.op("Slice", [shape, e.ints([t + 1]), e.ints([r])]))
        _out(e, node, e.op("Reshape", [e.of(x), e.op("Concat", parts, axis=0)]))


@converts("unflatten")
def _unflatten(e, node):
    x, dim, sizes = node.args[0], _arg(node, 1, "dim"), list(_arg(node, 2, "sizes"))
    r = _rank(x)
    d = _axis(dim, r)
    shape = e.op("Shape", [e.of(x)])
    parts = []
    if d > 0:
        parts.append(e.op("Slice", [shape, e.ints([0]), e.ints([d])]))
    parts.append(e.ints(sizes))
    if d < r - 1:
        parts.append(e.op("Slice", [shape, e.ints([d + 1]), e.ints([r])]))
    _out(e, node, e.op("Reshape", [e.of(x), e.op("Concat", parts, axis=0)]))


@converts("permute")
def _permute(e, node):
    x = node.args[0]
    perm = [_axis(int(d), _rank(x)) for d in _dims(node, 1)]
    _out(e, node, e.op("Transpose", [e.of(x)], perm=perm))


@converts("transpose", "swapaxes", "swapdims", "t")
def _transpose(e, node):
    x = node.args[0]
    r = _rank(x)
    if node.op == "t":
        a, b = 0, (1 if r == 2 else 0)
    else:
        a, b = _axis(node.args[1], r), _axis(node.args[2], r)
    perm = list(range(r))
    perm[a], perm[b] = perm[b], perm[a]
    _out(e, node, e.op("Transpose", [e.of(x)], perm=perm))


@converts("squeeze")
def _squeeze(e, node):
    x, dim = node.args[0], _arg(node, 1, "dim", None)
    r = _rank(x)
    if dim is None:
        dims = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = [_axis(d, r) for d in dims if x.shape[_axis(d, r)] == 1]
    if not dims:
        _out(e, node, e.op("Identity", [e.of(x)]))
    else:
        _out(e, node, e.op("Squeeze", [e.of(x), e.ints(dims)]))


@converts("unsqueeze")
def _unsqueeze(e, node):
    x, dim = node.args[0], _arg(node, 1, "dim")
    _out(e, node, e.unsqueeze(e.of(x), [_axis(dim, _rank(x) + 1)]))


@converts("cat", "concat", "concatenate")
def _cat(e, node):
    ts, dim = [t for t in node.args[0]], _arg(node, 1, "dim", 0)
    like = next(t for t in ts if isinstance(t, Value))
    ts = [t for t in ts if not (t.shape == (0,))]
    _out(e, node, e.op("Concat", [e.of(t) for t in ts], axis=_axis(dim, _rank(like))))


@converts("stack")
def _stack(e, node):
    ts, dim = list(node.args[0]), _arg(node, 1, "dim", 0)
    d = _axis(dim, _rank(ts[0]) + 1)
    _out(e, node, e.op("Concat", [e.unsqueeze(e.of(t), [d]) for t in ts], axis=d))


@converts("chunk", "split", "tensor_split", "unbind")
def _split(e, node):
    x = node.args[0]
    dim = _arg(node, 2, "dim", 0) if node.op != "unbind" else _arg(node, 1, "dim", 0)
    d = _axis(dim, _rank(x))
    sizes = [v.shape[d] for v in node.outputs] if node.op != "unbind" else [1] * x.shape[d]
    outs = e.op("Split", [e.of(x), e.ints(sizes)], outputs=len(sizes), axis=d)
    outs = outs if isinstance(outs, list) else [outs]
    if node.op == "unbind":
        outs = [e.op("Squeeze", [o, e.ints([d])]) for o in outs]
    _out(e, node, outs)


@converts("expand", "broadcast_to")
def _expand(e, node):
    x = node.args[0]
    dims = _dims(node, 1)
    dims = [1 if (isinstance(s, int) and not isinstance(s, SymInt) and s == -1) else s
            for s in dims]
    _out(e, node, e.op("Expand", [e.of(x), e.ints(dims)]))


@converts("__getitem__")
def _getitem(e, node):
    x, idx = node.args[0], node.args[1]
    items = list(idx) if isinstance(idx, tuple) else [idx]
    n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
    if any(isinstance(i, Value) and i.dtype.name == "bool" for i in items):
        _refuse(node, "boolean-mask indexing has a data-dependent shape")
    if sum(1 for i in items if isinstance(i, Value)) > 1:
        _refuse(node, "indexing with several index tensors is not mapped")
    if any(isinstance(i, (list, tuple)) for i in items):
        _refuse(node, "indexing with a list is not mapped (use a tensor)")
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + [slice(None)] * (_rank(x) - n_real) + items[k + 1:]
    y, ax = e.of(x), 0
    for it in items:
        if it is None:
            y = e.unsqueeze(y, [ax])
            ax += 1
        elif isinstance(it, slice):
            if it != slice(None):
                step = 1 if it.step is None else it.step
                start = 0 if it.start is None else it.start
                stop = INT64_MAX if it.stop is None else it.stop
                y = e.op("Slice", [y, e.ints([start]), e.ints([stop]), e.ints([ax]),
                                   e.ints([step])])
            ax += 1
        elif isinstance(it, Value):
            y = e.op("Gather", [y, e.of(it)], axis=ax)
            ax += _rank(it)
        elif isinstance(it, int):
            y = e.op("Gather", [y, e.of(it) if isinstance(it, SymInt)
                                else e.const(np.array(it, np.int64), "index")], axis=ax)
        else:
            _refuse(node, f"index of type {type(it).__name__} is not mapped")
    _out(e, node, y)


@converts("narrow")
def _narrow(e, node):
    x, dim, start, length = node.args[0], node.args[1], node.args[2], node.args[3]
    d = _axis(dim, _rank(x))
    _out(e, node, e.op("Slice", [e.of(x), e.ints([start]), e.ints([start + length]),
                                 e.ints([d])]))


@converts("select")
def _select(e, node):
    x, dim, i = node.args[0], node.args[1], node.args[2]
    _out(e, node, e.op("Gather", [e.of(x), e.const(np.array(int(i), np.int64))],
                       axis=_axis(dim, _rank(x))))


@converts("triu", "tril")
def _trilu(e, node):
    x, k = node.args[0], _arg(node, 1, "diagonal", 0)
    _out(e, node, e.op("Trilu", [e.of(x), e.op("Squeeze", [e.ints([k])])],
                       upper=int(node.op == "triu")))


# -- reductions ------------------------------------------------------------------------------------
def _reduce_dims(node, x):
    dim = _arg(node, 1, "dim", None)
    if dim is None or dim == ():
        return None
    dims = [dim] if isinstance(dim, int) else list(dim)
    return [_axis(d, _rank(x)) for d in dims]


@converts("sum", "mean", "amax", "amin", "prod")
def _reduction(e, node):
    x = node.args[0]
    op = {"sum": "ReduceSum", "mean": "ReduceMean", "amax": "ReduceMax", "amin": "ReduceMin",
          "prod": "ReduceProd"}[node.op]
    dims = _reduce_dims(node, x)
    keep = _arg(node, 2, "keepdim", False)
    xin = e.of(x)
    if node.outputs[0].dtype != x.dtype:
        xin = e.op("Cast", [xin], to=_onnx_dtype(node.outputs[0].dtype))
    _out(e, node, e.reduce(op, xin, dims, keep))


@converts("max", "min")
def _max(e, node):
    x, dim = node.args[0], _arg(node, 1, "dim", None)
    if isinstance(dim, Value):       # max(a, b): elementwise
        _out(e, node, e.op("Max" if node.op == "max" else "Min", [e.of(x), e.of(dim)]))
        return
    if dim is None:
        _out(e, node, e.reduce("ReduceMax" if node.op == "max" else "ReduceMin", e.of(x),
                               None, False))
        return
    keep = _arg(node, 2, "keepdim", False)
    d = _axis(dim, _rank(x))
    vals = e.reduce("ReduceMax" if node.op == "max" else "ReduceMin", e.of(x), [d], keep)
    idx = e.op("ArgMax" if node.op == "max" else "ArgMin", [e.of(x)], axis=d, keepdims=int(keep))
    _out(e, node, [vals, idx])


@converts("argmax", "argmin")
def _argmax(e, node):
    x, dim, keep = node.args[0], _arg(node, 1, "dim", None), _arg(node, 2, "keepdim", False)
    xin = e.of(x)
    if dim is None:
        xin, dim, keep = e.op("Reshape", [xin, e.ints([-1])]), 0, False
    _out(e, node, e.op("ArgMax" if node.op == "argmax" else "ArgMin", [xin],
                       axis=_axis(dim, _rank(x)), keepdims=int(keep)))


@converts("einsum")
def _einsum(e, node):
    eq, ops = node.args[0], list(node.args[1:])
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = list(ops[0])
    _out(e, node, e.op("Einsum", [e.of(o) for o in ops], equation=eq.replace(" ", "")))


# -- creation with run-time sizes -----------------------------------------------------------------
@converts("zeros", "ones", "full", "empty")
def _filled(e, node):
    if node.op == "full":
        size, value = _arg(node, 0, "size"), _arg(node, 1, "fill_value")
    else:
        size, value = _dims(node, 0), 0 if node.op != "ones" else 1
    out = node.outputs[0]
    onnx = e.onnx
    tensor = onnx.numpy_helper.from_array(np.array([value], dtype=out.dtype.np))
    _out(e, node, e.op("ConstantOfShape", [e.ints(list(size))], value=tensor))


@converts("zeros_like", "ones_like", "full_like", "empty_like")
def _filled_like(e, node):
    x, out = node.args[0], node.outputs[0]
    value = {"zeros_like": 0, "empty_like": 0, "ones_like": 1}.get(node.op)
    if value is None:
        value = _arg(node, 1, "fill_value")
    tensor = e.onnx.numpy_helper.from_array(np.array([value], dtype=out.dtype.np))
    _out(e, node, e.op("ConstantOfShape", [e.op("Shape", [e.of(x)])], value=tensor))


@converts("arange")
def _arange(e, node):
    a = [x for x in node.args]
    start, end, step = (0, a[0], 1) if len(a) == 1 else (a[0], a[1], a[2] if len(a) > 2 else 1)
    start, end = node.kwargs.get("start", start), node.kwargs.get("end", end)
    step = node.kwargs.get("step", step)
    out = node.outputs[0]
    scalar = [e.op("Squeeze", [e.ints([v])]) for v in (start, end, step)]
    r = e.op("Range", scalar)
    if out.dtype.np != np.int64:
        r = e.op("Cast", [r], to=_onnx_dtype(out.dtype))
    _out(e, node, r)


# -- attention and recurrent layers ---------------------------------------------------------------
def _float_mask(e, m, like):
    """fw's rule: a bool mask is -inf where True, a float mask is added as it is."""
    if m.dtype.name == "bool":
        return e.op("Where", [e.of(m), e.of(float("-inf"), like), e.of(0.0, like)])
    return e.of(m)


@converts("multi_head_attention_forward")
def _mha(e, node):
    names = ["query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight",
             "in_proj_bias", "bias_k", "bias_v", "add_zero_attn", "dropout_p", "out_proj_weight",
             "out_proj_bias"]
    a = {n: _arg(node, i, n) for i, n in enumerate(names)}
    for n, d in (("training", True), ("key_padding_mask", None), ("need_weights", True),
                 ("attn_mask", None), ("use_separate_proj_weight", False),
                 ("q_proj_weight", None), ("k_proj_weight", None), ("v_proj_weight", None),
                 ("static_k", None), ("static_v", None), ("average_attn_weights", True)):
        a[n] = node.kwargs.get(n, d)
    q, k, v = a["query"], a["key"], a["value"]
    if a["bias_k"] is not None or a["add_zero_attn"] or a["static_k"] is not None \
            or a["static_v"] is not None:
        _refuse(node, "bias_k/bias_v, add_zero_attn and static_k/v are not mapped")
    if a["training"] and a["dropout_p"] > 0:
        _refuse(node, "attention dropout is active (training mode): call model.eval()")
    if _rank(q) != 3:
        _refuse(node, "unbatched attention is not mapped")
    E, h = int(a["embed_dim_to_check"]), int(a["num_heads"])
    hd = E // h

    def proj(x, i):
        if a["use_separate_proj_weight"]:
            w = e.of(a[("q", "k", "v")[i] + "_proj_weight"])
        else:
            w = e.op("Slice", [e.of(a["in_proj_weight"]), e.ints([i * E]), e.ints([(i + 1) * E]),
                               e.ints([0])])
        y = e.op("MatMul", [e.of(x), e.op("Transpose", [w], perm=[1, 0])])
        if a["in_proj_bias"] is not None:
            bb = e.op("Slice", [e.of(a["in_proj_bias"]), e.ints([i * E]), e.ints([(i + 1) * E]),
                                e.ints([0])])
            y = e.op("Add", [y, bb])
        # (L, N, E) -> (N, h, L, hd)
        y = e.op("Reshape", [y, e.ints([0, 0, h, hd])])
        return e.op("Transpose", [y], perm=[1, 2, 0, 3])
    qh, kh, vh = proj(q, 0), proj(k, 1), proj(v, 2)
    scale = e.of(1.0 / float(np.sqrt(hd)), q)
    scores = e.op("MatMul", [e.op("Mul", [qh, scale]), e.op("Transpose", [kh], perm=[0, 1, 3, 2])])
    if a["attn_mask"] is not None:
        m = a["attn_mask"]
        fm = _float_mask(e, m, q)
        if _rank(m) == 3:        # (N*h, L, S) -> (N, h, L, S)
            fm = e.op("Reshape", [fm, e.ints([-1, h, 0, 0])])
        scores = e.op("Add", [scores, fm])
    if a["key_padding_mask"] is not None:
        kpm = _float_mask(e, a["key_padding_mask"], q)          # (N, S) -> (N, 1, 1, S)
        scores = e.op("Add", [scores, e.unsqueeze(kpm, [1, 2])])
    w = e.op("Softmax", [scores], axis=3)
    o = e.op("MatMul", [w, vh])                                   # (N, h, L, hd)
    o = e.op("Reshape", [e.op("Transpose", [o], perm=[2, 0, 1, 3]), e.ints([0, 0, E])])
    o = e.op("MatMul", [o, e.op("Transpose", [e.of(a["out_proj_weight"])], perm=[1, 0])])
    if a["out_proj_bias"] is not None:
        o = e.op("Add", [o, e.of(a["out_proj_bias"])])
    outs = [o]
    if a["need_weights"]:
        outs.append(e.reduce("ReduceMean", w, [1], False) if a["average_attn_weights"] else w)
    _out(e, node, outs)


@converts("scaled_dot_product_attention")
def _sdpa(e, node):
    q, k, v = node.args[0], node.args[1], node.args[2]
    mask = _arg(node, 3, "attn_mask", None)
    if _arg(node, 4, "dropout_p", 0.0) > 0:
        _refuse(node, "attention dropout is not mapped (pass dropout_p=0 when not training)")
    causal = bool(_arg(node, 5, "is_causal", False))
    if node.kwargs.get("enable_gqa", False):
        _refuse(node, "enable_gqa is not mapped: repeat the key/value heads first")
    if causal and mask is not None:
        _refuse(node, "attn_mask together with is_causal")  # torch refuses it too
    scale = node.kwargs.get("scale", None)
    scale = 1.0 / float(np.sqrt(q.shape[-1])) if scale is None else float(scale)
    r = _rank(k)
    perm = list(range(r))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    s = e.op("MatMul", [e.op("Mul", [e.of(q), e.of(scale, q)]),
                        e.op("Transpose", [e.of(k)], perm=perm)])
    if mask is not None:
        s = e.op("Add", [s, _float_mask(e, mask, q)])
    if causal:  # -inf above the diagonal of the (L, S) scores, sized at run time
        ls = e.op("Shape", [s], start=-2)
        ninf = e.onnx.numpy_helper.from_array(np.array([-np.inf], dtype=q.dtype.np))
        one = e.op("Squeeze", [e.ints([1])])
        above = e.op("Trilu", [e.op("ConstantOfShape", [ls], value=ninf), one], upper=1)
        s = e.op("Add", [s, above])
    _out(e, node, e.op("MatMul", [e.op("Softmax", [s], axis=-1), e.of(v)]))


_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}      # torch i,f,g,o / r,z,n -> ONNX


def _reorder(w, mode, H):
    order = _GATE_ORDER.get(mode)
    if order is None:
        return w
    return np.concatenate([w[i * H:(i + 1) * H] for i in order], 0)


@converts("LSTM", "GRU", "RNN")
def _rnn(e, node):
    m, x = node.args[0], node.args[1]
    hx = _arg(node, 2, "hx", None)
    if not isinstance(x, Value):
        _refuse(node, "PackedSequence inputs are not mapped")
    if m.proj_size:
        _refuse(node, "proj_size is not mapped")
    if m.training and m.dropout > 0 and m.num_layers > 1:
        _refuse(node, "dropout between layers is active (training mode): call model.eval()")
    mode, H, dirs = m.mode, m.hidden_size, 2 if m.bidirectional else 1
    onnx_op = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    h0 = c0 = None
    if hx is not None:
        h0, c0 = (hx[0], hx[1]) if mode == "LSTM" else (hx, None)
    if _rank(x) == 2:
        _refuse(node, "unbatched recurrent input is not mapped")
    y = e.of(x)
    if m.batch_first:
        y = e.op("Transpose", [y], perm=[1, 0, 2])
    hs, cs = [], []
    attrs = {"hidden_size": H, "direction": "bidirectional" if dirs == 2 else "forward"}
    if onnx_op == "GRU":
        attrs["linear_before_reset"] = 1
    if onnx_op == "RNN":
        attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"] * dirs
    for layer in range(m.num_layers):
        W, R, B = [], [], []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            wi = getattr(m, "weight_ih" + sfx).detach().cpu().numpy()
            wh = getattr(m, "weight_hh" + sfx).detach().cpu().numpy()
            W.append(_reorder(wi, mode, H))
            R.append(_reorder(wh, mode, H))
            if m.bias:
                bi = getattr(m, "bias_ih" + sfx).detach().cpu().numpy()
                bh = getattr(m, "bias_hh" + sfx).detach().cpu().numpy()
                B.append(np.concatenate([_reorder(bi, mode, H), _reorder(bh, mode, H)]))
            else:
                B.append(np.zeros(2 * wi.shape[0], wi.dtype))
        base = f"{node.module}.l{layer}"
        ins = [y, e.const(np.stack(W), base + ".W"), e.const(np.stack(R), base + ".R"),
               e.const(np.stack(B), base + ".B"), ""]
        sl = [e.ints([layer * dirs]), e.ints([(layer + 1) * dirs]), e.ints([0])]
        ins.append(e.op("Slice", [e.of(h0)] + sl) if h0 is not None else "")
        if mode == "LSTM":
            ins.append(e.op("Slice", [e.of(c0)] + sl) if c0 is not None else "")
        while ins[-1] == "":
            ins.pop()
        outs = e.op(onnx_op, ins, outputs=3 if mode == "LSTM" else 2, **attrs)
        # Y (T, dirs, N, H) -> (T, N, dirs * H)
        y = e.op("Reshape", [e.op("Transpose", [outs[0]], perm=[0, 2, 1, 3]), e.ints([0, 0, -1])])
        hs.append(outs[1])
        if mode == "LSTM":
            cs.append(outs[2])
    if m.batch_first:
        y = e.op("Transpose", [y], perm=[1, 0, 2])
    h = hs[0] if len(hs) == 1 else e.op("Concat", hs, axis=0)
    results = [y, h]
    if mode == "LSTM":
        results.append(cs[0] if len(cs) == 1 else e.op("Concat", cs, axis=0))
    _out(e, node, results)


# -- the driver ------------------------------------------------------------------------------------
def _dynamic_map(dynamic_axes, names):
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"fw.onnx.export: dynamic_axes names {name!r}, which is not an "
                             f"input or output name ({', '.join(names)})")
        if isinstance(axes, (list, tuple)):
            axes = {int(a): f"{name}_dim{a}" for a in axes}
        out[name] = {int(a): str(n) for a, n in axes.items()}
    return out


def build(model, args, input_names=None, output_names=None, dynamic_axes=None, opset_version=17):
    """The ONNX ModelProto of model(*args) (what export writes)."""
    onnx = require()
    from onnx import helper
    if not isinstance(args, tuple):
        args = (args,)
    if opset_version < 13 or opset_version > 21:
        raise ValueError(f"fw.onnx.export: opset_version {opset_version} is not supported "
                         f"(13 to 21)")
    g = capture(model, args, module=model)
    in_names = list(input_names or [])[:len(g.inputs)]
    in_names += [f"input{i}" for i in range(len(in_names), len(g.inputs))]
    out_names = list(output_names or [])[:len(g.outputs)]
    out_names += [f"output{i}" for i in range(len(out_names), len(g.outputs))]
    dyn = _dynamic_map(dynamic_axes, in_names + out_names)
    e = _Emitter(opset_version, {v.index: dyn.get(n, {}) for v, n in zip(g.inputs, in_names)})
    for v, n in zip(g.inputs, in_names):
        e.used.add(n)
        e.set(v, n)
    for node in g.nodes:
        conv = _CONVERTERS.get(node.op)
        if conv is None:
            raise UnsupportedOperatorError(
                f"fw.onnx.export: no ONNX mapping for op '{node.op}' (called in module "
                f"'{node.module or '<top>'}'); docs/onnx.md lists the exported ops")
        e.node = node
        conv(e, node)
    e.node = None
    outputs = []
    for v, n in zip(g.outputs, out_names):
        src = e.of(v)
        e.nodes.append(helper.make_node("Identity", [src], [n], name=f"{n}_identity"))
        outputs.append(helper.make_tensor_value_info(n, _onnx_dtype(v.dtype),
                                                     [None] * len(v.shape)))
    inputs = []
    for v, n in zip(g.inputs, in_names):
        axes = dyn.get(n, {})
        inputs.append(helper.make_tensor_value_info(
            n, _onnx_dtype(v.dtype), [axes.get(i, s) for i, s in enumerate(v.shape)]))
    used = {i for n in e.nodes for i in n.input}
    inits = [t for t in e.inits if t.name in used]
    graph = helper.make_graph(e.nodes, type(model).__name__, inputs, outputs, initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset_version)],
                              producer_name="fw", producer_version=_fw_version())
    proto.ir_version = min(proto.ir_version, _IR_FOR_OPSET.get(opset_version, 8))
    _declare_outputs(onnx, proto, g.outputs, out_names, dyn)
    return proto


_IR_FOR_OPSET = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


def _declare_outputs(onnx, proto, values, names, dyn):
    """Output shapes: the inferred ones, the user's dynamic axis names, else the traced size
    where inference could not tell (shapes inference leaves unknown)."""
    inferred = onnx.shape_inference.infer_shapes(proto)
    found = {o.name: o for o in inferred.graph.output}
    for out, v, n in zip(proto.graph.output, values, names):
        dims = out.type.tensor_type.shape.dim
        got = found[n].type.tensor_type.shape.dim if n in found else []
        axes = dyn.get(n, {})
        for i, d in enumerate(dims):
            if i in axes:
                d.dim_param = axes[i]
            elif i < len(got) and got[i].HasField("dim_value"):
                d.dim_value = got[i].dim_value
            elif i < len(got) and got[i].HasField("dim_param"):
                d.dim_param = got[i].dim_param
            else:
                d.dim_param = f"{n}_dim{i}"


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17, **kwargs):
    unknown = set(kwargs) - {"export_params", "verbose", "training", "do_constant_folding",
                             "keep_initializers_as_inputs", "dynamo"}
    if unknown:
        raise TypeError(f"fw.onnx.export got unexpected keyword argument(s): "
                        f"{', '.join(sorted(unknown))}")
    if opset_version is None:
        opset_version = 17
    proto = build(model, args, input_names, output_names, dynamic_axes, opset_version)
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"fw.onnx.export: f must be a path or a binary file object, not "
                        f"{type(f).__name__}")
    return None


def _fw_version():
    from .. import __version__
    return __version__
