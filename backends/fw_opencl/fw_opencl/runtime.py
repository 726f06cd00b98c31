"""The OpenCL runtime under the backend: devices, programs, kernels and memory.

One `Runtime` serves one OpenCL device: its context, an in-order queue, the programs
built from `kernels/*.cl` (once per file and build options), the `cl.Kernel` objects
(created once and reused: looking one up per call costs ~50x a launch) and a pool of
buffers. Nothing here waits on the device except reading memory back to the host.
"""
import atexit
import os
import threading
import warnings
import weakref
from importlib import resources

import numpy as np

from framework.buffer_backend import pick_device

try:
    import pyopencl as cl
except ImportError:  # the backend then reports no devices
    cl = None

# NVIDIA's compiler (driver 580) says this of every kernel in every program: a remark about
# its own attributes, not about fw's code, so users are not shown it.
_STOCK_REMARKS = ("is a kernel, so overriding noinline attribute",)


def compiler_notes(log):
    """The lines of an OpenCL build log worth showing: all but blank lines and the
    drivers' stock remarks."""
    return [ln for ln in log.splitlines()
            if ln.strip() and not any(r in ln for r in _STOCK_REMARKS)]


ENV_DEVICE = "FW_OPENCL_DEVICE"
ENV_BATCH = "FW_OPENCL_BATCH"  # launches released together; 0: each at once
_BATCH = 16       # the default: PoCL and an NVIDIA H200 both ran faster with it than without
_NEVER = 1 << 62  # the batch size meaning "no batching"
_runtimes = weakref.WeakSet()  # runtimes that may hold commands: released at exit


def _batch_size():
    want = os.environ.get(ENV_BATCH, "").strip()
    if not want:
        n = _BATCH
    elif want.isdigit():
        n = int(want)
    else:
        raise RuntimeError(f"{ENV_BATCH}={want!r}: expected a number of launches (0: none)")
    return n if n > 0 else _NEVER


@atexit.register
def _release_all():
    for r in list(_runtimes):
        r.open_gate()

# fw dtype name -> OpenCL C type. bool is stored as one byte holding 0 or 1, as NumPy does.
CL_TYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long",
            "bool": "uchar"}


# -- devices -----------------------------------------------------------------------------
_all_devices = None


def all_devices():
    """Every OpenCL device of every platform, in platform order: what "opencl:N" indexes."""
    global _all_devices
    if _all_devices is None:
        found = []
        if cl is not None:
            try:
                platforms = cl.get_platforms()
            except cl.Error:  # no ICD or no platform installed
                platforms = []
            for p in platforms:
                try:
                    found.extend(p.get_devices())
                except cl.Error:  # a platform without devices raises DEVICE_NOT_FOUND
                    pass
        _all_devices = found
    return _all_devices


def unavailable_reason():
    """Why there is no OpenCL device, with what to install (None when there is one)."""
    if all_devices():
        return None
    if cl is None:
        return "pyopencl is not installed; install it: pip install pyopencl"
    try:
        names = [p.name.strip() for p in cl.get_platforms()]
    except cl.Error:
        names = []
    found = f"OpenCL platform(s) {', '.join(names)} have no device" if names else \
        "no OpenCL platform found"
    return (f"{found}; install one: pip install pocl-binary-distribution (CPU) "
            "or your GPU vendor's OpenCL driver")


def default_index():
    """`"opencl"` means the device named by FW_OPENCL_DEVICE (an index or part of its
    platform and device name), else the first GPU, else the first device."""
    devs = all_devices()
    return pick_device(ENV_DEVICE, "OpenCL device", [f"{d.platform.name} {d.name}" for d in devs],
                       [i for i, d in enumerate(devs) if d.type & cl.device_type.GPU])


def describe(d):
    ext = d.extensions.split()
    kinds = [n for n in ("GPU", "CPU", "ACCELERATOR") if d.type & getattr(cl.device_type, n)]
    return {"name": d.name.strip(), "platform": d.platform.name.strip(),
            "type": "/".join(kinds) or "other", "version": d.version.strip(),
            "driver": d.driver_version.strip(), "memory_gib": round(d.global_mem_size / 2**30, 2),
            "max_alloc_gib": round(d.max_mem_alloc_size / 2**30, 2),
            "compute_units": d.max_compute_units, "max_work_group": d.max_work_group_size,
            "fp64": "cl_khr_fp64" in ext, "fp16": "cl_khr_fp16" in ext}


