"""Where fw.compile meets the rest of the frontend: a thread-local observer and the
`host_op` decorator.

Functions decorated with `host_op` (the random-number ops, `Optimizer.step` and
`zero_grad`) are re-run in Python at each replay instead of being replayed from their
device calls: a random op must draw new numbers from the generator, and an optimizer step
must read the current `param_groups` (an lr scheduler changes them between steps) and
advance its own Python state (Adam's step count). Without an observer, the decorator
costs one thread-local lookup.
"""
import functools
import threading

_state = threading.local()


def observer():
    """The active recorder or watcher of this thread, or None."""
    return getattr(_state, "obs", None)


def set_observer(obs):
    prev = getattr(_state, "obs", None)
    _state.obs = obs
    return prev


def host_op(fn):
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        obs = getattr(_state, "obs", None)
        if obs is None:
            return fn(*args, **kwargs)
        return obs.host_call(fn, args, kwargs)
    wrapped.__wrapped_host_op__ = fn
    return wrapped
