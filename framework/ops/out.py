"""The `out=` argument, as PyTorch has it: the result is written into a given tensor.

fw does not resize a non-empty `out` of another shape (PyTorch resizes it with a warning):
that is an error here. An empty `out` takes the result's shape, as in PyTorch.
"""
from ..autograd import grad_mode
from ..tensor import Tensor


def into(name, out, result):
    """`result` written into `out` (and `out` returned); `result` itself without `out`."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode._state.enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    if result.dtype.kind > out.dtype.kind:
        raise RuntimeError(f"result type {_name(result)} can't be cast to the desired output "
                           f"type {_name(out)}")
    result = result.detach().to(out.dtype)
    if out.shape == result.shape:
        out.copy_(result)
    elif out.numel() == 0:
        out._check_inplace()
        out._v = result.contiguous()._v
        out._ver[0] += 1
    else:
        raise RuntimeError(f"{name}(): out= has shape {list(out.shape)} but the result has shape "
                           f"{list(result.shape)}; fw does not resize a non-empty out tensor")
    return out


def _name(t):
    return t.type().split(".")[-1][:-len("Tensor")]  # torch.FloatTensor -> Float
