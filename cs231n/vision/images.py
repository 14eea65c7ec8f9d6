"""The images the network-visualization work takes: image files, or ``val:K`` (image K of the
course's ``imagenet_val_25.npz``), as SqueezeNet's normalised input batch and as the uint8
crops the figures show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data_utils import load_imagenet_val
from ..image_utils import load_image, resize_shorter_side
from ..net_visualization_pytorch import preprocess

MIN_SIDE = 32  # SqueezeNet's smallest useful input; smaller images get a clear error
MAX_SIDE = 20000  # larger images are refused before they are scaled


def load_images(paths, size=224):
    """Images as a (N, 3, size, size) batch (shorter side scaled to ``size``, centre crop) and
    the (size, size, 3) uint8 crops for the figures."""
    crops = []
    for path in paths:
        img = load_image(path)
        if min(img.shape[:2]) < MIN_SIDE:
            raise ValueError(
                f"{path}: {img.shape[1]}x{img.shape[0]} pixels is too small (at least {MIN_SIDE})"
            )
        if max(img.shape[:2]) > MAX_SIDE:
            raise ValueError(f"{path}: {img.shape[1]}x{img.shape[0]} pixels is too large")
        img = np.asarray(resize_shorter_side(img, size))
        h, w = img.shape[:2]
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(img[top : top + size, left : left + size])
    batch = torch.cat([preprocess(c, size=None) for c in crops])
    return batch, np.stack(crops)


def load_inputs(specs, data_root=None):
    """Images from files or ``val:K`` specs, as the command line names them. Returns the
    (N, 3, 224, 224) batch, the uint8 crops, the labels (None for files) and display names
    (``val:K`` or the file's name)."""
    batch_parts, crops, labels, shown = [], [], [], []
    if any(s.startswith("val:") for s in specs):  # the file is read once, and only if needed
        X, y, _ = load_imagenet_val(data_root=data_root)
    for spec in specs:
        if spec.startswith("val:"):
            k = int(spec[4:])
            if not 0 <= k < len(X):
                raise ValueError(f"{spec}: imagenet_val_25 has images 0..{len(X) - 1}")
            batch_parts.append(preprocess(X[k], size=None))
            crops.append(X[k])
            labels.append(int(y[k]))
            shown.append(spec)
        else:
            b, c = load_images([spec])
            batch_parts.append(b)
            crops.append(c[0])
            labels.append(None)
            shown.append(Path(spec).name)
    return torch.cat(batch_parts), np.stack(crops), labels, shown
