"""Fused layer ops (see framework/fused/nn_ops.py): convolution, pooling, layer norm."""


class CLNNOps:
    pass
