"""Layer cases: every fused op a backend may override (framework/fused/nn_ops.py and the
optional `pad`/`softmax`/`log_softmax` of framework/device.py), reached through the public
API that calls it. Shapes stay small: a software GPU pays per dispatch, not per element."""
from .cases import I, case as _case


def case(name, fn, *inputs, **kw):
    _case(name, fn, *inputs, tags=("fused",), **kw)


def F(m):
    return m.nn.functional


# Float32 sums of tens of products (conv, linear, norms) differ from PyTorch's order of
# summation by a few ulps of the largest partial sum.
LOOSE = dict(rtol=1e-3, atol=1e-4)

# -- conv2d, conv2d_grad_input, conv2d_grad_weight -----------------------------------------
# (name, x shape, (O, KH, KW), stride, padding, dilation, groups, bias)
CONV2D = [
    ("conv2d", (2, 3, 6, 7), (4, 3, 3), 1, 0, 1, 1, True),
    ("conv2d_s21_p12_d12_g2", (1, 4, 7, 7), (6, 3, 2), (2, 1), (1, 2), (1, 2), 2, True),
    ("conv2d_s2_p1_d2_g3", (2, 6, 9, 8), (6, 3, 3), 2, 1, 2, 3, True),
    ("conv2d_1x1_s3", (3, 2, 5, 6), (4, 1, 1), 3, 0, 1, 1, True),
    ("conv2d_s32_p2_g4", (1, 4, 10, 6), (4, 4, 3), (3, 2), 2, 1, 4, True),
    ("conv2d_depthwise_nobias", (1, 4, 6, 5), (4, 3, 3), 1, 1, 1, 4, False),
    ("conv2d_same_even_kernel", (2, 3, 6, 7), (5, 4, 2), 1, "same", 1, 1, True),
    ("conv2d_same_dilated", (1, 3, 6, 6), (2, 3, 3), 1, "same", (2, 1), 1, False),
    ("conv2d_valid", (2, 3, 6, 6), (5, 3, 3), 1, "valid", 1, 1, True),
    ("conv2d_unbatched", (3, 6, 5), (2, 3, 3), 1, 1, 1, 1, False),
]
for name, xs, (o, kh, kw), s, p, d, g, bias in CONV2D:
    w = I(o, xs[-3] // g, kh, kw)
    inputs = (I(*xs), w, I(o)) if bias else (I(*xs), w)
    case(name, lambda m, x, w, b=None, s=s, p=p, d=d, g=g: F(m).conv2d(x, w, b, s, p, d, g),
         *inputs, **LOOSE)
# conv1d runs as a conv2d of height 1
case("conv1d_s2_p1_d2_g2", lambda m, x, w, b: F(m).conv1d(x, w, b, 2, 1, 2, 2),
     I(2, 4, 11), I(6, 2, 3), I(6), **LOOSE)
case("conv1d_s3_p2", lambda m, x, w, b: F(m).conv1d(x, w, b, 3, 2), I(2, 4, 11), I(6, 4, 3), I(6),
     **LOOSE)
# conv_transpose2d's forward is conv2d_grad_input, its input gradient conv2d.
case("conv_transpose2d", lambda m, x, w, b: F(m).conv_transpose2d(x, w, b),
     I(2, 4, 5, 4), I(4, 6, 3, 2), I(6), **LOOSE)
case("conv_transpose2d_s2_p1_op1", lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, 2, 1, 1),
     I(2, 4, 5, 4), I(4, 6, 3, 2), I(6), **LOOSE)
case("conv_transpose2d_s23_op12_g2",
     lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, (2, 3), (0, 1), (1, 2), 2),
     I(2, 4, 4, 3), I(4, 3, 3, 2), I(6), **LOOSE)
case("conv_transpose2d_dilated",
     lambda m, x, w: F(m).conv_transpose2d(x, w, None, 2, 0, 0, 1, (2, 1)),
     I(1, 2, 3, 4), I(2, 3, 2, 3), **LOOSE)
case("conv_transpose1d_s2_p1_op1", lambda m, x, w: F(m).conv_transpose1d(x, w, None, 2, 1, 1),
     I(2, 3, 7), I(3, 2, 4), **LOOSE)

