"""Reference text models built from framework.nn (the GPT lives in gpt.py)."""
import math

import numpy as np

import framework as fw
from framework import nn

from .gpt import GPT, KVCache

__all__ = ["TextClassificationModel", "CharLSTM", "PositionalEncoding", "TransformerClassifier",
           "GPT", "KVCache"]


class TextClassificationModel(nn.Module):
    """EmbeddingBag (mean of the token embeddings of each text) -> Linear, as in torchtext's
    text-classification tutorial; a fastText-style linear model over bags of tokens (words,
    or hashed character n-grams). forward(ids, offsets) -> logits (B, num_class)."""

    def __init__(self, vocab_size, embed_dim, num_class, mode="mean"):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode=mode)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        # The tutorial's init: uniform(-0.5, 0.5) weights, zero bias.
        nn.init.uniform_(self.embedding.weight, -0.5, 0.5)
        nn.init.uniform_(self.fc.weight, -0.5, 0.5)
        nn.init.zeros_(self.fc.bias)

    def forward(self, text, offsets=None):
        return self.fc(self.embedding(text, offsets))


class CharLSTM(nn.Module):
    """Character language model: Embedding -> LSTM (batch_first) -> dropout -> Linear over the
    vocabulary. forward(ids (B, L), hidden=None) -> (logits (B, L, V), (h, c))."""

    def __init__(self, vocab_size, embed_dim=64, hidden_size=256, num_layers=2, dropout=0.2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, hidden=None):
        out, hidden = self.lstm(self.embedding(ids), hidden)
        return self.decoder(self.drop(out)), hidden

    @fw.no_grad()
    def generate(self, prefix_ids, length, temperature=1.0, generator=None):
        """Sample `length` more ids after `prefix_ids` (a list of ints); returns the ids."""
        was_training = self.training
        self.eval()
        rng = generator or np.random.default_rng()
        dev = self.decoder.weight.device
        ids = list(prefix_ids)
        logits, hidden = self(fw.tensor([ids], dtype=fw.int64, device=dev))
        for _ in range(length):
            p = fw.softmax(logits[0, -1] / temperature, dim=-1).cpu().numpy().astype(np.float64)
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
            logits, hidden = self(fw.tensor([[nxt]], dtype=fw.int64, device=dev), hidden)
        self.train(was_training)
        return ids


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal encodings of "Attention is all you need" to (B, L, d_model) input
    (batch_first), then dropout. The table is a non-persistent buffer of max_len rows."""

    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        pos = np.arange(max_len, dtype=np.float64)[:, None]
        div = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
        pe = np.zeros((max_len, d_model), dtype=np.float32)
        pe[:, 0::2] = np.sin(pos * div)
        pe[:, 1::2] = np.cos(pos * div)[:, :d_model // 2]
        self.register_buffer("pe", fw.tensor(pe), persistent=False)

    def forward(self, x):
        if x.shape[1] > self.pe.shape[0]:
            raise ValueError(f"sequence length {x.shape[1]} exceeds max_len {self.pe.shape[0]}")
        return self.dropout(x + self.pe[:x.shape[1]])


class TransformerClassifier(nn.Module):
    """Token embedding * sqrt(d_model) + positional encoding -> nn.TransformerEncoder
    (batch_first) -> mean over the non-padding positions -> Linear.
    forward(ids (B, L), padding_mask=None) -> logits (B, num_class); padding_mask is True
    at padding positions and defaults to `ids == padding_idx`."""

    def __init__(self, vocab_size, num_class, d_model=64, nhead=4, num_layers=2,
                 dim_feedforward=128, dropout=0.1, max_len=512, padding_idx=0):
        super().__init__()
        self.d_model, self.padding_idx = d_model, padding_idx
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.pos = PositionalEncoding(d_model, dropout, max_len)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d_model, num_class)

    def forward(self, ids, padding_mask=None):
        if padding_mask is None:
            padding_mask = ids == self.padding_idx
        x = self.pos(self.embedding(ids) * math.sqrt(self.d_model))
        x = self.encoder(x, src_key_padding_mask=padding_mask)
        keep = (~padding_mask).to(x.dtype).unsqueeze(-1)          # (B, L, 1)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.fc(pooled)
