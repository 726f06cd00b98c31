"""A small GPT (fw_text.models.GPT) trained on Python's own reference documentation
(`pydoc_data.topics`, shipped with CPython, so nothing is downloaded; `--text-file` takes
any UTF-8 file) with a byte-level BPE tokenizer trained on the same text. The last 10% of
the text is the validation set. Shows a progress bar, reports train and validation loss,
writes a PNG plot of both, saves the model, tokenizer and configuration, checks that the
reloaded model scores the same, and prints samples.

    python examples/text_gpt.py --device cpu            # a few minutes on 2 busy cores
    python examples/text_gpt.py --steps 3000 --layers 6 --embd 192 --block-size 128

Float32 throughout: fw has no autocast yet. When `fw.autocast` lands, an `--amp` option
will wrap `forward_loss` below in it (bfloat16 on cpu, float16 on opencl).
"""
import argparse
import json
import math
import os
import tempfile
import time

import framework as fw
from framework import optim
from framework.nn.utils import clip_grad_norm_
from framework.utils.data import DataLoader
from fw_text.datasets import TokenBlocks, python_docs_text
from fw_text.models import GPT
from fw_text.tokenizers import BPETokenizer
from _common import save_and_reload, save_figure, subplots

PROMPTS = ["The ", "def ", "A list "]


def progress(iterable, total, desc):
    """tqdm's bar when tqdm is installed, else the bare iterable (the loop prints anyway)."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(f"{desc}: {total} steps (pip install tqdm for a progress bar)")
        return iterable
    return tqdm(iterable, total=total, desc=desc)


def batches(loader):
    """The loader's batches, epoch after epoch, for a training loop counted in steps."""
    while True:
        yield from loader


def forward_loss(model, x, y):
    """Where an `--amp` option will put `with fw.autocast(...)`."""
    return model(x, y)[1]


