"""fw_text: tokenizers, BPE, Vocab, pad_sequence (against torch), collate functions, data
sets, the plugin registry, models, and a classifier that learns language ID from word lists."""
import csv
import json
import os
import time

import numpy as np
import pytest
import torch

import framework as fw
from framework import nn, optim
from framework.utils.data import DataLoader
from fw_text import datasets, models, tokenizers, utils, vocab as fv
from fw_text.tokenizers import BPETokenizer, get_tokenizer


def _lists_missing():
    missing = [pkg for fname, pkg in datasets.WORD_LISTS.values()
               if not os.path.isfile(os.path.join("/usr/share/dict", fname))]
    return missing


def _skip_without_word_lists():
    missing = _lists_missing()
    if missing:
        reason = f"word lists missing: apt-get install -y {' '.join(missing)}"
        print(reason)
        pytest.skip(reason)


# -- tokenizers -------------------------------------------------------------------------------
# Expected outputs follow torchtext's documented basic_english rules (lower-case; ' . , ( ) ! ?
# become tokens; " is dropped; <br />, ; and : become spaces).
BASIC_ENGLISH = [
    ("You can now install TorchText using pip!",
     ["you", "can", "now", "install", "torchtext", "using", "pip", "!"]),
    ("Don't stop", ["don", "'", "t", "stop"]),
    ('He said "hi"...', ["he", "said", "hi", ".", ".", "."]),
    ("line one<br />line two", ["line", "one", "line", "two"]),
    ("3.14, (x) or y?", ["3", ".", "14", ",", "(", "x", ")", "or", "y", "?"]),
    ("Wait; what: now", ["wait", "what", "now"]),
    ("tabs\tand\nnew  lines ", ["tabs", "and", "new", "lines"]),
    ("#tag @user $5 a-b", ["#tag", "@user", "$5", "a-b"]),
    ("ÉCOLE Straße", ["école", "straße"]),
    ("", []),
    ("'quoted'", ["'", "quoted", "'"]),
]


@pytest.mark.parametrize("text,expected", BASIC_ENGLISH)
def test_basic_english(text, expected):
    assert get_tokenizer("basic_english")(text) == expected


def test_get_tokenizer_variants():
    assert get_tokenizer(None)("a  b\tc") == ["a", "b", "c"]
    assert get_tokenizer("whitespace")(" x y ") == ["x", "y"]
    assert get_tokenizer("char")("ab c") == ["a", "b", " ", "c"]
    fn = lambda s: [s]  # noqa: E731
    assert get_tokenizer(fn) is fn
    with pytest.raises(ValueError, match="only available for English"):
        get_tokenizer("basic_english", language="fr")
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("spacy")
    assert tokenizers.CharTokenizer(lower=True)("Ab") == ["a", "b"]


def test_char_ngrams():
    tok = tokenizers.CharNGramTokenizer(ngrams=2)
    assert tok("Ab") == ["<", "a", "b", ">", "<a", "ab", "b>"]
    assert tokenizers.CharNGramTokenizer((3,), boundary=False)("abcd ef") == ["abc", "bcd"]
    with pytest.raises(ValueError):
        tokenizers.CharNGramTokenizer((0, 1))


def _corpus():
    from pydoc_data.topics import topics  # real English prose shipped with Python
    return [topics[k] for k in sorted(topics)[:20]]


def test_bpe_train_encode_decode_round_trip(tmp_path):
    corpus = _corpus()
    tok = BPETokenizer(vocab_size=600).train(corpus)
    assert len(tok) == 600 and len(tok.merges) == 600 - 4 - 256
    text = corpus[0][:2000]
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) < len(text.encode("utf-8")) / 2   # merges compress the training text
    tricky = ["", " ", "  lead and trail  ", "tab\tnew\nline\r\n", "naïve café Ærø",
              "日本語のテキスト 🙂👍🏽", "x_y__z 123abc 4.5e-3", "a <unk> b<pad>", "\u0301combining"]
    for t in tricky:
        assert tok.decode(tok.encode(t)) == t, t
    assert tok.encode("<pad>") == [1]
    assert tok.decode(tok.encode("a<eos>b"), skip_special_tokens=True) == "ab"
    ids = tok.encode("hello", add_special_tokens=True)
    assert ids[0] == 2 and ids[-1] == 3
    # deterministic training; save/load gives the same tokenizer
    again = BPETokenizer(vocab_size=600).train(corpus)
    assert again.merges == tok.merges
    path = tmp_path / "bpe.json"
    tok.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.special_tokens == tok.special_tokens
    assert loaded.encode(corpus[3]) == tok.encode(corpus[3])
    assert tok.id_to_token(tok.token_to_id(" the")) == " the"


