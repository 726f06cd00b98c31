"""Threads: the modes are per thread, as in PyTorch, and threads can share a device.

Grad mode, inference mode and the default device belong to the thread that set them (a new
thread starts with grad on, inference off, on cpu); the default dtype is process-wide. Two
threads training their own models at once give what sequential runs give, on every device.
The threads are made to switch often (a tiny switch interval), so that a race shows up.
"""
import contextlib
import sys
import threading

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn, optim
from framework.nn import functional as F
from framework.utils.data import DataLoader, TensorDataset


@contextlib.contextmanager
def _switching_often():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _in_threads(*fns):
    """Run each function in a thread of its own, all started together; their results."""
    out, start = [None] * len(fns), threading.Barrier(len(fns))

    def run(i, fn):
        try:
            start.wait()
            out[i] = ("ok", fn())
        except BaseException as e:  # re-raised in the caller
            out[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    with _switching_often():
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    for t in threads:
        assert not t.is_alive(), "a thread did not finish"
    for kind, value in out:
        if kind == "error":
            raise value
    return [value for _, value in out]


def _modes(lib):
    return lib.is_grad_enabled(), lib.is_inference_mode_enabled()


# -- modes ------------------------------------------------------------------------------------
PARENT_MODES = {
    "no_grad": lambda lib: lib.no_grad(),
    "inference_mode": lambda lib: lib.inference_mode(),
    "set_grad_enabled(False)": lambda lib: lib.set_grad_enabled(False),
    "enable_grad inside no_grad": lambda lib: _nested(lib.no_grad(), lib.enable_grad()),
}


@contextlib.contextmanager
def _nested(*managers):
    with contextlib.ExitStack() as stack:
        for m in managers:
            stack.enter_context(m)
        yield


@pytest.mark.parametrize("parent", list(PARENT_MODES))
def test_a_new_thread_starts_with_grad_on(parent):
    """Whatever mode its parent is in, a new thread starts as a PyTorch thread does."""
    seen = {}
    for lib in (torch, fw):
        with PARENT_MODES[parent](lib):
            seen[lib.__name__] = (_modes(lib), _in_threads(lambda: _modes(lib))[0])
        seen[lib.__name__] += (_modes(lib),)  # and the parent's mode is restored after
    assert seen["framework"] == seen["torch"]
    assert seen["framework"][1] == (True, False)


def test_no_grad_in_one_thread_leaves_another_recording():
    """A thread inside no_grad (as in optimizer.step()) does not stop another one's graph,
    nor does a thread that records turn grad mode on in one inside no_grad."""
    x = fw.ones(3, requires_grad=True)
    entered, checked = threading.Event(), threading.Event()

    def quiet():
        with fw.no_grad():
            entered.set()
            checked.wait(30)
            return (x * 2).requires_grad

    def recording():
        entered.wait(30)
        try:
            return (x * 2).requires_grad, fw.is_grad_enabled()
        finally:
            checked.set()

    quiet_result, recording_result = _in_threads(quiet, recording)
    assert recording_result == (True, True)
    assert quiet_result is False


def test_plain_set_grad_enabled_stays_in_its_thread():
    def switch_off():
        fw.set_grad_enabled(False)  # the plain call, never undone in this thread
        return fw.is_grad_enabled()

    assert _in_threads(switch_off) == [False]
    assert fw.is_grad_enabled()
    assert (fw.ones(1, requires_grad=True) * 2).requires_grad


def test_inference_mode_decorator_keeps_its_argument():
    """@inference_mode(False) turns inference off inside, as PyTorch's does."""
    got = []
    for lib in (torch, fw):
        @lib.inference_mode(False)
        def inside():
            return _modes(lib)
        with lib.inference_mode():
            got.append(inside())
    assert got[1] == got[0] == (True, False)


def test_default_device_is_per_thread(device):
    """As in PyTorch: set_default_device holds in its own thread; a new one starts on cpu."""
    torch.set_default_device("meta")
    try:
        torch_seen = _in_threads(lambda: torch.empty(1).device.type)[0]
    finally:
        torch.set_default_device(None)
    fw.set_default_device(device)
    try:
        seen = _in_threads(lambda: (fw.empty(1).device.type, fw.get_default_device().type))[0]
        here = fw.empty(1).device
    finally:
        fw.set_default_device(None)
    assert seen == (torch_seen, torch_seen) == ("cpu", "cpu")
    assert here.type == fw.device(device).type
    assert fw.empty(1).device.type == "cpu"


def test_default_dtype_is_process_wide():
    """As in PyTorch: set_default_dtype is seen by every thread."""
    seen = []
    for lib in (torch, fw):
        lib.set_default_dtype(lib.float64)
        try:
            seen.append(_in_threads(lambda: str(lib.ones(1).dtype).split(".")[-1])[0])
        finally:
            lib.set_default_dtype(lib.float32)
    assert seen == ["float64", "float64"]


# -- training in two threads at once ----------------------------------------------------------
def _mlp():
    return nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 12), nn.Sigmoid(),
                         nn.Linear(12, 3))


