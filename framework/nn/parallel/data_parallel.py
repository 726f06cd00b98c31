"""DataParallel as PyTorch's behaves without several GPUs: it holds the module as
`.module` (so state-dict keys get the `module.` prefix programs expect) and calls it."""
from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Wraps `module`; forward calls it unchanged. fw runs a model on one device, so
    `device_ids`, `output_device` and `dim` are kept for programs that read them and
    otherwise change nothing (PyTorch's does the same when it finds no CUDA devices)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel expects an nn.Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
