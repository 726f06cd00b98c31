"""Checkpoints: save {'epoch', model, optimizer, scheduler} mid-training, resume in fresh
objects and reach the uninterrupted run's weights; a state dict reloaded with map_location."""
import argparse
import json
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
parser.add_argument("--save-final", help="save the trained weights here")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(8)

rng = np.random.default_rng(8)
x = torch.from_numpy(rng.standard_normal((200, 10)).astype(np.float32)).to(device)
y = torch.from_numpy((rng.standard_normal(200) > 0).astype(np.int64)).to(device)
workdir = tempfile.mkdtemp()
if args.save_init:
    torch.save(nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2)).state_dict(), args.save_init)


def make():
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    if args.init:
        model.load_state_dict(torch.load(args.init))
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3, 5], gamma=0.3)
    return model, optimizer, scheduler


def train_epoch(model, optimizer, scheduler):
    for i in range(0, 200, 50):
        loss = F.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    return loss.item()


torch.manual_seed(8)
model, optimizer, scheduler = make()
path = os.path.join(workdir, "checkpoint.pt")
for epoch in range(8):
    loss = train_epoch(model, optimizer, scheduler)
    if epoch == 3:
        torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "loss": loss}, path)

resumed, resumed_opt, resumed_sched = make()
checkpoint = torch.load(path)
resumed.load_state_dict(checkpoint["model_state_dict"])
resumed_opt.load_state_dict(checkpoint["optimizer_state_dict"])
resumed_sched.load_state_dict(checkpoint["scheduler"])
for epoch in range(checkpoint["epoch"] + 1, 8):
    train_epoch(resumed, resumed_opt, resumed_sched)
resume_diff = max((a - b).abs().max().item()
                  for a, b in zip(model.parameters(), resumed.parameters()))

torch.save(model.state_dict(), args.save_final or os.path.join(workdir, "model.pt"))
reloaded = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
reloaded.load_state_dict(torch.load(args.save_final or os.path.join(workdir, "model.pt"),
                                    map_location="cpu"))
reloaded.to(device).eval()
with torch.no_grad():
    reload_diff = (reloaded(x) - model(x)).abs().max().item()
    accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
print("RESULT", json.dumps({"final_loss": loss, "resume_diff": resume_diff, "reload_diff": reload_diff,
                            "accuracy": accuracy, "saved_epoch": checkpoint["epoch"],
                            "lr": resumed_opt.param_groups[0]["lr"]}))
