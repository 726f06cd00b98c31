"""fw.onnx.export: every exported model passes the ONNX checker and strict shape inference,
then runs in onnxruntime at batch sizes (and sequence lengths) other than the traced ones,
compared with fw itself."""
import io

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import framework as fw  # noqa: E402
from framework import nn  # noqa: E402
from framework.nn import functional as F  # noqa: E402


def _export(model, args, names, dynamic_axes, output_names=None, opset_version=17):
    model.eval()
    buf = io.BytesIO()
    fw.onnx.export(model, args, buf, input_names=names, output_names=output_names,
                   dynamic_axes=dynamic_axes, opset_version=opset_version)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    return proto, ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(model, sess, names, inputs, atol=2e-5):
    with fw.no_grad():
        want = _flat(model(*inputs))
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    assert len(got) == len(want)
    for w, g in zip(want, got):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=atol)


BATCH = {"x": {0: "batch"}}


def _check_batches(model, shape, batches=(1, 7, 64), atol=2e-5):
    proto, sess = _export(model, fw.randn(2, *shape), ["x"], BATCH)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for b in batches:
        _compare(model, sess, ["x"], [fw.randn(b, *shape)], atol)
    return proto


def test_mlp_dynamic_batch():
    from fw_vision.models import MLP
    fw.manual_seed(0)
    proto = _check_batches(MLP(20, [32, 16], 3), (20,))
    assert {n.op_type for n in proto.graph.node} >= {"Gemm", "Relu"}


def test_cnn_batchnorm_eval():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding="same", groups=2,
                                                     dilation=2),
                          nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5),
                          nn.LogSoftmax(-1))
    model(fw.randn(8, 1, 8, 8))              # move the running statistics off their init
    proto = _check_batches(model, (1, 8, 8))
    ops = {n.op_type for n in proto.graph.node}
    assert "BatchNormalization" in ops and "GlobalAveragePool" in ops


def test_lenet():
    from fw_vision.models import LeNet5
    fw.manual_seed(0)
    _check_batches(LeNet5(), (1, 28, 28), (1, 7))


def test_resnet18_small():
    from fw_vision.models import resnet18
    fw.manual_seed(0)
    proto = _check_batches(resnet18(num_classes=10), (3, 16, 16), (1, 3))
    assert sum(n.op_type == "Conv" for n in proto.graph.node) == 20
    # the parameters keep their qualified names
    assert "layer1.0.conv1.weight" in {t.name for t in proto.graph.initializer}


def test_m5_audio():
    from fw_audio.models import M5
    fw.manual_seed(0)
    _check_batches(M5(n_input=1, n_output=10), (1, 8000), (1, 5))


def test_mel_cnn_audio():
    from fw_audio.models import MelCNN
    fw.manual_seed(0)
    _check_batches(MelCNN(), (1, 40, 32), (1, 5))


@pytest.mark.parametrize("mode", ["mean", "sum"])
def test_text_classification_embedding_bag_with_offsets(mode):
    from fw_text.models import TextClassificationModel
    fw.manual_seed(0)
    model = TextClassificationModel(50, 8, 4, mode=mode)
    names = ["text", "offsets"]
    _, sess = _export(model, (fw.randint(0, 50, (9,)), fw.tensor([0, 3, 3])), names,
                      {"text": {0: "n"}, "offsets": {0: "bags"}})
    # other token and bag counts, an empty bag among them
    _compare(model, sess, names, [fw.randint(0, 50, (13,)), fw.tensor([0, 2, 2, 7, 12])])
    _compare(model, sess, names, [fw.randint(0, 50, (1,)), fw.tensor([0])])


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first,bidirectional", [(True, True), (False, False)])
def test_recurrent_dynamic_batch_and_time(kind, batch_first, bidirectional):
    fw.manual_seed(0)
    rnn = getattr(nn, kind)(5, 6, num_layers=2, batch_first=batch_first,
                            bidirectional=bidirectional)
    b, t = (0, 1) if batch_first else (1, 0)

    def seq(B, T):
        return fw.randn(B, T, 5) if batch_first else fw.randn(T, B, 5)
    proto, sess = _export(rnn, seq(2, 3), ["x"], {"x": {b: "batch", t: "time"}})
    assert any(n.op_type == kind for n in proto.graph.node)      # ONNX's own op
    for B, T in ((1, 4), (7, 2)):
        _compare(rnn, sess, ["x"], [seq(B, T)])