def test_bpe_merges_follow_frequency():
    tok = BPETokenizer(vocab_size=4 + 256 + 2).train(["ab ab ab ab cd"])
    k = 4
    # 'a','b' is the most frequent pair, then ' ' + 'ab' (three words have a leading space).
    assert tok.merges[0] == (k + ord("a"), k + ord("b"))
    assert tok.merges[1] == (k + ord(" "), k + 256)
    assert tok.tokenize("ab ab") == ["ab", " ab"]


def test_bpe_errors_and_batch_call(tmp_path):
    with pytest.raises(ValueError, match="at least 260"):
        BPETokenizer(vocab_size=100)
    with pytest.raises(ValueError, match="distinct"):
        BPETokenizer(special_tokens=("<a>", "<a>"))
    tok = BPETokenizer(vocab_size=300).train(["some text here", "more text"])
    with pytest.raises(IndexError):
        tok.decode([10_000])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "something else"}))
    with pytest.raises(ValueError, match="not a BPETokenizer"):
        BPETokenizer.load(bad)
    out = tok(["text", "some more text"], padding=True)
    assert len(out["input_ids"][0]) == len(out["input_ids"][1])
    assert out["attention_mask"][0][-1] == 0 and out["attention_mask"][1][-1] == 1
    out = tok(["some more text"], truncation=True, max_length=2)
    assert len(out["input_ids"][0]) == 2


# -- vocab ------------------------------------------------------------------------------------
def test_build_vocab_order_and_specials():
    data = [["b", "a", "c"], ["c", "b", "d"], ["c", "e"]]
    v = fv.build_vocab_from_iterator(data, specials=["<unk>", "<pad>"])
    # frequency descending (c:3, then b:2), ties by the token (a, d, e), specials first
    assert v.get_itos() == ["<unk>", "<pad>", "c", "b", "a", "d", "e"]
    assert v.get_stoi()["b"] == 3 and len(v) == 7
    v = fv.build_vocab_from_iterator(data, specials=["<unk>"], special_first=False, min_freq=2)
    assert v.get_itos() == ["c", "b", "<unk>"]
    # max_tokens keeps max_tokens - len(specials) before min_freq, as torchtext
    v = fv.build_vocab_from_iterator(data, specials=["<unk>"], max_tokens=3)
    assert v.get_itos() == ["<unk>", "c", "b"]
    with pytest.raises(AssertionError):
        fv.build_vocab_from_iterator(data, specials=["<unk>"], max_tokens=1)
    # a special that also occurs in the data is placed once, as a special
    v = fv.build_vocab_from_iterator([["x", "<unk>", "<unk>"]], specials=["<unk>"])
    assert v.get_itos() == ["<unk>", "x"]


def test_vocab_lookups_and_default_index():
    v = fv.Vocab(["<unk>", "a", "b"])
    assert v["a"] == 1 and "b" in v and "z" not in v
    assert v.get_default_index() is None
    with pytest.raises(RuntimeError, match="default index is not set"):
        v["z"]
    v.set_default_index(v["<unk>"])
    assert v.get_default_index() == 0
    assert v(["a", "z", "b"]) == [1, 0, 2] == v.lookup_indices(["a", "z", "b"])
    assert v.lookup_tokens([2, 0]) == ["b", "<unk>"] and v.lookup_token(1) == "a"
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.lookup_token(3)
    v.set_default_index(None)
    with pytest.raises(RuntimeError):
        v["z"]


