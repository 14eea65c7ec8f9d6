"""The course's SimCLR network: a ResNet-50 encoder f and a projection head g.

``Model(feature_dim=128)``: the encoder is ResNet-50 with CIFAR-sized input (its first conv is
3x3, stride 1, and the max-pool is dropped, so a 32x32 image keeps 4x4 maps at the last stage)
and without its classifier; it ends in average pooling, giving 2048 features. The head is
Linear(2048, 512, no bias), BatchNorm1d(512), ReLU, Linear(512, feature_dim). ``forward(x)``
takes (N, 3, H, W) float images and returns ``(F.normalize(h), F.normalize(z))``: the encoder's
(N, 2048) features and the head's (N, feature_dim) projection, each row of unit length. 24.62 M
parameters at feature_dim 128, as the course's notebook prints.

The ResNet-50 comes from torchvision where it imports, else from
:mod:`cs231n.pretrained.resnet` (same module names), so the state-dict keys (``f.0.weight`` ...
``g.3.bias``) are the course's and its ``pretrained_simclr_model.pth`` loads either way.

Course: ``cs231n/simclr/model.py`` (2021-2026 editions); Chen et al. 2020 (SimCLR).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..pretrained.resnet import torchvision_or_own

resnet50 = torchvision_or_own("resnet50")


class Model(nn.Module):
    """SimCLR's encoder ``f`` (nn.Sequential of ResNet-50's children but the max-pool and the
    classifier) and projection head ``g``; see the module's docstring."""

    def __init__(self, feature_dim=128):
        super().__init__()
        if isinstance(feature_dim, bool) or not isinstance(feature_dim, int) or feature_dim < 1:
            raise ValueError(f"Model: feature_dim must be a positive int, got {feature_dim!r}")
        self.f = []
        for name, module in resnet50().named_children():
            if name == "conv1":
                module = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            if not isinstance(module, nn.Linear | nn.MaxPool2d):
                self.f.append(module)
        self.f = nn.Sequential(*self.f)
        self.g = nn.Sequential(
            nn.Linear(2048, 512, bias=False),
            nn.BatchNorm1d(512),
            nn.ReLU(inplace=True),
            nn.Linear(512, feature_dim, bias=True),
        )

    def forward(self, x):
        feature = torch.flatten(self.f(x), start_dim=1)
        out = self.g(feature)
        return F.normalize(feature, dim=-1), F.normalize(out, dim=-1)
