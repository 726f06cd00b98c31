"""Tokenizers: torchtext's `get_tokenizer`, characters, character n-grams and a trainable
byte-level byte-pair encoding (BPE) with JSON save/load."""
import heapq
import json
import os
import re
from collections import Counter

__all__ = ["get_tokenizer", "basic_english_normalize", "whitespace_tokenizer", "char_tokenizer",
           "CharTokenizer", "CharNGramTokenizer", "BPETokenizer"]

# torchtext's basic_english rules, applied in this order after lower-casing: an apostrophe is
# spaced out (with two spaces after it, as torchtext does), double quotes are dropped, '.', ',',
# '(', ')', '!', '?' become tokens of their own, '<br />', ';' and ':' become a space, and any
# run of whitespace becomes one space. The result is split on whitespace.
_BASIC_ENGLISH = [(re.compile(p), r) for p, r in [
    (r"\'", " '  "), (r"\"", ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "),
    (r"\(", " ( "), (r"\)", " ) "), (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "), (r"\:", " "),
    (r"\s+", " ")]]


def basic_english_normalize(line):
    """torchtext's `_basic_english_normalize`: lower-case, split off punctuation, split."""
    line = line.lower()
    for pattern, repl in _BASIC_ENGLISH:
        line = pattern.sub(repl, line)
    return line.split()


def whitespace_tokenizer(line):
    return line.split()


def char_tokenizer(line):
    return list(line)


class CharTokenizer:
    """Splits a string into its characters (optionally lower-cased)."""

    def __init__(self, lower=False):
        self.lower = lower

    def __call__(self, text):
        return list(text.lower() if self.lower else text)

    def __repr__(self):
        return f"CharTokenizer(lower={self.lower})"


class CharNGramTokenizer:
    """The character n-grams of a word or text, fastText style: each whitespace-separated
    word is wrapped in boundary marks ('<word>') so prefixes and suffixes get n-grams of
    their own. `ngrams` is an int (1..n) or an iterable of sizes."""

    def __init__(self, ngrams=(1, 2, 3, 4), boundary=True, lower=True):
        self.ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else tuple(ngrams)
        if not self.ngrams or min(self.ngrams) < 1:
            raise ValueError(f"n-gram sizes must be positive, got {ngrams!r}")
        self.boundary, self.lower = boundary, lower

    def __call__(self, text):
        out = []
        for word in (text.lower() if self.lower else text).split():
            w = f"<{word}>" if self.boundary else word
            for n in self.ngrams:
                out.extend(w[i:i + n] for i in range(len(w) - n + 1))
        return out

    def __repr__(self):
        return f"CharNGramTokenizer(ngrams={self.ngrams}, boundary={self.boundary}, lower={self.lower})"


def get_tokenizer(tokenizer, language="en"):
    """torchtext's `get_tokenizer`: None or "whitespace" splits on whitespace,
    "basic_english" normalises as torchtext does, "char" gives characters; a callable is
    returned unchanged. (torchtext's spacy/moses/... back ends are not provided.)"""
    if tokenizer is None or tokenizer == "whitespace":
        return whitespace_tokenizer
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "basic_english":
        if language not in ("en", "en_US"):
            raise ValueError("Basic normalization is only available for English(en)")
        return basic_english_normalize
    if tokenizer in ("char", "character"):
        return char_tokenizer
    raise ValueError(f"unknown tokenizer {tokenizer!r}; fw_text provides None, 'whitespace', "
                     f"'basic_english', 'char', or pass a callable")


# Pre-tokenisation for BPE: a word keeps the single space before it (GPT-2 style), so merges
# never cross word boundaries and the chunks concatenate back to the exact input.
_CHUNK = re.compile(r" ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+|_+", re.UNICODE)


class BPETokenizer:
    """Byte-level byte-pair encoding. The vocabulary is: the special tokens (ids 0..k-1),
    the 256 byte values, then one token per learned merge, up to `vocab_size`. Any text
    encodes (no unknown tokens) and `decode(encode(text)) == text` exactly.

    >>> tok = BPETokenizer(vocab_size=400).train(lines)
    >>> tok.decode(tok.encode("hello")) == "hello"
    """

    VERSION = 1

    def __init__(self, vocab_size=1000, special_tokens=("<unk>", "<pad>", "<bos>", "<eos>"),
                 lowercase=False):
        self.special_tokens = list(special_tokens)
        if len(set(self.special_tokens)) != len(self.special_tokens):
            raise ValueError(f"special tokens must be distinct, got {self.special_tokens}")
        base = len(self.special_tokens) + 256
        if vocab_size < base:
            raise ValueError(f"vocab_size must be at least {base} (the {len(self.special_tokens)} "
                             f"special tokens plus 256 bytes), got {vocab_size}")
        self.vocab_size, self.lowercase = vocab_size, lowercase
        self.merges = []            # list of (left id, right id); merge i makes token base + i
        self._rebuild()

    # -- vocabulary ---------------------------------------------------------------------------
    def _rebuild(self):
        k = len(self.special_tokens)
        self._bytes = [b""] * k + [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._rank = {pair: i for i, pair in enumerate(self.merges)}
        self._special_ids = {t: i for i, t in enumerate(self.special_tokens)}
        self._special_re = (re.compile("(" + "|".join(map(re.escape, sorted(
            self.special_tokens, key=len, reverse=True))) + ")") if self.special_tokens else None)
        self._cache = {}

    def __len__(self):
        return len(self._bytes)

    def id_to_token(self, i):
        if i < len(self.special_tokens):
            return self.special_tokens[i]
        return self._bytes[i].decode("utf-8", errors="backslashreplace")

    def token_to_id(self, token):
        if token in self._special_ids:
            return self._special_ids[token]
        data = token.encode("utf-8")
        for i in range(len(self.special_tokens), len(self._bytes)):
            if self._bytes[i] == data:
                return i
        return None

    def get_vocab(self):
        return {self.id_to_token(i): i for i in range(len(self))}

    # -- training -----------------------------------------------------------------------------
    def train(self, corpus):
        """Learn merges from an iterable of strings (replaces earlier merges). Each step
        merges the most frequent adjacent pair (ties: the smallest pair of ids, so training
        is deterministic). Returns self."""
        words = Counter()
        for text in corpus:
            if self.lowercase:
                text = text.lower()
            for piece in self._split_specials(text):
                if piece not in self._special_ids:
                    words.update(_CHUNK.findall(piece))
        k = len(self.special_tokens)
        seqs = [[k + b for b in w.encode("utf-8")] for w in words]
        counts = list(words.values())
        pairs, where = Counter(), {}
        for wi, s in enumerate(seqs):
            for p in zip(s, s[1:]):
                pairs[p] += counts[wi]
                where.setdefault(p, set()).add(wi)
        heap = [(-c, p) for p, c in pairs.items()]
        heapq.heapify(heap)
        self.merges = []
        new_id = k + 256
        while new_id < self.vocab_size and heap:
            c, p = heapq.heappop(heap)
            if pairs.get(p, 0) != -c or c == 0:
                continue  # stale heap entry: the count changed since it was pushed
            self.merges.append(p)
            touched = set()
            for wi in where.pop(p, ()):
                s, n = seqs[wi], counts[wi]
                t = _merge(s, p, new_id)
                if len(t) == len(s):
                    continue                # an earlier merge took the pair from this word
                seqs[wi] = t
                old_pairs, new_pairs = list(zip(s, s[1:])), list(zip(t, t[1:]))
                for q in old_pairs:         # take the word's old pairs out ...
                    pairs[q] -= n
                for q in new_pairs:         # ... and put its new pairs in; only those
                    pairs[q] += n           # holding the new token are new to the word
                    if new_id in q:
                        where.setdefault(q, set()).add(wi)
                touched.update(old_pairs)
                touched.update(new_pairs)
            for q in touched:
                if pairs[q] > 0:
                    heapq.heappush(heap, (-pairs[q], q))
                else:
                    pairs.pop(q, None)
            pairs.pop(p, None)
            new_id += 1
        self._rebuild()
        return self

    # -- encoding -----------------------------------------------------------------------------
    def _split_specials(self, text):
        if self._special_re is None:
            return [text]
        return [t for t in self._special_re.split(text) if t]

    def _encode_chunk(self, chunk):
        ids = self._cache.get(chunk)
        if ids is None:
            k = len(self.special_tokens)
            ids = [k + b for b in chunk.encode("utf-8")]
            while len(ids) > 1:  # apply the earliest-learned merge present, as in training
                best = min(zip(ids, ids[1:]), key=lambda q: self._rank.get(q, len(self._rank)))
                if best not in self._rank:
                    break
                ids = _merge(ids, best, k + 256 + self._rank[best])
            if len(self._cache) < 100_000:
                self._cache[chunk] = ids
        return ids

    def encode(self, text, add_special_tokens=False):
        """Token ids of `text`. Special-token strings in the text map to their ids.
        With add_special_tokens, '<bos>'/'<eos>' (when they are special tokens) wrap it."""
        if self.lowercase:
            text = text.lower()
        out = []
        for piece in self._split_specials(text):
            if piece in self._special_ids:
                out.append(self._special_ids[piece])
            else:
                for chunk in _CHUNK.findall(piece):
                    out.extend(self._encode_chunk(chunk))
        if add_special_tokens:
            bos, eos = self._special_ids.get("<bos>"), self._special_ids.get("<eos>")
            out = ([bos] if bos is not None else []) + out + ([eos] if eos is not None else [])
        return out

    def tokenize(self, text):
        return [self.id_to_token(i) for i in self.encode(text)]

    def decode(self, ids, skip_special_tokens=False):
        k, parts, buf = len(self.special_tokens), [], bytearray()
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self._bytes):
                raise IndexError(f"token id {i} is out of range for a vocabulary of {len(self)}")
            if i < k:
                parts.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
                if not skip_special_tokens:
                    parts.append(self.special_tokens[i])
            else:
                buf += self._bytes[i]
        parts.append(buf.decode("utf-8", errors="replace"))
        return "".join(parts)

    def __call__(self, texts, padding=False, truncation=False, max_length=None):
        """Hugging Face style batch encoding -> {"input_ids", "attention_mask"} (lists).
        padding=True pads to the longest (or to max_length when given) with '<pad>'."""
        single = isinstance(texts, str)
        batch = [self.encode(t) for t in ([texts] if single else texts)]
        if truncation:
            if max_length is None:
                raise ValueError("truncation=True needs max_length")
            batch = [ids[:max_length] for ids in batch]
        masks = [[1] * len(ids) for ids in batch]
        if padding:
            if "<pad>" not in self._special_ids:
                raise ValueError("padding needs a '<pad>' special token")
            width = max_length if max_length is not None else max(map(len, batch), default=0)
            pad = self._special_ids["<pad>"]
            batch = [ids + [pad] * (width - len(ids)) for ids in batch]
            masks = [m + [0] * (width - len(m)) for m in masks]
        if single:
            return {"input_ids": batch[0], "attention_mask": masks[0]}
        return {"input_ids": batch, "attention_mask": masks}

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self):
        return {"type": "fw_text.BPETokenizer", "version": self.VERSION,
                "vocab_size": self.vocab_size, "lowercase": self.lowercase,
                "special_tokens": self.special_tokens, "merges": [list(p) for p in self.merges]}

    def save(self, path):
        """Write the tokenizer as JSON (atomically: a temporary file, then a rename)."""
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.state_dict(), f, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        if not isinstance(state, dict) or state.get("type") != "fw_text.BPETokenizer":
            raise ValueError(f"{path} is not a BPETokenizer JSON file")
        if state.get("version") != cls.VERSION:
            raise ValueError(f"{path}: unsupported BPETokenizer version {state.get('version')}")
        tok = cls(state["vocab_size"], state["special_tokens"], state["lowercase"])
        limit = len(tok.special_tokens) + 256
        for i, (a, b) in enumerate(state["merges"]):
            if not (0 <= a < limit + i and 0 <= b < limit + i):
                raise ValueError(f"{path}: merge {i} refers to an unknown token")
        tok.merges = [tuple(p) for p in state["merges"]]
        tok._rebuild()
        return tok

    def __repr__(self):
        return (f"BPETokenizer(vocab_size={self.vocab_size}, learned={len(self)}, "
                f"special_tokens={self.special_tokens})")


def _merge(ids, pair, new_id):
    """`ids` with every non-overlapping occurrence of `pair` (left to right) replaced."""
    out, i, a, b = [], 0, pair[0], pair[1]
    n = len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