# -- max_pool2d, max_pool2d_grad ------------------------------------------------------------
# 'uniform' inputs have no ties, so the arg max (and so the gradient) is unique. Every case
# returns the indices too. (name, (H, W), kernel, stride, padding, dilation, ceil_mode)
MAXPOOL = [
    ("max_pool2d", (6, 7), 2, None, 0, 1, False),
    ("max_pool2d_k3_s2_p1_ceil", (7, 9), 3, 2, 1, 1, True),
    ("max_pool2d_k32_s21_p10_d21", (7, 9), (3, 2), (2, 1), (1, 0), (2, 1), False),
    ("max_pool2d_k3_s3_p1_ceil", (10, 7), 3, 3, 1, 1, True),
    ("max_pool2d_k24_s13_p12_ceil", (6, 11), (2, 4), (1, 3), (1, 2), 1, True),
    ("max_pool2d_d2_ceil", (5, 5), 2, 2, 0, 2, True),
    ("max_pool2d_overlapping", (5, 5), (3, 2), 1, 0, 1, False),
    ("max_pool2d_k23_s12_p1_d2", (6, 7), (2, 3), (1, 2), 1, 2, False),
]
for name, hw, k, s, p, d, ceil in MAXPOOL:
    case(name, lambda m, x, k=k, s=s, p=p, d=d, ceil=ceil: F(m).max_pool2d(
        x, k, s, p, d, ceil, True),
         I(2, 3, *hw, kind="uniform"))
case("max_pool1d_s2_p1_d2_ceil", lambda m, x: F(m).max_pool1d(x, 3, 2, 1, 2, True, True),
     I(2, 3, 11, kind="uniform"))

# -- avg_pool2d, avg_pool2d_grad ------------------------------------------------------------
# (name, (H, W), kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVGPOOL = [
    ("avg_pool2d", (6, 7), 2, None, 0, False, True, None),
    ("avg_pool2d_k3_s2_p1_ceil", (7, 9), 3, 2, 1, True, True, None),
    ("avg_pool2d_k3_s2_p1_ceil_exclude_pad", (7, 9), 3, 2, 1, True, False, None),
    ("avg_pool2d_k24_s13_p12_ceil_exclude_pad", (6, 11), (2, 4), (1, 3), (1, 2), True, False, None),
    ("avg_pool2d_divisor_override", (6, 7), (3, 2), 2, (1, 1), False, True, 5),
]
for name, hw, k, s, p, ceil, cip, div in AVGPOOL:
    case(name, lambda m, x, k=k, s=s, p=p, ceil=ceil, cip=cip, div=div: F(m).avg_pool2d(
        x, k, s, p, ceil, cip, div), I(2, 3, *hw))
case("avg_pool1d_s2_p1_ceil_exclude_pad", lambda m, x: F(m).avg_pool1d(x, 3, 2, 1, True, False),
     I(2, 3, 10))

# -- layer_norm, layer_norm_grad ------------------------------------------------------------
# (name, x shape, normalized shape, affine: True, False or "weight")
LAYER_NORM = [
    ("layer_norm", (4, 5), (5,), True),
    ("layer_norm_2d_shape", (2, 3, 4, 5), (4, 5), True),
    ("layer_norm_no_affine", (3, 7), (7,), False),
    ("layer_norm_weight_only", (2, 3, 4), (3, 4), "weight"),
]
for name, xs, shape, affine in LAYER_NORM:
    params = (I(*shape),) * (0 if not affine else 1 if affine == "weight" else 2)
    case(name, lambda m, x, *wb, shape=shape: F(m).layer_norm(x, shape, *wb, eps=1e-4),
         I(*xs), *params, **LOOSE)

# -- softmax, log_softmax ----------------------------------------------------------------------
case("F.softmax_dims", lambda m, x: (F(m).softmax(x, 0), F(m).softmax(x, 1), F(m).softmax(x, -1),
                                    F(m).softmin(x, 2)), I(3, 4, 5))
case("F.log_softmax_dims", lambda m, x: (F(m).log_softmax(x, 0), F(m).log_softmax(x, 1),
                                        F(m).log_softmax(x, -1)), I(3, 4, 5))
case("F.log_softmax_large", lambda m, x: F(m).log_softmax(x * 40, 1), I(4, 6))
case("F.softmax_dtype", lambda m, x: F(m).softmax(x, -1, dtype=m.float64), I(3, 4))

