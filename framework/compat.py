"""Run a PyTorch program on fw unchanged: `torch` is imported as `framework`.

    python -m framework.compat train.py --epochs 3      # as `python train.py --epochs 3`

or, inside Python, `framework.compat.install()` before the program's first `import torch`.

`install()` puts an import finder first on `sys.meta_path` that answers every import of
`torch` or `torch.<sub>` with fw's module `framework` / `framework.<sub>` (the same module
object, not a copy: `torch.nn.Linear is framework.nn.Linear`), and likewise `torchvision`,
`torchtext`, `torchaudio` with fw's domain plugins `fw_vision`, `fw_text`, `fw_audio`. A
name fw lacks fails as it would in PyTorch, with ModuleNotFoundError, naming both modules.
DataLoader workers started by fork (Linux's default) inherit the mapping; a worker
started with "spawn" or "forkserver" re-imports the script without it.

While the mapping is installed, `torch.save` (fw.save) writes PyTorch's zip format by default
(format="torch"), so that what a PyTorch program saves is a file PyTorch loads; fw.save's own
default (safetensors for state dicts) comes back with `uninstall()`. Pass
format="safetensors" to choose it anyway.
"""
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys

__all__ = ["MAPPING", "install", "uninstall", "installed", "run_path", "main"]

# PyTorch's top-level package -> fw's package that stands in for it
MAPPING = {"torch": "framework", "torchvision": "fw_vision",
           "torchtext": "fw_text", "torchaudio": "fw_audio"}


def _target(name, mapping):
    """fw's module name for an import of `name`, or None when the name isn't mapped."""
    top, dot, rest = name.partition(".")
    if top not in mapping:
        return None
    return mapping[top] + dot + rest


class _AliasLoader(importlib.abc.Loader):
    """Hands back fw's already-imported module as the module for the aliased name."""

    def __init__(self, module):
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        # the import system stamped the alias's spec on fw's module: give it back its own,
        # so fw's module keeps its real name for importlib.reload, pickling and tracebacks
        if self.spec is not None:
            module.__spec__ = self.spec


def _torch_save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
                *, format="torch"):
    """fw.save as a PyTorch program expects it: PyTorch's file format unless told otherwise."""
    from . import serialization
    return serialization.save(obj, f, pickle_module, pickle_protocol,
                              _use_new_zipfile_serialization, format=format)


class _TorchFinder(importlib.abc.MetaPathFinder):
    def __init__(self, mapping):
        self.mapping = dict(mapping)

    def find_spec(self, name, path=None, target=None):
        real = _target(name, self.mapping)
        if real is None:
            return None
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as e:
            if e.name is not None and real.startswith(e.name):
                raise ModuleNotFoundError(
                    f"No module named '{name}': fw has no '{real}' (the import of '{name}' "
                    f"is mapped to fw by framework.compat)", name=name) from None
            raise
        is_package = hasattr(module, "__path__")
        return importlib.util.spec_from_loader(name, _AliasLoader(module), is_package=is_package)


def installed():
    """Whether the mapping is active in this process."""
    return any(isinstance(f, _TorchFinder) for f in sys.meta_path)


def install(mapping=None):
    """Make `import torch` (and torchvision, torchtext, torchaudio) import fw's modules.

    Idempotent. Raises RuntimeError if the real PyTorch is already imported in this process,
    since the program would then mix PyTorch's tensors with fw's."""
    mapping = MAPPING if mapping is None else mapping
    for name in mapping:
        mod = sys.modules.get(name)
        if mod is not None and not isinstance(getattr(mod, "__loader__", None), _AliasLoader) \
                and getattr(mod, "__name__", name) == name:
            raise RuntimeError(f"'{name}' is already imported (the real package): install "
                               f"framework.compat's mapping before the program imports it")
    if installed():
        return
    import framework
    framework.save = _torch_save
    sys.meta_path.insert(0, _TorchFinder(mapping))


def uninstall():
    """Remove the mapping and the aliased names from sys.modules (fw's modules stay)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _TorchFinder)]
    import framework
    from . import serialization
    framework.save = serialization.save
    for name in [n for n in sys.modules if _target(n, MAPPING) is not None]:
        if sys.modules[name].__name__ != name:
            del sys.modules[name]


def run_path(script, argv=()):
    """Run `script` as `__main__` with sys.argv = [script, *argv] and the mapping installed,
    as `python script ...` would (its directory first on sys.path)."""
    install()
    sys.argv = [script, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


def main(args=None):
    args = sys.argv[1:] if args is None else list(args)
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m framework.compat SCRIPT [ARGS...]\n"
              "Runs a PyTorch program on fw: `import torch` imports fw (torchvision: fw_vision).")
        return 0 if args else 2
    if not os.path.isfile(args[0]):
        print(f"framework.compat: can't open file '{args[0]}'", file=sys.stderr)
        return 2
    run_path(args[0], args[1:])
    return 0


if __name__ == "__main__":
    # run through the imported module, so that the program sees one framework.compat
    from framework import compat as _compat
    sys.exit(_compat.main())
