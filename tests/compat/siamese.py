"""Siamese network: a shared encoder and a contrastive loss on pairs of 8x8 digits."""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(6)

digits = load_digits()
rng = np.random.default_rng(6)
first = rng.integers(0, len(digits.target), 600)
second = np.where(rng.random(600) < 0.5, first[rng.permutation(600)], rng.integers(0, len(digits.target), 600))
# half the pairs share a class: pick a partner of the same digit
for i in range(0, 600, 2):
    same = np.flatnonzero(digits.target == digits.target[first[i]])
    second[i] = same[rng.integers(0, len(same))]
images = torch.tensor(digits.data / 16.0, dtype=torch.float32)
x1, x2 = images[first].to(device), images[second].to(device)
same_class = torch.tensor(digits.target[first] == digits.target[second]).float().to(device)


class SiameseNet(nn.Module):
    def __init__(self):
        super().__init__()
        # no bias where it can't change the loss (before BatchNorm; the embedding, since only
        # distances count): its gradient would be pure rounding noise, which RMSprop's
        # normalised first step turns into +-10 lr
        self.encoder = nn.Sequential(nn.Linear(64, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU(),
                                     nn.Linear(64, 16, bias=False))

    def forward(self, a, b):
        return self.encoder(a), self.encoder(b)


def contrastive_loss(out1, out2, label, margin=2.0):
    distance = F.pairwise_distance(out1, out2)
    return torch.mean(label * distance.pow(2) +
                      (1 - label) * torch.clamp(margin - distance, min=0.0).pow(2))


net = SiameseNet()
if args.save_init:
    torch.save(net.state_dict(), args.save_init)
if args.init:
    net.load_state_dict(torch.load(args.init))
net = net.to(device)
optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.95)

for epoch in range(8):
    net.train()
    for start in range(0, 500, 100):
        out1, out2 = net(x1[start:start + 100], x2[start:start + 100])
        loss = contrastive_loss(out1, out2, same_class[start:start + 100])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()

net.eval()
with torch.no_grad():
    out1, out2 = net(x1[500:], x2[500:])
    distance = F.pairwise_distance(out1, out2)
    predicted_same = (distance < 1.0).float()
    accuracy = (predicted_same == same_class[500:]).float().mean().item()
print("RESULT", json.dumps({"train_loss": loss.item(), "pair_accuracy": accuracy,
                            "mean_distance": distance.mean().item()}))
