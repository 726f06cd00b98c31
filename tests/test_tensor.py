"""Tensor basics against PyTorch: dtypes and promotion, repr, devices, conversions,
Python protocols, copying and pickling."""
import copy
import itertools
import pickle

import numpy as np
import pytest
import torch

import framework as fw
from framework.device import Backend

DTYPES = ["bool", "int32", "int64", "float32", "float64"]


def fw_t(lib, name, zero_dim, value=1):
    return lib.tensor(value if zero_dim else [value], dtype=getattr(lib, name))


# -- dtypes and promotion -------------------------------------------------------------------
@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
def test_promote_types(a, b):
    assert fw.promote_types(getattr(fw, a), getattr(fw, b)).name == \
        str(torch.promote_types(getattr(torch, a), getattr(torch, b))).replace("torch.", "")


SCALARS = [True, 2, 2.5]


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES + ["py_bool", "py_int", "py_float"])
@pytest.mark.parametrize("dims", ["nn", "n0", "0n", "00"])
def test_result_type(a, b, dims):
    def operand(lib, name, zero):
        if name.startswith("py_"):
            return SCALARS[["py_bool", "py_int", "py_float"].index(name)]
        return fw_t(lib, name, zero)
    fa, fb = (operand(fw, a, dims[0] == "0"), operand(fw, b, dims[1] == "0"))
    ta, tb = (operand(torch, a, dims[0] == "0"), operand(torch, b, dims[1] == "0"))
    expected = str(torch.result_type(ta, tb)).replace("torch.", "")
    assert fw.result_type(fa, fb).name == expected
    if not (a == "bool" and b in ("bool", "py_bool")) and b != "py_bool":
        # the arithmetic itself follows the same rule
        assert (fa + fb).dtype.name == str((ta + tb).dtype).replace("torch.", "")


def test_dtype_objects():
    assert fw.float is fw.float32 and fw.double is fw.float64 and fw.long is fw.int64
    assert fw.int is fw.int32
    assert repr(fw.float32) == "fw.float32" and str(fw.int64) == "fw.int64"
    assert fw.float32.is_floating_point and not fw.int64.is_floating_point
    assert fw.get_default_dtype() is fw.float32
    assert pickle.loads(pickle.dumps(fw.float64)) is fw.float64
    assert fw.float32.itemsize == 4 and fw.ones(2, dtype=fw.int64).element_size() == 8
    assert fw.tensor([1.0]).dtype is fw.float32
    assert fw.tensor([1]).dtype is fw.int64
    assert fw.tensor([True]).dtype is fw.bool
    assert fw.tensor(np.array([1.0])).dtype is fw.float64     # NumPy's dtype is kept
    assert fw.tensor([1, 2.5]).dtype is fw.float32


def test_set_default_dtype():
    try:
        fw.set_default_dtype(fw.float64)
        torch.set_default_dtype(torch.float64)
        assert fw.tensor([1.5]).dtype is fw.float64
        assert fw.zeros(2).dtype is fw.float64
        assert (fw.tensor([1]) * 1.5).dtype is fw.float64
        assert repr(fw.tensor([1.5])) == repr(torch.tensor([1.5])).replace("torch.", "fw.")
        assert repr(fw.tensor([1.5], dtype=fw.float32)) == \
            repr(torch.tensor([1.5], dtype=torch.float32)).replace("torch.", "fw.")
    finally:
        fw.set_default_dtype(fw.float32)
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError):
        fw.set_default_dtype(fw.int64)


