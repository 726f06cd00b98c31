"""GAN: a generator learns a 1-D Gaussian N(3, 0.5); two optimizers, detach, BCE."""
import argparse
import json

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(5)

netG = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
netD = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
if args.save_init:
    torch.save({"G": netG.state_dict(), "D": netD.state_dict()}, args.save_init)
if args.init:
    checkpoint = torch.load(args.init)
    netG.load_state_dict(checkpoint["G"])
    netD.load_state_dict(checkpoint["D"])
netG.to(device)
netD.to(device)
criterion = nn.BCELoss()
optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-2, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-2, betas=(0.5, 0.999))
batch = 64
real_label, fake_label = 1.0, 0.0

for step in range(300):
    # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
    netD.zero_grad()
    real = 3.0 + 0.5 * torch.randn(batch, 1, device=device)
    label = torch.full((batch, 1), real_label, device=device)
    errD_real = criterion(netD(real), label)
    errD_real.backward()
    fake = netG(torch.randn(batch, 4, device=device))
    label.fill_(fake_label)
    errD_fake = criterion(netD(fake.detach()), label)
    errD_fake.backward()
    optimizerD.step()
    # (2) update G: maximize log(D(G(z)))
    netG.zero_grad()
    label.fill_(real_label)
    errG = criterion(netD(fake), label)
    errG.backward()
    optimizerG.step()

with torch.no_grad():
    samples = netG(torch.randn(2000, 4, device=device))
print("RESULT", json.dumps({"mean": samples.mean().item(), "std": samples.std().item(),
                            "errD": (errD_real + errD_fake).item(), "errG": errG.item()}))
