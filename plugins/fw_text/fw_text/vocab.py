"""torchtext-style vocabulary: `Vocab`, `vocab(ordered_dict)`, `build_vocab_from_iterator`."""
from collections import Counter, OrderedDict

__all__ = ["Vocab", "vocab", "build_vocab_from_iterator"]


class Vocab:
    """A bijection between tokens and the indices 0..len-1, with an optional default index
    for unknown tokens (torchtext's `Vocab`). Looking up an unknown token with no default
    index set raises RuntimeError, as torchtext does."""

    def __init__(self, tokens=()):
        self._itos, self._stoi = [], {}
        for t in tokens:
            self.append_token(t)
        self._default = None

    # -- lookups ------------------------------------------------------------------------------
    def __len__(self):
        return len(self._itos)

    def __contains__(self, token):
        return token in self._stoi

    def __getitem__(self, token):
        i = self._stoi.get(token)
        if i is not None:
            return i
        if self._default is None:
            raise RuntimeError(f"Token {token} not found and default index is not set")
        return self._default

    def __call__(self, tokens):
        return self.lookup_indices(tokens)

    forward = __call__

    def lookup_indices(self, tokens):
        return [self[t] for t in tokens]

    def lookup_token(self, index):
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"an index must be an int, got {type(index).__name__}")
        if not 0 <= index < len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds of the size of itos "
                               f"dictionary: {len(self._itos)}.")
        return self._itos[index]

    def lookup_tokens(self, indices):
        return [self.lookup_token(int(i)) for i in indices]

    def get_itos(self):
        return list(self._itos)

    def get_stoi(self):
        return dict(self._stoi)

    # -- default index ------------------------------------------------------------------------
    def set_default_index(self, index):
        """Index returned for unknown tokens; None removes it (unknown tokens then raise)."""
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise TypeError(f"the default index must be an int or None, got {type(index).__name__}")
        self._default = index

    def get_default_index(self):
        return self._default

    # -- edits --------------------------------------------------------------------------------
    def insert_token(self, token, index):
        """Put `token` at `index`, shifting the tokens at index.. up by one."""
        if token in self._stoi:
            raise RuntimeError(f"Token {token} already exists in the Vocab with index: "
                               f"{self._stoi[token]}")
        if not 0 <= index <= len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds for vocab of size "
                               f"{len(self._itos)}")
        self._itos.insert(index, token)
        for i in range(index, len(self._itos)):
            self._stoi[self._itos[i]] = i

    def append_token(self, token):
        if token in self._stoi:
            raise RuntimeError(f"Token {token} already exists in the Vocab with index: "
                               f"{self._stoi[token]}")
        self._stoi[token] = len(self._itos)
        self._itos.append(token)

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self):
        return {"itos": list(self._itos), "default_index": self._default}

    @classmethod
    def from_state_dict(cls, state):
        v = cls(state["itos"])
        v.set_default_index(state.get("default_index"))
        return v

    def __eq__(self, other):
        return (isinstance(other, Vocab) and self._itos == other._itos
                and self._default == other._default)

    def __repr__(self):
        return f"Vocab(size={len(self)}, default_index={self._default})"


def vocab(ordered_dict, min_freq=1, specials=None, special_first=True):
    """torchtext's `vocab`: a Vocab from a token -> frequency mapping, in its order, keeping
    tokens with frequency >= min_freq; `specials` go first (or last), whatever their counts."""
    specials = list(specials or [])
    counts = OrderedDict(ordered_dict)
    for t in specials:
        counts.pop(t, None)
    tokens = [t for t, freq in counts.items() if freq >= min_freq]
    tokens = specials + tokens if special_first else tokens + specials
    return Vocab(tokens)


def build_vocab_from_iterator(iterator, min_freq=1, specials=None, special_first=True,
                              max_tokens=None):
    """torchtext's `build_vocab_from_iterator`: counts the tokens of every list yielded by
    `iterator` and orders them by descending frequency, ties broken by the token itself
    (ascending, i.e. the sort key is (-freq, token)); not by first occurrence.

    As in torchtext, `max_tokens` keeps the `max_tokens - len(specials)` most frequent
    tokens *before* `min_freq` is applied, so the result can be shorter than max_tokens."""
    counter = Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = list(specials or [])
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    if max_tokens is not None:
        if len(specials) >= max_tokens:
            raise AssertionError("len(specials) >= max_tokens, so the vocab will be entirely "
                                 "special tokens.")
        ordered = ordered[:max_tokens - len(specials)]
    return vocab(OrderedDict(ordered), min_freq=min_freq, specials=specials,
                 special_first=special_first)
