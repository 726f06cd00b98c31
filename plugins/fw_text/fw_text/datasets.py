"""Text data sets: CSV classification in the AG_NEWS layout, fixed-length language-modelling
chunks from a text file, token blocks for next-token prediction, Python's own documentation
as a corpus, and LanguageID, made offline from Debian's word lists."""
import csv
import functools
import os
import random

import numpy as np

import framework as fw
from framework.utils.data import Dataset

from .tokenizers import get_tokenizer
from .vocab import build_vocab_from_iterator

__all__ = ["TextClassificationCSV", "AG_NEWS", "LanguageModelingDataset", "TokenBlocks",
           "python_docs_text", "LanguageID", "WORD_LISTS"]


class _Samples(Dataset):
    """A labelled data set held in memory as a list of tuples, `samples`; the label is item
    `_label` of each."""
    _label = 0

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]

    @property
    def targets(self):
        return [s[self._label] for s in self.samples]


class TextClassificationCSV(_Samples):
    """Rows `"label","field",...` with no header (AG_NEWS, DBpedia, Yelp... layout). An item
    is `(label, text)` with text the other fields joined by a space, as torchtext yields.
    Labels are the file's integers (1-based in AG_NEWS); `zero_based=True` subtracts 1."""

    def __init__(self, path, zero_based=False):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such CSV file")
        self.path, self.zero_based = path, zero_based
        self.samples = []
        with open(path, encoding="utf-8", newline="") as f:
            for lineno, row in enumerate(csv.reader(f), 1):
                if not row:
                    continue
                try:
                    label = int(row[0])
                except ValueError:
                    raise ValueError(f"{path}, line {lineno}: the label {row[0]!r} is not an "
                                     f"integer (expected rows \"label\",\"text\",...)") from None
                self.samples.append((label - 1 if zero_based else label, " ".join(row[1:])))


class AG_NEWS(TextClassificationCSV):
    """AG News (4 classes, 120,000 train / 7,600 test rows) read from
    `root/AG_NEWS/{train,test}.csv` (or `root/{split}.csv`). There is no download: the data
    is not available offline, so place the files there yourself."""

    classes = ["World", "Sports", "Business", "Sci/Tech"]

    def __init__(self, root=".data", split="train", zero_based=False):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        candidates = [os.path.join(root, "AG_NEWS", f"{split}.csv"), os.path.join(root, f"{split}.csv")]
        path = next((p for p in candidates if os.path.isfile(p)), None)
        if path is None:
            raise FileNotFoundError(f"AG_NEWS {split} split not found: expected {candidates[0]} "
                                    f"(fw_text does not download; copy AG News' {split}.csv there)")
        super().__init__(path, zero_based)
        self.split = split


