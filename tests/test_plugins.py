"""The plugin registry: discovery, isolated failures, clashes, hook checks, env vars,
and the device modules (`fw.cpu`, `fw.opencl`, `fw.accelerator`) answered by it.

Throwaway plugins are made for real: a directory holding `<dist>-1.0.dist-info/`
(METADATA + entry_points.txt) and the plugin module, put on PYTHONPATH of a subprocess.
Unit tests build `Registry(entry_points=[...])` from importlib.metadata objects."""
import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
import types

import pluggy
import pytest

import framework as fw
from framework import plugins
from framework.plugins import NameClash, PluginError, Registry, hookimpl
from fw_numpy.backend import NumpyBackend

NUMPY_EP = md.distribution("fw-numpy").entry_points["cpu"]  # fw's own, with its dist


def make_dist(root, dist, entry_points, modules, version="1.0"):
    """Write an installed-looking distribution under `root`: `entry_points` is
    {group: {name: value}}, `modules` is {module name: source}. Returns its Distribution."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))
    return md.PathDistribution(info)


def run_py(root, code, **env):
    full = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "FW_STRICT_PLUGINS": "0", **env}
    for k in ("FW_LOAD_PLUGINS", "FW_DISABLE_PLUGINS"):
        if k not in env:
            full.pop(k, None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full,
                          capture_output=True, text=True, timeout=60)


def module(monkeypatch, name, **attrs):
    """An importable in-memory plugin module (what an EntryPoint's value names)."""
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def backends_hook(*pairs):
    @hookimpl
    def fw_register_backends(register):
        for t, cls in pairs:
            register(t, cls)
    return fw_register_backends


def ep(name, value, group="fw.backends"):
    return md.EntryPoint(name, value, group)


class FakeBackend(NumpyBackend):
    type = "fake"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for k in ("FW_LOAD_PLUGINS", "FW_DISABLE_PLUGINS", "FW_STRICT_PLUGINS"):
        monkeypatch.delenv(k, raising=False)


# -- real plugins in a subprocess -----------------------------------------------------------

BROKEN = """
    raise ImportError("libfoo.so: cannot open shared object file")
"""
CLASH = """
    from framework.plugins import hookimpl
    from fw_numpy.backend import NumpyBackend

    class Other(NumpyBackend):
        type = "cpu"

    @hookimpl
    def fw_register_backends(register):
        register("cpu", Other)
"""
TYPO = """
    from framework.plugins import hookimpl

    @hookimpl
    def fw_register_backend(register):
        pass
"""
GOOD_BACKEND = """
    from framework.plugins import hookimpl
    from fw_numpy.backend import NumpyBackend

    class Extra(NumpyBackend):
        type = "extra"

    @hookimpl
    def fw_register_backends(register):
        register("extra", Extra)
"""
GOOD_DOMAIN = """
    import click
    from framework.plugins import hookimpl

    @hookimpl
    def fw_register_datasets(register):
        register("toy", list)

    @hookimpl
    def fw_register_commands(cli):
        @cli.command("hello")
        def hello():
            click.echo("hello from a plugin")
"""
EXITS = """
    import sys
    sys.exit(3)
"""
# Prints at import, through Python and straight to file descriptor 1 (as C code would).
PRINTS = """
    import os
    print("hello from a careless plugin")
    os.write(1, b"raw bytes from a careless plugin\\n")
    from framework.plugins import hookimpl
    from fw_numpy.backend import NumpyBackend

    class Chatty(NumpyBackend):
        type = "chatty"

    @hookimpl
    def fw_register_backends(register):
        print("registering chatty")
        register("chatty", Chatty)
"""


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_dist(root, "fw-broken", {"fw.backends": {"broken": "fwt_broken"}}, {"fwt_broken": BROKEN})
    make_dist(root, "fw-clash", {"fw.backends": {"mycpu": "fwt_clash"}}, {"fwt_clash": CLASH})
    make_dist(root, "fw-typo", {"fw.plugins": {"typo": "fwt_typo"}}, {"fwt_typo": TYPO})
    make_dist(root, "fw-good", {"fw.backends": {"extra": "fwt_good"},
                                "fw.plugins": {"extra_domain": "fwt_good_domain"}},
              {"fwt_good": GOOD_BACKEND, "fwt_good_domain": GOOD_DOMAIN})
    make_dist(root, "fw-off", {"fw.backends": {"off": "fwt_off"}}, {"fwt_off": BROKEN})
    # Same entry-point name as fw-good's: reported, not silently shadowed.
    make_dist(root, "fw-dup", {"fw.backends": {"extra": "fwt_off"}}, {})
    make_dist(root, "fw-exits", {"fw.backends": {"exits": "fwt_exits"}}, {"fwt_exits": EXITS})
    make_dist(root, "fw-chatty", {"fw.backends": {"chatty": "fwt_chatty"}}, {"fwt_chatty": PRINTS})
    return root


def test_fw_plugins_list_shows_every_failure(plugin_dir):
    r = subprocess.run([sys.executable, "-m", "framework.cli", "plugins", "list", "--json"],
                       env={**os.environ, "PYTHONPATH": str(plugin_dir), "FW_STRICT_PLUGINS": "0",
                            "FW_DISABLE_PLUGINS": "off"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)
    by = {(x["name"], x["dist"]): x for x in recs}
    for x in recs:
        assert set(x) == {"name", "kind", "version", "dist", "builtin", "status", "error",
                          "hooks", "provides", "module"}
    assert by["cpu", "fw-numpy"]["status"] == "ok" and by["cpu", "fw-numpy"]["builtin"]
    broken = by["broken", "fw-broken"]
    assert broken["status"] == "failed" and "ImportError: libfoo.so" in broken["error"]
    assert broken["version"] == "1.0" and broken["module"] == "fwt_broken"
    clash = by["mycpu", "fw-clash"]
    assert clash["status"] == "clash" and "device type 'cpu' is already provided by plugin 'cpu'" in clash["error"]
    assert clash["provides"] == []                # rolled back: it provides nothing
    typo = by["typo", "fw-typo"]
    assert typo["status"] == "failed" and "unknown hook 'fw_register_backend'" in typo["error"]
    assert typo["kind"] == "domain"
    assert by["off", "fw-off"]["status"] == "disabled"
    good = by["extra", "fw-good"]
    assert good["status"] == "ok" and good["provides"] == ["device:extra"]
    assert good["hooks"] == ["fw_register_backends"]
    domain = by["extra_domain", "fw-good"]
    assert domain["kind"] == "domain" and domain["provides"] == ["dataset:toy", "command:hello"]
    assert domain["hooks"] == ["fw_register_commands", "fw_register_datasets"]
    dup = by["extra", "fw-dup"]
    assert dup["status"] == "clash" and "fw-good-1.0" in dup["error"]
    # One warning line per failure on stderr; none for the disabled plugin.
    assert "plugin 'broken' (fw-broken-1.0) failed to load: ImportError" in r.stderr
    assert "FW_DISABLE_PLUGINS=broken" in r.stderr
    assert "'off'" not in r.stderr
    # sys.exit() at import is a failure like any other; what a plugin prints goes to stderr
    exits = by["exits", "fw-exits"]
    assert exits["status"] == "failed"
    assert exits["error"] == "SystemExit: the plugin called sys.exit(3)"
    assert by["chatty", "fw-chatty"]["status"] == "ok"
    assert "hello from a careless plugin" in r.stderr and "raw bytes from a careless" in r.stderr


def test_broken_plugin_never_breaks_fw(plugin_dir):
    r = run_py(plugin_dir, """
        import framework as fw
        assert fw.zeros(2).sum().item() == 0           # cpu still works
        assert fw.ones(2, device="extra").device.type == "extra"
        assert not fw.devices.DeviceModule("absent").is_available()
        try:
            fw.zeros(2, device="broken")
        except fw.plugins.PluginError as e:
            assert "backend plugin 'broken' (fw-broken-1.0) failed to load" in str(e), e
            assert isinstance(e.__cause__, ImportError), repr(e.__cause__)
            assert isinstance(e, RuntimeError)
        else:
            raise AssertionError("no error")
        assert fw.ones(2, device="chatty").device.type == "chatty"
        try:
            fw.zeros(2, device="exits")
        except fw.plugins.PluginError as e:
            assert "called sys.exit(3)" in str(e) and isinstance(e.__cause__, SystemExit), e
        else:
            raise AssertionError("no error")
        from framework.cli import main
        main(["hello"])
    """)
    assert r.returncode == 0, r.stderr
    assert "hello from a plugin" in r.stdout
    assert "hello from a careless plugin" in r.stderr and "hello from a careless" not in r.stdout
    assert "plugin 'exits' (fw-exits-1.0) failed to load: SystemExit" in r.stderr


def test_disabled_plugin_says_so(plugin_dir):
    r = run_py(plugin_dir, """
        import framework as fw
        try:
            fw.zeros(2, device="broken")
        except fw.plugins.PluginError as e:
            assert "disabled" in str(e) and "FW_DISABLE_PLUGINS" in str(e), e
        assert fw.plugins.registry.records["broken"].status == "disabled"
        assert fw.plugins.registry.records["cpu"].status == "ok"
    """, FW_DISABLE_PLUGINS="broken, fw-typo")
    assert r.returncode == 0, r.stderr
    assert "broken" not in r.stderr


def test_load_plugins_env(plugin_dir):
    r = run_py(plugin_dir, """
        import framework as fw
        fw.plugins.registry.load_all()
        st = {k: r.status for k, r in fw.plugins.registry.records.items()}
        assert st["cpu"] == "ok", st          # fw's own plugins always load
        assert st["extra"] == "ok", st          # named by its distribution
        assert st["broken"] == "disabled" and st["typo"] == "disabled", st
    """, FW_LOAD_PLUGINS="fw-good,nosuch")
    assert r.returncode == 0, r.stderr
    assert "FW_LOAD_PLUGINS names 'nosuch'" in r.stderr
    r = run_py(plugin_dir, """
        import framework as fw
        types = fw.plugins.registry.device_types()   # fw's own backends only
        assert types == ["cpu", "opencl", "vulkan"], types
    """, FW_LOAD_PLUGINS="")
    assert r.returncode == 0, r.stderr


def test_strict_mode_raises(plugin_dir):
    r = run_py(plugin_dir, """
        import framework as fw                     # importing never loads plugins
        try:
            fw.zeros(2)
        except fw.plugins.PluginError as e:
            assert "plugin 'broken' (fw-broken-1.0) failed to load" in str(e), e
            assert isinstance(e.__cause__, ImportError)
        else:
            raise AssertionError("strict mode did not raise")
    """, FW_STRICT_PLUGINS="1")
    assert r.returncode == 0, r.stderr


# -- unit tests with Registry(entry_points=...) ------------------------------------------------

def test_good_backend(monkeypatch):
    module(monkeypatch, "fwt_u_good", fw_register_backends=backends_hook(("fake", FakeBackend)))
    reg = Registry([NUMPY_EP, ep("fake", "fwt_u_good")])
    assert reg.device_types() == ["cpu", "fake"]
    rec = reg.records["fake"]
    assert (rec.status, rec.provides, rec.hooks) == ("ok", ["device:fake"], ["fw_register_backends"])
    assert rec.dist is None and not rec.builtin
    be = reg.backend("fake")
    assert isinstance(be, FakeBackend) and be.device == fw.device("fake")
    assert reg.backend(fw.device("fake")) is be


def test_dist_metadata_and_builtin(tmp_path, monkeypatch):
    module(monkeypatch, "fwt_u_meta", fw_register_backends=backends_hook(("fake", FakeBackend)))
    dist = make_dist(tmp_path, "fw-meta", {"fw.backends": {"fake": "fwt_u_meta"}}, {}, version="2.5")
    reg = Registry(list(dist.entry_points) + [NUMPY_EP])
    reg.load_all()
    assert reg.records["fake"].as_dict()["dist"] == "fw-meta"
    assert reg.records["fake"].version == "2.5"
    assert reg.records["cpu"].builtin and not reg.records["fake"].builtin


def test_import_error_is_recorded_and_chained():
    reg = Registry([NUMPY_EP, ep("ghost", "fwt_no_such_module")])
    assert reg.device_types() == ["cpu"]              # recorded, not raised
    rec = reg.records["ghost"]
    assert rec.status == "failed" and rec.error.startswith("ModuleNotFoundError")
    with pytest.raises(PluginError, match="backend plugin 'ghost'") as info:
        reg.backend("ghost")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    # An unknown type with a broken backend around: the error lists both.
    with pytest.raises(RuntimeError, match=r"registered device types \(cpu\).*'ghost'"):
        reg.backend("nope")


def test_unknown_device_lists_registered():
    reg = Registry([NUMPY_EP])
    with pytest.raises(RuntimeError, match=r"Expected one of the registered device types \(cpu\)"):
        reg.backend("cuda")


def test_strict_env(monkeypatch):
    monkeypatch.setenv("FW_STRICT_PLUGINS", "1")
    reg = Registry([ep("ghost", "fwt_no_such_module")])
    with pytest.raises(PluginError, match="plugin 'ghost'") as info:
        reg.load("fw.backends")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_device_type_clash_rolls_back(monkeypatch):
    class Mine(NumpyBackend):
        type = "mine"

    class Cpu2(NumpyBackend):
        type = "cpu"

    module(monkeypatch, "fwt_u_clash", fw_register_backends=backends_hook(("mine", Mine), ("cpu", Cpu2)))
    reg = Registry([NUMPY_EP, ep("aaa", "fwt_u_clash")])
    assert reg.device_types() == ["cpu"]          # "mine" was registered, then rolled back
    rec = reg.records["aaa"]
    assert rec.status == "clash" and isinstance(rec.exception, NameClash)
    assert rec.provides == [] and "device:mine" not in str(rec.as_dict())
    assert not reg.pm.has_plugin("aaa")
    assert reg.backend_class("cpu") is NumpyBackend  # fw's own one stays, whatever the order


def test_entry_point_name_clash(monkeypatch):
    module(monkeypatch, "fwt_u_a", fw_register_backends=backends_hook(("fake", FakeBackend)))
    module(monkeypatch, "fwt_u_b", fw_register_backends=backends_hook())
    reg = Registry([ep("fake", "fwt_u_a"), ep("fake", "fwt_u_b")])
    reg.load_all()
    assert reg.records["fake"].status == "ok"
    clash = [r for r in reg.records.values() if r.status == "clash"]
    assert len(clash) == 1 and clash[0].module == "fwt_u_b" and "name clash" in clash[0].error


def test_typo_hook_rejected(monkeypatch):
    @hookimpl
    def fw_register_backend(register):
        pass

    @hookimpl(optionalhook=True)
    def fw_some_future_hook(register):
        pass

    module(monkeypatch, "fwt_u_typo", fw_register_backend=fw_register_backend)
    module(monkeypatch, "fwt_u_opt", fw_some_future_hook=fw_some_future_hook)
    reg = Registry([ep("typo", "fwt_u_typo", "fw.plugins"), ep("opt", "fwt_u_opt", "fw.plugins")])
    reg.load_all()
    rec = reg.records["typo"]
    assert rec.status == "failed" and isinstance(rec.exception, pluggy.PluginValidationError)
    assert "unknown hook 'fw_register_backend'" in rec.error and "fw_register_backends" in rec.error
    assert not reg.pm.has_plugin("typo")
    assert reg.records["opt"].status == "ok"       # optionalhook is pluggy's opt-out


def test_unmarked_and_bad_signature_rejected(monkeypatch):
    def fw_register_backends(register):  # forgot @hookimpl: pluggy would skip it silently
        register("fake", FakeBackend)

    @hookimpl
    def fw_register_datasets(register, extra):
        pass

    module(monkeypatch, "fwt_u_unmarked", fw_register_backends=fw_register_backends)
    module(monkeypatch, "fwt_u_sig", fw_register_datasets=fw_register_datasets)
    reg = Registry([ep("unmarked", "fwt_u_unmarked"), ep("sig", "fwt_u_sig", "fw.plugins")])
    reg.load_all()
    assert "without the @hookimpl marker" in reg.records["unmarked"].error
    assert reg.records["sig"].status == "failed" and "extra" in reg.records["sig"].error


def test_bad_registrations(monkeypatch):
    class Mislabelled(NumpyBackend):
        type = "cpu"

    module(monkeypatch, "fwt_u_notcls", fw_register_backends=backends_hook(("x", object)))
    module(monkeypatch, "fwt_u_label", fw_register_backends=backends_hook(("other", Mislabelled)))
    module(monkeypatch, "fwt_u_index", fw_register_backends=backends_hook(("fake:1", FakeBackend)))
    reg = Registry([ep("a", "fwt_u_notcls"), ep("b", "fwt_u_label"), ep("c", "fwt_u_index")])
    reg.load_all()
    assert "expects a subclass of framework.device.Backend" in reg.records["a"].error
    assert "set `type = 'other'`" in reg.records["b"].error
    assert "a device type is a name" in reg.records["c"].error
    assert reg.device_types() == []


def test_fewer_hook_arguments_and_info(monkeypatch):
    @hookimpl
    def fw_plugin_info():
        return {"fw-api": 1}

    @hookimpl
    def fw_register_models():  # may take fewer arguments than the spec, as in pluggy
        pass

    module(monkeypatch, "fwt_u_info", fw_plugin_info=fw_plugin_info, fw_register_models=fw_register_models)
    reg = Registry([ep("info", "fwt_u_info", "fw.plugins")])
    reg.load_all()
    assert reg.records["info"].status == "ok" and reg.records["info"].info == {"fw-api": 1}


def test_wrapper_rejected(monkeypatch):
    @hookimpl(wrapper=True)
    def fw_register_models(register):
        return (yield)

    module(monkeypatch, "fwt_u_wrap", fw_register_models=fw_register_models)
    reg = Registry([ep("wrap", "fwt_u_wrap", "fw.plugins")])
    reg.load_all()
    assert "is a wrapper" in reg.records["wrap"].error


def test_domain_registry_and_clash(monkeypatch):
    def datasets(*names):
        @hookimpl
        def fw_register_datasets(register):
            for n in names:
                register(n, dict)
        return fw_register_datasets

    module(monkeypatch, "fwt_u_d1", fw_register_datasets=datasets("mnist"))
    module(monkeypatch, "fwt_u_d2", fw_register_datasets=datasets("cifar", "mnist"))
    reg = Registry([ep("d1", "fwt_u_d1", "fw.plugins"), ep("d2", "fwt_u_d2", "fw.plugins")])
    assert reg.registry("datasets") == {"mnist": dict}   # d2's "cifar" is rolled back
    assert reg.records["d2"].status == "clash"
    assert "dataset 'mnist' is already provided by plugin 'd1'" in reg.records["d2"].error
    assert "fw.backends" not in reg._loaded            # domain plugins don't load backends


def test_env_disable_and_load(monkeypatch, tmp_path):
    module(monkeypatch, "fwt_u_env", fw_register_backends=backends_hook(("fake", FakeBackend)))
    dist = make_dist(tmp_path, "fw-env", {"fw.backends": {"fake": "fwt_u_env"}}, {})
    eps = list(dist.entry_points) + [NUMPY_EP]
    monkeypatch.setenv("FW_DISABLE_PLUGINS", "fake")
    reg = Registry(eps)
    assert reg.device_types() == ["cpu"] and reg.records["fake"].status == "disabled"
    with pytest.raises(PluginError, match="disabled by FW_DISABLE_PLUGINS"):
        reg.backend("fake")
    monkeypatch.delenv("FW_DISABLE_PLUGINS")
    monkeypatch.setenv("FW_LOAD_PLUGINS", "")
    assert Registry(eps).device_types() == ["cpu"]
    monkeypatch.setenv("FW_LOAD_PLUGINS", "fw-env")
    assert Registry(eps).device_types() == ["cpu", "fake"]


def test_failing_command_hook_rolls_the_plugin_back(monkeypatch):
    import click

    @hookimpl
    def fw_register_commands(cli):
        raise SystemExit("no commands today")

    module(monkeypatch, "fwt_u_cmdexit", fw_register_commands=fw_register_commands,
           fw_register_backends=backends_hook(("fake", FakeBackend)))
    reg = Registry([NUMPY_EP, ep("fake", "fwt_u_cmdexit")])
    assert reg.device_types() == ["cpu", "fake"]
    reg.backend("fake")
    reg.add_commands(click.Group())
    rec = reg.records["fake"]
    assert rec.status == "failed" and "sys.exit('no commands today')" in rec.error
    assert rec.provides == [] and reg.device_types() == ["cpu"]
    with pytest.raises(PluginError, match="backend plugin 'fake'"):
        reg.backend("fake")


def test_keyboard_interrupt_is_not_swallowed(monkeypatch):
    @hookimpl
    def fw_register_backends(register):
        raise KeyboardInterrupt

    module(monkeypatch, "fwt_u_ctrlc", fw_register_backends=fw_register_backends)
    with pytest.raises(KeyboardInterrupt):
        Registry([ep("ctrlc", "fwt_u_ctrlc")]).load_all()


def test_disabling_the_cpu_backend_disables_cpu(monkeypatch):
    """FW_DISABLE_PLUGINS=cpu does what it says: no cpu device until a plugin provides it."""
    monkeypatch.setenv("FW_DISABLE_PLUGINS", "cpu")
    reg = use_registry(monkeypatch)
    assert "cpu" not in reg.device_types() and reg.records["cpu"].status == "disabled"
    assert not fw.cpu.is_available()
    with pytest.raises(PluginError, match="'cpu' .* disabled: disabled by FW_DISABLE_PLUGINS"):
        fw.ones(2)
    # ... and another plugin may then provide "cpu"
    class MyCpu(NumpyBackend):
        pass

    reg = use_registry(monkeypatch, ("cpu", MyCpu))
    assert reg.backend_class("cpu") is MyCpu and fw.ones(2, device="cpu").sum().item() == 2


class NoDevice(NumpyBackend):
    type = "nodevice"

    @classmethod
    def device_count(cls):
        return 0

    @classmethod
    def unavailable_reason(cls):
        return "no NoDevice driver; install one: pip install nodevice-driver"


def test_unavailable_device_says_why(monkeypatch):
    use_registry(monkeypatch, ("nodevice", NoDevice), ("fake", FakeBackend))
    with pytest.raises(RuntimeError, match=r"^no 'nodevice' device is available: no NoDevice "
                                           r"driver; install one: pip install nodevice-driver$"):
        fw.ones(1, device="nodevice")
    monkeypatch.setattr(FakeBackend, "device_count", classmethod(lambda cls: 0))
    with pytest.raises(RuntimeError, match="'fake' backend found no device on this machine"):
        fw.ones(1, device="fake:1")


def test_opencl_says_what_to_install(monkeypatch):
    rt = pytest.importorskip("fw_opencl.runtime")
    if rt.cl is None:
        assert "pip install pyopencl" in rt.unavailable_reason()
        return
    monkeypatch.setattr(rt, "_all_devices", [])
    monkeypatch.setattr(rt.cl, "get_platforms", lambda: [])
    reg = Registry([md.distribution("fw-opencl").entry_points["opencl"]])
    with pytest.raises(RuntimeError, match=r"no 'opencl' device is available: no OpenCL platform "
                                           r"found; install one: pip install pocl-binary-distribution"
                                           r" \(CPU\) or your GPU vendor's OpenCL driver"):
        reg.backend("opencl")


def test_vulkan_says_what_to_install(monkeypatch):
    rt = pytest.importorskip("fw_vulkan.runtime")
    monkeypatch.setattr(rt, "_adapters", [])
    from fw_vulkan.backend import VulkanBackend
    expected = ("wgpu is not installed" if rt.wgpu is None else
                "no Vulkan adapter; install mesa-vulkan-drivers (lavapipe) or a GPU driver")
    assert VulkanBackend.device_count() == 0 and VulkanBackend.unavailable_reason() == expected
    assert plugins.unavailable_reason(VulkanBackend) == expected


def test_plugin_commands(monkeypatch):
    import click

    @hookimpl
    def fw_register_commands(cli):
        @cli.command("devices")
        def devices():  # tries to replace a built-in command
            pass

    module(monkeypatch, "fwt_u_cmd", fw_register_commands=fw_register_commands)
    reg = Registry([ep("cmd", "fwt_u_cmd", "fw.plugins")])
    group = click.Group(commands={"devices": click.Command("devices")})
    original = group.commands["devices"]
    reg.add_commands(group)
    assert group.commands["devices"] is original
    assert reg.records["cmd"].status == "clash" and "may not replace" in reg.records["cmd"].error


# -- device modules and fw.accelerator ---------------------------------------------------------

class FakeAccel(NumpyBackend):
    type = "fakeacc"
    is_accelerator = True

    @classmethod
    def device_count(cls):
        return 2

    @classmethod
    def default_device_index(cls):
        return 0

    @classmethod
    def describe(cls):
        return [{"name": f"Fake Accelerator #{i}"} for i in range(2)]


class BetterAccel(FakeAccel):
    type = "better"
    priority = 10


class DeadAccel(FakeAccel):
    type = "dead"
    priority = 100

    @classmethod
    def device_count(cls):
        raise OSError("driver not loaded")


def use_registry(monkeypatch, *pairs):
    module(monkeypatch, "fwt_u_devs", fw_register_backends=backends_hook(*pairs))
    reg = Registry([NUMPY_EP, ep("devs", "fwt_u_devs")])
    monkeypatch.setattr(plugins, "registry", reg)
    return reg


def test_accelerator_with_cpu_only(monkeypatch):
    use_registry(monkeypatch)
    assert fw.cpu.is_available() and fw.cpu.device_count() == 1
    assert not hasattr(fw, "opencl")  # fw.<type> exists for the installed backends only
    assert not fw.accelerator.is_available()
    assert fw.accelerator.current_accelerator() is None
    assert fw.accelerator.device_count() == 0
    fw.accelerator.synchronize()  # nothing to wait for: no error


def test_fake_accelerator_is_found(monkeypatch):
    use_registry(monkeypatch, ("fakeacc", FakeAccel), ("dead", DeadAccel))
    assert fw.accelerator.is_available()
    assert fw.accelerator.current_accelerator() == fw.device("fakeacc")
    assert fw.accelerator.device_count() == 2
    mod = fw.fakeacc                                   # fw.<type> for a plugin's device type
    assert mod.is_available() and mod.device_count() == 2
    assert mod.get_device_name(1) == "Fake Accelerator #1"
    with pytest.raises(RuntimeError, match="index 5"):
        mod.get_device_name(5)
    assert not fw.dead.is_available() and fw.dead.device_count() == 0   # probing failed
    x = fw.ones(3, device="fakeacc:1")
    assert x.device == fw.device("fakeacc", 1) and fw.ones(1, device="fakeacc").device.index == 0
    with pytest.raises(RuntimeError, match="does not exist"):
        fw.ones(1, device="fakeacc:2")
    mod.synchronize()
    with pytest.raises(AttributeError):
        fw.no_such_device_type


def test_accelerator_priority(monkeypatch):
    use_registry(monkeypatch, ("fakeacc", FakeAccel), ("better", BetterAccel))
    assert fw.accelerator.current_accelerator() == fw.device("better")


def test_register_each_falls_back_to_a_prefixed_name():
    from types import SimpleNamespace
    from framework.plugins import register_each
    table = {"Compose": "someone else's"}

    def register(name, obj):
        if name in table:
            raise NameClash(name)
        table[name] = obj
    register_each(register, SimpleNamespace(Compose=1, Resize=2), ["Compose", "Resize"], "vision")
    assert table == {"Compose": "someone else's", "vision.Compose": 1, "Resize": 2}


def test_pick_device_for_a_bare_device_type(monkeypatch):
    from framework.buffer_backend import pick_device
    names = ["Some Platform cpu-x", "Other gpu-y"]
    monkeypatch.delenv("FW_TEST_PICK", raising=False)
    assert pick_device("FW_TEST_PICK", "test device", names, [1]) == 1   # preferred first
    assert pick_device("FW_TEST_PICK", "test device", names) == 0
    monkeypatch.setenv("FW_TEST_PICK", "GPU-Y")                          # part of a name
    assert pick_device("FW_TEST_PICK", "test device", names) == 1
    monkeypatch.setenv("FW_TEST_PICK", "0")
    assert pick_device("FW_TEST_PICK", "test device", names, [1]) == 0
    monkeypatch.setenv("FW_TEST_PICK", "2")
    with pytest.raises(RuntimeError, match=r"FW_TEST_PICK=2, but there are only 2 test devices"):
        pick_device("FW_TEST_PICK", "test device", names)
    monkeypatch.setenv("FW_TEST_PICK", "tpu")
    with pytest.raises(RuntimeError, match="matches no test device; have: Some Platform cpu-x; Other"):
        pick_device("FW_TEST_PICK", "test device", names)


# -- datasets, models and transforms by name --------------------------------------------------

class Toy:
    """A toy data set."""

    def __init__(self, n, scale=1):
        self.n, self.scale = n, scale


def test_get_by_name(monkeypatch):
    @hookimpl
    def fw_register_datasets(register):
        register("Toy", Toy)

    @hookimpl
    def fw_register_models(register):
        register("tiny_mlp", lambda hidden=4: fw.nn.Linear(2, hidden))

    @hookimpl
    def fw_register_transforms(register):
        register("Scale", lambda k: (lambda x: x * k))

    module(monkeypatch, "fwt_u_named", fw_register_datasets=fw_register_datasets,
           fw_register_models=fw_register_models, fw_register_transforms=fw_register_transforms)
    reg = Registry([NUMPY_EP, ep("named", "fwt_u_named", "fw.plugins")])
    monkeypatch.setattr(plugins, "registry", reg)
    ds = plugins.get_dataset("Toy", 5, scale=2)
    assert isinstance(ds, Toy) and (ds.n, ds.scale) == (5, 2)
    assert plugins.get_model("tiny_mlp", hidden=3).weight.shape == (3, 2)
    assert plugins.get_transform("Scale", 3)(2) == 6
    assert (plugins.list_datasets(), plugins.list_models(), plugins.list_transforms()) == (
        ["Toy"], ["tiny_mlp"], ["Scale"])
    with pytest.raises(ValueError, match=r"no model named 'tiny_mpl' is registered; did you mean "
                                         r"tiny_mlp\?"):
        plugins.get_model("tiny_mpl")
    with pytest.raises(ValueError, match="no dataset named 'MNIST' is registered; registered: Toy"):
        plugins.get_dataset("MNIST")
