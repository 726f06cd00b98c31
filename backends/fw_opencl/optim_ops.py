"""Fused optimizer steps (see framework/fused/optim_ops.py)."""


class CLOptimOps:
    pass
