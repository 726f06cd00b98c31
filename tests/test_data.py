"""framework.utils.data against torch.utils.data: data sets, samplers, collation, DataLoader
(in the main process and with worker processes)."""
import collections
import gc
import os
import signal
import threading

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import framework as fw
import framework.utils.data as fud
import data_helpers as H


def plain(x):
    """A comparable form of a batch: tensors of either library -> (dtype name, array)."""
    if isinstance(x, (fw.Tensor, torch.Tensor)):
        return (str(x.dtype).split(".")[-1], x.detach().cpu().numpy().tolist())
    if isinstance(x, np.ndarray):
        return ("ndarray", x.dtype.str, x.tolist())
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, tuple(plain(v) for v in x))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [plain(v) for v in x])
    return x


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the kind and message are what we compare
        return type(e), str(e)
    return None


def same_error(fn_torch, fn_fw):
    et, ef = error_of(fn_torch), error_of(fn_fw)
    assert et is not None, "torch accepts this; the test is wrong"
    assert ef == et


def workers_gone(workers):
    return all(not w.is_alive() and w.exitcode is not None for w in workers)


# -- data sets ---------------------------------------------------------------------------------
def test_tensor_dataset(device):
    a = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = fud.TensorDataset(fw.tensor(a, device=device), fw.arange(6, device=device))
    tds = tud.TensorDataset(torch.tensor(a), torch.arange(6))
    assert len(ds) == len(tds) == 6
    for i in (0, 3, -1):
        assert plain(ds[i]) == plain(tds[i])
        assert ds[i][0].device.type == fw.device(device).type
    same_error(lambda: tud.TensorDataset(torch.zeros(3), torch.zeros(4)),
               lambda: fud.TensorDataset(fw.zeros(3), fw.zeros(4)))


def test_concat_dataset():
    parts = [list(range(3)), list(range(10, 15)), list(range(20, 22))]
    ds, tds = fud.ConcatDataset(parts), tud.ConcatDataset(parts)
    assert len(ds) == len(tds) == 10 and ds.cumulative_sizes == tds.cumulative_sizes
    for i in range(-10, 10):
        assert ds[i] == tds[i]
    for bad in (-11, 10):
        same_error(lambda: tds[bad], lambda: ds[bad])
    same_error(lambda: tud.ConcatDataset([]), lambda: fud.ConcatDataset([]))
    class Stream(tud.IterableDataset, fud.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    same_error(lambda: tud.ConcatDataset([Stream()]), lambda: fud.ConcatDataset([Stream()]))
    both = H.Squares(2) + H.Squares(3)
    assert isinstance(both, fud.ConcatDataset) and len(both) == 5 and both[2][1] == 0


def test_chain_and_stack_dataset():
    chained = H.Range(0, 3) + H.Range(10, 12)
    assert isinstance(chained, fud.ChainDataset)
    assert list(chained) == [0, 1, 2, 10, 11] and len(chained) == 5
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(fud.ChainDataset([[1, 2]]))
    s = fud.StackDataset([1, 2, 3], ["a", "b", "c"])
    assert len(s) == 3 and s[1] == (2, "b")
    assert fud.StackDataset(x=[1, 2], y=[3, 4])[0] == {"x": 1, "y": 3}
    same_error(lambda: tud.StackDataset([1], y=[2]), lambda: fud.StackDataset([1], y=[2]))
    same_error(lambda: tud.StackDataset([1], [2, 3]), lambda: fud.StackDataset([1], [2, 3]))
    same_error(lambda: tud.StackDataset(), lambda: fud.StackDataset())


def test_subset():
    data = [10 * i for i in range(8)]
    sub, tsub = fud.Subset(data, [5, 1, 7]), tud.Subset(data, [5, 1, 7])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [tsub[i] for i in range(3)]
    assert sub.__getitems__([2, 0]) == tsub.__getitems__([2, 0]) == [70, 50]


def test_base_dataset_getitem_not_implemented():
    same_error(lambda: tud.Dataset()[0], lambda: fud.Dataset()[0])


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33],
                                     [1, 1, 8], [0.1, 0.1, 0.1, 0.7]])