def _gib(n):
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def _size_class(nbytes):
    """Round up to one of eight sizes per power of two, so freed buffers get reused by
    requests of similar size while wasting at most a quarter."""
    size = _classes.get(nbytes)
    if size is None:
        if nbytes <= 256:
            size = 256
        else:
            step = (1 << (nbytes - 1).bit_length()) >> 3
            size = -(-nbytes // step) * step
        if len(_classes) > 4096:
            _classes.clear()
        _classes[nbytes] = size
    return size


_classes = {}  # nbytes -> size class: programs ask for the same sizes again and again

# fw's kernels index elements and work-items with 32-bit ints (layouts, offsets, ids)
MAX_INDEX = 2**31 - 1


class Limits:
    """The device limits fw's kernels are sized against, in one place (tests derive their
    sizes from them). OpenCL bounds the work-items of one work-group (in all, and per
    dimension), the bytes of one buffer and of local memory; it sets no bound on the number
    of work-groups of a launch. fw adds its own: at most MAX_INDEX work-items per launch
    dimension and elements per tensor (32-bit indexing)."""
    __slots__ = ("invocations", "item_sizes", "group_size", "buffer_size", "memory",
                 "local_mem", "global_size", "elements")

    def __init__(self, d):
        self.invocations = d.max_work_group_size         # work-items of one work-group
        self.item_sizes = tuple(d.max_work_item_sizes)   # ... along each dimension
        # the largest 1-d work-group: a kernel may allow fewer (its WORK_GROUP_SIZE)
        self.group_size = min(self.invocations, self.item_sizes[0])
        self.buffer_size = d.max_mem_alloc_size          # bytes of one buffer
        self.memory = d.global_mem_size
        self.local_mem = d.local_mem_size
        self.global_size = MAX_INDEX                     # work-items per launch dimension
        self.elements = MAX_INDEX                        # elements of one tensor

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return "Limits(" + ", ".join(f"{k}={v}" for k, v in self.as_dict().items()) + ")"


class Buffer:
    """Device memory owned by a tensor's storage; goes back to the pool when dropped."""
    __slots__ = ("mem", "nbytes", "size", "pool", "__weakref__")

    def __init__(self, mem, nbytes, size, pool):
        self.mem, self.nbytes, self.size, self.pool = mem, nbytes, size, pool

    def __del__(self):
        # Runs once per op output: the pool's common case (cache the buffer for reuse) is
        # inlined here rather than a call of Pool.release.
        pool = self.pool
        if pool is not None:
            size = self.size
            if pool.cached + size <= pool.cache_limit:
                free = pool.free.get(size)
                if free is None:
                    free = pool.free.setdefault(size, [])
                free.append(self.mem)
                pool.cached += size
            else:
                pool.release(self.mem, size)


class Pool:
    """Freed buffers kept by size class for reuse. The queue is in order, so a buffer
    freed while kernels that read it are still queued is safe to hand to later work."""

    def __init__(self, ctx, device):
        self.ctx, self.device = ctx, device
        self.free = {}       # size class -> [cl.Buffer]
        self.live = 0        # bytes in buffers handed out or cached
        self.cached = 0      # bytes in self.free
        self.limit = device.global_mem_size
        self.cache_limit = self.limit >> 2  # most bytes kept in self.free
        self.max_alloc = device.max_mem_alloc_size  # a driver query: ask once
        self.lock = threading.RLock()  # Buffer.__del__ (release) may run inside alloc

    def alloc(self, nbytes):
        size = _classes.get(nbytes) or _size_class(nbytes)
        free = self.free.get(size)
        if free:  # the hot path: list.pop is atomic, so no lock (another thread may win)
            try:
                mem = free.pop()
            except IndexError:
                pass
            else:
                self.cached -= size
                return Buffer(mem, nbytes, size, self)
        with self.lock:
            if size > self.max_alloc or self.live + size > self.limit:
                self.empty()
                if size > self.max_alloc or self.live + size > self.limit:
                    raise self._oom(nbytes)
            try:
                mem = cl.Buffer(self.ctx, cl.mem_flags.READ_WRITE, size)
            except cl.Error as e:
                self.empty()
                try:
                    mem = cl.Buffer(self.ctx, cl.mem_flags.READ_WRITE, size)
                except cl.Error:
                    raise self._oom(nbytes) from e
            self.live += size
            return Buffer(mem, nbytes, size, self)

    def release(self, mem, size):
        if self.cached + size > self.cache_limit:  # keep the cache bounded
            with self.lock:
                self.live -= size
            mem.release()
            return
        free = self.free.get(size)
        if free is None:
            free = self.free.setdefault(size, [])
        free.append(mem)
        self.cached += size

    def empty(self):
        """Give every cached buffer back to the driver (fw.opencl.empty_cache())."""
        # swapped out first: a buffer that another thread frees meanwhile goes to the new dict
        free, self.free = self.free, {}
        self.cached = 0
        for mems in free.values():
            for m in mems:
                self.live -= m.size
                m.release()

    def _oom(self, nbytes):
        d = self.device
        return RuntimeError(
            f"OpenCL out of memory: tried to allocate {_gib(nbytes)} on {d.name.strip()} "
            f"({_gib(d.global_mem_size)} total, {_gib(self.live)} held by fw, largest single "
            f"allocation {_gib(d.max_mem_alloc_size)})")


class Runtime:
    def __init__(self, cl_device, index):
        self.device, self.index = cl_device, index
        self.name = f"{cl_device.name.strip()} (opencl:{index})"
        self.ctx = cl.Context([cl_device])
        self.queue = cl.CommandQueue(self.ctx)
        self.fp64 = "cl_khr_fp64" in cl_device.extensions.split()
        self.fp16 = "cl_khr_fp16" in cl_device.extensions.split()
        self.lim = Limits(cl_device)
        self.pool = Pool(self.ctx, cl_device)
        self._programs = {}
        self._kernels = {}
        self._common = None
        # Checks whose verdict is still on its way to the host: (event of the read, host
        # array it lands in, function making the error). Looked at whenever the host waits
        # anyway (download, finish), so a check costs no round trip of its own.
        self.deferred = []
        self.failed = {}  # thread id -> errors of its failed checks that another thread saw
        # Batched submission: commands queue up behind a marker that waits on a user event
        # (the gate), opened every `batch` counted launches and whenever the host waits. A
        # CPU device shares the cores with this thread: started one by one as they are
        # queued, tiny commands make each enqueue contend with the device's worker threads,
        # while released in batches they run back to back. NVIDIA's driver, too, queues a
        # held command in about half the time of one it must start at once. Only standard
        # OpenCL (user events, markers).
        self.batch = _batch_size()
        self.held = self.batch   # counted launches since the gate closed; the next closes it
        self.gate = None         # the cl.UserEvent holding the queue, None when open
        self._gate_lock = threading.Lock()
        # Held by every backend op (framework.buffer_backend): a kernel's arguments are
        # set on the shared cl.Kernel and then enqueued, which two threads must not interleave.
        self.lock = threading.RLock()
        if self.batch < _NEVER:
            _runtimes.add(self)

    # -- batched submission ----------------------------------------------------------
    def rebatch(self):
        """Release the commands held so far and hold the next ones behind a new gate."""
        with self._gate_lock:
            g = self.gate
            self.gate = cl.UserEvent(self.ctx)
            cl.enqueue_marker(self.queue, wait_for=[self.gate])
            self.held = 0
            if g is not None:
                g.set_status(cl.command_execution_status.COMPLETE)

    def _open(self):
        """Release held commands (the caller holds the gate lock)."""
        g, self.gate = self.gate, None
        self.held = self.batch
        if g is not None:
            g.set_status(cl.command_execution_status.COMPLETE)

    def open_gate(self):
        with self._gate_lock:
            self._open()

    # -- programs and kernels --------------------------------------------------------
    def kernel(self, file, name, defines=()):
        """The `cl.Kernel` `name` of kernels/`file`, built with `-D` `defines` (a tuple of
        (name, value) pairs), made once and then reused."""
        key = (file, name, defines)
        k = self._kernels.get(key)
        if k is None:
            k = self._kernels[key] = cl.Kernel(self.program(file, defines), name)
        return k

    def program(self, file, defines=()):
        key = (file, defines)
        prg = self._programs.get(key)
        if prg is None:
            if not self.fp64 and any(v == "double" for _, v in defines):
                raise RuntimeError(f"float64 is not supported on OpenCL device {self.name}: "
                                   "it lacks the cl_khr_fp64 extension; use float32")
            prg = self._programs[key] = self._build(file, defines)
        return prg

    def _build(self, file, defines):
        if self._common is None:
            self._common = _source("common.h")
        src = self._common + "\n" + _source(file)
        options = [f"-D{k}={v}" for k, v in defines] + ["-cl-mad-enable"]
        if self.fp64:
            options.append("-DHAVE_FP64=1")
        # Built through PyOpenCL's plain program object: its Program.build adds "-I <its own
        # install path>" to the options, and drivers that cache built kernels on disk (PoCL,
        # NVIDIA) key them on the options, so every new virtualenv compiled everything again.
        # fw's kernels include nothing, so the options are fw's alone and the cache carries.
        prg = cl._cl._Program(self.ctx, src)
        try:
            prg.build(" ".join(options).encode(), [self.device])
        except cl.Error as e:
            log = prg.get_build_info(self.device, cl.program_build_info.LOG)
            raise RuntimeError(f"OpenCL kernel file {file!r} failed to build on {self.name} "
                               f"with options {' '.join(options)}:\n{e}\n{log}") from None
        # a log with more than the driver's stock remarks becomes one warning showing it
        notes = compiler_notes(prg.get_build_info(self.device, cl.program_build_info.LOG))
        if notes:
            warnings.warn(f"the OpenCL compiler of {self.name} says of kernel file {file!r}:\n"
                          + "\n".join(notes[:20]), stacklevel=3)
        return prg

    # -- memory ----------------------------------------------------------------------
    def alloc(self, nbytes):
        return self.pool.alloc(nbytes)

    def upload(self, array):
        """A new Buffer holding a C-contiguous NumPy array (copied by the caller)."""
        buf = self.alloc(array.nbytes)
        if array.nbytes:
            # Non-blocking, but dropping the event PyOpenCL returns (which keeps `array`
            # alive) waits for the copy: so the gate is opened first, as for a read.
            with self._gate_lock:
                self._open()
                cl.enqueue_copy(self.queue, buf.mem, array, is_blocking=False)
        return buf

    def download(self, buf, nbytes, byte_offset=0):
        out = np.empty(nbytes, np.uint8)
        # Open the gate (deferred checks wait too); kept open until the read is done: with
        # the lock held, no other thread can close one in front of it.
        with self._gate_lock:
            self._open()
            if nbytes:
                cl.enqueue_copy(self.queue, out, buf.mem, src_offset=byte_offset,
                                is_blocking=True)
        if self.deferred or self.failed:
            self.raise_deferred()
        return out

    # -- asynchronous checks ---------------------------------------------------------
    def defer_check(self, flag, on_fail):
        """Read the int32 at `flag` (a Buffer a kernel sets non-zero on bad input) back
        without waiting; the next wait of the host raises `on_fail()` if it was set. The
        queue is in order, so any later blocking read finds this one done."""
        host = np.empty(1, np.int32)
        ev = cl.enqueue_copy(self.queue, host, flag.mem, is_blocking=False)
        self.deferred.append((ev, host, on_fail, threading.get_ident()))
        if len(self.deferred) > 32:  # a loop that never reads back: check now and then
            self.finish()

    def raise_deferred(self):
        """Raise the error of this thread's first failed deferred check (all have completed:
        the caller has just waited on the queue). Another thread's failure waits for that
        thread's next wait: the error belongs to the op that was checked."""
        pending, self.deferred = self.deferred, []
        for ev, host, on_fail, owner in pending:
            ev.wait()
            if host[0]:
                self.failed.setdefault(owner, []).append(on_fail)
        mine = self.failed.pop(threading.get_ident(), None)
        if mine:
            raise mine[0]()

    def launch(self, kernel, global_size, local_size, *args):
        """Set `args` (cl.Buffers, or bytes/NumPy scalars passed by value) and enqueue
        without waiting. By-value arguments go through `_set_arg_buf`: PyOpenCL's
        generic `set_arg` costs ~10 us for them, this ~0.2 us."""
        for i, a in enumerate(args):
            if type(a) is bytes:
                kernel._set_arg_buf(i, a)
            elif isinstance(a, np.generic):
                kernel._set_arg_buf(i, a.tobytes())
            else:
                kernel.set_arg(i, a)
        self.submit(kernel, global_size, local_size)

    def submit(self, kernel, global_size, local_size):
        """Enqueue `kernel` (its arguments set) without waiting, counted for batching."""
        # Work-item ids past MAX_INDEX would overflow the kernels' ints. Dimension 0 is the
        # one rounded up to whole work-groups (rows x group size); dimensions 1 and 2 count
        # rows or batches, below the element limit already. (max() costs ~10x this.)
        if global_size[0] > MAX_INDEX:
            raise RuntimeError(f"opencl backend: kernel {kernel.function_name} launched with "
                               f"{global_size[0]} work-items along dimension 0; fw's kernels "
                               f"index with 32-bit ints (at most {MAX_INDEX})")
        if self.held >= self.batch:
            self.rebatch()
        self.held += 1
        _enqueue(self.queue, kernel, global_size, local_size, None, None, False, False)

    def finish(self):
        with self._gate_lock:
            self._open()
            self.queue.finish()
        if self.deferred or self.failed:
            self.raise_deferred()


_sources = {}
# PyOpenCL's enqueue_nd_range_kernel without its keyword parsing (positional arguments:
# queue, kernel, global size, local size, global offset, wait_for, g_times_l, allow_empty).
_enqueue = cl._cl.enqueue_nd_range_kernel if cl is not None else None


def _source(file):
    src = _sources.get(file)
    if src is None:
        src = _sources[file] = resources.files(__package__).joinpath("kernels", file).read_text()
    return src