class LanguageModelingDataset(Dataset):
    """A text file as one stream of token ids cut into `seq_len` chunks: item i is
    `(ids[i*L : (i+1)*L], ids[i*L+1 : (i+1)*L+1])` (int64 tensors; targets shifted by one).

    tokenizer: "char" (default), "basic_english", None/"whitespace" or a callable.
    vocab: a Vocab to use; by default one is built from the whole file (ordered by frequency,
    '<unk>' first and the default index), so splits of one file share it.
    span: (start, end) fractions of the token stream to use, e.g. (0, 0.9) and (0.9, 1) for a
    train/validation split of one file. add_eos: append '<eos>' after every line (word level)."""

    def __init__(self, path=None, seq_len=64, tokenizer="char", vocab=None, span=(0.0, 1.0),
                 add_eos=False, text=None):
        if (path is None) == (text is None):
            raise ValueError("give exactly one of path and text")
        if seq_len < 1:
            raise ValueError(f"seq_len must be positive, got {seq_len}")
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        self.path, self.seq_len = path, seq_len
        tok = get_tokenizer(tokenizer)
        char_level = tok is get_tokenizer("char")
        if char_level:
            tokens = tok(text)
        else:
            tokens = []
            for line in text.splitlines():
                tokens.extend(tok(line))
                if add_eos:
                    tokens.append("<eos>")
        if vocab is None:
            specials = ["<unk>"] + (["<eos>"] if add_eos else [])
            vocab = build_vocab_from_iterator([tokens], specials=specials)
            vocab.set_default_index(vocab["<unk>"])
        self.vocab = vocab
        lo, hi = span
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"span must satisfy 0 <= start < end <= 1, got {span}")
        tokens = tokens[int(lo * len(tokens)):int(hi * len(tokens))]
        self.data = np.asarray(vocab(tokens), dtype=np.int64)
        self._n = max((len(self.data) - 1) // seq_len, 0)
        if self._n == 0:
            raise ValueError(f"{path or 'text'}: {len(self.data)} tokens make no sequence of "
                             f"length {seq_len} (+1 for the target)")

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if not -self._n <= i < self._n:
            raise IndexError(f"index {i} is out of range for {self._n} sequences")
        i %= self._n
        a = i * self.seq_len
        chunk = self.data[a:a + self.seq_len + 1]
        return fw.tensor(chunk[:-1].copy()), fw.tensor(chunk[1:].copy())


class TokenBlocks(Dataset):
    """Windows of a token-id sequence for next-token prediction: item i is
    `(ids[s : s+block_size], ids[s+1 : s+block_size+1])` with s = i * stride (int64 tensors).
    stride=block_size (the default) cuts disjoint blocks, as for validation; stride=1 makes
    every offset an item, so a shuffled loader draws random windows, as nanoGPT trains."""

    def __init__(self, ids, block_size, stride=None):
        stride = block_size if stride is None else stride
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be a positive int, got {block_size!r}")
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        self.ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self.block_size, self.stride = block_size, stride
        self._n = max((len(self.ids) - block_size - 1) // stride + 1, 0)
        if self._n == 0:
            raise ValueError(f"{len(self.ids)} tokens make no block of {block_size} "
                             f"(+1 for the target)")

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if not -self._n <= i < self._n:
            raise IndexError(f"index {i} is out of range for {self._n} blocks")
        s = (i % self._n) * self.stride
        block = self.ids[s:s + self.block_size + 1]
        return fw.tensor(block[:-1].copy()), fw.tensor(block[1:].copy())


def python_docs_text():
    """The text of Python's reference manual that ships with CPython as
    `pydoc_data.topics` (what `help("topic")` shows): ~470k characters of English prose
    and code, its topics in alphabetical order, separated by blank lines. Offline."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise FileNotFoundError("this Python has no pydoc_data.topics (some distributions "
                                "strip it; Debian ships it in libpython3.X-stdlib)") from None
    return "\n\n".join(topics[k] for k in sorted(topics))


# language code -> (file under /usr/share/dict, Debian package)
WORD_LISTS = {"en": ("american-english", "wamerican"), "fr": ("french", "wfrench"),
              "de": ("ngerman", "wngerman"), "it": ("italian", "witalian"),
              "es": ("spanish", "wspanish")}
_NAMES = {"en": "English", "fr": "French", "de": "German", "it": "Italian", "es": "Spanish"}


@functools.lru_cache(maxsize=4)
def _language_words(root, languages):
    """Per language: the sorted, lower-cased, alphabetic words found in no other list."""
    sets = []
    for code in languages:
        fname, package = WORD_LISTS[code]
        path = os.path.join(root, fname)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"word list {path} is missing: install the Debian package "
                                    f"'{package}' (apt-get install -y {package})")
        with open(path, encoding="utf-8", errors="strict") as f:
            sets.append({w for w in (line.strip().lower() for line in f) if w.isalpha()})
    seen, shared = set(), set()
    for s in sets:
        shared |= seen & s
        seen |= s
    return tuple(sorted(s - shared) for s in sets)


class LanguageID(_Samples):
    """Word -> language (en, fr, de, it, es) from the system word lists, a character-level
    classification task in the spirit of PyTorch's names tutorial. Needs
    `apt-get install -y wamerican wfrench wngerman witalian wspanish`.

    Words are lower-cased, kept only if alphabetic (accents allowed), de-duplicated, and
    dropped when they occur in more than one language. Then `words_per_language` words are
    drawn per language with `seed` (balanced classes), and the first `test_fraction` of each
    language's shuffled sample is the test split. Items are `(word, label)`."""
    _label = 1

    def __init__(self, root="/usr/share/dict", split="train", words_per_language=20000,
                 test_fraction=0.2, seed=0, languages=("en", "fr", "de", "it", "es")):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        unknown = [c for c in languages if c not in WORD_LISTS]
        if unknown:
            raise ValueError(f"unknown language code(s) {unknown}; known: {sorted(WORD_LISTS)}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        self.languages = list(languages)
        self.classes = [_NAMES[c] for c in languages]
        self.split = split
        words = _language_words(root, tuple(languages))
        n = min(words_per_language, *(len(w) for w in words))
        self.words_per_language = n
        n_test = int(round(n * test_fraction))
        rng = random.Random(seed)
        self.samples = []
        for label, ws in enumerate(words):
            sample = rng.sample(ws, n)
            part = sample[:n_test] if split == "test" else sample[n_test:]
            self.samples.extend((w, label) for w in part)
        rng.shuffle(self.samples)  # interleave the languages
