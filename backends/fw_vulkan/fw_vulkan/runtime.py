"""The WebGPU runtime under the Vulkan backend: adapters, pipelines, memory, batching.

One `Runtime` serves one adapter (a Vulkan, Metal or D3D12 device seen through wgpu):
its GPUDevice, the compute pipelines built from `kernels/*.wgsl` (once per file and
variant), a pool of storage buffers, and one open command encoder into which every
dispatch is recorded. The encoder is submitted when the host needs a value (to_numpy,
synchronize) or after `MAX_BATCH` dispatches; nothing waits per op.

Kernel parameters (shapes, strides, offsets, a few ints) travel in a 256-byte `Meta`
block (kernels/common.wgsl). Each dispatch appends its block to a host-side staging
area; the staging area is written to one uniform buffer with a single
`queue.write_buffer` right before the submit, and each dispatch binds its own slice of
it through a dynamic offset. So a new shape never recompiles anything, and bind groups
(costly to create) depend only on the storage buffers and are cached.
"""
import heapq
import os
import threading
from importlib import resources

import numpy as np

from framework.buffer_backend import pick_device

try:
    import wgpu
except ImportError:  # the backend then reports no devices
    wgpu = None

ENV_DEVICE = "FW_VULKAN_DEVICE"
META_SIZE = 256          # bytes of one Meta block (and the dynamic-offset alignment we use)
MAX_BATCH = 512          # dispatches per submit
MAX_CHECKS = 64          # deferred index checks between two host waits
WG = 64                  # work-group size of 1-D kernels
FEATURES = ("shader-f64", "shader-int64", "shader-float32-atomic")
# Loop iterations one invocation may run, all its loops together. Mesa's llvmpipe (lavapipe)
# ends every loop of an invocation once 65,535 iterations have run in total (gallivm's
# LP_MAX_TGSI_LOOP_ITERATIONS), silently: a kernel that loops longer gives wrong answers.
# Each kernel bounds its own loops well below this (a `for` of k trips counts k + 1), and
# real GPUs are better served by that parallelism too.
LOOP_TRIPS = 65535
CHUNK = 4096            # elements one invocation walks in a row loop (rows, arg, scan)


class Limits:
    """The limits fw's kernels are sized against, in one place (tests derive sizes from
    them): work-groups per dispatch dimension, bytes of one buffer and of one storage
    binding, storage buffers per kernel, invocations per work-group, loop iterations per
    invocation."""
    __slots__ = ("groups_per_dim", "buffer_size", "binding_size", "bindings", "invocations",
                 "loop_trips")

    def __init__(self, lim):
        self.groups_per_dim = lim["max-compute-workgroups-per-dimension"]
        self.buffer_size = lim["max-buffer-size"]
        self.binding_size = lim["max-storage-buffer-binding-size"]
        self.bindings = lim["max-storage-buffers-per-shader-stage"]
        self.invocations = lim["max-compute-invocations-per-workgroup"]
        self.loop_trips = LOOP_TRIPS

    def __repr__(self):
        return "Limits(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"

# -- adapters ----------------------------------------------------------------------------
_adapters = None


def all_adapters():
    """Every adapter wgpu sees (all backends: Vulkan, Metal, D3D12, GL): "vulkan:N" indexes
    this list. Compute needs storage buffers in compute shaders, which every listed
    adapter of these backends has."""
    global _adapters
    if _adapters is None:
        found = []
        if wgpu is not None:
            # wgpu-native warns on stderr about XDG_RUNTIME_DIR when it is unset (harmless)
            os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
            try:
                found = list(wgpu.gpu.enumerate_adapters_sync())
            except Exception:  # no driver at all
                found = []
        _adapters = found
    return _adapters


def unavailable_reason():
    """Why there is no adapter, with what to install (None when there is one)."""
    if all_adapters():
        return None
    if wgpu is None:
        return "wgpu is not installed; install it: pip install wgpu"
    return "no Vulkan adapter; install mesa-vulkan-drivers (lavapipe) or a GPU driver"


def _info(a):
    return a.info


def adapter_name(a):
    i = _info(a)
    return (i.get("device") or i.get("description") or "adapter").strip()


def default_index():
    """`"vulkan"` means the adapter named by FW_VULKAN_DEVICE (an index or part of its name,
    API or vendor), else the first discrete or integrated GPU, else the first adapter."""
    ads = all_adapters()
    kinds = [_info(a).get("adapter_type") for a in ads]
    return pick_device(
        ENV_DEVICE, "Vulkan/WebGPU adapter",
        [" ".join(filter(None, (adapter_name(a), _info(a).get("backend_type"),
                                _info(a).get("vendor")))) for a in ads],
        [i for kind in ("DiscreteGPU", "IntegratedGPU") for i, k in enumerate(kinds) if k == kind])


