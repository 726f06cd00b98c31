"""Views, in-place writes through views, joining/padding ops and their errors, vs PyTorch."""
import numpy as np
import pytest
import torch

import framework as fw

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape)


def pair(a, requires_grad=False, dtype="float64"):
    return (fw.tensor(a, dtype=getattr(fw, dtype), requires_grad=requires_grad),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad))


def same(f, t, atol=1e-7):
    f = f.detach().numpy() if isinstance(f, fw.Tensor) else np.asarray(f)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert f.shape == t.shape, (f.shape, t.shape)
    np.testing.assert_allclose(f, t, atol=atol)


def same_error(fn, match=None):
    """fn(lib) raises the same exception type with fw and torch."""
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(type(te.value), match=match):
        fn(fw)


# -- views share storage ---------------------------------------------------------------------------
@pytest.mark.parametrize("write", [
    lambda x: x[1:].__setitem__(0, 5.0),
    lambda x: x.t().add_(1),
    lambda x: x[:, ::2].mul_(-1),
    lambda x: x.select(1, 2).fill_(7),
    lambda x: x.narrow(0, 1, 2).zero_(),
    lambda x: x.view(12)[3:6].add_(10),
    lambda x: x.unsqueeze(0).squeeze(0)[0].sub_(1),
    lambda x: x.diagonal().mul_(0),
    lambda x: x.permute(1, 0)[2].add_(3),
    lambda x: x.as_strided((2, 2), (1, 4), 1).fill_(-3),
    lambda x: x.movedim(0, 1).unflatten(0, (2, 2))[1].add_(2),
    lambda x: x.flatten()[::5].fill_(9),
    lambda x: x.unbind(1)[0].fill_(4),
    lambda x: x.split(2, 1)[1].add_(1),
])
def test_writes_through_views_reach_the_base(write):
    a = np.arange(12.0).reshape(3, 4)
    f, t = pair(a)
    write(f)
    write(t)
    same(f, t)


def test_views_share_storage_and_version():
    x = fw.zeros(3, 4)
    for v in (x.t(), x[1], x.view(-1), x.expand(2, 3, 4), x.unsqueeze(1), x.T, x.mT, x.diagonal()):
        assert v._base is x
        before = x._ver[0]
        x.add_(1)
        assert v._ver[0] == before + 1


def test_inplace_write_to_overlapping_view_errors_like_torch():
    for lib in (fw, torch):
        x = lib.zeros(1, 4)
        with pytest.raises(RuntimeError, match="single memory location"):
            x.expand(3, 4).add_(1)
        x.expand(1, 4).add_(1)  # a size-1 broadcast dim is not an overlap
        assert x.sum().item() == 4


def test_view_errors_where_torch_does_and_reshape_copies():
    f, t = pair(arr(3, 4))
    for lib_x in (f, t):
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            lib_x.t().view(12)
    r = f.t().reshape(12)
    same(r, t.t().reshape(12))
    r.add_(100)  # a copy: the base does not change
    same(f, t)
    v = f.reshape(2, 6)  # viewable: shares storage
    v.add_(1)
    t.reshape(2, 6).add_(1)
    same(f, t)


def test_strides_contiguity_offsets_match_torch():
    f, t = pair(arr(2, 3, 4))
    for fn in (lambda x: x, lambda x: x.transpose(0, 2), lambda x: x[:, 1:, ::2],
               lambda x: x.permute(1, 2, 0), lambda x: x.expand(5, 2, 3, 4),
               lambda x: x.select(2, 1), lambda x: x.narrow(1, 1, 2),
               lambda x: x.unsqueeze(1), lambda x: x[0].t(), lambda x: x.diagonal(1, 1, 2),
               lambda x: x.transpose(0, 2).contiguous(), lambda x: x[..., None, 1],
               lambda x: x.view(2, 1, 12, 1), lambda x: x[:, :, ::2].view(1, 2, 3, 2, 1),
               lambda x: x[:, ::2].transpose(0, 2).view(4, 1, 2, 2), lambda x: x[:, 1:].flatten(1),
               lambda x: x[None, :, True, ..., None]):
        a, b = fn(f), fn(t)
        assert tuple(a.shape) == tuple(b.shape)
        assert a.stride() == b.stride()
        assert a.storage_offset() == b.storage_offset()
        assert a.is_contiguous() == b.is_contiguous()
        same(a, b)


