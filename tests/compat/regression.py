"""Regression: an MLP fits a noisy quadratic; SGD with momentum, StepLR, gradient clipping."""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init", help="load the initial weights from this state dict")
parser.add_argument("--save-init", help="save the initial weights here")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(0)

rng = np.random.default_rng(0)
x = rng.uniform(-2, 2, size=(256, 1)).astype(np.float32)
y = (0.5 * x ** 2 - x + 0.3 + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=32)

model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
if args.save_init:
    torch.save(model.state_dict(), args.save_init)
if args.init:
    model.load_state_dict(torch.load(args.init))
model = model.to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)


def evaluate():
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x).to(device))
        loss = F.mse_loss(pred, torch.from_numpy(y).to(device))
    model.train()
    return loss.item()


init_loss = evaluate()
for epoch in range(25):
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = F.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    scheduler.step()

print("RESULT", json.dumps({"init_loss": init_loss, "final_loss": evaluate(),
                            "lr": optimizer.param_groups[0]["lr"]}))
