"""Linear and Bilinear layers."""
import math

from ... import ops
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .flatten import Identity
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]
Identity.__module__ = __name__  # PyTorch's path for it, named in pickles


def _param(shape, device, dtype):
    return Parameter(ops.empty(shape, device=device, dtype=dtype))


def _reset_fan_in_uniform(weight, bias):
    """PyTorch's default for Linear and Conv layers: kaiming_uniform_(a=sqrt(5)), which is
    uniform(+-1/sqrt(fan_in)), and the bias uniform over the same bound."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x W^T + b, with PyTorch's default initialisation."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _param((out_features, in_features), device, dtype)
        self.register_parameter("bias", _param((out_features,), device, dtype) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_fan_in_uniform(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1^T A x2 + b."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = _param((out_features, in1_features, in2_features), device, dtype)
        self.register_parameter("bias", _param((out_features,), device, dtype) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class NonDynamicallyQuantizableLinear(Linear):
    """The Linear that PyTorch's MultiheadAttention uses for `out_proj` (a Linear by another
    name, kept so that code and checkpoints naming it resolve)."""
