"""The PyTorch API that tests/compat's programs needed and fw lacked (issue 19), against
torch; and framework.compat's import mapping itself."""
import collections
import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import framework as fw
from framework import compat


def _run_mapped(code, tmp_path, *args):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, "-m", "framework.compat", str(script), *args],
                          capture_output=True, text=True, timeout=120)


def test_mapping_imports_fw_modules(tmp_path):
    proc = _run_mapped("""
        import sys
        import torch, torch.nn as nn, torch.nn.functional as F
        import torch.optim.lr_scheduler
        from torch.utils.data import DataLoader
        from torch.nn.modules.rnn import LSTM
        import torchvision.transforms as T
        import framework, fw_vision
        assert torch is framework and nn is framework.nn and F is framework.nn.functional
        assert torch.optim.lr_scheduler is framework.optim.lr_scheduler
        assert DataLoader is framework.utils.data.DataLoader and LSTM is framework.nn.LSTM
        assert T is fw_vision.transforms
        # fw's modules keep their own names and specs
        assert framework.__spec__.name == "framework" and nn.__name__ == "framework.nn"
        print(__name__, sys.argv[1:])
        """, tmp_path, "a", "--b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "__main__ ['a', '--b']"


def test_mapping_missing_module_names_both(tmp_path):
    proc = _run_mapped("import torch.no_such_module\n", tmp_path)
    assert proc.returncode != 0
    assert "ModuleNotFoundError: No module named 'torch.no_such_module'" in proc.stderr
    assert "framework.no_such_module" in proc.stderr


def test_mapping_refuses_real_torch_already_imported():
    # this test process has the real torch imported
    with pytest.raises(RuntimeError, match="already imported"):
        compat.install()
    assert not compat.installed()


def test_mapping_cli_errors():
    proc = subprocess.run([sys.executable, "-m", "framework.compat"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "usage" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "framework.compat", "/no/such/file.py"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "can't open file" in proc.stderr


def _grads(lib, a, b, p, device=None):
    kw = {"device": device} if device else {}
    x = lib.tensor(a, requires_grad=True, **kw)
    y = lib.tensor(b, requires_grad=True, **kw)
    d = lib.cdist(x, y, p)
    (d * lib.arange(1.0, d.shape[-1] + 1, **kw)).sum().backward()
    return [t.detach().cpu().numpy() for t in (d, x.grad, y.grad)]


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, float("inf")])
def test_cdist(device, p):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 5, 3)).astype(np.float32)
    b = rng.standard_normal((1, 4, 3)).astype(np.float32)   # batch dims broadcast
    b[0, 1] = a[0, 2]          # a zero distance: gradient 0, not NaN
    b[0, 2, 1] = a[1, 3, 1]    # a zero component
    mine = _grads(fw, a, b, p, device)
    theirs = _grads(torch, a, b, p)
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m, t, rtol=1e-4, atol=1e-5)


def test_cdist_errors():
    x = fw.zeros(3, 4)
    with pytest.raises(RuntimeError, match="same number of columns"):
        fw.cdist(x, fw.zeros(2, 5))
    with pytest.raises(RuntimeError, match="non-negative"):
        fw.cdist(x, x, p=-1)
    with pytest.raises(RuntimeError, match="at least 2D"):
        fw.cdist(fw.zeros(4), x)
    with pytest.raises(RuntimeError, match="floating"):
        fw.cdist(x.long(), x.long())
    with pytest.raises(ValueError, match="compute_mode"):
        fw.cdist(x, x, compute_mode="fast")
    with pytest.raises(TypeError):
        fw.cdist(x, [[1.0]])
    # torch raises the same types
    with pytest.raises(RuntimeError):
        torch.cdist(torch.zeros(3, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError):
        torch.cdist(torch.zeros(3, 4), torch.zeros(3, 4), compute_mode="fast")


def test_multisteplr_checkpoint_loads_weights_only(tmp_path):
    # MultiStepLR keeps its milestones in a collections.Counter; torch.load(weights_only=True)
    # allows Counter, and so must fw.load, both for fw's files and for torch's
    model = fw.nn.Linear(2, 2)
    opt = fw.optim.SGD(model.parameters(), lr=0.1)
    sched = fw.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.5)
    fw.save({"epoch": 3, "scheduler": sched.state_dict()}, tmp_path / "fw.pt")
    loaded = fw.load(tmp_path / "fw.pt")
    assert loaded["scheduler"]["milestones"] == collections.Counter([2, 4, 4])
    assert type(loaded["scheduler"]["milestones"]) is collections.Counter

    t_opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    t_sched = torch.optim.lr_scheduler.MultiStepLR(t_opt, milestones=[2, 4, 4], gamma=0.5)
    buf = io.BytesIO()
    torch.save({"scheduler": t_sched.state_dict()}, buf)
    mine = fw.load(io.BytesIO(buf.getvalue()))["scheduler"]
    assert mine["milestones"] == t_sched.state_dict()["milestones"]
    sched.load_state_dict(mine)
    assert sched.milestones == collections.Counter([2, 4, 4])


