"""MNIST-style RNN: a GRU reads each 8x8 digit row by row; OneCycleLR, no_grad accuracy."""
import argparse
import json

import torch
import torch.nn as nn
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
parser.add_argument("--init")
parser.add_argument("--save-init")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(3)

digits = load_digits()
x = torch.Tensor(digits.images / 16.0)            # legacy constructor: float32 (N, 8, 8)
y = torch.LongTensor(digits.target)
train_x, train_y = x[:1200].to(device), y[:1200].to(device)
test_x, test_y = x[1200:].to(device), y[1200:].to(device)


class RowRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(8, 32, batch_first=True)
        self.fc = nn.Linear(32, 10)

    def forward(self, images):
        out, h_n = self.rnn(images)
        return self.fc(h_n[-1])


model = RowRNN()
if args.save_init:
    torch.save(model.state_dict(), args.save_init)
if args.init:
    model.load_state_dict(torch.load(args.init))
model.to(device)
steps, batch = 30, 120
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=steps)
loss_fn = nn.CrossEntropyLoss()

for step in range(steps):
    rows = range(step * batch % 1200, step * batch % 1200 + batch)   # index with a range
    logits = model(train_x[rows])
    loss = loss_fn(logits, train_y[rows])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()

model.eval()
with torch.no_grad():
    predicted = model(test_x).argmax(1)
    accuracy = (predicted == test_y).float().mean().item()
print("RESULT", json.dumps({"train_loss": loss.item(), "accuracy": accuracy}))
