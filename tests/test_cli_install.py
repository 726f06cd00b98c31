"""`fw plugins install` / `uninstall`: a tiny plugin and a non-plugin as wheels written in a
temp dir, and the shipped third-party backend and Vulkan backend (uninstalled, then
installed again from their source folders)."""
import base64
import hashlib
import importlib.util
import subprocess
import sys
import textwrap
import zipfile

import pytest

MODULE = '''
from framework.plugins import hookimpl


class Tiny:
    """A data set of three numbers."""
    def __len__(self):
        return 3


@hookimpl
def fw_register_datasets(register):
    register("Tiny", Tiny)
'''


def wheel(root, dist, version, files, entry_points=""):
    """Write a pure-Python wheel by hand (pip installs it at once; building a project
    would cost seconds per test). `files` is {path in the wheel: text}."""
    stem = f"{dist.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    files = {**files,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: fw-tests\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    if entry_points:
        files[f"{info}/entry_points.txt"] = textwrap.dedent(entry_points)
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    path = root / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
    return path


def fw(*args):
    return subprocess.run([sys.executable, "-m", "framework.cli", *args], capture_output=True,
                          text=True)


def test_install_reports_the_new_plugin_and_uninstall_removes_it(tmp_path):
    tiny = wheel(tmp_path, "fw-tinyplugin", "0.0.1", {"fw_tinyplugin.py": textwrap.dedent(MODULE)},
                 "[fw.plugins]\ntiny = fw_tinyplugin\n")
    other = wheel(tmp_path, "fw-notaplugin", "0.0.1", {"fw_notaplugin.py": "X = 1\n"})
    try:
        # the plugin is installed; the other distribution is not a plugin and is rolled back
        r = fw("plugins", "install", str(tiny), str(other))
        assert r.stdout == "plugin tiny (domain, fw-tinyplugin 0.0.1) installed: ok; provides " \
                           "dataset:Tiny\n"
        assert r.returncode == 1
        assert "fw-notaplugin: not an fw plugin (declares no entry point in the 'fw.backends' " \
               "or 'fw.plugins' group). Uninstalled again: fw-notaplugin." in r.stderr
        assert "Successfully installed" not in r.stderr           # pip's output: only with -v
        assert _installed("fw-notaplugin") is False and _installed("fw-tinyplugin")
        listed = fw("datasets", "list")
        assert "Tiny" in listed.stdout and "A data set of three numbers." in listed.stdout
    finally:
        r = fw("plugins", "uninstall", "tiny")
        if _installed("fw-notaplugin"):
            subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "fw-notaplugin"])
    assert r.returncode == 0, r.stderr
    assert "removed plugins: tiny" in r.stdout
    assert "Tiny" not in fw("datasets", "list").stdout


def _installed(dist):
    code = f"import importlib.metadata as md; md.distribution({dist!r})"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_builtin_plugins_cannot_be_uninstalled():
    r = fw("plugins", "uninstall", "cpu")
    assert r.returncode != 0 and "fw itself requires fw-numpy" in r.stderr
    r = fw("plugins", "uninstall", "nosuchplugin")
    assert r.returncode == 1 and "no fw plugin or distribution named 'nosuchplugin'" in r.stderr


def test_a_failed_install_is_a_clear_error(tmp_path):
    r = fw("plugins", "install", str(tmp_path / "missing"))
    assert r.returncode != 0 and "pip install failed" in r.stderr


REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name,dist,path,provides", [
    ("counting", "fw-counting", "examples/third_party_backend", "device:counting"),
    ("vulkan", "fw-vulkan", "backends/fw_vulkan", "device:vulkan"),
])
def test_uninstall_and_reinstall_a_shipped_backend(name, dist, path, provides):
    """The README's commands, on the real packages (restored whatever happens)."""
    if importlib.util.find_spec(f"fw_{name}") is None:
        pytest.skip(f"{dist} is not installed here (pip install ./{path})")
    # put it back the way it was: a developer's editable install stays editable
    install = ["plugins", "install", *(["-e"] if _editable(dist) else []), str(REPO / path)]
    try:
        r = fw("plugins", "uninstall", name)
        assert r.returncode == 0 and f"removed plugins: {name}" in r.stdout, r.stderr
        r = fw(*install)
        assert r.returncode == 0, r.stderr
        assert f"plugin {name} (backend, {dist} " in r.stdout and provides in r.stdout
    finally:
        if importlib.util.find_spec(f"fw_{name}") is None:
            fw(*install)


def _editable(dist):
    import importlib.metadata as md
    import json
    record = md.distribution(dist).read_text("direct_url.json")
    return bool(record) and json.loads(record).get("dir_info", {}).get("editable", False)