# -- repr -------------------------------------------------------------------------------------
REPRS = [
    "L.tensor([1, 2, 3])", "L.tensor([-1, 100])", "L.tensor([1.5, 2.25, -3.0])",
    "L.tensor([1., 2., 3.])", "L.tensor([True, False])", "L.tensor(True)",
    "L.tensor([[1., 2.5], [3., 4.]])", "L.tensor([[[1, 2]], [[3, 4]]])",
    "L.tensor([1., 2.], requires_grad=True)", "L.tensor([1., 2.], requires_grad=True) * 2",
    "L.tensor([1.5, 2.0], requires_grad=True).exp()", "L.tensor([1., 2.]).sum()",
    "L.tensor([1.5, 2.], dtype=L.float64)", "L.zeros(2, dtype=L.float64)",
    "L.tensor([1, 2], dtype=L.int32)", "L.tensor([])", "L.zeros(0, 3)",
    "L.tensor([], dtype=L.int64)", "L.zeros(2, 0, dtype=L.int32)", "L.tensor(3.5)",
    "L.tensor(3)", "L.tensor(-0.5, dtype=L.float64)", "L.tensor(2.0, requires_grad=True)",
    "L.tensor([1e-5, 1.0])", "L.tensor([1e10, 1.0])", "L.tensor([1e-3, 1e8 + 1])",
    "L.tensor([float('nan'), 1.5, float('inf')])", "L.tensor([-float('inf'), 1.0, 2.0])",
    "L.tensor([1.0, -0.0])", "L.tensor([0.0, 0.0])", "L.tensor([0.1, 100.0])",
    "L.tensor([123456.5, 1.0])", "L.arange(2000.)", "L.arange(30.) / 7",
    "L.arange(40, dtype=L.float64) / 3", "L.arange(3000).reshape(30, 100)",
    "(L.arange(3000.) / 7).reshape(10, 10, 30)", "L.arange(100) * 1000",
    "L.tensor([[0.1234, 5.0]], requires_grad=True) * 3",
    "L.arange(20.).reshape(4, 5).requires_grad_()",
]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(expr):
    expected = repr(eval(expr, {"L": torch})).replace("torch.", "fw.")
    got = eval(expr, {"L": fw})
    assert repr(got) == expected
    assert str(got) == expected


@pytest.mark.parametrize("opts", [dict(precision=2), dict(sci_mode=True), dict(sci_mode=False),
                                  dict(threshold=5, edgeitems=2), dict(linewidth=30),
                                  dict(profile="short")])
def test_printoptions(opts):
    values = [[1.2345, 1e-6, 300.0, 2.0, 5.5, 6.25, 7.0]]
    try:
        fw.set_printoptions(**opts)
        torch.set_printoptions(**opts)
        for v in (values, [1, 2, 3, 4, 5, 6, 7]):
            assert repr(fw.tensor(v)) == repr(torch.tensor(v)).replace("torch.", "fw.")
    finally:
        fw.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_size_and_format():
    x = fw.zeros(2, 3)
    assert repr(x.shape) == "fw.Size([2, 3])" and x.shape == (2, 3)
    assert x.size(1) == 3 and x.size(-1) == 3 and x.shape.numel() == 6
    assert f"{fw.tensor(1.23456):.2f}" == "1.23"


# -- devices --------------------------------------------------------------------------------
def test_device_objects():
    d = fw.device("opencl:1")
    assert d.type == "opencl" and d.index == 1
    assert str(d) == "opencl:1" and repr(d) == "device(type='opencl', index=1)"
    assert d == fw.device("opencl", 1) and d == "opencl:1" and d != fw.device("opencl")
    assert hash(d) == hash(fw.device("opencl", 1))
    c = fw.device("cpu")
    assert c.index is None and repr(c) == repr(torch.device("cpu")) and str(c) == "cpu"
    assert fw.device(c) == c
    assert repr(fw.device("opencl", 0)) == repr(torch.device("cuda", 0)).replace("cuda", "opencl")
    assert pickle.loads(pickle.dumps(d)) == d
    with pytest.raises(RuntimeError):
        fw.device("opencl:x")
    with pytest.raises(RuntimeError):
        fw.device("opencl:1", 2)
    with pytest.raises(TypeError):
        fw.device(3.5)
    assert fw.zeros(1).device == fw.device("cpu") and fw.zeros(1).is_cpu
    assert fw.zeros(1).get_device() == -1


def test_unknown_device_type():
    with pytest.raises(RuntimeError, match="registered device types.*cpu.*'nosuchdev'"):
        fw.zeros(2, device="nosuchdev")
    with pytest.raises(RuntimeError, match="nosuchdev"):
        fw.ones(2).to("nosuchdev")


class _OtherBackend:
    """A second device type for the tests, made from the NumPy backend."""