def test_contiguous_returns_self_when_contiguous():
    x = fw.randn(3, 4)
    assert x.contiguous() is x
    y = x.t().contiguous()
    assert y.is_contiguous() and y._base is None


def test_squeeze_unsqueeze_movedim_unbind_like_torch():
    f, t = pair(arr(1, 3, 1, 2))
    for fn in (lambda m, x: x.squeeze(), lambda m, x: x.squeeze((0, 2)), lambda m, x: x.squeeze(1),
               lambda m, x: x.squeeze(-2), lambda m, x: m.unsqueeze(x, -1),
               lambda m, x: x.movedim(0, -1), lambda m, x: m.movedim(x, (1, 3), (0, 1)),
               lambda m, x: m.flatten(x, 1, 2), lambda m, x: m.swapdims(x, 1, 3),
               lambda m, x: x.unflatten(1, (-1, 1)), lambda m, x: m.narrow(x, 1, -2, 2)):
        same(fn(fw, f), fn(torch, t))
    for a, b in zip(f.unbind(1), t.unbind(1)):
        same(a, b)


# -- autograd through views and in-place ops -------------------------------------------------------
def test_inplace_on_view_of_nonleaf_gives_torch_grads():
    xa, za = arr(3, 4), arr(4)
    grads = []
    for lib in (fw, torch):
        x = lib.tensor(xa, requires_grad=True)
        z = lib.tensor(za, requires_grad=True)
        y = x * 1
        y[0] += z
        y.sum().backward()
        g1 = (x.grad.numpy().copy(), z.grad.numpy().copy())
        x.grad = z.grad = None
        y = x * 2
        y[1:, ::2] *= z[:2]  # multiply in place by a differentiable value
        y.t()[1].add_(z[:3] ** 2)
        (y * y).sum().backward()
        grads.append(g1 + (x.grad.numpy(), z.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_version_counter_catches_modified_saved_tensor():
    for lib in (fw, torch):
        x = lib.tensor(arr(3), requires_grad=True)
        y = x * 2
        z = y.sin()  # saves y
        y[0] = 1.0  # bumps the version of y's storage
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_version_counter_through_views():
    x = fw.tensor(arr(4), requires_grad=True)
    y = x.exp()  # saves its output
    y[1:].mul_(2)  # an in-place write through a view bumps the shared counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("op", [lambda x: x.add_(1), lambda x: x.__setitem__(0, 1.0),
                                lambda x: x[1:].mul_(2), lambda x: x.t().zero_()])