def lr_factor(step, steps):
    """Linear warm-up over the first 10% of the steps, then cosine decay to 10%."""
    warmup = max(steps // 10, 1)
    if step < warmup:
        return (step + 1) / warmup
    done = min((step - warmup) / max(steps - warmup, 1), 1.0)
    return 0.1 + 0.45 * (1 + math.cos(math.pi * done))


def evaluate(model, loader, device):
    """Mean cross-entropy (nats per token) over the validation blocks."""
    model.eval()
    total, count = 0.0, 0
    with fw.no_grad():
        for x, y in loader:
            loss = forward_loss(model, x.to(device), y.to(device))
            total, count = total + loss.item() * y.numel(), count + y.numel()
    model.train()
    return total / count


def split_text(text, fraction):
    """(train, valid): the cut is at the first blank line after `fraction` of the text."""
    cut = text.find("\n\n", int(len(text) * fraction))
    cut = int(len(text) * fraction) if cut < 0 else cut
    return text[:cut], text[cut:]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, opencl or vulkan")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--block-size", type=int, default=64, help="context length in tokens")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--embd", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.0, help="0 for short runs; 0.1-0.2 long")
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--text-file", default=None, help="default: Python's pydoc topics")
    p.add_argument("--sample-tokens", type=int, default=120)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output folder (default: a new temp folder)")
    args = p.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="text_gpt_")
    os.makedirs(out, exist_ok=True)
    fw.manual_seed(args.seed)
    dev = args.device
    start = time.perf_counter()

    if args.text_file:
        with open(args.text_file, encoding="utf-8") as f:
            text = f.read()
    else:
        text = python_docs_text()
    train_text, valid_text = split_text(text, 0.9)
    t0 = time.perf_counter()
    # no special tokens: the model sees plain text only, and every id is a byte string
    tok = BPETokenizer(vocab_size=args.vocab_size, special_tokens=()).train([train_text])
    train_ids, valid_ids = tok.encode(train_text), tok.encode(valid_text)
    print(f"{len(text):,} characters; BPE of {len(tok)} tokens trained and applied in "
          f"{time.perf_counter() - t0:.1f} s: {len(train_ids):,} training and "
          f"{len(valid_ids):,} validation tokens ({len(train_text) / len(train_ids):.2f} "
          f"characters per token)")
    train = TokenBlocks(train_ids, args.block_size, stride=1)   # every offset: random windows
    valid = TokenBlocks(valid_ids, args.block_size)             # disjoint blocks
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True)
    valid_loader = DataLoader(valid, batch_size=64)

    config = dict(vocab_size=len(tok), block_size=args.block_size, n_layer=args.layers,
                  n_head=args.heads, n_embd=args.embd, dropout=args.dropout)
    model = GPT(**config).to(dev)
    print(f"GPT: {model.num_parameters() / 1e6:.2f} M parameters on {dev}")
    # AdamW as nanoGPT sets it: weight decay on matrices only; warm-up, then cosine decay
    decay = [q for q in model.parameters() if q.ndim >= 2]
    no_decay = [q for q in model.parameters() if q.ndim < 2]
    opt = optim.AdamW([{"params": decay, "weight_decay": 0.1},
                       {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    sched = optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, args.steps))

    evals = [(0, evaluate(model, valid_loader, dev))]     # (step, validation loss)
    print(f"before training: validation loss {evals[0][1]:.3f} "
          f"(uniform: ln {len(tok)} = {math.log(len(tok)):.3f})")
    train_losses = []
    t_train, tokens = time.perf_counter(), 0
    bar = progress(range(1, args.steps + 1), args.steps, "training")
    data = batches(train_loader)
    for step in bar:
        x, y = next(data)
        loss = forward_loss(model, x.to(dev), y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        train_losses.append(loss.item())
        tokens += y.numel()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{sum(train_losses[-20:]) / len(train_losses[-20:]):.3f}")
        if step % args.eval_every == 0 or step == args.steps:
            evals.append((step, evaluate(model, valid_loader, dev)))
            recent = train_losses[-50:]
            msg = (f"step {step}: train loss {sum(recent) / len(recent):.3f}, "
                   f"validation loss {evals[-1][1]:.3f}")
            getattr(bar, "write", print)(msg)   # tqdm.write keeps the bar below the line
    elapsed = time.perf_counter() - t_train
    print(f"trained {args.steps} steps in {elapsed:.0f} s: {tokens / elapsed:,.0f} tokens/s "
          f"(evaluation included); validation loss {evals[-1][1]:.3f} "
          f"(perplexity {math.exp(evals[-1][1]):.1f})")

    ckpt = os.path.join(out, "gpt.safetensors")
    tok.save(os.path.join(out, "gpt_tokenizer.json"))
    with open(os.path.join(out, "gpt_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)
    reloaded = save_and_reload(model, lambda: GPT(**config), ckpt, dev)
    again = evaluate(reloaded, valid_loader, dev)
    print(f"reloaded from {ckpt}: validation loss {again:.3f}")

    for prompt in PROMPTS:
        idx = fw.tensor([tok.encode(prompt)], dtype=fw.int64, device=dev)
        ids = model.generate(idx, args.sample_tokens, temperature=args.temperature,
                             top_k=args.top_k)
        print(f"--- sample from {prompt!r} ---\n{tok.decode(ids[0].tolist())}")

    try:
        fig, ax = subplots(1, figsize=(6, 4))
        ax.plot(range(1, len(train_losses) + 1), train_losses, alpha=0.5, label="train (batch)")
        ax.plot(*zip(*evals), marker="o", label="validation")
        corpus = os.path.basename(args.text_file or "pydoc topics")
        ax.set(xlabel="step", ylabel="cross-entropy (nats/token)", title=f"GPT on {corpus}")
        ax.legend()
        print(f"plot {save_figure(fig, os.path.join(out, 'gpt_loss.png'))}")
    except ImportError:
        print("no plot: pip install matplotlib")
    print(f"checkpoint, tokenizer and config in {out}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
