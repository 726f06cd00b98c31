"""A forward under grad mode that never runs backward frees its memory at once.

A node that saved its own output (exp, tanh, softmax, norms, the recurrences, a user's
Function saving what it returns) held a reference cycle node -> output -> node, so its
buffers waited for Python's cyclic collector (forever with the collector off). Saved
outputs are now kept without their grad_fn, as PyTorch's SavedVariable does. These tests
run with the collector off and check that nothing is left for it (a collection of the
youngest generation, which holds everything made since the test began: fast, unlike a full
one).
"""
import contextlib
import functools
import gc
import weakref

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn
from framework.nn import functional as F


def _fw_garbage():
    """Collect the youngest generation (everything made since `_no_collector` began) and
    return the names of fw's objects (tensors, nodes, buffers) that only the collector could
    free. Device libraries' own cyclic garbage (wgpu makes some per read) is not counted."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect(0)
        return [type(o).__name__ for o in gc.garbage
                if type(o).__module__.startswith(("framework", "fw_"))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@contextlib.contextmanager
def _no_collector():
    gc.collect(0)
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _exp_saving_output(lib):
    """A user's Function that saves its output, the textbook case, in fw or torch."""
    class ExpSavingOutput(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out
    return ExpSavingOutput


_EXP_SAVING_OUTPUT = {lib: _exp_saving_output(lib) for lib in (torch, fw)}


# Ops whose backward reads their output (or that are built of such ops).
OPS = {
    "exp": lambda x, p, m: x.exp(),
    "tanh": lambda x, p, m: x.tanh(),
    "sigmoid": lambda x, p, m: x.sigmoid(),
    "relu": lambda x, p, m: F.relu(x),
    "sqrt": lambda x, p, m: p.sqrt(),
    "rsqrt": lambda x, p, m: p.rsqrt(),
    "reciprocal": lambda x, p, m: p.reciprocal(),
    "pow_scalar": lambda x, p, m: p ** 2.5,
    "pow_tensor": lambda x, p, m: p ** p,
    "scalar_pow": lambda x, p, m: 2.0 ** x,
    "softmax": lambda x, p, m: x.softmax(1),
    "log_softmax": lambda x, p, m: x.log_softmax(1),
    "logsumexp": lambda x, p, m: x.logsumexp(1),
    "norm": lambda x, p, m: x.norm(),
    "norm_dim": lambda x, p, m: x.norm(dim=1),
    "normalize": lambda x, p, m: F.normalize(x),
    "prod": lambda x, p, m: x.prod(1),
    "cumprod": lambda x, p, m: x.cumprod(1),
    "amax": lambda x, p, m: x.amax(1),
    "max": lambda x, p, m: x.max(),
    "std": lambda x, p, m: x.std(),
    "silu": lambda x, p, m: F.silu(x),
    "mish": lambda x, p, m: F.mish(x),
    "glu": lambda x, p, m: F.glu(x),
    "batch_norm": lambda x, p, m: F.batch_norm(x, None, None, training=True),
    "custom_function": lambda x, p, m: _EXP_SAVING_OUTPUT[fw].apply(x),
    "rnn": lambda x, p, m: m["rnn"](x.reshape(4, 1, 6))[0],
    "lstm": lambda x, p, m: m["lstm"](x.reshape(4, 1, 6))[1][1],
    "gru": lambda x, p, m: m["gru"](x.reshape(4, 1, 6))[1],
    "attention": lambda x, p, m: m["mha"](x[None], x[None], x[None])[0],
    # in place: the overwritten tensor becomes the node's output
    "mul_": lambda x, p, m: (x * 1).mul_(p),
    "mul_self_": lambda x, p, m: (lambda y: y.mul_(y))(x * 1),
    "div_self_": lambda x, p, m: (lambda y: y.div_(y + 3))(p * 1),
    "div_": lambda x, p, m: (x * 1).div_(p),
    "clamp_": lambda x, p, m: (x * 1).clamp_(min=p),
    "exp_": lambda x, p, m: (x * 1).exp_(),
    "where": lambda x, p, m: fw.where(x > 0, x, p),
}


@functools.lru_cache(maxsize=None)
def _inputs(device):
    rng = np.random.default_rng(0)
    x = fw.tensor(rng.standard_normal((4, 6)).astype(np.float32), device=device,
                  requires_grad=True)
    p = fw.tensor(rng.uniform(0.5, 2.0, (4, 6)).astype(np.float32), device=device,
                  requires_grad=True)
    fw.manual_seed(0)
    mods = {"rnn": nn.RNN(6, 5), "lstm": nn.LSTM(6, 5), "gru": nn.GRU(6, 5),
            "mha": nn.MultiheadAttention(6, 2)}
    return x, p, {k: v.to(device) for k, v in mods.items()}


@pytest.mark.parametrize("op", list(OPS))
def test_output_freed_without_backward(device, op):
    """With the collector off, dropping the output frees it, its node and its buffer, and
    the forward left no garbage for the collector."""
    x, p, mods = _inputs(device)
    with _no_collector():
        y = OPS[op](x, p, mods)
        assert y.grad_fn is not None
        refs = [weakref.ref(y), weakref.ref(y.grad_fn), weakref.ref(y._v.buf)]
        del y
        alive = [r() is not None for r in refs]
        left = _fw_garbage()
    assert alive == [False, False, False]
    assert left == []


@pytest.mark.parametrize("op", list(OPS))
def test_graph_freed_after_backward(device, op):
    """After backward, dropping the output leaves nothing for the collector either."""
    x, p, mods = _inputs(device)
    OPS[op](x, p, mods).sum().backward()  # once before: a device library's first-use caches
    with _no_collector():
        y = OPS[op](x, p, mods)
        y.sum().backward()
        node = weakref.ref(y.grad_fn)
        del y
        alive = node() is not None
        left = _fw_garbage()
    x.grad = p.grad = None
    assert not alive
    assert left == []


def test_repeated_forwards_hold_no_memory(device):
    """Many forwards of a model built of such ops, without backward and without the
    collector: every output's buffer is freed, and an accelerator's pool does not grow."""
    fw.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Sigmoid(),
                          nn.LayerNorm(16), nn.Linear(16, 4), nn.Softmax(1)).to(device)
    rnn = nn.LSTM(4, 4).to(device)
    x = fw.randn(8, 6, device=device)
    pool = getattr(getattr(x._be, "rt", None), "pool", None)

    def forward():  # ends with a host wait, as a loop printing its loss does
        y = model(x).exp().sqrt()
        out, _ = rnn(y.reshape(2, 4, 4))
        x._be.synchronize()
        return out.norm(dim=-1)

    with _no_collector():
        for _ in range(10):  # Vulkan's pool holds freed buffers back until a submit: it
            forward()    # settles after a few steps
        live = pool.live if pool is not None else None
        refs = []
        for _ in range(30):
            out = forward()
            refs.append(weakref.ref(out._v.buf))
            del out
        still = sum(r() is not None for r in refs)
        grown = pool.live - live if pool is not None else 0
        left = _fw_garbage()
    assert still == 0
    assert grown == 0
    assert left == []


