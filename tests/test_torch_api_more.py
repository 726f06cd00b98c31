"""More of PyTorch's API (issue 19, follow-up), each checked against torch: torch.clone,
torch.linalg's composed norms and products, the RNG state functions, F.interpolate and the
upsampling modules, and nn.utils.rnn's padding and packing (with the recurrent layers)."""
import math
import warnings

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn
from oracle import assert_same_error


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, (torch.Tensor, fw.Tensor)) else np.asarray(t)


def _pair(a, device, grad=False):
    """The same float64 data as a torch and an fw tensor."""
    a = np.asarray(a, dtype=np.float64)
    return (torch.tensor(a, requires_grad=grad),
            fw.tensor(a, device=device, requires_grad=grad))




def _check_grad(fn, args, device, rtol=1e-7, atol=1e-9):
    """fn(lib, *tensors) in both libraries: same values, same gradients of a weighted sum."""
    ts, fs = zip(*(_pair(a, device, True) for a in args))
    rt, rf = fn(torch, *ts), fn(fw, *fs)
    np.testing.assert_allclose(_np(rf), _np(rt), rtol=rtol, atol=atol)
    w = np.random.default_rng(0).standard_normal(tuple(rt.shape))
    (rt * torch.tensor(w)).sum().backward()
    if rf.requires_grad:
        (rf * fw.tensor(w, device=device)).sum().backward()
    for t, f in zip(ts, fs):
        # a constant result (ord=0, power 0): no gradient in one library, zeros in the other
        gt = np.zeros(t.shape) if t.grad is None else _np(t.grad)
        gf = np.zeros(tuple(f.shape)) if f.grad is None else _np(f.grad)
        np.testing.assert_allclose(gf, gt, rtol=rtol, atol=atol)


# -- torch.clone --------------------------------------------------------------------------------
def test_clone_function(device):
    t, f = _pair([[1.0, 2.0], [3.0, 4.0]], device, True)
    c = fw.clone(f.t(), memory_format=None)
    assert c.is_contiguous() and c.tolist() == torch.clone(t.t()).tolist()
    (c * fw.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=fw.float64, device=device)).sum().backward()
    (torch.clone(t.t()) * torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)).sum().backward()
    assert f.grad.tolist() == t.grad.tolist()
    c.add_(1)
    assert f.tolist() == [[1.0, 2.0], [3.0, 4.0]]  # its own storage


def test_clone_function_errors():
    assert_same_error(lambda lib: lib.clone([1.0, 2.0]))
    assert_same_error(lambda lib: lib.clone(3.0))
    assert_same_error(lambda lib: lib.clone(lib.ones(2), memory_format="contiguous"))


@pytest.mark.parametrize("name", ["preserve_format", "contiguous_format", "channels_last"])
def test_clone_memory_formats(name):
    a = np.arange(24.0).reshape(1, 2, 3, 4)
    t = torch.clone(torch.tensor(a), memory_format=getattr(torch, name))
    f = fw.clone(fw.tensor(a), memory_format=getattr(fw, name))
    assert f.tolist() == t.tolist() and repr(getattr(fw, name)) == repr(getattr(torch, name))
    assert isinstance(getattr(fw, name), fw.memory_format)


# -- torch.linalg -------------------------------------------------------------------------------
_A = np.random.default_rng(1).standard_normal((2, 3, 4))


@pytest.mark.parametrize("ord", [2, 1, 3.5, 0, math.inf, -math.inf, -1])
@pytest.mark.parametrize("dim", [None, -1, (0, 2)])
def test_vector_norm(ord, dim):
    for keepdim in (False, True):
        _check_grad(lambda lib, a: lib.linalg.vector_norm(a, ord, dim, keepdim), [_A], "cpu")


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("dim", [(-2, -1), (2, 0)])
def test_matrix_norm(device, ord, dim):
    for keepdim in (False, True):
        _check_grad(lambda lib, a: lib.linalg.matrix_norm(a, ord, dim, keepdim), [_A], device)


