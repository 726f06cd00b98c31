"""Training tokens per second of the GPT of examples/text_gpt.py: fw_text's `GPT` on fw's
devices against the same model written with torch.nn (`TorchGPT` below), same run.

    python benchmarks/gpt.py [--devices cpu,opencl] [--steps 20] [--batch-size 16]
                             [--block-size 64] [--layers 4] [--heads 4] [--embd 128]
                             [--vocab 1024]

Random token ids, float32, AdamW, dropout 0 (both libraries draw different masks, so it
would only add noise). torch and each fw device run in processes of their own and take
turns (train_step.py's `Contenders`), so load from elsewhere hits them alike. Prints the
median ms per step, tokens per second (batch x block / step time) and fw / torch.
Float32 only until fw has autocast; issue 20's target (bfloat16 autocast on both) then
needs an `--amp` option here as in the example.
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import table  # noqa: E402
from train_step import Contenders  # noqa: E402

import framework as fw  # noqa: E402


def TorchGPT(vocab_size, block_size=128, n_layer=4, n_head=4, n_embd=128, dropout=0.1,
             bias=True):
    """fw_text.models.GPT written with torch.nn, with the same parameter names (so state
    dicts load across) and the same initialisation. forward(idx, targets=None) ->
    (logits, loss). The tests compare fw's GPT with it."""
    import torch
    from torch import nn
    F = nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
            self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
            self.resid_dropout = nn.Dropout(dropout)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2)
                       for t in self.c_attn(x).split(C, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout if self.training
                                               else 0.0, is_causal=True)
            return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
            self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(n_embd, bias=bias), Attention()
            self.ln_2, self.mlp = nn.LayerNorm(n_embd, bias=bias), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
            self.drop = nn.Dropout(dropout)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
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

        def forward(self, idx, targets=None):
            B, T = idx.shape
            x = self.drop(self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            loss = None if targets is None else F.cross_entropy(logits.reshape(B * T, -1),
                                                                targets.reshape(B * T))
            return logits, loss

    return GPT()


def gpt_step(lib, device, sync, cfg):
    """One training step of the configured GPT in `lib` (fw or torch), on random ids."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["block"] + 1))
    x = lib.tensor(ids[:, :-1], device=device)
    y = lib.tensor(ids[:, 1:], device=device)
    lib.manual_seed(0)
    sizes = dict(block_size=cfg["block"], n_layer=cfg["layers"], n_head=cfg["heads"],
                 n_embd=cfg["embd"], dropout=0.0)
    if lib is fw:
        from fw_text.models import GPT
        model = GPT(cfg["vocab"], **sizes).to(device)
    else:
        model = TorchGPT(cfg["vocab"], **sizes).to(device)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        sync()
        return loss
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(
        d for d in ("cpu", "opencl") if d == "cpu" or fw.opencl.is_available()))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--embd", type=int, default=128)
    p.add_argument("--vocab", type=int, default=1024)
    p.add_argument("--torch-device", default="cpu", help="where torch runs (cpu or cuda)")
    args = p.parse_args()
    import torch
    cfg = dict(vocab=args.vocab, batch=args.batch_size, block=args.block_size,
               layers=args.layers, heads=args.heads, embd=args.embd)
    devices = args.devices.split(",")
    tdev = args.torch_device
    contenders = Contenders({"torch": ("torch", tdev), **{d: ("fw", d) for d in devices}})
    try:
        contenders.build(gpt_step, cfg)
        ms = contenders.median_ms(args.steps)
    finally:
        contenders.close()
    tokens = args.batch_size * args.block_size
    rows = [[f"torch {tdev}", f"{ms['torch']:.1f}", f"{tokens / ms['torch'] * 1e3:,.0f}", "1.00x"]]
    rows += [[f"fw {d}", f"{ms[d]:.1f}", f"{tokens / ms[d] * 1e3:,.0f}",
              f"{ms[d] / ms['torch']:.2f}x"] for d in devices]
    print(f"GPT {args.layers} layers x {args.heads} heads x {args.embd}, vocab {args.vocab}, "
          f"batch {args.batch_size} x block {args.block_size} = {tokens} tokens per step; "
          f"AdamW, float32; torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"medians of {args.steps} steps, each library in its own process, taking turns")
    print(table(rows, ["library", "ms / step", "tokens / s", "time vs torch"]))


if __name__ == "__main__":
    main()
