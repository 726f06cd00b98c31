"""nn.Module, Parameter, containers, Flatten and nn.utils, compared with torch.nn.

The same small module classes are built for both libraries (`classes(lib)`), so names,
orders, reprs and error messages can be compared directly (with "torch" read as "fw").
"""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn


def norm(s):
    return str(s).replace("torch.", "fw.").replace("torch ", "fw ")


def classes(lib):
    class Lin(lib.nn.Module):
        def __init__(self, i, o, bias=True):
            super().__init__()
            self.i, self.o = i, o
            self.weight = lib.nn.Parameter(lib.ones(o, i) * 0.5)
            if bias:
                self.bias = lib.nn.Parameter(lib.zeros(o))
            else:
                self.register_parameter("bias", None)
            self.register_buffer("count", lib.zeros((), dtype=lib.int64))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            y = x @ self.weight.t()
            return y if self.bias is None else y + self.bias

        def extra_repr(self):
            return f"in_features={self.i}, out_features={self.o}, bias={self.bias is not None}"

    class Act(lib.nn.Module):
        def forward(self, x):
            return x.relu()

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Lin(3, 4)
            self.body = lib.nn.Sequential(Lin(4, 4), Act(), Lin(4, 4, bias=False))
            self.heads = lib.nn.ModuleList([Lin(4, 2) for _ in range(3)] + [Act()])
            self.named = lib.nn.ModuleDict({"b": Act(), "a": Lin(4, 1)})
            self.shared = self.first  # the same module twice
            self.scale = lib.nn.Parameter(lib.ones(()))
            self.register_buffer("steps", lib.zeros(1))
            self.empty = None

        def forward(self, x):
            x = self.body(self.first(x))
            return sum(h(x).sum() for h in self.heads[:3]) * self.scale

    return Lin, Act, Net


FW, TORCH = classes(fw), classes(torch)


def both(i=2):
    return TORCH[i](), FW[i]()


# -- registration and traversal -----------------------------------------------------------
def test_traversal_names_and_orders_match_torch():
    t, f = both()
    for meth, kw in [("named_parameters", {}), ("named_parameters", {"remove_duplicate": False}),
                     ("named_parameters", {"prefix": "m", "recurse": True}),
                     ("named_parameters", {"recurse": False}),
                     ("named_buffers", {}), ("named_buffers", {"remove_duplicate": False}),
                     ("named_modules", {}), ("named_modules", {"remove_duplicate": False}),
                     ("named_modules", {"prefix": "root"}), ("named_children", {})]:
        tn = [n for n, _ in getattr(t, meth)(**kw)]
        fn = [n for n, _ in getattr(f, meth)(**kw)]
        assert fn == tn, (meth, kw)
    assert list(f.state_dict()) == list(t.state_dict())
    assert len(list(f.parameters())) == len(list(t.parameters()))
    assert len(list(f.buffers(recurse=False))) == len(list(t.buffers(recurse=False)))
    assert [type(m).__name__ for m in f.modules()] == [type(m).__name__ for m in t.modules()]
    assert [type(m).__name__ for m in f.children()] == [type(m).__name__ for m in t.children()]


def test_repr_matches_torch():
    t, f = both()
    assert repr(f) == repr(t)
    for code in ["L.nn.Sequential(L.nn.Flatten(), L.nn.Identity(), L.nn.Unflatten(1, (2, 3)))",
                 "L.nn.ModuleList([L.nn.Identity(), L.nn.Identity(), L.nn.Flatten(0), "
                 "L.nn.Identity()])",
                 "L.nn.ModuleList([])", "L.nn.Sequential()",
                 "L.nn.ModuleDict({'x': L.nn.Flatten(), 'y': L.nn.Sequential(L.nn.Identity())})",
                 "L.nn.ParameterList([L.nn.Parameter(L.zeros(2, 3)), L.zeros(4)])",
                 "L.nn.ParameterDict({'b': L.nn.Parameter(L.zeros(2)), 'a': L.ones(1, 2)})"]:
        assert norm(repr(eval(code, {"L": fw}))) == norm(repr(eval(code, {"L": torch}))), code


