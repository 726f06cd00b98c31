"""fw.save / fw.load: safetensors round trips, nested structures, atomic writes,
map_location, and clear errors for files that are not fw/safetensors checkpoints."""
import io
import json
import math
import os
import pathlib
import pickle

import numpy as np
import pytest
import torch
from safetensors.numpy import save as st_save
from safetensors.torch import load_file as st_torch_load, save_file as st_torch_save

import framework as fw
from framework import nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(fw.randn(4, 3))
        self.bias = nn.Parameter(fw.randn(4))
        self.register_buffer("steps", fw.tensor(5))
        self.register_buffer("mask", fw.tensor([True, False, True]))
        self.register_buffer("idx", fw.tensor([1, 2], dtype=fw.int32))
        self.register_buffer("stats", fw.randn(2, dtype=fw.float64))
        self.register_buffer("tmp", fw.zeros(1), persistent=False)
        self.inner = nn.Sequential(nn.Identity())
        self.inner.add_module("x", nn.Module())
        self.inner.x.register_parameter("p", nn.Parameter(fw.randn(2, 2)))

    def forward(self, x):
        return x @ self.weight.t() + self.bias


def DEV(device):
    """The full device ('opencl' -> 'opencl:0') that tensors created on `device` report."""
    return fw.empty(0, device=device).device


def same(a, b):
    assert type(a) is type(b) or (isinstance(a, fw.Tensor) and isinstance(b, fw.Tensor))
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


def test_state_dict_roundtrip(tmp_path, device):
    m = Small().to(device)
    path = tmp_path / "m.safetensors"
    fw.save(m.state_dict(), path)
    sd = fw.load(path)
    assert list(sd) == list(m.state_dict())  # key order kept
    for k, v in m.state_dict().items():
        same(sd[k], v)
        assert sd[k].device == DEV(device)  # back on the device it was saved from
    n = Small()
    n.load_state_dict(fw.load(path, map_location="cpu"))
    for k, v in m.state_dict().items():
        same(n.state_dict()[k], v)
    assert not any(p.device.type != "cpu" for p in n.parameters())


def test_dtypes_views_scalars_empty(tmp_path, device):
    base = fw.arange(12, dtype=fw.float32, device=device).reshape(3, 4)
    obj = {"f32": fw.randn(2, 3, device=device), "f64": fw.randn(3, dtype=fw.float64, device=device),
           "i32": fw.tensor([1, -2], dtype=fw.int32, device=device),
           "i64": fw.tensor([2 ** 40, -1], device=device),
           "b": fw.tensor([True, False], device=device), "scalar": fw.tensor(3.5, device=device),
           "empty": fw.zeros(0, 3, device=device), "view": base.t(), "col": base[:, 1],
           "expanded": fw.ones(1, device=device).expand(3)}
    f = tmp_path / "t.safetensors"
    fw.save(obj, str(f))
    out = fw.load(str(f))
    for k, v in obj.items():
        same(out[k], v)
    assert out["view"].is_contiguous() and out["scalar"].ndim == 0


def test_file_is_plain_safetensors_for_other_tools(tmp_path):
    m = Small()
    fw.save(m.state_dict(), tmp_path / "m.safetensors")
    loaded = st_torch_load(str(tmp_path / "m.safetensors"))
    assert set(loaded) == set(m.state_dict())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy())
    # and a file written by torch's safetensors loads in fw, as a dict of tensors
    t = {"a.weight": torch.randn(2, 3), "a.n": torch.tensor([1, 2]), "flag": torch.tensor(True)}
    st_torch_save(t, str(tmp_path / "t.safetensors"))
    out = fw.load(tmp_path / "t.safetensors")
    assert set(out) == set(t)
    for k, v in t.items():
        np.testing.assert_array_equal(out[k].numpy(), v.numpy())
        assert out[k].dtype == getattr(fw, str(v.dtype).split(".")[1])


