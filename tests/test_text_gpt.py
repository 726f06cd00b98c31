"""fw_text's GPT (against the torch.nn twin in benchmarks/gpt.py, values and gradients), its
key/value cache and generate(), TokenBlocks and the Python-docs corpus, and BPE training
checked merge by merge (by hand and against a naive trainer)."""
import functools
import importlib.util
import os
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework as fw
from fw_text.datasets import TokenBlocks, python_docs_text
from fw_text.models import GPT, KVCache
from fw_text.tokenizers import _CHUNK, BPETokenizer

SIZES = dict(block_size=8, n_layer=2, n_head=2, n_embd=16)
V = 40


def _torch_twin():
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "gpt.py")
    spec = importlib.util.spec_from_file_location("gpt_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.TorchGPT


def _model(device="cpu", seed=0, **kw):
    fw.manual_seed(seed)
    return GPT(V, **{**SIZES, "dropout": 0.0, **kw}).to(device)


def _ids(shape, seed=0):
    return np.random.default_rng(seed).integers(0, V, shape)


# -- the model against torch ------------------------------------------------------------------
def test_gpt_matches_torch_values_and_gradients(device):
    model = _model(device)
    twin = _torch_twin()(V, **SIZES, dropout=0.0)
    twin.load_state_dict({k: torch.tensor(v.detach().cpu().numpy())
                          for k, v in model.state_dict().items()})
    ids = _ids((3, 8))
    x, y = ids, np.roll(ids, -1, axis=1)
    logits, loss = model(fw.tensor(x, device=device), fw.tensor(y, device=device))
    t_logits, t_loss = twin(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(logits.detach().cpu().numpy(), t_logits.detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5)
    loss.backward()
    t_loss.backward()
    t_params = dict(twin.named_parameters())
    names = [n for n, _ in model.named_parameters()]
    assert names == list(t_params)          # the tied head is one parameter in both
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), t_params[name].grad.numpy(),
                                   rtol=1e-3, atol=1e-6, err_msg=name)


def test_gpt_structure_and_init():
    model = _model()
    assert model.lm_head.weight is model.wte.weight
    assert model.num_parameters(non_embedding=False) == sum(
        p.numel() for p in model.parameters())
    assert model.num_parameters() == model.num_parameters(False) - 8 * 16
    # nanoGPT's initialisation: residual projections scaled by 1/sqrt(2 n_layer), zero biases
    proj = model.h[0].mlp.c_proj.weight.detach().numpy()
    assert abs(proj.std() - 0.02 / 2) < 0.004
    assert abs(model.h[0].attn.c_attn.weight.detach().numpy().std() - 0.02) < 0.004
    assert not model.h[1].attn.c_attn.bias.detach().numpy().any()
    with pytest.raises(ValueError, match="divisible"):
        GPT(V, n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="block_size"):
        GPT(V, block_size=0)
    with pytest.raises(ValueError, match="dropout"):
        GPT(V, dropout=1.0)
    with pytest.raises(ValueError, match="exceed the block size 8"):
        model(fw.tensor(_ids((1, 9))))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        model(fw.tensor(_ids(5)))


def test_gpt_training_is_deterministic_and_learns():
    pattern = np.tile(np.arange(10), 4)           # 0..9 repeated: the next id is predictable
    x = fw.tensor(np.stack([pattern[i:i + 8] for i in range(6)]))
    y = fw.tensor(np.stack([pattern[i + 1:i + 9] for i in range(6)]))

    def train(steps):
        model = _model(dropout=0.1)
        opt = fw.optim.AdamW(model.parameters(), lr=3e-2)
        losses = []
        for _ in range(steps):
            _, loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses
    first = train(25)
    assert first[:3] == train(3)                    # seeded init, dropout and data
    assert first[0] > 3.0 and first[-1] < 0.5       # ln 40 = 3.7 at the start


