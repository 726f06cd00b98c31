"""Transformer language model on characters: causal mask, embeddings, cross-entropy."""
import argparse
import json
import math

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(7)

text = "the quick brown fox jumps over the lazy dog. " * 12
vocab = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(vocab)}
data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
seq_len, batch = 16, 8


class TransformerLM(nn.Module):
    def __init__(self, ntoken, d_model=32, nhead=4, nlayers=2):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(ntoken, d_model)
        self.pos = nn.Parameter(torch.zeros(1, seq_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, nlayers)
        self.decoder = nn.Linear(d_model, ntoken)

    def forward(self, src, mask):
        x = self.embedding(src) * math.sqrt(self.d_model) + self.pos[:, :src.size(1)]
        return self.decoder(self.encoder(x, mask=mask))


model = TransformerLM(len(vocab))
if args.save_init:
    torch.save(model.state_dict(), args.save_init)
if args.init:
    model.load_state_dict(torch.load(args.init))
model.to(device)
mask = nn.Transformer.generate_square_subsequent_mask(seq_len).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=30)
criterion = nn.CrossEntropyLoss()
starts = torch.arange(0, len(data) - seq_len - 1, 7)

for step in range(30):
    idx = starts[(torch.arange(batch) + step * batch) % len(starts)]
    src = torch.stack([data[i:i + seq_len] for i in idx.tolist()]).to(device)
    tgt = torch.stack([data[i + 1:i + seq_len + 1] for i in idx.tolist()]).to(device)
    output = model(src, mask)
    loss = criterion(output.view(-1, len(vocab)), tgt.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optimizer.step()
    scheduler.step()

# greedy continuation, the causal mask from torch.triu this time
model.eval()
with torch.no_grad():
    context = data[:seq_len].unsqueeze(0).to(device)
    causal = torch.triu(torch.full((seq_len, seq_len), float("-inf")), diagonal=1).to(device)
    logits = model(context, causal)
    greedy = "".join(vocab[i] for i in logits[0].argmax(-1).tolist())
    accuracy = (logits[0].argmax(-1) == data[1:seq_len + 1].to(device)).float().mean().item()
print("RESULT", json.dumps({"train_loss": loss.item(), "next_char_accuracy": accuracy,
                            "greedy": greedy}))
