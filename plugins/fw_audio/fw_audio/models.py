"""Reference audio classifiers.

- M5: the raw-waveform 1-D CNN of the torchaudio speech-command tutorial (Dai et al. 2017,
  "Very deep CNNs for raw waveforms"): an 80-tap, stride-16 first convolution, then three
  3-tap convolutions, each with batch norm, ReLU and 4x max pooling.
- MelCNN: a small 2-D CNN on [batch, 1, n_mels, frames] log-mel spectrograms.
"""
from framework import nn
from framework.nn import functional as F

__all__ = ["M5", "MelCNN", "m5", "mel_cnn"]


class M5(nn.Module):
    """Input [batch, n_input, samples] (8 kHz in the tutorial; 16 kHz works too). Output, as in
    the tutorial, log-probabilities of shape [batch, 1, n_output] (use `.squeeze(1)` with
    nll_loss)."""

    def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
        self.bn4 = nn.BatchNorm1d(2 * n_channel)
        self.pool4 = nn.MaxPool1d(4)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x):
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F.relu(self.bn2(self.conv2(x))))
        x = self.pool3(F.relu(self.bn3(self.conv3(x))))
        x = self.pool4(F.relu(self.bn4(self.conv4(x))))
        x = F.avg_pool1d(x, x.shape[-1])            # global average over time
        x = self.fc1(x.permute(0, 2, 1))
        return F.log_softmax(x, dim=2)


class MelCNN(nn.Module):
    """Conv(3x3)-BN-ReLU-MaxPool(2) blocks, global average pooling, dropout, a linear layer.
    Input [batch, 1, n_mels, frames] (log-mel, e.g. AmplitudeToDB of MelSpectrogram);
    output logits [batch, n_classes]. Any n_mels/frames at least 2**len(channels)."""

    def __init__(self, n_classes=10, in_channels=1, channels=(16, 32, 64), dropout=0.2):
        super().__init__()
        layers, c = [], in_channels
        for width in channels:
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(), nn.MaxPool2d(2)]
            c = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, n_classes)

    def forward(self, x):
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))


def m5(**kwargs):
    return M5(**kwargs)


def mel_cnn(**kwargs):
    return MelCNN(**kwargs)
