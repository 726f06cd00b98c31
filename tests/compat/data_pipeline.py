"""Data pipeline: a custom Dataset, DataLoader with 2 workers and a lambda collate_fn,
per-class feature sums with index_add_, a classifier trained with LambdaLR."""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(9)


class Digits(Dataset):
    def __init__(self):
        digits = load_digits()
        self.features = digits.data.astype(np.float32) / 16.0
        self.labels = digits.target.tolist()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.features[i], self.labels[i]


dataset = Digits()
loader = DataLoader(dataset, batch_size=100, shuffle=True, num_workers=2,
                    collate_fn=lambda batch: (torch.Tensor(np.stack([b[0] for b in batch])),
                                              torch.tensor([b[1] for b in batch])))

model = nn.Linear(64, 10)
if args.save_init:
    torch.save(model.state_dict(), args.save_init)
if args.init:
    model.load_state_dict(torch.load(args.init))
model = model.to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.7 ** epoch)
class_sums = torch.zeros(10, 64, device=device)
counts = torch.zeros(10, device=device)

for epoch in range(3):
    for features, labels in loader:
        features, labels = features.to(device), labels.to(device)
        if epoch == 0:
            class_sums.index_add_(0, labels, features)
            counts.index_add_(0, labels, torch.ones_like(labels, dtype=torch.float))
        loss = nn.functional.cross_entropy(model(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()

means = class_sums / counts[:, None]
everything = torch.Tensor(dataset.features).to(device)
labels = torch.tensor(dataset.labels, device=device)
with torch.no_grad():
    accuracy = (model(everything).argmax(1) == labels).float().mean().item()
    # nearest class mean, from the index_add_ sums
    nearest = torch.cdist(everything, means).argmin(dim=1)
    centroid_accuracy = (nearest == labels).float().mean().item()
print("RESULT", json.dumps({"accuracy": accuracy, "centroid_accuracy": centroid_accuracy,
                            "class_sum_total": class_sums.sum().item(), "counts": counts.tolist()}))