def test_vocab_insert_append():
    v = fv.Vocab(["a", "b"])
    v.insert_token("x", 1)
    assert v.get_itos() == ["a", "x", "b"] and v["b"] == 2
    v.append_token("y")
    assert v["y"] == 3 and len(v) == 4
    v.insert_token("end", 4)
    assert v.get_itos()[-1] == "end"
    with pytest.raises(RuntimeError, match="already exists"):
        v.append_token("a")
    with pytest.raises(RuntimeError, match="already exists"):
        v.insert_token("b", 0)
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.insert_token("new", 99)
    assert fv.Vocab.from_state_dict(v.state_dict()) == v


def test_vocab_factory():
    from collections import OrderedDict
    v = fv.vocab(OrderedDict([("z", 5), ("a", 1), ("m", 3)]), min_freq=2, specials=["<s>"])
    assert v.get_itos() == ["<s>", "z", "m"]


# -- pad_sequence -----------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(device, batch_first, side):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3, 2)).astype(np.float32) for n in (4, 1, 6)]
    ours = [fw.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = utils.pad_sequence(ours, batch_first=batch_first, padding_value=-2.5, padding_side=side)
    ref = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-2.5,
                                          padding_side=side)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-6)
    w = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * fw.tensor(w, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-6)


def test_pad_sequence_int_and_errors(device):
    seqs = [np.array([1, 2], dtype=np.int64), np.array([3, 4, 5], dtype=np.int64)]
    out = utils.pad_sequence([fw.tensor(s, device=device) for s in seqs], padding_value=-1.5)
    ref = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], padding_value=-1.5)
    assert out.dtype == fw.int64
    np.testing.assert_array_equal(out.cpu().numpy(), ref.numpy())
    with pytest.raises(RuntimeError, match="empty list"):
        utils.pad_sequence([])
    with pytest.raises(RuntimeError, match="padding_side"):
        utils.pad_sequence([fw.tensor([1.0], device=device)], padding_side="middle")
    with pytest.raises(RuntimeError, match="trailing"):
        utils.pad_sequence([fw.zeros(2, 3, device=device), fw.zeros(2, 4, device=device)])


def test_collate_functions():
    data = [(1, [5, 6, 7]), (0, [8]), (2, [9, 10])]
    ids, lengths, labels = next(iter(DataLoader(data, batch_size=3, collate_fn=utils.PadCollate(
        padding_value=0))))
    np.testing.assert_array_equal(ids.numpy(), [[5, 6, 7], [8, 0, 0], [9, 10, 0]])
    np.testing.assert_array_equal(lengths.numpy(), [3, 1, 2])
    np.testing.assert_array_equal(labels.numpy(), [1, 0, 2])
    flat, offsets, labels = utils.BagCollate()(data)
    np.testing.assert_array_equal(flat.numpy(), [5, 6, 7, 8, 9, 10])
    np.testing.assert_array_equal(offsets.numpy(), [0, 3, 4])
    # a text pipeline and (text, label) items
    v = fv.build_vocab_from_iterator([["a", "b"]], specials=["<pad>", "<unk>"])
    v.set_default_index(1)
    col = utils.PadCollate(lambda s: v(s.split()), label_first=False)
    ids, lengths, labels = col([("a b zz", 3), ("b", 4)])
    np.testing.assert_array_equal(ids.numpy(), [[v["a"], v["b"], 1], [v["b"], 0, 0]])
    assert utils.hash_tokens(["abc", "abc", "x"], 10) == utils.hash_tokens(["abc", "abc", "x"], 10)
    assert all(0 <= h < 10 for h in utils.hash_tokens(["p", "q", "r"], 10))


