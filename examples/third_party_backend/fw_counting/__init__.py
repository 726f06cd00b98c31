"""fw-counting: an fw backend for device type "counting" that runs every primitive with
NumPy (it subclasses fw's CPU backend) and counts the calls.

    import framework as fw, fw_counting
    x = fw.ones(3, device="counting")
    (x.exp() + 1).sum()
    fw_counting.counts("counting")    # Counter({'unary': 1, 'unary.exp': 1, 'binary': 1, ...})
"""
from .backend import CountingBackend, backend_for, counts, reset

__all__ = ["CountingBackend", "backend_for", "counts", "reset"]
__version__ = "0.1.0"
