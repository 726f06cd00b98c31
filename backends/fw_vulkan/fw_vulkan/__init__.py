"""fw's Vulkan backend: WGSL compute shaders run through `wgpu` (device "vulkan")."""
