"""Loaders for the image data the PyTorch parts use (found through the data directory)."""

from __future__ import annotations

import pickle
import zipfile
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
    try:
        with np.load(path, allow_pickle=False) as f:
            for key in ("X", "y", "label_map"):
                if key not in f.files:
                    raise KeyError(f"{path}: missing array {key!r}")
            X, y = f["X"], f["y"]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    if X.ndim != 4 or X.shape[-1] != 3 or X.dtype != np.uint8 or min(X.shape[1:3], default=0) < 1:
        raise ValueError(f"{path}: X must be (N, H, W, 3) uint8 images, got {X.shape} {X.dtype}")
    if (
        y.shape != (len(X),)
        or y.dtype.kind not in "iu"
        or (y.size and not 0 <= y.min() <= y.max() < 1000)
    ):
        raise ValueError(
            f"{path}: y must be {len(X)} integer ImageNet labels in [0, 1000), got shape {y.shape} "
            f"{y.dtype}"
            + (f" from {y.min()} to {y.max()}" if y.size and y.dtype.kind in "iu" else "")
        )
    label_map = read_label_map(path)
    if num is not None:
        X, y = X[:num], y[:num]
    names = load_imagenet_classes(data_root)
    class_names = dict(enumerate(names)) if names else dict(label_map)
    return X, y, class_names


class _LabelMapUnpickler(pickle.Unpickler):
    """Unpickles the course's ``label_map`` array and nothing else: only the numpy constructors
    an object array's pickle names are admitted, so a crafted file cannot run code."""

    ALLOWED = {
        (module, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    } | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"label_map may not refer to {module}.{name}")
        return super().find_class(module, name)


def read_label_map(path) -> dict[int, str]:
    """``label_map`` of an ``imagenet_val_25.npz`` (a pickled dict in an object array) as
    {int: str}, read without running any code the file might carry (np.load's
    ``allow_pickle=True`` would run it). ValueError when it is anything else."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf, zf.open("label_map.npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            _, _, dtype = read_header(f)
            if dtype.kind != "O":
                raise ValueError(f"dtype {dtype}, expected a pickled dict")
            value = _LabelMapUnpickler(f).load()
    except (pickle.UnpicklingError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: label_map is not a dict of class names ({e})") from None
    value = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    if not isinstance(value, dict) or not all(
        isinstance(k, int | np.integer) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{path}: label_map is not a dict of int -> str")
    return {int(k): str(v) for k, v in value.items()}


def load_imagenet_sample(data_root=None, num=None):
    """``(paths, labels)`` of the 1000-image ImageNet sample (``imagenet_sample/labels.tsv``)."""
    folder = data_path("imagenet_sample", data_root=data_root)
    table = folder / "labels.tsv"
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found (the ImageNet sample images)")
    rows = [line.split("\t") for line in table.read_text().splitlines()[1:] if line.strip()]
    rows = rows[:num] if num is not None else rows
    return [folder / r[0] for r in rows], np.array([int(r[1]) for r in rows])
