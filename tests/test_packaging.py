"""How fw is packaged: a light core plus one distribution per backend and domain plugin, all
with the same layout, assembled by the core's extras (docs/install.md). Read from the
pyproject files in the tree and checked against what is installed."""
import ast
import importlib.metadata as md
import pathlib
import re
import tomllib

import pytest

from framework import plugins

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PARTS = sorted(ROOT.glob("backends/*/pyproject.toml")) + sorted(ROOT.glob("plugins/*/pyproject.toml"))
GROUP = {"backends": plugins.BACKEND_GROUP, "plugins": plugins.DOMAIN_GROUP}


def name(req):
    return plugins.canonical(re.match(r"[A-Za-z0-9._-]+", req).group())


def project(path):
    return tomllib.loads(path.read_text())["project"]


def test_the_core_is_light_and_brings_the_cpu_device():
    assert {name(r) for r in CORE["dependencies"]} == {
        "numpy", "ml-dtypes", "pluggy", "click", "safetensors", "fw-numpy"}
    assert "entry-points" not in CORE  # every device and domain plugin lives in its own distribution


@pytest.mark.parametrize("path", PARTS, ids=lambda p: p.parent.name)
def test_each_part_has_the_same_layout(path):
    folder = path.parent
    proj = project(path)
    pkg = folder.name
    assert (folder / pkg / "__init__.py").is_file() and (folder / pkg / "plugin.py").is_file()
    assert proj["name"] == pkg.replace("_", "-") and proj["version"] == CORE["version"]
    assert "fw-framework" in {name(r) for r in proj["dependencies"]}
    (group, eps), = proj["entry-points"].items()
    assert group == GROUP[folder.parent.name]
    (ep_name, target), = eps.items()
    assert target == f"{pkg}.plugin"
    if group == plugins.BACKEND_GROUP:  # a backend's entry point is named after its device type
        tree = ast.parse((folder / pkg / "backend.py").read_text())
        types = {n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", None) == "type" for t in n.targets)
                 and isinstance(n.value, ast.Constant)}
        assert types == {ep_name}


def test_extras_assemble_every_part():
    extras = CORE["optional-dependencies"]
    parts = {project(p)["name"] for p in PARTS}
    # extras that bring parts (the others bring features: test, examples, onnx, ...)
    part_extras = [k for k, reqs in extras.items() if {name(r) for r in reqs} <= parts]
    offered = {name(r) for k in part_extras for r in extras[k]}
    assert offered | {"fw-numpy"} == parts  # the cpu device is a requirement, the rest extras
    assert extras["all"] == [f"fw-framework[{','.join(part_extras)}]"]
    assert extras["opencl"] == ["fw-opencl==0.1.0"] and "torch==2.13.0" in extras["test"]
    assert not {name(r) for k in extras if k not in part_extras + ["all"] for r in extras[k]} & parts


@pytest.mark.parametrize("path", PARTS, ids=lambda p: p.parent.name)
def test_installed_parts_are_this_tree_and_builtin(path):
    proj = project(path)
    dist = md.distribution(proj["name"])
    (group, eps), = proj["entry-points"].items()
    assert {(ep.group, ep.name, ep.value) for ep in dist.entry_points} == {
        (group, k, v) for k, v in eps.items()}
    assert plugins.is_builtin(proj["name"])
    assert not plugins.is_builtin("fw-counting") and not plugins.is_builtin(None)


def test_the_frontend_imports_no_backend_or_domain_plugin():
    own = {p.parent.name for p in PARTS}
    for py in (ROOT / "framework").rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {m.split(".")[0] for m in mods} & own, f"{py} imports {mods}"
