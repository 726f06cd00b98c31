"""Domain plugins: loaded lazily, listed, and usable; the example third-party plugin."""
import importlib.util
import subprocess
import sys

import pytest

import framework as fw

spirals_installed = importlib.util.find_spec("fw_spirals") is not None


def test_import_framework_loads_no_domain_plugin():
    code = ("import sys, framework as fw; fw.zeros(1); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('fw_vision', 'fw_text', 'fw_audio', 'fw_spirals')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_builtin_domain_plugins_register_through_the_registry():
    datasets = fw.plugins.registry.registry("datasets")
    models = fw.plugins.registry.registry("models")
    for name in ("MNIST", "FashionMNIST", "CIFAR10", "ImageFolder", "Digits"):
        assert name in datasets, name
    from fw_vision import datasets as vision_datasets
    assert datasets["MNIST"] is vision_datasets.MNIST
    assert "ResNet18" in models or "resnet18" in models
    owners = {plugin for _, plugin in fw.plugins.registry.items["datasets"].values()}
    assert {"vision", "text", "audio"} <= owners


@pytest.mark.skipif(not spirals_installed, reason="pip install ./examples/third_party_domain_plugin")
def test_third_party_domain_plugin_is_discovered_and_its_model_learns():
    from framework.cli import main
    from click.testing import CliRunner
    out = CliRunner().invoke(main, ["datasets", "list"]).output
    assert "TwoSpirals" in out and "spirals" in out
    rec = fw.plugins.registry.records["spirals"]
    assert rec.status == "ok" and not rec.builtin and rec.dist == "fw-spirals"

    TwoSpirals = fw.plugins.registry.registry("datasets")["TwoSpirals"]
    SpiralNet = fw.plugins.registry.registry("models")["SpiralNet"]
    fw.manual_seed(0)
    data = TwoSpirals(n=200)
    x, y = next(iter(fw.utils.data.DataLoader(data, batch_size=len(data), shuffle=True)))
    assert x.shape == (400, 2) and y.dtype == fw.int64
    model = SpiralNet()
    opt = fw.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(300):
        loss = fw.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with fw.no_grad():
        acc = (model(data.data).argmax(1) == data.targets).float().mean().item()
    assert acc > 0.95, acc
