"""`nn.Parameter` and `nn.Buffer`: tensors that a Module registers when they are assigned."""
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


def _empty():
    from ..ops.creation import empty
    return empty(0)


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning one to a Module attribute registers it.

    `Parameter(data, requires_grad=True)` shares `data`'s storage (and version counter), as
    in PyTorch. Results of ops on a Parameter are plain Tensors.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _empty()
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        v = data._v
        p = cls._make(v, data._be)
        p._ver = data._ver  # the same storage: in-place writes through either are seen by both
        if requires_grad:
            p.requires_grad_(True)  # refuses integer dtypes, as PyTorch does
        return p

    def __init__(self, data=None, requires_grad=True):
        pass  # all done in __new__ (Tensor.__init__ refuses direct construction)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = type(self)(self.detach().clone(), self.requires_grad)
        if self.grad is not None:
            p.grad = self.grad.clone()
        p.__dict__.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (Tensor.detach(self), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class _BufferMeta(type):
    # `Buffer(t)` returns a plain Tensor marked as a buffer; isinstance sees the mark.
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """A tensor that registers as a buffer when assigned to a Module attribute:
    `self.running = nn.Buffer(fw.zeros(3), persistent=False)`."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = _empty()
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer data must be a Tensor, got {type(data).__name__}")
        t = data.detach()
        t.requires_grad = data.requires_grad
        t.persistent = persistent
        t._is_buffer = True
        return t
