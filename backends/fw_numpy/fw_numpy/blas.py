"""One-pass `y += a * x` and `y = a * x + b * y` from NumPy's own OpenBLAS.

NumPy has no ufunc for either: its form is a product into scratch memory, then an add (two
passes over the arrays, on one core). OpenBLAS's axpy and axpby make one pass, on its worker
threads. These are the threads NumPy's matmul already uses (busy-waiting for work right
after the backward's products), so nothing new competes for the cores, as SciPy's BLAS
would, which ships a second OpenBLAS. The optimizer updates use them; where NumPy's BLAS is
not OpenBLAS or its symbols are not found, `axpy` and `axpby` return False and the caller
uses ufuncs. `FW_CPU_BLAS_UPDATES=0` turns them off.
"""
import ctypes
import glob
import os
import sys

import numpy as np

_fns = None  # {(name, dtype): ctypes function}, {} when unavailable; looked up on first use


def _libraries():
    """Paths of the OpenBLAS libraries this process has loaded, then those NumPy ships."""
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split(maxsplit=5)[-1].strip()
                if "openblas" in os.path.basename(path) and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    root = os.path.dirname(os.path.dirname(np.__file__))
    for pattern in ("numpy.libs/*openblas*", "numpy/.dylibs/*openblas*"):
        paths += sorted(p for p in glob.glob(os.path.join(root, pattern)) if p not in paths)
    return paths


def _openblas():
    """(library, naming) for each OpenBLAS found, where naming(base) is a symbol's real name:
    OpenBLAS builds rename their symbols (NumPy's wheels: scipy_cblas_saxpy64_), and the
    decoration is the one `openblas_get_config` carries."""
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", "_64", ""):
                if hasattr(lib, f"{prefix}openblas_get_config{suffix}"):
                    yield lib, (lambda base, p=prefix, s=suffix: f"{p}{base}{s}")


def _lookup():
    if os.environ.get("FW_CPU_BLAS_UPDATES", "1") == "0":
        return {}
    for lib, name in _openblas():
        if not hasattr(lib, name("cblas_saxpby")):
            continue
        config = getattr(lib, name("openblas_get_config"))
        config.restype = ctypes.c_char_p
        # the integer width of the interface: 64-bit in ILP64 builds
        n = ctypes.c_int64 if b"USE64BITINT" in (config() or b"") else ctypes.c_int32
        fns = {}
        for dtype, c, real in ((np.float32, "s", ctypes.c_float),
                               (np.float64, "d", ctypes.c_double)):
            axpy = getattr(lib, name(f"cblas_{c}axpy"))
            axpy.argtypes = [n, real, ctypes.c_void_p, n, ctypes.c_void_p, n]
            axpby = getattr(lib, name(f"cblas_{c}axpby"))
            axpby.argtypes = [n, real, ctypes.c_void_p, n, real, ctypes.c_void_p, n]
            axpy.restype = axpby.restype = None
            fns["axpy", np.dtype(dtype)] = axpy
            fns["axpby", np.dtype(dtype)] = axpby
        return fns
    return {}


# Below this many elements two ufunc passes cost less than the call into the library.
MIN_SIZE = 4096


def _fn(name, x, y):
    """The BLAS function for arrays x and y, or None when they do not qualify: both of one
    float dtype and size (at least MIN_SIZE), C-contiguous, and not overlapping unless
    they are the same."""
    global _fns
    if _fns is None:
        _fns = _lookup() if sys.byteorder == "little" else {}
    f = _fns.get((name, x.dtype))
    if (f is None or x.size < MIN_SIZE or y.dtype != x.dtype or x.size != y.size
            or not x.flags.c_contiguous or not y.flags.c_contiguous or not y.flags.writeable):
        return None
    if x is not y and np.may_share_memory(x, y) and _address(x) != _address(y):
        return None
    return f


def _address(a):
    # a ctypes view of the buffer is cheaper to make than ndarray.ctypes (1 us vs 3)
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except TypeError:  # a read-only array
        return a.ctypes.data


def axpy(a, x, y):
    """y += a * x in one pass; False (nothing done) when the BLAS path does not apply."""
    f = _fn("axpy", x, y)
    if f is None:
        return False
    f(x.size, a, _address(x), 1, _address(y), 1)
    return True


def axpby(a, x, b, y):
    """y = a * x + b * y in one pass; False (nothing done) when the BLAS path does not apply."""
    f = _fn("axpby", x, y)
    if f is None:
        return False
    f(x.size, a, _address(x), 1, b, _address(y), 1)
    return True


# -- thread count (fw.set_num_threads / fw.get_num_threads) ---------------------------------------
def _openblas_threads_fns():
    """(set, get) ctypes functions of NumPy's OpenBLAS thread count, or None."""
    for lib, name in _openblas():
        set_ = getattr(lib, name("openblas_set_num_threads"), None)
        get = getattr(lib, name("openblas_get_num_threads"), None)
        if set_ is not None and get is not None:
            set_.argtypes, set_.restype, get.restype = [ctypes.c_int], None, ctypes.c_int
            return set_, get
    return None


_threads_fns = []  # [(set, get)] or [None] once looked up


def set_openblas_threads(n):
    """Set NumPy's OpenBLAS to n threads by its own call (microseconds, where threadpoolctl
    takes milliseconds to find the libraries); False where it is not OpenBLAS."""
    if not _threads_fns:
        _threads_fns.append(_openblas_threads_fns())
    fns = _threads_fns[0]
    if fns is None:
        return False
    fns[0](n)
    return True


def set_num_threads(n):
    """Limit NumPy's BLAS to n threads: through threadpoolctl where it is installed (it knows
    every BLAS build), else through OpenBLAS's own call. False when neither can."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        fns = _openblas_threads_fns()
        if fns is None:
            return False
        fns[0](n)
        return True
    threadpool_limits(limits=n, user_api="blas")
    return True


def get_num_threads():
    """The thread count of NumPy's BLAS, or None when it cannot be read."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        fns = _openblas_threads_fns()
        return None if fns is None else fns[1]()
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts) if counts else None