def test_attribute_errors_match_torch():
    t, f = both()
    for code, kind in [("m.nothing", AttributeError),
                       ("m.first.weight.__class__ and setattr(m.first, 'weight', L.zeros(4, 3))",
                        TypeError),
                       ("setattr(m, 'first', 3)", TypeError),
                       ("setattr(m, 'steps', 'x')", TypeError),
                       ("m.register_parameter('a.b', None)", KeyError),
                       ("m.register_parameter('', None)", KeyError),
                       ("m.register_parameter(3, None)", TypeError),
                       ("m.register_parameter('first', None)", KeyError),
                       ("m.register_parameter('p', L.zeros(2))", TypeError),
                       ("m.register_parameter('p', L.nn.Parameter(L.zeros(2)) * 2)", TypeError),
                       ("m.register_buffer('x.y', None)", KeyError),
                       ("m.register_buffer('b', 3)", TypeError),
                       ("m.register_buffer('scale', L.zeros(1))", KeyError),
                       ("m.add_module('x', 3)", TypeError),
                       ("m.add_module('a.b', None)", KeyError),
                       ("m.add_module('', None)", KeyError),
                       ("m.get_submodule('body.5')", AttributeError),
                       ("m.get_submodule('scale')", AttributeError),
                       ("m.get_parameter('body.0.nothing')", AttributeError),
                       ("m.get_parameter('body.0.count')", AttributeError),
                       ("m.train('yes')", ValueError),
                       ("m.to(L.int64)", TypeError)]:
        msgs = []
        for lib, m in ((torch, t), (fw, f)):
            with pytest.raises(kind) as e:
                eval(code, {"L": lib, "m": m})
            msgs.append(norm(e.value))
        assert msgs[1] == msgs[0], code


def test_non_leaf_parameter_is_refused():
    x = fw.ones(2, requires_grad=True)
    p = nn.Parameter(fw.ones(2))
    m = nn.Module()
    with pytest.raises(TypeError):  # a plain tensor, even a computed one
        m.register_parameter("p", x * 2)
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("p", _nonleaf_param())
    m.p = p
    assert m.p is p


def _nonleaf_param():
    # a Parameter object with history is only reachable by hand; fw refuses it like torch
    p = nn.Parameter(fw.ones(2))
    p.grad_fn = (fw.ones(2, requires_grad=True) * 2).grad_fn
    return p


def test_assign_before_init_raises_like_torch():
    for lib in (torch, fw):
        class Bad(lib.nn.Module):
            def __init__(self):
                self.w = lib.nn.Parameter(lib.zeros(1))
        with pytest.raises(AttributeError, match="before Module.__init__"):
            Bad()


def test_reassignment_moves_between_registries():
    m = nn.Module()
    m.x = nn.Parameter(fw.zeros(1))
    m.x = None  # stays a (None) parameter
    assert "x" in m._parameters and m.x is None
    with pytest.raises(TypeError, match="as parameter 'x'"):
        m.x = nn.Identity()  # as torch: a parameter name takes only Parameters or None
    del m.x
    m.x = nn.Identity()
    assert "x" in m._modules and "x" not in m._parameters
    m.register_buffer("b", fw.zeros(1))
    m.b = fw.ones(2)  # a plain tensor assigned to a buffer name replaces the buffer
    assert m._buffers["b"].shape == (2,)
    m.plain = 3
    assert m.plain == 3 and "plain" in m.__dict__
    m.plain = nn.Parameter(fw.zeros(1))
    assert "plain" not in m.__dict__ and "plain" in m._parameters
    del m.plain, m.b, m.x
    assert not m._parameters and not m._buffers and not m._modules
    with pytest.raises(AttributeError):
        del m.nothing


def test_buffer_class_registers():
    m = nn.Module()
    m.a = nn.Buffer(fw.zeros(2))
    m.b = nn.Buffer(fw.ones(1), persistent=False)
    assert list(m.state_dict()) == ["a"]
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    assert isinstance(m.a, fw.Tensor) and not isinstance(m.a, nn.Parameter)
    assert isinstance(nn.Buffer(fw.zeros(1)), nn.Buffer)
    assert not isinstance(fw.zeros(1), nn.Buffer)


