"""Autograd against PyTorch: graphs, accumulation, higher order, hooks, grad modes,
custom Functions, gradcheck and the errors PyTorch raises."""
import numpy as np
import pytest
import torch

import framework as fw

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 2))
V = RNG.standard_normal(4)


def both(fn, *arrays, dtype="float64"):
    """Run fn(lib, *leaves) with fw and torch; leaves require grad. Returns the pair of
    (results, leaves) so tests compare whatever fn computed."""
    out = {}
    for lib in (fw, torch):
        xs = [lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True) for a in arrays]
        out[lib.__name__] = (fn(lib, *xs), xs)
    return out["framework"], out["torch"]


def close(a, b, atol=1e-6):
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, atol)
        return
    an = a.detach().numpy() if isinstance(a, fw.Tensor) else np.asarray(a)
    bn = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert an.shape == bn.shape, (an.shape, bn.shape)
    np.testing.assert_allclose(an, bn, atol=atol, rtol=1e-6)


def raises_like_torch(fn, match=None):
    """fn(lib) raises the same exception type with fw and torch (and fw's message matches)."""
    with pytest.raises(Exception) as et:
        fn(torch)
    with pytest.raises(type(et.value), match=match):
        fn(fw)


# -- requires_grad, leaves, accumulation ------------------------------------------------------
def test_requires_grad_propagation():
    for lib in (fw, torch):
        x = lib.ones(3, requires_grad=True)
        c = lib.ones(3)
        y = x * c
        assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
        assert not (c * 2).requires_grad and (c * 2).is_leaf
        assert not (x > 0).requires_grad          # comparisons are not differentiable
        assert not x.argmax().requires_grad
        with lib.no_grad():
            z = x * 2
        assert not z.requires_grad and z.grad_fn is None
        assert x.detach().requires_grad is False
        assert (x.detach() + x).requires_grad


def test_grad_accumulates_over_backward_calls():
    def fn(lib, x):
        for _ in range(3):
            (x * x).sum().backward()
        first = x.grad.clone()
        (x.sin()).sum().backward()
        return first, x.grad
    f, t = both(fn, V)
    close(f[0], t[0])
    close(f[1], t[1])


def test_grad_is_not_shared_between_leaves():
    x = fw.ones(3, requires_grad=True)
    y = fw.ones(3, requires_grad=True)
    (x + y).sum().backward()
    x.grad.mul_(5)
    assert y.grad.tolist() == [1.0, 1.0, 1.0]


def test_tensor_used_twice_and_diamond():
    def fn(lib, x, w):
        a = x * w            # x used in two branches that meet again
        b = a.exp()
        c = a.sin()
        d = (b * c + a * x).sum()
        d.backward()
        return x.grad, w.grad
    f, t = both(fn, V, V[::-1].copy())
    close(f[0], t[0])
    close(f[1], t[1])


def test_gradient_argument_and_non_scalar():
    def fn(lib, x):
        y = x * x
        y.backward(gradient=lib.tensor(V, dtype=lib.float64))
        return x.grad
    f, t = both(fn, V)
    close(f[0], t[0])
    raises_like_torch(lambda lib: (lib.ones(3, requires_grad=True) * 2).backward(),
                      "scalar outputs")


def test_backward_on_tensor_without_grad_raises():
    raises_like_torch(lambda lib: lib.ones(3).sum().backward(), "does not require grad")


def test_backward_twice_needs_retain_graph():
    def twice(lib):
        x = lib.ones(3, requires_grad=True)
        s = (x * x).sum()
        s.backward()
        s.backward()
    raises_like_torch(twice, "second time")

    def retained(lib, x):
        s = (x * x.exp()).sum()
        s.backward(retain_graph=True)
        s.backward()
        return x.grad
    f, t = both(retained, V)
    close(f[0], t[0])


def test_backward_twice_through_nodes_that_save_nothing():
    # PyTorch only complains when a freed saved tensor is needed; add saves nothing.
    for lib in (fw, torch):
        x = lib.ones(3, requires_grad=True)
        s = (x + 1).sum()
        s.backward()
        s.backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]