def test_type_as(device):
    a = np.arange(6).reshape(2, 3)
    for other in (torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.int32)):
        theirs = torch.tensor(a).type_as(other)
        mine = fw.tensor(a).type_as(fw.zeros(1, dtype=getattr(fw, str(other.dtype).split(".")[1]),
                                             device=device))
        assert mine.dtype.name == str(theirs.dtype).split(".")[1]
        assert mine.device.type == fw.device(device).type
        np.testing.assert_array_equal(mine.cpu().numpy(), theirs.numpy())
    x = fw.ones(2, requires_grad=True)
    x.type_as(fw.zeros(1, dtype=fw.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    with pytest.raises(TypeError):
        fw.ones(2).type_as(np.zeros(2))
    with pytest.raises(TypeError):
        torch.ones(2).type_as(np.zeros(2))


def test_mapping_saves_pytorch_files(tmp_path):
    # under the mapping torch.save writes PyTorch's format, which the real torch.load reads;
    # uninstall() gives fw.save its own default (safetensors) back
    proc = _run_mapped(f"""
        import torch, framework.compat
        assert framework.compat.installed()
        m = torch.nn.Linear(3, 2)
        torch.save(m.state_dict(), {str(tmp_path / 'a.pt')!r})
        framework.compat.uninstall()
        import framework
        framework.save(m.state_dict(), {str(tmp_path / 'b.pt')!r})
        assert not framework.compat.installed()
        print(m.weight.sum().item())
        """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    sd = torch.load(tmp_path / "a.pt")
    assert list(sd) == ["weight", "bias"] and sd["weight"].shape == (2, 3)
    assert sd["weight"].sum().item() == pytest.approx(float(proc.stdout))
    assert (tmp_path / "b.pt").read_bytes()[8:9] == b"{"   # safetensors: a JSON header


def test_finfo_iinfo():
    for name in ("float32", "float64"):
        mine, theirs = fw.finfo(getattr(fw, name)), torch.finfo(getattr(torch, name))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(mine, attr) == getattr(theirs, attr), (name, attr)
        assert repr(mine) == repr(theirs)
    assert fw.finfo().eps == torch.finfo().eps          # the default dtype
    for name in ("int32", "int64"):
        mine, theirs = fw.iinfo(getattr(fw, name)), torch.iinfo(getattr(torch, name))
        assert (mine.bits, mine.min, mine.max, mine.dtype) == \
            (theirs.bits, theirs.min, theirs.max, theirs.dtype)
        assert type(mine.max) is int and repr(mine) == repr(theirs)
    for lib in (fw, torch):   # the same exception types as torch
        with pytest.raises(TypeError):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.float32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.bool)
        with pytest.raises(TypeError):
            lib.finfo("float32")


def test_torch_format_whole_model_keeps_device(device, tmp_path):
    # torch.save(model) restores each tensor to the device it was saved from; under the mapping
    # (format="torch") fw's whole model must too, while plain state dicts stay "cpu" for PyTorch
    model = fw.nn.Sequential(fw.nn.Embedding(5, 3), fw.nn.Linear(3, 2)).to(device)
    fw.save(model, tmp_path / "m.pt", format="torch")
    back = fw.load(tmp_path / "m.pt", weights_only=False)
    assert all(p.device.type == fw.device(device).type for p in back.parameters())
    x = fw.tensor([[0, 4, 2]], device=device)
    np.testing.assert_array_equal(back(x).detach().cpu().numpy(), model(x).detach().cpu().numpy())
    fw.save(model.state_dict(), tmp_path / "sd.pt", format="torch")
    theirs = torch.load(tmp_path / "sd.pt")       # PyTorch reads it: every storage is "cpu"
    t_model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2))
    t_model.load_state_dict(theirs)
    np.testing.assert_allclose(t_model(torch.tensor([[0, 4, 2]])).detach().numpy(),
                               model(x).detach().cpu().numpy(), rtol=1e-6, atol=1e-6)


def test_fakedata():
    from fw_vision import datasets, transforms
    ds = datasets.FakeData(size=6, image_size=(3, 5, 4), num_classes=3, random_offset=7)
    assert len(ds) == 6
    img, target = ds[2]
    assert img.size == (4, 5) and img.mode == "RGB" and target in range(3)
    # item i is drawn from a generator seeded i + random_offset, its bytes as torchvision's
    # ToPILImage makes them from a float tensor (torch's x.mul(255).byte())
    g = fw.Generator()
    g.manual_seed(2 + 7)
    x = torch.from_numpy(fw.randn(3, 5, 4, generator=g).numpy())
    np.testing.assert_array_equal(np.asarray(img), x.mul(255).byte().permute(1, 2, 0).numpy())
    assert np.array_equal(np.asarray(ds[2][0]), np.asarray(img)) and ds[-4][1] == target
    gray = datasets.FakeData(size=2, image_size=(1, 6, 6), transform=transforms.ToTensor())[1][0]
    assert tuple(gray.shape) == (1, 6, 6) and 0 <= gray.min().item() <= gray.max().item() <= 1
    with pytest.raises(IndexError):
        ds[6]
