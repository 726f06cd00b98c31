"""RNN, LSTM, GRU and their cells against PyTorch: outputs, final states, and gradients of
the inputs, the initial states and every parameter (torch's parameters copied into fw)."""
import warnings

import numpy as np
import pytest
import torch

import framework as fw
import framework.nn as nn
from oracle import assert_same_error_kind

RNG = np.random.default_rng(7)


def _data(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _copy_params(tm, fm, device):
    """torch's parameters -> fw's module (through load_state_dict), same names."""
    sd = {k: fw.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()}
    fm.load_state_dict(sd)
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]


def _close(f, t, tol=1e-4):
    np.testing.assert_allclose(f.detach().cpu().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flatten(o)]
    return [out]


def _run_pair(tm, fm, device, inputs, call=None):
    """Run both modules on the same data; compare every output, then backpropagate a fixed
    random cotangent through all of them and compare input and parameter gradients."""
    call = call or (lambda m, *xs: m(*xs))
    tin = [None if a is None else
           (tuple(torch.tensor(x, requires_grad=True) for x in a) if isinstance(a, tuple)
            else torch.tensor(a, requires_grad=True)) for a in inputs]
    fin = [None if a is None else
           (tuple(fw.tensor(x, device=device, requires_grad=True) for x in a)
            if isinstance(a, tuple) else fw.tensor(a, device=device, requires_grad=True))
           for a in inputs]
    tout, fout = _flatten(call(tm, *tin)), _flatten(call(fm, *fin))
    assert len(tout) == len(fout)
    for f, t in zip(fout, tout):
        assert tuple(f.shape) == tuple(t.shape)
        _close(f, t)
    cots = [_data(*t.shape) for t in tout]
    torch.autograd.backward(tout, [torch.tensor(c) for c in cots])
    fw.autograd.backward(fout, [fw.tensor(c, device=device) for c in cots])
    for f, t in zip(_flatten(fin), _flatten(tin)):
        if t is not None:
            _close(f.grad, t.grad, 2e-4)
    tp = dict(tm.named_parameters())
    for name, p in fm.named_parameters():
        _close(p.grad, tp[name].grad, 2e-4)


CONFIGS = [
    # (num_layers, bidirectional, batch_first, bias)
    (1, False, False, True),
    (2, False, True, True),
    (1, True, False, True),
    (2, True, True, True),
    (2, True, False, False),
]


@pytest.mark.parametrize("kind", ["RNN", "RNN_relu", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("given_state", [False, True])
def test_layers_match_torch(device, kind, cfg, given_state):
    layers, bidir, bf, bias = cfg
    I, H, L, N = 5, 6, 4, 3
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=bf, bias=bias)
    if kind == "RNN_relu":
        kw["nonlinearity"] = "relu"
    cls = kind.split("_")[0]
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(I, H, **kw)
    fm = getattr(nn, cls)(I, H, **kw).to(device)
    _copy_params(tm, fm, device)
    x = _data(N, L, I) if bf else _data(L, N, I)
    D = layers * (2 if bidir else 1)
    state = None
    if given_state:
        state = (_data(D, N, H), _data(D, N, H)) if cls == "LSTM" else _data(D, N, H)
    _run_pair(tm, fm, device, [x, state])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("given_state", [False, True])
def test_unbatched_input(device, kind, given_state):
    I, H, L = 3, 4, 5
    torch.manual_seed(1)
    tm = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True)
    fm = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True).to(device)
    _copy_params(tm, fm, device)
    state = None
    if given_state:
        state = (_data(4, H), _data(4, H)) if kind == "LSTM" else _data(4, H)
    _run_pair(tm, fm, device, [_data(L, I), state])


@pytest.mark.parametrize("layers,bidir,bf", [(1, False, False), (2, True, True)])
def test_lstm_proj_size(device, layers, bidir, bf):
    torch.manual_seed(2)
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=bf, proj_size=3)
    tm, fm = torch.nn.LSTM(4, 5, **kw), nn.LSTM(4, 5, **kw).to(device)
    _copy_params(tm, fm, device)
    D = layers * (2 if bidir else 1)
    x = _data(2, 6, 4) if bf else _data(6, 2, 4)
    _run_pair(tm, fm, device, [x, None])
    _run_pair(tm, fm, device, [x, (_data(D, 2, 3), _data(D, 2, 5))])


def test_dropout_between_layers_train_and_eval(device):
    fm = nn.LSTM(3, 4, num_layers=3, dropout=0.5).to(device)
    x = fw.tensor(_data(5, 2, 3), device=device)
    fm.eval()
    a, b = fm(x)[0].detach(), fm(x)[0].detach()
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())  # eval: deterministic
    fm.train()
    fw.manual_seed(0)
    c = fm(x)[0].detach()
    fw.manual_seed(1)
    d = fm(x)[0].detach()
    assert not np.allclose(c.cpu().numpy(), d.cpu().numpy())  # train: dropout masks differ
    # dropout=0 training mode matches torch exactly
    torch.manual_seed(3)
    tm, fm = torch.nn.GRU(3, 4, num_layers=2, dropout=0.0), nn.GRU(3, 4, num_layers=2).to(device)
    _copy_params(tm, fm, device)
    _run_pair(tm.train(), fm.train(), device, [_data(5, 2, 3), None])