# -- higher order -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["mul", "exp", "sin", "tanh", "sigmoid", "div", "pow", "log",
                                "sqrt", "matmul"])
def test_second_derivatives(op):
    fns = {
        "mul": lambda lib, x, y: x * y * x,
        "exp": lambda lib, x, y: x.exp() * y,
        "sin": lambda lib, x, y: x.sin() * y.cos(),
        "tanh": lambda lib, x, y: (x * y).tanh(),
        "sigmoid": lambda lib, x, y: (x - y).sigmoid(),
        "div": lambda lib, x, y: x / (y * y + 1),
        "pow": lambda lib, x, y: (x * x + 1).pow(y),
        "log": lambda lib, x, y: (x * x + 1).log() * y,
        "sqrt": lambda lib, x, y: (x * x + y * y).sqrt(),
        "matmul": lambda lib, x, y: (x.reshape(2, 2) @ y.reshape(2, 2)) @ x.reshape(2, 2),
    }
    a, b = RNG.standard_normal(4), RNG.standard_normal(4)

    def fn(lib, x, y):
        out = fns[op](lib, x, y)
        gx, gy = lib.autograd.grad(out.sum(), (x, y), create_graph=True)
        assert gx.requires_grad
        hx, hy = lib.autograd.grad((gx * gx).sum() + gy.sum(), (x, y))
        return gx, gy, hx, hy
    f, t = both(fn, a, b)
    close(f[0], t[0])


def test_backward_create_graph_then_grad_of_grad():
    def fn(lib, x):
        y = (x ** 3).sum()
        y.backward(create_graph=True)
        g = x.grad
        assert g.requires_grad
        (h,) = lib.autograd.grad(g.sum(), x)
        return g, h
    f, t = both(fn, V)
    close(f[0], t[0])


