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
    ("conv2d_depthwise_nobias", (1, 4, 6, 5), (4, 3, 3), 1, 1, 1, 4, False),
    ("conv2d_same_even_kernel", (2, 3, 6, 7), (5, 4, 2), 1, "same", 1, 1, True),
    ("conv2d_same_dilated", (1, 3, 6, 6), (2, 3, 3), 1, "same", (2, 1), 1, False),
]
for name, xs, (o, kh, kw), s, p, d, g, bias in CONV2D:
    w = I(o, xs[1] // g, kh, kw)
    inputs = (I(*xs), w, I(o)) if bias else (I(*xs), w)
    case(name, lambda m, x, w, b=None, s=s, p=p, d=d, g=g: F(m).conv2d(x, w, b, s, p, d, g),
         *inputs, **LOOSE)
case("conv1d_s2_p1_d2_g2", lambda m, x, w, b: F(m).conv1d(x, w, b, 2, 1, 2, 2),
     I(2, 4, 11), I(6, 2, 3), I(6), **LOOSE)
# conv_transpose2d's forward is conv2d_grad_input, its input gradient conv2d.
case("conv_transpose2d_s23_op12_g2",
     lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, (2, 3), (0, 1), (1, 2), 2),
     I(2, 4, 4, 3), I(4, 3, 3, 2), I(6), **LOOSE)
case("conv_transpose2d_dilated", lambda m, x, w: F(m).conv_transpose2d(x, w, None, 2, 0, 0, 1, (2, 1)),
     I(1, 2, 3, 4), I(2, 3, 2, 3), **LOOSE)

# -- max_pool2d, max_pool2d_grad ------------------------------------------------------------
# 'uniform' inputs have no ties, so the arg max (and so the gradient) is unique.
U = dict(kind="uniform")
case("max_pool2d", lambda m, x: F(m).max_pool2d(x, 2), I(2, 3, 6, 7, **U))
case("max_pool2d_k3_s2_p1_ceil", lambda m, x: F(m).max_pool2d(x, 3, 2, 1, ceil_mode=True),
     I(1, 2, 6, 7, **U))
case("max_pool2d_overlapping", lambda m, x: F(m).max_pool2d(x, (3, 2), 1), I(2, 2, 5, 5, **U))
case("max_pool2d_dilated_padded", lambda m, x: F(m).max_pool2d(x, (2, 3), (1, 2), 1, 2),
     I(1, 3, 6, 7, **U))
case("max_pool2d_indices",
     lambda m, x: F(m).max_pool2d(x, 2, 2, 1, return_indices=True), I(2, 2, 5, 6, **U))
case("max_pool1d_ceil", lambda m, x: F(m).max_pool1d(x, 3, 2, ceil_mode=True), I(2, 3, 8, **U))

# -- avg_pool2d, avg_pool2d_grad ------------------------------------------------------------
case("avg_pool2d", lambda m, x: F(m).avg_pool2d(x, 2), I(2, 3, 6, 7))
case("avg_pool2d_k3_s2_p1_ceil", lambda m, x: F(m).avg_pool2d(x, 3, 2, 1, ceil_mode=True),
     I(1, 2, 6, 7))
case("avg_pool2d_exclude_pad", lambda m, x: F(m).avg_pool2d(
    x, (3, 2), (2, 1), (1, 1), ceil_mode=True, count_include_pad=False), I(2, 2, 5, 6))
case("avg_pool2d_divisor_override",
     lambda m, x: F(m).avg_pool2d(x, 2, 1, 1, divisor_override=3), I(1, 2, 4, 5))
case("avg_pool1d_p1", lambda m, x: F(m).avg_pool1d(x, 3, 2, 1), I(2, 3, 8))

# -- layer_norm, layer_norm_grad ------------------------------------------------------------
case("layer_norm", lambda m, x, w, b: F(m).layer_norm(x, (5,), w, b), I(3, 4, 5), I(5), I(5),
     **LOOSE)
case("layer_norm_2d_no_affine", lambda m, x: F(m).layer_norm(x, (3, 4)), I(2, 3, 4), **LOOSE)
case("layer_norm_weight_only_eps",
     lambda m, x, w: F(m).layer_norm(x, (2, 3), w, None, 1e-2), I(4, 2, 3), I(2, 3), **LOOSE)

# -- softmax, log_softmax ----------------------------------------------------------------------
case("F.softmax_dims", lambda m, x: (F(m).softmax(x, 0), F(m).softmax(x, 1), F(m).softmax(x, -1),
                                    F(m).softmin(x, 2)), I(3, 4, 5))
case("F.log_softmax_dims", lambda m, x: (F(m).log_softmax(x, 0), F(m).log_softmax(x, 1),
                                        F(m).log_softmax(x, -1)), I(3, 4, 5))
case("F.log_softmax_large", lambda m, x: F(m).log_softmax(x * 40, 1), I(4, 6))
case("F.softmax_dtype", lambda m, x: F(m).softmax(x, -1, dtype=m.float64), I(3, 4))

# -- cross_entropy, cross_entropy_grad (and the class-index check) --------------------------
T = dict(dtype="int64", kind="index", high=4)  # class targets of 4 classes
CE = dict(rtol=1e-4, atol=1e-5)
case("cross_entropy", lambda m, x, t: F(m).cross_entropy(x, t), I(5, 4), I(5, **T), **CE)
case("cross_entropy_sum_none", lambda m, x, t: (F(m).cross_entropy(x, t, reduction="sum"),
                                                F(m).cross_entropy(x, t, reduction="none")),
     I(6, 4), I(6, **T), **CE)
case("cross_entropy_ignore_index", lambda m, x, t: (
    F(m).cross_entropy(x, t, ignore_index=1), F(m).cross_entropy(x, t, ignore_index=2,
                                                                 reduction="none")),
     I(8, 4), I(8, **T), **CE)
case("cross_entropy_weight", lambda m, x, t, w: (
    F(m).cross_entropy(x, t, w), F(m).cross_entropy(x, t, w, reduction="sum"),
    F(m).cross_entropy(x, t, w, ignore_index=0)), I(7, 4), I(7, **T), I(4, kind="positive", grad=False),
     **CE)
case("cross_entropy_label_smoothing", lambda m, x, t, w: (
    F(m).cross_entropy(x, t, label_smoothing=0.1),
    F(m).cross_entropy(x, t, w, ignore_index=3, label_smoothing=0.25),
    F(m).cross_entropy(x, t, reduction="none", label_smoothing=0.2)),
     I(6, 4), I(6, **T), I(4, kind="positive", grad=False), **CE)
case("cross_entropy_spatial", lambda m, x, t: F(m).cross_entropy(x, t, ignore_index=0),
     I(2, 4, 3, 2), I(2, 3, 2, **T), **CE)
case("cross_entropy_probabilities", lambda m, x, p: F(m).cross_entropy(x, p.softmax(1)),
     I(5, 4), I(5, 4, grad=False), **CE)
case("nll_loss_weight_ignore", lambda m, x, t, w: F(m).nll_loss(x.log_softmax(1), t, w,
                                                                  ignore_index=2),
     I(6, 4), I(6, **T), I(4, kind="positive", grad=False), **CE)

# -- matmul_bias, relu_backward ---------------------------------------------------------------
case("F.linear", lambda m, x, w, b: F(m).linear(x, w, b), I(4, 5), I(3, 5), I(3), **LOOSE)
case("F.linear_3d_no_bias", lambda m, x, w: F(m).linear(x, w), I(2, 4, 5), I(3, 5), **LOOSE)
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