@pytest.mark.parametrize("kind", ["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("given_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_cells(device, kind, batched, given_state, bias):
    cls = kind.split("_")[0]
    kw = {"bias": bias}
    if kind.endswith("relu"):
        kw["nonlinearity"] = "relu"
    torch.manual_seed(4)
    tm, fm = getattr(torch.nn, cls)(5, 4, **kw), getattr(nn, cls)(5, 4, **kw).to(device)
    _copy_params(tm, fm, device)
    lead = (3,) if batched else ()
    state = None
    if given_state:
        state = (_data(*lead, 4), _data(*lead, 4)) if cls == "LSTMCell" else _data(*lead, 4)
    _run_pair(tm, fm, device, [_data(*lead, 5), state])


def test_cell_loop_matches_layer(device):
    """Unrolling LSTMCell by hand equals torch's LSTMCell unrolled (a typical user loop)."""
    torch.manual_seed(5)
    tm, fm = torch.nn.LSTMCell(3, 4), nn.LSTMCell(3, 4).to(device)
    _copy_params(tm, fm, device)

    def unroll(m, x):
        hc, outs = None, []
        for t in range(x.shape[0]):
            hc = m(x[t], hc)
            outs.append(hc[0])
        return outs

    _run_pair(tm, fm, device, [_data(6, 2, 3)], call=unroll)


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=2)
    t = torch.nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=2)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    bound = 1 / np.sqrt(8)
    for p in m.parameters():
        v = p.detach().numpy()
        assert np.all(np.abs(v) <= bound) and v.std() > bound / 4
    assert len(m.all_weights) == 4 and len(m.all_weights[0]) == 5
    g = nn.GRU(3, 5, bias=False)
    assert [n for n, _ in g.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


def test_reprs():
    for args, kw in [((3, 4), {}), ((3, 4), dict(num_layers=2, bias=False, batch_first=True,
                                                  dropout=0.5, bidirectional=True))]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in ("RNN", "LSTM", "GRU"):
                assert repr(getattr(nn, name)(*args, **kw)) == \
                    repr(getattr(torch.nn, name)(*args, **kw))
    assert repr(nn.LSTM(3, 4, proj_size=2)) == repr(torch.nn.LSTM(3, 4, proj_size=2))
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == repr(torch.nn.RNN(3, 4, nonlinearity="relu"))
    for name in ("RNNCell", "LSTMCell", "GRUCell"):
        assert repr(getattr(nn, name)(3, 4, bias=False)) == \
            repr(getattr(torch.nn, name)(3, 4, bias=False))
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(3, 4, nonlinearity="relu"))


def test_double_backward(device):
    """create_graph=True through the recurrence (replayed with differentiable ops)."""
    torch.manual_seed(6)
    tm, fm = torch.nn.GRU(2, 3), nn.GRU(2, 3).to(device)
    _copy_params(tm, fm, device)
    xd = _data(4, 1, 2)
    res = []
    for lib, m in ((torch, tm), (fw, fm)):
        kw = {"device": device} if lib is fw else {}
        x = lib.tensor(xd, requires_grad=True, **kw)
        (g,) = lib.autograd.grad(m(x)[0].pow(2).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.pow(2).sum(), x)
        res.append((g.detach().cpu().numpy(), gg.cpu().numpy()))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_graph_is_freed_without_the_garbage_collector(device, kind):
    """After backward, dropping the outputs frees the recurrence's node and what it kept
    (no reference cycle through an output's grad_fn left for the collector)."""
    import gc
    import weakref
    m = getattr(nn, kind)(3, 4, **({"proj_size": 2} if kind == "LSTM" else {})).to(device)
    x = fw.tensor(_data(5, 2, 3), device=device, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        out, _ = m(x)
        nodes, node = [out.grad_fn], None
        while node is None:  # the recurrence's node, wherever it sits below the output
            n = nodes.pop(0)
            if n.name() == "RecurrenceBackward0":
                node = weakref.ref(n)
            nodes += [e[0] for e in n.next_functions if e is not None]
        del nodes, n
        out.sum().backward()
        del out, _
        assert node() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_final_state_modified_in_place_before_backward(device, kind):
    """h_n is not what backward reads: scaling it in place changes only its own gradient
    path, as in PyTorch (fw saves the plain RNN's per-step outputs for backward)."""
    torch.manual_seed(3)
    tm, fm = getattr(torch.nn, kind)(3, 4), getattr(nn, kind)(3, 4).to(device)
    _copy_params(tm, fm, device)
    xd = _data(5, 2, 3)
    grads = []
    for lib, m in ((torch, tm), (fw, fm)):
        x = lib.tensor(xd, requires_grad=True, **({"device": device} if lib is fw else {}))
        out, h = m(x)
        h_n = h[0] if kind == "LSTM" else h
        h_n.mul_(2)
        (out.sum() + h_n.pow(2).sum()).backward()
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-5)