# -- grad modes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", [fw, torch], ids=["fw", "torch"])
def test_grad_modes_as_context_managers(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.no_grad():
        assert not lib.is_grad_enabled()
        assert not (x * 2).requires_grad
        with lib.enable_grad():
            assert (x * 2).requires_grad
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()
    with lib.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lib.is_grad_enabled()
    with lib.inference_mode():
        assert not (x * 2).requires_grad
    with lib.inference_mode(False):
        assert (x * 2).requires_grad
    lib.set_grad_enabled(False)   # also a plain function call
    assert not lib.is_grad_enabled()
    lib.set_grad_enabled(True)
    assert lib.is_grad_enabled()


@pytest.mark.parametrize("lib", [fw, torch], ids=["fw", "torch"])
def test_grad_modes_as_decorators(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.no_grad()
    def a():
        return x * 2

    @lib.no_grad
    def b():
        return x * 2

    @lib.inference_mode()
    def c():
        return x * 2

    @lib.inference_mode
    def d():
        return x * 2

    @lib.set_grad_enabled(False)
    def e():
        return x * 2

    @lib.enable_grad()
    def f():
        return x * 2

    @lib.enable_grad
    def g():
        return x * 2

    for fn in (a, b, c, d, e):
        assert not fn().requires_grad
    assert lib.is_grad_enabled()   # decorating never changes the current mode
    with lib.no_grad():
        assert f().requires_grad and g().requires_grad
    assert a.__name__ == "a"


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with fw.no_grad():
            raise ValueError
    assert fw.is_grad_enabled()


def test_set_grad_enabled_rejects_non_bool():
    raises_like_torch(lambda lib: lib.set_grad_enabled(1))


# -- detach, requires_grad_, retain_grad, hooks -------------------------------------------------
def test_detach_shares_storage_and_cuts_graph():
    for lib in (fw, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        d = y.detach()
        assert not d.requires_grad and d.grad_fn is None and d.is_leaf
        d[0] = 5.0
        assert y[0].item() == 5.0   # same memory


def test_detach_of_view_in_place_does_not_touch_base_graph():
    def fn(lib, x, w):
        b = x * 1
        d = b[:2].detach()
        d.mul_(w[:2])                 # d is outside the graph of b
        assert b.grad_fn.name() == "MulBackward0"
        b.sum().backward()
        return x.grad, w.grad
    f, t = both(fn, V, V)
    close(f[0], t[0])
    close(f[1], t[1])


def test_detach_in_place():
    for lib in (fw, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.detach_()
        assert not y.requires_grad and y.grad_fn is None
    raises_like_torch(lambda lib: (lib.ones(3, requires_grad=True) * 2)[:2].detach_(),
                      "views in-place")


def test_requires_grad_():
    x = fw.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    raises_like_torch(lambda lib: lib.ones(2, dtype=lib.int64).requires_grad_(), "floating point")
    raises_like_torch(lambda lib: (lib.ones(2, requires_grad=True) * 2).requires_grad_(False),
                      "leaf")


def test_retain_grad():
    def fn(lib, x):
        y = x * x
        y.retain_grad()
        assert y.retains_grad
        z = y.exp()
        z.sum().backward()
        return y.grad, x.grad
    f, t = both(fn, V)
    close(f[0], t[0])
    for lib in (fw, torch):
        y = lib.ones(2, requires_grad=True) * 3
        y.sum().backward()
        assert y.grad is None


def test_hooks_on_leaf_and_non_leaf():
    def fn(lib, x):
        seen = []
        hx = x.register_hook(lambda g: g * 10)          # leaf hook changes what accumulates
        y = x.exp()
        hy = y.register_hook(lambda g: seen.append(g.clone()) or g + 1)
        y.retain_grad()
        y.sum().backward(retain_graph=True)
        first = x.grad.clone()
        hx.remove()
        hy.remove()
        x.grad = None
        y.sum().backward()
        return first, x.grad, seen[0], y.grad
    f, t = both(fn, V)
    for a, b in zip(f[0], t[0]):
        close(a, b)


def test_leaf_hook_survives_without_graph():
    # The hook is registered before any op uses x: it must still run.
    for lib in (fw, torch):
        x = lib.ones(2, requires_grad=True)
        calls = []
        x.register_hook(lambda g: calls.append(1))
        (x * 2).sum().backward()
        assert calls == [1]


def test_hook_on_tensor_without_grad_raises():
    raises_like_torch(lambda lib: lib.ones(2).register_hook(lambda g: g), "doesn't require")


# -- autograd.grad ------------------------------------------------------------------------------
def test_autograd_grad_basics():
    def fn(lib, x, w):
        y = (x * w).sin()
        z = y * y
        gx, gw = lib.autograd.grad(z.sum(), (x, w), retain_graph=True)
        (gy,) = lib.autograd.grad(z.sum(), y, retain_graph=True)     # non-leaf input
        g2 = lib.autograd.grad([z.sum(), y.sum()], [x], retain_graph=True)   # several outputs
        g3 = lib.autograd.grad(z, x, grad_outputs=lib.ones_like(z))
        assert x.grad is None and w.grad is None
        return gx, gw, gy, g2[0], g3[0]
    f, t = both(fn, V, V + 1)
    close(f[0], t[0])


def test_autograd_grad_unused():
    def fn(lib, x, w):
        y = (x * 2).sum()
        out = lib.autograd.grad(y, (x, w), allow_unused=True, retain_graph=True)
        mat = lib.autograd.grad(y, (x, w), allow_unused=True, materialize_grads=True)
        return out, mat
    f, t = both(fn, V, V)
    close(f[0][0], t[0][0])
    close(f[0][1], t[0][1])

    def unused(lib):
        x, w = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        lib.autograd.grad((x * 2).sum(), (x, w))
    raises_like_torch(unused, "allow_unused")

    def not_requiring(lib):
        x = lib.ones(2, requires_grad=True)
        lib.autograd.grad((x * 2).sum(), lib.ones(2))
    raises_like_torch(not_requiring, "does not require grad")


def test_backward_inputs():
    def fn(lib, x, w):
        (x * w).sum().backward(inputs=[x])
        return x.grad, w.grad
    f, t = both(fn, V, V)
    close(f[0], t[0])


def test_autograd_backward_function():
    def fn(lib, x):
        lib.autograd.backward([(x * x).sum(), x.sin()], [None, lib.ones(4, dtype=lib.float64)])
        return x.grad
    f, t = both(fn, V)
    close(f[0], t[0])


# -- multi-output ops: unused outputs get zero gradients ------------------------------------
def test_unused_outputs_of_multi_output_ops():
    def fn(lib, x):
        parts = x.reshape(2, 2).unbind(0)
        vals, idx = x.reshape(2, 2).max(dim=1)
        (parts[1].sum() + vals[0]).backward()
        return x.grad
    f, t = both(fn, V)
    close(f[0], t[0])


# -- control flow ---------------------------------------------------------------------------
def test_python_control_flow():
    def model(lib, x, w):
        h = x
        for i in range(3):
            h = h * w + i
            if h.sum() > 0:          # a data-dependent branch
                h = h.tanh()
            else:
                h = h.exp() - 1
        while h.abs().max() < 5:     # a data-dependent loop
            h = h * 2
        h.sum().backward()
        return h, x.grad, w.grad
    for seed in range(3):
        r = np.random.default_rng(seed)
        f, t = both(model, r.standard_normal(4), r.standard_normal(4))
        close(f[0], t[0])


# -- in-place and version counter ---------------------------------------------------------------
def test_inplace_on_saved_tensor_raises():
    def fn(lib):
        x = lib.ones(3, requires_grad=True)
        y = x.exp()
        y.add_(1)
        y.sum().backward()
    raises_like_torch(fn, "modified by an inplace operation")

    def fn2(lib):
        x = lib.ones(3, requires_grad=True)
        a = x * 1
        y = a * a
        a.mul_(2)
        y.sum().backward()
    raises_like_torch(fn2, "modified by an inplace operation")


def test_inplace_ops_that_are_allowed():
    def fn(lib, x, w):
        y = x * 2
        y.mul_(3)          # y is needed by mul_ itself: PyTorch keeps the original
        y.mul_(w)
        y.div_(w + 3)
        y.pow_(2)
        z = x.exp()
        z = z * 1
        z.add_(1)          # z's old value is not saved by anything
        (y.sum() + z.sum()).backward()
        return y, x.grad, w.grad
    f, t = both(fn, V, V)
    close(f[0], t[0])


def test_inplace_on_leaf_requiring_grad():
    raises_like_torch(lambda lib: lib.ones(2, requires_grad=True).add_(1), "leaf Variable")
    raises_like_torch(lambda lib: lib.ones(2, requires_grad=True)[0].mul_(2), "leaf Variable")
    for lib in (fw, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.no_grad():
            x.add_(1)            # optimizers do this
        assert x.tolist() == [2.0, 2.0] and x.is_leaf


def test_version_counter():
    x = fw.ones(3)
    v = x._ver[0]
    x.add_(1)
    x[0] = 2
    assert x._ver[0] == v + 2
    assert x[1:]._ver is x._ver


# -- custom Functions ---------------------------------------------------------------------------
def _make_functions(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x ** 3 * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x * ctx.scale, None

    class SplitSort(lib.autograd.Function):
        """Two outputs, one of them integer and marked non-differentiable."""
        @staticmethod
        def forward(ctx, x, y):
            ctx.needs = ctx.needs_input_grad
            s = x * y
            idx = s.argsort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, y)
            return s, x + y, idx

        @staticmethod
        def backward(ctx, gs, gsum, gidx):
            x, y = ctx.saved_tensors
            gx = gs * y + gsum if ctx.needs_input_grad[0] else None
            gy = gs * x + gsum if ctx.needs_input_grad[1] else None
            return gx, gy

    class WrongExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out * 1.1   # wrong on purpose

    return Cube, SplitSort, WrongExp


def test_custom_function():
    def fn(lib, x, y):
        Cube, SplitSort, _ = _make_functions(lib)
        c = Cube.apply(x, 2.0)
        assert c.grad_fn is not None and c.requires_grad
        s, t, idx = SplitSort.apply(x, y.detach())
        assert not idx.requires_grad and s.requires_grad
        assert s.grad_fn.needs == (True, False)
        (c.sum() + s.sum()).backward()           # output t unused: zeros arrive
        return c, s, t, x.grad, y.grad
    f, t = both(fn, V, V + 1)
    close(f[0], t[0])


def test_custom_function_gradcheck():
    for lib in (fw, torch):
        Cube, SplitSort, WrongExp = _make_functions(lib)
        x = lib.tensor(V, dtype=lib.float64, requires_grad=True)
        y = lib.tensor(V + 1, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(lambda a: Cube.apply(a, 2.0), (x,))
        assert lib.autograd.gradcheck(lambda a, b: SplitSort.apply(a, b)[:2], (x, y))
        assert lib.autograd.gradgradcheck(lambda a: Cube.apply(a, 2.0), (x,))
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            lib.autograd.gradcheck(WrongExp.apply, (x,))
        assert lib.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False


def test_custom_function_returning_its_input():
    class Ident(fw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = fw.ones(2, requires_grad=True)
    y = Ident.apply(x)
    assert x.is_leaf and x.grad_fn is None     # the input keeps being a leaf
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_custom_function_materialize_grads_off():
    class Two(fw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert g2 is None
            return g1 * 2

    x = fw.ones(2, requires_grad=True)
    a, b = Two.apply(x)
    a.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("name,fn", [
    ("elementwise", lambda x, y: (x * y).sin() + x.exp() / (y * y + 1)),
    ("matmul", lambda x, y: x.reshape(2, 2) @ y.reshape(2, 2)),
    ("reduction", lambda x, y: (x * y).sum() + x.max()),
    ("tanh_pow", lambda x, y: (x.tanh() * y).pow(2)),
])
def test_gradcheck_and_gradgradcheck_builtin(name, fn):
    x = fw.tensor(V, dtype=fw.float64, requires_grad=True)
    y = fw.tensor(V[::-1].copy() + 0.5, dtype=fw.float64, requires_grad=True)
    assert fw.autograd.gradcheck(fn, (x, y))
    assert fw.autograd.gradgradcheck(fn, (x, y))


def test_gradgradcheck_of_linear_function():
    # The first derivative is constant: its own derivative is zero, not an error.
    x = fw.tensor(V, dtype=fw.float64, requires_grad=True)
    assert fw.autograd.gradgradcheck(lambda a: a * 3, (x,))


def test_custom_function_mark_dirty():
    def fn(lib, x):
        class AddOneInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.mark_dirty(a)
                a.add_(1)
                return a

            @staticmethod
            def backward(ctx, g):
                return g

        y = x * 2
        v = y._version
        z = AddOneInPlace.apply(y)
        assert z is y and y.grad_fn is not None
        (y * y).sum().backward()
        return y, x.grad, y._version - v
    f, t = both(fn, V)
    close(f[0], t[0])

    def leaf(lib):
        class Dirty(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.mark_dirty(a)
                return a

            @staticmethod
            def backward(ctx, g):
                return g
        Dirty.apply(lib.ones(2, requires_grad=True))
    raises_like_torch(leaf, "leaf Variable")


def test_inference_mode_flag():
    for lib in (fw, torch):
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
        assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()
        seen = []
        with lib.inference_mode():
            with lib.inference_mode(False):
                seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
            with lib.enable_grad():
                seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        with lib.no_grad():
            with lib.inference_mode(False):
                seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        assert seen == [(True, False), (True, True), (True, False)]


def _returning(lib, make_grads):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * 2 + y

        @staticmethod
        def backward(ctx, g):
            return make_grads(lib, g)
    return F


def test_custom_function_gradient_validation():
    def run(make):
        def fn(lib):
            x = lib.ones(4, requires_grad=True)
            y = lib.ones(4, requires_grad=True)
            _returning(lib, make).apply(x, y).sum().backward()
            return x.grad, y.grad
        return fn

    # wrong shape, wrong count
    raises_like_torch(run(lambda lib, g: (g[:3], g)), "invalid gradient at index 0")
    raises_like_torch(run(lambda lib, g: (g,)), "incorrect number of gradients")
    raises_like_torch(run(lambda lib, g: (g, g, g)), "incorrect number of gradients")
    # extra Nones are fine; a broadcast gradient is summed down; a dtype is cast
    for make in (lambda lib, g: (g, g, None),
                 lambda lib, g: (g.expand(3, 4), g.double())):
        f, t = run(make)(fw), run(make)(torch)
        close(f, t)
        assert f[1].dtype is fw.float32


def test_inplace_through_views():
    def fn(lib, x, w):
        y = x * 1
        y[0] = w[1] * 5              # setitem into a non-leaf
        v = y[1:3]
        v.mul_(w[:2])                # in-place on a view changes the base's history
        y.view(2, 2)[1].add_(w[2:])
        (y * y).sum().backward()
        return y, x.grad, w.grad
    f, t = both(fn, V, V + 1)
    close(f[0], t[0])


def test_hook_sees_summed_gradient_and_order():
    def fn(lib, x):
        seen = []
        y = x * 2
        y.register_hook(lambda g: seen.append(g.clone()))
        y.register_hook(lambda g: g * 3)           # hooks chain in registration order
        y.register_hook(lambda g: seen.append(g.clone()))
        (y * y + y.sin()).sum().backward()
        return seen[0], seen[1], x.grad
    f, t = both(fn, V)
    close(f[0], t[0])


def test_grad_after_free_raises():
    def fn(lib):
        x = lib.ones(3, requires_grad=True)
        y = (x * x).sum()
        lib.autograd.grad(y, x)
        lib.autograd.grad(y, x)
    raises_like_torch(fn, "second time")


def test_create_graph_accumulation_keeps_graph():
    def fn(lib, x):
        (x ** 2).sum().backward(create_graph=True)
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        (h,) = lib.autograd.grad(g.sum(), x)
        return g, h
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, t = both(fn, V)
    close(f[0], t[0])


def test_shared_subexpression_many_paths():
    def fn(lib, x):
        h = x
        outs = []
        for i in range(5):
            h = (h * 0.9 + x).tanh()
            outs.append(h)
        total = sum(o.sum() for o in outs)
        gx, = lib.autograd.grad(total, x, create_graph=True)
        (hx,) = lib.autograd.grad(gx.pow(2).sum(), x)
        return gx, hx
    f, t = both(fn, V)
    close(f[0], t[0])


def test_custom_function_setup_context_style_and_names():
    def fn(lib, x):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(a):
                return a * a

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return 2 * a * g
        y = Square.apply(x)
        assert y.grad_fn.name() == "SquareBackward"
        y.sum().backward()
        return y, x.grad, repr(y).replace("torch.", "fw.")
    f, t = both(fn, V)
    close(f[0][:2], t[0][:2])
    assert f[0][2] == t[0][2]
    assert (fw.ones(1, requires_grad=True) * 2).grad_fn.name() == "MulBackward0"


def test_once_differentiable():
    for lib in (fw, torch):
        from importlib import import_module
        once = import_module(lib.__name__ + ".autograd.function").once_differentiable

        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a ** 3

            @staticmethod
            @once
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return 3 * a * a * g

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad(Cube.apply(x).sum(), x)
        assert g.tolist() == [3.0, 12.0]
        v = lib.tensor(1.0, requires_grad=True)
        (g,) = lib.autograd.grad(Cube.apply(x).sum(), x, grad_outputs=v, create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()


def test_more_errors_like_torch():
    raises_like_torch(lambda lib: (lib.ones(3, requires_grad=True) * 2).backward(lib.ones(2)),
                      r"Mismatch in shape: grad_output\[0\] has a shape of fw.Size\(\[2\]\)")
    raises_like_torch(lambda lib: lib.autograd.grad((lib.ones(3, requires_grad=True) * 2).sum(), []),
                      "cannot be empty")

    def unused(lib):
        x, w = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        lib.autograd.grad((x * 2).sum(), [x, w])
    raises_like_torch(unused, "index 1 appears to not have been used")


def test_node_names():
    for lib in (fw, torch):
        x = lib.ones(2, requires_grad=True)
        assert x.to(lib.float64).grad_fn.name() == "ToCopyBackward0"
        assert (x * 2).sum().grad_fn.name() == "SumBackward0"
        assert (x + x).grad_fn.name() == "AddBackward0"
        assert x.exp().grad_fn.name() == "ExpBackward0"
        assert x.clone().grad_fn.name() == "CloneBackward0"


def test_gradcheck_options():
    x = fw.tensor(V, dtype=fw.float64, requires_grad=True)
    assert fw.autograd.gradcheck(lambda a: (a.sin(), a.argmax()), x)   # one tensor, int output
    assert fw.autograd.gradcheck(lambda a, k: a * k, (x, 3.0))          # non-tensor input
    with pytest.warns(UserWarning, match="double precision"):
        fw.autograd.gradcheck(lambda a: a * 2, fw.ones(2, requires_grad=True), eps=1e-2,
                              atol=1e-2)
    with pytest.raises(ValueError, match="requires_grad"):
        fw.autograd.gradcheck(lambda a: a * 2, fw.ones(2, dtype=fw.float64))
    # a second output with a wrong gradient is found too, and named
    class Half(fw.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2
    with pytest.raises(fw.autograd.GradcheckError, match="output 1"):
        fw.autograd.gradcheck(Half.apply, x)


def test_grad_runs_only_the_needed_part_of_the_graph():
    def fn(lib, x):
        calls = []
        y = x * x
        y.register_hook(lambda g: calls.append("y"))
        z = (y * y).sum()
        (gy,) = lib.autograd.grad(z, y)        # x*x is not needed, so not run nor freed
        y.sum().backward()                     # ... and can still be backpropagated
        return gy, x.grad, calls
    f, t = both(fn, V)
    close(f[0][:2], t[0][:2])
    assert f[0][2] == t[0][2]

    def fn2(lib, x, w):
        a = x.exp()
        b = a * w
        c = (b * b).sum()
        (ga,) = lib.autograd.grad(c, a, retain_graph=True)
        (gw, gx) = lib.autograd.grad(c, (w, x))
        return ga, gw, gx
    f, t = both(fn2, V, V + 1)
    close(f[0], t[0])


def test_post_accumulate_grad_hook():
    for lib in (fw, torch):
        x = lib.ones(2, requires_grad=True)
        seen = []
        h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        (x * 3).sum().backward()
        (x * 2).sum().backward()
        h.remove()
        (x * 2).sum().backward()
        assert seen == [[3.0, 3.0], [5.0, 5.0]]
        with pytest.raises(RuntimeError, match="non-leaf"):
            (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_leaf_gradients_never_share_memory_with_anything_visible(device):
    # fw keeps a gradient without copying only when nothing else can see it.
    a = fw.randn(3, device=device, requires_grad=True)
    b = fw.randn(3, device=device, requires_grad=True)
    (a + b).backward(fw.ones(3, device=device))   # one gradient object for both leaves
    a.grad.mul_(5)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    seen = []
    x = fw.randn(3, device=device, requires_grad=True)
    y = x * 1
    y.register_hook(lambda g: seen.append(g))
    y.backward(fw.full((3,), 2.0, device=device))
    x.grad.zero_()
    assert seen[0].tolist() == [2.0, 2.0, 2.0]
    g = fw.full((3,), 3.0, device=device)
    leaf = fw.randn(3, device=device, requires_grad=True)
    leaf.backward(g)
    leaf.grad.zero_()
    assert g.tolist() == [3.0, 3.0, 3.0]


def test_fresh_leaf_gradient_is_kept_without_a_copy(monkeypatch):
    clones = []
    clone = fw.Tensor.clone
    monkeypatch.setattr(fw.Tensor, "clone", lambda self, *a, **k: clones.append(1) or clone(self, *a, **k))
    x = fw.randn(4, 3, requires_grad=True)
    w = fw.randn(3, 2, requires_grad=True)
    (x @ w).backward(fw.ones(4, 2))
    assert clones == [] and x.grad._base is None
    np.testing.assert_allclose(x.grad.numpy(), np.ones((4, 2)) @ w.detach().numpy().T, rtol=1e-6)