@pytest.fixture
def other_device(monkeypatch):
    from fw_numpy.backend import NumpyBackend
    from framework import plugins

    class Other(NumpyBackend):
        type = "othertest"

    reg = plugins.registry
    reg.load(plugins.BACKEND_GROUP)
    monkeypatch.setitem(reg.backends, "othertest", (Other, "test"))
    yield "othertest"
    for key in [k for k in reg._instances if "othertest" in str(k)]:
        reg._instances.pop(key, None)


def test_mixing_devices_raises(other_device):
    a = fw.ones(3)
    b = fw.ones(3, device=other_device)
    assert b.device.type == other_device and not b.is_cpu
    with pytest.raises(RuntimeError, match="cpu.*othertest|othertest.*cpu"):
        a + b
    with pytest.raises(RuntimeError, match="cpu.*othertest|othertest.*cpu"):
        a @ b.reshape(3, 1)
    # 0-dim CPU tensors mix with any device, as in PyTorch
    assert (b * fw.tensor(2.0)).device.type == other_device
    # moving gives the same values, and gradients flow back
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(other_device)
    assert y.device.type == other_device and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0] and x.grad.device.type == "cpu"
    assert y.cpu().device.type == "cpu"
    assert "device='othertest'" in repr(b)
    with pytest.raises(TypeError, match="othertest"):
        b.numpy()


# -- .to and casts ------------------------------------------------------------------------
def test_to_and_casts():
    for lib in (fw, torch):
        x = lib.tensor([1.5, -2.7])
        assert x.to(lib.float32) is x and x.to("cpu") is x
        assert x.to(lib.float64).dtype is lib.float64
        assert x.to("cpu", lib.int64).tolist() == [1, -2]
        assert x.to(dtype=lib.int32).dtype is lib.int32
        assert x.to(lib.zeros(1, dtype=lib.float64)).dtype is lib.float64
        assert x.to(lib.float32, copy=True) is not x
        assert x.double().dtype is lib.float64 and x.float().dtype is lib.float32
        assert x.long().tolist() == [1, -2] and x.int().dtype is lib.int32
        assert x.bool().tolist() == [True, True] and x.cpu() is x
        assert x.type(lib.float64).dtype is lib.float64
    assert fw.tensor([1.0]).type() == "fw.FloatTensor"
    assert fw.tensor([1]).type() == "fw.LongTensor"
    with pytest.raises(TypeError):
        fw.ones(1).to(3.5)