@pytest.mark.parametrize("case", [
    lambda lib, a: lib.linalg.norm(a),
    lambda lib, a: lib.linalg.norm(a, dim=1),
    lambda lib, a: lib.linalg.norm(a, 1, dim=(0, 1)),
    lambda lib, a: lib.linalg.norm(a[0], math.inf),
    lambda lib, a: lib.linalg.norm(a[0, 0], 3),
    lambda lib, a: lib.linalg.norm(a, "fro", (1, 2), keepdim=True),
])
def test_norm(case):
    _check_grad(case, [_A], "cpu")


def test_linalg_norm_errors():
    a = np.ones((2, 3, 4))
    assert_same_error(lambda lib: lib.linalg.norm(lib.tensor(a), 2))  # ord without dim on 3-d
    assert_same_error(lambda lib: lib.linalg.norm(lib.tensor(a), dim=(0, 1, 2)))
    assert_same_error(lambda lib: lib.linalg.norm(lib.tensor(a), "fro", dim=1))
    assert_same_error(lambda lib: lib.linalg.matrix_norm(lib.tensor(a[0, 0])))
    assert_same_error(lambda lib: lib.linalg.matrix_norm(lib.tensor(a), dim=(1, 1)))
    assert_same_error(lambda lib: lib.linalg.matrix_norm(lib.tensor(a), "bad"))
    assert_same_error(lambda lib: lib.linalg.vector_norm(lib.tensor([1, 2])))  # integer input
    assert_same_error(lambda lib: lib.linalg.vector_norm([1.0, 2.0]))


def test_linalg_products(device):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
    _check_grad(lambda lib, x, y: lib.linalg.cross(x, y), [a, b], device)
    _check_grad(lambda lib, x, y: lib.linalg.cross(x.T, y.T.expand(3, 4), dim=0), [a, b], device)
    _check_grad(lambda lib, x, y: lib.linalg.vecdot(x, y), [a, b], device)
    _check_grad(lambda lib, x, y: lib.linalg.matmul(x, y.T), [a, b], device)
    _check_grad(lambda lib, x: lib.linalg.diagonal(x, offset=1), [a], device)
    m = rng.standard_normal((2, 3, 3)) / 2
    for n in (0, 1, 2, 5):
        _check_grad(lambda lib, x: lib.linalg.matrix_power(x, n), [m], device)


def test_linalg_product_errors():
    assert_same_error(lambda lib: lib.linalg.cross(lib.ones(4, 2), lib.ones(4, 2)))
    assert_same_error(lambda lib: lib.linalg.cross(lib.ones(4, 3), lib.ones(3)))
    assert_same_error(lambda lib: lib.linalg.matrix_power(lib.ones(2, 3), 2))


@pytest.mark.parametrize("name", ["inv", "det", "solve", "svd", "eigh", "cholesky", "pinv"])
def test_linalg_factorisations_say_they_are_missing(name):
    with pytest.raises(NotImplementedError, match=f"linalg.{name}"):
        getattr(fw.linalg, name)(fw.eye(3))
    with pytest.raises(NotImplementedError, match="nuc"):
        fw.linalg.matrix_norm(fw.eye(3), "nuc")
    with pytest.raises(NotImplementedError, match="negative"):
        fw.linalg.matrix_power(fw.eye(3), -1)


# -- random state --------------------------------------------------------------------------------
def test_rng_state_round_trip(device):
    fw.manual_seed(123)
    state = fw.get_rng_state()
    assert state.dtype is fw.int64 and state.ndim == 1
    assert 0 <= int(state.min()) and int(state.max()) <= 255  # bytes, as torch's uint8 state
    a = [fw.randn(5, device=device).tolist(), fw.rand(3).tolist(), fw.randperm(7).tolist()]
    fw.set_rng_state(state)
    b = [fw.randn(5, device=device).tolist(), fw.rand(3).tolist(), fw.randperm(7).tolist()]
    assert a == b
    assert fw.initial_seed() == 123
    # torch's contract, checked on torch itself: the same draws after restoring
    s = torch.get_rng_state()
    x = torch.randn(5)
    torch.set_rng_state(s)
    assert torch.equal(x, torch.randn(5))


