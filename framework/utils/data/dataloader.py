"""DataLoader: batches from a data set, in the main process or in worker processes."""
import multiprocessing as mp
import queue
import time
import weakref

from . import worker as _w
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import (BatchSampler, RandomSampler, SequentialSampler, _draw_seed,
                      _InfiniteConstantSampler)

__all__ = ["DataLoader"]

# how often the main process, waiting for a batch, checks that its workers are alive
_POLL_S = 1.0
# how long shutdown waits for a worker to exit by itself before terminating it: at the end
# of an epoch, and after an error or Ctrl-C (when nobody wants the batch in progress)
_JOIN_S = 5.0
_JOIN_ON_ERROR_S = 0.5


class _DatasetKind:
    Map = 0
    Iterable = 1


def _default_context():
    # Python's default start method, as PyTorch: 'fork' on Linux (so lambdas, interactively
    # defined classes and scripts without a `__main__` guard work), 'spawn' on macOS and
    # Windows. A forked worker can't reach a GPU driver the parent opened (any use raises,
    # see framework.buffer_backend._ForkedRuntime); workers only read the data set.
    return mp.get_context()


class DataLoader:
    """Iterates over `dataset` in batches, as `torch.utils.data.DataLoader`.

    `pin_memory` and `pin_memory_device` are accepted and do nothing (fw has no pinned
    host memory). With `num_workers > 0` batches come back as CPU tensors.
    """

    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            self._dataset_kind = _DatasetKind.Map
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self.__initialized = True

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(ctx, str):
                methods = mp.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError("multiprocessing_context option should specify a valid start "
                                     f"method in {methods!r}, but got multiprocessing_context={ctx!r}")
                ctx = mp.get_context(ctx)
            if not isinstance(ctx, mp.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object "
                                "or a string specifying the start method, but got "
                                f"multiprocessing_context={ctx}")
        self.__multiprocessing_context = ctx

    def __setattr__(self, attr, val):
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                           "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        # what the iterator draws from: lists of indices when batching, single ones otherwise
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        return _MultiProcessIter(self)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            # workers live as long as the loader; each epoch restarts them on a new pass
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self):
        if self._dataset_kind == _DatasetKind.Iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)


class _BaseIter:
    def __init__(self, loader):
        # a weak reference: a persistent loader holds its iterator, and a cycle would keep
        # the workers alive until the cyclic garbage collector happened to run
        self._loader_ref = weakref.ref(loader)
        self._dataset = loader.dataset
        self._iterable = loader._dataset_kind == _DatasetKind.Iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        self._timeout = loader.timeout
        self._sampler_iter = iter(loader._index_sampler)
        # drawn even without workers, so the global RNG advances the same either way
        self._base_seed = _draw_seed(loader.generator)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader_ref())


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = _w.make_fetcher(self._iterable, self._dataset, self._auto_collation,
                                        self._collate_fn, self._drop_last)

    def __next__(self):
        index = next(self._sampler_iter)  # StopIteration ends the epoch
        return self._fetcher.fetch(index)  # so does an exhausted IterableDataset


