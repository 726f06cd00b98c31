"""The `fw` command line: plugins, devices, the conformance kit.

Plugins may add commands through the `fw_register_commands(cli)` hook; they are collected
the first time click asks for the list of commands, so `fw --version` loads no plugin.
"""
import json

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


def _plugin_records():
    """Every plugin's record, read by a fresh interpreter: one that just installed or
    removed a distribution cannot see the change in its own import machinery."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "framework.cli", "plugins", "list", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return {r["name"]: r for r in json.loads(out)}


def _pip(*args):
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "pip", *args]
    click.echo("$ " + " ".join(cmd[2:]), err=True)
    if subprocess.run(cmd).returncode:
        raise click.ClickException(f"pip {args[0]} failed (see its output above)")


@plugins_group.command("install")
@click.argument("targets", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade if already installed.")
@click.option("-e", "--editable", is_flag=True, help="Install a local path in editable mode.")
def plugins_install(targets, upgrade, editable):
    """Install plugin distributions (names pip understands, or local paths) into the
    environment fw runs in, then report the fw plugins that appeared."""
    before = _plugin_records()
    args = ["install"] + (["--upgrade"] if upgrade else [])
    for t in targets:
        args += ["-e", t] if editable else [t]
    _pip(*args)
    after = _plugin_records()
    changed = [r for name, r in after.items() if before.get(name) != r]
    if not changed:
        click.echo("installed, but no new fw plugin appeared: does the distribution declare "
                   "an entry point in the 'fw.backends' or 'fw.plugins' group?")
        return
    for r in changed:
        click.echo(f"plugin {r['name']} ({r['kind']}, {r['dist']} {r['version']}): "
                   f"{_status(r)}; provides {_summary(r['provides'])}")


@plugins_group.command("uninstall")
@click.argument("names", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, hidden=True,
              help="Accepted as pip accepts it; fw never asks before uninstalling.")
def plugins_uninstall(names, yes):
    """Remove the distributions that provide the named plugins (a plugin name as
    `fw plugins list` shows it, or a distribution name), without asking."""
    records = _plugin_records()
    dists = []
    for name in names:
        r = records.get(name)
        dist = r["dist"] if r else name
        if r and r["builtin"] or dist == plugins.OWN_DIST:
            raise click.ClickException(f"'{name}' is built into fw; it cannot be uninstalled "
                                       "on its own (disable it with FW_DISABLE_PLUGINS)")
        dists.append(dist)
    _pip("uninstall", "-y", *dists)
    gone = sorted(set(records) - set(_plugin_records()))
    click.echo("removed plugins: " + (", ".join(gone) or "none"))


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


def _domain_list(kind):
    """`fw datasets|models|transforms list`: what the domain plugins registered."""
    @click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
    def command(as_json):
        registry = plugins.registry
        table = registry.registry(kind)
        owners = {name: plugin for name, (_, plugin) in registry.items[kind].items()}
        records = [{"name": name, "plugin": owners[name],
                    "object": f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}",
                    "summary": ((getattr(obj, "__doc__", None) or "").strip().splitlines() or [""])[0]}
                   for name, obj in sorted(table.items(), key=lambda kv: (owners[kv[0]], kv[0]))]
        if as_json:
            click.echo(json.dumps(records, indent=2))
            return
        if not records:
            click.echo(f"no {kind} registered (see 'fw plugins list')")
            return
        click.echo(_table(("name", "plugin", "summary"),
                          [(r["name"], r["plugin"], r["summary"][:70]) for r in records]))
    command.__doc__ = f"List the {kind} that domain plugins provide."
    return command


for _kind in ("datasets", "models", "transforms"):
    main.group(_kind, help=f"{_kind.capitalize()} provided by domain plugins.")(
        lambda: None).command("list")(_domain_list(_kind))


def _device_records():
    registry = plugins.registry
    out = []
    for type_name in registry.device_types():
        cls, plugin = registry.backends[type_name]
        base = {"device": type_name, "backend": plugin, "class": f"{cls.__module__}.{cls.__qualname__}",
                "accelerator": bool(getattr(cls, "is_accelerator", False))}
        try:
            infos = cls.describe() if cls.is_available() else []
        except Exception as exc:  # a backend that fails to probe is shown, not fatal
            out.append({**base, "available": False, "error": f"{type(exc).__name__}: {exc}"})
            continue
        if not infos:
            out.append({**base, "available": False})
        single = cls.default_device_index() is None and len(infos) == 1
        for i, info in enumerate(infos):
            out.append({**base, "device": type_name if single else f"{type_name}:{i}",
                        "available": True, **info})
    return out


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def devices(as_json):
    """List the devices of every registered backend."""
    out = _device_records()
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    skip = ("device", "backend", "class", "available", "accelerator")
    for d in out:
        state = "" if d["available"] else "unavailable "
        extra = ", ".join(f"{k}={v}" for k, v in d.items() if k not in skip)
        click.echo(f"{d['device']:<12} [{d['backend']}] {state}{extra}".rstrip())


@main.command()
@click.argument("device")
@click.option("-k", "pattern", default=None, help="Only cases whose name contains this.")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
def conformance(device, pattern, verbose):
    """Run the op suite on DEVICE and compare values and gradients with "cpu".
    Exits with status 1 if any case fails."""
    from .testing import CASES, run_conformance
    cases = [c for c in CASES if pattern is None or pattern in c.name]
    if not cases:
        raise click.UsageError(f"no case name contains {pattern!r}")
    try:
        plugins.registry.backend(device)
    except RuntimeError as exc:  # unknown device or broken plugin: say so, don't list N failures
        raise click.ClickException(str(exc)) from exc
    report = run_conformance(device, cases)
    if verbose:
        for name in report.passed:
            click.echo(f"  ok   {name}")
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
