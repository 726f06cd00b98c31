"""VAE on 8x8 digits: reparameterisation with randn_like, BCE reconstruction + KL loss."""
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(4)

data = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
loader = DataLoader(TensorDataset(data), batch_size=128, shuffle=True)


class VAE(nn.Module):
    def __init__(self, latent=4):
        super().__init__()
        self.enc = nn.Linear(64, 48)
        self.mu = nn.Linear(48, latent)
        self.logvar = nn.Linear(48, latent)
        self.dec1 = nn.Linear(latent, 48)
        self.dec2 = nn.Linear(48, 64)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def forward(self, x):
        h = F.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        z = self.reparameterize(mu, logvar)
        return torch.sigmoid(self.dec2(F.relu(self.dec1(z)))), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


model = VAE()
if args.save_init:
    torch.save(model.state_dict(), args.save_init)
if args.init:
    model.load_state_dict(torch.load(args.init))
model = model.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

for epoch in range(6):
    model.train()
    train_loss = 0.0
    for (x,) in loader:
        x = x.to(device)
        optimizer.zero_grad()
        recon, mu, logvar = model(x)
        loss = loss_function(recon, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()

model.eval()
with torch.no_grad():
    x = data.to(device)
    recon, mu, logvar = model(x)
    eval_loss = loss_function(model.dec2(F.relu(model.dec1(mu))).sigmoid(), x, mu, logvar).item()
    samples = model.dec2(F.relu(model.dec1(torch.randn(16, 4, device=device)))).sigmoid()
print("RESULT", json.dumps({"train_loss": train_loss / len(data), "eval_loss": eval_loss / len(data),
                            "sample_mean": samples.mean().item()}))
