"""The op suite: one table of cases, each a function written once against the PyTorch API
(`fn(lib, *tensors)`, where `lib` is `framework` or `torch`), plus how to make its inputs.

tests/ run every case on every device against PyTorch; the conformance kit runs them on
a device against PyTorch, or without it against fw's composed reference (see
conformance.py). Add a case here and both pick it up.
"""
import numpy as np

from ..dtypes import to_dtype


class I:
    """An input spec: shape, dtype, whether it needs a gradient, and how to fill it.

    kind: 'randn' (normal), 'uniform' (in [low, high)), 'positive' (in [0.5, 2)),
    'int' (integers in [low, high)), 'bool', 'index' (integers in [0, high)), 'away'
    (normal values kept at least 0.3 from zero and from each other's ties: for ops with kinks).
    """

    def __init__(self, *shape, dtype="float32", grad=None, kind=None, low=-2.0, high=2.0):
        self.shape, self.dtype = shape, dtype
        float_dtype = dtype.startswith(("float", "bfloat"))
        self.kind = kind or ("randn" if float_dtype else "bool" if dtype == "bool" else "int")
        self.grad = float_dtype if grad is None else grad
        self.low, self.high = low, high

    def make(self, rng):
        k, shape = self.kind, self.shape
        if k == "randn":
            a = rng.standard_normal(shape)
        elif k == "uniform":
            a = rng.uniform(self.low, self.high, shape)
        elif k == "positive":
            a = rng.uniform(0.5, 2.0, shape)
        elif k == "away":
            a = rng.uniform(0.3, 2.0, shape) * rng.choice([-1, 1], shape)
        elif k == "bool":
            a = rng.random(shape) < 0.5
        elif k == "index":
            a = rng.integers(0, int(self.high), shape)
        else:
            a = rng.integers(int(self.low), int(self.high), shape)
        return np.asarray(a).astype(to_dtype(self.dtype).np)  # bfloat16: ml_dtypes' type


class Case:
    """`fn(lib, *tensors)` returns a tensor or a tuple; only float outputs are differentiated.
    `rtol`/`atol` loosen the comparison for ops that amplify float32 rounding."""

    def __init__(self, name, fn, *inputs, rtol=1e-4, atol=1e-5, grad=True, tags=()):
        self.name, self.fn, self.inputs = name, fn, inputs
        self.rtol, self.atol, self.grad, self.tags = rtol, atol, grad, tags

    @property
    def dtypes(self):
        """The dtypes of its inputs (what a device must hold to run it)."""
        return {to_dtype(spec.dtype) for spec in self.inputs}

    def make_inputs(self, seed=0):
        rng = np.random.default_rng(seed)
        return [spec.make(rng) for spec in self.inputs]

    def __repr__(self):
        return self.name


CASES = []


def case(name, fn, *inputs, **kw):
    CASES.append(Case(name, fn, *inputs, **kw))


# Cases are grouped by topic in modules beside this one; importing them fills CASES.
from . import cases_elementwise, cases_reduction, cases_shape  # noqa: E402,F401
from . import cases_nn, cases_optim, cases_lowp  # noqa: E402,F401
