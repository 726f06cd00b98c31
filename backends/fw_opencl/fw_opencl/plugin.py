"""Entry point of the OpenCL backend (group `fw.backends`)."""
from framework.plugins import hookimpl


@hookimpl
def fw_register_backends(register):
    from .backend import OpenCLBackend
    register("opencl", OpenCLBackend)
