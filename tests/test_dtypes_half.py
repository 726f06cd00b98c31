"""float16, bfloat16, uint8, int8 and int16: promotion, creation, printing, values and
gradients of the cpu backend, checkpoints and modules, all against PyTorch; and the clear
error of devices whose kernels lack a dtype."""
import itertools

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn, optim
import framework.nn.functional as F

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]
LOW = ["float16", "bfloat16"]
# PyTorch's own tolerances for these dtypes (torch.testing.assert_close), a little wider:
# fw and PyTorch both compute in float32 and round once, but may add in another order.
TOL = {"float16": dict(rtol=2e-3, atol=2e-3), "bfloat16": dict(rtol=1.6e-2, atol=1e-2)}


def fwd(name):
    return getattr(fw, name)


def tcd(name):
    return getattr(torch, name)


def host(t):
    """fw or torch tensor -> float64 NumPy array (bfloat16 has no NumPy type)."""
    t = t.detach()
    return (t.double() if t.is_floating_point() else t.long()).cpu().numpy()


def dname(x):
    """'float16' for fw.float16, torch.float16 or a tensor of either."""
    return str(getattr(x, "dtype", x)).split(".")[1]


def same_dtype(a, b):
    return dname(a) == dname(b)


# -- dtypes themselves ----------------------------------------------------------------------
def test_promote_types_matches_torch_for_every_pair():
    for a, b in itertools.product(NAMES, NAMES):
        want = str(torch.promote_types(tcd(a), tcd(b))).split(".")[1]
        assert fw.promote_types(fwd(a), fwd(b)) is fwd(want), (a, b)


def _operands(name, kind):
    """An fw and a torch operand of dtype `name`: a 1-d tensor, a 0-dim tensor or a Python
    scalar of its kind."""
    if kind == "scalar":
        v = {"bool": True, "float16": 1.5}.get(name, 2 if "int" in name else 1.5)
        return v, v
    shape = (2,) if kind == "dim" else ()
    return fw.ones(shape, dtype=fwd(name)), torch.ones(shape, dtype=tcd(name))


def test_result_type_and_ops_match_torch_with_zero_dim_tensors_and_scalars():
    scalars = {"bool": True, "int64": 3, "float32": 1.5}  # Python bool, int, float
    for a in NAMES:
        fa, ta = _operands(a, "dim")
        for b in NAMES:
            fb0, tb0 = _operands(b, "zero")
            assert same_dtype(fw.result_type(fa, fb0), torch.result_type(ta, tb0)), (a, b)
            assert same_dtype(fw.result_type(fb0, fa), torch.result_type(tb0, ta)), (a, b)
            if a != "bool" and b != "bool":
                assert same_dtype(fa + fb0, ta + tb0), (a, b)
        for s in scalars.values():
            assert same_dtype(fw.result_type(fa, s), torch.result_type(ta, s)), (a, s)
            assert same_dtype(fw.result_type(fa[0], s), torch.result_type(ta[0], s)), (a, s)
            assert same_dtype(fa * s, ta * s), (a, s)


