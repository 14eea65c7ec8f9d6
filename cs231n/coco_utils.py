"""COCO captioning data in the course's format, and helpers to sample and decode it.

A data dict holds ``{split}_captions`` (M, 17) int32 word ids, ``{split}_image_idxs`` (M,)
int32 rows of ``{split}_features`` (images, D) float32, optional ``{split}_urls``, and the
vocabulary ``idx_to_word`` / ``word_to_idx`` with ``<NULL>``=0, ``<START>``=1, ``<END>``=2,
``<UNK>``=3.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .core.checks import seed as check_seed
from .core.config import data_path
from .core.files import atomic_path, read_text, require_memory

# The files load_coco_data reads (with PCA features), as the course's archive names them: the
# data registry's list, which `cs231n data download coco` checks.
from .data.assets import COCO_FILES as COCO_FILES

SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")


def default_coco_dir() -> Path:
    """``$CS231N_DATA/coco_captioning``."""
    return data_path("coco_captioning")


# The course's module-level names. dir_path (2020): the folder of this module. BASE_DIR: the
# default COCO folder when this module was imported; load_coco_data(base_dir=None) looks the
# folder up again at each call, so a later change of CS231N_DATA is honoured there.
dir_path = os.path.dirname(os.path.realpath(__file__))
BASE_DIR = str(default_coco_dir())


def load_coco_vocab(path=None) -> tuple[list[str], dict[str, int]]:
    """``(idx_to_word, word_to_idx)`` from ``coco2014_vocab.json``."""
    path = Path(path) if path is not None else default_coco_dir() / "coco2014_vocab.json"
    try:
        vocab = json.loads(read_text(path, "JSON vocabulary"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"COCO vocabulary not found: {path} (set CS231N_DATA to a folder holding "
            "coco_captioning/, or run `cs231n data download coco` when online)"
        ) from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(vocab, dict):
        raise ValueError(f"{path}: expected a JSON object, got a {type(vocab).__name__}")
    for key in ("idx_to_word", "word_to_idx"):
        if key not in vocab:
            raise KeyError(f"{path}: missing key {key!r}")
    idx_to_word, word_to_idx = vocab["idx_to_word"], vocab["word_to_idx"]
    if not isinstance(idx_to_word, list) or not isinstance(word_to_idx, dict):
        raise ValueError(f"{path}: idx_to_word must be a list and word_to_idx an object")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in word_to_idx.values()):
        raise ValueError(f"{path}: word_to_idx must map words to integer ids")
    check_vocabulary(idx_to_word, word_to_idx, path)
    return list(idx_to_word), dict(word_to_idx)


def check_vocabulary(idx_to_word, word_to_idx, where) -> None:
    """Raise ValueError (naming ``where``) unless ``idx_to_word`` (a sequence of distinct
    strings) and ``word_to_idx`` are each other's inverse and hold ``<NULL>``, ``<START>`` and
    ``<END>``: a model trained on a vocabulary that disagrees with itself decodes wrong words
    without any error."""
    words = list(idx_to_word)
    if not all(isinstance(w, str) for w in words):
        raise ValueError(f"{where}: idx_to_word must hold strings (words)")
    if len(set(words)) != len(words):
        dup = next(w for i, w in enumerate(words) if w in words[:i])
        raise ValueError(f"{where}: the word {dup!r} appears twice in idx_to_word")
    if len(word_to_idx) != len(words):
        raise ValueError(
            f"{where}: inconsistent vocabulary: idx_to_word has {len(words)} words, "
            f"word_to_idx {len(word_to_idx)}"
        )
    for i, w in enumerate(words):
        if word_to_idx.get(w) != i:
            raise ValueError(
                f"{where}: inconsistent vocabulary: idx_to_word[{i}] is {w!r} but "
                f"word_to_idx[{w!r}] is {word_to_idx.get(w)!r}"
            )
    missing = [t for t in SPECIAL_TOKENS[:3] if t not in word_to_idx]
    if missing:
        raise ValueError(f"{where}: the vocabulary has no {', '.join(missing)} token")


def all_finite(array, chunk_rows=8192) -> bool:
    """Whether every value of a float array is finite (checked in chunks: bounded memory)."""
    array = np.asarray(array)
    if array.ndim == 0 or array.shape[0] <= chunk_rows:
        return bool(np.isfinite(array).all())
    return all(
        np.isfinite(array[i : i + chunk_rows]).all() for i in range(0, array.shape[0], chunk_rows)
    )


CAPTION_KEYS = ("train_captions", "train_image_idxs", "val_captions", "val_image_idxs")


def _read_h5(path, keys):
    """The named datasets of an HDF5 file as arrays, with errors that name the file and key."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"COCO data file not found: {path} (run `cs231n data download coco` when online, or "
            f"set CS231N_DATA to a folder holding coco_captioning/)"
        )
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise KeyError(f"{path}: missing HDF5 key(s) {missing}; found {sorted(f.keys())}")
            return {k: np.asarray(f[k]) for k in keys}
    except OSError as e:
        raise OSError(f"{path}: not a readable HDF5 file ({e})") from None


