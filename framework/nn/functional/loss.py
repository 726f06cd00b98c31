"""Losses (`torch.nn.functional.cross_entropy`, `mse_loss`, ...) with PyTorch's options.

cross_entropy with class indices, the loss of almost every training step, is one autograd
node over the backend's fused `cross_entropy` and `cross_entropy_grad` (softmax - one-hot,
scaled); with class weights or label smoothing, log_softmax and one gather forward and one
scatter-add backward. The other losses are short compositions of differentiable ops (or
small Functions where PyTorch's gradient at a kink matters).
"""
import warnings

from ... import dtypes as dt
from ... import ops as _ops
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.elementwise import _float_only, raise_if_any
from ...tensor import Tensor
from .activation import logsigmoid

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy",
           "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "cosine_similarity", "pairwise_distance", "cosine_embedding_loss",
           "margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss",
           "poisson_nll_loss"]


# -- reductions --------------------------------------------------------------------------------
def _legacy(size_average, reduce):
    """PyTorch's deprecated size_average/reduce pair, as a reduction string."""
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='{}' instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _reduction(reduction, size_average=None, reduce=None, extra=()):
    if size_average is not None or reduce is not None:
        return _legacy(size_average, reduce)
    if reduction not in ("none", "mean", "sum") + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _size_warning(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _weighted(loss, weight, input, reduction):
    """mse/l1 with `weight`: the mean divides by the sum of the weights, as PyTorch."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# -- regression losses -------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _float_only("mse_cpu", input)
    _size_warning(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    d = input - target
    loss = d * d
    return _reduce(loss, reduction) if weight is None else _weighted(loss, weight, input, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _size_warning(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    loss = (input - target).abs()
    return _reduce(loss, reduction) if weight is None else _weighted(loss, weight, input, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _size_warning(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    ad = d.abs()
    if beta == 0.0:
        return _reduce(ad, reduction)
    loss = _ops.where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _size_warning(input, target)
    reduction = _reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = input - target
    ad = d.abs()
    loss = _ops.where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight  # PyTorch's weighted huber mean is a plain mean
    return _reduce(loss, reduction)


# -- classification with class indices ----------------------------------------------------------
def _class_args(input, target, weight, name):
    """Checks and normalises (input, target) to (N, C, *) and (N, *). Returns them with
    `scalar` (the input had no batch dim) and the class count."""
    if isinstance(input, Tensor):
        _float_only(name, input)
    if input.ndim == 0:
        raise RuntimeError(f"{name}: input tensor should be 1D or more, got a 0D tensor")
    if target.dtype is not dt.int64:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.type()[3:-6]}")
    scalar = input.ndim == 1
    if scalar:
        if target.numel() != 1 or target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        input, target = input.unsqueeze(0), target.reshape(1)
    n, c = input.shape[0], input.shape[1]
    if input.ndim == 2:
        if target.ndim != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.shape[0] != n:
            raise ValueError(f"Expected input batch_size ({n}) to match target batch_size "
                             f"({target.shape[0]}).")
    elif tuple(target.shape) != (n,) + tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[n] + list(input.shape[2:])}, got "
                           f"{list(target.shape)}")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    if target._be is not input._be:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {input.device} and {target.device}!")
    return input, target, scalar, c


def _target_error(bad):
    return IndexError(f"Target {bad} is out of bounds.")


def _check_targets(target, c, ignore_index):
    """Every target is a class index or ignore_index. A backend with the optional hook
    `check_index_range` checks itself (an accelerator on the device, raising at its next
    host read, as CUDA's device-side asserts, so its queue never waits for the check);
    elsewhere one host read checks now."""
    if not target.numel():
        return
    check = getattr(target._be, "check_index_range", None)
    if check is not None:
        check(target._v, c, ignore_index, _target_error)
        return
    bad = (target != ignore_index) & ((target < 0) | (target >= c))
    if bad.any().item():
        raise _target_error(target._host()[bad._host()][0])


def _targets(target, c, ignore_index):
    """(mask of counted targets, targets made safe to gather), after checking them."""
    _check_targets(target, c, ignore_index)
    valid = target != ignore_index
    return valid, _ops.where(valid, target, 0)


def _pick(t, safe):
    """t[n, safe[n], ...] along dim 1: the backend's gather without gather()'s own index
    check (a host read), since _targets has checked the targets already."""
    idx = safe.unsqueeze(1)
    return t._from(t._be.gather(t._v, 1, idx._v)).squeeze(1)


def _target_weights(weight, safe, valid, dtype):
    """Per-target weight (zero where ignored), shaped like the targets."""
    m = valid.to(dtype)
    if weight is None:
        return m
    w = weight.to(dtype).index_select(0, safe.reshape(-1)).reshape(safe.shape)
    return w * m


def _class_shape(weight, ndim, dtype):
    return weight.to(dtype).reshape((1, -1) + (1,) * (ndim - 2))


class _CrossEntropy(Function):
    """Cross-entropy of (N, C) logits against class indices with no class weights or label
    smoothing, the loss of almost every classifier: the backend's fused `cross_entropy`
    forward and `cross_entropy_grad` backward."""
    @staticmethod
    def forward(ctx, x, t, ignore_index, reduction):
        loss, logp, count = (x._from(v) for v in x._be.cross_entropy(x._v, t._v, ignore_index,
                                                                     reduction))
        ctx.ignore_index, ctx.reduction = ignore_index, reduction
        ctx.save_for_backward(x, t, logp, count)
        return loss

    @staticmethod
    def backward(ctx, g):
        x, t, logp, count = ctx.saved_tensors
        if grad_mode._state.enabled:  # double backward: the same formula, recorded
            scale = g / count if ctx.reduction == "mean" else g
            valid = t != ctx.ignore_index
            safe = _ops.where(valid, t, 0).unsqueeze(1)
            onehot = _ops.zeros_like(x).scatter(1, safe, 1.0)
            s = (scale * valid.to(x.dtype)).unsqueeze(1)
            return (_ops.softmax(x, 1) - onehot) * s, None, None, None
        grad = x._be.cross_entropy_grad(logp._v, t._v, ctx.ignore_index, ctx.reduction, g._v,
                                        count._v)
        return x._from(grad), None, None, None


class _WeightedCrossEntropy(Function):
    """Cross-entropy with class weights or label smoothing (or (N, C, *) inputs)."""
    @staticmethod
    def forward(ctx, x, safe, wt, weight, reduction, eps):
        logp = x._from(x._be.log_softmax(x._v, 1))
        c = x.shape[1]
        loss = _pick(logp, safe) * (-wt)
        if eps > 0:
            lw = logp if weight is None else logp * _class_shape(weight, x.ndim, x.dtype)
            m = wt if weight is None else (wt != 0).to(x.dtype)  # the counted targets
            loss = loss * (1 - eps) + lw.sum(1) * m * (-eps / c)
        denom = wt.sum() if reduction == "mean" else None
        ctx.reduction, ctx.eps, ctx.denom = reduction, eps, denom
        ctx.save_for_backward(x, logp, safe, wt, weight)
        if reduction == "sum":
            return loss.sum()
        if reduction == "mean":
            return loss.sum() / denom
        return loss

    @staticmethod
    def backward(ctx, g):
        x, logp, safe, wt, weight = ctx.saved_tensors
        eps, c = ctx.eps, x.shape[1]
        # d/dx of -sum_k a_k log p_k is (sum_k a_k) * p - a, with a = (1-eps) wt onehot + eps/c w
        s = g / ctx.denom if ctx.reduction == "mean" else g
        p = _ops.softmax(x, 1) if grad_mode._state.enabled else logp.exp()  # double backward
        if eps == 0:
            coef = s * wt
            grad = p * coef.unsqueeze(1)
        else:
            m = wt if weight is None else (wt != 0).to(x.dtype)
            wsum = float(c) if weight is None else weight.to(x.dtype).sum()
            coef = s * wt * (1 - eps)
            total = coef + s * m * wsum * (eps / c)
            grad = p * total.unsqueeze(1)
            wc = 1.0 if weight is None else _class_shape(weight, x.ndim, x.dtype)
            grad = grad - wc * (s * m * (eps / c)).unsqueeze(1)
        if coef.shape != safe.shape:
            coef = coef.expand(safe.shape)
        src = -coef.unsqueeze(1)
        if grad_mode._state.enabled:  # double backward: a recorded scatter_add
            grad = grad.scatter_add(1, safe.unsqueeze(1), src)
        else:  # the targets were checked in forward: no second check (a host read)
            be = grad._be
            grad = grad._from(be.scatter(grad._v, 1, safe.unsqueeze(1)._v, src._v, True))
        return grad, None, None, None, None, None


def _prob_cross_entropy(input, target, weight, reduction, eps, ignore_index):
    _float_only("cross_entropy", input)
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    if tuple(target.shape) != tuple(input.shape):
        if input.ndim >= 2 and target.ndim == input.ndim:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
    dim = 1 if input.ndim >= 2 else 0
    c = input.shape[dim]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    logp = _ops.log_softmax(input, dim)
    if eps > 0 and c:
        target = target * (1 - eps) + eps / c
    prod = logp * target
    if weight is not None:
        prod = prod * (_class_shape(weight, input.ndim, input.dtype) if dim else weight)
    loss = -prod.sum(dim)
    if reduction == "mean":
        n = input.numel() // c if c else 0
        return loss.sum() / n if n else loss.sum() * float("nan")
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype.is_floating_point:
        return _prob_cross_entropy(input, target, weight, reduction, label_smoothing, ignore_index)
    if input.ndim == 0:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {target.type()[3:-6]}")
    x, t, scalar, c = _class_args(input, target, weight, "cross_entropy")
    if not c:
        return _no_classes(x, t, ignore_index, reduction, scalar, label_smoothing)
    if weight is None and label_smoothing == 0 and x.ndim == 2:
        _check_targets(t, c, ignore_index)
        out = _CrossEntropy.apply(x, t, ignore_index, reduction)
        return out.reshape(()) if scalar and reduction == "none" else out
    valid, safe = _targets(t, c, ignore_index)
    wt = _target_weights(weight, safe, valid, x.dtype)
    if grad_mode._state.enabled and x.requires_grad:
        out = _WeightedCrossEntropy.apply(x, safe, wt, weight, reduction, float(label_smoothing))
    else:
        out = _WeightedCrossEntropy.forward(_NoCtx(), x, safe, wt, weight, reduction,
                                            float(label_smoothing))
    return out.reshape(()) if scalar and reduction == "none" else out


def _no_classes(x, t, ignore_index, reduction, scalar, smoothing):
    """Zero classes, as PyTorch: every target must be ignore_index (else the usual
    IndexError), each loss is 0 (NaN with label smoothing), their mean NaN."""
    _check_targets(t, 0, ignore_index)
    loss = _ops.zeros(t.shape, dtype=x.dtype, device=x.device) * (float("nan") if smoothing else 0.0)
    if reduction == "mean":
        return loss.sum() * float("nan")
    out = _reduce(loss, reduction)
    return out.reshape(()) if scalar and reduction == "none" else out


class _NoCtx:
    """A throwaway ctx for running a Function's forward with no graph to record."""
    def save_for_backward(self, *tensors):
        pass


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    if target.dtype.is_floating_point:
        if input.ndim >= 2 and target.ndim != input.ndim - 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.type()[3:-6]}")
    x, t, scalar, c = _class_args(input, target, weight, "nll_loss")
    if not c:
        return _no_classes(x, t, ignore_index, reduction, scalar, 0.0)
    valid, safe = _targets(t, c, ignore_index)
    wt = _target_weights(weight, safe, valid, x.dtype)
    loss = -x.gather(1, safe.unsqueeze(1)).squeeze(1) * wt  # backward: one scatter-add
    if reduction == "mean":
        return loss.sum() / wt.sum()
    out = _reduce(loss, reduction)
    return out.reshape(()) if scalar and reduction == "none" else out


# -- binary classification ------------------------------------------------------------------------
class _BCE(Function):
    """Elementwise BCE with PyTorch's log clamp at -100 and its gradient formula
    (x - t) / max(x (1 - x), 1e-12), exact at x = 0 and x = 1."""
    @staticmethod
    def forward(ctx, x, t):
        lx, l1x = x.log().clamp(min=-100.0), (1 - x).log().clamp(min=-100.0)
        ctx.save_for_backward(x, t)
        return -(t * lx + (1 - t) * l1x)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - t) / (x * (1 - x)).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            gt = g * ((-x).log1p() - x.log())  # unclamped, as PyTorch's target gradient
        return gx, gt