def test_rng_state_of_a_generator_and_odd_halves():
    g = fw.Generator().manual_seed(7)
    fw.randint(0, 2 ** 31, (3,), generator=g, dtype=fw.int32)  # may leave a cached half
    st = g.get_state()
    a = fw.rand(4, generator=g).tolist()
    h = fw.Generator().set_state(st)
    assert fw.rand(4, generator=h).tolist() == a and h.initial_seed() == 7


def test_fork_rng():
    fw.manual_seed(5)
    with fw.random.fork_rng():
        inside = fw.randn(4).tolist()
    assert fw.randn(4).tolist() == inside  # the block's draws didn't advance the generator
    with fw.random.fork_rng(enabled=False):
        fw.randn(4)
    fw.manual_seed(5)
    fw.randn(4)
    after = fw.randn(4).tolist()
    fw.manual_seed(5)
    fw.randn(4)
    with fw.random.fork_rng():
        fw.randn(2)
    assert fw.randn(4).tolist() == after


def test_rng_state_errors():
    for bad in (fw.zeros(45), [1, 2], fw.zeros(5, dtype=fw.int64)):
        kind = RuntimeError if isinstance(bad, fw.Tensor) and bad.dtype is fw.int64 else TypeError
        with pytest.raises(kind):
            fw.set_rng_state(bad)
    with pytest.raises(RuntimeError, match="0..255"):
        fw.set_rng_state(fw.full((45,), 300, dtype=fw.int64))
    # torch's types for the same mistakes
    assert_same_error(lambda lib: lib.set_rng_state([1, 2]))
    assert_same_error(lambda lib: lib.set_rng_state(lib.zeros(5)))
    assert set(torch.random.__all__) - {"thread_safe_generator"} <= set(dir(fw.random))


# -- F.interpolate and the upsampling modules ---------------------------------------------------
_INTERP = [
    ((2, 3, 5), dict(size=7, mode="nearest")),
    ((2, 3, 12), dict(scale_factor=1 / 3, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=1.7, mode="nearest-exact")),
    ((2, 3, 5), dict(size=9, mode="linear")),
    ((2, 3, 5), dict(size=3, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=2.5, mode="linear", recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(scale_factor=(2, 1.5), mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(3, 8), mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bicubic")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bicubic", align_corners=True)),
    ((1, 2, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 6, 5), dict(size=(3, 4), mode="area")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(2, 5, 7), mode="nearest-exact")),
]


@pytest.mark.parametrize("shape,kw", _INTERP, ids=[f"{len(s)}d-{k['mode']}-{i}"
                                                   for i, (s, k) in enumerate(_INTERP)])
def test_interpolate(shape, kw):
    a = np.random.default_rng(3).standard_normal(shape)
    _check_grad(lambda lib, x: lib.nn.functional.interpolate(x, **kw), [a], "cpu", rtol=1e-12,
                atol=1e-12)


@pytest.mark.parametrize("kw", [dict(scale_factor=2, mode="nearest"),
                                dict(size=(5, 7), mode="bilinear", align_corners=False),
                                dict(size=(3, 6), mode="bicubic")])
def test_interpolate_on_device(device, kw):
    a = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
    _check_grad(lambda lib, x: lib.nn.functional.interpolate(x, **kw), [a], device)
    t = torch.tensor(a, dtype=torch.float32)
    f = fw.tensor(a, dtype=fw.float32, device=device)
    got = fw.nn.functional.interpolate(f, **kw)
    assert got.dtype is fw.float32 and got.device.type == device
    np.testing.assert_allclose(_np(got), _np(torch.nn.functional.interpolate(t, **kw)),
                               rtol=1e-5, atol=1e-6)