def test_empty_sequence_and_batch(device):
    m = nn.LSTM(3, 4, num_layers=2).to(device)
    out, (h, c) = m(fw.zeros(5, 0, 3, device=device))
    assert tuple(out.shape) == (5, 0, 4) and tuple(h.shape) == (2, 0, 4)


ERRORS = [
    "L.nn.LSTM(3, 4)(L.zeros(5, 2, 7))",               # wrong input size
    "L.nn.GRU(3, 4, batch_first=True)(L.zeros(2, 5, 4))",
    "L.nn.RNN(3, 4)(L.zeros(5, 2, 3), L.zeros(1, 3, 4))",   # wrong batch in h0
    "L.nn.RNN(3, 4)(L.zeros(5, 2, 3), L.zeros(2, 4))",      # 2-D hx for batched input
    "L.nn.LSTM(3, 4)(L.zeros(5, 2, 3), (L.zeros(1, 2, 4), L.zeros(1, 2, 5)))",
    "L.nn.LSTM(3, 4)(L.zeros(5, 3), (L.zeros(1, 1, 4), L.zeros(1, 1, 4)))",
    "L.nn.GRU(3, 4)(L.zeros(5, 2, 3, 1))",             # 4-D input: ValueError
    "L.nn.LSTM(3, 4)(L.zeros(5))",
    "L.nn.LSTM(3, 4, proj_size=4)",
    "L.nn.LSTM(3, 4, proj_size=-1)",
    "L.nn.GRU(3, 4, proj_size=2)",
    "L.nn.RNN(3, 4, nonlinearity='gelu')",
    "L.nn.LSTM(3, 4, dropout=1.5)",
    "L.nn.LSTM(3, 0)",
    "L.nn.LSTM(3, 4, num_layers=0)",
    "L.nn.LSTM(3.0, 4)",
    "L.nn.LSTMCell(3, 4)(L.zeros(2, 5))",
    "L.nn.GRUCell(3, 4)(L.zeros(2, 3, 1))",
    "L.nn.RNNCell(3, 4)(L.zeros(2, 3), L.zeros(3, 4))",
    "L.nn.LSTM(3, 4)(L.zeros(5, 2, 3, dtype=L.float64))",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors(code):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error_kind(code)


def test_dropout_warning_single_layer():
    with pytest.warns(UserWarning, match="dropout option adds dropout"):
        nn.GRU(3, 4, dropout=0.2)


def test_zero_length_sequence_error():
    assert_same_error_kind("L.nn.GRU(3, 4)(L.zeros(0, 2, 3))")


@pytest.mark.parametrize("dtype", [fw.float32, fw.float64])
def test_lstm_cell_fused_ops_match_torch_and_the_composed_default(device, dtype):
    """The backend's lstm_cell / lstm_cell_grad (numpy, an OpenCL kernel) against torch's
    LSTM cell math, and the composed default (what a new backend gets) against both."""
    from framework.fused.nn_ops import NNOps
    if dtype is fw.float64 and device.startswith("opencl") and not fw.tensor(
            [0.0], device=device)._be.rt.fp64:
        pytest.skip("this OpenCL device has no fp64")
    N, H = 3, 5
    gates = RNG.standard_normal((N, 4 * H)) * 4
    gates[0, :3] = [-120.0, 120.0, 0.0]  # saturated sigmoids and tanh
    c, dh, dc = (RNG.standard_normal((N, H)) for _ in range(3))
    tg, tcp = (torch.tensor(v, requires_grad=True) for v in (gates, c))
    i, f, g, o = tg.chunk(4, 1)
    tc2 = i.sigmoid() * g.tanh() + f.sigmoid() * tcp
    th = o.sigmoid() * tc2.tanh()
    torch.autograd.backward([th, tc2], [torch.tensor(dh), torch.tensor(dc)])
    be = fw.tensor([0.0], device=device)._be
    v = {k: be.from_numpy(x.astype(dtype.np)) for k, x in
         (("gates", gates), ("c", c), ("dh", dh), ("dc", dc))}
    tol = 1e-5 if dtype is fw.float32 else 1e-12
    for impl in (type(be), NNOps):
        h, c2, act, tc = impl.lstm_cell(be, v["gates"], v["c"])
        np.testing.assert_allclose(be.to_numpy(h), th.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(be.to_numpy(c2), tc2.detach().numpy(), rtol=tol, atol=tol)
        dg, dcp = impl.lstm_cell_grad(be, v["dh"], v["dc"], act, v["c"], tc)
        np.testing.assert_allclose(be.to_numpy(dg), tg.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(be.to_numpy(dcp), tcp.grad.numpy(), rtol=tol, atol=tol)