# -- cross_entropy, cross_entropy_grad (and the class-index check) --------------------------
T = dict(dtype="int64", kind="index", high=5)          # class targets of 5 classes
WT = I(5, kind="positive", grad=False)                 # class weights
RED = ("none", "mean", "sum")


def _ce_indices(smoothing, weighted):
    return lambda m, x, t, w: tuple(
        F(m).cross_entropy(x, t, w if weighted else None, ignore_index=ignore, reduction=r,
                           label_smoothing=smoothing) for ignore in (-100, 1) for r in RED)


for sm in (0.0, 0.25):
    for weighted in (False, True):
        case(f"cross_entropy_smoothing={sm}_weight={weighted}", _ce_indices(sm, weighted),
             I(6, 5), I(6, **T), WT)
for weighted in (False, True):
    case(f"nll_loss_weight={weighted}", lambda m, x, t, w, weighted=weighted: tuple(
        F(m).nll_loss(x, t, w if weighted else None, ignore_index=ignore, reduction=r)
        for ignore in (-100, 2) for r in RED), I(6, 5), I(6, **T), WT)


def _spatial_and_unbatched(name):
    def fn(m, x, t, w, x1):
        f, t = getattr(F(m), name), t.masked_fill(t < 0, -100)  # some targets ignored
        one = m.tensor(3, device=x1.device)
        return tuple(f(x, t, w, reduction=r) for r in RED) + tuple(f(x1, one, reduction=r)
                                                                  for r in RED)
    return fn


for name in ("cross_entropy", "nll_loss"):
    case(f"{name}_spatial_and_unbatched", _spatial_and_unbatched(name), I(2, 5, 3, 4),
         I(2, 3, 4, dtype="int64", low=-1, high=5), WT, I(5))
for sm in (0.0, 0.3):
    case(f"cross_entropy_probabilities_smoothing={sm}", lambda m, x, p, w, sm=sm: tuple(
        F(m).cross_entropy(x, p / p.sum(1, keepdim=True), w if weighted else None, reduction=r,
                           label_smoothing=sm) for weighted in (False, True) for r in RED),
         I(6, 5), I(6, 5, kind="positive"), WT)
# The backends' fused kernels on a single class, long rows and many rows, in both float types.
for n, c in ((1, 1), (3, 1000), (300, 3)):
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        case(f"cross_entropy_{n}x{c}_{dtype}", lambda m, x, t: (
            F(m).cross_entropy(x * 4, t),
            F(m).cross_entropy(x * 4, t, ignore_index=1, reduction="sum"),
            F(m).cross_entropy(x * 4, t, ignore_index=0, reduction="none")),
             I(n, c, dtype=dtype), I(n, dtype="int64", kind="index", high=c), rtol=tol, atol=tol)
# mean over no counted target: NaN, and a zero gradient
case("cross_entropy_every_target_ignored",
     lambda m, x: F(m).cross_entropy(x, m.tensor([-100, -100], device=x.device)), I(2, 3))

# -- matmul_bias, relu_backward ---------------------------------------------------------------
for xs in ((5, 4), (2, 3, 4), (4,), (0, 4)):
    case("F.linear_" + "x".join(map(str, xs)), lambda m, x, w, b: (F(m).linear(x, w, b),
                                                                   F(m).linear(x, w)),
         I(*xs), I(3, 4), I(3), **LOOSE)
case("F.linear_strided_input", lambda m, x, w: F(m).linear(x.t()[:, :4], w), I(4, 6), I(3, 4),
     **LOOSE)
case("F.relu_linear", lambda m, x, w, b: F(m).relu(F(m).linear(x, w, b)),
     I(6, 5), I(4, 5), I(4), **LOOSE)
case("nn.ReLU", lambda m, x: m.nn.ReLU()(x), I(3, 5, kind="away"))


# -- lstm_cell, lstm_cell_grad ----------------------------------------------------------------
def _load(m, module, *weights):
    """Copy `weights` into `module`'s parameters, in registration order."""
    with m.no_grad():
        for p, w in zip(module.parameters(), weights):
            p.copy_(w)
    return module


