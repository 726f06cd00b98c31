"""The plugin's own CI: fw finds it, the conformance kit passes, the counts are right."""
import framework as fw
from framework.testing import run_conformance

import fw_counting


def test_registered():
    assert "counting" in fw.plugins.registry.device_types()
    assert fw.counting.is_available()


def test_conformance():
    report = run_conformance("counting")
    assert report.ok, report.summary()


def test_counts():
    x = fw.ones(2, 3, device="counting")
    fw_counting.reset()
    y = x.exp()
    assert fw_counting.counts()["unary.exp"] == 1
    assert y.device == fw.device("counting")