def test_inplace_on_leaf_requiring_grad_raises_like_torch(op):
    for lib in (fw, torch):
        x = lib.ones(2, 2, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op(x)
    with fw.no_grad():
        op(fw.ones(2, 2, requires_grad=True))  # allowed without grad recording


# -- joining, splitting, padding -------------------------------------------------------------------
def test_cat_stack_split_chunk_like_torch():
    f, t = pair(arr(4, 6))
    for fn in (lambda m, x: m.cat([x, x * 2], 1), lambda m, x: m.stack([x, x], 2),
               lambda m, x: m.concat((x, x), -2), lambda m, x: m.stack([x[0], x[1]])):
        same(fn(fw, f), fn(torch, t))
    for fn in (lambda x: x.split(4, 1), lambda x: x.split([1, 0, 3], 0), lambda x: x.chunk(4, 1),
               lambda x: x.chunk(3), lambda x: x.tensor_split(4, 1),
               lambda x: x.tensor_split([-1, 2, 9], 1), lambda x: x.split(10)):
        a, b = fn(f), fn(t)
        assert len(a) == len(b)
        for u, v in zip(a, b):
            same(u, v)


def test_split_outputs_are_views():
    x = fw.zeros(4, 2)
    x.split(2)[1].fill_(1)
    assert x.sum().item() == 4


def test_cat_promotes_dtype_like_torch():
    for lib in (fw, torch):
        out = lib.cat([lib.tensor([1, 2]), lib.tensor([0.5])])
        assert str(out.dtype).split(".")[1] == "float32"
    assert fw.cat([fw.tensor([True]), fw.tensor([3])]).dtype is fw.int64


@pytest.mark.parametrize("bad", [
    lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)]),
    lambda m: m.cat([m.zeros(2, 3), m.zeros(3)]),
    lambda m: m.cat([]),
    lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)]),
    lambda m: m.cat(m.zeros(2)),
    lambda m: m.cat([m.zeros(2, 3)], dim=2),
    lambda m: m.stack([m.zeros(2, 3), m.zeros(3, 2)]),
    lambda m: m.zeros(5).split([2, 2]),
    lambda m: m.zeros(5).chunk(0),
    lambda m: m.zeros(2, 3).view(4),
    lambda m: m.zeros(2, 3).view(-1, -1),
    lambda m: m.zeros(2, 3).permute(0, 0),
    lambda m: m.zeros(2, 3).permute(0),
    lambda m: m.zeros(2, 3).expand(4, 3, 2),
    lambda m: m.zeros(2, 3).transpose(0, 2),
    lambda m: m.zeros(2, 3).flatten(1, 0),
    lambda m: m.zeros(2, 3).narrow(1, 2, 2),
    lambda m: m.zeros(2, 3).repeat(2),
    lambda m: m.zeros(2, 3).roll((1, 2), (0,)),
    lambda m: m.zeros(2, 3).flip(0, 0),
    lambda m: m.zeros(3).tril(),
    lambda m: m.zeros(2, 3).diagonal(0, 1, 1),
    lambda m: m.zeros(3).repeat_interleave(m.tensor([1, 2])),
    lambda m: m.zeros(2, 3)[:, 3],
    lambda m: m.zeros(2, 3)[0, 0, 0],
    lambda m: m.zeros(2, 3).t().t().squeeze(2),
    lambda m: m.meshgrid(m.zeros(2), m.zeros(3), indexing="ab"),
])
def test_errors_match_torch(bad):
    same_error(bad)


def _pad(m):
    return m.nn.functional.pad if m is torch else fw.pad


@pytest.mark.parametrize("mode,pad,shape", [
    ("constant", (1, 2), (3, 4)), ("constant", (1, 1, 2, 0, 0, 3), (2, 3, 4)),
    ("constant", (-1, 1, 0, -2), (3, 4)), ("reflect", (2, 3), (2, 4)),
    ("reflect", (1, 2, 2, 1), (1, 3, 4)), ("reflect", (1, 1, 1, 1, 1, 1), (1, 1, 3, 3, 3)),
    ("replicate", (3, 1), (2, 2)), ("replicate", (2, 0, 1, 3), (2, 1, 3, 2)),
    ("circular", (2, 1), (1, 2, 3)), ("circular", (1, 2, 3, 0), (2, 3, 4)),
])
def test_pad_modes_values_and_grads(mode, pad, shape):
    a = arr(*shape)
    w = arr(*torch.nn.functional.pad(torch.tensor(a), pad, mode=mode).shape)
    res = []
    for lib in (fw, torch):
        x = lib.tensor(a, requires_grad=True)
        y = _pad(lib)(x, pad, mode=mode)
        (y * lib.tensor(w)).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], atol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], atol=1e-12)


def test_pad_value_and_errors():
    same(fw.pad(fw.zeros(2), (1, 1), value=3.5), torch.nn.functional.pad(torch.zeros(2), (1, 1), value=3.5))
    for bad in (lambda m: _pad(m)(m.zeros(2, 3), (1,)),
                lambda m: _pad(m)(m.zeros(1, 2, 3), (3, 0), mode="reflect"),
                lambda m: _pad(m)(m.zeros(3), (1, 2, 3, 4)),
                lambda m: _pad(m)(m.zeros(1, 3), (4, 0), mode="circular")):
        same_error(bad)
    with pytest.raises(NotImplementedError):
        fw.pad(fw.zeros(1, 3), (1, 1), mode="wrap")


