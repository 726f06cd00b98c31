"""scaled_dot_product_attention, MultiheadAttention and the Transformer modules against
PyTorch: outputs, attention weights, and gradients of inputs and every parameter."""
import warnings

import numpy as np
import pytest
import torch

import framework as fw
import framework.nn as nn
import framework.nn.functional as F
from oracle import assert_same_error_kind

RNG = np.random.default_rng(11)


def _data(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


class G:
    """An input that requires grad (others are constants, e.g. masks)."""

    def __init__(self, a):
        self.a = a


def _copy_params(tm, fm, device):
    sd = {k: fw.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()}
    fm.load_state_dict(sd)
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]


def _close(f, t, tol=1e-4):
    np.testing.assert_allclose(f.detach().cpu().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _outs(o):
    if isinstance(o, (tuple, list)):
        return [x for y in o for x in _outs(y)]
    return [] if o is None else [o]


def _run_pair(t_fn, f_fn, device, args, tm=None, fm=None, tol=1e-4):
    """Call both with the same data, compare all outputs; backpropagate a random cotangent;
    compare the gradients of every G input and (when modules are given) every parameter."""
    def make(lib, kw):
        out = []
        for a in args:
            if isinstance(a, G):
                out.append(lib.tensor(a.a, requires_grad=True, **kw))
            elif isinstance(a, np.ndarray):
                out.append(lib.tensor(a, **kw))
            else:
                out.append(a)
        return out
    tin, fin = make(torch, {}), make(fw, {"device": device})
    tout, fout = _outs(t_fn(*tin)), _outs(f_fn(*fin))
    assert len(tout) == len(fout)
    for f, t in zip(fout, tout):
        assert tuple(f.shape) == tuple(t.shape), (f.shape, t.shape)
        _close(f, t, tol)
    cots = [_data(*t.shape) for t in tout]
    torch.autograd.backward(tout, [torch.tensor(c) for c in cots])
    fw.autograd.backward(fout, [fw.tensor(c, device=device) for c in cots])
    for a, f, t in zip(args, fin, tin):
        if isinstance(a, G):
            _close(f.grad, t.grad, 5 * tol)
    if tm is not None:
        tp = dict(tm.named_parameters())
        for name, p in fm.named_parameters():
            if tp[name].grad is None:
                assert p.grad is None or not np.any(p.grad.cpu().numpy()), name
            else:
                _close(p.grad, tp[name].grad, 5 * tol)


# -- scaled_dot_product_attention ----------------------------------------------------------------
@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
@pytest.mark.parametrize("scale", [None, 0.3])
@pytest.mark.parametrize("shape", [((2, 3, 5, 4), (2, 3, 6, 4)), ((5, 4), (7, 4)),
                                   ((2, 5, 4), (2, 5, 4))])
def test_sdpa(device, mask, scale, shape):
    qs, ks = shape
    vs = ks[:-1] + (3,)
    L, S = qs[-2], ks[-2]
    kw = {"scale": scale}
    extra = []
    if mask == "bool":
        m = RNG.random((L, S)) > 0.3
        m[:, 0] = True  # no row fully masked
        extra = [m]
    elif mask == "float":
        extra = [_data(L, S)]
    elif mask == "causal":  # top-left aligned tril, also when L != S
        kw["is_causal"] = True

    def call(lib):
        return lambda q, k, v, *m: lib.nn.functional.scaled_dot_product_attention(
            q, k, v, *(m or ()), **kw)
    _run_pair(call(torch), call(fw), device, [G(_data(*qs)), G(_data(*ks)), G(_data(*vs))] + extra)


def test_sdpa_dropout_statistics(device):
    q = fw.tensor(_data(2, 4, 3), device=device)
    v = fw.ones(2, 4, 3, device=device)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    # each output is a sum of kept weights / (1 - p): the mean over many rows stays ~1
    assert not np.allclose(out.cpu().numpy(), 1.0)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.0)
    np.testing.assert_allclose(out.cpu().numpy(), 1.0, rtol=1e-5)


