"""Matrix products: the tiled SGEMM."""


class LinalgOps:
    pass
