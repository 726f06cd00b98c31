"""PyTorch's checkpoints both ways: files written by torch.save load in fw (zip and legacy
formats, narrow dtypes widened, shared storages and views), fw.save(format="torch") files
load in torch.load(weights_only=True), and weights_only refuses code."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn
from framework.serialization import add_safe_globals, clear_safe_globals, safe_globals


def torch_bytes(obj, legacy=False):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def fw_load(data, **kw):
    return fw.load(io.BytesIO(data), **kw)


def as_np(t):
    return t.detach().cpu().numpy()


FORMATS = [False, True]  # zip, legacy


@pytest.mark.parametrize("legacy", FORMATS)
def test_dtypes(legacy):
    g = torch.Generator().manual_seed(0)
    obj = {"f32": torch.randn(2, 3, generator=g), "f64": torch.randn(3, dtype=torch.float64),
           "i64": torch.tensor([2 ** 40, -1]), "i32": torch.tensor([7, -8], dtype=torch.int32),
           "b": torch.tensor([True, False]), "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 4),
           "f16": torch.randn(5, generator=g).half(), "bf16": torch.randn(5, generator=g).bfloat16(),
           "u8": torch.tensor([0, 255], dtype=torch.uint8), "i8": torch.tensor([-128, 127], dtype=torch.int8),
           "i16": torch.tensor([-32768, 5], dtype=torch.int16)}
    out = fw_load(torch_bytes(obj, legacy))
    for k, v in obj.items():  # every dtype loads as itself, bit for bit
        assert out[k].dtype == getattr(fw, str(v.dtype).split(".")[1]), k
        assert tuple(out[k].shape) == tuple(v.shape), k
        if k == "bf16":  # NumPy has no bfloat16: float32 holds it exactly
            out[k], v = out[k].float(), v.float()
        np.testing.assert_array_equal(as_np(out[k]), v.numpy(), err_msg=k)


def test_uint_dtypes_of_new_torch():
    obj = {"u16": torch.tensor([65535, 1], dtype=torch.uint16),
           "u32": torch.tensor([2 ** 32 - 1], dtype=torch.uint32),
           "u64": torch.tensor([2 ** 63 - 1], dtype=torch.uint64)}
    out = fw_load(torch_bytes(obj))
    assert out["u16"].tolist() == [65535, 1] and out["u16"].dtype == fw.int32
    assert out["u32"].tolist() == [2 ** 32 - 1] and out["u32"].dtype == fw.int64
    assert out["u64"].tolist() == [2 ** 63 - 1]
    with pytest.raises(RuntimeError, match="beyond int64"):
        fw_load(torch_bytes({"u64": torch.tensor([2 ** 64 - 1], dtype=torch.uint64)}))


@pytest.mark.parametrize("legacy", FORMATS)
def test_shared_storages_and_views(legacy):
    base = torch.arange(24.0).reshape(4, 6)
    obj = {"base": base, "t": base.t(), "col": base[:, 2], "row": base[1], "corner": base[2:, 3:],
           "step": base[::2, ::3], "expand": torch.ones(3)[:1].expand(4), "alias": base,
           "half_view": torch.arange(6.0).half()[2:5]}
    out = fw_load(torch_bytes(obj, legacy))
    for k, v in obj.items():
        np.testing.assert_array_equal(as_np(out[k]), v.float().numpy(), err_msg=k)
    assert out["alias"] is out["base"]  # one object saved twice comes back as one
    out["base"][1, 2] = -5.0  # the views share the storage, as in PyTorch
    assert out["t"][2, 1].item() == -5.0 and out["col"][1].item() == -5.0
    assert out["row"][2].item() == -5.0


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(3)
        self.lstm = torch.nn.LSTM(3 * 4 * 4, 5, batch_first=True)
        self.fc = torch.nn.Linear(5, 2)

    def forward(self, x):  # x: (batch, time, 2, 4, 4)
        b, t = x.shape[:2]
        h = torch.relu(self.bn(self.conv(x.reshape(b * t, 2, 4, 4))))
        out, _ = self.lstm(h.reshape(b, t, -1))
        return self.fc(out[:, -1])


class FwNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.lstm = nn.LSTM(3 * 4 * 4, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        b, t = x.shape[:2]
        h = fw.relu(self.bn(self.conv(x.reshape(b * t, 2, 4, 4))))
        out, _ = self.lstm(h.reshape(b, t, -1))
        return self.fc(out[:, -1])


def _trained_torch_net():
    torch.manual_seed(0)
    tm = TorchNet()
    with torch.no_grad():  # a forward in train mode moves BatchNorm's running statistics
        tm(torch.randn(3, 2, 2, 4, 4))
    return tm.eval()


X = np.random.default_rng(1).standard_normal((2, 3, 2, 4, 4)).astype(np.float32)


@pytest.mark.parametrize("legacy", FORMATS)
def test_torch_state_dict_into_fw_model(device, legacy):
    tm = _trained_torch_net()
    fm = FwNet().to(device)
    fm.load_state_dict(fw_load(torch_bytes(tm.state_dict(), legacy), map_location=device))
    fm.eval()
    assert fm.bn.num_batches_tracked.item() == 1
    with torch.no_grad():
        want = tm(torch.tensor(X)).numpy()
    got = as_np(fm(fw.tensor(X, device=device)))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_fw_state_dict_into_torch_model(tmp_path):
    fm = FwNet()
    with fw.no_grad():
        fm(fw.tensor(X))  # move the running statistics
    fm.eval()
    path = tmp_path / "fw.pt"
    fw.save(fm.state_dict(), path, format="torch")
    sd = torch.load(path, weights_only=True)
    assert list(sd) == list(fm.state_dict())
    tm = TorchNet()
    tm.load_state_dict(sd)
    tm.eval()
    with torch.no_grad():
        want = tm(torch.tensor(X)).numpy()
    np.testing.assert_allclose(as_np(fm(fw.tensor(X))), want, rtol=1e-4, atol=1e-5)


def test_torch_reads_fw_torch_format(tmp_path, device):
    base = fw.arange(12, dtype=fw.float32, device=device).reshape(3, 4)
    p = nn.Parameter(fw.randn(2, device=device))
    obj = {"base": base, "t": base.t(), "col": base[:, 1], "i32": fw.tensor([1, -2], dtype=fw.int32),
           "i64": fw.tensor([2 ** 40]), "f64": fw.tensor([0.1], dtype=fw.float64),
           "b": fw.tensor([True]), "p": p, "nums": [1, 2.5, None, "s", (1, 2)],
           "dtype": fw.float64, "device": fw.device("cpu"), "req": fw.ones(2, requires_grad=True),
           "empty": fw.zeros(0), "size": fw.ones(2, 3).shape, "opencl": fw.device("opencl:1")}
    fw.save(obj, tmp_path / "x.pt", format="torch")
    out = torch.load(tmp_path / "x.pt", weights_only=True)
    for k in ["base", "t", "col", "i32", "i64", "f64", "b", "empty"]:
        assert str(out[k].dtype) == "torch." + obj[k].dtype.name, k
        np.testing.assert_array_equal(out[k].numpy(), as_np(obj[k]), err_msg=k)
    assert out["t"].untyped_storage().data_ptr() == out["base"].untyped_storage().data_ptr()
    assert out["t"].stride() == (1, 4) and out["col"].storage_offset() == 1
    assert isinstance(out["p"], torch.nn.Parameter)
    np.testing.assert_array_equal(out["p"].detach().numpy(), as_np(p))
    assert out["nums"] == [1, 2.5, None, "s", (1, 2)]
    assert out["dtype"] is torch.float64 and out["device"] == torch.device("cpu")
    assert out["size"] == torch.Size([2, 3]) and out["opencl"] == torch.device("opencl:1")
    assert out["req"].requires_grad and out["base"].device.type == "cpu"
    # and fw reads its own file back
    back = fw.load(tmp_path / "x.pt")
    assert back["dtype"] is fw.float64 and isinstance(back["p"], nn.Parameter)
    assert back["size"] == (2, 3) and back["opencl"] == fw.device("opencl:1")
    np.testing.assert_array_equal(as_np(back["t"]), as_np(obj["t"]))


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


@pytest.mark.parametrize("legacy", FORMATS)
def test_malicious_pickles_are_refused(tmp_path, legacy):
    marker = tmp_path / "pwned"
    cases = {"posix.system": Evil(os.system, f"touch {marker}"),
             "builtins.eval": Evil(eval, f"open({str(marker)!r}, 'w')")}
    for name, evil in cases.items():
        path = tmp_path / "evil.pt"
        path.write_bytes(torch_bytes({"w": torch.ones(2), "x": evil}, legacy))
        with pytest.raises(pickle.UnpicklingError) as e:
            fw.load(path)
        assert name in str(e.value) and str(path) in str(e.value)
        assert "weights_only" in str(e.value)
        assert not marker.exists()


def test_forged_numpy_object_arrays_are_refused():
    data = torch_bytes({"a": np.array([1, "x"], dtype=object)})
    with pytest.raises(pickle.UnpicklingError):
        fw_load(data)


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def test_safe_globals():
    data = torch_bytes({"pt": Point(1, torch.ones(2))})
    with pytest.raises(pickle.UnpicklingError, match="Point"):
        fw_load(data)
    with safe_globals([Point]):
        out = fw_load(data)
    assert isinstance(out["pt"], Point) and out["pt"].x == 1
    np.testing.assert_array_equal(as_np(out["pt"].y), [1, 1])
    with pytest.raises(pickle.UnpicklingError):
        fw_load(data)  # only inside the context
    add_safe_globals([Point])
    try:
        assert fw_load(data)["pt"].x == 1
    finally:
        clear_safe_globals()
    assert fw_load(data, weights_only=False)["pt"].x == 1


def test_whole_fw_model_needs_weights_only_false(tmp_path, device):
    fm = FwNet().to(device).eval()
    path = tmp_path / "model.pt"
    fw.save(fm, path)
    with pytest.raises(pickle.UnpicklingError, match="FwNet") as e:
        fw.load(path)
    assert str(path) in str(e.value)
    back = fw.load(path, weights_only=False)
    assert type(back) is FwNet and back.conv.weight.device == fm.conv.weight.device
    x = fw.tensor(X, device=device)
    np.testing.assert_allclose(as_np(back(x)), as_np(fm(x)), rtol=1e-6)
    cpu = fw.load(path, weights_only=False, map_location="cpu")
    assert cpu.fc.weight.device.type == "cpu"


def test_numpy_and_plain_objects_default_weights_only(tmp_path):
    obj = {"arr": np.arange(6, dtype=np.int16).reshape(2, 3), "f": np.asfortranarray(np.ones((2, 2))),
           "scalar": np.float32(1.5), "set": {1, 2}, "bytes": b"\x00\xff", "c": 1 + 2j}
    fw.save(obj, tmp_path / "o")
    out = fw.load(tmp_path / "o")
    for k in ["arr", "f"]:
        assert out[k].dtype == obj[k].dtype
        np.testing.assert_array_equal(out[k], obj[k])
    assert out["scalar"] == np.float32(1.5) and out["scalar"].dtype == np.float32
    assert out["set"] == {1, 2} and out["bytes"] == b"\x00\xff" and out["c"] == 1 + 2j
    # torch's own numpy pickles load too
    t = fw_load(torch_bytes({"a": np.arange(3.0)}))
    np.testing.assert_array_equal(t["a"], np.arange(3.0))


def test_files_of_neither_format(tmp_path):
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("readme.txt", "hello")
    with pytest.raises(RuntimeError, match="not a PyTorch checkpoint") as e:
        fw.load(z)
    assert str(z) in str(e.value)
    damaged = tmp_path / "damaged.pt"
    good = torch_bytes({"w": torch.ones(100)})
    damaged.write_bytes(good[:len(good) // 2])
    with pytest.raises((RuntimeError, pickle.UnpicklingError)) as e:
        fw.load(damaged)
    assert str(damaged) in str(e.value)
    legacy = torch_bytes({"w": torch.ones(100)}, legacy=True)
    (tmp_path / "legacy").write_bytes(legacy[:-50])
    with pytest.raises(RuntimeError, match="truncated") as e:
        fw.load(tmp_path / "legacy")
    assert str(tmp_path / "legacy") in str(e.value)


def _rewrite_pickle(data, fn):
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            dst.writestr(name, fn(body) if name.endswith("data.pkl") else body)
    return out.getvalue()


def test_checkpoint_from_a_missing_device_needs_map_location():
    data = _rewrite_pickle(torch_bytes({"w": torch.ones(2)}), lambda b: b.replace(b"cpu", b"xpu"))
    with pytest.raises(RuntimeError, match="map_location"):
        fw_load(data)
    out = fw_load(data, map_location="cpu")
    assert out["w"].tolist() == [1.0, 1.0]


def test_any_archive_name_and_big_endian():
    data = torch_bytes({"f": torch.tensor([1.5, -2.0]), "i": torch.tensor([1, 2 ** 40]),
                        "h": torch.tensor([0.5], dtype=torch.float16)})
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    sizes = {}  # storage key -> element size, from the pickle's storage types
    for key, name in [("0", "f4"), ("1", "i8"), ("2", "f2")]:
        sizes[key] = np.dtype(name)
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            new = name.replace("archive/", "my_model/")
            if name.endswith("byteorder"):
                body = b"big"
            elif "/data/" in name:
                body = np.frombuffer(body, sizes[name.rsplit("/", 1)[1]]).byteswap().tobytes()
            dst.writestr(new, body)
    got = fw_load(out.getvalue())
    assert got["f"].tolist() == [1.5, -2.0] and got["i"].tolist() == [1, 2 ** 40]
    assert got["h"].tolist() == [0.5]


@pytest.mark.parametrize("protocol", [3, 5])
@pytest.mark.parametrize("legacy", FORMATS)
def test_pickle_protocols(protocol, legacy):
    buf = io.BytesIO()
    obj = {"w": torch.arange(4.0)[1:], "raw": bytearray(b"\x00\x01"), "b": b"xy"}
    torch.save(obj, buf, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
    out = fw_load(buf.getvalue())
    assert out["w"].tolist() == [1.0, 2.0, 3.0] and out["raw"] == bytearray(b"\x00\x01")
    assert out["b"] == b"xy"


def test_complex_tensors_are_refused_by_name():
    with pytest.raises(RuntimeError, match="ComplexFloat") as e:
        fw_load(torch_bytes({"c": torch.ones(2, dtype=torch.complex64)}))
    assert "BytesIO" in str(e.value)


def test_forged_lengths_allocate_nothing():
    # BYTEARRAY8 with a length of 2**60: pickle's own unpickler would allocate it first
    forged = pickle.PROTO + b"\x05" + pickle.BYTEARRAY8 + (2 ** 60).to_bytes(8, "little") + b"ab."
    data = _rewrite_pickle(torch_bytes({}), lambda b: forged)
    with pytest.raises(pickle.UnpicklingError, match="truncated"):
        fw_load(data)
    # a tensor whose size reaches past its storage
    data = _rewrite_pickle(torch_bytes({"w": torch.ones(2)}),
                           lambda b: b.replace(b"K\x02\x85", b"J\x00\x00\x00\x40\x85"))
    with pytest.raises(RuntimeError, match="past the end of its storage"):
        fw_load(data)


@pytest.mark.parametrize("legacy", FORMATS)
def test_damaged_pickles_give_clear_errors(legacy):
    # random byte flips in the pickle: a clear error naming the file, or a successful load
    base = torch.arange(6.0).reshape(2, 3)
    data = torch_bytes({"a": base, "t": base.t(), "p": torch.nn.Parameter(torch.ones(2)),
                        "n": [1, 2.5, "x", b"b"], "np": np.arange(3), "h": torch.ones(2).half()},
                       legacy)
    pkl = data if legacy else zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    rng = np.random.default_rng(0)
    for _ in range(150):
        b = bytearray(pkl)
        for j in rng.integers(0, len(b), size=rng.integers(1, 4)):
            b[j] = rng.integers(0, 256)
        f = io.BytesIO(bytes(b) if legacy else _rewrite_pickle(data, lambda _: bytes(b)))
        f.name = "ckpt.pt"
        try:
            fw.load(f)
        except (RuntimeError, pickle.UnpicklingError) as e:
            assert "ckpt.pt" in str(e)


def test_whole_torch_model_names_the_fix_without_importing_torch_classes():
    data = torch_bytes(torch.nn.Linear(2, 3))
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.linear.Linear"):
        fw_load(data)
    with pytest.raises(pickle.UnpicklingError, match="state_dict"):
        fw_load(data, weights_only=False)


def test_works_without_torch_importable(tmp_path):
    import subprocess
    import sys
    torch.save({"w": torch.arange(3.0), "h": torch.ones(2).half()}, tmp_path / "in.pt")
    script = ("import sys; sys.modules['torch'] = None  # any import of torch fails\n"
              "import framework as fw\n"
              f"sd = fw.load({str(tmp_path / 'in.pt')!r})\n"
              "assert sd['w'].tolist() == [0.0, 1.0, 2.0] and sd['h'].tolist() == [1.0, 1.0]\n"
              f"fw.save(sd, {str(tmp_path / 'out.pt')!r}, format='torch')\n"
              "assert sys.modules['torch'] is None\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = torch.load(tmp_path / "out.pt", weights_only=True)
    assert out["w"].tolist() == [0.0, 1.0, 2.0] and out["h"].dtype == torch.float16