def test_dir_lists_registered_names():
    f = FW[2]()
    d = dir(f)
    for name in ["first", "body", "scale", "steps", "forward", "training", "state_dict"]:
        assert name in d
    assert set(n for n in dir(TORCH[2]()) if not n.startswith("_")) <= \
        set(n for n in d if not n.startswith("_")) | _torch_only


_torch_only = {"bfloat16", "cuda", "half", "ipu", "mtia", "xpu", "to_empty",
               "register_backward_hook", "register_full_backward_hook", "call_super_init",
               "register_full_backward_pre_hook", "set_submodule", "T_destination",
               "dump_patches", "smart_apply"}


# -- Parameter --------------------------------------------------------------------------------
def test_parameter_basics():
    data = fw.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, nn.Parameter) and isinstance(p, fw.Tensor)
    assert p.requires_grad and p.is_leaf
    data.add_(1)  # storage is shared
    np.testing.assert_array_equal(p.detach().numpy(), [2.0, 3.0])
    tp = torch.nn.Parameter(torch.tensor([2.0, 3.0]))
    assert norm(repr(p)) == norm(repr(tp))
    assert str(p) == repr(p)
    assert not nn.Parameter(fw.zeros(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert type(p * 2) is fw.Tensor and type(p.detach()) is fw.Tensor
    with pytest.raises(RuntimeError):
        nn.Parameter(fw.zeros(2, dtype=fw.int64))  # integer Parameters can't require grad
    assert nn.Parameter(fw.zeros(2, dtype=fw.int64), requires_grad=False).dtype == fw.int64


def test_parameter_deepcopy_and_pickle():
    p = nn.Parameter(fw.tensor([1.0, 2.0]))
    p.grad = fw.tensor([3.0, 4.0])
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q is not p and q.requires_grad
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(q.grad.numpy(), [3.0, 4.0])
    with fw.no_grad():
        q.add_(1)
    assert p[0].item() == 1.0
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.requires_grad


def test_module_deepcopy():
    f = FW[2]()
    g = copy.deepcopy(f)
    assert g.shared is g.first  # sharing is kept inside the copy
    for (n1, a), (n2, b) in zip(f.named_parameters(), g.named_parameters()):
        assert n1 == n2 and a is not b and isinstance(b, nn.Parameter)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert repr(f) == repr(g)


# -- conversion, modes, grads ---------------------------------------------------------------
def test_to_double_keeps_parameter_identity():
    f = FW[2]()
    params = list(f.parameters())
    f(fw.ones(2, 3)).backward()
    out = f.double()
    assert out is f
    assert [id(p) for p in f.parameters()] == [id(p) for p in params]
    for p in f.parameters():
        assert isinstance(p, nn.Parameter) and p.dtype == fw.float64 and p.requires_grad
        assert p.grad is None or p.grad.dtype == fw.float64
    assert f.first.count.dtype == fw.int64  # integer buffers keep their dtype
    assert f.steps.dtype == fw.float64
    f.to(fw.float32)
    assert f.scale.dtype == fw.float32
    f.float()
    f.type(fw.float64)
    assert f.scale.dtype == fw.float64


def test_to_device(device):
    f = FW[2]()
    ids = [id(p) for p in f.parameters()]
    assert f.to(device) is f
    assert [id(p) for p in f.parameters()] == ids
    for t in list(f.parameters()) + list(f.buffers()):
        assert t.device == fw.empty(0, device=device).device
    x = fw.ones(2, 3, device=device)
    y = f(x)
    y.backward()
    assert f.first.weight.grad.device == fw.empty(0, device=device).device
    t = TORCH[2]()
    t(torch.ones(2, 3)).backward()
    np.testing.assert_allclose(f.first.weight.grad.cpu().numpy(), t.first.weight.grad.numpy(),
                               rtol=1e-5)
    f.to(device, fw.float64)
    assert f.scale.dtype == fw.float64 and f.scale.device == fw.empty(0, device=device).device
    f.cpu()
    assert f.scale.device == fw.device("cpu")


def test_train_eval_requires_grad_and_zero_grad():
    f = FW[2]()
    assert f.training and f.body[1].training
    assert f.eval() is f and not f.training and not f.body[1].training
    f.train()
    assert f.heads[3].training
    f.requires_grad_(False)
    assert not any(p.requires_grad for p in f.parameters())
    f.requires_grad_()
    f(fw.ones(1, 3)).backward()
    f.zero_grad(set_to_none=False)
    assert all(p.grad is None or not p.grad.any() for p in f.parameters())
    assert f.first.weight.grad is not None
    f.zero_grad()
    assert all(p.grad is None for p in f.parameters())


def test_apply_order_matches_torch():
    seen = {}
    for lib, m in zip((torch, fw), both()):
        order = []
        assert m.apply(lambda mod: order.append(type(mod).__name__)) is m
        seen[lib.__name__] = order
    assert seen["framework"] == seen["torch"]


# -- state dicts ----------------------------------------------------------------------------
def test_state_dict_contents():
    f = FW[2]()
    sd = f.state_dict()
    assert isinstance(sd, OrderedDict)
    assert "first.scratch" not in sd  # non-persistent
    assert not any(v.requires_grad for v in sd.values())
    assert type(sd["scale"]) is fw.Tensor
    sd["scale"].add_(1)  # shares storage with the parameter, as in PyTorch
    assert f.scale.item() == 2.0
    kv = f.state_dict(keep_vars=True)
    assert kv["scale"] is f.scale
    pre = f.state_dict(prefix="model.")
    assert list(pre) == ["model." + k for k in sd]
    dest = OrderedDict()
    assert f.body.state_dict(destination=dest, prefix="b.") is dest and "b.0.weight" in dest
    tsd = TORCH[2]().state_dict()
    assert list(sd) == list(tsd)


def test_load_state_dict_roundtrip():
    f, g = FW[2](), FW[2]()
    with fw.no_grad():
        for p in f.parameters():
            p.normal_()
    res = g.load_state_dict(f.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    for a, b in zip(f.state_dict().values(), g.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    w = g.first.weight
    g.load_state_dict(f.state_dict())
    assert g.first.weight is w  # copied in place
    g.load_state_dict(f.state_dict(), assign=True)
    assert isinstance(g.first.weight, nn.Parameter) and g.first.weight.requires_grad


def _load_both(edit, strict=True):
    out = []
    for lib, (src, dst) in ((torch, (TORCH[2](), TORCH[2]())), (fw, (FW[2](), FW[2]()))):
        sd = src.state_dict()
        edit(lib, sd)
        try:
            out.append(("ok", dst.load_state_dict(sd, strict=strict)))
        except Exception as e:  # noqa: BLE001
            out.append((type(e), norm(e)))
    return out


@pytest.mark.parametrize("case", ["missing", "unexpected", "both", "shape", "type", "scalar"])
def test_load_state_dict_errors_match_torch(case):
    def edit(lib, sd):
        if case in ("missing", "both"):
            del sd["body.0.weight"], sd["steps"]
        if case in ("unexpected", "both"):
            sd["body.7.weight"] = lib.zeros(1)
            sd["extra"] = lib.zeros(1)
            sd["first.nothing"] = lib.zeros(1)
        if case == "shape":
            sd["first.weight"] = lib.zeros(5, 3)
            sd["heads.1.bias"] = lib.zeros(3)
        if case == "type":
            sd["first.bias"] = [1, 2]
        if case == "scalar":
            sd["scale"] = lib.ones(1) * 3  # a 1-element 1-d value loads into a 0-d param
    t, f = _load_both(edit)
    assert f[0] == t[0]
    if t[0] == "ok":
        assert tuple(f[1]) == tuple(t[1])
    else:
        assert f[1] == t[1]
    t, f = _load_both(edit, strict=False)  # lists the keys instead of raising, as torch
    assert f[0] == t[0]
    if t[0] == "ok":
        assert tuple(f[1]) == tuple(t[1])
        assert repr(f[1]) == repr(t[1])
    else:
        assert f[1] == t[1]


def test_load_state_dict_not_a_mapping():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        FW[2]().load_state_dict([1, 2])


def test_extra_state_and_load_hooks():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.value = 1

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]

    a, b = WithExtra(), WithExtra()
    a.value = 7
    sd = a.state_dict()
    assert sd["_extra_state"] == {"value": 7}
    seen = []
    b.register_load_state_dict_post_hook(lambda m, keys: seen.append(tuple(keys)))
    b.load_state_dict(sd)
    assert b.value == 7 and seen == [([], [])]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "_extra_state"'):
        b.load_state_dict({})


# -- hooks ------------------------------------------------------------------------------------
def test_forward_hooks_order_and_effects_match_torch():
    logs = []
    for lib in (torch, fw):
        log = []
        m = classes(lib)[0](2, 2)
        h1 = m.register_forward_pre_hook(lambda mod, args: log.append("pre1") or (args[0] * 2,))
        m.register_forward_pre_hook(lambda mod, args: log.append("pre0"), prepend=True)
        m.register_forward_pre_hook(
            lambda mod, args, kw: log.append(f"prekw{sorted(kw)}") or (args, kw), with_kwargs=True)
        m.register_forward_hook(lambda mod, args, out: log.append("post1") or out + 1)
        h4 = m.register_forward_hook(lambda mod, args, kw, out: log.append("postkw") or None,
                                     with_kwargs=True)
        y = m(lib.ones(1, 2))
        log.append(y.tolist())
        h1.remove()
        h4.remove()
        log.append(m(lib.ones(1, 2)).tolist())
        with m.register_forward_pre_hook(lambda mod, args: 3 * args[0]):
            log.append(m(lib.ones(1, 2)).tolist())
        log.append(m(lib.ones(1, 2)).tolist())
        logs.append(log)
    assert logs[1] == logs[0]


def test_always_call_forward_hook():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(fw.ones(1))
    assert seen == ["always"]


def test_missing_forward():
    for lib in (torch, fw):
        with pytest.raises(NotImplementedError, match='missing the required "forward"'):
            lib.nn.Module()(1)


# -- containers -----------------------------------------------------------------------------
def test_sequential():
    a, b, c = nn.Identity(), nn.Flatten(), nn.Identity()
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c]
    assert list(s[1:]._modules) == ["1", "2"]  # as torch: slices keep the keys
    with pytest.raises(IndexError):
        s[3]
    s.append(nn.Identity())
    assert list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is c
    s.insert(0, b)
    assert s[0] is b and len(s) == 4
    s[0] = a
    assert s[0] is a
    assert s.pop(0) is a and len(s) == 3
    d = nn.Sequential(OrderedDict([("flat", nn.Flatten()), ("id", nn.Identity())]))
    assert list(d._modules) == ["flat", "id"] and d.flat is d[0]
    x = fw.randn(2, 3, 4)
    assert d(x).shape == (2, 12)
    assert len(s + d) == 5 and len(d * 2) == 4
    with pytest.raises(TypeError):
        nn.Sequential(3)
    ts = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Flatten())
    assert norm(repr(ts[1:])) == repr(nn.Sequential(nn.Identity(), nn.Flatten())[1:])


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Identity()])
    ml.append(nn.Flatten())
    ml.extend([nn.Identity(), nn.Identity()])
    ml += [nn.Flatten()]
    assert len(ml) == 5 and isinstance(ml[1], nn.Flatten) and isinstance(ml[-1], nn.Flatten)
    assert len(ml[1:3]) == 2
    ml.insert(1, nn.Unflatten(1, (2, 2)))
    assert isinstance(ml[1], nn.Unflatten) and len(ml) == 6
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(5)]
    with pytest.raises(IndexError):
        ml[10]
    with pytest.raises(TypeError):
        ml.extend(nn.Identity())
    md = nn.ModuleDict({"b": nn.Identity()})
    md["a"] = nn.Flatten()
    md.update([("c", nn.Identity())])
    assert list(md) == ["b", "a", "c"] and "a" in md and len(md) == 3
    assert list(md.keys()) == ["b", "a", "c"]
    assert isinstance(md.pop("a"), nn.Flatten) and "a" not in md
    tmd = torch.nn.ModuleDict({"b": torch.nn.Identity(), "a": torch.nn.Identity()})
    fmd = nn.ModuleDict({"b": nn.Identity(), "a": nn.Identity()})
    assert list(fmd) == list(tmd)