def test_lstm_with_initial_state():
    fw.manual_seed(0)
    lstm = nn.LSTM(4, 3, num_layers=2)
    h0, c0 = fw.randn(2, 2, 3), fw.randn(2, 2, 3)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x, h, c):
            return self.lstm(x, (h, c))
    m = WithState()
    names = ["x", "h", "c"]
    axes = {"x": {0: "t", 1: "b"}, "h": {1: "b"}, "c": {1: "b"}}
    _, sess = _export(m, (fw.randn(5, 2, 4), h0, c0), names, axes)
    _compare(m, sess, names, [fw.randn(3, 4, 4), fw.randn(2, 4, 3), fw.randn(2, 4, 3)])


def test_char_lstm():
    from fw_text.models import CharLSTM
    fw.manual_seed(0)
    model = CharLSTM(30, 8, 16, 2)
    _, sess = _export(model, fw.randint(0, 30, (2, 5)), ["ids"], {"ids": {0: "b", 1: "t"}},
                      ["logits", "h", "c"])
    for B, T in ((1, 3), (7, 9)):
        _compare(model, sess, ["ids"], [fw.randint(0, 30, (B, T))])


def test_gpt_causal_attention_dynamic_batch_and_length():
    from fw_text.gpt import GPT
    fw.manual_seed(0)
    model = GPT(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16)
    proto, sess = _export(model, fw.randint(0, 40, (2, 8)), ["idx"], {"idx": {0: "b", 1: "t"}})
    assert "Trilu" in {n.op_type for n in proto.graph.node}  # the mask is made at run time
    for B, T in ((1, 5), (3, 16)):
        idx = fw.randint(0, 40, (B, T))
        with fw.no_grad():
            logits, _ = model(idx)  # (logits, loss); the loss is None without targets
        got, = sess.run(None, {"idx": idx.numpy()})
        np.testing.assert_allclose(got, logits.numpy(), rtol=1e-4, atol=2e-5)


def test_transformer_classifier_with_padding():
    from fw_text.models import TransformerClassifier
    fw.manual_seed(0)
    model = TransformerClassifier(30, 4, d_model=16, nhead=2, num_layers=2, dim_feedforward=32)
    _, sess = _export(model, fw.randint(1, 30, (2, 5)), ["ids"], {"ids": {0: "b", 1: "t"}})
    for B, T in ((1, 3), (7, 9)):
        ids = fw.randint(1, 30, (B, T))
        ids[0, -1] = 0                       # a padded position: the key padding mask
        _compare(model, sess, ["ids"], [ids])


def test_transformer_decoder_causal_mask_and_cross_attention_weights():
    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                               norm_first=True, activation="gelu")
            self.dec = nn.TransformerDecoder(layer, 2)
            self.mha = nn.MultiheadAttention(8, 2, kdim=6, vdim=5)

        def forward(self, tgt, mem, kv):
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
            y = self.dec(tgt, mem, tgt_mask=mask)
            return self.mha(y.transpose(0, 1), kv[..., :6], kv[..., 6:])   # (out, weights)
    fw.manual_seed(0)
    m = Dec()
    names = ["tgt", "mem", "kv"]
    axes = {"tgt": {0: "b", 1: "t"}, "mem": {0: "b", 1: "s"}, "kv": {0: "k", 1: "b"}}
    proto, sess = _export(m, (fw.randn(2, 4, 8), fw.randn(2, 6, 8), fw.randn(3, 2, 11)), names,
                          axes)
    assert any(n.op_type == "Trilu" for n in proto.graph.node)     # the mask is built per length
    _compare(m, sess, names, [fw.randn(3, 5, 8), fw.randn(3, 7, 8), fw.randn(4, 3, 11)])


def test_symbolic_sizes_stay_dynamic():
    """Sizes the model reads (x.size(0), x.shape) become Shape ops, not traced constants."""
    class Reshapes(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 4)

        def forward(self, x):
            n, t = x.shape[0], x.size(1)
            y = x.view(n, t, 3, 4).permute(0, 2, 1, 3).reshape(n * 3, -1, 4)
            y = fw.cat([y, y[:, -1:]], 1).flatten(1)
            z = self.fc(x[..., :12]).softmax(-1).unsqueeze(1)
            return y.reshape(n, -1).sum(-1, keepdim=True) + z.mean((1, 2))[:, None] * 2.0
    m = Reshapes()
    proto, sess = _export(m, fw.randn(2, 5, 12), ["x"], {"x": {0: "n", 1: "t"}})
    assert any(n.op_type == "Shape" for n in proto.graph.node)
    for shape in ((1, 3, 12), (9, 7, 12)):
        _compare(m, sess, ["x"], [fw.randn(*shape)])