def test_nested_structure_roundtrip(device):
    p = nn.Parameter(fw.randn(3, device=device))
    obj = {"state": {0: {"step": fw.tensor(3.0, device=device), "exp_avg": fw.zeros(3, device=device)},
                     1: {"momentum_buffer": None}},
           "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1],
                             "foreach": None, "amsgrad": False, "name": "main"}],
           "nums": [float("inf"), -float("inf"), 2 ** 70, -0.0],
           "dtype": fw.float64, "dev": fw.device("cpu"), (1, "a"): "tuple key",
           "param": p, "nested": ([fw.ones(2, device=device)], {"a.b": fw.zeros(1, device=device)}),
           "a": {"b": fw.ones(1, device=device)}}
    buf = io.BytesIO()
    fw.save(obj, buf)
    buf.seek(0)
    out = fw.load(buf)
    assert out["param_groups"] == obj["param_groups"]
    assert isinstance(out["param_groups"][0]["betas"], tuple)
    assert out["nums"][:3] == obj["nums"][:3] and math.copysign(1, out["nums"][3]) == -1
    assert out["dtype"] is fw.float64 and out["dev"] == fw.device("cpu")
    assert out[(1, "a")] == "tuple key"
    assert list(out["state"]) == [0, 1] and out["state"][1] == {"momentum_buffer": None}
    same(out["state"][0]["step"], obj["state"][0]["step"])
    assert out["state"][0]["step"].ndim == 0
    assert isinstance(out["param"], nn.Parameter) and out["param"].requires_grad
    same(out["nested"][0][0], fw.ones(2))
    same(out["nested"][1]["a.b"], fw.zeros(1))  # "a.b" and a -> b don't collide
    same(out["a"]["b"], fw.ones(1))
    buf.seek(0)
    nan = {"x": float("nan")}
    b2 = io.BytesIO()
    fw.save(nan, b2)
    b2.seek(0)
    assert math.isnan(fw.load(b2)["x"])


def test_single_tensor_and_shared_tensors(tmp_path):
    t = fw.randn(3)
    fw.save(t, tmp_path / "t")
    same(fw.load(tmp_path / "t"), t)
    fw.save([t, t], tmp_path / "shared")
    a, b = fw.load(tmp_path / "shared")
    same(a, t)
    same(b, t)
    assert a is not b  # shared tensors come back as separate copies (documented)


def test_other_objects_go_to_the_pickle_format(tmp_path):
    # safetensors holds only tensors and plain values; anything else is pickled (zip format)
    for obj in [object(), {"s": {1, 2}}, {"a": np.arange(3)}]:
        with pytest.raises(TypeError, match="fw.save can't store"):
            fw.save(obj, tmp_path / "x", format="safetensors")
    assert not os.listdir(tmp_path)
    fw.save({"s": {1, 2}, "a": np.arange(3), "t": fw.ones(2)}, tmp_path / "x")
    assert (tmp_path / "x").read_bytes()[:4] == b"PK\x03\x04"
    out = fw.load(tmp_path / "x")
    assert out["s"] == {1, 2}
    np.testing.assert_array_equal(out["a"], np.arange(3))
    same(out["t"], fw.ones(2))
    # what pickle itself can't store fails before anything is written
    with pytest.raises((pickle.PicklingError, AttributeError)):
        fw.save({"f": lambda x: x}, tmp_path / "y")
    assert sorted(os.listdir(tmp_path)) == ["x"]
    with pytest.raises(ValueError, match="format"):
        fw.save({}, tmp_path / "z", format="pt")