def test_names_aliases_and_properties():
    assert fw.half is fw.float16 and fw.short is fw.int16
    for n in NAMES:
        d, t = fwd(n), tcd(n)
        assert repr(d) == "fw." + n
        assert (d.is_floating_point, d.is_signed, d.itemsize) == \
            (t.is_floating_point, t.is_signed, t.itemsize), n
    assert fw.ByteTensor.dtype is fw.uint8 and fw.HalfTensor.dtype is fw.float16


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_matches_torch(name):
    f, t = fw.finfo(fwd(name)), torch.finfo(tcd(name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(f, attr) == getattr(t, attr), (name, attr)
    assert repr(f) == repr(t).replace("torch.", "")


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    f, t = fw.iinfo(fwd(name)), torch.iinfo(tcd(name))
    assert (f.bits, f.min, f.max) == (t.bits, t.min, t.max)
    assert repr(f) == repr(t)


# -- creation, casts, printing --------------------------------------------------------------
@pytest.mark.parametrize("name", ["float16", "bfloat16", "uint8", "int8", "int16"])
def test_creation_and_repr_match_torch(name):
    d, td = fwd(name), tcd(name)
    data = [[1.5, -2.25, 3.0], [0.1, 100.0, -0.5]] if d.is_floating_point else [[1, 2, 3], [4, 5, 120]]
    if name == "uint8":
        data = [[1, 2, 3], [4, 5, 250]]
    pairs = [(fw.tensor(data, dtype=d), torch.tensor(data, dtype=td)),
             (fw.zeros(2, 3, dtype=d), torch.zeros(2, 3, dtype=td)),
             (fw.ones(3, dtype=d), torch.ones(3, dtype=td)),
             (fw.full((2,), 7, dtype=d), torch.full((2,), 7, dtype=td)),
             (fw.arange(5, dtype=d), torch.arange(5, dtype=td)),
             (fw.zeros_like(fw.ones(2), dtype=d), torch.zeros_like(torch.ones(2), dtype=td)),
             (fw.tensor(data).to(d), torch.tensor(data).to(td)),
             (fw.tensor([], dtype=d), torch.tensor([], dtype=td))]
    if d.is_floating_point:
        pairs += [(fw.arange(0, 1, 0.25, dtype=d), torch.arange(0, 1, 0.25, dtype=td)),
                  (fw.full((2, 2), 1e-5, dtype=d), torch.full((2, 2), 1e-5, dtype=td)),
                  (fw.tensor(3.5, dtype=d), torch.tensor(3.5, dtype=td))]
    for f, t in pairs:
        assert f.dtype is d and tuple(f.shape) == tuple(t.shape)
        assert repr(f) == repr(t).replace("torch.", "fw."), (repr(f), repr(t))
        np.testing.assert_array_equal(host(f), host(t))
    f_like = fw.ones_like(pairs[0][0])
    assert f_like.dtype is d


def test_cast_methods_and_overflow_match_torch():
    x = [-300.7, -129.5, -1.5, 0.0, 2.5, 127.9, 255.0, 70000.0]
    fx, tx = fw.tensor(x, dtype=fw.float64), torch.tensor(x, dtype=torch.float64)
    for m in ("half", "bfloat16", "float", "double"):
        f, t = getattr(fx, m)(), getattr(tx, m)()
        assert same_dtype(f, t)
        np.testing.assert_array_equal(host(f), host(t), err_msg=m)
    small = [-3.5, -1.0, 0.0, 2.9, 100.0]  # in range of every integer type: C casts agree
    fs, ts = fw.tensor(small), torch.tensor(small)
    for m in ("byte", "char", "short"):
        if m == "byte":
            fs, ts = fs.abs(), ts.abs()
        f, t = getattr(fs, m)(), getattr(ts, m)()
        assert same_dtype(f, t)
        np.testing.assert_array_equal(host(f), host(t), err_msg=m)
    with pytest.raises(RuntimeError, match="overflow"):
        fw.full((2,), 70000.0, dtype=fw.float16)
    with pytest.raises(RuntimeError, match="overflow"):
        fw.tensor([300], dtype=fw.uint8)
    with pytest.raises(RuntimeError):
        torch.tensor([300], dtype=torch.uint8)


def test_numpy_round_trips_and_bfloat16_refuses_numpy():
    for name, npd in [("float16", np.float16), ("uint8", np.uint8), ("int8", np.int8),
                      ("int16", np.int16)]:
        a = np.arange(6, dtype=npd).reshape(2, 3)
        t = fw.from_numpy(a)
        assert t.dtype is fwd(name) and torch.from_numpy(a).dtype is tcd(name)
        t[0, 0] = 5  # shares memory, as torch.from_numpy
        assert a[0, 0] == 5 and t.numpy().dtype == npd
    b = fw.tensor([1.0, 2.0], dtype=fw.bfloat16)
    with pytest.raises(TypeError, match="BFloat16") as e:
        b.numpy()
    with pytest.raises(TypeError, match=str(e.value).split(" (")[0]):
        torch.tensor([1.0], dtype=torch.bfloat16).numpy()
    assert b.tolist() == [1.0, 2.0] and b[1].item() == 2.0 and type(b[1].item()) is float


# -- integer arithmetic ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["uint8", "int8", "int16"])
def test_small_integer_ops_wrap_and_promote_as_torch(name):
    info = torch.iinfo(tcd(name))
    vals = [info.min, info.min + 1, -3 if info.min else 3, 0, 1, 7, info.max - 1, info.max]
    fa, ta = fw.tensor(vals, dtype=fwd(name)), torch.tensor(vals, dtype=tcd(name))
    fb, tb = fa.flip(0), ta.flip(0)
    nz = lambda x: x.clamp(min=1) if name == "uint8" else x.abs().clamp(min=1)  # noqa: E731
    cases = [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: -x,
             lambda x, y: x + 1, lambda x, y: x + 300, lambda x, y: x * 2, lambda x, y: x / y,
             lambda x, y: x // nz(y), lambda x, y: x % nz(y), lambda x, y: x & y,
             lambda x, y: x ^ 5, lambda x, y: ~x, lambda x, y: x < y, lambda x, y: x.sum(),
             lambda x, y: x.prod(), lambda x, y: x.max(), lambda x, y: x.cumsum(0),
             lambda x, y: x.float().mean(), lambda x, y: x.abs(), lambda x, y: x * 0.5,
             lambda x, y: x + fw.tensor(1.5) if isinstance(x, fw.Tensor) else x + torch.tensor(1.5),
             lambda x, y: x.sort()[0], lambda x, y: x.argmax()]
    for i, f in enumerate(cases):
        r, t = f(fa, fb), f(ta, tb)
        assert same_dtype(r, t), (i, r.dtype, t.dtype)
        np.testing.assert_array_equal(host(r), host(t), err_msg=str(i))


def test_uint8_and_int8_mix_to_int16():
    r = fw.tensor([255], dtype=fw.uint8) + fw.tensor([-128], dtype=fw.int8)
    assert r.dtype is fw.int16 and r.item() == 127


# -- values and gradients of float16 / bfloat16 against PyTorch -------------------------------
def _check(fn, shapes, name, grad=True, seed=0, positive=False):
    """fn(lib, *inputs) in fw on inputs of dtype `name`, against PyTorch in float32 on the
    same (rounded) values: the dtype is PyTorch's for `name`, values and gradients (of a
    weighted sum) agree within the dtype's tolerance. A float32 reference, because PyTorch's
    own low-precision kernels round at places fw doesn't (its conv backward sums overlapping
    windows in float16), which would make a direct comparison test PyTorch's roundings."""
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    if positive:
        xs = [np.abs(x) + 0.5 for x in xs]
    fi = [fw.tensor(x).to(fwd(name)).requires_grad_(grad) for x in xs]
    ti = [torch.tensor(x).to(tcd(name)).float().requires_grad_(grad) for x in xs]
    with torch.no_grad():
        t_low = fn(torch, *[torch.tensor(x).to(tcd(name)) for x in xs])
    fo, to = fn(fw, *fi), fn(torch, *ti)
    assert same_dtype(fo, t_low), (fo.dtype, t_low.dtype)
    tol = TOL[name]
    np.testing.assert_allclose(host(fo), host(to), **tol)
    if grad:
        w = torch.tensor(rng.standard_normal(tuple(to.shape)).astype(np.float32)).to(tcd(name))
        (fo * fw.tensor(w.float().numpy()).to(fo.dtype)).sum().backward()
        (to * w.float()).sum().backward()
        for f, t in zip(fi, ti):
            assert f.grad.dtype is f.dtype
            np.testing.assert_allclose(host(f.grad), host(t.grad), **tol)


UNARY = ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "relu", "abs", "neg", "rsqrt", "erf"]
POSITIVE = {"log", "sqrt", "rsqrt"}


@pytest.mark.parametrize("name", LOW)
def test_unary_values_and_gradients(name):
    for op in UNARY:
        _check(lambda L, x: getattr(L, op)(x), [(3, 4)], name, positive=op in POSITIVE)


@pytest.mark.parametrize("name", LOW)
def test_binary_values_and_gradients(name):
    for f in (lambda L, a, b: a + b, lambda L, a, b: a * b, lambda L, a, b: a / b,
              lambda L, a, b: L.maximum(a, b), lambda L, a, b: a ** 2 - b * 3.5,
              lambda L, a, b: L.where(a > b, a, b), lambda L, a, b: L.atan2(a, b)):
        _check(f, [(3, 4), (4,)], name)
    _check(lambda L, a, b: a ** b, [(3, 4), (4,)], name, positive=True)


@pytest.mark.parametrize("name", LOW)
def test_reductions_accumulate_in_float32(name):
    for f in (lambda L, x: x.sum(), lambda L, x: x.sum(1), lambda L, x: x.mean(0),
              lambda L, x: x.var(1), lambda L, x: x.std(), lambda L, x: x.amax(1),
              lambda L, x: x.prod(1), lambda L, x: L.logsumexp(x, 1), lambda L, x: x.cumsum(1),
              lambda L, x: x.norm(), lambda L, x: x.max(0)[0]):
        _check(f, [(6, 5)], name)
    # a long sum: one rounding at the end, where 16-bit accumulation would stall
    f = fw.ones(4096, dtype=fwd(name)).sum()
    t = torch.ones(4096, dtype=tcd(name)).sum()
    assert f.item() == t.item() == 4096.0 and same_dtype(f, t)


@pytest.mark.parametrize("name", LOW)
def test_matmul_linear_and_conv(name):
    _check(lambda L, a, b: a @ b, [(5, 7), (7, 3)], name)
    _check(lambda L, a, b: L.bmm(a, b), [(2, 3, 8), (2, 8, 4)], name)
    _check(lambda L, x, w, b: L.nn.functional.linear(x, w, b), [(4, 6), (3, 6), (3,)], name)
    _check(lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1),
           [(2, 3, 5, 5), (4, 3, 3, 3), (4,)], name)
    _check(lambda L, x, w: L.nn.functional.conv1d(x, w, stride=2), [(2, 3, 9), (2, 3, 3)], name)


