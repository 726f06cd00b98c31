"""PyTorch's everyday API surface (issue 19, item 1), each piece checked against torch:
the *_like creators, broadcasting helpers, index_add/copy/fill and masked_scatter (values
and gradients), indexing with ranges and sequences, the legacy constructors, the
torch.cuda / torch.backends / torch.onnx shims, DataParallel, PyTorch's nn.modules paths,
F.pad, the schedulers fw lacked, thread counts and Module dtype casts."""
import importlib
import inspect
import math
import pickle
import warnings

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn
from oracle import assert_same_error


def _both(fn):
    """fn(torch) and fn(fw) as NumPy arrays."""
    out = []
    for lib in (torch, fw):
        r = fn(lib)
        out.append(r.detach().cpu().numpy() if isinstance(r, (torch.Tensor, fw.Tensor))
                   else np.asarray(r))
    return out




def _t(lib, a, device, grad=False):
    if lib is torch:
        return torch.tensor(a, requires_grad=grad)
    return fw.tensor(a, device=device, requires_grad=grad)


# -- *_like ----------------------------------------------------------------------------------
def test_every_like_function_torch_has_exists():
    names = {n for n in dir(torch) if n.endswith("_like") and not n.startswith("_")}
    assert names <= set(dir(fw)), names - set(dir(fw))


@pytest.mark.parametrize("name", ["rand_like", "randn_like"])
def test_random_like(device, name):
    x = fw.zeros(3, 4, dtype=fw.float64, device=device)
    y = getattr(fw, name)(x)
    assert (y.shape, y.dtype, y.device) == (x.shape, x.dtype, x.device)
    assert getattr(fw, name)(x, dtype=fw.float32).dtype is fw.float32
    assert getattr(fw, name)(x, requires_grad=True).requires_grad
    v = y.cpu().numpy()
    assert len(np.unique(v)) == v.size  # random, not a fill
    if name == "rand_like":
        assert v.min() >= 0 and v.max() < 1
    g1, g2 = fw.Generator().manual_seed(5), fw.Generator().manual_seed(5)
    np.testing.assert_array_equal(getattr(fw, name)(x, generator=g1).cpu().numpy(),
                                  getattr(fw, name)(x, generator=g2).cpu().numpy())
    assert_same_error(lambda L: getattr(L, name)(L.zeros(2, dtype=L.int64)))


def test_randint_like(device):
    x = fw.zeros(200, device=device)
    for args, (lo, hi) in (((5,), (0, 5)), ((-3, 4), (-3, 4))):
        y = fw.randint_like(x, *args)
        t = torch.randint_like(torch.zeros(200), *args)
        assert y.dtype is fw.float32 and t.dtype is torch.float32  # input's dtype, even float
        v = y.cpu().numpy()
        assert v.min() >= lo and v.max() < hi and np.all(v == np.round(v))
        assert len(np.unique(v)) > 1
    assert fw.randint_like(x, 3, dtype=fw.int64).dtype is fw.int64
    assert fw.randint_like(fw.zeros(2, 3, dtype=fw.int32), 9).dtype is fw.int32


def test_like_keeps_device_and_dtype(device):
    x = fw.zeros(2, 3, dtype=fw.int32, device=device)
    for name in ("zeros_like", "ones_like", "empty_like"):
        y = getattr(fw, name)(x)
        assert (y.shape, y.dtype, y.device) == (x.shape, x.dtype, x.device)
    y = fw.full_like(x, 7)
    np.testing.assert_array_equal(y.cpu().numpy(), np.full((2, 3), 7))


# -- broadcasting helpers -----------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((2, 1), (3,)), (2, (3, 1)), ((1, 4), (5, 1, 1), ()),
                                    ((0, 1), (3,)), ()])
