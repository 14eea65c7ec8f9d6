"""MNIST-format data: an IDX reader and loaders for Fashion-MNIST and MNIST.

IDX files (``*-images-idx3-ubyte[.gz]``, ``*-labels-idx1-ubyte[.gz]``) start with a magic
number (0x0803 for uint8 images, 0x0801 for uint8 labels) and big-endian dimension sizes; the
reader checks both and the data length, so truncated or corrupt files get a clear error.

Where the data comes from, in order: an explicit folder; ``$CS231N_DATA/fashion-mnist`` (or
``mnist``); Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..core.config import data_path
from .assets import DEBIAN_FASHION_MNIST, fetch
from .download import DownloadError

DEBIAN_DIRS = {"fashion-mnist": DEBIAN_FASHION_MNIST}
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NUM_TRAIN, NUM_VAL = 50000, 5000  # the assignment's split of the 60000 training images


# MNIST's largest file holds 47 MB; a file (or a gzip stream) beyond this is not one of them.
MAX_IDX_BYTES = 256 * 2**20


def read_idx(path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a uint8 array of its declared shape. Raises
    ValueError naming the file when it is not gzip/IDX, truncated, or over MAX_IDX_BYTES."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read(MAX_IDX_BYTES + 1)
        if len(raw) > MAX_IDX_BYTES:
            raise ValueError(f"{path}: more than {MAX_IDX_BYTES} bytes, not an MNIST IDX file")
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as e:  # bad gzip data, truncated gzip stream
        raise ValueError(f"{path}: not a readable IDX file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX data type 0x{raw[2]:02x} is not unsigned bytes (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header declares shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw) - header} bytes (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()  # writable


def _find(folder, stem):
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder}: no {stem}[.gz]")


def dataset_dir(dataset="fashion-mnist", data_root=None) -> Path:
    """The folder holding ``dataset`` ("fashion-mnist", "mnist" or a path)."""
    if dataset not in ("fashion-mnist", "mnist"):
        folder = Path(dataset)
        if not folder.is_dir():
            raise FileNotFoundError(f"MNIST-format data folder not found: {folder}")
        return folder
    candidates = [data_path(dataset, data_root=data_root)]
    if dataset in DEBIAN_DIRS:
        candidates.append(DEBIAN_DIRS[dataset])
    for folder in candidates:
        if folder.is_dir():
            return folder
    hint = (
        "apt-get install dataset-fashion-mnist"
        if dataset == "fashion-mnist"
        else ("download the four IDX files from an MNIST mirror")
    )
    raise FileNotFoundError(
        f"{dataset} not found in {', '.join(map(str, candidates))} ({hint}, or put the IDX files "
        f"in {candidates[0]})"
    )


def load_mnist(dataset="fashion-mnist", split="train", data_root=None):
    """``(images, labels)``: (N, 28, 28) uint8 and (N,) uint8 for split "train" (the first
    50000 training images), "val" (the next 5000), "train-all" (60000) or "test" (10000)."""
    if split not in ("train", "val", "train-all", "test"):
        raise ValueError(f'split must be "train", "val", "train-all" or "test", got {split!r}')
    folder = dataset_dir(dataset, data_root)
    images_stem, labels_stem = FILES["test" if split == "test" else "train"]
    images = read_idx(_find(folder, images_stem))
    labels = read_idx(_find(folder, labels_stem))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    if images.shape[1:] != (28, 28):
        raise ValueError(
            f"{folder}: images are {images.shape[1]}x{images.shape[2]}; the MNIST-format models "
            "need 28x28"
        )
    if len(labels) and labels.max() > 9:
        raise ValueError(f"{folder}: label {int(labels.max())} is outside 0..9")
    if split == "train":
        images, labels = images[:NUM_TRAIN], labels[:NUM_TRAIN]
    elif split == "val":
        images, labels = (
            images[NUM_TRAIN : NUM_TRAIN + NUM_VAL],
            labels[NUM_TRAIN : NUM_TRAIN + NUM_VAL],
        )
    return images, labels


def torch_dataset(images, labels=None):
    """A TensorDataset of (N, 1, 28, 28) float images in [0, 1] (and labels), for DataLoader."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255).unsqueeze(1)
    y = (
        torch.from_numpy(np.asarray(labels, dtype=np.int64))
        if labels is not None
        else torch.zeros(len(x), dtype=torch.long)
    )
    return torch.utils.data.TensorDataset(x, y)


def fetch_mnist(dataset="fashion-mnist", data_root=None, progress=True, mirrors=None):
    """Download the four IDX files of "mnist" or "fashion-mnist" into
    ``$CS231N_DATA/<dataset>`` from the official sources (``mirrors``: base URLs tried in turn
    instead), resumably, each checked against its pinned SHA-256 (:mod:`cs231n.data.assets`); files
    already there that check out are kept. Returns where the data set is."""
    if dataset not in ("mnist", "fashion-mnist"):
        raise ValueError(f'dataset must be "mnist" or "fashion-mnist", got {dataset!r}')
    errors = []
    for base in mirrors or [None]:
        try:
            return fetch(dataset, data_root, progress=progress, url=base)
        except DownloadError as e:
            errors.append(str(e))
    raise DownloadError(" | ".join(errors))
