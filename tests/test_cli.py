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
from framework import cli
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
    eps = [md.distribution("fw-numpy").entry_points["cpu"],
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
    assert rows["cpu"].split()[:5] == ["cpu", "backend", md.version("fw-numpy"), "builtin", "ok"]
    assert "device:badexp, device:noprobe, device:absent" in rows["testing"]
    assert "failed: ModuleNotFoundError: No module named 'fwt_cli_no_such_module'" in rows["ghost"]
    assert "plugin 'ghost' (no distribution) failed to load" in r.stderr


def test_plugins_list_json(registry):
    r = invoke("plugins", "list", "--json")
    recs = {x["name"]: x for x in json.loads(r.stdout)}
    assert all(set(x) == KEYS for x in recs.values())
    assert recs["cpu"]["builtin"] and recs["cpu"]["dist"] == "fw-numpy"
    assert recs["testing"]["hooks"] == ["fw_register_backends", "fw_register_commands"]
    assert recs["testing"]["provides"][-1] == "command:hello"
    assert recs["ghost"]["status"] == "failed" and recs["ghost"]["error"].startswith("ModuleNotFound")


def test_devices(registry):
    r = invoke("devices", "--json")
    assert r.exit_code == 0
    devs = {d["device"]: d for d in json.loads(r.stdout)}
    assert devs["cpu"]["available"] and devs["cpu"]["backend"] == "cpu" and "numpy" in devs["cpu"]
    assert devs["badexp"]["class"].endswith("BadExp")
    assert devs["noprobe"]["error"] == "OSError: driver not loaded"
    assert devs["noprobe"]["reason"] == "probing the device failed: OSError: driver not loaded"
    assert devs["absent"]["available"] is False
    assert devs["absent"]["reason"] == "the 'absent' backend found no device on this machine"
    assert devs["ghost"]["available"] is False and devs["ghost"]["reason"].startswith(
        "backend plugin 'ghost' (no distribution) failed to load: ModuleNotFoundError")
    text = invoke("devices").stdout
    assert "cpu" in text
    assert "absent       [testing] unavailable: the 'absent' backend found no device" in text


def test_devices_say_why_and_what_to_install(registry, monkeypatch):
    monkeypatch.setattr(Absent, "unavailable_reason", classmethod(
        lambda cls: "no Absent driver; install one: pip install absent-driver"))
    devs = {d["device"]: d for d in json.loads(invoke("devices", "--json").stdout)}
    assert devs["absent"]["reason"] == "no Absent driver; install one: pip install absent-driver"
    assert "absent       [testing] unavailable: no Absent driver; install one: pip install " \
           "absent-driver" in invoke("devices").stdout
    with pytest.raises(RuntimeError, match="^no 'absent' device is available: no Absent driver; "
                                           "install one: pip install absent-driver$"):
        fw.zeros(1, device="absent")


def test_disabled_cpu_backend_is_listed_as_unavailable(registry, monkeypatch):
    monkeypatch.setenv("FW_DISABLE_PLUGINS", "cpu")
    devs = {d["device"]: d for d in json.loads(invoke("devices", "--json").stdout)}
    assert devs["cpu"]["available"] is False and devs["cpu"]["backend"] == "cpu"
    assert "disabled by FW_DISABLE_PLUGINS" in devs["cpu"]["reason"]
    with pytest.raises(plugins.PluginError, match="disabled by FW_DISABLE_PLUGINS"):
        fw.zeros(1)


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
    assert recs["cpu"]["status"] == "ok" and recs["cpu"]["provides"] == ["device:cpu"]
    try:
        md.distribution("fw-counting")
    except md.PackageNotFoundError:
        return
    assert recs["counting"]["dist"] == "fw-counting" and recs["counting"]["status"] == "ok"
    assert recs["counting"]["provides"] == ["device:counting"]


# -- uninstall removes fw plugins only (pip is never reached on a refusal) ------------------

def _dist(root, name, eps):
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[{g}]\n{n} = {v}\n" for g, (n, v) in eps.items()))
    return md.PathDistribution(info)


@pytest.fixture
def pip_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "_pip", lambda args, verbose: calls.append(args))
    return calls


def test_uninstall_refuses_what_is_not_an_fw_plugin(pip_calls):
    r = CliRunner().invoke(main, ["plugins", "uninstall", "scikit-learn"])
    assert r.exit_code == 1 and "'scikit-learn' is not an fw plugin" in r.stderr
    assert "removes fw plugins only" in r.stderr
    r = CliRunner().invoke(main, ["plugins", "uninstall", "nosuchplugin"])
    assert r.exit_code == 1
    assert "no fw plugin or distribution named 'nosuchplugin' is installed" in r.stderr
    r = CliRunner().invoke(main, ["plugins", "uninstall", "cpu"])   # fw's own cpu backend
    assert r.exit_code == 1 and "fw itself requires fw-numpy" in r.stderr
    assert pip_calls == []
    md.distribution("scikit-learn")                                    # still there


