"""What ``cs231n saliency``, ``cs231n fool`` and ``cs231n visualize-class`` do, as functions:
model and image loading, class-name lookup, and the notebook-style figures."""

from __future__ import annotations

import numpy as np
import torch

from .data_utils import load_imagenet_classes
from .image_utils import load_image, resize_shorter_side
from .io_utils import save_figure
from .models import default_device, squeezenet1_1
from .net_visualization_pytorch import deprocess, preprocess

MIN_SIDE = 32  # SqueezeNet's smallest useful input; smaller images get a clear error


def load_model(weights="DEFAULT", data_root=None, device=None):
    """The pretrained SqueezeNet in eval mode on ``device`` with frozen parameters."""
    device = torch.device(device) if device is not None else default_device()
    model = squeezenet1_1(weights, data_root=data_root).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def class_names(data_root=None):
    names = load_imagenet_classes(data_root)
    return names if names is not None else [f"class {i}" for i in range(1000)]


def resolve_class(text, names):
    """A class index from an index ("76") or a name ("tarantula", "stingray", "great white
    shark"): exact match on any of a class's comma-separated names, else a unique substring."""
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise ValueError(f"class index {index} outside [0, {len(names)})")
        return index
    wanted = text.lower()
    exact = [i for i, n in enumerate(names) if wanted in (s.strip().lower() for s in n.split(","))]
    if len(exact) == 1:
        return exact[0]
    partial = [i for i, n in enumerate(names) if wanted in n.lower()]
    if len(partial) == 1:
        return partial[0]
    found = exact or partial
    if not found:
        raise ValueError(f"no ImageNet class matches {text!r}")
    listing = "; ".join(f"{i}: {names[i]}" for i in found[:8])
    raise ValueError(f"{text!r} matches {len(found)} classes ({listing}); give the index")


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
        if max(img.shape[:2]) > 20000:
            raise ValueError(f"{path}: {img.shape[1]}x{img.shape[0]} pixels is too large")
        img = np.asarray(resize_shorter_side(img, size))
        h, w = img.shape[:2]
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(img[top : top + size, left : left + size])
    batch = torch.cat([preprocess(c, size=None) for c in crops])
    return batch, np.stack(crops)


def _figure(rows, cols, scale=2.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(scale * cols, scale * rows + 0.3), dpi=100)
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes


def saliency_figure(path, images, maps, titles):
    """The notebook's layout: images on the first row, then one row of maps per method."""
    fig, axes = _figure(1 + len(maps), len(images))
    for j, (img, title) in enumerate(zip(images, titles, strict=True)):
        axes[0, j].imshow(img)
        axes[0, j].set_title(title, fontsize=8)
        for i, (method, m) in enumerate(maps.items(), start=1):
            axes[i, j].imshow(np.abs(m[j]), cmap="hot")  # IG is signed: show magnitude
            if j == 0:
                axes[i, j].text(
                    -8, m[j].shape[0] / 2, method, rotation=90, ha="right", va="center", fontsize=8
                )
    fig.tight_layout()
    return save_figure(fig, path)


def fooling_figure(path, original, fooled, titles):
    """Original, fooling image, their difference, and the difference magnified 10x."""
    fig, axes = _figure(1, 4, scale=2.6)
    diff = fooled.astype(np.float32) - original.astype(np.float32)
    panels = [
        (original, titles[0]),
        (fooled, titles[1]),
        (np.clip(diff / max(np.abs(diff).max(), 1e-6) / 2 + 0.5, 0, 1), "Difference"),
        (np.clip(10 * diff / 255 / 2 + 0.5, 0, 1), "Magnified difference (10x)"),
    ]
    for ax, (img, title) in zip(axes[0], panels, strict=True):
        ax.imshow(img)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def image_figure(path, img_tensor, title):
    fig, axes = _figure(1, 1, scale=4)
    axes[0, 0].imshow(deprocess(img_tensor.cpu()))
    axes[0, 0].set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def top_prediction(model, x, names):
    with torch.no_grad():
        probs = torch.softmax(model(x.to(next(model.parameters()).device)), dim=1).cpu()
    p, idx = probs.max(dim=1)
    return [(int(i), names[int(i)], float(q)) for i, q in zip(idx, p, strict=True)]
