"""The `fw` command line, through click's CliRunner against a registry made for the test,
plus one real subprocess of the installed console script."""
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from click.testing import CliRunner

import framework as fw
from framework import plugins
from framework.cli import main
from framework.plugins import Registry, hookimpl
from fw_numpy.backend import NumpyBackend

KEYS = {"name", "kind", "version", "dist", "builtin", "status", "error", "hooks", "provides", "module"}


class BadExp(NumpyBackend):
    """A backend with one wrong primitive: exp is off by 1%."""
    type = "badexp"

    def unary(self, op, x):
        out = super().unary(op, x)
        if op == "exp":
            out = self.binary("mul", out, 1.01)
        return out


class NoProbe(NumpyBackend):
    type = "noprobe"

    @classmethod
    def device_count(cls):
        raise OSError("driver not loaded")


class Absent(NumpyBackend):
    type = "absent"

    @classmethod
    def device_count(cls):
        return 0


@pytest.fixture
def registry(monkeypatch):
    @hookimpl
    def fw_register_backends(register):
        for cls in (BadExp, NoProbe, Absent):
            register(cls.type, cls)

    @hookimpl
    def fw_register_commands(cli):
        @cli.command("hello")
        def hello():
            """Say hello."""
            print("hello from a plugin")

    mod = types.ModuleType("fwt_cli_plugin")
    mod.fw_register_backends, mod.fw_register_commands = fw_register_backends, fw_register_commands
    monkeypatch.setitem(sys.modules, "fwt_cli_plugin", mod)
    eps = [md.distribution("fw").entry_points["numpy"],
           md.EntryPoint("testing", "fwt_cli_plugin", "fw.backends"),
           md.EntryPoint("ghost", "fwt_cli_no_such_module", "fw.backends")]
    reg = Registry(eps)
    monkeypatch.setattr(plugins, "registry", reg)
    monkeypatch.setattr(main, "_plugins_added", False)
    yield reg
    for name in [n for n in main.commands if n == "hello"]:
        del main.commands[name]


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"fw, version {fw.__version__}"


def test_plugins_list_table(registry):
    r = invoke("plugins", "list")
    assert r.exit_code == 0                       # failures are listed, not fatal
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "VERSION", "SOURCE", "STATUS", "PROVIDES"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["numpy"].split()[:5] == ["numpy", "backend", md.version("fw"), "builtin", "ok"]
    assert "device:badexp, device:noprobe, device:absent" in rows["testing"]
    assert "failed: ModuleNotFoundError: No module named 'fwt_cli_no_such_module'" in rows["ghost"]
    assert "plugin 'ghost' (no distribution) failed to load" in r.stderr


def test_plugins_list_json(registry):
    r = invoke("plugins", "list", "--json")
    recs = {x["name"]: x for x in json.loads(r.stdout)}
    assert all(set(x) == KEYS for x in recs.values())
    assert recs["numpy"]["builtin"] and recs["numpy"]["dist"] == "fw"
    assert recs["testing"]["hooks"] == ["fw_register_backends", "fw_register_commands"]
    assert recs["testing"]["provides"][-1] == "command:hello"
    assert recs["ghost"]["status"] == "failed" and recs["ghost"]["error"].startswith("ModuleNotFound")


def test_devices(registry):
    r = invoke("devices", "--json")
    assert r.exit_code == 0
    devs = {d["device"]: d for d in json.loads(r.stdout)}
    assert devs["cpu"]["available"] and devs["cpu"]["backend"] == "numpy" and "numpy" in devs["cpu"]
    assert devs["badexp"]["class"].endswith("BadExp")
    assert devs["noprobe"]["error"] == "OSError: driver not loaded"
    assert devs["absent"]["available"] is False
    text = invoke("devices").stdout
    assert "cpu" in text and "absent       [testing] unavailable" in text


def test_conformance_command(registry):
    r = invoke("conformance", "cpu", "-k", "exp", "-v")
    assert r.exit_code == 0 and "  ok   exp" in r.stdout
    r = invoke("conformance", "badexp", "-k", "exp")
    assert r.exit_code == 1
    assert "FAIL exp: value 0: max abs error" in r.stdout
    r = invoke("conformance", "ghost")
    assert r.exit_code == 1 and "backend plugin 'ghost'" in r.stderr
    r = invoke("conformance", "cpu", "-k", "no-such-case")
    assert r.exit_code == 2 and "no case name contains" in r.stderr


def test_plugin_command(registry):
    r = invoke("--help")
    assert "hello" in r.stdout and "Say hello." in r.stdout
    assert invoke("hello").stdout == "hello from a plugin\n"
    assert "command:hello" in registry.records["testing"].provides


def test_installed_console_script(tmp_path):
    exe = shutil.which("fw")
    cmd = [exe] if exe else [sys.executable, "-m", "framework.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("FW_LOAD_PLUGINS", "FW_DISABLE_PLUGINS")}
    r = subprocess.run(cmd + ["plugins", "list", "--json"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = {x["name"]: x for x in json.loads(r.stdout)}
    assert recs["numpy"]["status"] == "ok" and recs["numpy"]["provides"] == ["device:cpu"]
    try:
        md.distribution("fw-counting")
    except md.PackageNotFoundError:
        return
    assert recs["counting"]["dist"] == "fw-counting" and recs["counting"]["status"] == "ok"
    assert recs["counting"]["provides"] == ["device:counting"]
