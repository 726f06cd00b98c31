"""Matrix products: matmul (with batch broadcasting), mm, bmm, dot, outer, einsum; cdist."""
from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..device import broadcast_shapes
from ..tensor import Tensor
from .elementwise import _not_implemented


class _MatMul(Function):
    """(..., n, k) @ (..., k, m) with broadcast batch dims."""
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if a._v.shape[:-2] == b._v.shape[:-2]:  # no batch broadcasting needed
            return a._from(a._be.matmul(a._v, b._v))
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
    if a.dtype is dt.bool and name != "outer":  # PyTorch multiplies no bool matrices
        _not_implemented(name, dt.bool)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")


def matmul(input, other):
    # Fast path for two matrices of one dtype on one device with no graph to record: the
    # checks, broadcasting and autograd bookkeeping would cost more than a small product.
    if type(input) is Tensor and type(other) is Tensor:
        va, vb, be = input._v, other._v, input._be
        sa, sb = va.shape, vb.shape
        if (len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0] and va.dtype is vb.dtype
                and va.dtype.kind and other._be is be and not ((input.requires_grad or other.requires_grad)
                                             and grad_mode._state.enabled)):
            return Tensor._make(be.matmul(va, vb), be)
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
    _check(input, vec, "mv")
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {vec.ndim}, {input.ndim}, "
                           f"{vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x"
                           f"{input.shape[1]}), vec ({vec.shape[0]})")
    return matmul(input, vec)


def outer(input, vec2):
    _check(input, vec2, "outer")
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, but got {input.ndim}D and {vec2.ndim}D")
    return input.unsqueeze(-1) * vec2.unsqueeze(0)


ger = outer


# -- einsum ------------------------------------------------------------------------------------
def _parse_einsum(equation, operands):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation but {len(operands)} "
                           "were given")
    # '...' becomes one fresh upper-case letter per broadcast dim, right-aligned
    n_ell = 0
    for t, x in zip(terms, operands):
        if "..." in t:
            n_ell = max(n_ell, x.ndim - len(t.replace("...", "")))
    ell = "".join(chr(ord("A") + i) for i in range(n_ell))
    if any(c.isupper() for c in eq.replace("...", "")):
        raise RuntimeError("einsum(): fw supports lower-case subscripts only (a-z)")
    specs = []
    for t, x in zip(terms, operands):
        if "..." in t:
            k = x.ndim - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k:] if k else "")
        if not t.isalpha() and t:
            raise RuntimeError(f"einsum(): invalid subscript given in equation: {equation!r}")
        if len(t) != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t)}) does "
                               f"not match the number of dimensions ({x.ndim}) for operand "
                               f"{len(specs)}" + ("" if "..." in equation else " and no ellipsis was given"))
        specs.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for t in specs:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c.islower()))
    for c in out:
        if not any(c in t for t in specs):
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for "
                               "any input operand")
    if len(set(out)) != len(out):
        raise RuntimeError("einsum(): output subscripts must appear at most once")
    return specs, out


def _take_diagonals(x, spec):
    """Repeated letters within one operand ('ii') select a diagonal."""
    while len(set(spec)) != len(spec):
        c = next(c for c in spec if spec.count(c) > 1)
        i = spec.index(c)
        j = spec.index(c, i + 1)
        x = x.diagonal(0, i, j)
        spec = "".join(s for k, s in enumerate(spec) if k not in (i, j)) + c
    return x, spec


def _sum_letters(x, spec, keep):
    dims = tuple(i for i, c in enumerate(spec) if c not in keep)
    if dims:
        x = x.sum(dims)
        spec = "".join(c for c in spec if c in keep)
    return x, spec


def _contract(a, sa, b, sb, keep, sizes):
    """Multiply two operands, summing over the letters they share that `keep` lacks."""
    batch = [c for c in sa if c in sb and c in keep]
    inner = [c for c in sa if c in sb and c not in keep]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]

    def arrange(x, s, order):
        x = x.permute([s.index(c) for c in order])
        target = tuple(sizes[c] for c in order)
        return x.expand(target) if tuple(x.shape) != target else x

    pa = arrange(a, sa, batch + left + inner)
    pb = arrange(b, sb, batch + inner + right)
    nb, nl, ni, nr = (numel_of(sizes, g) for g in (batch, left, inner, right))
    if not inner and pa.dtype is dt.bool:  # no sum: a product, which bools have (no matmul)
        out = pa.reshape(nb, nl, 1) * pb.reshape(nb, 1, nr)
    else:
        out = matmul(pa.reshape(nb, nl, ni), pb.reshape(nb, ni, nr))
    out = out.reshape(tuple(sizes[c] for c in batch + left + right))
    return out, "".join(batch + left + right)


