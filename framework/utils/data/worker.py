"""What runs inside a DataLoader worker process, and what it shares with the main process.

Protocol (main -> worker, one index queue per worker):
    ("task", epoch, idx, index)   fetch and collate `index`, reply (epoch, idx, worker_id, reply)
    ("resume", epoch)             new epoch of persistent workers: restart the data stream
    None                          exit
Every task gets exactly one reply: ("ok", bytes), ("err", ExceptionWrapper) or ("end",)
(an IterableDataset worker whose stream is exhausted), so the main process can count.

Batches travel as pickled bytes in which every fw tensor was replaced by its NumPy array:
a device tensor can't cross processes, and NumPy pickles compactly. The main process
rebuilds them as CPU tensors.
"""
import io
import multiprocessing as mp
import pickle
import queue
import random
import signal
import sys
import traceback

import numpy as np

import framework as fw

__all__ = ["WorkerInfo", "get_worker_info"]

# how often a waiting worker checks whether it should give up (main gone or shutting down)
_POLL_S = 1.0

_worker_info = None


class WorkerInfo:
    """Facts about the current worker: `id`, `num_workers`, `seed`, `dataset` (its copy)."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info():
    """In a DataLoader worker, its `WorkerInfo`; in the main process, None.

    An IterableDataset uses it in `__iter__` to give each worker a different share."""
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as its type and the
    formatted traceback (tracebacks themselves don't pickle)."""

    def __init__(self, exc_info=None, where="in background"):
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        try:  # a type defined where the main process can't import it can't travel
            pickle.dumps(self.exc_type)
        except Exception:
            self.exc_type = RuntimeError
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            raise KeyError(_KeyErrorMessage(msg))
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception type that needs other arguments
            raise RuntimeError(msg) from None
        raise exc


class _KeyErrorMessage(str):
    # KeyError prints repr() of its argument, which would show the traceback as one line
    def __repr__(self):
        return str(self)


# -- shipping batches -------------------------------------------------------------------------
def _rebuild_tensor(array):
    return fw.from_numpy(array)


class _BatchPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, fw.Tensor):
            # autograd history can't cross processes; the data can, as NumPy
            return _rebuild_tensor, (np.ascontiguousarray(obj.detach().cpu().numpy()),)
        return NotImplemented


def pack(obj):
    """Pickle `obj` with every fw tensor (on any device) turned into a NumPy array."""
    buf = io.BytesIO()
    _BatchPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def unpack(data):
    return pickle.loads(data)


# -- fetching ---------------------------------------------------------------------------------
class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class _IterableFetcher:
    """Pulls from the data set's stream; the index (None, or a list of None for a batch)
    only says how many samples to take. Raises StopIteration when the stream is done."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.it = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.it))
        data = []
        for _ in index:
            try:
                data.append(next(self.it))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


def seed_worker(seed, worker_id, base_seed):
    """Seed fw's, Python's and NumPy's global generators of a worker: different per worker,
    reproducible from the loader's base seed."""
    fw.manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))


# -- the worker's main loop -------------------------------------------------------------------
def _worker_loop(payload, pickled, index_queue, result_queue, done_event, iterable,
                 auto_collation, drop_last, base_seed, worker_id, num_workers):
    global _worker_info
    # Ctrl-C reaches the whole process group; the main process handles it and shuts the
    # workers down, so a worker ignores it rather than printing its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the main process, watched through the sentinel pipe multiprocessing gives every child
    # (its OS parent may be the fork server, which outlives a killed main process)
    parent = mp.parent_process()
    orphaned = False
    init_error = None
    fetcher = None
    try:
        dataset, collate_fn, worker_init_fn = unpack(payload) if pickled else payload
        seed = base_seed + worker_id
        seed_worker(seed, worker_id, base_seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        # reported as the answer to every task, so the main process raises it
        init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

    while True:
        try:
            msg = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            orphaned = parent is not None and not parent.is_alive()
            if done_event.is_set() or orphaned:
                break
            continue
        if msg is None:
            break
        if done_event.is_set():
            continue  # drain until the None that must follow
        if msg[0] == "resume":
            if init_error is None:
                try:
                    fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                except Exception:
                    init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            continue
        _, epoch, idx, index = msg
        if init_error is not None:
            reply = ("err", init_error)
        else:
            try:
                reply = ("ok", pack(fetcher.fetch(index)))
            except StopIteration:
                if not iterable:
                    reply = ("err", ExceptionWrapper(
                        where=f"in DataLoader worker process {worker_id}"))
                else:
                    fetcher.ended = True
                    reply = ("end",)
            except Exception:
                reply = ("err", ExceptionWrapper(where=f"in DataLoader worker process {worker_id}"))
        # everything in a reply pickles: a batch is bytes already, an error type was checked
        result_queue.put((epoch, idx, worker_id, reply))
        del reply
    if done_event.is_set() or orphaned:
        # the main process may have stopped reading: don't block exit on a full pipe
        result_queue.cancel_join_thread()
        result_queue.close()
