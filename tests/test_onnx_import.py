"""fw.onnx.load: models exported by PyTorch's torch.onnx.export (the TorchScript-based
exporter, dynamo=False: the dynamo one takes 15-40 s per model here) and by fw itself load as
nn.Modules and match the original on fw's devices."""
import io
import re
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")

import torch  # noqa: E402

import framework as fw  # noqa: E402
from framework import nn  # noqa: E402


class TorchCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        t = torch.nn
        self.conv = t.Conv2d(1, 4, 3, padding=1)
        self.bn = t.BatchNorm2d(4)
        self.conv2 = t.Conv2d(4, 4, 3, padding=1, groups=2)
        self.gap = t.AdaptiveAvgPool2d(1)
        self.pool = t.MaxPool2d(2)
        self.fc = t.Linear(64, 5)
        self.ln = t.LayerNorm(5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = y + self.conv2(y) * self.gap(y)
        z = self.ln(self.fc(torch.flatten(self.pool(y), 1)))
        return torch.log_softmax(z, -1), torch.nn.functional.gelu(y).mean((2, 3))


class TorchRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        t = torch.nn
        self.emb = t.Embedding(10, 5)
        self.lstm = t.LSTM(5, 6, 2, batch_first=True, bidirectional=True)
        self.gru = t.GRU(12, 4, batch_first=True)
        self.fc = t.Linear(4, 3)

    def forward(self, ids):
        return self.fc(self.gru(self.lstm(self.emb(ids))[0])[0][:, -1])


class TorchAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = torch.nn.LayerNorm(8)

    def forward(self, x):
        return self.norm(x + self.attn(x, x, x, need_weights=False)[0])


def _torch_export(model, x, axes):
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, input_names=["x"],
                          dynamic_axes={"x": axes})
    return buf.getvalue()


@pytest.fixture(scope="module")
def torch_models():
    torch.manual_seed(0)
    cnn = TorchCNN()
    cnn.train()(torch.randn(8, 1, 8, 8))          # running statistics away from 0/1
    out = {"cnn": (cnn, _torch_export(cnn, torch.randn(2, 1, 8, 8), {0: "b"}),
                   torch.randn(3, 1, 8, 8)),
           "rnn": (TorchRNN(), None, torch.randint(0, 10, (3, 7))),
           "mha": (TorchAttention(), None, torch.randn(3, 5, 8))}
    out["rnn"] = (out["rnn"][0], _torch_export(out["rnn"][0], torch.randint(0, 10, (2, 5)),
                                               {0: "b", 1: "t"}), out["rnn"][2])
    # the TorchScript exporter bakes the sequence length of attention into a Reshape
    # (its known flaw): only the batch is dynamic here
    out["mha"] = (out["mha"][0], _torch_export(out["mha"][0], torch.randn(2, 5, 8), {0: "b"}),
                  out["mha"][2])
    return out


def _run(data, x, device):
    m = fw.onnx.load(data).to(device)
    got = m(fw.tensor(x.numpy()).to(device))
    return [g.detach().cpu().numpy() for g in (got if isinstance(got, tuple) else (got,))]


@pytest.mark.parametrize("name", ["cnn", "rnn", "mha"])
def test_torch_exported_models_match_torch(torch_models, name, device):
    model, data, x = torch_models[name]
    with torch.no_grad():
        want = model(x)
    want = want if isinstance(want, tuple) else (want,)
    got = _run(data, x, device)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=2e-5)


def test_initializers_become_named_parameters_and_buffers(torch_models, tmp_path):
    model, data, _ = torch_models["cnn"]
    m = fw.onnx.load(data)
    params = dict(m.named_parameters())
    # (the TorchScript exporter folds BatchNorm into the conv, whose weight it renames)
    assert set(params) >= {"fc.weight", "fc.bias", "ln.weight", "ln.bias"}
    np.testing.assert_array_equal(params["fc.weight"].detach().numpy(),
                                  model.fc.weight.detach().numpy())
    fw.save(m.state_dict(), str(tmp_path / "w.pt"))
    again = fw.onnx.load(data)
    again.load_state_dict(fw.load(str(tmp_path / "w.pt")))


def test_fw_round_trip_trains_and_keeps_buffers(device):
    fw.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(3 * 4 * 4, 2)).eval()
    buf = io.BytesIO()
    fw.onnx.export(net, fw.randn(2, 1, 6, 6), buf, input_names=["x"],
                   dynamic_axes={"x": {0: "b"}})
    m = fw.onnx.load(buf.getvalue()).to(device)
    assert {n for n, _ in m.named_buffers()} == {"1.running_mean", "1.running_var"}
    x = fw.randn(5, 1, 6, 6)
    with fw.no_grad():
        np.testing.assert_allclose(m(x.to(device)).cpu().numpy(), net(x).numpy(), rtol=1e-4,
                                   atol=1e-5)
    # fine-tuning: gradients reach the imported parameters and a step changes the output
    opt = fw.optim.SGD(m.parameters(), lr=0.1)
    xd = x.to(device)
    before = m(xd).detach().cpu().numpy()
    loss = m(xd).pow(2).mean()
    loss.backward()
    assert m.get_submodule("0").weight.grad is not None
    opt.step()
    assert not np.allclose(m(xd).detach().cpu().numpy(), before)


def test_unsupported_operators_listed_with_counts():
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Hardmax", ["a"], ["b"]),
             helper.make_node("Hardmax", ["b"], ["c"]),
             helper.make_node("CumSum", ["c", "ax"], ["d"]),
             helper.make_node("FusedGemm", ["d", "d"], ["y"], domain="com.microsoft")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                          initializer=[onnx.numpy_helper.from_array(np.array(0, np.int64), "ax")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(fw.onnx.UnsupportedOnnxOperatorError) as e:
        fw.onnx.load(model.SerializeToString())
    msg = str(e.value)
    assert "CumSum x1" in msg and "Hardmax x2" in msg and "com.microsoft::FusedGemm x1" in msg
    assert "Relu" not in msg.split(":")[-1]


def test_load_arguments():
    with pytest.raises(TypeError, match="path, bytes or a file object"):
        fw.onnx.load(3.5)
    lin = nn.Linear(2, 2)
    buf = io.BytesIO()
    fw.onnx.export(lin, fw.randn(1, 2), buf)
    buf.seek(0)
    m = fw.onnx.load(buf)
    with pytest.raises(TypeError, match="expects 1 inputs"):
        m(fw.randn(1, 2), fw.randn(1, 2))


def test_cli_inspect_and_run(tmp_path):
    from click.testing import CliRunner
    from framework.cli import main
    path = tmp_path / "m.onnx"
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
    fw.onnx.export(net, fw.randn(2, 4), str(path), input_names=["x"],
                   dynamic_axes={"x": {0: "batch"}})
    r = CliRunner().invoke(main, ["onnx", "inspect", str(path)])
    assert r.exit_code == 0, r.output
    assert "x: float32 ['batch', 4]" in r.output and "opset ai.onnx 17" in r.output
    assert re.search(r"Gemm +2  loadable", r.output)
    assert "fw can load this model" in r.output
    r = CliRunner().invoke(main, ["onnx", "run", str(path), "--device", "cpu", "--dim",
                                  "batch=5", "--repeat", "1"])
    assert r.exit_code == 0, r.output
    assert "output output0: fw.float32 [5, 2]" in r.output and "ms per run" in r.output
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    r = CliRunner().invoke(main, ["onnx", "inspect", str(bad)])
    assert r.exit_code != 0 and "cannot read" in r.output