def test_broadcast_shapes(shapes):
    assert tuple(fw.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    assert isinstance(fw.broadcast_shapes(*shapes), fw.Size)


def test_broadcast_shapes_errors():
    assert_same_error(lambda L: L.broadcast_shapes((2,), (3,)))
    assert_same_error(lambda L: L.broadcast_shapes((-1,), (3,)))
    assert_same_error(lambda L: L.broadcast_tensors(L.zeros(2), L.zeros(3)))


def test_broadcast_tensors(device):
    a = np.random.randn(3, 1).astype(np.float32)
    b = np.random.randn(4).astype(np.float32)
    res = {}
    for lib in (torch, fw):
        x, y = _t(lib, a, device, True), _t(lib, b, device, True)
        u, v = lib.broadcast_tensors(x, y)
        assert tuple(u.shape) == tuple(v.shape) == (3, 4)
        (u * 2 + v * v).sum().backward()
        res[lib] = [t.detach().cpu().numpy() for t in (u, v, x.grad, y.grad)]
    for r, e in zip(res[fw], res[torch]):
        np.testing.assert_allclose(r, e, rtol=1e-6)
    u, = fw.broadcast_tensors(fw.zeros(2, device=device))
    assert u.shape == (2,)


# -- index_add / index_copy / index_fill / masked_scatter -----------------------------------
def _check_op(device, fn, inputs, inplace=False):
    """fn(lib, *tensors) in both libraries: values and the gradients of every float input."""
    out, grads = {}, {}
    g = None
    for lib in (torch, fw):
        ts = [_t(lib, a, device, a.dtype.kind == "f") for a in inputs]
        leaves = [t for t in ts if t.requires_grad]
        args = [t.clone() if (inplace and i == 0) else t for i, t in enumerate(ts)]
        r = fn(lib, *args)
        if g is None:
            g = np.random.randn(*r.shape).astype(np.float32)
        r.backward(_t(lib, g, device))
        out[lib] = r.detach().cpu().numpy()
        grads[lib] = [t.grad.cpu().numpy() for t in leaves]
    np.testing.assert_allclose(out[fw], out[torch], rtol=1e-5, atol=1e-6)
    for a, b in zip(grads[fw], grads[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_with_duplicates(device, dim):
    x = np.random.randn(4, 5).astype(np.float32)
    n = 7
    shape = [4, 5]
    shape[dim] = n
    src = np.random.randn(*shape).astype(np.float32)
    idx = np.array([0, 3, 0, 0, 2, 3, 1])  # repeats must add up
    _check_op(device, lambda L, a, s, i: a.index_add(dim, i, s, alpha=1.5), [x, src, idx])
    _check_op(device, lambda L, a, s, i: L.index_add(a, dim, i.int(), s), [x, src, idx])
    _check_op(device, lambda L, a, s, i: a.index_add_(dim, i, s), [x, src, idx], inplace=True)


def test_index_copy(device):
    x = np.random.randn(3, 6).astype(np.float32)
    src = np.random.randn(3, 3).astype(np.float32)
    idx = np.array([5, 0, 2])
    _check_op(device, lambda L, a, s, i: a.index_copy(1, i, s), [x, src, idx])
    _check_op(device, lambda L, a, s, i: a.index_copy_(1, i, s), [x, src, idx], inplace=True)
    _check_op(device, lambda L, a, s, i: L.index_copy(a, 0, i[1:] // 2, s[:2].repeat(1, 2)),
              [x, src, idx])


def test_index_fill(device):
    x = np.random.randn(4, 3).astype(np.float32)
    idx = np.array([3, 0, 1])
    _check_op(device, lambda L, a, i: a.index_fill(0, i, -2.5), [x, idx])
    neg = [-1, -4]  # wrapped (torch's backward fails on these, so values only)
    np.testing.assert_array_equal(
        fw.tensor(x, device=device).index_fill(0, fw.tensor(neg, device=device), 3.0).cpu().numpy(),
        torch.tensor(x).index_fill(0, torch.tensor(neg), 3.0).numpy())
    _check_op(device, lambda L, a, i: a.index_fill_(1, i[2:], 7.0), [x, idx], inplace=True)
    v = np.array(1.25, np.float32)  # a 0-d tensor value gets its gradient
    _check_op(device, lambda L, a, i, val: a.index_fill(0, i, val), [x, idx, v])
    r = fw.zeros(3, dtype=fw.int64, device=device).index_fill(0, fw.tensor([1], device=device),
                                                              2.7)
    t = torch.zeros(3, dtype=torch.int64).index_fill(0, torch.tensor([1]), 2.7)
    assert r.tolist() == t.tolist() and r.dtype is fw.int64


def test_masked_scatter(device):
    x = np.random.randn(3, 4).astype(np.float32)
    mask = np.random.rand(3, 4) > 0.5
    mask[0, 0] = True
    src = np.random.randn(15).astype(np.float32)
    _check_op(device, lambda L, a, m, s: a.masked_scatter(m, s), [x, mask, src])
    _check_op(device, lambda L, a, m, s: a.masked_scatter_(m, s.reshape(3, 5)),
              [x, mask, src], inplace=True)
    row = mask[1]  # broadcast over the rows
    _check_op(device, lambda L, a, m, s: L.masked_scatter(a, m, s), [x, row, src])
    _check_op(device, lambda L, a, m, s: a.masked_scatter(m, s), [x, np.zeros(4, bool), src])


def test_index_ops_errors():
    i, x = (lambda L: L.tensor([0, 2, 0])), (lambda L: L.zeros(3, 4))
    cases = [
        lambda L: x(L).index_add(0, i(L).view(3, 1), L.ones(3, 4)),
        lambda L: x(L).index_add(0, i(L).float(), L.ones(3, 4)),
        lambda L: x(L).index_add(0, L.tensor([5, 0, 0]), L.ones(3, 4)),
        lambda L: x(L).index_add(0, L.tensor([-1, 0, 0]), L.ones(3, 4)),
        lambda L: L.zeros(3).index_add(0, L.tensor([3]), L.ones(1)),
        lambda L: x(L).index_add(0, i(L), L.ones(2, 4)),
        lambda L: x(L).index_add(0, i(L), L.ones(3, 5)),
        lambda L: x(L).index_add(0, i(L), L.ones(3, 4, dtype=L.float64)),
        lambda L: x(L).index_add(2, i(L), L.ones(3, 4)),
        lambda L: x(L).index_copy(1, L.tensor([4, 1]), L.ones(3, 2)),
        lambda L: x(L).index_copy(1, L.tensor([[3, 1]]), L.ones(3, 2)),
        lambda L: x(L).index_copy(1, L.tensor([3, 1]), L.ones(3, 3)),
        lambda L: x(L).index_copy(1, L.tensor([3, 1]), L.ones(2, 2)),
        lambda L: x(L).index_copy(1, L.tensor([3, 1]).int(), L.ones(3, 2)),
        lambda L: x(L).index_copy(1, L.tensor([3, 1]), L.ones(3, 2).double()),
        lambda L: x(L).index_fill(1, L.tensor([3, 1]), L.tensor([2.0])),
        lambda L: x(L).index_fill(1, L.tensor([4, 1]), 2.0),
        lambda L: x(L).index_fill(1, L.tensor([3.0, 1]), 2.0),
        lambda L: x(L).index_fill(1, L.tensor([[3, 1]]), 2.0),
        lambda L: x(L).masked_scatter(L.ones(3, 4, dtype=L.bool), L.arange(5.0)),
        lambda L: x(L).masked_scatter(L.ones(3, 4, dtype=L.bool), L.arange(12.0).double()),
        lambda L: x(L).masked_scatter(L.ones(3, 4), L.arange(12.0)),
        lambda L: L.zeros(4).masked_scatter_(L.ones(3, 4, dtype=L.bool), L.arange(12.0)),
        lambda L: L.zeros(3, requires_grad=True).index_add_(0, L.tensor([0]), L.ones(1)),
    ]
    for case in cases:
        assert_same_error(case)


# -- indexing with sequences ----------------------------------------------------------------
KEYS = [range(2), (range(1, 3),), (slice(None), range(0, 4, 2)), [True, False, True],
        ((0, 1), slice(None)), np.array([0, 2]), np.array([True, False, True]),
        (Ellipsis, None, [0, 1]), (None, Ellipsis, 1), (0, None, Ellipsis, [1, 2]),
        ([0, 2], Ellipsis, [1, 3]), (slice(None), [[0], [1]], [1, 2]), range(0),
        (np.int64(1), [0, 1]), ([True, False, True], slice(1, 3)), ((1, 2), (0, 3)),
        (None, [0, 1], None), (0, slice(None), [1, 2]), ([0, 1], slice(None), 0),
        (1, [True, False, True, False]), (Ellipsis, range(3)), [[0, 1], [1, 2]],
        [0, slice(None), 1], [np.array([0, 1])], [range(2)]]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_index_with_sequences(device, key):
    a = np.random.randn(3, 4, 5).astype(np.float32)
    res = {}
    for lib in (torch, fw):
        x = _t(lib, a, device, True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # both warn that a list read as a tuple is legacy
            y = x[key]
        g = (lib.arange(y.numel(), dtype=lib.float32).reshape(y.shape) if lib is torch else
             fw.arange(y.numel(), dtype=fw.float32, device=device).reshape(y.shape))
        (y * g).sum().backward()
        z = x.detach().clone()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z[key] = -1.0
        res[lib] = (y.detach().cpu().numpy(), x.grad.cpu().numpy(), z.cpu().numpy())
    for r, e in zip(res[fw], res[torch]):
        assert r.shape == e.shape
        np.testing.assert_array_equal(r, e)


def test_zero_dim_int_tensor_index_is_an_int(device):
    x = fw.arange(60.0, device=device).reshape(3, 4, 5)
    t = torch.arange(60.0).reshape(3, 4, 5)
    assert x[fw.tensor(0, device=device), :, [1, 2]].shape == t[torch.tensor(0), :, [1, 2]].shape
    assert x[fw.tensor(2)].tolist() == t[torch.tensor(2)].tolist()


def test_list_read_as_tuple_warns():
    with pytest.warns(UserWarning, match="tuple"):
        fw.zeros(3, 3)[[0, slice(None)]]


# -- legacy constructors and device flags ---------------------------------------------------
@pytest.mark.parametrize("args", [(2, 3), ([1, 2],), ((2, 3),), (), (3,), ([[1.5], [2]],)])
@pytest.mark.parametrize("name", ["Tensor", "FloatTensor", "DoubleTensor", "LongTensor",
                                  "IntTensor", "BoolTensor"])
def test_legacy_constructors(name, args):
    t, f = getattr(torch, name)(*args), getattr(fw, name)(*args)
    assert tuple(f.shape) == tuple(t.shape) and f.dtype.name == str(t.dtype)[6:]
    if args and not isinstance(args[0], int):
        assert f.tolist() == t.tolist()


def test_legacy_constructor_forms(device):
    assert fw.Tensor(fw.Size([2, 2])).shape == (2, 2)
    assert fw.Tensor(np.array([1, 2])).dtype is fw.float32
    assert fw.Tensor(2, device=device).device.type == device
    assert isinstance(fw.Tensor([1.0]), fw.Tensor) and isinstance(fw.zeros(1), fw.FloatTensor)
    assert_same_error(lambda L: L.Tensor(2.5))
    assert_same_error(lambda L: L.Tensor(-1))


def test_device_flags(device):
    x = fw.zeros(1, device=device)
    assert (x.is_cuda, x.is_xpu, x.is_mps) == (False, False, False)
    assert x.is_cpu == (device == "cpu")


# -- fw.cuda, fw.backends, fw.onnx -----------------------------------------------------------
def test_cuda_answers_as_a_cpu_build_of_torch():
    for name in ("is_available", "device_count", "is_initialized", "memory_allocated",
                 "max_memory_allocated", "memory_reserved", "is_bf16_supported",
                 "empty_cache", "seed", "seed_all"):
        assert getattr(fw.cuda, name)() == getattr(torch.cuda, name)(), name
    assert fw.cuda.manual_seed(3) is None and fw.cuda.manual_seed_all(3) is None
    for name in ("synchronize", "current_device", "get_device_name", "init"):
        assert_same_error(lambda L: getattr(L.cuda, name)())
    assert not isinstance(fw.zeros(1), fw.cuda.FloatTensor)
    assert_same_error(lambda L: L.cuda.FloatTensor(2))
    assert_same_error(lambda L: L.zeros(2).type("torch.cuda.FloatTensor"))


def test_backends_flags():
    import framework.backends.cudnn as cudnn
    tc = torch.backends.cudnn
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, name) == getattr(tc, name), name
    assert cudnn.is_available() is tc.is_available() is False
    assert cudnn.version() is None
    assert fw.backends.mps.is_available() is torch.backends.mps.is_available()
    assert fw.backends.mps.is_built() is torch.backends.mps.is_built()
    assert fw.backends.cuda.is_built() is torch.backends.cuda.is_built()
    assert fw.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert fw.backends.mkldnn.enabled is True and fw.backends.mkldnn.is_available() is False
    cudnn.benchmark = True  # programs set these: kept, changing nothing
    try:
        assert fw.backends.cudnn.benchmark is True
        with cudnn.flags(enabled=False, deterministic=True):
            assert cudnn.enabled is False and cudnn.deterministic is True
        assert cudnn.enabled is True and cudnn.deterministic is False
    finally:
        cudnn.benchmark = False


def test_onnx_is_importable():
    onnx = importlib.import_module("framework.onnx")   # the exporter: tests/test_onnx_export.py
    assert onnx.is_in_onnx_export() is False
    assert callable(onnx.export) and callable(onnx.load)


# -- DataParallel ---------------------------------------------------------------------------
def test_data_parallel_is_a_pass_through():
    assert nn.DataParallel is nn.parallel.DataParallel
    fw.manual_seed(0)
    inner = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    m = nn.DataParallel(inner, device_ids=[0])
    t = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                                  torch.nn.Linear(4, 2)))
    assert m.module is inner
    assert list(m.state_dict()) == list(t.state_dict())  # the "module." prefix
    x = fw.randn(5, 3)
    np.testing.assert_array_equal(m(x).detach().numpy(), inner(x).detach().numpy())
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    np.testing.assert_allclose(m(x).detach().numpy(),
                               t(torch.tensor(x.numpy())).detach().numpy(), rtol=1e-6)
    with pytest.raises(TypeError):
        nn.DataParallel(lambda x: x)


# -- PyTorch's module paths -----------------------------------------------------------------
def _shared_module_classes():
    for name in dir(nn):
        c = getattr(nn, name)
        tc = getattr(torch.nn, name, None)
        if inspect.isclass(c) and issubclass(c, nn.Module) and inspect.isclass(tc):
            yield name, c, tc


def test_every_class_resolves_at_torchs_path():
    seen = 0
    for name, c, tc in _shared_module_classes():
        path = tc.__module__.replace("torch", "framework", 1)
        assert getattr(importlib.import_module(path), name) is c, (name, path)
        assert c.__module__ == path, (name, c.__module__, path)
        seen += 1
    assert seen > 50


def test_named_paths():
    from framework.nn.modules import activation, batchnorm, linear, module, rnn
    assert activation.MultiheadAttention is nn.MultiheadAttention
    assert linear.Identity is nn.Identity and rnn.LSTM is nn.LSTM
    assert batchnorm.BatchNorm2d is nn.BatchNorm2d and module.Module is nn.Module
    assert issubclass(linear.NonDynamicallyQuantizableLinear, nn.Linear)
    mha, tmha = nn.MultiheadAttention(4, 2), torch.nn.MultiheadAttention(4, 2)
    assert type(mha.out_proj).__name__ == type(tmha.out_proj).__name__


def test_pickled_model_names_torchs_paths():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Identity())
    blob = pickle.dumps(m)
    for path in (b"framework.nn.modules.batchnorm", b"framework.nn.modules.linear",
                 b"framework.nn.modules.conv", b"framework.nn.modules.container"):
        assert path in blob
    back = pickle.loads(blob)
    assert type(back[1]) is nn.BatchNorm2d


# -- nn.functional.pad ----------------------------------------------------------------------
@pytest.mark.parametrize("mode,pad,shape", [("constant", (1, 2), (2, 3, 4)),
                                            ("constant", (1, 0, 2, 1, 1, 1), (2, 3, 4)),
                                            ("reflect", (2, 1), (1, 2, 5)),
                                            ("reflect", (1, 2, 2, 0), (1, 2, 4, 5)),
                                            ("replicate", (3, 1), (1, 2, 4)),
                                            ("replicate", (1, 1, 2, 3), (1, 2, 3, 4)),
                                            ("circular", (2, 1), (1, 2, 4)),
                                            ("circular", (1, 2, 1, 0), (1, 1, 3, 4)),
                                            ("replicate", (1, 1, 1, 1, 1, 1), (1, 1, 2, 3, 2))])
def test_functional_pad(device, mode, pad, shape):
    a = np.random.randn(*shape).astype(np.float32)
    kw = {"value": 0.5} if mode == "constant" else {}
    res = {}
    for lib in (torch, fw):
        x = _t(lib, a, device, True)
        y = lib.nn.functional.pad(x, pad, mode=mode, **kw)
        w = y.detach() * 0 + 1
        (y * y * w).sum().backward()
        res[lib] = (y.detach().cpu().numpy(), x.grad.cpu().numpy())
    for r, e in zip(res[fw], res[torch]):
        np.testing.assert_allclose(r, e, rtol=1e-6)


@pytest.mark.parametrize("name,args", [("ZeroPad1d", (2,)), ("ZeroPad2d", ((1, 0, 2, 1),)),
                                       ("ZeroPad3d", (1,)), ("ConstantPad1d", ((1, 2), 3.5)),
                                       ("ConstantPad2d", (1, -1.0)), ("ConstantPad3d", (1, 2.0)),
                                       ("ReflectionPad1d", (2,)), ("ReflectionPad2d", ((1, 0, 2, 1),)),
                                       ("ReflectionPad3d", (1,)), ("ReplicationPad1d", (2,)),
                                       ("ReplicationPad2d", (1,)), ("ReplicationPad3d", (1,)),
                                       ("CircularPad1d", (2,)), ("CircularPad2d", ((1, 2, 0, 1),)),
                                       ("CircularPad3d", (1,))])
def test_padding_layers(name, args):
    d = int(name[-2])
    a = np.random.randn(*[2, 3, 5, 4, 3][:d + 2]).astype(np.float32)
    f, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(f) == repr(t)
    assert isinstance(f, nn.ConstantPad1d) == isinstance(t, torch.nn.ConstantPad1d)
    res = {}
    for lib, m in ((torch, t), (fw, f)):
        x = _t(lib, a, "cpu", True)
        y = m(x)
        (y * y).sum().backward()
        res[lib] = (y.detach().numpy(), x.grad.numpy())
    for r, e in zip(res[fw], res[torch]):
        np.testing.assert_allclose(r, e, rtol=1e-6)


def test_functional_pad_errors():
    assert_same_error(lambda L: L.nn.functional.pad(L.zeros(1, 2, 3), (3, 3), mode="reflect"))
    assert_same_error(lambda L: L.nn.functional.pad(L.zeros(1, 2, 3), (1,)))
    assert_same_error(lambda L: L.nn.functional.pad(L.zeros(1, 2, 3), (1, 1), mode="nearest"))


# -- learning-rate schedulers -----------------------------------------------------------------
def _lrs(lib, make, steps, epochs=None, opt="SGD"):
    p = [lib.nn.Parameter(lib.zeros(2))]
    q = [lib.nn.Parameter(lib.zeros(1))]
    kw = {"momentum": 0.9} if opt == "SGD" else {}
    o = getattr(lib.optim, opt)([{"params": p}, {"params": q, "lr": 0.5}], lr=0.1, **kw)
    s = make(lib.optim.lr_scheduler, o)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            o.step()
            s.step() if epochs is None else s.step(epochs[i])
            out.append([g["lr"] for g in o.param_groups]
                       + [g["momentum"] if "momentum" in g else g.get("betas", [None])[0]
                          for g in o.param_groups])
    return out, s


SCHEDULES = [
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3), 20, None, "SGD"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.01), 30, None,
     "SGD"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3), 20,
     [i * 0.7 for i in range(20)], "SGD"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4), 20, [i * 0.3 for i in range(20)],
     "SGD"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3), 20, None, "SGD"),
    (lambda L, o: L.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=2, step_size_down=5,
                             mode="triangular2"), 30, None, "SGD"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.9), 30,
     None, "SGD"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 0.5 ** x,
                             scale_mode="iterations"), 20, None, "SGD"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3), 12, None, "Adam"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, cycle_momentum=False), 12, None,
     "Adagrad"),
]