def test_elementwise_and_activations():
    class Mix(nn.Module):
        def forward(self, x):
            a = F.silu(x) + F.elu(x) - F.leaky_relu(x, 0.2) * F.hardswish(x)
            b = fw.tanh(x).abs().sqrt() / (1 + fw.exp(-x)) + F.softplus(x) + F.selu(x)
            c = fw.where(x > 0, x.clamp(max=0.5), F.gelu(x, approximate="tanh"))
            return a + b + c.pow(2) + F.hardsigmoid(x) + F.relu6(x) - F.mish(x)
    _check_batches(Mix(), (6,), (3,))


def test_layer_group_norm_embedding_conv_transpose():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 8)
            self.ln = nn.LayerNorm(8)
            self.conv = nn.Conv1d(8, 6, 3, padding=1, padding_mode="reflect")
            self.gn = nn.GroupNorm(3, 6)
            self.up = nn.ConvTranspose1d(6, 4, 3, stride=2, padding=1, output_padding=1)
            self.pool = nn.AvgPool1d(2)

        def forward(self, ids):
            x = self.ln(self.emb(ids)).transpose(1, 2)
            return self.pool(self.up(F.relu(self.gn(self.conv(x)))))
    fw.manual_seed(0)
    m = Net()
    _, sess = _export(m, fw.randint(0, 10, (2, 6)), ["ids"], {"ids": {0: "b"}})
    _compare(m, sess, ["ids"], [fw.randint(0, 10, (5, 6))])


def test_export_to_path_and_default_names(tmp_path):
    m = nn.Linear(3, 2)
    path = tmp_path / "lin.onnx"
    fw.onnx.export(m, (fw.randn(1, 3),), str(path))
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["input0"]
    assert proto.opset_import[0].version == 17


# -- refusals -------------------------------------------------------------------------------------
def test_unmapped_op_names_op_and_module():
    class Inner(nn.Module):
        def forward(self, x):
            return fw.cumsum(x, 1)
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), Inner()))
    with pytest.raises(fw.onnx.UnsupportedOperatorError, match=r"'cumsum'.*module '1\.1'"):
        fw.onnx.export(model, fw.randn(2, 3), io.BytesIO())


def test_training_mode_dropout_and_batchnorm_refused():
    with pytest.raises(fw.onnx.UnsupportedOperatorError, match="dropout.*model.eval"):
        fw.onnx.export(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).train(), fw.randn(2, 3),
                       io.BytesIO())
    with pytest.raises(fw.onnx.UnsupportedOperatorError, match="batch norm.*eval"):
        fw.onnx.export(nn.BatchNorm1d(3).train(), fw.randn(4, 3), io.BytesIO())


def test_data_dependent_control_flow_refused():
    class Branchy(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x - 1
    from framework.capture import CaptureError
    with pytest.raises(CaptureError, match="depend on the data"):
        fw.onnx.export(Branchy(), fw.randn(3), io.BytesIO())


def test_bad_arguments():
    m = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="dynamic_axes names 'y'"):
        fw.onnx.export(m, fw.randn(1, 3), io.BytesIO(), input_names=["x"],
                       dynamic_axes={"y": {0: "b"}})
    with pytest.raises(ValueError, match="opset_version 9"):
        fw.onnx.export(m, fw.randn(1, 3), io.BytesIO(), opset_version=9)
    with pytest.raises(TypeError, match="path or a binary file"):
        fw.onnx.export(m, fw.randn(1, 3), 42)


def test_missing_extra_names_it(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_onnx(name, *a, **k):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r"fw-framework\[onnx\]"):
        fw.onnx.export(nn.Linear(2, 2), fw.randn(1, 2), io.BytesIO())


def test_capture_records_module_paths_and_restores_patches():
    from framework.capture import capture
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    g = capture(model, (fw.randn(2, 3),), module=model)
    assert [(n.op, n.module) for n in g.nodes] == [("linear", "0"), ("relu", "1")]
    assert g.nodes[0].args[1].kind == "param" and g.nodes[0].args[1].name == "0.weight"
    # nothing stays patched afterwards
    assert not hasattr(fw.Tensor.reshape, "__wrapped_op__")
    assert not hasattr(F.linear, "__wrapped_op__")
    assert isinstance(fw.randn(2, 3).shape[0], int) and type(fw.randn(2, 3).shape[0]) is int


def test_is_in_onnx_export_during_export():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(fw.onnx.is_in_onnx_export())
            return x + 1
    fw.onnx.export(Probe(), fw.randn(2), io.BytesIO())
    assert seen == [True] and fw.onnx.is_in_onnx_export() is False