@pytest.mark.parametrize("name", LOW)
def test_nn_layers(name):
    Fs = lambda L: L.nn.functional  # noqa: E731
    _check(lambda L, x: Fs(L).softmax(x, 1), [(4, 7)], name)
    _check(lambda L, x: Fs(L).log_softmax(x, -1), [(4, 7)], name)
    _check(lambda L, x: Fs(L).gelu(x), [(4, 7)], name)
    _check(lambda L, x, w, b: Fs(L).layer_norm(x, (6,), w, b), [(3, 6), (6,), (6,)], name)
    _check(lambda L, x, w, b: Fs(L).batch_norm(x, None, None, w, b, training=True),
           [(5, 3, 2), (3,), (3,)], name)
    _check(lambda L, x: Fs(L).group_norm(x, 2), [(2, 4, 3)], name)
    _check(lambda L, x: Fs(L).max_pool2d(x, 2), [(1, 2, 4, 4)], name)
    _check(lambda L, x: Fs(L).avg_pool2d(x, 2), [(1, 2, 4, 4)], name)
    _check(lambda L, x: Fs(L).adaptive_avg_pool2d(x, 1), [(1, 2, 4, 4)], name)
    _check(lambda L, x: Fs(L).dropout(x, 0.0), [(3, 3)], name)
    _check(lambda L, a, b: Fs(L).mse_loss(a, b), [(4, 5), (4, 5)], name)
    _check(lambda L, a, b: Fs(L).smooth_l1_loss(a, b), [(4, 5), (4, 5)], name)
    tgt = [3, 0, 6, 1]
    _check(lambda L, x: Fs(L).cross_entropy(x, L.tensor(tgt)), [(4, 7)], name)
    _check(lambda L, x: Fs(L).nll_loss(Fs(L).log_softmax(x, 1), L.tensor(tgt)), [(4, 7)], name)
    _check(lambda L, x: Fs(L).binary_cross_entropy_with_logits(x, (x > 0).to(x.dtype)),
           [(4, 3)], name)
    _check(lambda L, w: Fs(L).embedding(L.tensor([[0, 2], [3, 3]]), w), [(5, 4)], name)
    _check(lambda L, q, k, v: Fs(L).scaled_dot_product_attention(q, k, v, is_causal=True),
           [(1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)], name)


