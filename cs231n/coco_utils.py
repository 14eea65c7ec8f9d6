"""COCO captioning data in the course's format, and helpers to sample and decode it.

A data dict holds ``{split}_captions`` (M, 17) int32 word ids, ``{split}_image_idxs`` (M,)
int32 rows of ``{split}_features`` (images, D) float32, optional ``{split}_urls``, and the
vocabulary ``idx_to_word`` / ``word_to_idx`` with ``<NULL>``=0, ``<START>``=1, ``<END>``=2,
``<UNK>``=3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import data_path

SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")


def default_coco_dir() -> Path:
    """``$CS231N_DATA/coco_captioning``."""
    return data_path("coco_captioning")


def load_coco_vocab(path=None) -> tuple[list[str], dict[str, int]]:
    """``(idx_to_word, word_to_idx)`` from ``coco2014_vocab.json``."""
    path = Path(path) if path is not None else default_coco_dir() / "coco2014_vocab.json"
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"COCO vocabulary not found: {path} (set CS231N_DATA to a folder holding "
            "coco_captioning/, or run `cs231n data download coco` when online)"
        ) from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    for key in ("idx_to_word", "word_to_idx"):
        if key not in vocab:
            raise KeyError(f"{path}: missing key {key!r}")
    return list(vocab["idx_to_word"]), {w: int(i) for w, i in vocab["word_to_idx"].items()}


def decode_captions(captions, idx_to_word):
    """Word ids -> strings; skips ``<NULL>`` and stops after ``<END>``.

    captions: 1-D (one caption, returns a string) or 2-D (returns a list of strings).
    """
    captions = np.asarray(captions)
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]
    if captions.ndim != 2:
        raise ValueError(
            f"decode_captions: captions must be 1-D or 2-D, got shape {captions.shape}"
        )
    decoded = []
    for row in captions:
        words = []
        for idx in row:
            word = idx_to_word[int(idx)]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded


def sample_coco_minibatch(data, batch_size=100, split="train"):
    """A random minibatch (sampled with replacement, as the course does).

    Returns ``(captions, image_features, urls)``; urls is None when the data has none.
    """
    for key in (f"{split}_captions", f"{split}_image_idxs", f"{split}_features"):
        if key not in data:
            raise KeyError(f"sample_coco_minibatch: the data has no {key!r} (split={split!r})")
    split_size = data[f"{split}_captions"].shape[0]
    mask = np.random.choice(split_size, batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    image_features = data[f"{split}_features"][image_idxs]
    urls = data.get(f"{split}_urls")
    return captions, image_features, (urls[image_idxs] if urls is not None else None)


def random_caption_data(
    num_train=50,
    num_val=10,
    vocab=None,
    feature_dim=512,
    max_words=15,
    seed=0,
):
    """A small data dict in the COCO format with random features and random captions.

    Used where the real COCO files are absent (the overfitting experiment, tests): captions are
    ``<START>``, 3..max_words random non-special words, ``<END>``, then ``<NULL>`` padding to
    ``max_words + 2`` columns (17 by default, as COCO's). ``vocab`` is ``(idx_to_word,
    word_to_idx)``; by default a 1004-word vocabulary of placeholder words.
    """
    rng = np.random.default_rng(seed)
    if vocab is None:
        idx_to_word = list(SPECIAL_TOKENS) + [f"word{i}" for i in range(1000)]
        word_to_idx = {w: i for i, w in enumerate(idx_to_word)}
    else:
        idx_to_word, word_to_idx = vocab
    null, start, end = (word_to_idx[t] for t in SPECIAL_TOKENS[:3])
    ordinary = np.array([i for w, i in word_to_idx.items() if w not in SPECIAL_TOKENS])

    data = {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}
    for split, n in (("train", num_train), ("val", num_val)):
        captions = np.full((n, max_words + 2), null, dtype=np.int32)
        captions[:, 0] = start
        for row, length in zip(captions, rng.integers(3, max_words + 1, size=n), strict=True):
            row[1 : 1 + length] = rng.choice(ordinary, size=length)
            row[1 + length] = end
        data[f"{split}_captions"] = captions
        data[f"{split}_image_idxs"] = np.arange(n, dtype=np.int32)
        data[f"{split}_features"] = rng.standard_normal((n, feature_dim)).astype(np.float32)
        data[f"{split}_urls"] = np.array([f"synthetic://{split}/{i}" for i in range(n)])
    return data
