"""nn.functional activations and their modules against torch: values, gradients (kinks
included), double backward, in-place forms, reprs and errors."""
import numpy as np
import pytest
import torch

import framework as fw
import framework.nn  # noqa: F401  (fw.nn, fw.nn.functional)
from nn_compare import compare
from oracle import assert_same_error_kind, assert_second_derivative_matches

rng = np.random.default_rng(0)
# random values plus the kinks of every piecewise activation (0, +-1, +-3, 6, 20 ...)
X = np.concatenate([rng.standard_normal(40) * 4,
                    [0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 20.0, 25.0, -30.0, 0.1]])
X = X.astype(np.float32).reshape(4, 13)

# softmax, log_softmax and softmin (fused ops a backend may override) are cases of the op
# suite's table, framework/testing/cases_nn.py.
ACTIVATIONS = [
    "F.relu(x)", "F.relu6(x)", "F.leaky_relu(x)", "F.leaky_relu(x, 0.2)", "F.elu(x)",
    "F.elu(x, 0.5)", "F.selu(x)", "F.celu(x)", "F.celu(x, 2.0)", "F.gelu(x)",
    "F.gelu(x, approximate='tanh')", "F.silu(x)", "F.mish(x)", "F.softplus(x)",
    "F.softplus(x, beta=2.0, threshold=5.0)", "F.softplus(x, beta=0.5)", "F.softsign(x)",
    "F.hardtanh(x)", "F.hardtanh(x, -2.0, 3.0)", "F.hardsigmoid(x)", "F.hardswish(x)",
    "F.sigmoid(x)", "F.tanh(x)", "F.logsigmoid(x)", "F.glu(x, 0)",
    "F.glu(x[:, :12])", "F.threshold(x, 0.1, 20.0)", "F.threshold(x, 1.0, -2.0)",
    "F.tanhshrink(x)", "F.softshrink(x)", "F.softshrink(x, 1.0)", "F.hardshrink(x)",
    "F.hardshrink(x, 1.0)", "F.rrelu(x)",
]


@pytest.mark.parametrize("code", ACTIVATIONS)
def test_activation_values_and_grads(code, device):
    # tanh-gelu's gradient at x = -30 is 0 * huge: one ulp of tanh near -1 (OpenCL allows a
    # few) times d(inner)/dx ~ 100 x gives ~1e-4 there, so that case gets a looser atol
    atol = 5e-4 if "tanh'" in code else 1e-5
    compare(lambda L, F, x: eval(code, {"F": F, "L": L, "x": x}), [X], device=device, atol=atol)


@pytest.mark.parametrize("code", ["F.elu(x)", "F.gelu(x)", "F.softplus(x)",
                                  "F.logsigmoid(x)", "F.hardswish(x)",
                                  "F.selu(x)", "F.mish(x)", "F.log_softmax(x, 1)"])
def test_double_backward(code):
    data = np.array([[-2.5, -0.7, 0.4, 1.9], [0.3, -1.2, 2.2, -0.1]])
    assert_second_derivative_matches(lambda L, x: eval(code, {"F": L.nn.functional, "x": x}),
                                     data, rtol=1e-6)


@pytest.mark.parametrize("name,args", [("relu", ()), ("relu6", ()), ("leaky_relu", (0.1,)),
                                       ("elu", (1.0,)), ("selu", ()), ("celu", (1.0,)),
                                       ("hardtanh", (-1.0, 1.0)), ("hardsigmoid", ()),
                                       ("hardswish", ()), ("silu", ()), ("mish", ()),
                                       ("threshold", (0.5, 2.0))])
def test_inplace(name, args, device):
    """inplace=True writes into the input (a non-leaf) and the gradient still flows."""
    def fn(L, F, w):
        y = w * 1.0
        out = getattr(F, name)(y, *args, inplace=True)
        assert out is y
        return out
    compare(fn, [X], device=device)


def test_prelu(device):
    x4 = rng.standard_normal((2, 3, 4, 2)).astype(np.float32)
    compare(lambda L, F, x, w: F.prelu(x, w), [x4, np.array([0.1, 0.3, -0.2], np.float32)],
            grads=(0, 1), device=device)
    compare(lambda L, F, x, w: F.prelu(x, w), [x4, np.array([0.25], np.float32)],
            grads=(0, 1), device=device)
    compare(lambda L, F, x, w: F.prelu(x, w), [X[0], np.array([0.25], np.float32)],
            grads=(0, 1), device=device)


