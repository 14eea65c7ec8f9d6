"""SimCLR's data: the course's augmentations and the CIFAR-10 dataset of image pairs.

``compute_train_transform(seed)`` is the course's augmentation for one view: a random resized
crop to 32x32, a horizontal flip (p 0.5), colour jitter (brightness, contrast, saturation 0.4,
hue 0.1) applied with p 0.8, grey with p 0.2, then a tensor normalised with the course's CIFAR-10
means and standard deviations. ``CIFAR10Pair`` gives ``(x_i, x_j, target)``: two augmented views
of one image and its label.

torchvision is used where it imports; otherwise the same transforms come from
:mod:`cs231n.data.transforms` (same parameters and random draws) and ``CIFAR10`` is this module's
dataset over the course's ``load_CIFAR_batch``, with torchvision's constructor ``(root,
train=True, transform=None, target_transform=None, download=False)`` and attributes (``data``
(N, 32, 32, 3) uint8, ``targets``, ``classes``).

Course: ``cs231n/simclr/data_utils.py`` (2021-2026 editions).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..data import assets
from ..data_utils import CIFAR10_FILES, load_CIFAR_batch

try:  # torchvision when it works here; its builds for other torch versions fail to load
    from torchvision import transforms
    from torchvision.datasets import CIFAR10 as _TorchvisionCIFAR10
except Exception:  # noqa: BLE001 (ImportError, or RuntimeError from a mismatched build)
    from ..data import transforms

    _TorchvisionCIFAR10 = None

# The course's normalisation (its CIFAR-10 statistics, as its notebooks give them).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR10_FOLDER = "cifar-10-batches-py"


def compute_train_transform(seed=123456):
    """The augmentation of one SimCLR view (a PIL image in, a (3, 32, 32) float tensor out).

    ``seed`` seeds Python's and PyTorch's global generators (as the course does), so the views
    drawn next are reproducible.
    """
    random.seed(seed)
    torch.random.manual_seed(seed)
    color_jitter = transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(32),
            transforms.RandomHorizontalFlip(p=0.5),
            transforms.RandomApply([color_jitter], p=0.8),
            transforms.RandomGrayscale(p=0.2),
            transforms.ToTensor(),
            transforms.Normalize(list(CIFAR10_MEAN), list(CIFAR10_STD)),
        ]
    )


def compute_test_transform():
    """No augmentation: to a tensor, normalised as in :func:`compute_train_transform`."""
    return transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(list(CIFAR10_MEAN), list(CIFAR10_STD))]
    )


class _CIFAR10(torch.utils.data.Dataset):
    """CIFAR-10 from ``root/cifar-10-batches-py`` (torchvision's layout and constructor).

    ``train``: the 50,000 training images (``data_batch_1`` ... ``data_batch_5``), else the
    10,000 of ``test_batch``. ``download``: fetch the official archive into ``root`` when the
    files are missing (``cs231n data download cifar10`` does the same into the data directory).
    Items are ``(PIL image, int label)`` passed through ``transform``/``target_transform``.
    Raises FileNotFoundError naming the folder when the files are missing and not downloaded.
    """

    base_folder = CIFAR10_FOLDER

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = Path(root).expanduser()
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        folder = self.root / self.base_folder
        names = CIFAR10_FILES[:5] if train else CIFAR10_FILES[5:]
        if download and any(not (folder / n).is_file() for n in names):
            assets.fetch("cifar10", data_root=self.root)
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise FileNotFoundError(
                f"CIFAR-10 not found in {folder} (missing {', '.join(missing)}): pass "
                "download=True, or run `cs231n data download cifar10 --data-dir ROOT`"
            )
        batches = [load_CIFAR_batch(folder / n) for n in names]
        self.data = np.concatenate([X for X, _ in batches]).astype(np.uint8)
        self.targets = [int(y) for _, Y in batches for y in Y]
        self.classes = list(CIFAR10_CLASSES)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = Image.fromarray(self.data[index]), self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


CIFAR10 = _TorchvisionCIFAR10 if _TorchvisionCIFAR10 is not None else _CIFAR10


class CIFAR10Pair(CIFAR10):
    """CIFAR-10 giving two augmented views of each image: ``(x_i, x_j, target)``.

    Both views are ``self.transform`` applied to the same image, each with its own random
    draws (without a transform both are None, as in the course's starter)."""

    def __getitem__(self, index):
        img, target = Image.fromarray(self.data[index]), self.targets[index]
        x_i = x_j = None
        if self.transform is not None:
            x_i = self.transform(img)
            x_j = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return x_i, x_j, target
