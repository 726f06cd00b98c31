"""`torch.random`: the default generator's seed and state, and `fork_rng`.

fw has one generator per process (`fw.default_generator`, NumPy's PCG64) serving every
device, so a state is one int64 tensor of bytes (PyTorch's is a uint8 tensor, a dtype fw
lacks) and fork_rng has no per-device states to save.
"""
import contextlib

from .ops.creation import default_generator, manual_seed, seed, initial_seed

__all__ = ["set_rng_state", "get_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng"]


def get_rng_state():
    """The default generator's state: a 1-d int64 tensor of byte values (0..255)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore a state from get_rng_state(): the same draws follow."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None):
    """Draws inside the block leave the default generator as it was before it."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