# -- data sets --------------------------------------------------------------------------------
def _write_ag_news(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


def test_csv_and_ag_news(tmp_path):
    rows = [["3", "Wall St. Bears Claw Back", "Short-sellers, Wall Street's dwindling band."],
            ["1", "Title, with comma", "He said \"quoted\"\nand a new line"],
            ["4", "Tech", "Chips"]]
    _write_ag_news(tmp_path / "AG_NEWS" / "train.csv", rows)
    ds = datasets.AG_NEWS(root=str(tmp_path), split="train")
    assert len(ds) == 3
    assert ds[0] == (3, "Wall St. Bears Claw Back Short-sellers, Wall Street's dwindling band.")
    assert ds[1] == (1, 'Title, with comma He said "quoted"\nand a new line')
    assert datasets.AG_NEWS(str(tmp_path), zero_based=True).targets == [2, 0, 3]
    assert datasets.AG_NEWS.classes[2] == "Business"
    with pytest.raises(FileNotFoundError, match="test.csv"):
        datasets.AG_NEWS(root=str(tmp_path), split="test")
    with pytest.raises(ValueError, match="split"):
        datasets.AG_NEWS(root=str(tmp_path), split="valid")
    bad = tmp_path / "bad.csv"
    _write_ag_news(bad, [["World", "x"]])
    with pytest.raises(ValueError, match="line 1"):
        datasets.TextClassificationCSV(str(bad))
    # the torchtext pipeline over it
    tok = get_tokenizer("basic_english")
    v = fv.build_vocab_from_iterator((tok(t) for _, t in ds), specials=["<unk>"])
    v.set_default_index(v["<unk>"])
    flat, offsets, labels = utils.BagCollate(lambda t: v(tok(t)), lambda y: y - 1)(list(ds))
    assert labels.tolist() == [2, 0, 3] and offsets.tolist()[0] == 0
    assert flat.shape[0] == sum(len(tok(t)) for _, t in ds)


def test_language_modeling_dataset(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("abcabcab\nxy")
    ds = datasets.LanguageModelingDataset(str(path), seq_len=3)
    itos = ds.vocab.get_itos()
    assert itos[0] == "<unk>" and itos[1:4] == ["a", "b", "c"]  # by frequency, then by char
    assert len(ds) == (11 - 1) // 3
    x, y = ds[1]
    assert "".join(ds.vocab.lookup_tokens(x.tolist())) == "abc"
    assert "".join(ds.vocab.lookup_tokens(y.tolist())) == "bca"
    assert x.dtype == fw.int64
    with pytest.raises(IndexError):
        ds[len(ds)]
    valid = datasets.LanguageModelingDataset(str(path), seq_len=2, span=(0.5, 1.0), vocab=ds.vocab)
    assert valid.vocab is ds.vocab and len(valid) == 2
    words = datasets.LanguageModelingDataset(text="the cat\nthe dog", seq_len=2,
                                             tokenizer="whitespace", add_eos=True)
    assert words.vocab.get_itos()[:3] == ["<unk>", "<eos>", "the"]
    with pytest.raises(ValueError, match="no sequence"):
        datasets.LanguageModelingDataset(text="ab", seq_len=5)


def test_language_id_missing_lists_names_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install -y wamerican"):
        datasets.LanguageID(root=str(tmp_path))


def test_language_id():
    _skip_without_word_lists()
    tr = datasets.LanguageID(split="train", words_per_language=500, test_fraction=0.2, seed=1)
    te = datasets.LanguageID(split="test", words_per_language=500, test_fraction=0.2, seed=1)
    assert len(tr) == 5 * 400 and len(te) == 5 * 100
    assert np.bincount(tr.targets).tolist() == [400] * 5
    assert not {w for w, _ in tr} & {w for w, _ in te}
    by_word = {}
    for w, y in list(tr) + list(te):
        assert w.isalpha() and w == w.lower()
        by_word.setdefault(w, set()).add(y)
    assert all(len(ys) == 1 for ys in by_word.values())
    assert datasets.LanguageID(split="test", words_per_language=500, seed=1).samples == te.samples
    assert tr.classes == ["English", "French", "German", "Italian", "Spanish"]


def test_cli_lists_text_plugin():
    from click.testing import CliRunner
    from framework.cli import main
    out = CliRunner().invoke(main, ["datasets", "list"])
    assert out.exit_code == 0, out.output
    for name in ("AG_NEWS", "TextClassificationCSV", "LanguageModelingDataset", "TokenBlocks",
                 "LanguageID"):
        assert name in out.output
    out = CliRunner().invoke(main, ["models", "list"])
    assert "CharLSTM" in out.output and "TransformerClassifier" in out.output
    assert "GPT" in out.output
    out = CliRunner().invoke(main, ["transforms", "list"])
    assert "BPETokenizer" in out.output and "basic_english" in out.output


# -- models -----------------------------------------------------------------------------------
def test_positional_encoding_matches_tutorial_formula():
    pe = models.PositionalEncoding(6, dropout=0.0, max_len=10)
    pos = torch.arange(10).unsqueeze(1)
    div = torch.exp(torch.arange(0, 6, 2) * (-np.log(10000.0) / 6))
    ref = torch.zeros(10, 6)
    ref[:, 0::2] = torch.sin(pos * div)
    ref[:, 1::2] = torch.cos(pos * div)
    np.testing.assert_allclose(pe.pe.numpy(), ref.numpy(), atol=1e-6)
    assert "pe" not in pe.state_dict()


def test_char_lstm_learns_a_pattern(device):
    fw.manual_seed(0)
    model = models.CharLSTM(vocab_size=5, embed_dim=8, hidden_size=32, num_layers=1,
                            dropout=0.0).to(device)
    seq = np.tile([0, 1, 2, 3, 4], 8)
    x = fw.tensor(np.stack([seq[:-1], np.roll(seq, 2)[:-1]]), device=device)
    y = fw.tensor(np.stack([seq[1:], np.roll(seq, 2)[1:]]), device=device)
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        logits, (h, c) = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 5), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert tuple(logits.shape) == (2, 39, 5) and tuple(h.shape) == (1, 2, 32)
    assert losses[-1] < 0.1 < losses[0]
    out = model.generate([0], 6, temperature=0.01, generator=np.random.default_rng(0))
    assert out == [0, 1, 2, 3, 4, 0, 1]


def test_transformer_classifier_learns(device):
    fw.manual_seed(0)
    rng = np.random.default_rng(0)
    # label = whether token 3 occurs; padding (0) at the end must not matter
    ids = rng.integers(4, 10, size=(32, 8))
    labels = rng.integers(0, 2, size=32)
    for i in np.flatnonzero(labels):
        ids[i, rng.integers(0, 5)] = 3
    ids[:, 6:] = 0
    x, y = fw.tensor(ids, device=device), fw.tensor(labels, device=device)
    model = models.TransformerClassifier(10, 2, d_model=16, nhead=2, num_layers=1,
                                         dim_feedforward=32, dropout=0.0).to(device)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc > 0.9, acc
    # changing padded positions changes nothing: they are masked out
    x2 = x.clone()
    with fw.no_grad():
        a = model(x)
        x2[:, 6:] = 0
        np.testing.assert_allclose(model(x2).cpu().numpy(), a.cpu().numpy(), atol=1e-5)


def test_embedding_bag_classifier_learns_language_id():
    """The fastText-style model on hashed character 1-4-grams learns real data in seconds."""
    _skip_without_word_lists()
    fw.manual_seed(0)
    tr = datasets.LanguageID(split="train", words_per_language=1000, seed=0)
    te = datasets.LanguageID(split="test", words_per_language=1000, seed=0)
    ngrams, buckets = tokenizers.CharNGramTokenizer((1, 2, 3, 4)), 1 << 14
    collate = utils.BagCollate(lambda w: utils.hash_tokens(ngrams(w), buckets), label_first=False)
    model = models.TextClassificationModel(buckets, 32, len(tr.classes))
    opt = optim.Adam(model.parameters(), lr=0.01)
    start = time.perf_counter()
    for _ in range(2):
        for flat, offsets, labels in DataLoader(tr, batch_size=64, shuffle=True, collate_fn=collate):
            loss = nn.functional.cross_entropy(model(flat, offsets), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    flat, offsets, labels = collate(list(te))
    with fw.no_grad():
        acc = (model(flat, offsets).argmax(1) == labels).float().mean().item()
    print(f"language ID, 4000 training words, 2 epochs: test accuracy {acc:.3f} "
          f"({time.perf_counter() - start:.1f} s)")
    assert acc > 0.6, acc   # chance is 0.2