# -- key/value cache and generation -----------------------------------------------------------
def test_kv_cache_gives_the_full_forward_logits(device):
    model = _model(device).eval()
    ids = fw.tensor(_ids((2, 8), seed=1), device=device)
    with fw.no_grad():
        full, _ = model(ids)
        cache = KVCache(model.n_layer)
        parts = [model(ids[:, a:b], kv_cache=cache)[0] for a, b in ((0, 3), (3, 4), (4, 7), (7, 8))]
        assert len(cache) == 8
        with pytest.raises(ValueError, match=r"9 positions \(8 cached \+ 1 new\)"):
            model(ids[:, :1], kv_cache=cache)
    np.testing.assert_allclose(fw.cat(parts, dim=1).cpu().numpy(), full.cpu().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_generate_cached_equals_uncached_and_crops():
    model = _model()
    prompt = fw.tensor(_ids((2, 3), seed=2))
    greedy = model.generate(prompt, 5, temperature=0)
    assert greedy.shape == (2, 8) and greedy.dtype == fw.int64
    assert np.array_equal(greedy[:, :3].numpy(), prompt.numpy())
    assert np.array_equal(greedy.numpy(), model.generate(prompt, 5, temperature=0,
                                                         use_cache=False).numpy())
    # each greedy token is the argmax of the full forward over what came before
    logits, _ = model(greedy[:, :-1])
    assert np.array_equal(logits.detach().numpy()[:, 2:].argmax(-1), greedy[:, 3:].numpy())
    # a prompt longer than the block is cropped to its last block_size tokens
    long = fw.tensor(_ids((1, 12), seed=3))
    out = model.generate(long, 2, temperature=0)
    assert out.shape == (1, 14)
    cropped = model.generate(long[:, -8:], 2, temperature=0)
    assert np.array_equal(out[:, -2:].numpy(), cropped[:, -2:].numpy())
    # past the block the cache is rebuilt: still valid tokens, right length, mode restored
    model.train()
    out = model.generate(prompt, 20, top_k=5, generator=fw.Generator().manual_seed(0))
    assert out.shape == (2, 23) and 0 <= out.numpy().min() and out.numpy().max() < V
    assert model.training


def test_generate_top_k_and_temperature():
    model = _model()
    with fw.no_grad():
        model.wte.weight.mul_(25.0)     # logits of std ~2, so temperature matters
        prompt = fw.tensor(np.repeat(_ids((1, 4), seed=4), 200, axis=0))
        logits = model.eval()(prompt)[0][0, -1].numpy()
    order = np.argsort(-logits)

    def next_tokens(**kw):
        out = model.generate(prompt, 1, generator=fw.Generator().manual_seed(1), **kw)
        return out[:, -1].numpy()
    assert set(next_tokens(top_k=3, temperature=5.0)) == set(order[:3])
    assert set(next_tokens(top_k=1)) == {order[0]}
    assert set(next_tokens(temperature=0)) == {order[0]}
    assert set(next_tokens(temperature=1e-3)) == {order[0]}        # near-greedy
    assert len(set(next_tokens(temperature=5.0))) > len(set(next_tokens(temperature=0.5)))
    assert set(next_tokens(top_k=1000)) == set(next_tokens())      # k past the vocabulary


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_new_tokens=-1), "max_new_tokens"), (dict(temperature=-0.5), "temperature"),
    (dict(top_k=0), "top_k"), (dict(top_k=2.5), "top_k"),
    (dict(idx=np.zeros(3, np.int64)), r"\(batch, time\)"),
    (dict(idx=np.zeros((1, 0), np.int64)), "time >= 1")])
def test_generate_errors(kwargs, match):
    model = _model()
    args = dict(idx=_ids((1, 2)), max_new_tokens=2, **{})
    args.update(kwargs)
    args["idx"] = fw.tensor(args["idx"])
    with pytest.raises(ValueError, match=match):
        model.generate(**args)


