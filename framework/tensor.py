"""Tensor: a strided view over a device buffer, with the autograd bookkeeping.

The math methods live with their ops in `framework/ops/` and are attached to the class
there (`@method`); this file holds what every tensor is and the core protocol.
"""
import weakref

import numpy as np

from . import dtypes as dt
from .autograd import grad_mode
from .autograd.function import accumulator
from .device import View, numel as _numel


class Size(tuple):
    """A tensor's shape: a tuple that prints as `fw.Size([2, 3])`."""

    def __repr__(self):
        return f"fw.Size({list(self)})"

    def numel(self):
        return _numel(self)


class Tensor:
    __slots__ = ("_v", "_be", "_ver", "_base", "requires_grad", "_grad", "grad_fn",
                 "_output_nr", "_acc", "__weakref__", "__dict__")

    def __new__(cls, *args, device=None):
        # the legacy constructor: fw.Tensor([1, 2]) (data) or fw.Tensor(2, 3) (a shape), float32
        from .ops.typed import FloatTensor
        return FloatTensor(*args, device=device)

    # -- construction ----------------------------------------------------------------
    @classmethod
    def _make(cls, v, be, requires_grad=False):
        t = object.__new__(cls)
        t._v, t._be, t._ver, t._base = v, be, [0], None
        t.requires_grad, t._grad, t.grad_fn, t._output_nr, t._acc = requires_grad, None, None, 0, None
        return t

    def _alias(self, shape, strides, offset):
        """A view of the same storage (no autograd link: callers add it)."""
        t = object.__new__(Tensor)
        v = self._v
        t._v = View(v.buf, shape, strides, offset, v.dtype)
        t._be, t._ver = self._be, self._ver
        t._base = self._base if self._base is not None else self
        t.requires_grad, t._grad, t.grad_fn, t._output_nr, t._acc = False, None, None, 0, None
        return t

    def _from(self, v):
        """A new tensor on this tensor's device holding view `v`."""
        return Tensor._make(v, self._be)

    # -- metadata ------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._v.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._v.shape)
        return self._v.shape[self._dim(dim)]

    @property
    def dtype(self):
        return self._v.dtype

    @property
    def device(self):
        return self._be.device

    @property
    def ndim(self):
        return len(self._v.shape)

    def dim(self):
        return len(self._v.shape)

    ndimension = dim

    def numel(self):
        return _numel(self._v.shape)

    nelement = numel

    def stride(self, dim=None):
        if dim is None:
            return tuple(self._v.strides)
        return self._v.strides[self._dim(dim)]

    def storage_offset(self):
        return self._v.offset

    def is_contiguous(self, memory_format=None):
        return self._v.is_contiguous()

    def element_size(self):
        return self._v.dtype.itemsize

    def is_floating_point(self):
        return self._v.dtype.is_floating_point

    @property
    def _version(self):
        """How many in-place writes the storage has seen (shared by views), as in PyTorch."""
        return self._ver[0]

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def is_cpu(self):
        return self._be.device.type == "cpu"

    # fw has no CUDA, XPU or MPS device: False, so that programs branching on them run
    is_cuda = is_xpu = is_mps = property(lambda self: False)

    def get_device(self):
        idx = self._be.device.index
        return -1 if self._be.device.type == "cpu" else (idx or 0)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return _TYPE_NAMES[self.dtype]
        if isinstance(dtype, str):
            dtype = _dtype_of_type_name(dtype)
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), dt.dtype):
            dtype = dtype.dtype  # a typed class: x.type(fw.LongTensor)
        return self.to(dtype)

    def type_as(self, other):
        """self in other's dtype, on other's device (as PyTorch's, whose type string names
        the device: type_as a CUDA tensor moves to CUDA)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as(): argument 'other' must be Tensor, not {type(other).__name__}")
        return self.to(device=other.device, dtype=other.dtype)

    def _dim(self, d, ndim=None):
        n = self.ndim if ndim is None else ndim
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"dim must be an int, got {type(d).__name__}")
        lo, hi = (-1, 0) if n == 0 else (-n, n - 1)
        if not lo <= d <= hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})")
        return d + n if d < 0 else d

    # -- autograd ------------------------------------------------------------------------
    def _edge(self):
        if self.grad_fn is not None:
            return (self.grad_fn, self._output_nr)
        return (accumulator(self), 0)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward
        backward([self], None if gradient is None else [gradient], retain_graph, create_graph,
                 inputs=inputs)

    def _ones_like_for_grad(self):
        return self._from(self._be.full(self._v.shape, 1, self.dtype))

    def detach(self):
        # Shares storage and version counter, but is not a view for autograd: an in-place
        # write into it never rewrites the history of the tensor it came from.
        t = self._alias(self._v.shape, self._v.strides, self._v.offset)
        t._base = None
        return t

    def detach_(self):
        if self._base is not None and self.grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self):
        node = self.grad_fn
        return bool(node is not None and node._retained and self._output_nr in node._retained)

    def register_hook(self, hook):
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node, nr = self._edge()
        if self.grad_fn is None:
            # A leaf holds its AccumulateGrad node only weakly; keep it alive for the hook.
            self.__dict__["_hooked_acc"] = node
        return node._add_pre_hook(nr, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) runs after a backward pass has added into this leaf's .grad."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.function import _Handle
        hooks = self.__dict__.setdefault("_post_acc_hooks", [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, g):
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(g).__name__}")
            if g._v.shape != self._v.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(g.shape)}' to "
                                   f"a tensor of size '{list(self.shape)}'. Please ensure that the "
                                   "gradient and the tensor are the same size")
            if g._v.dtype is not self._v.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{g.dtype}' to a "
                                   f"tensor with dtype '{self.dtype}'")
            if g._be is not self._be:
                raise RuntimeError(f"attempting to assign a gradient located on device "
                                   f"'{g.device}' to a tensor located on device '{self.device}'")
        self._grad = g

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(other).__name__}")
        self._v, self._be = other._v, other._be
        self._ver = other._ver

    # -- in-place writes -------------------------------------------------------------------
    def _check_inplace(self):
        if grad_mode._state.enabled and self.requires_grad:
            if self.grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            base = self._base
            if base is not None and base.grad_fn is None and base.requires_grad:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used "
                                   "in an in-place operation.")

    def _inplace(self, result, fresh=True):
        """Make `self` hold `result` (same shape): the data is copied into self's storage,
        and the graph continues from result's node, as PyTorch does for `x.add_(y)`.
        `fresh`: result was just computed from self by the in-place op being done."""
        self._check_inplace()
        v = self._v
        if 0 in v.strides and any(st == 0 and n > 1 for n, st in zip(v.shape, v.strides)):
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.")
        if result.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(result.shape)}")
        if result.dtype is not self.dtype:
            if result.dtype.kind > self.dtype.kind:
                raise RuntimeError(f"result type {_TYPE_NAMES[result.dtype][3:-6]} can't be cast to "
                                   f"the desired output type {_TYPE_NAMES[self.dtype][3:-6]}")
            result = result.to(self.dtype)
        if fresh and result.grad_fn is not None:
            _keep_original(result.grad_fn, self._ver)
        self._be.copy_(self._v, result._v)
        self._ver[0] += 1
        if (result.requires_grad or self.requires_grad) and grad_mode._state.enabled:
            from .ops.shape import rebase_history
            rebase_history(self, result)
        return self

    # -- conversion ------------------------------------------------------------------------
    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if self._be.device.type != "cpu" and not force:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. "
                            "Use Tensor.cpu() to copy the tensor to host memory first.")
        if self.dtype is dt.bfloat16:  # as PyTorch: NumPy has no bfloat16
            raise TypeError("Got unsupported ScalarType BFloat16 (NumPy has no bfloat16; "
                            ".float().numpy() holds its values exactly)")
        return self._be.to_numpy(self._v)

    def _py_values(self):
        """The values as a NumPy array whose .tolist() gives Python numbers."""
        a = self._be.to_numpy(self._v)
        return a.astype(np.float32) if self.dtype is dt.bfloat16 else a

    def _host(self):
        """The values as a NumPy array, from any device (the host waits here)."""
        return self._be.to_numpy(self._v)

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._py_values().reshape(-1)[0].item()

    def tolist(self):
        return self._py_values().tolist()

    def __bool__(self):
        n = self.numel()
        if n != 1:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0 else
                               "Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def _scalar(self):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __index__(self):
        if self.dtype.kind != 1 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self._scalar())

    def __len__(self):
        if not self._v.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._v.shape[0]

    def __iter__(self):
        if not self._v.shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        a = self.detach()._host()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        from .printing import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, protocol):
        from .ops.creation import _rebuild
        return (_rebuild, (self.detach()._host().copy(), str(self.device), self.requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        t = self.detach().clone()
        t.requires_grad = self.requires_grad
        if self.grad is not None:
            t.grad = self.grad.clone()
        memo[id(self)] = t
        return t


def _keep_original(node, ver):
    """The node of an in-place op that saved the tensor being overwritten (`y.mul_(w)`
    needs y's old value) keeps a copy of that value instead, as PyTorch does."""
    saved = node.__dict__.get("_saved")
    if not saved:
        return
    if any(s is not None and s[0]._ver is ver for s in saved):
        kept = []
        for s in saved:
            if s is not None and s[0]._ver is ver:
                c = _copy_of(s[0])
                s = (c, c._ver[0])
            kept.append(s)
        node._saved = tuple(kept)


def _copy_of(t):
    from .ops.shape import contiguous_copy
    return contiguous_copy(t) if t.requires_grad and grad_mode._state.enabled else \
        t.detach().clone()


from .autograd import function as _function  # noqa: E402
_function._Tensor = Tensor

_TYPE_NAMES = {d: f"fw.{n}Tensor" for d, n in dt.SCALAR_NAMES.items()}


def _dtype_of_type_name(name):
    """The dtype of a type name: 'fw.LongTensor', or 'torch.LongTensor' as ported code says."""
    short = name.split(".", 1)[1] if name.startswith(("fw.", "torch.")) else None
    if short is not None and short.startswith("cuda."):
        raise RuntimeError(f"type {name} is not available: fw has no CUDA device (its GPU "
                           "devices are 'opencl' and 'vulkan')")
    for d, n in _TYPE_NAMES.items():
        if short == n[3:]:
            return d
    raise ValueError(f"invalid type: {name!r}")


def method(fn=None, name=None):
    """Attach `fn` to Tensor under its name (or `name`); used by the ops modules."""
    def attach(f):
        setattr(Tensor, name or f.__name__, f)
        return f
    return attach(fn) if fn is not None else attach
