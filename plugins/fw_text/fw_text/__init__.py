"""fw's text plugin: tokenizers, vocabularies, text data sets, padding/collate helpers and
reference models (torchtext-like). `from fw_text import tokenizers, vocab, datasets, models, utils`."""
from . import datasets, models, tokenizers, utils, vocab

__version__ = "0.1.0"
__all__ = ["datasets", "models", "tokenizers", "utils", "vocab"]