@pytest.mark.parametrize("case", range(len(SCHEDULES)))
def test_new_schedulers_match_torch_step_by_step(case):
    make, steps, epochs, opt = SCHEDULES[case]
    expected, _ = _lrs(torch, make, steps, epochs, opt)
    got, s = _lrs(fw, make, steps, epochs, opt)
    assert got == expected  # the same arithmetic: the same floats
    assert s.get_last_lr() == [r for r in got[-1][:2]]


def test_every_torch_scheduler_exists():
    names = {n for n, c in vars(torch.optim.lr_scheduler).items()
             if inspect.isclass(c) and issubclass(c, torch.optim.lr_scheduler.LRScheduler)}
    assert names <= set(dir(fw.optim.lr_scheduler)), names - set(dir(fw.optim.lr_scheduler))


def test_scheduler_errors():
    def opt(L):
        return L.optim.SGD([L.nn.Parameter(L.zeros(1))], lr=0.1)
    assert_same_error(lambda L: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt(L), T_0=0))
    assert_same_error(lambda L: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt(L), 2,
                                                                           T_mult=0))
    assert_same_error(lambda L: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt(L), 2).step(-1))
    assert_same_error(lambda L: L.optim.lr_scheduler.CyclicLR(opt(L), 0.1, 1.0, mode="nope"))
    assert_same_error(lambda L: L.optim.lr_scheduler.CyclicLR(
        L.optim.Adagrad([L.nn.Parameter(L.zeros(1))]), 0.1, 1.0))


