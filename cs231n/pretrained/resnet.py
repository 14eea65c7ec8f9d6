"""ResNet-18/34/50 in PyTorch with torchvision's module names (no torchvision needed).

The modules are named and ordered as in ``torchvision.models.resnet`` (``conv1``, ``bn1``,
``relu``, ``maxpool``, ``layer1`` ... ``layer4``, ``avgpool``, ``fc``; blocks with ``conv1``,
``bn1``, ... ``downsample.0``/``downsample.1``), so a state dict saved from torchvision's
``resnet50()`` loads here unchanged, and the course's SimCLR ``Model``, which walks
``resnet50().named_children()``, builds the same encoder with either. Weights are initialised as
torchvision does (Kaiming-normal convolutions, BatchNorm at weight 1 and bias 0).

Source: He et al. 2016, "Deep Residual Learning for Image Recognition"; torchvision's
``models/resnet.py`` (v1.5: the stride of a downsampling bottleneck sits on its 3x3 conv).
"""

from __future__ import annotations

from torch import nn


def _conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, and a shortcut (ResNet-50)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet: ``block`` (BasicBlock or Bottleneck), ``layers`` (blocks per
    stage), ``num_classes`` outputs of ``fc``, ``in_channels`` of the input image, and
    ``base_width``: the first stage's channels (64 in torchvision; the stages double it), smaller
    for a network that trains on a CPU.

    Input (N, in_channels, H, W) float; output (N, num_classes) logits. The stem (7x7 stride-2
    conv, 3x3 stride-2 max-pool) divides H and W by 4, the stages by 8 more."""

    def __init__(self, block, layers, num_classes=1000, in_channels=3, base_width=64):
        super().__init__()
        w = base_width
        self.inplanes = w
        self.conv1 = nn.Conv2d(in_channels, w, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, w, layers[0])
        self.layer2 = self._make_layer(block, 2 * w, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * w, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * w, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * w * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes=1000, in_channels=3) -> ResNet:
    """ResNet-18 (11.69 M parameters at 1000 classes, as torchvision's)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels)


def resnet34(num_classes=1000, in_channels=3) -> ResNet:
    """ResNet-34 (21.80 M parameters at 1000 classes)."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels)


def resnet50(num_classes=1000, in_channels=3) -> ResNet:
    """ResNet-50 (25.56 M parameters at 1000 classes, as torchvision's)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels)


ARCHITECTURES = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}


def torchvision_or_own(name: str):
    """The constructor ``name`` ("resnet18", "resnet34", "resnet50") from torchvision when it
    imports, else this module's (same module names and state-dict keys)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown ResNet {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    try:
        from torchvision.models import resnet as tv_resnet
    except Exception:  # absent, or a build for another torch (CUDA-only ops failing to load)
        return ARCHITECTURES[name]
    return getattr(tv_resnet, name)