def _read_lines(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"COCO data file not found: {path}")
    return np.asarray([line.strip() for line in read_text(path).splitlines()])


def _check_coco_data(data, base_dir, feature_file):
    """Shapes and ranges the model relies on; errors name the file and key."""
    caption_file = base_dir / "coco2014_captions.h5"
    vocab_size = len(data["idx_to_word"])
    for split in ("train", "val"):
        captions = data[f"{split}_captions"]
        idxs = data[f"{split}_image_idxs"]
        features = data[f"{split}_features"]
        where = f"{caption_file} key {split}_captions"
        if captions.ndim != 2 or not np.issubdtype(captions.dtype, np.integer):
            raise ValueError(
                f"{where}: expected a 2-D integer array, got {captions.dtype} {captions.shape}"
            )
        if captions.size and (captions.min() < 0 or captions.max() >= vocab_size):
            raise ValueError(f"{where}: word ids outside the vocabulary [0, {vocab_size})")
        _check_caption_rows(captions, data["word_to_idx"], where)
        if split == "train" and captions.shape[0] == 0:
            raise ValueError(f"{where}: no training captions")
        if idxs.shape != (captions.shape[0],) or not np.issubdtype(idxs.dtype, np.integer):
            raise ValueError(
                f"{caption_file} key {split}_image_idxs: expected {captions.shape[0]} integers "
                f"(one per caption), got {idxs.dtype} {idxs.shape}"
            )
        feat_where = f"{base_dir / feature_file.format(split=split)} key features"
        if features.ndim != 2 or not np.issubdtype(features.dtype, np.floating):
            raise ValueError(
                f"{feat_where}: expected a 2-D float array, got {features.dtype} {features.shape}"
            )
        if not all_finite(features):
            raise ValueError(
                f"{feat_where}: the {split} features hold NaN or infinite values; the file is "
                "damaged (download or generate it again)"
            )
        if idxs.size and (idxs.min() < 0 or idxs.max() >= features.shape[0]):
            raise ValueError(
                f"{caption_file} key {split}_image_idxs: image index {int(idxs.max())} outside "
                f"the {features.shape[0]} rows of {feat_where}"
            )
        urls = data[f"{split}_urls"]
        if urls.shape[0] != features.shape[0]:
            raise ValueError(
                f"{base_dir / f'{split}2014_urls.txt'}: {urls.shape[0]} URLs for "
                f"{features.shape[0]} images in {feat_where}"
            )
    if data["train_features"].shape[1] != data["val_features"].shape[1]:
        raise ValueError(
            f"train and val features differ in width: {data['train_features'].shape[1]} vs "
            f"{data['val_features'].shape[1]}"
        )


def _check_caption_rows(captions, word_to_idx, where):
    """Each caption is ``<START> w_1 ... <END> <NULL>...``: it starts with ``<START>`` and has at
    least one word to predict (training on all-``<NULL>`` rows gives a zero loss, silently)."""
    if captions.shape[0] == 0:
        return
    if captions.shape[1] < 2:
        raise ValueError(f"{where}: captions need at least 2 columns, got {captions.shape}")
    start, null = word_to_idx["<START>"], word_to_idx["<NULL>"]
    bad = np.flatnonzero(captions[:, 0] != start)
    if bad.size:
        raise ValueError(
            f"{where}: {bad.size} of {captions.shape[0]} captions do not start with <START> "
            f"(id {start}), e.g. row {int(bad[0])}"
        )
    empty = np.flatnonzero((captions[:, 1:] == null).all(axis=1))
    if empty.size:
        raise ValueError(
            f"{where}: {empty.size} of {captions.shape[0]} captions have no word after <START> "
            f"(all <NULL>), e.g. row {int(empty[0])}"
        )


def check_max_train(max_train) -> int:
    """``max_train`` as an int; ValueError unless it is positive and its captions fit in
    memory."""

    if int(max_train) != max_train or max_train < 1:
        raise ValueError(f"max_train must be a positive integer, got {max_train!r}")
    max_train = int(max_train)
    # The indices (8 bytes), then the captions (17 int32) and image ids they select.
    require_memory(max_train * (8 + 17 * 4 + 4), f"max_train={max_train} captions")
    return max_train


def subsample_rows(num_rows, max_train, seed=None):
    """Row indices for ``max_train`` captions drawn with replacement from ``num_rows``: from
    the global NumPy random state as the course does, or from ``seed`` (reproducible)."""
    max_train = check_max_train(max_train)
    if seed is not None:
        seed = check_seed("subsample_rows", "seed", seed)
    rng = np.random if seed is None else np.random.RandomState(seed)
    return rng.randint(num_rows, size=max_train)


