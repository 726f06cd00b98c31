"""NumPy versions of the fused layer ops (see framework/fused/nn_ops.py)."""


class NumpyNNOps:
    pass
