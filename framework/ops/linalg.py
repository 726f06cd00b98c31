"""Matrix products: matmul (with batch broadcasting), mm, bmm, dot, outer, einsum."""
from ..autograd.function import Function
from ..device import broadcast_shapes
from ..tensor import Tensor, method


class _MatMul(Function):
    """(..., n, k) @ (..., k, m) with broadcast batch dims."""
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        ea = a.expand(batch + a.shape[-2:]) if a.shape[:-2] != batch else a
        eb = b.expand(batch + b.shape[-2:]) if b.shape[:-2] != batch else b
        return a._from(a._be.matmul(ea._v, eb._v))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = (g @ b.mT).sum_to_size(a.shape) if ctx.needs_input_grad[0] else None
        gb = (a.mT @ g).sum_to_size(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def _check(a, b, name):
    for x in (a, b):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument must be Tensor, not {type(x).__name__}")
    if a._be is not b._be:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                           f"devices, {a.device} and {b.device}!")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} "
                           f"!= {b.dtype.name}")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")


def matmul(input, other):
    _check(input, other, "matmul")
    a, b = input, other
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({a2.shape[-2]}x{a2.shape[-1]} and {b2.shape[-2]}x{b2.shape[-1]})"
                           if a.ndim <= 2 and b.ndim <= 2 else
                           f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a2.shape[-1]}] but got: [{b2.shape[-2]}].")
    out = _MatMul.apply(a2, b2)
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    return out


def mm(input, mat2):
    _check(input, mat2, "mm")
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"self must be a matrix" if input.ndim != 2 else "mat2 must be a matrix")
    return matmul(input, mat2)


def bmm(input, mat2):
    _check(input, mat2, "bmm")
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return matmul(input, mat2)


def dot(input, other):
    _check(input, other, "dot")
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


def mv(input, vec):
    return matmul(input, vec)


def outer(input, vec2):
    return input.unsqueeze(-1) * vec2.unsqueeze(0)


ger = outer

for _fn in (matmul, mm, bmm, dot, mv, outer):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.__matmul__ = lambda self, other: matmul(self, other) if isinstance(other, Tensor) else NotImplemented
Tensor.__rmatmul__ = lambda self, other: matmul(other, self) if isinstance(other, Tensor) else NotImplemented
