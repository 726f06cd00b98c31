"""Character-level LSTM language model (Embedding -> LSTM -> Linear). By default it trains on
the Python reference documentation that ships inside every CPython install
(`pydoc_data.topics`, ~465k characters of English prose and code), so it needs no download;
`--text-file` takes any UTF-8 file instead. The last 10% of the text is the validation set.
Prints validation perplexity per epoch, saves a checkpoint, a PNG plot and a text sample.

    python examples/text_char_lstm.py --epochs 5 --device cpu
"""
import argparse
import json
import math
import os
import tempfile
import time

import numpy as np
from tqdm import tqdm

import framework as fw
from framework import nn, optim
from framework.utils.data import DataLoader
from fw_text import datasets, models
from _common import plot_epochs


def default_text():
    from pydoc_data.topics import topics
    return "\n\n".join(topics[k] for k in sorted(topics))


def evaluate(model, loader, device, vocab_size):
    """Perplexity: exp of the mean cross-entropy per character."""
    model.eval()
    total, count = 0.0, 0
    with fw.no_grad():
        for x, y in loader:
            logits, _ = model(x.to(device))
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size),
                                               y.to(device).reshape(-1), reduction="sum")
            total, count = total + loss.item(), count + y.numel()
    return math.exp(total / count)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or opencl")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--text-file", default=None, help="default: Python's pydoc topics")
    p.add_argument("--max-chars", type=int, default=300_000, help="use the first N characters")
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output folder (default: a new temp folder)")
    args = p.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="text_char_lstm_")
    os.makedirs(out, exist_ok=True)
    fw.manual_seed(args.seed)
    start = time.perf_counter()

    if args.text_file:
        with open(args.text_file, encoding="utf-8") as f:
            text = f.read()
    else:
        text = default_text()
    text = text[:args.max_chars]
    train = datasets.LanguageModelingDataset(text=text, seq_len=args.seq_len, span=(0.0, 0.9))
    valid = datasets.LanguageModelingDataset(text=text, seq_len=args.seq_len, span=(0.9, 1.0),
                                             vocab=train.vocab)
    V = len(train.vocab)
    print(f"{len(text)} characters, vocabulary of {V}; {len(train)} training and {len(valid)} "
          f"validation sequences of {args.seq_len}")
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True)
    valid_loader = DataLoader(valid, batch_size=128)

    model = models.CharLSTM(V, embed_dim=32, hidden_size=args.hidden_size,
                            num_layers=args.layers, dropout=0.1).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    ppl = evaluate(model, valid_loader, args.device, V)
    print(f"before training: validation perplexity {ppl:.2f} (uniform would be {V})")
    history = {"train_loss": [], "valid_ppl": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, n = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{args.epochs}")
        for x, y in bar:
            logits, _ = model(x.to(args.device))
            loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.to(args.device).reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # LSTMs need it early on
            opt.step()
            total, n = total + loss.item(), n + 1
            bar.set_postfix(loss=f"{total / n:.3f}")
        ppl = evaluate(model, valid_loader, args.device, V)
        history["train_loss"].append(total / n)
        history["valid_ppl"].append(ppl)
        print(f"epoch {epoch}: train loss {total / n:.3f}, validation perplexity {ppl:.2f} "
              f"({time.perf_counter() - start:.0f} s)")

    ckpt = os.path.join(out, "char_lstm.safetensors")
    fw.save(model.state_dict(), ckpt)
    with open(os.path.join(out, "char_lstm_vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"itos": train.vocab.get_itos(), "hidden_size": args.hidden_size,
                   "layers": args.layers}, f, ensure_ascii=False)
    prefix = "The "
    ids = model.generate(train.vocab(list(prefix)), 200, temperature=0.7,
                         generator=np.random.default_rng(args.seed))
    print("sample:", repr("".join(train.vocab.lookup_tokens(ids))))

    plot = plot_epochs(os.path.join(out, "char_lstm.png"),
                       [("train loss (nats/char)", history["train_loss"]),
                        ("validation perplexity", history["valid_ppl"])])
    print(f"checkpoint {ckpt}, plot {plot}, total {time.perf_counter() - start:.0f} s on {args.device}")


if __name__ == "__main__":
    main()