def _check_unit_interval(x, name):
    """PyTorch refuses an input or target of binary_cross_entropy outside [0, 1] (NaN too).
    Checked as class targets are: on an accelerator at its next host wait, no round trip."""
    x = x.detach()
    raise_if_any(~((x >= 0) & (x <= 1)), lambda: RuntimeError(
        f"binary_cross_entropy: all elements of {name} should be between 0 and 1"))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    _check_unit_interval(input, "input")
    _check_unit_interval(target, "target")
    if grad_mode._state.enabled and (input.requires_grad or target.requires_grad):
        loss = _BCE.apply(input, target)
    else:
        loss = _BCE.forward(_NoCtx(), input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """(1 - t) x - (1 + (pw - 1) t) log sigmoid(x): log sigmoid never overflows."""
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    ls = logsigmoid(input)
    if pos_weight is not None:
        loss = (1 - target) * input - ((pos_weight - 1) * target + 1) * ls
    else:
        loss = (1 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- distributions -------------------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce)
    else:
        reduction = _reduction(reduction, extra=("batchmean",))
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # target * log(target) is taken as 0 where target is 0 (xlogy), without a 0 * -inf
        safe = _ops.where(target == 0, 1.0, target)
        loss = target * (safe.log() - input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        # Stirling's approximation of log(target!), only where target > 1
        safe = _ops.where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * 3.141592653589793 * safe).log()
        loss = loss + _ops.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


# -- similarity and margin losses ------------------------------------------------------------------
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Each input divided by its norm (clamped at eps) first, then the dot product, as
    PyTorch computes it (robust when the norms are large)."""
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    d = input1.ndim - 1
    eps = 1e-12  # PyTorch's EPSILON here
    dot = (input1 * input2).sum(d)
    mag = ((input1 * input1).sum(d) + eps) * ((input2 * input2).sum(d) + eps)
    cos = dot / mag.sqrt()
    loss = _ops.where(target == 1, 1 - cos, 0.0) + \
        _ops.where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    loss = (-target * (input1 - input2) + margin).clamp(min=0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    return _reduce(-logsigmoid(input * target), reduction)  # log(1 + exp(-y x)), stably


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(reduction, size_average, reduce)
    loss = _ops.where(target != 1, (margin - input).clamp(min=0.0), 0.0) + \
        _ops.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)