def describe(a):
    i, lim = _info(a), a.limits
    return {"name": adapter_name(a), "api": i.get("backend_type"),
            "type": i.get("adapter_type"), "vendor": i.get("vendor") or i.get("vendor_id"),
            "driver": i.get("description"),
            "max_buffer_mib": lim["max-buffer-size"] // 2**20,
            "max_storage_binding_mib": lim["max-storage-buffer-binding-size"] // 2**20,
            "max_workgroup_invocations": lim["max-compute-invocations-per-workgroup"],
            "features": sorted(f for f in a.features if f in _SHOWN)}


# features that matter for compute (the rest are about rendering)
_SHOWN = frozenset(("shader-f16", "shader-f64", "shader-int64", "shader-float32-atomic",
                    "shader-int64-atomic-all-ops", "subgroup", "timestamp-query"))


def _mib(n):
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def _size_class(nbytes):
    """Four sizes per power of two (at most a quarter wasted), at least 256 bytes."""
    if nbytes <= 256:
        return 256
    top = 1 << (nbytes - 1).bit_length()
    step = top >> 3
    return -(-nbytes // step) * step


# -- memory ------------------------------------------------------------------------------
class Buffer:
    """Device memory owned by a tensor's storage; goes back to the pool when dropped."""
    __slots__ = ("mem", "nbytes", "pool", "__weakref__")

    def __init__(self, mem, nbytes, pool):
        self.mem, self.nbytes, self.pool = mem, nbytes, pool

    def __del__(self):
        pool = self.pool
        if pool is not None:
            pool.release(self.mem)


class Pool:
    """Freed buffers kept by size class for reuse.

    A buffer freed while recorded-but-unsubmitted dispatches still use it must not be
    handed out again before they are submitted: an upload into it (queue.write_buffer)
    would run on the queue before them. Such buffers wait in `deferred` until the next
    submit.

    Every buffer lent to a tensor is also held in `lent`. A tensor may die in a reference
    cycle, and the garbage collector then runs the finalizers of everything that only the
    cycle reaches before any is freed: without `lent` that includes the wgpu buffer, whose
    finalizer releases its native object, and Buffer.__del__ would pool it dead.

    Each size class hands out its free buffer of lowest id first (a heap), not the last
    one freed: then a loop that allocates and frees in the same order every iteration
    (a training step) gets the same buffers in the same places every iteration, and the
    runtime's bind groups, keyed by the buffers bound, are found in its cache instead of
    being created anew (LIFO order permuted the buffers from one step to the next)."""

    def __init__(self, rt):
        self.rt = rt
        self.free = {}  # size -> heap of (id, GPUBuffer)
        # held here: Buffer.__del__ may run at interpreter exit, after module globals are gone
        self._push, self._pop = heapq.heappush, heapq.heappop
        self.lent = {}  # id -> GPUBuffer of every buffer a live Buffer holds
        self.deferred = []
        self.live = 0
        self.cached = 0
        self.lock = threading.RLock()  # __del__ may run inside alloc
        self.max_bind = rt.lim.binding_size
        self.max_buf = rt.lim.buffer_size
        self.cache_limit = 1 << 30

    def alloc(self, nbytes):
        size = _size_class(nbytes)
        with self.lock:
            free = self.free.get(size)
            if free:
                self.cached -= size
                mem = self._pop(free)[1]
                self.lent[id(mem)] = mem
                return Buffer(mem, nbytes, self)
        if size > self.max_bind or size > self.max_buf:
            if nbytes > min(self.max_bind, self.max_buf):
                raise RuntimeError(
                    f"vulkan backend: a tensor of {_mib(nbytes)} is larger than the "
                    f"max-storage-buffer-binding-size of {self.rt.name} "
                    f"({_mib(self.max_bind)}; max-buffer-size {_mib(self.max_buf)})")
            size = nbytes + (-nbytes) % 4
        usage = wgpu.BufferUsage
        try:
            mem = self.rt.device.create_buffer(
                size=size, usage=usage.STORAGE | usage.COPY_SRC | usage.COPY_DST)
        except Exception as e:
            self.empty()
            try:
                mem = self.rt.device.create_buffer(
                    size=size, usage=usage.STORAGE | usage.COPY_SRC | usage.COPY_DST)
            except Exception:
                raise RuntimeError(
                    f"Vulkan out of memory: tried to allocate {_mib(nbytes)} on {self.rt.name} "
                    f"({_mib(self.live)} held by fw): {e}") from None
        with self.lock:
            self.live += size
            self.lent[id(mem)] = mem
        return Buffer(mem, nbytes, self)

    def release(self, mem):
        with self.lock:
            del self.lent[id(mem)]
            if self.rt.pending:
                self.deferred.append(mem)
            else:
                self._keep(mem)

    def _keep(self, mem):
        size = mem.size
        if self.cached + size > self.cache_limit:
            self.live -= size
            self.rt.forget(mem)
            mem.destroy()
            return
        self._push(self.free.setdefault(size, []), (id(mem), mem))
        self.cached += size

    def submitted(self):
        with self.lock:
            d, self.deferred = self.deferred, []
            for mem in d:
                self._keep(mem)

    def empty(self):
        self.rt.flush()
        with self.lock:
            for mems in self.free.values():
                for _, m in mems:
                    self.live -= m.size
                    self.rt.forget(m)
                    m.destroy()
            self.free.clear()
            self.cached = 0


# -- kernels -----------------------------------------------------------------------------
class Kernel:
    """One compute pipeline: a (file, entry point, variant) of kernels/*.wgsl."""
    __slots__ = ("name", "pipeline", "layout", "nbuf")

    def __init__(self, name, pipeline, layout, nbuf):
        self.name, self.pipeline, self.layout, self.nbuf = name, pipeline, layout, nbuf


_sources = {}


def source(file):
    src = _sources.get(file)
    if src is None:
        src = _sources[file] = resources.files(__package__).joinpath("kernels", file).read_text()
    return src


def render(text, subs):
    """Replace `$NAME` placeholders (longest names first, so $T never eats $TV)."""
    for k in sorted(subs, key=len, reverse=True):
        text = text.replace("$" + k, str(subs[k]))
    return text


class Runtime:
    def __init__(self, adapter, index):
        self.adapter, self.index = adapter, index
        self.name = f"{adapter_name(adapter)} ({_info(adapter).get('backend_type')}, vulkan:{index})"
        self.features = {f for f in FEATURES if f in adapter.features}
        self.limits = {k: v for k, v in adapter.limits.items()}
        try:
            self.device = adapter.request_device_sync(required_features=sorted(self.features),
                                                      required_limits=self.limits)
        except Exception as e:
            raise RuntimeError(f"vulkan backend: could not open {self.name}: {e}") from None
        self.queue = self.device.queue
        self.f64 = "shader-f64" in self.features
        self.i64 = "shader-int64" in self.features and not os.environ.get("FW_VULKAN_NO_INT64")
        self.f32_atomic = ("shader-float32-atomic" in self.features
                           and not os.environ.get("FW_VULKAN_NO_F32_ATOMIC"))
        self.lim = Limits(self.limits)
        self.max_groups = self.lim.groups_per_dim
        align = max(self.limits["min-uniform-buffer-offset-alignment"], META_SIZE)
        self.meta_stride = align
        U = wgpu.BufferUsage
        self.ubuf = self.device.create_buffer(size=align * MAX_BATCH,
                                              usage=U.UNIFORM | U.COPY_DST)
        self.staging = bytearray(align * MAX_BATCH)
        self.pool = Pool(self)
        self._kernels = {}
        self._modules = {}
        self._layouts = {}
        self._groups = {}          # (layout id, buffer ids) -> bind group
        self.encoder = self.cpass = None
        self.pending = 0
        self.ops = []              # names of the kernels in the open batch, for errors
        # Deferred index checks: check kernels set their slot of checks_buf; the next host
        # wait reads the slots and raises the error of the first one set (`defer_check`).
        self.checks = []
        self.failed = {}  # thread id -> errors of its failed checks that another thread saw
        self.checks_buf = self.device.create_buffer(size=4 * MAX_CHECKS,
                                                    usage=U.STORAGE | U.COPY_SRC | U.COPY_DST)
        self.lock = threading.RLock()

    # -- kernels ---------------------------------------------------------------------
    def kernel(self, file, entry, nbuf, subs=()):
        """The compute pipeline of `entry` in kernels/`file` (a name or a tuple of names,
        concatenated after common.wgsl) rendered with `subs` (a tuple
        of (name, value) pairs), with the uniform Meta at binding 0 and `nbuf` read-write
        storage buffers at bindings 1..nbuf. Built once, then reused."""
        key = (file, entry, subs)
        k = self._kernels.get(key)
        if k is None:
            mod = self._module(file, subs)
            layout = self._layout(nbuf)
            name = f"{file if isinstance(file, str) else '+'.join(file)}:{entry}" + (f" [{', '.join(f'{a}={b}' for a, b in subs)}]"
                                        if subs else "")
            try:
                pipe = self.device.create_compute_pipeline(
                    layout=layout[1], compute={"module": mod, "entry_point": entry})
            except Exception as e:
                raise RuntimeError(f"vulkan backend: kernel {name} failed to build on "
                                   f"{self.name}:\n{e}") from None
            k = self._kernels[key] = Kernel(name, pipe, layout[0], nbuf)
        return k

    def _module(self, file, subs):
        key = (file, subs)
        m = self._modules.get(key)
        if m is None:
            d = dict(subs)
            for t in ("f64", "i64"):
                if t in d.values() and not (self.f64 if t == "f64" else self.i64):
                    raise RuntimeError(f"vulkan backend: {'float64' if t == 'f64' else 'int64'} "
                                       f"kernels need the shader-{'f64' if t == 'f64' else 'int64'}"
                                       f" feature, which {self.name} lacks")
            files = (file,) if isinstance(file, str) else file
            src = render("\n".join(source(f) for f in ("common.wgsl",) + files), d)
            try:
                m = self.device.create_shader_module(code=src, label=f"fw:{file}")
            except Exception as e:
                raise RuntimeError(f"vulkan backend: WGSL kernel file {file!r} "
                                   f"({', '.join(f'{a}={b}' for a, b in subs)}) failed to "
                                   f"compile on {self.name}:\n{e}") from None
            self._modules[key] = m
        return m

    def _layout(self, nbuf):
        lay = self._layouts.get(nbuf)
        if lay is None:
            if nbuf > self.lim.bindings:
                raise RuntimeError(f"vulkan backend: a kernel with {nbuf} storage buffers; "
                                   f"{self.name} allows {self.lim.bindings}")
            C = wgpu.ShaderStage.COMPUTE
            entries = [{"binding": 0, "visibility": C,
                        "buffer": {"type": "uniform", "has_dynamic_offset": True}}]
            # All storage bindings are read-write: the same buffer may then be bound
            # twice in one dispatch (x + x, an in-place copy), which read-only + writable
            # bindings of one buffer would forbid.
            entries += [{"binding": i, "visibility": C, "buffer": {"type": "storage"}}
                        for i in range(1, nbuf + 1)]
            bgl = self.device.create_bind_group_layout(entries=entries)
            lay = self._layouts[nbuf] = (bgl, self.device.create_pipeline_layout(
                bind_group_layouts=[bgl]))
        return lay

    def _bind_group(self, layout, mems):
        key = (id(layout),) + tuple(id(m) for m in mems)
        bg = self._groups.get(key)
        if bg is None:
            if len(self._groups) > 4096:
                self._groups.clear()
            entries = [{"binding": 0, "resource": {"buffer": self.ubuf, "offset": 0,
                                                   "size": META_SIZE}}]
            entries += [{"binding": i, "resource": {"buffer": m, "offset": 0, "size": m.size}}
                        for i, m in enumerate(mems, 1)]
            bg = self.device.create_bind_group(layout=layout, entries=entries)
            # keep the buffers alive with the group, so their ids stay theirs
            self._groups[key] = (bg, mems)
            return bg
        return bg[0]

    def forget(self, mem):
        """Drop cached bind groups that use `mem` (it is about to be destroyed)."""
        i = id(mem)
        # over a copy of the keys (taken atomically): a buffer freed in one thread may get
        # here while another thread's dispatch adds a group
        for key in [k for k in list(self._groups) if i in k[1:]]:
            self._groups.pop(key, None)

    # -- dispatch --------------------------------------------------------------------
    def groups(self, n, per=WG):
        """(x, y) work-group counts covering n items in groups of `per`, folded into 2-D
        beyond the per-dimension limit; kernels compute the linear id from num_workgroups."""
        g = -(-n // per)
        if g <= self.max_groups:
            return (max(g, 1), 1)
        gy = -(-g // self.max_groups)
        if gy > self.max_groups:
            raise RuntimeError(f"vulkan backend: {n} work items exceed the dispatch limit of "
                               f"{self.name}")
        return (self.max_groups, gy)

    def dispatch(self, kernel, mems, meta, groups):
        """Record one dispatch of `kernel` over storage buffers `mems` (GPUBuffers) with
        Meta bytes `meta` and work-group counts `groups` (x, y[, z]); no wait."""
        with self.lock:
            if self.pending >= MAX_BATCH:
                self.flush()
            if self.cpass is None:
                self.encoder = self.device.create_command_encoder()
                self.cpass = self.encoder.begin_compute_pass()
            slot = self.pending * self.meta_stride
            self.staging[slot:slot + len(meta)] = meta
            try:
                bg = self._bind_group(kernel.layout, mems)
                p = self.cpass
                p.set_pipeline(kernel.pipeline)
                p.set_bind_group(0, bg, [slot])
                p.dispatch_workgroups(*groups)
            except Exception as e:
                self._abandon()
                raise RuntimeError(f"vulkan backend: {kernel.name} was rejected by "
                                   f"{self.name}: {e}") from None
            self.pending += 1
            self.ops.append(kernel.name)

    def flush(self):
        """Submit the recorded dispatches (does not wait for them)."""
        with self.lock:
            if self.cpass is None:
                return
            try:
                self.cpass.end()
                cmd = self.encoder.finish()
                self.queue.write_buffer(self.ubuf, 0, self.staging, 0,
                                        self.pending * self.meta_stride)
                self.queue.submit([cmd])
            except Exception as e:
                ops = sorted(set(self.ops))
                self._abandon()
                raise RuntimeError(f"vulkan backend: {self.name} rejected a batch of kernels "
                                   f"({', '.join(ops)}): {e}") from None
            self.encoder = self.cpass = None
            self.pending = 0
            self.ops = []
        self.pool.submitted()

    def defer_check(self, on_fail):
        """The slot of checks_buf for one more deferred check, whose kernel sets it non-zero
        on bad input; then the host's next wait raises `on_fail()`."""
        with self.lock:
            if len(self.checks) >= MAX_CHECKS:  # a loop that never reads back
                self.finish()
            if not self.checks:  # every earlier check kernel has finished: clear the slots
                self.queue.write_buffer(self.checks_buf, 0, bytes(4 * MAX_CHECKS))
            self.checks.append((on_fail, threading.get_ident()))
            return len(self.checks) - 1

    def _read_checks(self):
        """After a flush: wait for the submitted work by reading the slots of the deferred
        checks, and raise this thread's first failed one's error (another thread's waits for
        that thread's next wait). False when there were none."""
        with self.lock:
            pending, self.checks = self.checks, []
        if pending:
            flags = np.frombuffer(self.queue.read_buffer(self.checks_buf, 0, 4 * len(pending)),
                                  np.uint32)
            for f, (on_fail, owner) in zip(flags, pending):
                if f:
                    self.failed.setdefault(owner, []).append(on_fail)
        mine = self.failed.pop(threading.get_ident(), None) if self.failed else None
        if mine:
            raise mine[0]()
        return bool(pending)

    def _abandon(self):
        self.encoder = self.cpass = None
        self.pending = 0
        self.ops = []
        self.pool.submitted()

    # -- memory ----------------------------------------------------------------------
    def alloc(self, nbytes):
        return self.pool.alloc(nbytes)

    def upload(self, array):
        """A new Buffer holding the bytes of C-contiguous `array`."""
        # as flat bytes: memoryview.cast refuses shapes with a zero in them
        data = memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
        buf = self.alloc(len(data))
        if len(data):
            if len(data) % 4:
                data = bytes(data) + bytes(-len(data) % 4)
            self.queue.write_buffer(buf.mem, 0, data)
        return buf

    def download(self, buf, nbytes, byte_offset=0):
        """`nbytes` bytes of `buf` from `byte_offset` (both multiples of 4); waits."""
        if not nbytes:
            return np.empty(0, np.uint8)
        self.flush()
        self._read_checks()
        try:
            data = self.queue.read_buffer(buf.mem, byte_offset, nbytes)
        except Exception as e:
            raise RuntimeError(f"vulkan backend: reading {nbytes} bytes back from "
                               f"{self.name} failed: {e}") from None
        return np.frombuffer(data, np.uint8).copy()

    def finish(self):
        self.flush()
        # reading 4 bytes back waits for everything submitted before it
        if not self._read_checks():
            self.queue.read_buffer(self._sync_buf(), 0, 4)

    def _sync_buf(self):
        b = getattr(self, "_sync", None)
        if b is None:
            U = wgpu.BufferUsage
            b = self._sync = self.device.create_buffer(size=256, usage=U.STORAGE | U.COPY_SRC)
        return b