# -- data -------------------------------------------------------------------------------------
def test_token_blocks():
    ids = list(range(11))
    blocks = TokenBlocks(ids, 4)                       # disjoint: starts 0 and 4
    assert len(blocks) == 2
    x, y = blocks[1]
    assert x.tolist() == [4, 5, 6, 7] and y.tolist() == [5, 6, 7, 8] and x.dtype == fw.int64
    assert blocks[-1][0].tolist() == x.tolist()
    every = TokenBlocks(ids, 4, stride=1)              # starts 0..6
    assert len(every) == 7 and every[6][1].tolist() == [7, 8, 9, 10]
    with pytest.raises(IndexError):
        every[7]
    with pytest.raises(ValueError, match="no block of 11"):
        TokenBlocks(ids, 11)
    with pytest.raises(ValueError, match="stride"):
        TokenBlocks(ids, 4, stride=0)


def test_python_docs_text():
    from pydoc_data.topics import topics
    text = python_docs_text()
    assert len(text) > 100_000 and text.startswith(topics[sorted(topics)[0]])
    assert topics["if"] in text


# -- BPE training -----------------------------------------------------------------------------
def test_bpe_merges_by_hand():
    # One word, "aaabdaaabac": pairs aa 4 (overlaps count), ab 2, ... -> "aa" = Z first;
    # then Z a b d Z a b a c: Za 2 and ab 2 tie, the smaller ids (a, b) win -> Y; then
    # ZY 2 -> X; then X d X a c has four pairs of count 1, the smallest is (a, c).
    k = 4
    a, b, c = (k + ord(ch) for ch in "abc")
    tok = BPETokenizer(vocab_size=k + 256 + 4).train(["aaabdaaabac"])
    Z, Y, X = k + 256, k + 257, k + 258
    assert tok.merges == [(a, a), (a, b), (Z, Y), (a, c)]
    assert tok.encode("aaabdaaabac") == [X, k + ord("d"), X, k + 259]
    assert tok.tokenize("aaab") == ["aaab"]


def _naive_merges(corpus, n_merges, k=4):
    """BPE the slow way: recount every pair of every word before each merge."""
    words = Counter(w for text in corpus for w in _CHUNK.findall(text))
    seqs = {w: [k + x for x in w.encode()] for w in words}
    merges = []
    for new in range(k + 256, k + 256 + n_merges):
        pairs = Counter()
        for w, s in seqs.items():
            for q in zip(s, s[1:]):
                pairs[q] += words[w]
        if not pairs:
            break
        best = min(pairs, key=lambda q: (-pairs[q], q))
        merges.append(best)
        for w, s in seqs.items():
            out, i = [], 0
            while i < len(s):
                if s[i:i + 2] == list(best):
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return merges


def test_bpe_incremental_training_equals_naive():
    from pydoc_data.topics import topics
    corpus = [topics[t] for t in ("if", "while", "for", "try")] + ["naïve café 日本語 " * 3]
    tok = BPETokenizer(vocab_size=4 + 256 + 80).train(corpus)
    assert tok.merges == _naive_merges(corpus, 80)
    assert BPETokenizer(vocab_size=4 + 256 + 80).train(corpus).merges == tok.merges


def test_bpe_stops_when_nothing_is_left_to_merge(tmp_path):
    tok = BPETokenizer(vocab_size=1000).train(["abab"])
    assert tok.merges == [(4 + 97, 4 + 98), (4 + 256, 4 + 256)] and len(tok) == 262
    tok.save(tmp_path / "t.json")
    assert BPETokenizer.load(tmp_path / "t.json").encode("abab ab") == tok.encode("abab ab")
    plain = BPETokenizer(vocab_size=300, special_tokens=()).train(["abab"])   # as text_gpt.py
    assert plain.merges == [(97, 98), (256, 256)]
    assert plain.encode("<pad>abab") == [60, 112, 97, 100, 62, 257]
    assert plain.decode(plain.encode("<pad> ü")) == "<pad> ü"


@functools.lru_cache(maxsize=1)
def _small_tokenizer():
    corpus = [python_docs_text()[:5_000], "naïve café Ærø 日本語のテキスト 🙂👍🏽 \t\r\n"]
    return BPETokenizer(vocab_size=360).train(corpus)


@settings(max_examples=40, deadline=None)
@given(st.text())
def test_bpe_round_trips_any_text(text):
    tok = _small_tokenizer()
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) <= len(text.encode("utf-8"))