# -- the other shape ops ---------------------------------------------------------------------------
def test_misc_ops_like_torch():
    f, t = pair(arr(3, 4))
    for fn in (lambda m, x: x.repeat(2, 1, 2), lambda m, x: x.repeat(1, 1),
               lambda m, x: m.repeat_interleave(x, 2), lambda m, x: x.repeat_interleave(3, dim=-1),
               lambda m, x: x.roll(5), lambda m, x: x.roll((-1, 7), (1, 0)),
               lambda m, x: x.flip(-1), lambda m, x: x.flipud(), lambda m, x: x.fliplr(),
               lambda m, x: x.tril(-1), lambda m, x: x.triu(2), lambda m, x: x.tril(10),
               lambda m, x: m.diag(x, 1), lambda m, x: m.diag(x[0], -2),
               lambda m, x: x.diagonal(-1), lambda m, x: x.diagonal(5),
               lambda m, x: m.hstack([x, x]), lambda m, x: m.vstack([x, x[0]])):
        same(fn(fw, f), fn(torch, t))
    for a, b in zip(fw.meshgrid(f[0], f[1, :2]), torch.meshgrid(t[0], t[1, :2], indexing="ij")):
        same(a, b)
    same(fw.repeat_interleave(fw.tensor([3, 0, 2])), torch.repeat_interleave(torch.tensor([3, 0, 2])))
    y = f.clone()
    y.tril_(1)
    same(y, t.tril(1))


def test_tensor_methods_and_functions_exist():
    for name in ("split", "chunk", "tensor_split", "tril", "triu", "repeat", "repeat_interleave",
                 "roll", "flip", "diagonal", "diag", "unflatten", "movedim", "narrow", "unbind"):
        assert hasattr(fw.Tensor, name), name
    for name in ("cat", "concat", "stack", "split", "chunk", "pad", "tril", "triu", "meshgrid",
                 "repeat_interleave", "roll", "flip", "einsum", "reshape", "permute",
                 "transpose", "squeeze", "unsqueeze", "flatten", "diagonal", "diag", "hstack"):
        assert callable(getattr(fw, name)), name


@pytest.mark.parametrize("fn,shapes", [
    (lambda x, y: fw.cat([x, y], 1), [(2, 3), (2, 2)]),
    (lambda x, y: fw.stack([x, y], 1), [(2, 3), (2, 3)]),
    (lambda x: x.split([1, 2], 1), [(2, 3)]),
    (lambda x: fw.pad(x, (1, 2, 1, 1)), [(2, 3)]),
    (lambda x: fw.pad(x, (2, 1), mode="reflect"), [(2, 4)]),
    (lambda x: fw.pad(x, (2, 1), mode="replicate"), [(2, 4)]),
    (lambda x: fw.pad(x, (2, 1), mode="circular"), [(1, 2, 4)]),
    (lambda x: x.roll((1, -1), (0, 1)), [(3, 4)]),
    (lambda x: x.flip(0, 1), [(3, 4)]),
    (lambda x: x.repeat(2, 3), [(2, 2)]),
    (lambda x: x.repeat_interleave(2, 0), [(2, 2)]),
    (lambda x: x.triu(), [(3, 3)]),
    (lambda x: x.diagonal(1), [(3, 4)]),
    (lambda x: fw.diag(x, -1), [(3,)]),
    (lambda x: x.as_strided((2, 2), (1, 2), 1), [(6,)]),
    (lambda x: x.t().reshape(-1), [(3, 2)]),
    (lambda x: x.expand(3, 2, 4), [(2, 1)]),
    (lambda x: fw.meshgrid(x, x[:2], indexing="xy"), [(3,)]),
])
def test_gradcheck_float64(fn, shapes):
    xs = [fw.tensor(arr(*s), requires_grad=True) for s in shapes]
    assert fw.autograd.gradcheck(fn, xs)