# -- modules, optimizers, checkpoints -------------------------------------------------------
def _pair_models():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.BatchNorm1d(6),
                             torch.nn.Linear(6, 2))
    fm = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.BatchNorm1d(6), nn.Linear(6, 2))
    fm.load_state_dict({k: fw.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return fm, tm


@pytest.mark.parametrize("method", ["half", "bfloat16", "double", "float"])
def test_module_dtype_methods_convert_floating_state_only(method):
    fm, tm = _pair_models()
    getattr(fm, method)()
    getattr(tm, method)()
    for (k, f), (_, t) in zip(fm.state_dict().items(), tm.state_dict().items()):
        assert same_dtype(f, t), k  # num_batches_tracked stays int64
    fm.float().to(fw.bfloat16)
    assert fm[0].weight.dtype is fw.bfloat16 and fm[2].num_batches_tracked.dtype is fw.int64


@pytest.mark.parametrize("name", LOW)
@pytest.mark.parametrize("opt", ["SGD", "Adam", "AdamW"])
def test_optimizer_steps_low_precision_params(name, opt):
    # fw's cpu steps compute in float32 and round once into the 16-bit param and state (in
    # the param's dtype, as PyTorch keeps it). The reference is PyTorch in float32 from the
    # same rounded weights and data: its own float16 steps round after every op (and its
    # float16 Adam's eps of 1e-8 underflows to 0: NaN where a gradient is tiny). Adam's eps
    # is 1e-3 here: with 1e-8 an update of a near-zero gradient is its sign, which no two
    # roundings agree on.
    fm, tm = _pair_models()
    fm.to(fwd(name))
    tm.to(tcd(name)).float()
    kw = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=1e-2, eps=1e-3),
          "AdamW": dict(lr=1e-2, eps=1e-3)}[opt]
    fo = getattr(optim, opt)(fm.parameters(), foreach=False, **kw)
    to = getattr(torch.optim, opt)(tm.parameters(), **kw)
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    fx, tx = fw.tensor(x).to(fwd(name)), torch.tensor(x).to(tcd(name)).float()
    for _ in range(3):
        for m, o, X in ((fm, fo, fx), (tm, to, tx)):
            o.zero_grad()
            (m(X) ** 2).mean().backward()
            o.step()
    for (k, f), (_, t) in zip(fm.state_dict().items(), tm.state_dict().items()):
        assert f.dtype is (fwd(name) if t.is_floating_point() else fw.int64), k
        np.testing.assert_allclose(host(f), host(t), rtol=4 * TOL[name]["rtol"],
                                   atol=4 * TOL[name]["atol"], err_msg=k)
    for k, v in fo.state[fm[0].weight].items():
        if isinstance(v, fw.Tensor) and v.ndim:
            assert v.dtype is fwd(name), k


