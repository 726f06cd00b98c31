"""Reductions, arg-reductions, scans, sorting and the softmax family."""


class ReduceOps:
    pass
