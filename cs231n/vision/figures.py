"""The pretrained SqueezeNet and the notebook-style figures of network visualization, shared by
``cs231n saliency``, ``cs231n fool`` and ``cs231n visualize-class`` (over cs231n.vision.images,
.classes and .frameworks), the demo and style transfer."""

from __future__ import annotations

import numpy as np

from ..core.files import save_figure
from ..net_visualization_pytorch import deprocess


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