def numel_of(sizes, letters):
    n = 1
    for c in letters:
        n *= sizes[c]
    return n


def einsum(equation, *operands):
    """Einstein summation, composed from diagonal, sum, permute, reshape and matmul."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand")
    for x in operands:
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, not {type(x).__name__}")
    specs, out = _parse_einsum(equation, operands)
    sizes = {}
    for k, (x, s) in enumerate(zip(operands, specs)):
        own = {}
        for c, n in zip(s, x.shape):
            if own.setdefault(c, n) != n:  # a diagonal ('ii') needs equal sizes, no broadcast
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but "
                                   f"the sizes don't match, {n} != {own[c]}")
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {c} has size {sizes[c]} and {n}")
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]  # a 1 broadcasts, even to 0
    items = []
    for i, (x, s) in enumerate(zip(operands, specs)):
        x, s = _take_diagonals(x, s)
        later = out + "".join(specs[:i] + specs[i + 1:])
        items.append(_sum_letters(x, s, later))
    x, s = items[0]
    for i, (y, t) in enumerate(items[1:], 1):
        keep = out + "".join(specs[i + 1:])
        x, s = _contract(x, s, y, t, keep, sizes)
    x, s = _sum_letters(x, s, out)
    x = x.permute([s.index(c) for c in out]) if s != out else x
    target = tuple(sizes[c] for c in out)
    return x.expand(target) if tuple(x.shape) != target else x


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M).

    Always the direct form ||a - b||_p over a (..., P, R, M) difference, never PyTorch's
    |a|^2 + |b|^2 - 2ab matmul shortcut: exact for near rows, at P*R*M memory."""
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"cdist(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, "
                           f"X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if not x1.dtype.is_floating_point or not x2.dtype.is_floating_point:
        raise RuntimeError("cdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    return _CDist.apply(x1, x2, float(p))


class _CDist(Function):
    """The norm's own backward would give NaN where two rows coincide (0 * inf); PyTorch's
    cdist gives 0 there, and where a component's difference is 0 for p < 1."""
    @staticmethod
    def forward(ctx, x1, x2, p):
        with grad_mode.no_grad():
            diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)      # (..., P, R, M)
            dist = diff.norm(p, dim=-1)
        ctx.save_for_backward(x1, x2)
        ctx.p = p
        return dist

    @staticmethod
    def backward(ctx, g):
        from .elementwise import where
        x1, x2 = ctx.saved_tensors
        p = ctx.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        dist = diff.norm(p, dim=-1, keepdim=True)
        g = g.unsqueeze(-1)
        if p == 0:
            grad = diff * 0
        elif p == 1:
            grad = diff.sign() * g
        elif p == float("inf"):
            grad = diff.sign() * (diff.abs() == dist) * g
        else:
            # sign(d) |d|^(p-1) (dist)^(1-p), 0 where dist is 0; for p < 1 a zero component's
            # |d|^(p-1) is replaced by 1 (its sign makes the term 0 anyway)
            safe = where(dist == 0, 1.0, dist)
            a = where(diff == 0, 1.0, diff.abs()) if p < 1 else diff.abs()
            grad = where(dist == 0, 0.0, diff.sign() * a.pow(p - 1) * g / safe.pow(p - 1))
        g1 = grad.sum(-2).sum_to_size(x1.shape) if ctx.needs_input_grad[0] else None
        g2 = (-grad.sum(-3)).sum_to_size(x2.shape) if ctx.needs_input_grad[1] else None
        return g1, g2, None


for _fn in (matmul, mm, bmm, dot, mv, outer):
    setattr(Tensor, _fn.__name__, _fn)


def _matmul_op(self, other):
    return matmul(self, other) if isinstance(other, Tensor) else NotImplemented


Tensor.__matmul__ = _matmul_op
Tensor.__rmatmul__ = lambda self, other: matmul(other, self) if isinstance(other, Tensor) else NotImplemented