def test_random_split_sizes_and_cover(lengths):
    data = list(range(10))
    parts = fud.random_split(data, lengths, generator=fw.Generator().manual_seed(1))
    tparts = tud.random_split(data, lengths, generator=torch.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [len(p) for p in tparts]
    got = sorted(x for p in parts for x in (p[i] for i in range(len(p))))
    assert got == data and all(isinstance(p, fud.Subset) for p in parts)


def test_random_split_reproducible():
    def split(seed):
        return [p.indices for p in fud.random_split(range(20), [5, 15],
                                                     generator=fw.Generator().manual_seed(seed))]
    assert split(3) == split(3) and split(3) != split(4)
    fw.manual_seed(7)
    a = [p.indices for p in fud.random_split(range(20), [0.5, 0.5])]
    fw.manual_seed(7)
    assert a == [p.indices for p in fud.random_split(range(20), [0.5, 0.5])]


def test_random_split_errors():
    for lengths in ([3, 3], [1.5, -0.5], [0.5, 0.6]):
        same_error(lambda: tud.random_split(range(10), lengths),
                   lambda: fud.random_split(range(10), lengths))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        fud.random_split(range(2), [1.0, 0.0])


# -- samplers ----------------------------------------------------------------------------------
def test_sequential_and_batch_sampler():
    data = list(range(10))
    assert list(fud.SequentialSampler(data)) == list(tud.SequentialSampler(data))
    for bs in (1, 3, 5, 11):
        for drop in (False, True):
            b = fud.BatchSampler(fud.SequentialSampler(data), bs, drop)
            tb = tud.BatchSampler(tud.SequentialSampler(data), bs, drop)
            assert list(b) == list(tb) and len(b) == len(tb)
    for args in ((0, False), (2.0, False), (True, False), (2, 1)):
        same_error(lambda: tud.BatchSampler(data, *args), lambda: fud.BatchSampler(data, *args))


def test_random_sampler():
    data = list(range(13))
    s = fud.RandomSampler(data, generator=fw.Generator().manual_seed(0))
    perm = list(s)
    assert sorted(perm) == data and len(s) == 13
    assert list(fud.RandomSampler(data, generator=fw.Generator().manual_seed(0))) == perm
    # without replacement, num_samples > n: whole permutations, then part of one
    s = fud.RandomSampler(data, num_samples=30)
    out = list(s)
    assert len(out) == len(s) == 30 and sorted(out[:13]) == data and sorted(out[13:26]) == data
    s = fud.RandomSampler(data, replacement=True, num_samples=70)
    out = list(s)
    assert len(out) == 70 and set(out) <= set(data)
    # no generator: seeded from the global one
    fw.manual_seed(5)
    a = list(fud.RandomSampler(data))
    fw.manual_seed(5)
    assert list(fud.RandomSampler(data)) == a
    for kw in ({"replacement": 1}, {"num_samples": 0}, {"num_samples": 2.5}):
        same_error(lambda: tud.RandomSampler(data, **kw), lambda: fud.RandomSampler(data, **kw))


def test_subset_and_weighted_random_sampler():
    idx = [4, 8, 15, 16, 23, 42]
    s = fud.SubsetRandomSampler(idx, generator=fw.Generator().manual_seed(2))
    assert sorted(s) == idx and len(s) == 6
    w = fud.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 50, generator=fw.Generator().manual_seed(0))
    out = list(w)
    assert len(out) == len(w) == 50 and set(out) <= {1, 3}
    out = list(fud.WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(out) == [0, 1, 2]
    for args in (([1.0], 0), ([1.0], 1, 1), ([[1.0, 2.0]], 1)):
        same_error(lambda: tud.WeightedRandomSampler(*args),
                   lambda: fud.WeightedRandomSampler(*args))


# -- collation ---------------------------------------------------------------------------------
Point = collections.namedtuple("Point", "x y")


def _samples(lib):
    arr = lambda a: lib.tensor(a) if lib is not np else a  # noqa: E731
    return {
        "tensors": [arr(np.ones((2, 3), np.float32) * i) for i in range(3)],
        "int tensors": [lib.tensor([i, i + 1]) for i in range(3)] if lib is not np else None,
        "floats": [1.5, 2.0, -3.25],
        "ints": [1, 2, 3],
        "bools": [True, False, True],
        "strings": ["a", "bc", "d"],
        "numpy float32": [np.full(3, i, np.float32) for i in range(2)],
        "numpy float64": [np.full((2, 2), i, np.float64) for i in range(2)],
        "numpy int64": [np.arange(4) + i for i in range(2)],
        "numpy int32": [np.arange(3, dtype=np.int32) for _ in range(2)],
        "numpy bool": [np.array([True, False]) for _ in range(2)],
        "numpy scalars f32": [np.float32(1.5), np.float32(2)],
        "numpy scalars i64": [np.int64(1), np.int64(2)],
        "numpy 0-d": [np.array(2.0), np.array(3.0)],
        "tuples": [(i, float(i), "s") for i in range(3)],
        "lists": [[i, i * 2] for i in range(3)],
        "dicts": [{"a": i, "b": np.float32(i), "c": [i, "x"]} for i in range(3)],
        "namedtuples": [Point(i, float(i)) for i in range(3)],
        "nested": [{"p": Point(np.zeros(2, np.float32), i), "t": (i, [1.0, 2.0])} for i in range(2)],
    }


def test_default_collate_matches_torch():
    ours, theirs = _samples(fw), _samples(torch)
    for name in ours:
        if ours[name] is None:
            continue
        got, want = fud.default_collate(ours[name]), tud.default_collate(theirs[name])
        assert plain(got) == plain(want), name


def test_default_collate_keeps_namedtuple_and_mapping_types():
    out = fud.default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.dtype == fw.int64 and out.y.dtype == fw.float64
    od = fud.default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert isinstance(od, collections.OrderedDict)


def test_default_collate_errors():
    cases = [
        (lambda L: [L.zeros(2), L.zeros(3)]),
        (lambda L: [[1, 2], [1]]),
        (lambda L: [object(), object()]),
        (lambda L: [np.array(["a"]), np.array(["b"])]),
        (lambda L: [None, None]),
    ]
    for make in cases:
        same_error(lambda: tud.default_collate(make(torch)), lambda: fud.default_collate(make(fw)))


def test_default_convert_matches_torch():
    samples = [np.zeros((2,), np.float32), (np.ones(2), 3, "x", [np.int64(4)]), {"a": np.arange(3)},
               Point(np.zeros(1), 2), np.array(["a", "b"]), 1.5, "text", np.float32(2.5)]
    for s in samples:
        assert plain(fud.default_convert(s)) == plain(tud.default_convert(s))
    t = fw.ones(2)
    assert fud.default_convert(t) is t


# -- DataLoader in the main process ------------------------------------------------------------
class ArrayPairs:
    """(float32 array, int) samples: usable by both libraries' loaders."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.array([i, i * 0.5], np.float32), i

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (4, True),
                                                  (10, False), (12, True), (None, False)])
def test_loader_sequential_matches_torch(batch_size, drop_last):
    ds = ArrayPairs(10)
    dl = fud.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    tdl = tud.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    assert len(dl) == len(tdl)
    got, want = [plain(b) for b in dl], [plain(b) for b in tdl]
    assert got == want and len(got) == len(dl)


def test_loader_sampler_batch_sampler_collate_fn():
    ds = ArrayPairs(7)
    order = [6, 0, 5, 1, 4, 2, 3]
    for kw in ({"sampler": order, "batch_size": 3}, {"batch_sampler": [[1, 2], [6], [0, 3, 4]]},
               {"batch_size": 2, "collate_fn": lambda b: [x[1] for x in b]}):
        dl, tdl = fud.DataLoader(ds, **kw), tud.DataLoader(ds, **kw)
        assert [plain(b) for b in dl] == [plain(b) for b in tdl] and len(dl) == len(tdl)


def test_loader_tensor_dataset_on_device(device):
    x = fw.arange(20., device=device).reshape(10, 2)
    y = fw.arange(10, device=device)
    batches = list(fud.DataLoader(fud.TensorDataset(x, y), batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list) and batches[0][0].shape == (4, 2)
    assert batches[0][0].device.type == fw.device(device).type


def test_loader_shuffle_reproducible():
    ds = list(range(20))
    def epoch(**kw):
        return [b.tolist() for b in fud.DataLoader(ds, batch_size=6, shuffle=True, **kw)]
    fw.manual_seed(0)
    a = epoch()
    assert sorted(sum(a, [])) == ds and a != [b.tolist() for b in fud.DataLoader(ds, batch_size=6)]
    fw.manual_seed(0)
    assert epoch() == a
    g1, g2 = fw.Generator().manual_seed(3), fw.Generator().manual_seed(3)
    assert epoch(generator=g1) == epoch(generator=g2)
    assert epoch(generator=g1) != epoch(generator=g1) or len(ds) < 2  # a new order each epoch


def test_loader_iterable_dataset_matches_torch():
    class Stream(tud.IterableDataset, fud.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    for bs, drop in ((3, False), (3, True), (None, False)):
        dl = fud.DataLoader(Stream(), batch_size=bs, drop_last=drop)
        tdl = tud.DataLoader(Stream(), batch_size=bs, drop_last=drop)
        assert [plain(b) for b in dl] == [plain(b) for b in tdl]
        assert len(dl) == len(tdl)


def test_loader_option_errors_match_torch():
    ds, seq = ArrayPairs(4), [0, 1, 2, 3]
    bad = [
        {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
        {"num_workers": 1, "prefetch_factor": -1}, {"persistent_workers": True},
        {"sampler": seq, "shuffle": True}, {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "shuffle": True}, {"batch_sampler": [[0]], "sampler": seq},
        {"batch_sampler": [[0]], "drop_last": True}, {"batch_size": None, "drop_last": True},
        {"multiprocessing_context": "spawn"},
        {"num_workers": 1, "multiprocessing_context": "nonsense"},
    ]
    for kw in bad:
        same_error(lambda: tud.DataLoader(ds, **kw), lambda: fud.DataLoader(ds, **kw))

    class Stream(tud.IterableDataset, fud.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    for kw in ({"shuffle": True}, {"sampler": seq}, {"batch_sampler": [[0]]}):
        e = error_of(lambda: fud.DataLoader(Stream(), **kw))
        assert e[0] is ValueError and e[1].split(", but got")[0] == \
            error_of(lambda: tud.DataLoader(Stream(), **kw))[1].split(", but got")[0]
    same_error(lambda: len(tud.DataLoader(Stream())), lambda: len(fud.DataLoader(Stream())))
    dl, tdl = fud.DataLoader(ds), tud.DataLoader(ds)

    def set_bs(loader):
        loader.batch_size = 3
    same_error(lambda: set_bs(tdl), lambda: set_bs(dl))
    dl.num_workers = 0  # other attributes stay settable


def test_get_worker_info_in_main_process():
    assert fud.get_worker_info() is None
    info = fud.WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)
    with pytest.raises(RuntimeError, match="Cannot assign attributes"):
        info.id = 1


# -- DataLoader with worker processes (kept few: each starts processes) -------------------------
def test_workers_map_dataset_in_order_and_persistent():
    ds = H.Squares(11)
    want = [plain(b) for b in fud.DataLoader(ds, batch_size=3)]
    dl = fud.DataLoader(ds, batch_size=3, num_workers=2)
    got = list(dl)
    assert [plain(b) for b in got] == want and len(dl) == 4
    batch = got[0][0]
    batch.add_(1)  # batches arrive as ordinary, writable CPU tensors
    assert batch.device == fw.device("cpu")

    pdl = fud.DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True, in_order=False)
    it = iter(pdl)
    first = sorted(plain(b) for b in it)
    assert first == sorted(want)
    it2 = iter(pdl)
    assert it2 is it and it._workers and not any(workers_gone([w]) for w in it._workers)
    assert sorted(plain(b) for b in it2) == sorted(want)
    next(iter(pdl))  # an epoch abandoned early: its late batches must not leak into the next
    assert sorted(plain(b) for b in iter(pdl)) == sorted(want)
    workers = list(it._workers)
    del pdl, it, it2  # no reference cycle: workers go as soon as the loader does
    assert workers_gone(workers)


class TorchRange(tud.IterableDataset):
    """H.Range for torch's DataLoader (sharded with torch's get_worker_info)."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return H._shard(self.start, self.end, tud.get_worker_info())