def _no_temp_files(d):
    return [n for n in os.listdir(d) if n.endswith(".tmp")] == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    fw.save({"w": fw.ones(3)}, path)
    good = path.read_bytes()
    # an object that can't be stored: nothing is written at all
    with pytest.raises((pickle.PicklingError, AttributeError)):
        fw.save({"w": fw.zeros(3), "bad": lambda: 0}, path)
    assert path.read_bytes() == good
    # a failure in the middle of writing (disk full, a crash before the rename)
    import framework.serialization._files as ser

    def boom(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ser.os, "fsync", boom)
    with pytest.raises(OSError, match="No space left"):
        fw.save({"w": fw.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == good and _no_temp_files(tmp_path)
    same(fw.load(path)["w"], fw.ones(3))
    # and a rename that fails
    monkeypatch.setattr(ser.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("nope")))
    with pytest.raises(OSError, match="nope"):
        fw.save({"w": fw.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == good and _no_temp_files(tmp_path)
    # success replaces the file
    fw.save({"w": fw.zeros(3)}, path)
    same(fw.load(path)["w"], fw.zeros(3))
    assert _no_temp_files(tmp_path)


def test_saved_file_mode_follows_umask(tmp_path):
    path = tmp_path / "m"
    old = os.umask(0o022)
    try:
        fw.save({"a": fw.ones(1)}, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_file_objects_and_pathlike(tmp_path):
    with open(tmp_path / "f", "wb") as fh:
        fw.save({"a": fw.ones(2)}, fh)
    with open(tmp_path / "f", "rb") as fh:
        same(fw.load(fh)["a"], fw.ones(2))
    same(fw.load(pathlib.Path(tmp_path / "f"), weights_only=False)["a"], fw.ones(2))
    with pytest.raises(TypeError):
        fw.save({"a": fw.ones(2)}, 3)
    with pytest.raises(TypeError):
        fw.load(3)


def _bad_files(tmp_path):
    good = tmp_path / "good"
    fw.save({"w": fw.randn(10, 10), "b": fw.zeros(3)}, good)
    data = good.read_bytes()
    buf = io.BytesIO()
    torch.save({"w": torch.randn(3)}, buf)
    files = {"truncated": data[:-17], "header only": data[:30], "tiny": b"\x01\x02",
             "empty": b"", "random": np.random.default_rng(0).bytes(4096),
             "header garbage": (20).to_bytes(8, "little") + b"{not json at all....." + b"x" * 64,
             "pickle": pickle.dumps({"a": 1}), "torch zip truncated": buf.getvalue()[:-100]}
    out = {}
    for name, b in files.items():
        p = tmp_path / name.replace(" ", "_")
        p.write_bytes(b)
        out[name] = p
    return out


def test_bad_files_raise_clear_errors(tmp_path):
    for name, path in _bad_files(tmp_path).items():
        with pytest.raises((RuntimeError, pickle.UnpicklingError)) as e:
            fw.load(path)
        msg = str(e.value)
        assert str(path) in msg, (name, msg)
        if "torch" not in name:
            assert "safetensors" in msg, (name, msg)
        if name == "pickle":
            assert "plain Python pickle" in msg


def test_corrupted_structure_record(tmp_path):
    arr = {"a": np.zeros(2, np.float32)}
    deep = "[" * 100_000 + "]" * 100_000
    deep_dict = '{"__tuple__":' * 5000 + "[]" + "}" * 5000
    for structure in ['{"__tensor__": "missing", "device": "cpu"}', "{nope",
                      '{"__weird__": 1}', '{"__dtype__": "__class__"}', '{"__dict__": 5}',
                      '{"__tensor__": ["a"]}', '{"__dict__": [[{"__dict__": []}, 1]]}',
                      '{"__tensor__": "a", "device": 7}', '{"__float__": "x"}', deep, deep_dict]:
        p = tmp_path / "c"
        p.write_bytes(st_save(arr, {"format": "fw", "fw.structure": structure}))
        with pytest.raises(RuntimeError, match="corrupted fw structure") as e:
            fw.load(p)
        assert str(p) in str(e.value), structure[:40]


def _file_on(tmp_path, device_str):
    # a file saved from a device this machine lacks (written by hand)
    structure = json.dumps({"__dict__": [["w", {"__tensor__": "w", "device": device_str}]]})
    p = tmp_path / "remote"
    p.write_bytes(st_save({"w": np.arange(3, dtype=np.float32)},
                          {"format": "fw", "fw.structure": structure}))
    return p


def test_map_location(tmp_path, device):
    p = _file_on(tmp_path, "nosuchdevice:1")
    with pytest.raises(RuntimeError, match="map_location") as e:
        fw.load(p)
    assert "nosuchdevice:1" in str(e.value) and str(p) in str(e.value)
    for ml in [device, fw.device(device), {"nosuchdevice:1": device}, {"nosuchdevice": device}]:
        w = fw.load(p, map_location=ml)["w"]
        assert w.device == DEV(device)
        np.testing.assert_array_equal(w.cpu().numpy(), [0, 1, 2])
    seen = []

    def move(t, location):
        seen.append((t.device.type, location))
        return t.to(device) * 2
    w = fw.load(p, map_location=move)["w"]
    assert seen == [("cpu", "nosuchdevice:1")] and w.device == DEV(device)
    np.testing.assert_array_equal(w.cpu().numpy(), [0, 2, 4])
    w = fw.load(_file_on(tmp_path, "cpu"), map_location=lambda t, loc: None)["w"]
    assert w.device.type == "cpu"  # None: the saved device
    with pytest.raises(TypeError, match="map_location"):
        fw.load(p, map_location=3)


def test_module_save_load_end_to_end(tmp_path, device):
    m = Small().to(device)
    x = fw.randn(5, 3, device=device)
    y = m(x)
    fw.save(m.state_dict(), tmp_path / "m.safetensors")
    n = Small().to(device)
    n.load_state_dict(fw.load(tmp_path / "m.safetensors"))
    np.testing.assert_allclose(n(x).detach().cpu().numpy(), y.detach().cpu().numpy())


def test_a_header_length_that_starts_like_a_pickle_still_loads(tmp_path):
    # The 8-byte header length is little-endian: a length of 0x480 starts with b"\x80\x04",
    # a pickle's first two bytes. Grow a key until the header has such a length.
    for k in range(1, 2000):
        path = tmp_path / "m.safetensors"
        fw.save({"w" * k: fw.ones(2)}, path)
        head = path.read_bytes()[:2]
        if head[0] == 0x80 and head[1] in (2, 3, 4, 5):
            break
    else:
        pytest.fail("no key length gave a pickle-like header")
    assert fw.load(path)["w" * k].tolist() == [1.0, 1.0]


NARROW = [(torch.float16, fw.float16), (torch.bfloat16, fw.bfloat16), (torch.uint8, fw.uint8),
          (torch.int8, fw.int8), (torch.int16, fw.int16), (torch.uint16, fw.int32),
          (torch.uint32, fw.int64), (torch.uint64, fw.int64)]


def test_narrow_safetensors_dtypes_load_exactly(tmp_path):
    # files written by other libraries: fw's dtypes load as themselves, the unsigned types
    # fw lacks widen; every value survives exactly
    t = {}
    for tdt, _ in NARROW:
        if tdt.is_floating_point:
            t[str(tdt)] = torch.tensor([0.0, -1.5, 3.0e4, 1 / 3, float("inf"), float("nan")], dtype=tdt)
        else:
            info = torch.iinfo(tdt)
            hi = min(info.max, 2 ** 63 - 1)  # uint64 beyond int64 is tested below
            t[str(tdt)] = torch.tensor([info.min, 0, 7, hi], dtype=tdt)
    st_torch_save(t, str(tmp_path / "n.safetensors"))
    out = fw.load(tmp_path / "n.safetensors")
    for tdt, fdt in NARROW:
        assert out[str(tdt)].dtype == fdt
        wide = (torch.float32, fw.float32) if tdt.is_floating_point else (torch.int64, fw.int64)
        np.testing.assert_array_equal(out[str(tdt)].to(wide[1]).numpy(), t[str(tdt)].to(wide[0]).numpy())


def test_uint64_beyond_int64_is_refused_not_wrapped(tmp_path):
    p = tmp_path / "u.safetensors"
    p.write_bytes(st_save({"ok": np.array([1], np.uint64), "big": np.array([3, 2 ** 64 - 1], np.uint64)}))
    with pytest.raises(RuntimeError, match="beyond int64") as e:
        fw.load(p)
    assert str(p) in str(e.value) and "'big'" in str(e.value)


def test_bf16_checkpoint_loads_into_a_model(tmp_path):
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    st_torch_save({k: v.bfloat16() for k, v in tm.state_dict().items()}, str(tmp_path / "m"))
    fm = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    fm.load_state_dict(fw.load(tmp_path / "m"))
    tm.load_state_dict({k: v.bfloat16().float() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(fm(fw.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_missing_directory_names_the_target(tmp_path):
    target = tmp_path / "nope" / "m.safetensors"
    with pytest.raises(RuntimeError, match="does not exist") as e:
        fw.save({"a": fw.ones(1)}, target)
    assert str(target) in str(e.value) and ".tmp" not in str(e.value)


def test_temp_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "m.safetensors"
    script = ("import os, signal, framework as fw\n"
              "os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)\n"
              f"fw.save({{'a': fw.ones(3)}}, {str(path)!r})\n")
    r = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert r.returncode == -9
    left = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".m.safetensors.fwsave-")
    # a temp file of a save still running (this process) is not touched
    mine = tmp_path / f".m.safetensors.fwsave-{os.getpid()}-x.tmp"
    mine.write_bytes(b"in progress")
    fw.save({"a": fw.zeros(3)}, path)
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".tmp")) == [mine.name]
    same(fw.load(path)["a"], fw.zeros(3))
