"""The entry point fw loads (group `fw.backends`, name `counting`). Keep it cheap: register
classes, probe no hardware."""
from framework.plugins import hookimpl


@hookimpl
def fw_register_backends(register):
    from .backend import CountingBackend
    register("counting", CountingBackend)
