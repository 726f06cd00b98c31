"""Data movement by index: gather, scatter(-add), cat, pad."""


class IndexOps:
    pass