W = dict(grad=False, low=-0.5, high=0.5, kind="uniform")  # weights: inputs, not differentiated
case("nn.LSTMCell", lambda m, x, h, c, *ws: _load(m, m.nn.LSTMCell(4, 3, device=x.device), *ws)(
    x, (h, c)), I(2, 4), I(2, 3), I(2, 3), I(12, 4, **W), I(12, 3, **W), I(12, **W), I(12, **W),
     **LOOSE)
case("nn.LSTMCell_no_bias", lambda m, x, h, c, *ws: _load(
    m, m.nn.LSTMCell(4, 3, bias=False, device=x.device), *ws)(x, (h, c)),
     I(3, 4), I(3, 3), I(3, 3), I(12, 4, **W), I(12, 3, **W), **LOOSE)
case("nn.LSTM_3_steps", lambda m, x, h, c, *ws: (lambda out: (out[0],) + out[1])(_load(
    m, m.nn.LSTM(4, 3, device=x.device), *ws)(x, (h, c))),
     I(3, 2, 4), I(1, 2, 3), I(1, 2, 3), I(12, 4, **W), I(12, 3, **W), I(12, **W), I(12, **W),
     **LOOSE)
case("nn.LSTMCell_unbatched", lambda m, x, h, c, *ws: _load(
    m, m.nn.LSTMCell(4, 3, device=x.device), *ws)(x, (h, c)),
     I(4), I(3), I(3), I(12, 4, **W), I(12, 3, **W), I(12, **W), I(12, **W), **LOOSE)
case("nn.LSTMCell_no_state",
     lambda m, x, *ws: _load(m, m.nn.LSTMCell(4, 3, device=x.device), *ws)(x),
     I(2, 4), I(12, 4, **W), I(12, 3, **W), I(12, **W), I(12, **W), **LOOSE)

# -- the fused ops on strided (non-contiguous) inputs and on float64 ---------------------------
case("conv2d_strided_input", lambda m, x, w, b: F(m).conv2d(x.transpose(2, 3), w, b, 1, 1),
     I(2, 3, 5, 6), I(4, 3, 3, 3), I(4), **LOOSE)
case("conv2d_float64", lambda m, x, w, b: F(m).conv2d(x, w, b, 2, 1, 1, 2),
     I(1, 4, 6, 5, dtype="float64"), I(4, 2, 3, 3, dtype="float64"), I(4, dtype="float64"))
case("max_pool2d_strided_float64",
     lambda m, x: F(m).max_pool2d(x.transpose(2, 3), 3, 2, 1, 1, True, True),
     I(2, 2, 5, 7, kind="uniform", dtype="float64"))
case("avg_pool2d_strided_float64",
     lambda m, x: F(m).avg_pool2d(x.transpose(2, 3), 3, 2, 1, True, False),
     I(2, 2, 5, 7, dtype="float64"))
case("layer_norm_strided", lambda m, x, w, b: F(m).layer_norm(x.transpose(0, 1), (4,), w, b),
     I(3, 2, 4), I(4), I(4), **LOOSE)
case("layer_norm_float64", lambda m, x, w, b: F(m).layer_norm(x, (3, 4), w, b),
     I(2, 3, 4, dtype="float64"), I(3, 4, dtype="float64"), I(3, 4, dtype="float64"))
case("F.softmax_strided_float64", lambda m, x: (F(m).softmax(x.transpose(0, 2), 1),
                                               F(m).log_softmax(x.transpose(1, 2), 1)),
     I(3, 4, 5, dtype="float64"))
case("cross_entropy_strided_input",
     lambda m, x, t: F(m).cross_entropy(x.t(), t, label_smoothing=0.1),
     I(5, 6), I(6, **T))
case("F.linear_strided_weight_float64", lambda m, x, w, b: F(m).linear(x, w.t(), b),
     I(3, 4, dtype="float64"), I(4, 5, dtype="float64"), I(5, dtype="float64"))
case("nn.LSTMCell_float64", lambda m, x, h, c, *ws: _load(
    m, m.nn.LSTMCell(4, 3, device=x.device, dtype=m.float64), *ws)(x, (h, c)),
     *(I(*s, dtype="float64") for s in ((2, 4), (2, 3), (2, 3))),
     *(I(*s, dtype="float64", **W) for s in ((12, 4), (12, 3), (12,), (12,))))
