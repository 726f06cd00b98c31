"""`torch.linalg`: the norms and products composed from fw's ops, so every device has them.

The factorisations (inv, det, solve, svd, ...) need kernels fw doesn't have yet; they raise
NotImplementedError naming themselves rather than copy a device tensor to the host.
"""
import math

from . import ops
from .tensor import Tensor

__all__ = ["vector_norm", "matrix_norm", "norm", "cross", "vecdot", "matmul", "diagonal",
           "matrix_power"]


def _tensor_arg(fn, x, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{fn}(): argument '{name}' must be Tensor, not "
                        f"{type(x).__name__}")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """(sum |x|^ord)^(1/ord) over dim (every element when None), inf/-inf as max/min |x|."""
    _tensor_arg("vector_norm", x, "x")
    if isinstance(ord, str) or isinstance(ord, bool):
        raise TypeError(f"linalg.vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    r = ops.norm(x, float(ord), dim, keepdim, dtype)
    return r if out is None else out.copy_(r)


def _matrix_dims(A, dim, fn):
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{fn}: The input tensor A must have at least 2 dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"linalg.{fn}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (A._dim(d) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """'fro', and the induced 1 / inf norms (largest column / row abs sum; -1 / -inf the
    smallest). 'nuc' and 2 / -2 need singular values: NotImplementedError."""
    _tensor_arg("matrix_norm", A, "A")
    d0, d1 = _matrix_dims(A, dim, "matrix_norm")
    if dtype is not None:
        A = A.to(dtype)
    if not A.dtype.is_floating_point:
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as "
                           "input")
    if ord == "fro":
        r = ops.norm(A, 2, (d0, d1), keepdim)
    elif ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, "
                                  "which fw doesn't compute yet; use 'fro', 1, -1, inf or -inf")
    elif isinstance(ord, str):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    elif ord in (1, -1, math.inf, -math.inf):
        # 1: sum over rows (d0) then the largest column; inf: sum over d1, largest row
        inner, outer = (d0, d1) if abs(ord) == 1 else (d1, d0)
        if A.shape[inner] == 0 or A.shape[outer] == 0:
            raise RuntimeError("linalg.matrix_norm: cannot compute a max/min norm of an empty "
                               "dimension")
        s = A.abs().sum(inner, keepdim=keepdim)
        outer -= 1 if not keepdim and inner < outer else 0
        r = (ops.amax if ord > 0 else ops.amin)(s, outer, keepdim=keepdim)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return r if out is None else out.copy_(r)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector norm over one dim (or all, when ord and dim are None), a matrix norm over two
    (or of a 2-d input when ord is given without dim)."""
    _tensor_arg("norm", A, "A")
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input "
                               f"must be 1D or 2D. Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r} for a "
                               "vector norm")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                       f"{list(dim)}")


def cross(input, other, *, dim=-1, out=None):
    """The cross product of 3-vectors along dim, broadcasting the other dims."""
    _tensor_arg("cross", input)
    _tensor_arg("cross", other, "other")
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions. Got "
                           f"{input.ndim} and {other.ndim}")
    a, b = ops.broadcast_tensors(input, other)
    d = a._dim(dim)
    if a.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    a0, a1, a2 = a.unbind(d)
    b0, b1, b2 = b.unbind(d)
    r = ops.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)
    return r if out is None else out.copy_(r)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(x * y) along dim, broadcasting (real dtypes: no conjugate to take)."""
    _tensor_arg("vecdot", x, "x")
    _tensor_arg("vecdot", y, "y")
    r = (x * y).sum(dim)
    return r if out is None else out.copy_(r)


def matmul(input, other, *, out=None):
    r = ops.matmul(input, other)
    return r if out is None else out.copy_(r)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return ops.diagonal(A, offset, dim1, dim2)


def matrix_power(A, n, *, out=None):
    """A @ A @ ... (n times) by repeated squaring; n = 0 gives the identity. Negative n needs
    an inverse: NotImplementedError."""
    _tensor_arg("matrix_power", A, "A")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {tuple(A.shape[-2:])} matrices")
    if n < 0:
        _missing("matrix_power with a negative exponent")
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    if result is None:
        result = ops.eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(A.shape).clone()
    return result if out is None else out.copy_(result)


def _missing(name):
    raise NotImplementedError(f"fw.linalg.{name} is not implemented yet: it needs a matrix "
                              "factorisation kernel fw doesn't have on every device")


def _make_missing(name):
    def fn(*args, **kwargs):
        _missing(name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Not implemented yet: raises NotImplementedError (see docs/tensors.md)."
    return fn


for _name in ("inv", "inv_ex", "det", "slogdet", "solve", "solve_ex", "solve_triangular",
              "cholesky", "cholesky_ex", "qr", "svd", "svdvals", "eig", "eigh", "eigvals",
              "eigvalsh", "lstsq", "pinv", "matrix_rank", "lu", "lu_factor", "lu_solve",
              "matrix_exp", "cond", "tensorinv", "tensorsolve", "householder_product", "ldl_factor"):
    globals()[_name] = _make_missing(_name)
del _name
