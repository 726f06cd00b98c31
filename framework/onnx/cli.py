"""`fw onnx inspect MODEL.onnx` and `fw onnx run MODEL.onnx --device D` (registered in
framework/cli.py). onnx itself is imported only when a command runs."""
import collections
import time

import click


@click.group("onnx")
def onnx_group():
    """Inspect ONNX models and run them on fw's devices."""


def _dims(value_info):
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?")
            for d in value_info.type.tensor_type.shape.dim]


def _elem(value_info):
    from onnx import helper
    return helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type).name


def _read(path):
    from .importer import read_model
    try:
        return read_model(path)
    except ImportError as e:
        raise click.ClickException(str(e)) from e
    except Exception as e:  # a file that is not ONNX: say so, no traceback
        raise click.ClickException(f"cannot read {path}: {e}") from e


@onnx_group.command("inspect")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
def inspect_cmd(model):
    """Inputs, outputs, opset, operator counts and which operators fw can load."""
    from .importer import loadable_ops
    proto = _read(model)
    g = proto.graph
    inits = {t.name for t in g.initializer}
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in proto.opset_import)
    click.echo(f"model: {model} (ir_version {proto.ir_version}, opset {opsets}, "
               f"producer {proto.producer_name or '?'} {proto.producer_version})")
    click.echo("inputs:")
    for i in g.input:
        if i.name not in inits:
            click.echo(f"  {i.name}: {_elem(i)} {_dims(i)}")
    click.echo("outputs:")
    for o in g.output:
        click.echo(f"  {o.name}: {_elem(o)} {_dims(o)}")
    n_params = sum(int(__import__('numpy').prod(t.dims)) for t in g.initializer)
    click.echo(f"initializers: {len(g.initializer)} ({n_params} values)")
    ok = set(loadable_ops()) | {"Constant"}
    counts = collections.Counter((n.domain, n.op_type) for n in g.node)
    click.echo(f"operators ({sum(counts.values())} nodes):")
    missing = 0
    for (domain, op), k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        can = domain in ("", "ai.onnx") and op in ok
        missing += not can
        name = op if domain in ("", "ai.onnx") else f"{domain}::{op}"
        click.echo(f"  {name:<24} {k:>5}  {'loadable' if can else 'NOT SUPPORTED by fw'}")
    click.echo("fw can load this model" if not missing else
               f"fw cannot load this model: {missing} operator type(s) unsupported")


@onnx_group.command("run")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--device", default="cpu", show_default=True, help="fw device to run on.")
@click.option("--dim", "dims", multiple=True, metavar="NAME=SIZE",
              help="Size of a symbolic dimension (default 1), e.g. --dim batch=8.")
@click.option("--repeat", default=5, show_default=True, help="Timed runs after a warm-up.")
def run_cmd(model, device, dims, repeat):
    """Run MODEL on random inputs of its declared shapes; print output shapes and time/run."""
    import numpy as np
    import framework as fw
    from .importer import OnnxModule, UnsupportedOnnxOperatorError
    sizes = {}
    for d in dims:
        name, _, size = d.partition("=")
        if not size.isdigit():
            raise click.BadParameter(f"expected NAME=SIZE, got {d!r}", param_hint="--dim")
        sizes[name] = int(size)
    proto = _read(model)
    try:
        m = OnnxModule(proto).to(device)
    except (UnsupportedOnnxOperatorError, RuntimeError) as e:
        raise click.ClickException(str(e)) from e
    m.eval()
    inits = {t.name for t in proto.graph.initializer}
    rng = np.random.default_rng(0)
    inputs = []
    for i in proto.graph.input:
        if i.name in inits:
            continue
        shape = [d if isinstance(d, int) else sizes.get(d, 1) for d in _dims(i)]
        npd = np.dtype(_elem(i))
        if npd.kind == "f":
            arr = rng.standard_normal(shape).astype(npd)
        elif npd.kind == "b":
            arr = rng.integers(0, 2, shape).astype(bool)
        else:
            arr = rng.integers(0, 2, shape).astype(npd)
        click.echo(f"input {i.name}: {npd.name} {shape}")
        inputs.append(fw.tensor(arr).to(device))

    def once():
        with fw.no_grad():
            out = m(*inputs)
        out = out if isinstance(out, tuple) else (out,)
        return [o.cpu() for o in out]           # reading back waits for the device
    outs = once()
    t0 = time.perf_counter()
    for _ in range(repeat):
        once()
    per = (time.perf_counter() - t0) / max(repeat, 1)
    for name, o in zip(m.output_names, outs):
        click.echo(f"output {name}: {o.dtype} {list(o.shape)}")
    click.echo(f"device {device}: {per * 1e3:.2f} ms per run (mean of {repeat})")
