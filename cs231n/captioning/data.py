"""The captioning data: the course's COCO files when present, else the built-in Shapes set; the
small random set the notebooks overfit; checks of a data dict before training."""

from __future__ import annotations

from ..coco_utils import (
    all_finite,
    check_vocabulary,
    decode_captions,
    load_coco_data,
    load_coco_vocab,
    random_caption_data,
)
from ..core.config import data_path
from ..data.assets import missing_files
from . import shapes


def check_caption_data(data, where="the data"):
    """What training relies on, for a data dict that did not come from load_coco_data (which
    checks its files): a consistent vocabulary, and finite features."""

    for key in ("idx_to_word", "word_to_idx", "train_captions", "train_features"):
        if key not in data:
            raise KeyError(f"{where}: no {key!r}")
    check_vocabulary(data["idx_to_word"], data["word_to_idx"], where)
    for split in ("train", "val"):
        key = f"{split}_features"
        if key in data and not all_finite(data[key]):
            raise ValueError(f"{where}: {key} hold NaN or infinite values")


def small_caption_data(num_train=50, seed=231, data_root=None):
    """50 captions in the COCO format to overfit on, and a description of where they came from.

    Uses the real COCO vocabulary when ``coco2014_vocab.json`` is in the data directory; the
    features and captions are random (the COCO HDF5 files are not needed).
    """
    path = data_path("coco_captioning", "coco2014_vocab.json", data_root=data_root)
    if path.exists():
        vocab = load_coco_vocab(path)
        source = f"random captions over the COCO vocabulary ({path})"
    else:
        vocab = None
        source = "random captions over a placeholder 1004-word vocabulary"
    return random_caption_data(num_train=num_train, vocab=vocab, seed=seed), source


def coco_available(data_root=None) -> bool:
    """Whether the course's COCO files are in the data directory."""

    return not missing_files("coco", data_root=data_root)


def load_caption_data(
    source="auto", data_root=None, max_train=None, log=None, shapes_size=(4000, 500), seed=None
):
    """``(data, name)`` for ``source`` "coco" (the course's files), "builtin" (the Shapes data
    set, generated in the cache on first use) or "auto" (COCO when present, else the built-in
    set). ``shapes_size``: the built-in set's ``(num_train, num_val)`` images. ``max_train``
    captions are drawn with replacement, from ``seed`` when given (the same each time)."""

    if source not in ("auto", "coco", "builtin"):
        raise ValueError(f'data source must be "auto", "coco" or "builtin", got {source!r}')
    if source == "coco" or (source == "auto" and coco_available(data_root)):
        folder = data_path("coco_captioning", data_root=data_root)
        return load_coco_data(folder, max_train, seed=seed), "coco"
    num_train, num_val = shapes_size
    data = shapes.load_data(
        max_train=max_train, num_train=num_train, num_val=num_val, log=log, sample_seed=seed
    )
    return data, "builtin"


def references_by_image(data, split="val"):
    """{image index: [ground-truth caption, ...]} for the images that have captions."""

    refs = {}
    texts = decode_captions(data[f"{split}_captions"], data["idx_to_word"])
    for idx, text in zip(data[f"{split}_image_idxs"], texts, strict=True):
        refs.setdefault(int(idx), []).append(strip_tokens(text))
    return refs


def strip_tokens(text):
    """``text`` without the special tokens <START>, <END> and <NULL>."""
    return " ".join(w for w in text.split() if w not in ("<START>", "<END>", "<NULL>"))
