"""Loaders for the image data the PyTorch parts use (found through the data directory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import data_path


def load_imagenet_classes(data_root=None) -> list[str] | None:
    """The 1000 ImageNet class names in index order from ``imagenet_classes.txt``, or None."""
    path = data_path("imagenet_classes.txt", data_root=data_root)
    if not path.is_file():
        return None
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != 1000:
        raise ValueError(f"{path}: expected 1000 class names, found {len(names)}")
    return names


def load_imagenet_val(num=None, path=None, data_root=None):
    """``(X, y, class_names)`` from the course's ``imagenet_val_25.npz``.

    X: (N, 224, 224, 3) uint8, y: (N,) int, class_names: {index: name} for all 1000 classes
    (from ``imagenet_classes.txt`` when present: the file's own label map lacks index 134).
    """
    path = Path(path) if path is not None else data_path("imagenet_val_25.npz", data_root=data_root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: it is the course's imagenet_val_25.npz "
            "(http://cs231n.stanford.edu/imagenet_val_25.npz); put it in the data directory"
        )
    with np.load(path, allow_pickle=True) as f:
        for key in ("X", "y", "label_map"):
            if key not in f.files:
                raise KeyError(f"{path}: missing array {key!r}")
        X, y, label_map = f["X"], f["y"], f["label_map"].item()
    if num is not None:
        X, y = X[:num], y[:num]
    names = load_imagenet_classes(data_root)
    class_names = dict(enumerate(names)) if names else dict(label_map)
    return X, y, class_names


def load_imagenet_sample(data_root=None, num=None):
    """``(paths, labels)`` of the 1000-image ImageNet sample (``imagenet_sample/labels.tsv``)."""
    folder = data_path("imagenet_sample", data_root=data_root)
    table = folder / "labels.tsv"
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found (the ImageNet sample images)")
    rows = [line.split("\t") for line in table.read_text().splitlines()[1:] if line.strip()]
    rows = rows[:num] if num is not None else rows
    return [folder / r[0] for r in rows], np.array([int(r[1]) for r in rows])