def test_interpolate_integer_input():
    # PyTorch resizes uint8 only (fw has no uint8): int64 fails in both
    assert_same_error(lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 3, 4, dtype=lib.int64),
                                                          scale_factor=2))


@pytest.mark.parametrize("call", [
    lambda F, x: F.interpolate(x),  # neither size nor scale
    lambda F, x: F.interpolate(x, size=3, scale_factor=2),
    lambda F, x: F.interpolate(x, size=(3, 3)),  # 1 spatial dim, 2 sizes
    lambda F, x: F.interpolate(x, scale_factor=(2, 2)),
    lambda F, x: F.interpolate(x, size=4, mode="nearest", align_corners=True),
    lambda F, x: F.interpolate(x, size=4, mode="bilinear"),  # 3-d input
    lambda F, x: F.interpolate(x, size=4, mode="bogus"),
    lambda F, x: F.interpolate(x[0, 0], size=4),  # 1-d input
    lambda F, x: F.interpolate(x, size=0),
    lambda F, x: F.interpolate(x, size=3, recompute_scale_factor=True),
    lambda F, x: F.interpolate(x, size=4, mode="linear", antialias=True),
])
def test_interpolate_errors(call):
    a = np.ones((1, 2, 5))
    assert_same_error(lambda lib: call(lib.nn.functional, lib.tensor(a)))


def test_interpolate_antialias_says_so():
    with pytest.raises(NotImplementedError, match="antialias"):
        fw.nn.functional.interpolate(fw.ones(1, 1, 4, 4), size=2, mode="bilinear", antialias=True)


@pytest.mark.parametrize("make", [
    lambda nn: nn.Upsample(scale_factor=2),
    lambda nn: nn.Upsample(size=(3, 7), mode="bilinear"),
    lambda nn: nn.Upsample(scale_factor=(1.5, 2), mode="bicubic", align_corners=True),
    lambda nn: nn.UpsamplingNearest2d(size=6),
    lambda nn: nn.UpsamplingBilinear2d(scale_factor=2),
])
def test_upsampling_modules(make):
    a = np.random.default_rng(5).standard_normal((2, 1, 3, 4))
    mt, mf = make(torch.nn), make(fw.nn)
    assert repr(mf) == repr(mt)
    _check_grad(lambda lib, x: (mt if lib is torch else mf)(x), [a], "cpu", rtol=1e-12,
                atol=1e-12)


def test_upsampling_paths_and_aliases():
    from framework.nn.modules.upsampling import Upsample
    assert Upsample is fw.nn.Upsample
    a = np.random.default_rng(6).standard_normal((1, 2, 3, 3))
    for name in ("upsample_nearest", "upsample_bilinear"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = getattr(torch.nn.functional, name)(torch.tensor(a), scale_factor=2)
        got = getattr(fw.nn.functional, name)(fw.tensor(a), scale_factor=2)
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-12)


# -- nn.utils.rnn --------------------------------------------------------------------------------
def _seqs(lengths, device, feat=(2,)):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((n,) + feat) for n in lengths]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [fw.tensor(a, device=device, requires_grad=True) for a in arrays])


