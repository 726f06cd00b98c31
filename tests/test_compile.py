"""fw.compile: compiled training steps and forwards give eager's answers (bitwise on cpu),
guards record again instead of replaying stale work, host reads fall back to eager."""
import warnings

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn, optim
from framework.compiler import GraphBreakError
import framework.nn.functional as F


class LSTMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(6, 8, batch_first=True)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


# small versions of benchmarks/train_step.py's models: (builder, input shape)
MODELS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.25),
                                  nn.Linear(16, 5)), (6, 12)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(36, 5)), (4, 1, 8, 8)),
    "lstm": (LSTMHead, (3, 5, 6)),
}
OPTIMIZERS = {
    "sgd-nesterov": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                         weight_decay=1e-3),
    "sgd-momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
}
CASES = [("mlp", "sgd-nesterov"), ("mlp", "adamw"), ("cnn", "sgd-momentum"), ("cnn", "adam"),
         ("lstm", "sgd-momentum"), ("lstm", "adamw")]


def _data(shape, n, device):
    rng = np.random.default_rng(1)
    return [(fw.tensor(rng.standard_normal(shape, dtype=np.float32), device=device),
             fw.tensor(rng.integers(0, 5, shape[0]), device=device)) for _ in range(n)]


def _train(model_name, opt_name, device, compiled, steps=6):
    """Losses, parameters and optimizer state after `steps` steps with a StepLR halving the
    learning rate every 2 steps (between calls: a replay must read the current lr)."""
    builder, shape = MODELS[model_name]
    fw.manual_seed(0)
    model = builder().to(device)
    opt = OPTIMIZERS[opt_name](model.parameters())
    sched = optim.lr_scheduler.StepLR(opt, 2, 0.5)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if model_name == "lstm":  # as examples/text_char_lstm.py: recorded, no host read
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss
    run = fw.compile(step) if compiled else step
    losses = []
    for x, y in _data(shape, steps, device):
        losses.append(run(x, y))
        sched.step()
    state = [t.cpu().numpy() for st in opt.state.values() for t in st.values()
             if isinstance(t, fw.Tensor)]
    return ([l.item() for l in losses], [p.detach().cpu().numpy() for p in model.parameters()],
            state, run)


@pytest.mark.parametrize("model_name,opt_name", CASES)
def test_train_step_matches_eager(device, model_name, opt_name):
    losses, params, state, _ = _train(model_name, opt_name, device, False)
    c_losses, c_params, c_state, run = _train(model_name, opt_name, device, True)
    assert run.replays == 3  # call 1 warms up, 2 and 3 record (grads now exist), then replay
    assert len(state) == len(c_state) > 0
    if device == "cpu":  # the same kernels in the same order: bitwise
        assert losses == c_losses
        for a, b in zip(params + state, c_params + c_state):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(losses, c_losses, rtol=1e-5)
        for a, b in zip(params + state, c_params + c_state):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_train_step_on_vulkan():
    if "vulkan" not in fw.testing.available_devices():
        pytest.skip("no vulkan device (fw-vulkan and lavapipe not installed)")
    losses, params, _, _ = _train("mlp", "adamw", "vulkan", False, steps=4)
    c_losses, c_params, _, run = _train("mlp", "adamw", "vulkan", True, steps=4)
    assert run.replays == 1
    np.testing.assert_allclose(losses, c_losses, rtol=1e-5)
    for a, b in zip(params, c_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_compiled_step_matches_torch():
    """A compiled SGD-Nesterov MLP step against PyTorch's, from the same weights."""
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 5))
    tmodel = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(), torch.nn.Linear(16, 5))
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9, nesterov=True)

    @fw.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    for x, y in _data((6, 12), 5, "cpu"):
        loss = step(x, y)
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x.numpy())),
                                                  torch.from_numpy(y.numpy()))
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    assert step.replays == 2
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_draws_new_masks_each_replay():
    """The same batch every step with lr 0: only dropout's masks change the loss, so equal
    losses would mean a replay reused the recorded masks."""
    x, y = _data((6, 12), 1, "cpu")[0]
    out = []
    for compiled in (False, True):
        fw.manual_seed(3)
        model = MODELS["mlp"][0]()
        opt = optim.SGD(model.parameters(), lr=0.0)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        run = fw.compile(step) if compiled else step
        out.append([run().item() for _ in range(6)])
    assert out[0] == out[1]
    assert len(set(out[1][3:])) == 3  # the replayed steps drew different masks


