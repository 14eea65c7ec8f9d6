"""SqueezeNet 1.1 in PyTorch, with torchvision's module layout (no torchvision needed).

``squeezenet1_1(weights=None)`` builds the network; its state-dict keys are torchvision's
(``features.0.weight`` ... ``classifier.1.bias``), so torchvision's pretrained file and the
course's copy load unchanged. Pretrained weights are found, in order: an explicit path;
``$CS231N_DATA/squeezenet1_1.pt`` (or torchvision's file name there); the torch hub cache; a
download from torchvision's official URL, checked against the hash in its file name.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..core.config import data_path
from ..core.torch_utils import check_tensors, resolve_device, torch_load
from ..data.assets import ASSETS
from ..data.download import download

TORCHVISION_URL = "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"
TORCHVISION_FILE = "squeezenet1_1-b8a52dc0.pth"
COURSE_FILE = "squeezenet1_1.pt"
NUM_PARAMETERS = 1_235_496


class Fire(nn.Module):
    """Squeeze (1x1) then expand (1x1 and 3x3, concatenated), as torchvision names them."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [
                self.expand1x1_activation(self.expand1x1(x)),
                self.expand3x3_activation(self.expand3x3(x)),
            ],
            dim=1,
        )


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1 (Iandola et al.): 1000 ImageNet class scores from (N, 3, H, W) images
    normalised with torchvision's mean and std."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128),
            Fire(256, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def find_pretrained_weights(data_root=None) -> Path | None:
    """The first pretrained SqueezeNet 1.1 file found locally, or None."""
    candidates = [
        data_path(COURSE_FILE, data_root=data_root),
        data_path(TORCHVISION_FILE, data_root=data_root),
        Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE,
    ]
    return next((p for p in candidates if p.is_file()), None)


def _download_pretrained() -> Path:
    """torchvision's weights into torch's hub cache, checked against the registry's pinned
    SHA-256 and size (:data:`cs231n.data.assets.ASSETS`); a mismatch leaves nothing behind."""

    pinned = ASSETS["squeezenet"].files[0]
    target = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE
    return download(TORCHVISION_URL, target, expected_size=pinned.size, sha256=pinned.sha256)


def load_state_dict(path) -> dict:
    """A SqueezeNet state dict from ``path`` (``torch.load(weights_only=True)``), checked."""
    state = torch_load(path, "SqueezeNet weights file")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def squeezenet1_1(weights=None, data_root=None, progress=True) -> SqueezeNet:
    """SqueezeNet 1.1 with torchvision's layout.

    weights: None (random initialisation), "DEFAULT" (pretrained: the local copies, else a
    download from torchvision) or a path to a state dict.
    """
    model = SqueezeNet()
    if weights is None:
        return model
    if isinstance(weights, str | os.PathLike) and str(weights).upper() != "DEFAULT":
        path = Path(weights)
    else:
        path = find_pretrained_weights(data_root)
        if path is None:
            try:
                path = _download_pretrained()
            except OSError as e:
                raise FileNotFoundError(
                    "pretrained SqueezeNet 1.1 weights not found: put squeezenet1_1.pt (the "
                    f"course's) or {TORCHVISION_FILE} (torchvision's, from {TORCHVISION_URL}) in "
                    f"the data directory ({data_path(data_root=data_root)}) or pass a path "
                    f"({e})"
                ) from None
    state = load_state_dict(path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: not a SqueezeNet 1.1 state dict (missing {missing[:4]}, unexpected "
            f"{unexpected[:4]})"
        )
    for key, value in state.items():
        if (
            not torch.is_tensor(value)
            or value.is_floating_point() != expected[key].is_floating_point()
        ):
            raise ValueError(
                f"{path}: {key} is {getattr(value, 'dtype', type(value).__name__)}, SqueezeNet "
                f"1.1 needs {expected[key].dtype}"
            )
        if value.shape != expected[key].shape:
            raise ValueError(
                f"{path}: {key} has shape {tuple(value.shape)}, SqueezeNet 1.1 needs "
                f"{tuple(expected[key].shape)}"
            )
    check_tensors(path, state)
    model.load_state_dict(state)
    return model


def load_model(weights="DEFAULT", data_root=None, device=None):
    """The pretrained SqueezeNet in eval mode on ``device`` with frozen parameters."""
    device = resolve_device(device)
    model = squeezenet1_1(weights, data_root=data_root).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