def test_implicit_softmax_dim_warns_and_matches():
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 2)]:
        data = rng.standard_normal(shape).astype(np.float32)
        with pytest.warns(UserWarning):
            got = fw.nn.functional.softmax(fw.tensor(data)).numpy()
        with pytest.warns(UserWarning):
            want = torch.nn.functional.softmax(torch.tensor(data)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_node_names_match_torch():
    for code in ["F.relu(x)", "F.leaky_relu(x)", "F.elu(x)", "F.hardtanh(x)", "F.softplus(x)",
                 "F.hardswish(x)", "F.hardsigmoid(x)", "F.threshold(x, 0.0, 1.0)",
                 "F.logsigmoid(x)"]:
        names = [eval(code, {"F": lib.nn.functional,
                             "x": lib.ones(2, requires_grad=True)}).grad_fn.name()
                 for lib in (torch, fw)]
        assert names[0] == names[1], (code, names)


MODULES = [
    "nn.ReLU()", "nn.ReLU(inplace=True)", "nn.ReLU6()", "nn.ReLU6(True)", "nn.LeakyReLU()",
    "nn.LeakyReLU(0.2, True)", "nn.ELU()", "nn.ELU(alpha=0.5, inplace=True)", "nn.SELU()",
    "nn.SELU(True)", "nn.CELU(2.0)", "nn.GELU()", "nn.GELU('tanh')", "nn.SiLU()", "nn.Mish()",
    "nn.Softplus()", "nn.Softplus(2, 10)", "nn.Sigmoid()", "nn.Tanh()", "nn.Softmax()",
    "nn.Softmax(dim=1)", "nn.LogSoftmax(1)", "nn.Softmin(dim=-1)", "nn.Hardtanh()",
    "nn.Hardtanh(-2, 2, True)", "nn.Hardswish()", "nn.Hardsigmoid()", "nn.LogSigmoid()",
    "nn.PReLU()", "nn.PReLU(3, 0.1)", "nn.Threshold(0.1, 20)", "nn.GLU()", "nn.GLU(1)",
    "nn.Softsign()", "nn.Tanhshrink()", "nn.Softshrink()", "nn.Hardshrink(0.3)", "nn.RReLU()",
    "nn.Softmax2d()",
]


@pytest.mark.parametrize("code", MODULES)
def test_module_repr_matches_torch(code):
    assert repr(eval(code, {"nn": fw.nn})) == repr(eval(code, {"nn": torch.nn}))


@pytest.mark.parametrize("code", [c for c in MODULES if "inplace" not in c and "True" not in c
                                  and c not in ("nn.Softmax()", "nn.RReLU()")])
def test_module_forward_matches_torch(code, device):
    shape = (2, 3, 4, 2) if code == "nn.PReLU(3, 0.1)" else (2, 4, 3, 2)
    x4 = rng.standard_normal(shape).astype(np.float32)
    results = []
    for lib in (torch, fw):
        m = eval(code, {"nn": lib.nn})
        m = m.to(device) if lib is fw else m
        kw = {"device": device} if lib is fw else {}
        x = lib.tensor(x4, requires_grad=True, **kw)
        out = m(x)
        out.sum().backward()
        grads = [p.grad.cpu().numpy() for p in m.parameters()]
        results.append([out.detach().cpu().numpy(), x.grad.cpu().numpy()] + grads)
    for w, h in zip(*results):
        np.testing.assert_allclose(h, w, rtol=1e-4, atol=1e-5)


def test_prelu_module_parameter():
    m = fw.nn.PReLU(3, init=0.1)
    assert m.weight.shape == (3,) and np.allclose(m.weight.detach().numpy(), 0.1)
    assert [n for n, _ in m.named_parameters()] == ["weight"]


ERRORS = [
    "L.nn.functional.glu(L.ones(3))", "L.nn.functional.glu(L.tensor(1.0))",
    "L.nn.functional.glu(L.ones(2, 3), 2)", "L.nn.functional.leaky_relu(L.tensor([1, 2]))",
    "L.nn.functional.elu(L.tensor([1, 2]))", "L.nn.functional.softplus(L.tensor([1, 2]))",
    "L.nn.functional.hardtanh(L.ones(2), 2.0, 1.0)", "L.nn.functional.gelu(L.ones(2), approximate='x')",
    "L.nn.functional.prelu(L.ones(2, 3), L.ones(2))", "L.nn.functional.relu(3.0)",
    "L.nn.functional.softshrink(L.ones(2), -1.0)", "L.nn.functional.gelu(L.tensor([1, 2]))",
    "L.nn.Hardtanh(1.0, -1.0)", "L.nn.functional.relu(L.ones(2, requires_grad=True), inplace=True)",
    "L.nn.Softmax2d()(L.ones(2, 2))", "L.nn.functional.softmax(L.ones(2, 2), 2)",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors_match_torch(code):
    assert_same_error_kind(code)
