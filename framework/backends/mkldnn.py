"""`fw.backends.mkldnn`: oneDNN (MKL-DNN) switches. fw's cpu device computes with NumPy and
its BLAS, not oneDNN, so `is_available()` is False; `enabled` is kept for programs that set it."""

enabled = True
deterministic = False


def is_available():
    return False
