"""Spoken-digit recognition on SYNTHETIC speech (eSpeak NG voices), tested on held-out voices.

    python examples/audio_spoken_digits.py --clips 3000 --epochs 20 --device cpu

1. fw_audio.datasets.SpokenDigits makes `--clips` clips ("zero".."nine" x clips/10 speakers,
   each an accent x voice variant x speed x pitch) with espeak-ng, 16 kHz, in the Speech
   Commands layout; the testing/validation lists hold out whole speakers.
2. Features: 40-band log-mel spectrograms (25 ms windows, 16 ms hop) of the first second,
   computed with fw_audio.transforms on the chosen device.
3. A small 2-D CNN (fw_audio.models.MelCNN) trained with Adam, SpecAugment masks and random
   time shifts; the best epoch on validation speakers is checkpointed with fw.save and then
   scored on the test speakers. A loss/accuracy plot is written as PNG.

This is synthesised speech: the accuracy says nothing about recorded human speech.
"""
import argparse
import os
import sys
import time

import numpy as np

import framework as fw
from framework import nn, optim
from framework.nn import functional as F

from fw_audio import datasets, models, transforms
from _common import save_figure, subplots

CLIP = 16000  # 1 s at 16 kHz (espeak's digits last 0.4-1.1 s)


def features(ds, device, batch=256):
    """All clips of `ds` as [N, 1, 40, frames] log-mel tensors on `device` and labels."""
    mel = nn.Sequential(transforms.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=256,
                                                  n_mels=40),
                        transforms.AmplitudeToDB(top_db=80)).to(device)
    waves, labels = [], []
    for i in range(len(ds)):
        w, sr, label, _, _ = ds[i]
        w = w[0].numpy()[:CLIP]
        waves.append(np.pad(w, (0, CLIP - len(w))))
        labels.append(datasets.SpokenDigits.label_index(label))
    out = []
    with fw.no_grad():
        for i in range(0, len(waves), batch):
            x = fw.tensor(np.stack(waves[i:i + batch]), device=device)
            out.append(mel(x).unsqueeze(1))
    return fw.cat(out), fw.tensor(labels, device=device)


def augment(x, time_mask, freq_mask):
    """Random circular time shift of up to 6 frames, then SpecAugment masks."""
    shift = int(np.random.randint(-6, 7))
    x = fw.roll(x, shift, dims=3)
    return time_mask(freq_mask(x))


def evaluate(model, x, y, batch=256):
    model.eval()
    correct, loss = 0, 0.0
    with fw.no_grad():
        for i in range(0, len(y), batch):
            out = model(x[i:i + batch])
            loss += F.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(y), loss / len(y)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default=os.path.join(os.path.expanduser("~"), ".cache", "fw", "audio"))
    p.add_argument("--clips", type=int, default=3000, help="clips to generate (10 per speaker)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--device", default="cpu", help="cpu | opencl | ...")
    p.add_argument("--workers", type=int, default=None, help="espeak-ng processes")
    p.add_argument("--out", default=os.path.join("runs", "audio_spoken_digits"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from tqdm import tqdm

    fw.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    full = datasets.SpokenDigits(args.root, num_speakers=args.clips // 10, num_workers=args.workers)
    t_gen = time.time() - t0
    print(f"generated {full.generated} new clips ({len(full)} in all) in {t_gen:.1f} s "
          f"-> {full._path}")
    # the same call with a subset only reads (every file is there now)
    splits = {s: datasets.SpokenDigits(args.root, subset=s, num_speakers=args.clips // 10)
              for s in ("training", "validation", "testing")}
    n_spk = {k: len({os.path.basename(f).split("_nohash_")[0] for f in v._walker})
             for k, v in splits.items()}
    print("clips / speakers: " + ", ".join(f"{k} {len(v)} / {n_spk[k]}" for k, v in splits.items()))

    t1 = time.time()
    data = {k: features(v, args.device) for k, v in splits.items()}
    mean, std = data["training"][0].mean().item(), data["training"][0].std().item()
    data = {k: ((x - mean) / std, y) for k, (x, y) in data.items()}
    print(f"log-mel features {tuple(data['training'][0].shape)} in {time.time() - t1:.1f} s")

    model = models.MelCNN(n_classes=10).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    time_mask, freq_mask = transforms.TimeMasking(8), transforms.FrequencyMasking(6)
    xtr, ytr = data["training"]
    history, best = [], -1.0
    ckpt = os.path.join(args.out, "mel_cnn.safetensors")
    t2 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = fw.randperm(len(ytr)).to(args.device)
        total, seen = 0.0, 0
        bar = tqdm(range(0, len(ytr), args.batch_size), desc=f"epoch {epoch}/{args.epochs}",
                   leave=False, file=sys.stdout)
        for i in bar:
            idx = perm[i:i + args.batch_size]
            x, y = augment(xtr[idx], time_mask, freq_mask), ytr[idx]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        sched.step()
        val_acc, val_loss = evaluate(model, *data["validation"])
        history.append((epoch, total / seen, val_loss, val_acc))
        if val_acc >= best:
            best = val_acc
            fw.save(model.state_dict(), ckpt)
        print(f"epoch {epoch:2d}  train loss {total / seen:.3f}  val loss {val_loss:.3f}  "
              f"val acc {val_acc:.1%}  ({time.time() - t2:.0f} s)")
    t_train = time.time() - t2

    model.load_state_dict(fw.load(ckpt))
    test_acc, _ = evaluate(model, *data["testing"])
    print(f"test accuracy on {n_spk['testing']} held-out voices: {test_acc:.1%} "
          f"(best val {best:.1%}; chance 10%)  [synthetic espeak-ng speech]")
    print(f"time: generation {t_gen:.0f} s, training {t_train:.0f} s, total "
          f"{time.time() - t0:.0f} s on {args.device}; checkpoint {ckpt}")

    h = np.array(history)
    fig, (a1, a2) = subplots(figsize=(10, 4))
    a1.plot(h[:, 0], h[:, 1], label="train")
    a1.plot(h[:, 0], h[:, 2], label="validation")
    a1.set_xlabel("epoch"), a1.set_ylabel("cross-entropy"), a1.legend()
    a2.plot(h[:, 0], h[:, 3], label="validation")
    a2.axhline(test_acc, color="k", ls="--", label=f"test (best epoch) {test_acc:.1%}")
    a2.set_xlabel("epoch"), a2.set_ylabel("accuracy"), a2.set_ylim(0, 1), a2.legend()
    save_figure(fig, os.path.join(args.out, "curves.png"),
                "MelCNN on espeak-ng spoken digits (held-out voices)")
    return test_acc


if __name__ == "__main__":
    main()
