"""Elementwise ops: unary, binary, where, cast."""


class ElementwiseOps:
    pass