def test_cyclic_state_dict_round_trip():
    _, s = _lrs(fw, lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3), 4)
    state = s.state_dict()
    assert all(not callable(v) for v in state.values())
    _, s2 = _lrs(fw, lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3), 1)
    s2.load_state_dict(state)
    assert s2.last_epoch == s.last_epoch and s2.get_lr() == s.get_lr()


# -- threads ----------------------------------------------------------------------------------
def test_num_threads():
    before = fw.get_num_threads()
    assert isinstance(before, int) and before >= 1
    try:
        fw.set_num_threads(1)
        assert fw.get_num_threads() == 1
        a = fw.randn(64, 64)
        np.testing.assert_allclose((a @ a).numpy(), a.numpy() @ a.numpy(), rtol=1e-4,
                                   atol=1e-4)
    finally:
        fw.set_num_threads(before)
    assert fw.get_num_threads() == before
    for bad in (0, -1, 1.5, "2"):
        assert_same_error(lambda L: L.set_num_threads(bad))


# -- Module and Tensor dtype casts -------------------------------------------------------------
def test_module_casts():
    m, t = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    for cast in (lambda x: x.double(), lambda x: x.float(), lambda x: x.half(),
                 lambda x: x.bfloat16(),
                 lambda x: x.to(fw.float64 if isinstance(x, nn.Module) else torch.float64)):
        cast(m), cast(t)
        got = {k: v.dtype.name for k, v in m.state_dict().items()}
        assert got == {k: str(v.dtype)[6:] for k, v in t.state_dict().items()}


