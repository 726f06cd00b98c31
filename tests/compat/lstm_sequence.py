"""Sequence prediction: an LSTM reads windows of a sine wave and predicts the next value."""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(2)

t = np.linspace(0, 16 * np.pi, 801, dtype=np.float32)
wave = np.sin(t) * 0.8
windows = np.stack([wave[i:i + 21] for i in range(0, 780, 10)])      # (78, 21)
inputs = torch.from_numpy(windows[:, :-1, None]).to(device)           # (78, 20, 1)
targets = torch.from_numpy(windows[:, 1:, None]).to(device)


class Predictor(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(out), state


model = Predictor()
if args.save_init:
    torch.save(model.state_dict(), args.save_init)
if args.init:
    model.load_state_dict(torch.load(args.init))
model = model.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.MSELoss()

for step in range(40):
    optimizer.zero_grad()
    pred, _ = model(inputs)
    loss = criterion(pred, targets)
    loss.backward()
    optimizer.step()

# free-running generation: feed predictions back in, carrying (h, c)
model.eval()
with torch.no_grad():
    _, state = model(inputs[:1, :10])
    x = inputs[:1, 10:11]
    generated = []
    for i in range(10):
        x, state = model(x, state)
        generated.append(x.item())
gen_error = float(np.abs(np.array(generated) - windows[0, 11:21]).mean())
print("RESULT", json.dumps({"train_loss": loss.item(), "generation_error": gen_error,
                            "h_norm": state[0].norm().item()}))