class _LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.LSTM(3, 5), nn.Linear(5, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


class _ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        return self.head(F.relu(self.conv(x)).flatten(1))


MODELS = {"mlp": (_mlp, (8, 6), optim.Adam), "lstm": (_LSTMNet, (4, 8, 3), optim.SGD),
          "conv": (_ConvNet, (8, 1, 4, 4), optim.SGD)}
STEPS = 4


def _setup(kind, device, seed):
    """A model, its optimizer and its data, the same for the same seed."""
    make, shape, opt_cls = MODELS[kind]
    fw.manual_seed(seed)
    model = make().to(device)
    rng = np.random.default_rng(seed)
    x = fw.tensor(rng.standard_normal(shape).astype(np.float32), device=device)
    y = fw.tensor(rng.integers(0, 3, shape[1] if kind == "lstm" else shape[0]), device=device)
    kw = {"lr": 0.01} if opt_cls is optim.Adam else {"lr": 0.1, "momentum": 0.9}
    return model, opt_cls(model.parameters(), **kw), x, y


def _train(model, opt, x, y):
    losses = []
    for _ in range(STEPS):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.parametrize("kind", list(MODELS))
def test_two_threads_train_as_sequential_runs(device, kind):
    """Each thread's optimizer.step() runs under no_grad: with a process-wide grad mode the
    other thread's forward stopped recording and its backward failed."""
    runs = [_setup(kind, device, seed) for seed in (1, 2)]
    together = _in_threads(*[lambda r=r: _train(*r) for r in runs])
    alone = [_train(*_setup(kind, device, seed)) for seed in (1, 2)]
    for (losses_t, params_t), (losses_s, params_s) in zip(together, alone):
        np.testing.assert_array_equal(losses_t, losses_s)
        for pt, ps in zip(params_t, params_s):
            np.testing.assert_array_equal(pt, ps)


def test_training_beside_inference_under_no_grad(device):
    """One thread evaluates under no_grad while another trains: the training is unchanged
    and the evaluation records no graph."""
    run = _setup("mlp", device, 3)
    other, _, x, _ = _setup("mlp", device, 4)

    def evaluate():
        outs = []
        with fw.no_grad():
            for _ in range(3 * STEPS):
                outs.append(other(x))
        return [o.requires_grad for o in outs]

    trained, evaluated = _in_threads(lambda: _train(*run), evaluate)
    expected = _train(*_setup("mlp", device, 3))
    np.testing.assert_array_equal(trained[0], expected[0])
    assert not any(evaluated)


def test_concurrent_ops_on_one_device(device):
    """Many small ops from two threads on one device: each thread gets its own sums (on
    OpenCL, interleaved kernel arguments gave wrong sums before the runtime lock)."""
    n = 1000

    def accumulate(k):
        a, b = fw.full((64,), float(k), device=device), fw.full((64,), 10.0 * k, device=device)
        acc = fw.zeros(64, device=device)
        for _ in range(n):
            acc = acc + (a + b)
        return acc.cpu().numpy()

    sums = _in_threads(lambda: accumulate(1), lambda: accumulate(2))
    np.testing.assert_array_equal(sums[0], np.full(64, 11.0 * n, np.float32))
    np.testing.assert_array_equal(sums[1], np.full(64, 22.0 * n, np.float32))


def test_a_failed_device_check_raises_in_its_own_thread(device):
    """An accelerator checks class indices on the device and raises at the host's next
    wait: that wait may come from another thread, but the error is the checked thread's."""
    logits, bad = fw.zeros(2, 3, device=device), fw.tensor([0, 7], device=device)
    issued, waited = threading.Event(), threading.Event()

    def checked():
        try:
            loss = F.cross_entropy(logits, bad)  # cpu raises here, an accelerator later
            issued.set()
            waited.wait(30)
            loss.item()
        except IndexError as e:
            return str(e)
        finally:
            issued.set()
        return "no error"

    def bystander():
        issued.wait(30)
        try:
            return fw.ones(4, device=device).sum().item()
        finally:
            waited.set()

    error, total = _in_threads(checked, bystander)
    assert error == "Target 7 is out of bounds."
    assert total == 4.0


# -- random numbers and data loading ----------------------------------------------------------
def test_own_generators_in_threads_match_sequential_draws(device):
    def draw(seed):
        g = fw.Generator().manual_seed(seed)
        return [fw.randn(16, generator=g, device=device).cpu().numpy() for _ in range(50)]

    together = _in_threads(lambda: draw(5), lambda: draw(6))
    np.testing.assert_array_equal(np.stack(together[0]), np.stack(draw(5)))
    np.testing.assert_array_equal(np.stack(together[1]), np.stack(draw(6)))


def test_the_global_generator_in_threads_loses_no_draw():
    """Threads sharing the default generator get its draws in some order, each draw whole
    and none twice (as PyTorch's generator, it is not per thread)."""
    fw.manual_seed(11)
    sequential = [fw.randn(8).numpy() for _ in range(200)]
    fw.manual_seed(11)
    halves = _in_threads(*[lambda: [fw.randn(8).numpy() for _ in range(100)]] * 2)
    got = sorted(map(tuple, halves[0] + halves[1]))
    assert got == sorted(map(tuple, sequential))


@pytest.mark.parametrize("num_workers", [0, 1])
def test_dataloaders_in_two_threads(num_workers):
    """Each thread iterates its own shuffled DataLoader: the batches of sequential runs."""
    data = TensorDataset(fw.arange(40).reshape(20, 2).float(), fw.arange(20))

    def batches(seed):
        g = fw.Generator().manual_seed(seed)
        loader = DataLoader(data, batch_size=3, shuffle=True, generator=g,
                            num_workers=num_workers)
        return [(x.numpy(), y.numpy()) for x, y in loader]

    together = _in_threads(lambda: batches(1), lambda: batches(2))
    for got, seed in zip(together, (1, 2)):
        want = batches(seed)
        assert len(got) == len(want) == 7
        for (gx, gy), (wx, wy) in zip(got, want):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)