# -- everyday Tensor API --------------------------------------------------------------------------
def test_tensor_type():
    for lib in (torch, fw):
        assert lib.zeros(2).type() == f"{lib.__name__.replace('framework', 'fw')}.FloatTensor"
    assert fw.zeros(2).type("torch.LongTensor").dtype is fw.int64  # ported code's spelling
    assert fw.zeros(2).type("fw.IntTensor").dtype is fw.int32
    assert fw.zeros(2).type(fw.DoubleTensor).dtype is fw.float64
    assert fw.zeros(2).type(fw.int64).dtype is fw.int64
    assert_same_error(lambda L: L.zeros(2).type("foo"))


def test_new_constructors(device):
    x = fw.zeros(2, dtype=fw.float64, device=device)
    t = torch.zeros(2, dtype=torch.float64)
    for f in (lambda a: a.new_zeros((2, 3)), lambda a: a.new_ones(2, 3),
              lambda a: a.new_empty(size=(4,)), lambda a: a.new_zeros(size=(1, 2)),
              lambda a: a.new_full((2,), 3.5), lambda a: a.new_tensor([1, 2])):
        r, e = f(x), f(t)
        assert tuple(r.shape) == tuple(e.shape) and r.dtype is fw.float64
        assert r.device == x.device
        if f is not None and e.numel() and not r.shape == (4,):
            np.testing.assert_array_equal(r.cpu().numpy(), e.numpy())
    with pytest.raises(TypeError):
        x.new_zeros(2, size=(2,))


