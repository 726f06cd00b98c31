"""Entry point of the Vulkan backend (group `fw.backends`)."""
from framework.plugins import hookimpl


@hookimpl
def fw_register_backends(register):
    from .backend import VulkanBackend
    register("vulkan", VulkanBackend)


@hookimpl
def fw_plugin_info():
    return {"description": "Vulkan/Metal/D3D12 compute through WebGPU (wgpu); device 'vulkan'"}