CKPT = {"f16": lambda L: L.tensor([0.1, -65504.0, 6e-8, float("inf")], dtype=L.float16),
        "bf16": lambda L: L.tensor([0.1, -3.0e38, 1e-40, float("nan")], dtype=L.bfloat16),
        "u8": lambda L: L.tensor([0, 7, 255], dtype=L.uint8),
        "i8": lambda L: L.tensor([-128, 0, 127], dtype=L.int8),
        "i16": lambda L: L.tensor([-32768, 1, 32767], dtype=L.int16)}


def _bits(t):
    """The raw bytes of a fw or torch tensor, for bit-exact comparison."""
    if isinstance(t, torch.Tensor):
        return t.contiguous().view(torch.uint8).numpy().tobytes()
    return t._host().tobytes()


@pytest.mark.parametrize("fmt", ["torch", "safetensors"])
def test_checkpoints_carry_the_new_dtypes_bit_for_bit_both_ways(tmp_path, fmt):
    from safetensors.torch import load_file, save_file
    fobj = {k: f(fw) for k, f in CKPT.items()}
    tobj = {k: f(torch) for k, f in CKPT.items()}
    path = tmp_path / "fw.ckpt"
    fw.save(fobj, path, **({"format": "torch"} if fmt == "torch" else {}))
    back = torch.load(path, weights_only=True) if fmt == "torch" else load_file(str(path))
    for k in CKPT:
        assert same_dtype(back[k], tobj[k]) and _bits(back[k]) == _bits(fobj[k]), k
    tpath = tmp_path / "torch.ckpt"
    torch.save(tobj, tpath) if fmt == "torch" else save_file(tobj, str(tpath))
    got = fw.load(tpath)
    for k in CKPT:
        assert same_dtype(got[k], tobj[k]) and _bits(got[k]) == _bits(tobj[k]), k