def test_workers_iterable_sharding_matches_torch():
    got = [b.tolist() for b in fud.DataLoader(H.Range(0, 10), batch_size=3, num_workers=2)]
    # torch's loader (its own default start method) on the same data set
    want = [b.tolist() for b in tud.DataLoader(TorchRange(0, 10), batch_size=3, num_workers=2)]
    assert got == want
    assert sorted(sum(got, [])) == list(range(10))


def test_worker_error_reraised_and_workers_exit():
    it = iter(fud.DataLoader(H.FailsAt(12, 5), batch_size=2, num_workers=2))
    workers = list(it._workers)
    assert len(workers) == 2
    got = [next(it).tolist(), next(it).tolist()]
    with pytest.raises(ValueError) as err:
        next(it)
    msg = str(err.value)
    assert got == [[0.0, 1.0], [2.0, 3.0]]
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "Traceback" in msg and "bad sample 5" in msg and "data_helpers.py" in msg
    assert workers_gone(workers)
    with pytest.raises(StopIteration):
        next(it)

    it = iter(fud.DataLoader(H.Dies(), num_workers=1))
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        next(it)
    assert workers_gone(it._workers)


def test_worker_timeout_interrupt_and_garbage_collection():
    it = iter(fud.DataLoader(H.Slow(4, 2.0), batch_size=None, num_workers=1, timeout=0.1))
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.1 seconds"):
        next(it)
    assert workers_gone(it._workers)

    it = iter(fud.DataLoader(H.Slow(4, 2.0), batch_size=None, num_workers=1))
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        next(it)
    timer.join()
    assert workers_gone(it._workers)

    it = iter(fud.DataLoader(H.Squares(40), batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    del it
    gc.collect()
    assert workers_gone(workers)


def test_worker_seeding_and_init_fn():
    def draws(**kw):
        return list(fud.DataLoader(H.RandomDraws(), batch_size=None, num_workers=2,
                                   worker_init_fn=H.record_worker_id, **kw))
    fw.manual_seed(11)
    a = draws()
    assert [d["worker"] for d in a] == [0, 1, 0, 1]
    assert [d["init"] for d in a] == [0, 1, 0, 1]  # worker_init_fn got the worker id
    assert a[0]["seed"] + 1 == a[1]["seed"]
    for key in ("fw", "np", "py"):  # each worker's generators differ
        assert a[0][key] != a[1][key]
    fw.manual_seed(11)
    b = draws()
    strip = lambda rows: [{k: v for k, v in r.items() if k != "pid"} for r in rows]  # noqa: E731
    assert strip(a) == strip(b)
    # a loader's own generator fixes the base seed without the global one
    c = draws(generator=fw.Generator().manual_seed(3))
    assert strip(draws(generator=fw.Generator().manual_seed(3))) == strip(c)


# -- start method: Python's default, as PyTorch (fork on Linux) --------------------------------
UNGUARDED = """
import framework as fw
from framework.utils.data import DataLoader, TensorDataset
print("top-level ran")
dev = {dev!r}
x = fw.arange(20.0).reshape(10, 2)
m = fw.ones(2, device=dev) * 2   # the parent holds a device context before workers start
dl = DataLoader(TensorDataset(x), batch_size=4, num_workers=2,
                collate_fn=lambda b: fw.stack([p[0] for p in b]))
print("total", sum(float((b.to(dev) * m).sum()) for b in dl))
try:
    list(DataLoader(TensorDataset(x.to(dev)), batch_size=4, num_workers=1))
    print("device data set: read")
except RuntimeError as e:
    print("device data set:", type(e).__name__, "multiprocessing_context" in str(e))
"""


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="the platform has no fork")
def test_default_workers_fork_unguarded_script_with_lambda(tmp_path, device):
    """No `__main__` guard and a lambda collate_fn work (the script's top level runs once);
    a worker can't reach the parent's device driver, and says how to avoid it."""
    import subprocess
    import sys
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(dev=device))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120).stdout.splitlines()
    assert out.count("top-level ran") == 1
    assert "total 380.0" in out
    from framework.buffer_backend import BufferBackend
    driver = isinstance(fw.plugins.get_backend(device), BufferBackend)
    expected = "device data set: " + ("RuntimeError True" if driver else "read")
    assert expected in out
