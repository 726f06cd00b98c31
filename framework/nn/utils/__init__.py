"""`torch.nn.utils`: gradient clipping and parameter <-> vector conversion; `rnn` (padding and
packing sequences) is the submodule `fw.nn.utils.rnn`.

clip_grad_norm_ runs every step, so it keeps the op count low: the gradients of each
(device, dtype) group are flattened into one vector (one `cat`) and reduced by one norm;
scaling is one in-place multiply per gradient, with no host synchronisation unless
`error_if_nonfinite=True` asks for a check.
"""
import math

from ...autograd import no_grad
from ...tensor import Tensor
from . import rnn  # noqa: F401 - torch.nn.utils.rnn

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters"]


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x, p):
    """The p-norm of a 1-d tensor, composed from a few ops."""
    if p == 2:
        return (x * x).sum().sqrt()
    if p == math.inf:
        return x.abs().amax()
    if p == -math.inf:
        return x.abs().amin()
    if p == 1:
        return x.abs().sum()
    if p == 0:
        return (x != 0).sum().to(x.dtype)
    return x.abs().pow(p).sum().pow(1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of all `tensors` together, as if concatenated into one vector."""
    from ...ops import cat, stack, tensor
    tensors = [t for t in _as_list(tensors) if t is not None]
    p = float(norm_type)
    if not tensors:
        return tensor(0.0)
    groups = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t.detach().reshape(-1))
    first = tensors[0].device
    norms = []
    for (dev, _), flats in groups.items():
        flat = flats[0] if len(flats) == 1 else cat(flats)
        norms.append(_vector_norm(flat, p).to(first))
    total = norms[0] if len(norms) == 1 else _vector_norm(stack([n.to(norms[0].dtype) for n in norms]), p)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale "
                           "the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by max_norm / (total_norm + 1e-6), when that is below 1."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef if coef.device == g.device and coef.dtype is g.dtype
                   else coef.to(g.device, g.dtype))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Clip the gradients' total norm to max_norm in place; returns the total norm (before
    clipping) as a tensor."""
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    with no_grad():
        total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
        clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    import warnings
    warnings.warn("`fw.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`fw.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    v = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-v, v)


def _check_same_device(params):
    dev = None
    for p in params:
        if dev is None:
            dev = p.device
        elif p.device != dev:
            raise TypeError("Found two parameters on different devices, this is currently not "
                            "supported.")


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-d tensor (differentiable)."""
    from ...ops import cat
    params = _as_list(parameters)
    _check_same_device(params)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of `vec` into the parameters' data (shapes from the params)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected fw.Tensor, but got: {type(vec).__name__}")
    params = _as_list(parameters)
    _check_same_device(params)
    n = sum(p.numel() for p in params)
    if vec.numel() != n:
        raise RuntimeError(f"vector_to_parameters: vector has {vec.numel()} elements, the "
                           f"parameters hold {n}")
    i = 0
    for p in params:
        k = p.numel()
        p.data = vec[i:i + k].view_as(p).data
        i += k
