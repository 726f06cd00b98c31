"""`linear` and `bilinear`.

`linear` dominates small-network training time, so it is one Function that talks to the
backend directly: a matmul against the transposed weight View plus a broadcast bias add
forward (the fused op `matmul_bias`); backward computes only the gradients asked for.
When the backward itself is recorded (create_graph=True) it is written with tensor ops
instead, so it can be differentiated again.
"""
from ...autograd import grad_mode
from ...autograd.function import Function
from ...device import View, contiguous_strides
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def _t(v):
    """The transpose of a 2-d View (no copy)."""
    return View(v.buf, (v.shape[1], v.shape[0]), (v.strides[1], v.strides[0]), v.offset, v.dtype)


def _rows(be, v, n):
    """A View seen as (rows, n); copies only when its layout forbids a free reshape."""
    if len(v.shape) == 2:
        return v
    if not v.is_contiguous():
        v = be.contiguous(v)
    return View(v.buf, (v.numel // n if n else 0, n), (n, 1), v.offset, v.dtype)


class _Linear(Function):
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        be = x._be
        xv = x._v
        x2 = _rows(be, xv, xv.shape[-1])
        out = be.matmul(x2, _t(w._v)) if b is None else be.matmul_bias(x2, _t(w._v), b._v)
        if len(xv.shape) != 2:
            shape = xv.shape[:-1] + (w._v.shape[0],)
            out = View(out.buf, shape, _strides(shape), out.offset, out.dtype)
        ctx.save_for_backward(x, w)
        return x._from(out)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        if grad_mode._state.enabled:  # create_graph: differentiable tensor ops
            g2 = g.reshape(-1, g.shape[-1])
            gx = (g @ w) if nx else None
            gw = g2.mT @ x.reshape(-1, x.shape[-1]) if nw else None
            gb = g2.sum(0) if nb else None
            return gx, gw, gb
        be = g._be
        gv = _rows(be, g._v, g._v.shape[-1])
        gx = gw = gb = None
        if nx:
            r = be.matmul(gv, w._v)
            shape = x._v.shape
            gx = g._from(r if len(shape) == 2 else View(r.buf, shape, _strides(shape), r.offset, r.dtype))
        if nw:
            gw = g._from(be.matmul(_t(gv), _rows(be, x._v, x._v.shape[-1])))
        if nb:
            gb = g._from(be.reduce("sum", gv, (0,), False))
        return gx, gw, gb


def _strides(shape):
    return contiguous_strides(shape)


def linear(input, weight, bias=None):
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        for t, name in ((input, "input"), (weight, "weight")):
            if not isinstance(t, Tensor):
                raise TypeError(f"linear(): argument '{name}' (position {1 + (name == 'weight')}) "
                                f"must be Tensor, not {type(t).__name__}")
    xs, ws = input._v.shape, weight._v.shape
    if len(ws) != 2 or not xs or xs[-1] != ws[1] or input._be is not weight._be \
            or input.dtype is not weight.dtype or not input.dtype.kind and input.numel() or (bias is not None and (
                bias._be is not input._be or bias._v.shape[-1:] not in ((), (1,), ws[:1]))):
        _linear_errors(input, weight, bias)
    if len(xs) == 1:
        return _Linear.apply(input.unsqueeze(0), weight, bias).squeeze(0)
    return _Linear.apply(input, weight, bias)


def _linear_errors(input, weight, bias):
    for t in (weight, bias):
        if t is not None and t._be is not input._be:
            raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                               f"two devices, {input.device} and {t.device}!")
    if not input.dtype.kind and input.numel():  # (PyTorch skips its kernel, and so the
        raise NotImplementedError("linear: not implemented for bool")  # check, when empty)
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype.name} "
                           f"and {weight.dtype.name}")
    if weight.ndim != 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {weight.ndim}D")
    if bias is not None and bias.shape[-1:] not in ((), (1,), weight.shape[:1]):
        raise RuntimeError(f"linear(): a bias of shape {list(bias.shape)} does not broadcast to "
                           f"the {weight.shape[0]} output features")
    if input.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D and 2D")
    rows = input.numel() // input.shape[-1] if input.shape[-1] else 0
    raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                       f"{weight.shape[1]}x{weight.shape[0]})")


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = x1[..., i] * weight[o, i, j] * x2[..., j] + bias[o]."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got {weight.ndim}")
    o, i, j = weight.shape
    if input1.shape[-1] != i or input2.shape[-1] != j:
        raise RuntimeError(f"bilinear(): input sizes do not match weight: got "
                           f"{input1.shape[-1]} and {input2.shape[-1]}, expected {i} and {j}")
    lead = input1.shape[:-1]
    x1, x2 = input1.reshape(-1, i), input2.reshape(-1, j)
    # (B, i) @ (i, o*j) -> (B, o, j), then contract j against x2
    t = (x1 @ weight.permute(1, 0, 2).reshape(i, o * j)).reshape(-1, o, j)
    y = (t @ x2.unsqueeze(-1)).squeeze(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(tuple(lead) + (o,))