def test_inference_forward_and_kept_outputs(device):
    """A compiled module's forward under no_grad; outputs are fresh tensors each call, so
    ones kept from earlier calls keep their values."""
    fw.manual_seed(0)
    model = MODELS["cnn"][0]().to(device).eval()
    cmodel = fw.compile(model)
    xs = [x for x, _ in _data((4, 1, 8, 8), 5, device)]
    with fw.no_grad():
        kept = [cmodel(x) for x in xs]
        expected = [model(x) for x in xs]
    assert cmodel._compiled.replays == 3
    for k, e in zip(kept, expected):
        np.testing.assert_array_equal(k.cpu().numpy(), e.cpu().numpy())
    assert len({id(k._v.buf) for k in kept}) == len(kept)
    assert set(cmodel.state_dict()) == {"_orig_mod." + k for k in model.state_dict()}


def test_shape_change_and_train_eval_switch_record_again():
    fw.manual_seed(0)
    model = MODELS["mlp"][0]()
    cmodel = fw.compile(model)
    rng = np.random.default_rng(0)
    with fw.no_grad():
        for shape, training in [((6, 12), True)] * 3 + [((4, 12), True)] * 3 \
                + [((4, 12), False)] * 3:
            model.train(training)
            x = fw.tensor(rng.standard_normal(shape, dtype=np.float32))
            state = fw.get_rng_state()
            got = cmodel(x)
            fw.set_rng_state(state)
            np.testing.assert_array_equal(got.numpy(), model(x).numpy())
    assert len(cmodel._compiled.recordings()) == 3
    assert cmodel._compiled.replays == 3


def test_recompile_limit_warns_naming_the_change():
    model = nn.Linear(3, 2)
    cmodel = fw.compile(model)
    with fw.no_grad(), pytest.warns(RuntimeWarning, match=r"cache limit.*input tensor 0"):
        for n in range(1, 12):
            for _ in range(2):
                out = cmodel(fw.ones(n, 3))
            np.testing.assert_array_equal(out.numpy(), model(fw.ones(n, 3)).numpy())


def test_host_read_runs_eagerly_with_one_warning():
    fw.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    seen = []

    def step(x):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        if loss > 0.5:  # a Python branch on a tensor: a host read
            loss = loss * 2
        seen.append(loss.item())
        loss.backward()
        opt.step()
        return loss
    run = fw.compile(step)
    x = fw.ones(3, 4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(5):
            run(x)
    msgs = [str(m.message) for m in w if "fw.compile" in str(m.message)]
    line = next(i for i, text in enumerate(open(__file__), 1) if "if loss > 0.5" in text)
    assert len(msgs) == 1 and f"test_compile.py:{line}:" in msgs[0] and "runs eagerly" in msgs[0]
    assert run.replays == 0 and len(seen) == 5 and len(set(seen)) == 5


def test_fullgraph_raises_on_host_read():
    model = nn.Linear(4, 2)

    def fn(x):
        y = model(x)
        print(y)
        return y
    run = fw.compile(fn, fullgraph=True)
    with fw.no_grad(), pytest.raises(GraphBreakError, match="fullgraph=True.*test_compile.py"):
        for _ in range(3):
            run(fw.ones(2, 4))


def test_forward_needing_autograd_runs_eagerly():
    """A compiled forward whose output is backpropagated outside: eager, with a warning,
    and the gradients still arrive."""
    model = nn.Linear(4, 2)
    cmodel = fw.compile(model)
    with pytest.warns(RuntimeWarning, match="needs autograd"):
        for _ in range(3):
            model.zero_grad()
            cmodel(fw.ones(2, 4)).sum().backward()
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.full((2, 4), 2.0, np.float32))


def test_bad_arguments():
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        fw.compile(lambda x: x, mode="fastest")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        fw.compile(lambda x: x, mode="default", options={})
    with pytest.raises(RuntimeError, match="invalid backend"):
        fw.compile(lambda x: x, backend="tvm")
    with pytest.raises(TypeError, match="must be a callable"):
        fw.compile(3)
    with pytest.raises(TypeError, match="dynamic"):
        fw.compile(lambda x: x, dynamic="yes")
    with pytest.raises(TypeError, match="fullgraph"):
        fw.compile(lambda x: x, fullgraph="yes")
    f = fw.compile(mode="reduce-overhead", dynamic=False)(lambda x: x * 2)
    np.testing.assert_array_equal(f(fw.ones(2)).numpy(), [2.0, 2.0])


def test_gradient_accumulation_and_batch_norm():
    """No zero_grad inside: each call adds into the .grad the previous replay left (read
    live at replay); batch norm's running statistics are updated in place as in eager."""
    rng = np.random.default_rng(0)
    data = [(fw.tensor(rng.standard_normal((4, 2, 6, 6), dtype=np.float32)),
             fw.tensor(rng.integers(0, 3, 4))) for _ in range(10)]
    out = []
    for compiled in (False, True):
        fw.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                              nn.Linear(48, 3))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def accumulate(x, y):
            loss = F.cross_entropy(model(x), y) / 2
            loss.backward()
            return loss
        run = fw.compile(accumulate) if compiled else accumulate
        losses = []
        for i, (x, y) in enumerate(data):
            losses.append(run(x, y).item())
            if i % 2:
                opt.step()
                opt.zero_grad()
        out.append((losses, [t.detach().numpy() for t in model.state_dict().values()]))
    assert run.replays == 6 and len(run.recordings()) == 2  # with and without a .grad
    assert out[0][0] == out[1][0]
    for a, b in zip(out[0][1], out[1][1]):
        np.testing.assert_array_equal(a, b)