# -- devices whose kernels lack a dtype -----------------------------------------------------
def test_buffer_devices_refuse_new_dtypes_by_name():
    from framework.testing import available_devices
    devices = [d for d in available_devices() if d in ("opencl", "vulkan")]
    for device, name in itertools.product(devices, ["float16", "bfloat16", "uint8", "int8", "int16"]):
        with pytest.raises(RuntimeError, match=f"{name} is not supported on .*{device}") as e:
            fw.zeros(2, dtype=fwd(name), device=device)
        with pytest.raises(RuntimeError, match=f"{name} is not supported"):
            fw.ones(2, dtype=fwd(name)).to(device)
        with pytest.raises(RuntimeError, match=f"{name} is not supported"):
            fw.ones(2, device=device).to(fwd(name))
        if name == "float16":
            assert "fp16" in str(e.value) or "f16" in str(e.value)


def test_uint8_index_is_a_mask_and_small_int_indices_are_refused():
    x, tx = fw.arange(3.0), torch.arange(3.0)
    with pytest.warns(UserWarning, match="uint8"):
        got = x[fw.tensor([1, 0, 1], dtype=fw.uint8)]
    with pytest.warns(UserWarning, match="uint8"):
        want = tx[torch.tensor([1, 0, 1], dtype=torch.uint8)]
    assert got.tolist() == want.tolist() == [0.0, 2.0]
    for name in ("int8", "int16"):
        with pytest.raises(IndexError, match="long, int, byte or bool"):
            x[fw.tensor([1, 0], dtype=fwd(name))]
        with pytest.raises(IndexError, match="long, int, byte or bool"):
            tx[torch.tensor([1, 0], dtype=tcd(name))]
    with pytest.raises(RuntimeError, match="boolean masks"):
        x[fw.tensor([1, 0, 1], dtype=fw.uint8)] = 7.0
    with pytest.raises(RuntimeError, match="boolean masks"):
        tx[torch.tensor([1, 0, 1], dtype=torch.uint8)] = 7.0


@pytest.mark.parametrize("name", LOW)
def test_recurrent_and_transformer_layers(name):
    # whole layers in float16/bfloat16 against PyTorch's float32 on the same rounded weights
    torch.manual_seed(0)
    pairs = [(torch.nn.LSTM(4, 5, batch_first=True), nn.LSTM(4, 5, batch_first=True), 4),
             (torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
              nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 8)]
    for tm, fm, d in pairs:
        fm.load_state_dict({k: fw.tensor(v.numpy()) for k, v in tm.state_dict().items()})
        fm.to(fwd(name))
        tm.to(tcd(name)).float()
        x = np.random.default_rng(0).standard_normal((2, 3, d)).astype(np.float32)
        fx = fw.tensor(x).to(fwd(name)).requires_grad_()
        tx = torch.tensor(x).to(tcd(name)).float().requires_grad_()
        fo, to = fm(fx), tm(tx)
        fo, to = (fo[0], to[0]) if isinstance(fo, tuple) else (fo, to)
        assert fo.dtype is fwd(name)
        (fo * fo).sum().backward()
        (to * to).sum().backward()
        np.testing.assert_allclose(host(fo), host(to), **TOL[name])
        np.testing.assert_allclose(host(fx.grad), host(tx.grad), **TOL[name])
        for (k, p), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
            assert p.grad.dtype is fwd(name), k
            # sums over the batch, some cancelling to ~0: an absolute tolerance, 4 ulps-ish
            np.testing.assert_allclose(host(p.grad), host(tp.grad), rtol=4 * TOL[name]["rtol"],
                                       atol=4 * TOL[name]["atol"], err_msg=k)
