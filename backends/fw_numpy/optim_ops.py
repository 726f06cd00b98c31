"""NumPy versions of the fused optimizer steps (see framework/fused/optim_ops.py)."""


class NumpyOptimOps:
    pass