def test_cast_keeps_gradient():
    for lib in (fw, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.double()
        assert y.requires_grad
        (y * y).sum().backward()
        assert x.grad.dtype is lib.float32 and x.grad.tolist() == [2.0, 4.0]
        assert not x.long().requires_grad


def test_typed_constructors():
    for lib in (fw, torch):
        assert lib.FloatTensor([1, 2]).dtype is lib.float32
        assert lib.LongTensor([1, 2]).tolist() == [1, 2]
        assert lib.DoubleTensor(2, 3).shape == (2, 3)
        assert lib.FloatTensor().shape == (0,)
        assert lib.IntTensor([1]).dtype is lib.int32 and lib.BoolTensor([1, 0]).dtype is lib.bool
        assert isinstance(lib.ones(2), lib.FloatTensor)
        assert not isinstance(lib.ones(2), lib.LongTensor)
        assert isinstance(lib.ones(2, dtype=lib.int64), lib.LongTensor)
        assert not isinstance([1.0], lib.FloatTensor)


# -- Python protocols -------------------------------------------------------------------------
def test_scalar_conversions():
    for lib in (fw, torch):
        assert bool(lib.tensor([1])) is True and bool(lib.tensor(0.0)) is False
        assert float(lib.tensor([2.5])) == 2.5 and int(lib.tensor(3.9)) == 3
        assert lib.tensor([[7]]).item() == 7 and isinstance(lib.tensor(7).item(), int)
        assert isinstance(lib.tensor(1.5).item(), float)
        assert isinstance(lib.tensor(True).item(), bool)
        assert lib.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
        assert lib.tensor(2.5).tolist() == 2.5
        assert len(lib.zeros(4, 2)) == 4
        assert [r.tolist() for r in lib.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
        assert [1, 2, 3][lib.tensor(1)] == 2
    cases = [
        (lambda lib: bool(lib.ones(2)), "more than one value"),
        (lambda lib: bool(lib.ones(0)), "no values"),
        (lambda lib: float(lib.ones(2)), "one element"),
        (lambda lib: int(lib.ones(2)), "one element"),
        (lambda lib: lib.ones(2).item(), "2 elements"),
        (lambda lib: len(lib.tensor(1.0)), "0-d"),
        (lambda lib: iter(lib.tensor(1.0)), "0-d"),
        (lambda lib: [1, 2][lib.tensor(1.0)], "integer"),
    ]
    for fn, match in cases:
        with pytest.raises(Exception) as et:
            fn(torch)
        with pytest.raises(type(et.value), match=match):
            fn(fw)


def test_numpy_conversion():
    x = fw.tensor([1.0, 2.0])
    a = x.numpy()
    a[0] = 5.0                     # .numpy() shares memory on cpu, as in PyTorch
    assert x[0].item() == 5.0
    assert np.asarray(fw.tensor([[1, 2]])).tolist() == [[1, 2]]
    y = fw.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        y.numpy()
    with pytest.raises(RuntimeError, match="detach"):
        torch.tensor([1.0], requires_grad=True).numpy()
    assert y.detach().numpy().tolist() == [1.0]
    assert y.numpy(force=True).tolist() == [1.0]


# -- copying and pickling -----------------------------------------------------------------------
def test_deepcopy():
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf and y.grad.tolist() == [3.0, 3.0]
    y.data.add_(1)
    assert x.tolist() == [1.0, 2.0]
    shared = {"a": x, "b": x}
    c = copy.deepcopy(shared)
    assert c["a"] is c["b"]
    for lib in (fw, torch):
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(lib.ones(2, requires_grad=True) * 2)
    z = copy.copy(fw.tensor([1, 2]))
    assert z.tolist() == [1, 2]


@pytest.mark.parametrize("x", [fw.tensor([1.5, 2.0]), fw.tensor([[1, 2]], dtype=fw.int32),
                               fw.tensor(True), fw.zeros(0, 2),
                               fw.tensor([1.0, 2.0], dtype=fw.float64, requires_grad=True),
                               fw.arange(12.0).reshape(3, 4)[:, 1]])
def test_pickle_roundtrip(x):
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype is x.dtype and y.shape == x.shape and y.requires_grad == x.requires_grad
    assert y.detach().tolist() == x.detach().tolist() and y.device == x.device


# -- grad attribute --------------------------------------------------------------------------
def test_grad_assignment_checks():
    for lib in (fw, torch):
        x = lib.ones(3, requires_grad=True)
        x.grad = lib.full((3,), 2.0)
        assert x.grad.tolist() == [2.0] * 3
        x.grad = None
        assert x.grad is None
        with pytest.raises(RuntimeError, match="size"):
            x.grad = lib.ones(2)
        with pytest.raises(RuntimeError, match="dtype"):
            x.grad = lib.ones(3, dtype=lib.float64)
        with pytest.raises(TypeError):
            x.grad = [1.0, 2.0, 3.0]


def test_data_attribute():
    x = fw.ones(2, requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d.add_(1)                       # no leaf error: .data is outside autograd
    assert x.tolist() == [2.0, 2.0]
    x.data = fw.zeros(2)
    assert x.tolist() == [0.0, 0.0] and x.requires_grad


def test_metadata():
    for lib in (fw, torch):
        x = lib.zeros(2, 3, 4)
        assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and x.nelement() == 24
        assert x.stride() == (12, 4, 1) and x.stride(1) == 4 and x.is_contiguous()
        assert x.transpose(0, 2).stride() == (1, 4, 12)
        assert not x.transpose(0, 2).is_contiguous()
        assert x[1].storage_offset() == 12
        assert x.is_floating_point() and lib.is_tensor(x) and lib.numel(x) == 24
    with pytest.raises(IndexError):
        fw.zeros(2).size(1)


def test_empty_slices_past_the_end_of_storage(device):
    x = fw.zeros(0, 16, device=device)
    y = x[:, 3:5]
    assert y.shape == (0, 2) and y.sum().item() == 0
    assert y.cpu().numpy().shape == (0, 2)