class _MultiProcessIter(_BaseIter):
    """Workers fed index batches round-robin through one queue each; replies come back on
    one shared queue, tagged with their send order, and are yielded in that order (or as
    they arrive with `in_order=False`). Up to `prefetch_factor` tasks per worker are out."""

    def __init__(self, loader):
        super().__init__(loader)
        self._shutdown = False  # first, so __del__ works whatever fails below
        self._workers = []
        self._index_queues = []
        n = self._num_workers = loader.num_workers
        self._prefetch = max(1, loader.prefetch_factor) * n
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        ctx = loader.multiprocessing_context or _default_context()
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        fork = ctx.get_start_method() == "fork"
        objs = (self._dataset, self._collate_fn, loader.worker_init_fn)
        # a forked child inherits the objects; otherwise they are pickled here once, with
        # tensors as NumPy arrays, so that workers never touch a device
        payload = objs if fork else _w.pack(objs)
        try:
            for wid in range(n):
                iq = ctx.Queue()
                iq.cancel_join_thread()  # never block exit on a worker that is gone
                p = ctx.Process(target=_w._worker_loop, daemon=True,
                                args=(payload, not fork, iq, self._result_queue,
                                      self._done_event, self._iterable, self._auto_collation,
                                      self._drop_last, self._base_seed, wid, n))
                p.start()
                self._index_queues.append(iq)
                self._workers.append(p)
        except BaseException:
            self._shutdown_workers()
            raise
        self._epoch = 0
        self._start_epoch()

    def _start_epoch(self):
        self._send_idx = 0        # tasks sent this epoch
        self._rcvd_idx = 0        # next task to yield (in order)
        self._done = 0            # tasks whose reply was consumed
        self._results = {}        # idx -> reply that came early
        self._task_worker = {}    # idx -> worker id, for tasks not yet answered
        self._active = [True] * self._num_workers  # False once a worker's stream ended
        self._next_worker = 0
        self._exhausted = False
        for _ in range(self._prefetch):
            self._try_put_index()

    def _reset(self, loader):
        """A new epoch on the same (persistent) workers."""
        self._sampler_iter = iter(loader._index_sampler)
        self._epoch += 1
        for iq in self._index_queues:
            iq.put(("resume", self._epoch))
        self._start_epoch()

    def _try_put_index(self):
        if self._exhausted or not any(self._active):
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            self._exhausted = True
            return
        while not self._active[self._next_worker]:
            self._next_worker = (self._next_worker + 1) % self._num_workers
        wid = self._next_worker
        self._next_worker = (wid + 1) % self._num_workers
        self._index_queues[wid].put(("task", self._epoch, self._send_idx, index))
        self._task_worker[self._send_idx] = wid
        self._send_idx += 1

    def _get_reply(self):
        """The next message from any worker, checking for dead workers and the timeout."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - time.monotonic()))
            try:
                return self._result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w for w in self._workers if not w.is_alive()]
                if dead:
                    pids = ", ".join(str(w.pid) for w in dead)
                    raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly") from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None

    def __next__(self):
        try:
            return self._next()
        except StopIteration:
            if not self._persistent:
                self._shutdown_workers()
            raise
        except BaseException:
            # a worker's error, a timeout, Ctrl-C: no worker outlives the failure
            self._shutdown_workers(_JOIN_ON_ERROR_S)
            raise

    def _next(self):
        if self._shutdown:
            raise StopIteration
        while True:
            if self._done == self._send_idx:
                raise StopIteration  # sampler exhausted, or every stream ended
            key = self._rcvd_idx if self._in_order else min(self._results, default=None)
            if key in self._results:
                reply = self._results.pop(key)
                self._done += 1
                if self._in_order:
                    self._rcvd_idx += 1
                self._try_put_index()  # keep the pipeline full
                if reply[0] == "end":
                    continue
                if reply[0] == "err":
                    reply[1].reraise()
                return _w.unpack(reply[1])
            epoch, idx, wid, reply = self._get_reply()
            if epoch != self._epoch:
                continue  # an answer to a task of an epoch that was abandoned
            del self._task_worker[idx]
            if reply[0] == "end":
                self._active[wid] = False
            self._results[idx] = reply

    def _shutdown_workers(self, join_s=_JOIN_S):
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for iq in self._index_queues:
                try:
                    iq.put(None)
                except Exception:
                    pass
            for p in self._workers:
                p.join(timeout=join_s)
        finally:
            for p in self._workers:
                if p.is_alive():
                    p.terminate()
                    p.join()
            for q in self._index_queues + [self._result_queue]:
                q.cancel_join_thread()
                q.close()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # interpreter shutdown may have torn down what this needs
            pass