def test_no_grad_forms_and_data_assignment():
    for lib in (torch, fw):
        @lib.no_grad()
        def called(x):
            return (x * 2).requires_grad

        @lib.no_grad
        def bare(x):
            return (x * 2).requires_grad
        x = lib.ones(1, requires_grad=True)
        assert called(x) is False and bare(x) is False
        p = lib.nn.Parameter(lib.zeros(2))
        p.data = lib.ones(3)
        assert tuple(p.shape) == (3,) and p.requires_grad and p.tolist() == [1.0] * 3
    assert_same_error(lambda L: setattr(L.zeros(2), "data", [1]))


def test_seed_and_conversions(device):
    g = fw.manual_seed(7)
    assert isinstance(g, fw.Generator) and g.initial_seed() == 7 == fw.initial_seed()
    x = fw.tensor([[1.5, 2.0]], device=device)
    assert x.tolist() == [[1.5, 2.0]] and x[0, 1].item() == 2.0
    assert fw.tensor(True, device=device).item() is True
    if device == "cpu":
        assert x.numpy().tolist() == [[1.5, 2.0]]
    else:  # as torch's CUDA tensors: copy to the host first
        with pytest.raises(TypeError, match="cpu"):
            x.numpy()
    assert x.cpu().numpy().tolist() == [[1.5, 2.0]]
    a = np.zeros(2)
    fw.from_numpy(a).add_(1)
    fw.as_tensor(a).add_(1)
    assert a.tolist() == [2.0, 2.0]
    assert fw.as_tensor([1, 2.0]).dtype is fw.float32
    assert fw.as_tensor(a, device=device).device.type == device
    assert fw.numel(fw.zeros(2, 3)) == 6 and fw.is_tensor(nn.Parameter(fw.zeros(1)))
    assert not fw.is_tensor(np.zeros(1))
    assert_same_error(lambda L: L.numel([1]))
    assert_same_error(lambda L: L.from_numpy([1]))
    assert math.isclose(fw.tensor(0.25, device=device).item(), 0.25)
