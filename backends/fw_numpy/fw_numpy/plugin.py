"""Entry point of the CPU backend (group `fw.backends`)."""
from framework.plugins import hookimpl


@hookimpl
def fw_register_backends(register):
    from .backend import NumpyBackend
    register("cpu", NumpyBackend)