def test_sdpa_gqa(device):
    def call(lib):
        return lambda q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v,
                                                                              enable_gqa=True)
    _run_pair(call(torch), call(fw), device, [G(_data(2, 4, 5, 3)), G(_data(2, 2, 6, 3)),
                                              G(_data(2, 2, 6, 3))])


# -- MultiheadAttention --------------------------------------------------------------------------
MHA_CASES = [
    # kwargs of the module, kind of call
    (dict(), "self"),
    (dict(bias=False), "self"),
    (dict(batch_first=True), "self"),
    (dict(), "cross"),
    (dict(batch_first=True), "kv_same"),
    (dict(kdim=3, vdim=5), "cross"),
    (dict(kdim=3, vdim=5, batch_first=True), "cross"),
    (dict(add_bias_kv=True), "cross"),
    (dict(add_zero_attn=True), "self"),
    (dict(add_bias_kv=True, add_zero_attn=True), "self"),
]


@pytest.mark.parametrize("kw,kind", MHA_CASES)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("masks", ["none", "attn_bool", "attn_float", "kpm", "both", "attn3d"])
def test_mha(device, kw, kind, need_weights, average, masks):
    E, H, L, S, N = 8, 2, 4, 5, 3
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, **kw)
    fm = nn.MultiheadAttention(E, H, **kw).to(device)
    _copy_params(tm, fm, device)
    bf = kw.get("batch_first", False)
    kd, vd = kw.get("kdim", E), kw.get("vdim", E)
    if kind == "self":
        S = L
    shp = (lambda T, d: (N, T, d)) if bf else (lambda T, d: (T, N, d))
    q = _data(*shp(L, E))
    args = [G(q)]
    if kind == "cross":
        args += [G(_data(*shp(S, kd))), G(_data(*shp(S, vd)))]
    elif kind == "kv_same":
        args += [G(_data(*shp(S, E)))]
    am = kpm = None
    if masks in ("attn_bool", "both"):
        am = RNG.random((L, S)) < 0.3
        am[:, 0] = False  # True = blocked; keep one key per row
    elif masks == "attn_float":
        am = _data(L, S)
    elif masks == "attn3d":
        am = _data(N * H, L, S)
    if masks in ("kpm", "both"):
        kpm = RNG.random((N, S)) < 0.3
        kpm[:, 1] = False
    if masks == "both":
        am[:, 1] = False
    consts = [a for a in (am, kpm) if a is not None]

    def call(m):
        def fn(*xs):
            xs = list(xs)
            n = {"self": 1, "cross": 3, "kv_same": 2}[kind]
            ins, rest = xs[:n], xs[n:]
            q = ins[0]
            k, v = (q, q) if n == 1 else (ins[1], ins[1]) if n == 2 else ins[1:3]
            kk = {}
            if am is not None:
                kk["attn_mask"] = rest.pop(0)
            if kpm is not None:
                kk["key_padding_mask"] = rest.pop(0)
            return m(q, k, v, need_weights=need_weights, average_attn_weights=average, **kk)
        return fn
    _run_pair(call(tm), call(fm), device, args + consts, tm, fm)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched(device, need_weights):
    torch.manual_seed(1)
    tm, fm = torch.nn.MultiheadAttention(6, 3, kdim=4, vdim=2), \
        nn.MultiheadAttention(6, 3, kdim=4, vdim=2).to(device)
    _copy_params(tm, fm, device)
    kpm = np.array([False, True, False, False, False])
    _run_pair(lambda q, k, v, m: tm(q, k, v, key_padding_mask=m, need_weights=need_weights),
              lambda q, k, v, m: fm(q, k, v, key_padding_mask=m, need_weights=need_weights),
              device, [G(_data(3, 6)), G(_data(5, 4)), G(_data(5, 2)), kpm], tm, fm)


def test_mha_causal_and_train_mode(device):
    torch.manual_seed(2)
    tm, fm = torch.nn.MultiheadAttention(8, 4), nn.MultiheadAttention(8, 4).to(device)
    _copy_params(tm, fm, device)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5).numpy()
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(5).numpy(), mask)
    tm.train(), fm.train()  # dropout=0: training mode is deterministic
    _run_pair(lambda x, m: tm(x, x, x, attn_mask=m, is_causal=True, need_weights=False),
              lambda x, m: fm(x, x, x, attn_mask=m, is_causal=True, need_weights=False),
              device, [G(_data(5, 2, 8)), mask], tm, fm)


