"""The `fw` command line: plugins, devices, the conformance kit.

Plugins may add commands through the `fw_register_commands(cli)` hook; they are collected
the first time click asks for the list of commands, so `fw --version` loads no plugin.
"""
import contextlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import click

from . import __version__, plugins


class _Main(click.Group):
    _plugins_added = False

    def _add_plugin_commands(self):
        if not self._plugins_added:
            self._plugins_added = True
            plugins.registry.add_commands(self)

    def list_commands(self, ctx):
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        if name not in self.commands:  # fw's own commands need no plugin loading
            self._add_plugin_commands()
        return super().get_command(ctx, name)


@click.group(cls=_Main)
@click.version_option(__version__, prog_name="fw")
def main():
    """fw: a deep-learning framework with pluggable devices."""


@main.group("plugins")
def plugins_group():
    """Installed plugins."""


def _status(r):
    return r["status"] if r["status"] == "ok" else f"{r['status']}: {r['error'] or ''}".rstrip(": ")


def _table(cols, rows):
    widths = [max([len(c)] + [len(str(row[i])) for row in rows]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records with stable keys.")
def plugins_list(as_json):
    """List backend and domain plugins with their status. A plugin that failed to load is
    listed with its error; the exit code is still 0."""
    registry = plugins.registry
    with _stdout_to_stderr() if as_json else contextlib.nullcontext():
        main._add_plugin_commands()  # loads every plugin, and lists the commands they add
    records = [r.as_dict() for r in registry.records.values()]
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    cols = ("name", "kind", "version", "source", "status", "provides")
    rows = [(r["name"], r["kind"], r["version"] or "-",
             "builtin" if r["builtin"] else (r["dist"] or "-"), _status(r),
             _summary(r["provides"])) for r in records]
    click.echo(_table(cols, rows))


@contextlib.contextmanager
def _stdout_to_stderr():
    """While plugins load, send whatever reaches stdout to stderr, down to the file
    descriptor (a plugin's C code may print too), so that JSON output stays JSON."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no usable descriptors (an embedded interpreter): Python level only
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for stream in (sys.stdout, sys.__stdout__):
            if stream is not None:
                stream.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


_canon = plugins.canonical


def _plugin_records():
    """Every plugin's record, read by a fresh interpreter: one that just installed a
    distribution cannot import it reliably itself."""
    env = {k: v for k, v in os.environ.items() if k != "FW_STRICT_PLUGINS"}
    r = subprocess.run([sys.executable, "-m", "framework.cli", "plugins", "list", "--json"],
                       capture_output=True, text=True, errors="replace", env=env)
    try:
        if r.returncode:
            raise ValueError(f"exit status {r.returncode}")
        return json.loads(r.stdout)
    except ValueError as exc:
        raise click.ClickException(f"listing the installed plugins failed ({exc}): "
                                   f"{r.stderr.strip()[-2000:]}") from None


def _pip(args, verbose):
    """Run pip in fw's environment. Its output is shown with -v, or when it fails; else only
    its warnings and errors."""
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
    if verbose:
        click.echo("$ " + " ".join(["pip", *args]), err=True)
        r = subprocess.run(cmd)
    else:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        shown = (r.stdout + r.stderr) if r.returncode else "\n".join(
            ln for ln in r.stderr.splitlines() if ln.startswith(("WARNING", "ERROR")))
        if shown.strip():
            click.echo(shown.rstrip(), err=True)
    if r.returncode:
        raise click.ClickException(f"pip {args[0]} failed (see its output above)")


def _versions():
    """{canonical name: version} of every installed distribution."""
    return {_canon(d.metadata["Name"]): d.version for d in md.distributions()
            if d.metadata["Name"]}


_NO_EPS = "no entry point in the 'fw.backends' or 'fw.plugins' group"


@plugins_group.command("install")
@click.argument("targets", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade if already installed.")
@click.option("-e", "--editable", is_flag=True, help="Install a local path in editable mode.")
@click.option("-v", "--verbose", is_flag=True, help="Show pip's output.")
def plugins_install(targets, upgrade, editable, verbose):
    """Install fw plugins (names pip understands, or local paths) into the environment fw
    runs in, and report each plugin: installed, updated or reinstalled, with its status.
    A requested distribution that is not an fw plugin is uninstalled again (if this command
    installed it) and the exit status is 1."""
    before = _versions()
    args = ["install"] + (["--upgrade"] if upgrade else [])
    for t in targets:
        args += ["-e", t] if editable else [t]
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        _pip(args + ["--report", report], verbose)  # --report: pip >= 22.2
        with open(report) as f:
            items = json.load(f).get("install", [])
    done = {_canon(i["metadata"]["name"]): (i["metadata"]["name"], i["metadata"]["version"],
                                            bool(i.get("requested")))
            for i in items}
    if not done:
        click.echo("nothing was installed: every requirement is already satisfied "
                   "(-U upgrades)")
        return
    by_dist = {}
    for r in _plugin_records():
        if r["dist"]:
            by_dist.setdefault(_canon(r["dist"]), []).append(r)
    for key, (name, version, requested) in done.items():
        old = before.get(key)
        how = ("installed" if old is None else "reinstalled" if old == version
               else f"updated from {old}") + ("" if requested else " as a dependency")
        for r in by_dist.get(key, []):
            click.echo(f"plugin {r['name']} ({r['kind']}, {r['dist']} {r['version']}) {how}: "
                       f"{_status(r)}; provides {_summary(r['provides'])}")
    strays = [key for key, (_, _, requested) in done.items() if requested and key not in by_dist]
    if strays:
        _refuse_non_plugins(strays, done, before, set(by_dist), verbose)


def _refuse_non_plugins(strays, done, before, plugin_dists, verbose):
    """Uninstall the requested distributions that are not fw plugins (those this command
    installed) and fail, saying what was done."""
    names = [done[k][0] for k in strays]
    fresh = [done[k][0] for k in strays if k not in before]
    kept = [done[k][0] for k in strays if k in before]
    if fresh:
        _pip(["uninstall", "-y", *fresh], verbose)
    msg = f"{', '.join(names)}: not an fw plugin (declares {_NO_EPS})."
    if fresh:
        msg += f" Uninstalled again: {', '.join(fresh)}."
    if kept:
        msg += f" Installed before this command, so left installed: {', '.join(kept)}."
    deps = [name for k, (name, _, requested) in done.items()
            if not requested and k not in before and k not in plugin_dists]
    if deps:
        msg += f" Installed with it by pip and left installed: {', '.join(deps)}."
    raise click.ClickException(msg)


def _dist_to_remove(name, eps):
    """The distribution behind plugin (or distribution) `name`, if fw may remove it: only
    distributions that declare fw plugins, and none that fw itself is or needs."""
    owners = sorted({plugins._dist_name(ep) or "?" for ep in eps if ep.name == name})
    if len(owners) > 1:
        raise click.ClickException(f"several distributions provide a plugin named '{name}': "
                                   f"{', '.join(owners)}; name the distribution instead")
    dist = owners[0] if owners else next(
        (d for d in map(plugins._dist_name, eps) if d and _canon(d) == _canon(name)), None)
    if dist is None:
        try:
            md.distribution(name)
        except md.PackageNotFoundError:
            raise click.ClickException(f"no fw plugin or distribution named '{name}' is "
                                       "installed (see 'fw plugins list')") from None
        raise click.ClickException(f"'{name}' is not an fw plugin: its distribution "
                                   f"declares {_NO_EPS}; 'fw plugins uninstall' removes fw plugins "
                                   "only (use pip for other packages)")
    if dist == "?":
        raise click.ClickException(f"plugin '{name}' belongs to no installed distribution")
    if _canon(dist) in plugins.own_requirements(extras=False):
        raise click.ClickException(f"fw itself requires {dist}, which provides '{name}'; it "
                                   "cannot be uninstalled on its own (disable it with "
                                   "FW_DISABLE_PLUGINS)")
    return dist


@plugins_group.command("uninstall")
@click.argument("names", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, hidden=True,
              help="Accepted as pip accepts it; fw never asks before uninstalling.")
@click.option("-v", "--verbose", is_flag=True, help="Show pip's output.")
def plugins_uninstall(names, yes, verbose):
    """Remove the distributions that provide the named plugins (a plugin name as `fw
    plugins list` shows it, or a distribution name), without asking. Only fw plugins can be
    removed: any other name is an error, and nothing is removed."""
    eps = plugins.registry.entry_points()
    dists = list(dict.fromkeys(_dist_to_remove(name, eps) for name in names))
    removed = {_canon(d) for d in dists}
    # read now: an entry point's distribution metadata is gone once pip has removed it
    gone = sorted({ep.name for ep in eps if _canon(plugins._dist_name(ep) or "") in removed})
    _pip(["uninstall", "-y", *dists], verbose)
    left = {_canon(d) for d in map(plugins._dist_name, plugins.registry.entry_points()) if d}
    stuck = [d for d in dists if _canon(d) in left]
    if stuck:
        raise click.ClickException(f"pip did not remove {', '.join(stuck)} (outside this "
                                   "environment?); run with -v to see its output")
    click.echo("removed plugins: " + ", ".join(gone))


def _summary(provides):
    """Devices by name; datasets, models and transforms as counts once there are many."""
    devices = [p for p in provides if p.startswith("device:")]
    rest = [p for p in provides if not p.startswith("device:")]
    if len(rest) > 3:
        counts = {}
        for p in rest:
            kind = p.partition(":")[0]
            counts[kind] = counts.get(kind, 0) + 1
        rest = [f"{n} {k}{'s' if n != 1 else ''}" for k, n in counts.items()]
    return ", ".join(devices + rest) or "-"


def _doc_summary(obj):
    """The first paragraph of `obj`'s docstring, on one line."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def _shorten(text, width=70):
    """`text` cut at a word boundary to fit `width`, with an ellipsis where cut."""
    return textwrap.shorten(text, width, placeholder=" …") if len(text) > width else text


def _domain_list(kind):
    """`fw datasets|models|transforms list`: what the domain plugins registered."""
    @click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
    def command(as_json):
        registry = plugins.registry
        table = registry.registry(kind)
        owners = {name: plugin for name, (_, plugin) in registry.items[kind].items()}
        records = [{"name": name, "plugin": owners[name],
                    "object": f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}",
                    "summary": _doc_summary(obj)}
                   for name, obj in sorted(table.items(), key=lambda kv: (owners[kv[0]], kv[0]))]
        if as_json:
            click.echo(json.dumps(records, indent=2))
            return
        if not records:
            click.echo(f"no {kind} registered (see 'fw plugins list')")
            return
        click.echo(_table(("name", "plugin", "summary"),
                          [(r["name"], r["plugin"], _shorten(r["summary"])) for r in records]))
    command.__doc__ = f"List the {kind} that domain plugins provide."
    return command


for _kind in ("datasets", "models", "transforms"):
    main.group(_kind, help=f"{_kind.capitalize()} provided by domain plugins.")(
        lambda: None).command("list")(_domain_list(_kind))


def _device_records():
    """One record per device; one with `available: False` and a `reason` for each backend
    that has none, and for each backend plugin that is not loaded."""
    registry = plugins.registry
    out = []
    for type_name in registry.device_types():
        cls, plugin = registry.backends[type_name]
        base = {"device": type_name, "backend": plugin, "class": f"{cls.__module__}.{cls.__qualname__}",
                "accelerator": bool(getattr(cls, "is_accelerator", False))}
        try:
            with plugins.plugin_code():
                infos = cls.describe() if cls.is_available() else []
        except Exception as exc:  # a backend that fails to probe is shown, not fatal
            error = f"{type(exc).__name__}: {exc}"
            out.append({**base, "available": False, "error": error,
                        "reason": f"probing the device failed: {error}"})
            continue
        if not infos:
            out.append({**base, "available": False, "reason": plugins.unavailable_reason(cls)})
        single = cls.default_device_index() is None and len(infos) == 1
        for i, info in enumerate(infos):
            out.append({**base, "device": type_name if single else f"{type_name}:{i}",
                        "available": True, **info})
    for r in registry.records.values():
        if r.kind == "backend" and r.status != "ok":
            # a backend's entry point is named after its device type, by convention
            out.append({"device": r.name, "backend": r.name, "class": r.module,
                        "accelerator": False, "available": False, "error": r.error,
                        "reason": f"backend plugin '{r.name}' ({plugins._label(r)}) "
                                  f"{plugins._STATUS_WORDS[r.status]}: {r.error}"})
    return out


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def devices(as_json):
    """List the devices of every registered backend."""
    with _stdout_to_stderr() if as_json else contextlib.nullcontext():
        out = _device_records()
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    skip = ("device", "backend", "class", "available", "accelerator", "error", "reason")
    for d in out:
        state = "" if d["available"] else f"unavailable: {d['reason']} "
        extra = ", ".join(f"{k}={v}" for k, v in d.items() if k not in skip)
        click.echo(f"{d['device']:<12} [{d['backend']}] {state}{extra}".rstrip())


@main.command()
@click.argument("device")
@click.option("-k", "pattern", default=None, help="Only cases whose name contains this.")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
@click.option("--reference", type=click.Choice(["torch", "composed"]), default=None,
              help="What to compare with: PyTorch (the default where it is importable) or "
                   "fw's composed ops on the cpu primitives.")
def conformance(device, pattern, verbose, reference):
    """Run the op suite (every op and fused op a backend may implement) on DEVICE and compare
    values and gradients with the reference. Exits with status 1 if any case fails."""
    from .testing import CASES, run_conformance
    cases = [c for c in CASES if pattern is None or pattern in c.name]
    if not cases:
        raise click.UsageError(f"no case name contains {pattern!r}")
    try:
        plugins.registry.backend(device)
    except RuntimeError as exc:  # unknown device or broken plugin: say so, don't list N failures
        raise click.ClickException(str(exc)) from exc
    report = run_conformance(device, cases, reference=reference)
    if verbose:
        for name in report.passed:
            click.echo(f"  ok   {name}")
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


@main.command("run", context_settings={"ignore_unknown_options": True,
                                       "allow_interspersed_args": False})
@click.option("-n", "--nproc", type=int, default=1, show_default=True, help="Number of ranks.")
@click.option("--hosts", default=None, help="Comma-separated hosts to place ranks on (MPI's -hosts).")
@click.option("--hostfile", default=None, help="An MPI host file.")
@click.option("--mpiexec", default=None,
              help="The MPI launcher to use (default: $FW_MPIEXEC, else the mpich wheel's).")
@click.option("--timeout", type=float, default=None,
              help="Seconds a collective may wait before the job fails (FW_DIST_TIMEOUT).")
@click.option("--no-prefix", is_flag=True, help="Do not prefix output lines with the rank.")
@click.argument("script")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run_command(nproc, hosts, hostfile, mpiexec, timeout, no_prefix, script, args):
    """Run SCRIPT on N ranks with MPI (fw.distributed's launcher)."""
    from .distributed.launch import run
    try:
        rc = run(nproc, [script, *args], mpiexec=mpiexec, hosts=hosts, hostfile=hostfile,
                 timeout=timeout, prefix=not no_prefix)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    raise SystemExit(rc)


from .onnx.cli import onnx_group  # noqa: E402 - `fw onnx ...`; imports onnx only when run
main.add_command(onnx_group)

if __name__ == "__main__":
    main()
