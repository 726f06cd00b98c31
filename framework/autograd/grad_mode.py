"""Grad modes: whether ops record the graph. Context managers and decorators, as in PyTorch.

The modes belong to the thread, as in PyTorch: one thread's `no_grad()` (or the one inside
`optimizer.step()`) never turns recording off in another, and a new thread starts with
grad mode on and inference mode off, whatever the thread that started it had.
"""
import functools
import threading


class _Modes(threading.local):
    """This thread's modes; the class attributes are what a new thread starts with."""
    enabled = True      # grad mode: ops record the graph
    inference = False   # inference mode (fw: no_grad with a flag for is_inference_mode_enabled)


_state = _Modes()


def is_grad_enabled():
    return _state.enabled


class _GradMode:
    """Base of the grad-mode managers: usable with `with` and as a decorator."""
    mode = True

    def __new__(cls, *args):
        # `@no_grad` without parentheses decorates the function directly.
        if len(args) == 1 and callable(args[0]) and cls is not set_grad_enabled:
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self):
        return ()


class no_grad(_GradMode):
    mode = False


class enable_grad(_GradMode):
    mode = True


class set_grad_enabled(_GradMode):
    """Sets the mode at construction (so it also works as a plain call), restores on exit."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled() expects a bool, got {type(mode).__name__}")
        self.mode = mode
        self._prev = _state.enabled
        _state.enabled = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def _args(self):
        return (self.mode,)

    def __call__(self, fn):
        _state.enabled = self._prev  # used as a decorator: don't change the mode now
        return super().__call__(fn)


class inference_mode(_GradMode):
    """Like `no_grad` (fw has no separate inference tensors)."""

    def __init__(self, mode=True):
        self._on = mode

    def __enter__(self):
        # As in PyTorch, inference_mode(False) turns grad mode on (even inside no_grad).
        self._prev = _state.enabled
        self._prev_inf = _state.inference
        _state.enabled = not self._on
        _state.inference = bool(self._on)

    def __exit__(self, *exc):
        _state.enabled = self._prev
        _state.inference = self._prev_inf
        return False

    def _args(self):
        return (self._on,)


def is_inference_mode_enabled():
    return _state.inference