def test_parameter_list_and_dict():
    pl = nn.ParameterList([fw.zeros(2), nn.Parameter(fw.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(fw.zeros(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert pl[-1].shape == (1,)
    pd = nn.ParameterDict({"w": fw.zeros(2)})
    pd["b"] = nn.Parameter(fw.ones(1))
    assert list(pd) == ["w", "b"] and isinstance(pd["w"], nn.Parameter)
    assert [n for n, _ in pd.named_parameters()] == ["w", "b"]
    assert pd.pop("w").shape == (2,) and "w" not in pd
    tpd = torch.nn.ParameterDict({"z": torch.zeros(1), "a": torch.zeros(1)})
    assert list(nn.ParameterDict({"z": fw.zeros(1), "a": fw.zeros(1)})) == list(tpd)
    m = nn.Module()
    m.plist = pl
    assert [n for n, _ in m.named_parameters()] == ["plist.0", "plist.1", "plist.2"]


def test_flatten_unflatten_values_and_grads(device):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    for args, tcls, fcls in [((), torch.nn.Flatten, nn.Flatten), ((0, 2), torch.nn.Flatten, nn.Flatten),
                             ((1, (3, 1)), torch.nn.Unflatten, nn.Unflatten),
                             ((-1, (5, 1)), torch.nn.Unflatten, nn.Unflatten)]:
        tx = torch.tensor(x, requires_grad=True)
        fx = fw.tensor(x, device=device, requires_grad=True)
        ty, fy = tcls(*args)(tx), fcls(*args)(fx)
        assert tuple(fy.shape) == tuple(ty.shape)
        (ty * ty).sum().backward()
        (fy * fy).sum().backward()
        np.testing.assert_allclose(fx.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-5)
        assert repr(fcls(*args)) == repr(tcls(*args))
    assert nn.Identity(3, a=1)(fx) is fx
    with pytest.raises(TypeError):
        nn.Unflatten(1, 3)


# -- nn.utils ---------------------------------------------------------------------------------
def _grads_pair(device, scale=1.0):
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    data = [rng.standard_normal(s).astype(np.float32) * scale for s in shapes]
    tp = [torch.nn.Parameter(torch.tensor(d)) for d in data]
    fp = [nn.Parameter(fw.tensor(d, device=device)) for d in data]
    for i, (a, b) in enumerate(zip(tp, fp)):
        g = rng.standard_normal(a.shape).astype(np.float32)
        a.grad = torch.tensor(g)
        b.grad = fw.tensor(g, device=device)
    return tp, fp


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(device, norm_type, max_norm):
    tp, fp = _grads_pair(device)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    fn = nn.utils.clip_grad_norm_(fp, max_norm, norm_type=norm_type)
    assert isinstance(fn, fw.Tensor) and fn.ndim == 0
    np.testing.assert_allclose(fn.cpu().numpy(), tn.numpy(), rtol=1e-5)
    for a, b in zip(tp, fp):
        np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_edge_cases(device):
    p = nn.Parameter(fw.ones(2, device=device))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no grads
    p.grad = fw.tensor([float("nan"), 1.0], device=device)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    nn.utils.clip_grad_norm_(p, 1.0)  # allowed without the flag, as torch


def test_clip_grad_value_and_vectors(device):
    tp, fp = _grads_pair(device, scale=2.0)
    torch.nn.utils.clip_grad_value_(tp, 0.3)
    nn.utils.clip_grad_value_(fp, 0.3)
    for a, b in zip(tp, fp):
        np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.numpy())
    tv = torch.nn.utils.parameters_to_vector(tp)
    fv = nn.utils.parameters_to_vector(fp)
    np.testing.assert_allclose(fv.detach().cpu().numpy(), tv.detach().numpy())
    fv.sum().backward()  # differentiable, as torch's
    nn.utils.vector_to_parameters(fw.arange(24, dtype=fw.float32, device=device), fp)
    np.testing.assert_array_equal(fp[1].detach().cpu().numpy(), np.arange(12, 16))
    assert isinstance(fp[1], nn.Parameter)
    with pytest.raises(TypeError):
        nn.utils.vector_to_parameters([1.0], fp)
