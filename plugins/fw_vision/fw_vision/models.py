"""Reference models built with framework.nn: LeNet5, ResNet-18/34 (torchvision's layout and
initialisation, so state-dict keys and parameter counts match), a CIFAR ResNet-18, an MLP."""
from framework import nn
import framework as fw

__all__ = ["LeNet5", "BasicBlock", "ResNet", "resnet18", "resnet34", "resnet18_cifar", "MLP"]


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max-pooling: conv(6,5x5) - pool - conv(16,5x5) - pool - 120 - 84 - classes.

    `input_size` 32 is the classic layout; 28 (MNIST) pads the first convolution by 2 so the
    feature maps are the same (6x28x28 after conv1, 16x5x5 after the second pool).
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28):
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5 takes 28x28 or 32x32 inputs, got input_size={input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet (BasicBlock only). `cifar=True` swaps the 7x7/2 stem and its
    max-pool for one 3x3/1 convolution, the usual layout for 32x32 inputs."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False,
                 in_channels=3, cifar=False):
        super().__init__()
        self.inplanes = 64
        if cifar:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():          # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:            # each block starts as the identity
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(fw.flatten(self.avgpool(x), 1))


def _no_weights(weights, name):
    if weights is not None:
        raise ValueError(f"{name}: pretrained weights are not available in fw_vision (no downloads); "
                         f"load a state dict you have with model.load_state_dict(fw.load(path))")


def resnet18(*, weights=None, progress=True, **kwargs):
    """ResNet-18 (11,689,512 parameters with 1000 classes)."""
    _no_weights(weights, "resnet18")
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(*, weights=None, progress=True, **kwargs):
    """ResNet-34."""
    _no_weights(weights, "resnet34")
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet18_cifar(num_classes=10, **kwargs):
    """ResNet-18 for 32x32 images: 3x3 stem convolution, no max-pool."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, cifar=True, **kwargs)


class MLP(nn.Module):
    """Flatten, then Linear-ReLU(-Dropout) for each hidden size, then Linear to num_classes."""

    def __init__(self, in_features, hidden_features=(256,), num_classes=10, dropout=0.0):
        super().__init__()
        if isinstance(hidden_features, int):
            hidden_features = (hidden_features,)
        layers, width = [nn.Flatten()], in_features
        for h in hidden_features:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