def test_inputs_bound_by_name_and_storage():
    """Keyword inputs bind by name whatever their order; the same tensor passed twice is a
    different recording from two tensors."""
    def f(a, b):
        return a * 2 + b
    run = fw.compile(f)
    x, y = fw.arange(3.0), fw.arange(3.0) + 10
    for _ in range(3):
        run(a=x, b=y)
    np.testing.assert_array_equal(run(b=y, a=x).numpy(), f(x, y).numpy())
    np.testing.assert_array_equal(run(a=y, b=x).numpy(), f(y, x).numpy())
    assert run.replays == 3
    for _ in range(3):
        got = run(x, x)
    np.testing.assert_array_equal(got.numpy(), f(x, x).numpy())
    np.testing.assert_array_equal(run(y, x).numpy(), f(y, x).numpy())
    assert len(run.recordings()) == 2

    def g(b, a):  # positional order differs from the keywords' sorted order
        return a * 2 + b
    run = fw.compile(g)
    for _ in range(3):
        run(a=x, b=y)
    np.testing.assert_array_equal(run(x, y).numpy(), g(x, y).numpy())


@pytest.mark.parametrize("discoverable", [True, False])
def test_plain_parameters_and_their_grads(discoverable):
    """examples/train_toy.py's step: leaf tensors (no module, no optimizer), updated in place
    under no_grad. After each replayed call .grad holds that call's gradient, also for leaves
    reached only through an object attribute (found when backward writes their .grad)."""
    rng = np.random.default_rng(0)
    x = fw.tensor(rng.standard_normal((5, 3), dtype=np.float32))
    out = []
    for compiled in (False, True):
        w = fw.tensor(rng.standard_normal((3, 2), dtype=np.float32) if not out else out[0][2],
                      requires_grad=True)
        holder = type("Holder", (), {})()
        holder.w = w

        def update(p):
            loss = (x @ p).tanh().sum()
            p.grad = None
            loss.backward()
            with fw.no_grad():
                p -= 0.1 * p.grad
            return loss

        def step_w():
            return update(w)

        def step_holder():
            return update(holder.w)
        step = step_w if discoverable else step_holder
        w0 = w.detach().numpy().copy()
        run = fw.compile(step) if compiled else step
        grads = []
        for _ in range(6):
            run()
            grads.append(w.grad.numpy().copy())
        out.append((grads, w.detach().numpy(), w0))
    assert run.replays >= 2
    for a, b in zip(out[0][0] + [out[0][1]], out[1][0] + [out[1][1]]):
        np.testing.assert_array_equal(a, b)


def test_replay_still_checks_targets(device):
    """cross_entropy's target check is a recorded device call: a bad target in a replayed
    call raises as in eager (on an accelerator at the next host wait)."""
    model = nn.Linear(4, 3).to(device)

    @fw.compile
    def loss_of(x, y):
        with fw.no_grad():
            return F.cross_entropy(model(x), y)
    x = fw.ones(2, 4, device=device)
    for _ in range(3):
        loss_of(x, fw.tensor([0, 2], device=device))
    assert loss_of.replays == 1
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        loss_of(x, fw.tensor([0, 7], device=device)).item()


def test_module_compile_in_place():
    """model.compile(), as PyTorch's Module.compile: the module itself, compiled forward."""
    fw.manual_seed(0)
    model = MODELS["lstm"][0]()
    x = fw.tensor(np.random.default_rng(0).standard_normal((3, 5, 6), dtype=np.float32))
    with fw.no_grad():
        expected = model(x).numpy()
        assert model.compile(mode="reduce-overhead") is None
        outs = [model(x).numpy() for _ in range(3)]
    assert model.forward.replays == 1
    for o in outs:
        np.testing.assert_array_equal(o, expected)


def test_scheduler_stepped_inside_the_step():
    """scheduler.step() inside the compiled function is Python only: it is re-run at replay,
    so the learning rate keeps changing as in eager."""
    out = []
    for compiled in (False, True):
        fw.manual_seed(0)
        model = nn.Linear(4, 3)
        opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=8)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            return loss
        run = fw.compile(step) if compiled else step
        for x, y in _data((5, 4), 7, "cpu"):
            run(x, y[:5] % 3)
        out.append((opt.param_groups[0]["lr"], [p.detach().numpy() for p in model.parameters()]))
    assert run.replays == 4
    assert out[0][0] == out[1][0]
    for a, b in zip(out[0][1], out[1][1]):
        np.testing.assert_array_equal(a, b)
