"""`torch.memory_format` and its values, so code passing `memory_format=` runs.

fw stores every tensor row-major: `contiguous_format` and `preserve_format` are what fw
does anyway, and `channels_last` / `channels_last_3d` are accepted with the same values in
row-major order (docs/tensors.md).
"""

__all__ = ["memory_format", "contiguous_format", "preserve_format", "channels_last",
           "channels_last_3d"]


class memory_format:  # noqa: N801 - PyTorch's name
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"  # as PyTorch prints it, so ported reprs match

    def __reduce__(self):
        return self._name  # pickles as the module-level instance


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def check(fn, value):
    """TypeError unless value is None or a memory_format, as PyTorch's argument parser."""
    if value is not None and not isinstance(value, memory_format):
        raise TypeError(f"{fn}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(value).__name__}")
