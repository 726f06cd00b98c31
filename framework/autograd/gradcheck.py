"""Finite-difference checks of analytical gradients (use float64 inputs)."""
import warnings

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat_outputs(fn, inputs):
    from ..tensor import Tensor
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _host(t):
    return t.detach().cpu().numpy().reshape(-1).astype(np.float64)


def _numerical_jacobians(fn, inputs, k, eps):
    """For every output, the matrix d(output)/d(inputs[k]) by central differences
    (shape: output numel x input numel)."""
    from ..ops.creation import tensor
    x = inputs[k]
    flat = _host(x)
    cols = []
    for i in range(flat.size):
        vals = []
        for sign in (1, -1):
            pert = flat.copy()
            pert[i] += sign * eps
            args = list(inputs)
            # grad mode stays on: fn may itself differentiate (gradgradcheck)
            args[k] = tensor(pert.reshape(tuple(x.shape)), dtype=x.dtype, device=x.device,
                             requires_grad=x.requires_grad)
            vals.append([_host(o) for o in _flat_outputs(fn, args)])
        cols.append([(p - m) / (2 * eps) for p, m in zip(*vals)])
    n_out = len(cols[0]) if cols else len(_flat_outputs(fn, inputs))
    return [np.stack([c[j] for c in cols], axis=1) if cols else None for j in range(n_out)]


def _analytical_jacobians(outs, x):
    """For every output, d(output)/d(x) row by row with autograd.grad."""
    from ..autograd import grad
    from ..ops.creation import zeros_like
    jacs = []
    for o in outs:
        rows = []
        for j in range(o.numel()):
            g = None
            if o.requires_grad:
                go = zeros_like(o)
                go.view(-1)[j] = 1.0
                (g,) = grad([o], [x], [go], retain_graph=True, allow_unused=True)
            rows.append(np.zeros(x.numel()) if g is None else _host(g))
        jacs.append(np.stack(rows, axis=0) if rows else np.zeros((0, x.numel())))
    return jacs


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_):
    """Compare the gradients autograd computes for `func(*inputs)` with finite differences,
    for every input that requires grad. Returns True, or raises `GradcheckError` (False
    with raise_exception=False)."""
    from ..tensor import Tensor
    inputs = _as_tuple(inputs)
    wanted = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wanted:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    outs = _flat_outputs(func, inputs)
    for k in wanted:
        x = inputs[k]
        if x.dtype.name != "float64":
            warnings.warn(f"Input #{k} requires gradient and is not a double precision floating "
                          "point. Finite differences will be inaccurate.", stacklevel=2)
        nums = _numerical_jacobians(func, inputs, k, eps)
        anas = _analytical_jacobians(outs, x)
        for j, (num, ana) in enumerate(zip(nums, anas)):
            if num is None:
                continue
            if num.shape != ana.shape or not np.allclose(ana, num, atol=atol, rtol=rtol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {j} with respect to input "
                                     f"{k},\nnumerical:{num}\nanalytical:{ana}\n")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, **_):
    """gradcheck of the first derivatives (a vector-Jacobian product with fixed random
    `grad_outputs`), which checks the second derivatives that create_graph gives."""
    from ..autograd import grad
    from ..ops.creation import tensor
    from ..tensor import Tensor
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=o.device)
                        for o in _flat_outputs(func, inputs)]
    grad_outputs = _as_tuple(grad_outputs)

    def first_grads(*xs):
        outs = _flat_outputs(func, xs)
        ins = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        pairs = [(o, v) for o, v in zip(outs, grad_outputs) if o.requires_grad]
        if not pairs:
            return ()
        gs = grad([o for o, _ in pairs], ins, [v for _, v in pairs], create_graph=True,
                  allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
