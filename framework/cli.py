"""The `fw` command line: plugins, devices."""
import json

import click

from . import __version__
from .plugins import registry


@click.group()
@click.version_option(__version__, prog_name="fw")
def main():
    """fw: a deep-learning framework with pluggable devices."""


@main.group()
def plugins():
    """Installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records with stable keys.")
def plugins_list(as_json):
    """List backend and domain plugins with their status."""
    registry.load_all()
    records = [r.as_dict() for r in registry.records.values()]
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    cols = ("name", "kind", "version", "source", "status", "provides")
    rows = [(r["name"], r["kind"], r["version"] or "-", "builtin" if r["builtin"] else (r["dist"] or "-"),
             r["status"] if r["status"] == "ok" else f"{r['status']}: {r['error'] or ''}".rstrip(": "),
             ", ".join(r["provides"]) or "-") for r in records]
    widths = [max(len(c), *(len(str(row[i])) for row in rows)) if rows else len(c) for i, c in enumerate(cols)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def devices(as_json):
    """List the devices of every registered backend."""
    registry.load("fw.backends")
    out = []
    for dtype_name, (cls, plugin) in sorted(registry.backends.items()):
        try:
            infos = cls.describe() if cls.is_available() else []
        except Exception as exc:  # a backend that fails to probe is shown, not fatal
            out.append({"device": dtype_name, "backend": plugin, "error": f"{type(exc).__name__}: {exc}"})
            continue
        for i, info in enumerate(infos):
            name = dtype_name if cls.default_device_index() is None and len(infos) == 1 else f"{dtype_name}:{i}"
            out.append({"device": name, "backend": plugin, **info})
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    for d in out:
        extra = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("device", "backend"))
        click.echo(f"{d['device']:<12} [{d['backend']}] {extra}")


if __name__ == "__main__":
    main()
