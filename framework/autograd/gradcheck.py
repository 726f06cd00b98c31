"""Finite-difference checks of analytical gradients (use float64 inputs)."""
import numpy as np


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _flat_outputs(fn, inputs):
    from ..tensor import Tensor
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _numerical_jacobian(fn, inputs, k, eps):
    """Columns d(outputs)/d(inputs[k][i]) by central differences."""
    from ..autograd import no_grad
    x = inputs[k]
    flat = x.detach().cpu().numpy().reshape(-1).copy()
    cols = []
    with no_grad():
        for i in range(flat.size):
            vals = []
            for sign in (1, -1):
                pert = flat.copy()
                pert[i] += sign * eps
                from ..ops.creation import tensor
                xi = tensor(pert.reshape(x.shape), dtype=x.dtype, device=x.device)
                args = list(inputs)
                args[k] = xi
                vals.append(np.concatenate([o.detach().cpu().numpy().reshape(-1).astype(np.float64)
                                            for o in _flat_outputs(fn, args)] or [np.zeros(0)]))
            cols.append((vals[0] - vals[1]) / (2 * eps))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, k, create_graph=False):
    from ..autograd import grad
    from ..ops.creation import zeros_like
    outs = _flat_outputs(fn, inputs)
    rows = []
    for o in outs:
        for j in range(o.numel()):
            go = zeros_like(o)
            go.view(-1)[j] = 1.0
            (g,) = grad([o], [inputs[k]], [go], retain_graph=True, allow_unused=True)
            rows.append(np.zeros(inputs[k].numel()) if g is None
                        else g.detach().cpu().numpy().reshape(-1).astype(np.float64))
    return np.stack(rows, axis=0) if rows else np.zeros((0, inputs[k].numel()))


def gradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare the gradients autograd computes for `func(*inputs)` with finite differences,
    for every input that requires grad. Returns True or raises `GradcheckError`."""
    from ..tensor import Tensor
    inputs = _as_tuple(inputs)
    for k, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input {k} is {x.dtype}, not float64; "
                          "finite differences will be inaccurate", stacklevel=2)
        num = _numerical_jacobian(func, inputs, k, eps)
        ana = _analytical_jacobian(func, inputs, k)
        if num.shape != ana.shape:
            raise GradcheckError(f"gradcheck: Jacobian shapes differ for input {k}: "
                                 f"numerical {num.shape}, analytical {ana.shape}")
        if not np.allclose(ana, num, atol=atol, rtol=rtol):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for output 0 with respect to input {k},\n"
                f"numerical:{num}\nanalytical:{ana}\n")
    return True


def gradgradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """gradcheck of the first derivative: checks second derivatives (create_graph)."""
    from ..autograd import grad
    from ..tensor import Tensor
    inputs = _as_tuple(inputs)

    def first_grads(*xs):
        outs = _flat_outputs(func, xs)
        ins = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        total = sum((o * o.detach().sin()).sum() for o in outs)  # a fixed, generic cotangent
        gs = grad([total], ins, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs, eps, atol, rtol, raise_exception)
