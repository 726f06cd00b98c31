"""`fw.backends.openmp`: fw's own code uses no OpenMP (NumPy's BLAS runs its own threads;
see `fw.set_num_threads`)."""


def is_available():
    return False
