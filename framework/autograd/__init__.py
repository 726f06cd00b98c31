"""Define-by-run automatic differentiation."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from .function import Function, FunctionCtx, Node
from .engine import run_backward
from .gradcheck import gradcheck, gradgradcheck, GradcheckError

__all__ = ["backward", "grad", "Function", "FunctionCtx", "Node", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled"]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of `tensors` into the `.grad` of the leaves."""
    run_backward(tensors, grad_tensors, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None):
    """The gradients of `outputs` with respect to `inputs`, without touching any `.grad`."""
    from ..tensor import Tensor
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    return run_backward(outputs, grad_outputs, retain_graph, create_graph,
                        inputs=inputs, allow_unused=bool(allow_unused))