def test_mha_params_init_repr():
    m = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True)
    t = torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    m = nn.MultiheadAttention(16, 4)
    assert not np.any(m.in_proj_bias.detach().numpy())
    assert not np.any(m.out_proj.bias.detach().numpy())
    bound = np.sqrt(6 / (16 + 48))  # xavier_uniform on (48, 16)
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 3
    assert repr(m).replace("NonDynamicallyQuantizableLinear", "Linear") == \
        repr(torch.nn.MultiheadAttention(16, 4)).replace("NonDynamicallyQuantizableLinear",
                                                         "Linear")


# -- Transformer layers ----------------------------------------------------------------------
LAYER_CASES = [
    dict(),
    dict(norm_first=True),
    dict(activation="gelu"),
    dict(activation="gelu", norm_first=True, batch_first=True),
    dict(bias=False),
    dict(layer_norm_eps=1e-3, batch_first=True),
]


def _layer_pair(cls, kw, device, train=False):
    torch.manual_seed(3)
    kw = dict(kw, dim_feedforward=12)
    if train:
        kw["dropout"] = 0.0
    tm = getattr(torch.nn, cls)(8, 2, **kw)
    fm = getattr(nn, cls)(8, 2, **kw).to(device)
    _copy_params(tm, fm, device)
    if train:
        tm.train(), fm.train()
    else:
        tm.eval(), fm.eval()
    return tm, fm


@pytest.mark.parametrize("kw", LAYER_CASES)
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("masks", [False, True])
def test_encoder_layer(device, kw, train, masks):
    tm, fm = _layer_pair("TransformerEncoderLayer", kw, device, train)
    L, N = 5, 3
    x = _data(N, L, 8) if kw.get("batch_first") else _data(L, N, 8)
    args = [G(x)]
    if masks:
        kpm = np.zeros((N, L), bool)
        kpm[0, -2:] = True
        args += [torch.nn.Transformer.generate_square_subsequent_mask(L).numpy(), kpm]

    def call(m):
        return lambda x, *ms: m(x, *ms)
    _run_pair(call(tm), call(fm), device, args, tm, fm)


@pytest.mark.parametrize("kw", LAYER_CASES)
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("masks", [False, True])
def test_decoder_layer(device, kw, train, masks):
    tm, fm = _layer_pair("TransformerDecoderLayer", kw, device, train)
    T, S, N = 4, 6, 2
    bf = kw.get("batch_first")
    tgt = _data(N, T, 8) if bf else _data(T, N, 8)
    mem = _data(N, S, 8) if bf else _data(S, N, 8)
    args = [G(tgt), G(mem)]
    if masks:
        mk = np.zeros((N, S), bool)
        mk[1, :2] = True
        tk = np.zeros((N, T), bool)
        tk[0, -1] = True
        args += [torch.nn.Transformer.generate_square_subsequent_mask(T).numpy(), _data(T, S),
                 tk, mk]
    _run_pair(lambda *a: tm(*a), lambda *a: fm(*a), device, args, tm, fm)