def load_coco_data(base_dir=None, max_train=None, pca_features=True, seed=None):
    """The course's COCO captioning data as a dict (the assignment's loader and keys).

    base_dir: a folder holding ``coco2014_captions.h5``, ``train2014_vgg16_fc7_pca.h5`` /
    ``val2014_vgg16_fc7_pca.h5`` (or, with ``pca_features=False``, the 4096-wide
    ``*_vgg16_fc7.h5``), ``coco2014_vocab.json`` and ``train2014_urls.txt`` /
    ``val2014_urls.txt``; default ``$CS231N_DATA/coco_captioning``. ``max_train`` subsamples the
    training captions with replacement, as the course does, drawing from the global NumPy
    random state, or from ``seed`` when given (the same rows each time).

    Returns ``train_captions``, ``train_image_idxs``, ``val_captions``, ``val_image_idxs``,
    ``train_features``, ``val_features``, ``idx_to_word``, ``word_to_idx``, ``train_urls``,
    ``val_urls``.
    """
    base_dir = Path(base_dir) if base_dir is not None else default_coco_dir()
    data = _read_h5(base_dir / "coco2014_captions.h5", CAPTION_KEYS)
    feature_file = "{split}2014_vgg16_fc7_pca.h5" if pca_features else "{split}2014_vgg16_fc7.h5"
    for split in ("train", "val"):
        path = base_dir / feature_file.format(split=split)
        data[f"{split}_features"] = _read_h5(path, ["features"])["features"]
    data["idx_to_word"], data["word_to_idx"] = load_coco_vocab(base_dir / "coco2014_vocab.json")
    for split in ("train", "val"):
        data[f"{split}_urls"] = _read_lines(base_dir / f"{split}2014_urls.txt")
    _check_coco_data(data, base_dir, feature_file)

    if max_train is not None:
        mask = subsample_rows(data["train_captions"].shape[0], max_train, seed)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def write_coco_data(base_dir, data, pca_features=True):
    """Write a data dict in the course's file format (used for the built-in data set and tests).

    Each file is written atomically.
    """
    import h5py

    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(base_dir / "coco2014_captions.h5") as tmp, h5py.File(tmp, "w") as f:
        for key in CAPTION_KEYS:
            f.create_dataset(key, data=np.asarray(data[key], dtype=np.int32))
    suffix = "_pca" if pca_features else ""
    for split in ("train", "val"):
        path = base_dir / f"{split}2014_vgg16_fc7{suffix}.h5"
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            f.create_dataset("features", data=np.asarray(data[f"{split}_features"], np.float32))
        with atomic_path(base_dir / f"{split}2014_urls.txt") as tmp:
            tmp.write_text("".join(f"{u}\n" for u in data[f"{split}_urls"]), encoding="utf-8")
    vocab = {"idx_to_word": list(data["idx_to_word"]), "word_to_idx": dict(data["word_to_idx"])}
    with atomic_path(base_dir / "coco2014_vocab.json") as tmp:
        tmp.write_text(json.dumps(vocab), encoding="utf-8")
    return base_dir


def decode_captions(captions, idx_to_word):
    """Word ids -> strings; skips ``<NULL>`` and stops after ``<END>``.

    captions: 1-D (one caption, returns a string) or 2-D (returns a list of strings) word ids
    of any integer dtype (whole-valued floats pass too); ``idx_to_word``: a list of V words, or
    a dict {id: word}. Raises ValueError naming the first id that is not a whole number in
    [0, V) (Python's negative indexing would turn -1 into the last word, and a float 4.7 into
    word 4).
    """
    captions = np.asarray(captions)
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]
    if captions.ndim != 2:
        raise ValueError(
            f"decode_captions: captions must be 1-D or 2-D, got shape {captions.shape}"
        )
    V = len(idx_to_word)
    if captions.size:
        if captions.dtype == np.bool_ or not (
            np.issubdtype(captions.dtype, np.integer) or np.issubdtype(captions.dtype, np.floating)
        ):
            raise ValueError(
                f"decode_captions: captions must hold integer word ids, got {captions.dtype}"
            )
        valid = (captions >= 0) & (captions < V)
        if np.issubdtype(captions.dtype, np.floating):
            valid &= np.isfinite(captions) & (captions == np.round(captions))
        if not valid.all():
            bad = captions[~valid].flat[0].item()
            raise ValueError(
                f"decode_captions: word id {bad!r} is not a word of the vocabulary "
                f"(ids are whole numbers in [0, {V}))"
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
    if seed is not None:
        seed = check_seed("random_caption_data", "seed", seed)
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
