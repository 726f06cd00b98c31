"""Language identification of single words (English, French, German, Italian, Spanish) from
the Debian word lists, with a fastText-style model: the hashed character 1-4-grams of a word
-> nn.EmbeddingBag (mean) -> Linear. Saves a checkpoint and a PNG of loss and accuracy.

    apt-get install -y wamerican wfrench wngerman witalian wspanish
    python examples/text_language_id.py --epochs 3 --device cpu
"""
import argparse
import json
import os
import tempfile
import time

from tqdm import tqdm

import framework as fw
from framework import nn, optim
from framework.utils.data import DataLoader
from fw_text import datasets, models, tokenizers, utils
from _common import plot_epochs, save_and_reload


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    with fw.no_grad():
        for flat, offsets, labels in loader:
            pred = model(flat.to(device), offsets.to(device)).argmax(1).cpu().numpy()
            correct += int((pred == labels.numpy()).sum())
            total += len(pred)
    return correct / total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or opencl")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--words-per-language", type=int, default=20000)
    p.add_argument("--buckets", type=int, default=1 << 16, help="hash buckets for the n-grams")
    p.add_argument("--embed-dim", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output folder (default: a new temp folder)")
    args = p.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="text_language_id_")
    os.makedirs(out, exist_ok=True)
    fw.manual_seed(args.seed)
    start = time.perf_counter()

    train = datasets.LanguageID(split="train", words_per_language=args.words_per_language,
                                seed=args.seed)
    test = datasets.LanguageID(split="test", words_per_language=args.words_per_language,
                               seed=args.seed)
    print(f"{len(train)} training / {len(test)} test words, classes {train.classes}")
    ngrams = tokenizers.CharNGramTokenizer((1, 2, 3, 4))
    encode = lambda word: utils.hash_tokens(ngrams(word), args.buckets)  # noqa: E731
    # Hash once up front: the n-grams of a word never change between epochs.
    train_ids = [(encode(w), y) for w, y in tqdm(train, desc="hashing n-grams", leave=False)]
    test_ids = [(encode(w), y) for w, y in test]
    collate = utils.BagCollate(label_first=False)
    train_loader = DataLoader(train_ids, batch_size=args.batch_size, shuffle=True, collate_fn=collate)
    test_loader = DataLoader(test_ids, batch_size=1024, collate_fn=collate)

    def make_model():
        return models.TextClassificationModel(args.buckets, args.embed_dim, len(train.classes))

    model = make_model().to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    history = {"loss": [], "test_acc": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, n = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{args.epochs}")
        for flat, offsets, labels in bar:
            flat, offsets, labels = flat.to(args.device), offsets.to(args.device), labels.to(args.device)
            loss = nn.functional.cross_entropy(model(flat, offsets), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(labels), n + len(labels)
            bar.set_postfix(loss=f"{total / n:.4f}")
        acc = evaluate(model, test_loader, args.device)
        history["loss"].append(total / n)
        history["test_acc"].append(acc)
        print(f"epoch {epoch}: train loss {total / n:.4f}, test accuracy {acc:.2%}")

    ckpt = os.path.join(out, "language_id.safetensors")
    fresh = save_and_reload(model, make_model, ckpt, args.device)
    config = {"buckets": args.buckets, "embed_dim": args.embed_dim, "ngrams": [1, 2, 3, 4],
              "classes": train.classes}
    with open(os.path.join(out, "language_id.json"), "w") as f:
        json.dump(config, f)
    reloaded = evaluate(fresh, test_loader, args.device)
    words = ["weather", "fromage", "schmetterling", "cioccolato", "mariposa"]
    fresh.eval()
    with fw.no_grad():
        flat, offsets, _ = collate([(encode(w), 0) for w in words])
        pred = fresh(flat.to(args.device), offsets.to(args.device)).argmax(1).cpu().numpy()
    print("examples:", ", ".join(f"{w} -> {train.classes[k]}" for w, k in zip(words, pred)))

    plot = plot_epochs(os.path.join(out, "language_id.png"),
                       [("train loss", history["loss"]), ("test accuracy", history["test_acc"])])
    print(f"checkpoint {ckpt} (reloaded: test accuracy {reloaded:.2%}), plot {plot}, "
          f"total {time.perf_counter() - start:.0f} s on {args.device}")


if __name__ == "__main__":
    main()
