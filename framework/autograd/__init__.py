"""Define-by-run automatic differentiation."""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled)
from .function import Function, FunctionCtx, Node, once_differentiable
from .engine import run_backward
from .gradcheck import gradcheck, gradgradcheck, GradcheckError

__all__ = ["backward", "grad", "Function", "FunctionCtx", "Node", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled", "once_differentiable"]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of `tensors` into the `.grad` of the leaves (of `inputs`
    only, when given)."""
    from ..tensor import Tensor
    if inputs is not None:
        tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
        if isinstance(grad_tensors, Tensor):
            grad_tensors = [grad_tensors]
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=inputs,
                             allow_unused=True)
        for t, g in zip(inputs, grads):
            if g is not None:
                g = g if create_graph else g.detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
        return
    run_backward(tensors, grad_tensors, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, without touching any `.grad`.
    An input the outputs do not depend on gets None (with allow_unused) or zeros (with
    materialize_grads)."""
    from ..tensor import Tensor
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported by fw")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs,
                         allow_unused=bool(allow_unused or materialize_grads))
    if materialize_grads:
        from ..ops.creation import zeros_like
        grads = tuple(zeros_like(x) if g is None else g for g, x in zip(grads, inputs))
    return grads
