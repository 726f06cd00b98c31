"""A decoder-only transformer language model (GPT-2's layout, nanoGPT's sizes and
initialisation) with a key/value cache for generation.

    model = GPT(vocab_size=1024, block_size=128, n_layer=4, n_head=4, n_embd=128)
    logits, loss = model(idx, targets)                     # training: idx, targets (B, T)
    out = model.generate(idx, 100, temperature=0.8, top_k=40)
"""
import math

import framework as fw
from framework import nn
from framework.nn import functional as F

__all__ = ["GPT", "KVCache"]


class KVCache:
    """The keys and values of the positions a GPT has seen so far, per layer, each
    (B, n_head, length, head_dim). `GPT.forward(idx, kv_cache=cache)` runs `idx` as the
    positions after those in the cache and appends theirs."""

    def __init__(self, n_layer):
        self.layers = [None] * n_layer

    def __len__(self):
        """The number of positions held."""
        return 0 if self.layers[0] is None else self.layers[0][0].shape[2]

    def update(self, layer, k, v):
        """Append one layer's new keys and values; returns all of that layer's."""
        if self.layers[layer] is not None:
            past_k, past_v = self.layers[layer]
            k, v = fw.cat([past_k, k], dim=2), fw.cat([past_v, v], dim=2)
        self.layers[layer] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout, bias):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)   # query, key, value at once
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x, kv_cache=None, layer=0):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in self.c_attn(x).split(C, dim=2))           # each (B, nh, T, hd)
        past = 0
        if kv_cache is not None:
            held = kv_cache.layers[layer]
            past = 0 if held is None else held[0].shape[2]
            k, v = kv_cache.update(layer, k, v)
        p = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=T > 1)
        elif T == 1:    # one new position sees every cached one
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:           # new position i sees the cache and new positions 0..i
            allowed = fw.ones((T, past + T), dtype=fw.bool, device=x.device).tril(past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd, dropout, bias):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd, n_head, dropout, bias):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x, kv_cache=None, layer=0):
        x = x + self.attn(self.ln_1(x), kv_cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """GPT-2's decoder-only transformer: token + learned position embeddings, dropout,
    `n_layer` pre-LayerNorm blocks (causal self-attention through
    `F.scaled_dot_product_attention(..., is_causal=True)`, an MLP with GELU), a final
    LayerNorm and a linear head whose weight is the token embedding's (weight tying).

    forward(idx (B, T) int64, targets=None, kv_cache=None) -> (logits (B, T, vocab), loss):
    loss is the mean cross-entropy against `targets` (B, T), or None without targets.
    Weights start as nanoGPT's: normal(0, 0.02), the residual projections' scaled by
    1/sqrt(2 n_layer), biases zero."""

    def __init__(self, vocab_size, block_size=128, n_layer=4, n_head=4, n_embd=128,
                 dropout=0.1, bias=True):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("block_size", block_size),
                            ("n_layer", n_layer), ("n_head", n_head), ("n_embd", n_embd)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GPT: {name} must be a positive int, got {value!r}")
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"GPT: dropout must be in [0, 1), got {dropout}")
        self.vocab_size, self.block_size, self.n_layer = vocab_size, block_size, n_layer
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def num_parameters(self, non_embedding=True):
        """Parameters counted once (the tied head is the token embedding); without the
        position embedding when `non_embedding`, as nanoGPT reports."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None, kv_cache=None):
        if idx.ndim != 2:
            raise ValueError(f"GPT expects token ids of shape (batch, time), got "
                             f"{tuple(idx.shape)}")
        B, T = idx.shape
        past = 0 if kv_cache is None else len(kv_cache)
        if past + T > self.block_size:
            raise ValueError(f"GPT: {past + T} positions ({past} cached + {T} new) exceed the "
                             f"block size {self.block_size}")
        pos = fw.arange(past, past + T, dtype=fw.int64, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.h):
            x = block(x, kv_cache, i)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss

    @fw.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, use_cache=True,
                 generator=None):
        """Append `max_new_tokens` sampled tokens to `idx` (B, T) and return it (B, T + n).

        Each step samples from softmax(logits / temperature), restricted to the `top_k`
        most likely tokens when given; temperature 0 takes the most likely token (greedy).
        A prompt longer than `block_size` is cropped to its last `block_size` tokens, as
        nanoGPT does, and so is the context whenever it outgrows the block.

        With `use_cache` (the default) each new token runs one position through the model,
        attending to the cached keys and values of the others. When the block is full, the
        cache is rebuilt from the last block_size // 2 tokens, so the context then spans
        block_size/2..block_size tokens; `use_cache=False` runs the whole cropped context
        every step (always the last block_size tokens). Both give the same tokens until the
        sequence outgrows the block. The model is put in eval mode and restored after."""
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be a non-negative int, got "
                             f"{max_new_tokens!r}")
        if temperature < 0:
            raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"generate: the prompt must be token ids of shape (batch, time) "
                             f"with time >= 1, got {tuple(idx.shape)}")
        was_training = self.training
        self.eval()
        try:
            out, cache, fed = idx, None, 0   # fed: how many of out's tokens the cache holds
            for _ in range(max_new_tokens):
                if not use_cache:
                    logits, _ = self(out[:, -self.block_size:])
                else:
                    if cache is None or len(cache) == self.block_size:
                        keep = self.block_size if cache is None else max(self.block_size // 2, 1)
                        cache, fed = KVCache(self.n_layer), max(out.shape[1] - keep, 0)
                    logits, _ = self(out[:, fed:], kv_cache=cache)
                    fed = out.shape[1]
                out = fw.cat([out, self._sample(logits[:, -1], temperature, top_k, generator)],
                             dim=1)
            return out
        finally:
            self.train(was_training)

    @staticmethod
    def _sample(logits, temperature, top_k, generator):
        """One token id per row of `logits` (B, vocab), as a (B, 1) int64 tensor."""
        if top_k is not None and top_k < logits.shape[-1]:
            kth = fw.topk(logits, top_k, dim=-1)[0][:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if temperature == 0:
            return logits.argmax(dim=-1, keepdim=True)
        probs = F.softmax(logits / temperature, dim=-1)
        return fw.multinomial(probs, 1, generator=generator)