def _same_packed(pf, pt):
    np.testing.assert_allclose(_np(pf.data), _np(pt.data), rtol=1e-12)
    assert pf.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert pf.batch_sizes.device.type == "cpu" and pf.batch_sizes.dtype is fw.int64
    for a, b in ((pf.sorted_indices, pt.sorted_indices), (pf.unsorted_indices, pt.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(device, batch_first, side):
    ts, fs = _seqs([3, 1, 4], device)
    rt = torch.nn.utils.rnn.pad_sequence(ts, batch_first, -1.5, side)
    rf = fw.nn.utils.rnn.pad_sequence(fs, batch_first, -1.5, side)
    np.testing.assert_allclose(_np(rf), _np(rt))
    w = np.random.default_rng(8).standard_normal(tuple(rt.shape))
    (rt * torch.tensor(w)).sum().backward()
    (rf * fw.tensor(w, device=device)).sum().backward()
    for t, f in zip(ts, fs):
        np.testing.assert_allclose(_np(f.grad), _np(t.grad))


@pytest.mark.parametrize("lengths,sorted_", [([4, 3, 1], True), ([2, 4, 1, 4], False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_unpack(device, lengths, sorted_, batch_first):
    ts, fs = _seqs(lengths, device, (2, 3))
    R, FR = torch.nn.utils.rnn, fw.nn.utils.rnn
    pt = R.pack_padded_sequence(R.pad_sequence(ts, batch_first), lengths, batch_first, sorted_)
    pf = FR.pack_padded_sequence(FR.pad_sequence(fs, batch_first), fw.tensor(lengths),
                                 batch_first, sorted_)
    assert isinstance(pf, FR.PackedSequence) and isinstance(pf, tuple)
    _same_packed(pf, pt)
    _same_packed(FR.pack_sequence(fs, sorted_), R.pack_sequence(ts, sorted_))
    (padt, lt), (padf, lf) = (R.pad_packed_sequence(pt, batch_first, 7.0, total_length=6),
                              FR.pad_packed_sequence(pf, batch_first, 7.0, total_length=6))
    np.testing.assert_allclose(_np(padf), _np(padt))
    assert lf.tolist() == lt.tolist() and lf.dtype is fw.int64
    w = np.random.default_rng(9).standard_normal(tuple(padt.shape))
    (padt * torch.tensor(w)).sum().backward()
    (padf * fw.tensor(w, device=device)).sum().backward()
    for t, f in zip(ts, fs):
        np.testing.assert_allclose(_np(f.grad), _np(t.grad), rtol=1e-12)
    back = FR.unpack_sequence(pf)
    assert [b.tolist() for b in back] == [f.tolist() for f in fs]
    assert [u.tolist() for u in FR.unpad_sequence(padf, lf, batch_first)] == [
        u.tolist() for u in R.unpad_sequence(padt, lt, batch_first)]


def test_pad_sequence_takes_the_first_dtype():
    got = [lib.nn.utils.rnn.pad_sequence([lib.ones(2, dtype=lib.int64), lib.ones(3)], True, 2.7)
           for lib in (torch, fw)]
    assert got[1].dtype is fw.int64 and got[1].tolist() == got[0].tolist()


def test_packed_sequence_to():
    p = fw.nn.utils.rnn.pack_sequence([fw.ones(3, 2), fw.ones(1, 2)])
    assert p.double().data.dtype is fw.float64 and p.to("cpu") is p
    assert p.batch_sizes.tolist() == [2, 1, 1] and not p.is_cuda


@pytest.mark.parametrize("call", [
    lambda R, lib: R.pad_sequence([]),
    lambda R, lib: R.pad_sequence([lib.ones(2)], padding_side="middle"),
    lambda R, lib: R.pad_sequence([lib.ones(2, 3), lib.ones(2, 4)]),
    lambda R, lib: R.pad_sequence([lib.tensor(1.0)]),
    lambda R, lib: R.pad_sequence([[1.0, 2.0]]),
    lambda R, lib: R.pack_padded_sequence(lib.ones(3, 2), [3, 3, 1]),
    lambda R, lib: R.pack_padded_sequence(lib.ones(3, 2), [2, 3]),
    lambda R, lib: R.pack_padded_sequence(lib.ones(3, 2), [3, 0]),
    lambda R, lib: R.pack_sequence([lib.ones(1, 2), lib.ones(3, 2)]),
    lambda R, lib: R.pad_packed_sequence(R.pack_padded_sequence(lib.ones(3, 2), [3, 2]),
                                         total_length=2),
])
def test_rnn_utils_errors(call):
    assert_same_error(lambda lib: call(lib.nn.utils.rnn, lib))


def test_pack_longer_than_input_is_refused():
    # PyTorch reads past the padding for a length over the time steps; fw raises
    with pytest.raises(RuntimeError, match="longer"):
        fw.nn.utils.rnn.pack_padded_sequence(fw.ones(3, 2), [4, 2])


_RNNS = [("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", dict(batch_first=True)),
         ("RNN", dict(nonlinearity="relu")), ("LSTM", dict(proj_size=2, batch_first=True)),
         ("GRU", dict(bidirectional=True))]


@pytest.mark.parametrize("cls,kw", _RNNS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(_RNNS)])
def test_rnn_packed_input(device, cls, kw):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(3, 4, **kw).double()
    fm = getattr(fw.nn, cls)(3, 4, **kw).double().to(device)
    fm.load_state_dict({k: fw.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    lengths, bf = [2, 5, 3], kw.get("batch_first", False)
    a = np.random.default_rng(10).standard_normal((3, 5, 3) if bf else (5, 3, 3))
    ta, fa = _pair(a, device, True)
    lstm = cls == "LSTM"
    hs = tm.num_layers * (2 if tm.bidirectional else 1)
    h0 = np.random.default_rng(11).standard_normal((hs, 3, tm.proj_size or 4))
    c0 = np.random.default_rng(12).standard_normal((hs, 3, 4))
    (th0, fh0), (tc0, fc0) = _pair(h0, device, True), _pair(c0, device, True)
    R, FR = torch.nn.utils.rnn, fw.nn.utils.rnn
    to, tst = tm(R.pack_padded_sequence(ta, lengths, bf, False), (th0, tc0) if lstm else th0)
    fo, fst = fm(FR.pack_padded_sequence(fa, lengths, bf, False), (fh0, fc0) if lstm else fh0)
    assert isinstance(fo, FR.PackedSequence)
    _same_packed(fo, to)
    tpad, fpad = R.pad_packed_sequence(to, bf)[0], FR.pad_packed_sequence(fo, bf)[0]
    tst, fst = (tst if lstm else (tst,)), (fst if lstm else (fst,))
    for x, y in zip(fst, tst):  # each sequence's final state at its own length
        np.testing.assert_allclose(_np(x), _np(y), rtol=1e-10, atol=1e-12)
    wt = [torch.tensor(np.random.default_rng(13 + i).standard_normal(tuple(t.shape)))
          for i, t in enumerate((tpad,) + tuple(tst))]
    sum((t * w).sum() for t, w in zip((tpad,) + tuple(tst), wt)).backward()
    sum((f * fw.tensor(w.numpy(), device=device)).sum()
        for f, w in zip((fpad,) + tuple(fst), wt)).backward()
    leaves = [(ta, fa), (th0, fh0)] + ([(tc0, fc0)] if lstm else [])
    leaves += list(zip(tm.parameters(), fm.parameters()))
    for t, f in leaves:
        np.testing.assert_allclose(_np(f.grad), _np(t.grad), rtol=1e-9, atol=1e-11)


def test_rnn_packed_sorted_and_checks():
    m = fw.nn.GRU(2, 3)
    p = fw.nn.utils.rnn.pack_sequence([fw.ones(3, 2), fw.ones(2, 2)])
    out, h = m(p)
    assert out.sorted_indices is None and out.data.shape == (5, 3) and h.shape == (1, 2, 3)
    with pytest.raises(RuntimeError, match="hidden"):
        m(p, fw.zeros(1, 3, 3))  # the batch holds 2 sequences
    with pytest.raises(RuntimeError, match="input_size"):
        m(fw.nn.utils.rnn.pack_sequence([fw.ones(3, 5)]))