def test_encoder_decoder_stacks(device):
    torch.manual_seed(4)
    kw = dict(dim_feedforward=16, dropout=0.0, norm_first=True)
    te = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **kw), 2,
                                     torch.nn.LayerNorm(8), enable_nested_tensor=False)
    fe = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **kw), 2, nn.LayerNorm(8))
    fe.to(device)
    _copy_params(te, fe, device)
    assert fe.layers[0].linear1.weight is not fe.layers[1].linear1.weight  # deep copies
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5).numpy()
    _run_pair(lambda x, m: te(x, mask=m), lambda x, m: fe(x, mask=m), device,
              [G(_data(5, 2, 8)), mask], te, fe)
    td = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, **kw), 2)
    fd = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, **kw), 2).to(device)
    _copy_params(td, fd, device)
    _run_pair(lambda t, m, tm_: td(t, m, tgt_mask=tm_, tgt_is_causal=True),
              lambda t, m, tm_: fd(t, m, tgt_mask=tm_, tgt_is_causal=True), device,
              [G(_data(4, 2, 8)), G(_data(5, 2, 8)),
               torch.nn.Transformer.generate_square_subsequent_mask(4).numpy()], td, fd)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_transformer(device, batch_first, batched):
    torch.manual_seed(5)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=16, dropout=0.0, batch_first=batch_first)
    tm, fm = torch.nn.Transformer(**kw), nn.Transformer(**kw).to(device)
    _copy_params(tm, fm, device)
    S, T, N = 5, 4, 2
    if batched:
        src = _data(N, S, 8) if batch_first else _data(S, N, 8)
        tgt = _data(N, T, 8) if batch_first else _data(T, N, 8)
    else:
        src, tgt = _data(S, 8), _data(T, 8)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(T).numpy()
    _run_pair(lambda s, t, m: tm(s, t, tgt_mask=m), lambda s, t, m: fm(s, t, tgt_mask=m),
              device, [G(src), G(tgt), tmask], tm, fm, tol=2e-4)


def test_transformer_init_and_structure():
    m = nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=3,
                       dim_feedforward=32)
    t = torch.nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=3,
                             dim_feedforward=32)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    w = m.encoder.layers[0].linear1.weight.detach().numpy()  # xavier_uniform on (32, 16)
    assert np.abs(w).max() <= np.sqrt(6 / 48)
    assert len(m.decoder.layers) == 3 and m.d_model == 16 and m.nhead == 4


def test_layer_dropout_active_in_training(device):
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5).to(device)
    x = fw.tensor(_data(5, 2, 8), device=device)
    m.eval()
    np.testing.assert_array_equal(m(x).detach().cpu().numpy(), m(x).detach().cpu().numpy())
    m.train()
    fw.manual_seed(0)
    a = m(x).detach().cpu().numpy()
    fw.manual_seed(1)
    assert not np.allclose(a, m(x).detach().cpu().numpy())


def test_callable_activation(device):
    tm, fm = _layer_pair("TransformerEncoderLayer", dict(), device)
    tm.activation, fm.activation = torch.tanh, fw.tanh
    _run_pair(lambda x: tm(x), lambda x: fm(x), device, [G(_data(3, 2, 8))], tm, fm)


ERRORS = [
    "L.nn.MultiheadAttention(10, 3)",                          # AssertionError
    "L.nn.MultiheadAttention(0, 1)",
    "L.nn.TransformerEncoderLayer(8, 2, activation='tanh')",
    "L.nn.MultiheadAttention(8, 2)(L.zeros(3, 2, 6), L.zeros(3, 2, 6), L.zeros(3, 2, 6))",
    "L.nn.MultiheadAttention(8, 2)(L.zeros(3, 2, 8), L.zeros(4, 2, 8), L.zeros(4, 2, 8), "
    "attn_mask=L.zeros(3, 3))",
    "L.nn.MultiheadAttention(8, 2)(L.zeros(3, 2, 8), L.zeros(3, 2, 8), L.zeros(3, 2, 8), "
    "is_causal=True)",
    "L.nn.MultiheadAttention(8, 2)(L.zeros(3, 2, 8), L.zeros(3, 2, 8), L.zeros(3, 2, 8), "
    "attn_mask=L.zeros(2, 3, 3))",
    "L.nn.MultiheadAttention(8, 2)(L.zeros(3, 2, 8), L.zeros(3, 2, 8), L.zeros(3, 8))",
    "L.nn.Transformer(8, 2, 1, 1, 16)(L.zeros(3, 2, 8), L.zeros(3, 3, 8))",
    "L.nn.Transformer(8, 2, 1, 1, 16)(L.zeros(3, 2, 6), L.zeros(3, 2, 6))",
    "L.nn.functional.scaled_dot_product_attention(L.zeros(2, 3, 4), L.zeros(2, 3, 4), "
    "L.zeros(2, 3, 4), attn_mask=L.zeros(3, 3), is_causal=True)",
    "L.nn.functional.scaled_dot_product_attention(L.zeros(2, 3, 4), L.zeros(2, 3, 5), "
    "L.zeros(2, 3, 4))",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors(code):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error_kind(code)