def test_uninstall_checks_every_name_first(pip_calls, monkeypatch, tmp_path):
    tiny = _dist(tmp_path, "fw-tinyx", {"fw.plugins": ("tinyx", "fwt_tinyx")})
    needed = _dist(tmp_path, "fw-needed", {"fw.backends": ("needed", "fwt_needed")})
    reg = Registry(list(tiny.entry_points) + list(needed.entry_points))
    monkeypatch.setattr(plugins, "registry", reg)
    plugins.is_builtin(plugins.OWN_DIST)  # read the real built-in set (cached) before patching
    monkeypatch.setattr(plugins, "own_requirements", lambda extras=True: {"fw-needed", "numpy"})
    r = CliRunner().invoke(main, ["plugins", "uninstall", "tinyx", "click"])
    assert r.exit_code == 1 and "'click' is not an fw plugin" in r.stderr and pip_calls == []
    r = CliRunner().invoke(main, ["plugins", "uninstall", "needed"])
    assert r.exit_code == 1 and "fw itself requires fw-needed" in r.stderr and pip_calls == []
    # by plugin or distribution name; the fake pip removes nothing, which is reported
    r = CliRunner().invoke(main, ["plugins", "uninstall", "tinyx", "fw_tinyx", "-v"])
    assert pip_calls == [["uninstall", "-y", "fw-tinyx"]]
    assert r.exit_code == 1 and "pip did not remove fw-tinyx" in r.stderr


# -- fw datasets|models|transforms list ------------------------------------------------------

class Wordy:
    """A data set whose summary is long enough to be cut: it goes on and on about nothing
    in particular, across two lines of its docstring.

    Second paragraph, never shown."""


def test_domain_list_cuts_summaries_at_a_word(monkeypatch):
    @hookimpl
    def fw_register_datasets(register):
        register("Wordy", Wordy)

    mod = types.ModuleType("fwt_cli_wordy")
    mod.fw_register_datasets = fw_register_datasets
    monkeypatch.setitem(sys.modules, "fwt_cli_wordy", mod)
    reg = Registry([md.EntryPoint("w", "fwt_cli_wordy", "fw.plugins")])
    monkeypatch.setattr(plugins, "registry", reg)
    full = " ".join(Wordy.__doc__.split("\n\n")[0].split())
    [rec] = json.loads(invoke("datasets", "list", "--json").stdout)
    assert rec["summary"] == full
    row = invoke("datasets", "list").stdout.splitlines()[1]
    summary = row.split("  w  ", 1)[1].strip()
    assert summary.endswith(" …") and len(summary) <= 70
    assert full.startswith(summary[:-2]) and full[len(summary) - 2] == " "   # a whole word


def test_every_builtin_transform_has_a_summary():
    recs = json.loads(invoke("transforms", "list", "--json").stdout)
    assert len(recs) > 20 and [r["name"] for r in recs if not r["summary"]] == []


# -- install's report, with a fake pip ----------------------------------------------------

def _fake_install(monkeypatch, before, installed, records):
    """pip "installs" `installed` [(name, version, requested)]; `records` are what
    `fw plugins list --json` says afterwards. Returns the pip calls."""
    calls = []

    def pip(args, verbose):
        calls.append(args)
        if "--report" in args:
            items = [{"metadata": {"name": n, "version": v}, "requested": req}
                     for n, v, req in installed]
            with open(args[args.index("--report") + 1], "w") as f:
                json.dump({"install": items}, f)

    monkeypatch.setattr(cli, "_pip", pip)
    monkeypatch.setattr(cli, "_versions", lambda: before)
    monkeypatch.setattr(cli, "_plugin_records", lambda: records)
    return calls


def _rec(name, dist, version):
    return {"name": name, "kind": "domain", "dist": dist, "version": version, "status": "ok",
            "error": None, "provides": [f"model:{name}"]}


def test_install_says_installed_updated_or_reinstalled(monkeypatch):
    _fake_install(monkeypatch, {"fw-a": "1.0", "fw-b": "1.0"},
                  [("fw_a", "1.0", True), ("fw-b", "2.0", True), ("fw-c", "0.3", False)],
                  [_rec("a", "fw_a", "1.0"), _rec("b", "fw-b", "2.0"), _rec("c", "fw-c", "0.3")])
    r = CliRunner().invoke(main, ["plugins", "install", "fw-a", "fw-b"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "plugin a (domain, fw_a 1.0) reinstalled: ok; provides model:a",
        "plugin b (domain, fw-b 2.0) updated from 1.0: ok; provides model:b",
        "plugin c (domain, fw-c 0.3) installed as a dependency: ok; provides model:c"]
    _fake_install(monkeypatch, {"fw-a": "1.0"}, [], [])
    r = CliRunner().invoke(main, ["plugins", "install", "fw-a"])
    assert r.exit_code == 0 and "nothing was installed: every requirement is already" in r.stdout


def test_install_of_a_non_plugin_fails_and_rolls_back(monkeypatch):
    calls = _fake_install(monkeypatch, {"scikit-learn": "1.5"},
                          [("scikit-learn", "1.6", True), ("requests", "2.0", True),
                           ("idna", "3.0", False)], [])
    r = CliRunner().invoke(main, ["plugins", "install", "-U", "scikit-learn", "requests"])
    assert r.exit_code == 1
    assert calls[1:] == [["uninstall", "-y", "requests"]]   # what this command installed
    assert ("scikit-learn, requests: not an fw plugin (declares no entry point in the "
            "'fw.backends' or 'fw.plugins' group). Uninstalled again: requests. Installed before "
            "this command, so left installed: scikit-learn. Installed with it by pip and left "
            "installed: idna.") in " ".join(r.stderr.split())