def test_saved_output_gradients_match_torch():
    """Gradients through a saved output, to the second order, are PyTorch's; inside
    backward the unpacked output is linked to its node, as in PyTorch."""
    data = [[0.3, -1.2, 2.0], [0.1, 0.2, -0.3]]
    results = []
    for lib, fn in _EXP_SAVING_OUTPUT.items():
        x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        y = fn.apply(x) + x.softmax(1) * x.tanh() + x.sigmoid().sqrt() + x.norm(dim=1,
                                                                               keepdim=True)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        results.append((g.detach().numpy(), gg.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_unpacked_output_is_linked_to_its_node():
    seen = []
    for lib in (torch, fw):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x * x
                ctx.save_for_backward(out, x)
                return out

            @staticmethod
            def backward(ctx, g):
                out, x = ctx.saved_tensors
                seen.append((out.grad_fn is ctx, out.requires_grad, x.grad_fn is None))
                return 2 * g * x

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        Square.apply(x).sum().backward()
    assert seen[1] == seen[0] == (True, True, True)


def test_saved_output_changed_in_place_still_raises():
    """The saved output shares its version counter with the output: writing into the
    output before backward is PyTorch's error."""
    errors = []
    for lib in (torch, fw):
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        y = x.exp()
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as e:
            y.sum().backward()
        errors.append(type(e.value))
    assert errors[0] is errors[1]
