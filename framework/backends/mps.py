"""`fw.backends.mps`: Apple's Metal backend of PyTorch, which fw does not have."""


def is_available():
    return False


def is_built():
    return False
