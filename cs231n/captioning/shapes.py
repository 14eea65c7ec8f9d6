"""Shapes: a captioning data set the project generates itself, in the COCO data's format.

Each image is a 64x64 rendering of one to three coloured shapes (circle, square, triangle; red,
green, blue, yellow, purple or orange; small or large) laid out on a 3x3 grid, so that spatial
relations are unambiguous. Each image has five captions in varied English ("a small red circle
to the left of a blue square", "there is a big green triangle above a purple circle", ...), and
512 features computed from its pixels (colour occupancy on a grid, per-colour shape and position
descriptors, grid luminance and edges) that stand in for the CNN features of COCO.

The generator knows every scene, so a generated caption can be checked: :func:`caption_is_true`
parses it and tests each object and relation it claims, and :func:`semantic_accuracy` is the
fraction of captions that are true of their image. Everything is deterministic given the seed.

The data set is written in the course's file format (``coco2014_captions.h5``,
``*2014_vgg16_fc7_pca.h5``, ``coco2014_vocab.json``, ``*2014_urls.txt``) plus ``images.npz``
and ``scenes.json``, so :func:`cs231n.coco_utils.load_coco_data` reads it like COCO. It lives
in the cache (:func:`cs231n.core.config.cache_dir`), one folder per version, sizes and seed.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np

from ..coco_utils import (
    COCO_FILES,
    SPECIAL_TOKENS,
    check_max_train,
    load_coco_data,
    write_coco_data,
)
from ..core.checks import seed as check_seed
from ..core.config import cache_path
from ..core.files import atomic_path, clear_cache_entry

IMAGE_SIZE = 64
COLORS = {
    "red": (215, 40, 40),
    "green": (40, 165, 60),
    "blue": (45, 85, 215),
    "yellow": (230, 200, 30),
    "purple": (135, 55, 175),
    "orange": (240, 125, 20),
}
SHAPES = ("circle", "square", "triangle")
SIZES = {"small": (5, 6), "large": (9, 10)}  # radius range in pixels
SLOTS = (11, 32, 53)  # centres of the 3x3 layout grid
CAPTIONS_PER_IMAGE = 5
DATA_FILES = COCO_FILES  # written in the course's format
FEATURE_DIM = 512
VERSION = 2  # bump whenever generation changes: cached copies are then rebuilt

# Words the captions use for each attribute (the first is canonical).
SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
SHAPE_WORDS = {"circle": ("circle", "disk"), "square": ("square", "box"), "triangle": ("triangle",)}
RELATION_WORDS = {
    "left": ["to", "the", "left", "of"],
    "right": ["to", "the", "right", "of"],
    "above": ["above"],
    "below": ["below"],
    "next": ["next", "to"],
}
INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above", "next": "next"}


# ----------------------------------------------------------------------------------------------
# Scenes and captions


def random_scene(rng):
    """1-3 objects with distinct colours in distinct slots of the 3x3 grid."""
    count = rng.choice([1, 2, 3], p=[0.25, 0.45, 0.30])
    colors = rng.choice(list(COLORS), size=count, replace=False)
    slots = rng.choice(9, size=count, replace=False)
    objects = []
    for color, slot in zip(colors, slots, strict=True):
        size = str(rng.choice(list(SIZES)))
        objects.append(
            {
                "shape": str(rng.choice(SHAPES)),
                "color": str(color),
                "size": size,
                "x": int(SLOTS[slot % 3] + rng.integers(-2, 3)),
                "y": int(SLOTS[slot // 3] + rng.integers(-2, 3)),
                "r": int(rng.integers(SIZES[size][0], SIZES[size][1] + 1)),
            }
        )
    return {"objects": objects, "background": [int(v) for v in rng.integers(200, 246, size=3)]}


def relation(a, b):
    """How ``a`` stands to ``b``: left, right, above, below (same row/column) or next (diagonal)."""
    dx, dy = b["x"] - a["x"], b["y"] - a["y"]
    if abs(dy) < 8:
        return "left" if dx > 0 else "right"
    if abs(dx) < 8:
        return "above" if dy > 0 else "below"
    return "next"


def _noun_phrase(obj, rng, with_size=None):
    with_size = rng.random() < 0.6 if with_size is None else with_size
    words = [str(rng.choice(["a", "a", "one"]))]
    if with_size:
        words.append(str(rng.choice(SIZE_WORDS[obj["size"]])))
    words.append(obj["color"])
    words.append(str(rng.choice(SHAPE_WORDS[obj["shape"]])))
    if words[0] == "a" and words[1][0] in "aeiou":  # "an orange circle"
        words[0] = "an"
    return words


def _relation_caption(a, b, rng):
    rel = relation(a, b)
    if rel == "next" or rng.random() < 0.5:
        middle = RELATION_WORDS[rel]
    else:  # sometimes say it the other way round
        a, b, middle = b, a, RELATION_WORDS[INVERSE[rel]]
    template = rng.integers(3)
    head = [] if template == 0 else (["there", "is"] if template == 1 else [])
    verb = ["is"] if template == 2 else []
    return head + _noun_phrase(a, rng) + verb + middle + _noun_phrase(b, rng)


def make_caption(scene, rng):
    """One caption (a list of words) that is true of ``scene``."""
    objects = scene["objects"]
    kind = rng.random()
    if len(objects) == 1:
        openers = [[], ["there", "is"], ["an", "image", "of"], ["a", "picture", "of"]]
        return openers[rng.integers(len(openers))] + _noun_phrase(objects[0], rng)
    if len(objects) == 2:
        a, b = rng.permutation(objects)
        if kind < 0.7:
            return _relation_caption(a, b, rng)
        return (
            ["two", "shapes", ":"] * (kind > 0.9)
            + _noun_phrase(a, rng)
            + ["and"]
            + _noun_phrase(b, rng)
        )
    a, b, c = rng.permutation(objects)
    if kind < 0.6:
        return _relation_caption(a, b, rng)
    return (
        ["three", "shapes", ":"]
        + _noun_phrase(a, rng, False)
        + [","]
        + _noun_phrase(b, rng, False)
        + ["and"]
        + _noun_phrase(c, rng, False)
    )


def vocabulary():
    """``(idx_to_word, word_to_idx)``: the four special tokens, then every caption word."""
    words = {"a", "one", "an", "there", "is", "image", "of", "picture", "two", "three", "shapes"}
    words |= {":", ",", "and"} | set(COLORS)
    words |= {w for ws in SIZE_WORDS.values() for w in ws}
    words |= {w for ws in SHAPE_WORDS.values() for w in ws}
    words |= {w for ws in RELATION_WORDS.values() for w in ws}
    idx_to_word = list(SPECIAL_TOKENS) + sorted(words)
    return idx_to_word, {w: i for i, w in enumerate(idx_to_word)}


# ----------------------------------------------------------------------------------------------
# Checking captions against scenes

_DETERMINERS = {"a", "an", "one"}
_SIZE_OF = {w: s for s, ws in SIZE_WORDS.items() for w in ws}
_SHAPE_OF = {w: s for s, ws in SHAPE_WORDS.items() for w in ws}
_OPENERS = (["there", "is"], ["an", "image", "of"], ["a", "picture", "of"])
_COUNTS = {"two": 2, "three": 3}


def parse_caption(words):
    """The claims a caption makes: ``(objects, relations, count)`` or None if it does not parse.

    The grammar is the captions' own::

        caption   := opener? phrase (connector phrase)*
        opener    := "there is" | "an image of" | "a picture of" | ("two"|"three") "shapes :"
        phrase    := ("a"|"an"|"one") size? colour? shape
        connector := "and" | "," | "is"? relation
        relation  := "to the left of" | "to the right of" | "above" | "below" | "next to"

    objects: one dict per phrase with the attributes it states (shape always; colour, size
    when said); relations: ``(i, name, j)`` between consecutive phrases; count: the number of
    shapes stated, or None.
    """
    words = [w for w in words if w not in ("<START>", "<END>", "<NULL>")]
    pos = 0

    def take(sequence):
        nonlocal pos
        if words[pos : pos + len(sequence)] == list(sequence):
            pos += len(sequence)
            return True
        return False

    def phrase():
        nonlocal pos
        if pos >= len(words) or words[pos] not in _DETERMINERS:
            return None
        pos += 1
        found = {}
        if pos < len(words) and words[pos] in _SIZE_OF:
            found["size"] = _SIZE_OF[words[pos]]
            pos += 1
        if pos < len(words) and words[pos] in COLORS:
            found["color"] = words[pos]
            pos += 1
        if pos >= len(words) or words[pos] not in _SHAPE_OF:
            return None
        found["shape"] = _SHAPE_OF[words[pos]]
        pos += 1
        return found

    count = None
    if (
        pos + 2 < len(words)
        and words[pos] in _COUNTS
        and words[pos + 1 : pos + 3] == ["shapes", ":"]
    ):
        count = _COUNTS[words[pos]]
        pos += 3
    else:
        any(take(opener) for opener in _OPENERS)
    first = phrase()
    if first is None:
        return None
    objects, relations = [first], []
    while pos < len(words):
        if take(["and"]) or take([","]):
            name = None
        else:
            take(["is"])
            name = next((r for r, seq in RELATION_WORDS.items() if take(seq)), None)
            if name is None:
                return None
        following = phrase()
        if following is None:
            return None
        if name is not None:
            relations.append((len(objects) - 1, name, len(objects)))
        objects.append(following)
    return objects, relations, count


def caption_is_true(words, scene):
    """Whether every object, relation and count the caption claims holds in ``scene``.

    Each mentioned object must be a distinct object of the scene with the stated attributes;
    an unparsable or empty caption is false.
    """
    parsed = parse_caption(words)
    if parsed is None:
        return False
    mentioned, relations, count = parsed
    objects = scene["objects"]
    if count is not None and count != len(objects):
        return False
    if len(mentioned) > len(objects):
        return False
    for assignment in itertools.permutations(range(len(objects)), len(mentioned)):
        matches = all(
            all(objects[k][attr] == value for attr, value in m.items())
            for m, k in zip(mentioned, assignment, strict=True)
        )
        if matches and all(
            name == "next" or relation(objects[assignment[i]], objects[assignment[j]]) == name
            for i, name, j in relations
        ):
            return True
    return False


def semantic_accuracy(captions, scenes):
    """Fraction of captions (strings or word lists) that are true of their scenes."""
    if len(captions) != len(scenes):
        raise ValueError(f"{len(captions)} captions for {len(scenes)} scenes")
    if not captions:
        return float("nan")
    verdicts = [
        caption_is_true(c.split() if isinstance(c, str) else c, s)
        for c, s in zip(captions, scenes, strict=True)
    ]
    return float(np.mean(verdicts))


# ----------------------------------------------------------------------------------------------
# Pixels and features


def render_scene(scene, rng):
    """A (64, 64, 3) uint8 image of the scene, with a little colour jitter and pixel noise."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), tuple(scene["background"]))
    draw = ImageDraw.Draw(img)
    for obj in scene["objects"]:
        color = tuple(int(np.clip(c + rng.integers(-12, 13), 0, 255)) for c in COLORS[obj["color"]])
        x, y, r = obj["x"], obj["y"], obj["r"]
        if obj["shape"] == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color)
        elif obj["shape"] == "square":
            draw.rectangle((x - r, y - r, x + r, y + r), fill=color)
        else:
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=color)
    pixels = np.asarray(img, dtype=np.int16) + rng.integers(-6, 7, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def image_features(images):
    """512 features per image, computed from the pixels only.

    images: (N, 64, 64, 3) uint8. Per image: the fraction of each palette colour in each cell of
    an 8x8 grid (384); per colour, 16 descriptors of its pixels (present, area, centroid,
    extent, fill of its bounding box overall and by thirds, and soft encodings of the fill ratio
    that tell circles, squares and triangles apart) (96); mean luminance and edge density on a
    4x4 grid (32).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"image_features: expected (N, 64, 64, 3) images, got {images.shape}")
    if images.shape[0] > 256:  # bounded memory: the colour distances are 72 kB per image
        return np.concatenate(
            [image_features(images[i : i + 256]) for i in range(0, len(images), 256)]
        )
    n = images.shape[0]
    if n == 0:
        return np.zeros((0, FEATURE_DIM), np.float32)
    pixels = images.astype(np.float32)
    palette = np.array(list(COLORS.values()), dtype=np.float32)  # (6, 3)
    dist = np.linalg.norm(pixels[:, :, :, None, :] - palette, axis=-1)  # (N, 64, 64, 6)
    nearest = dist.argmin(axis=-1)
    masks = (nearest[..., None] == np.arange(len(palette))) & (dist.min(axis=-1) < 60)[..., None]
    masks = masks.astype(np.float32)  # (N, 64, 64, 6)

    grid = masks.reshape(n, 8, 8, 8, 8, -1).mean(axis=(2, 4)).reshape(n, -1)  # (N, 384)

    ys, xs = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) / IMAGE_SIZE
    descriptors = np.zeros((n, len(palette), 16), np.float32)
    area = masks.sum(axis=(1, 2))  # (N, 6)
    for i, k in zip(*np.nonzero(area > 4), strict=True):
        m = masks[i, :, :, k]
        rows, cols = np.nonzero(m)
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        box = m[top:bottom, left:right]
        fill = box.mean()
        thirds = [p.mean() for p in np.array_split(box, 3, axis=0)]
        descriptors[i, k] = [
            1.0,
            area[i, k] / 200.0,
            (xs * m).sum() / area[i, k],
            (ys * m).sum() / area[i, k],
            (right - left) / 20.0,
            (bottom - top) / 20.0,
            fill,
            *thirds,
            thirds[2] - thirds[0],
            *np.exp(-(((fill - np.array([0.5, 0.785, 1.0])) / 0.08) ** 2)),
            min(area[i, k] / 150.0, 1.0),
            0.0,
        ]
    gray = pixels.mean(axis=-1) / 255.0
    edges = np.zeros_like(gray)
    edges[:, :, 1:] += np.abs(np.diff(gray, axis=2))
    edges[:, 1:, :] += np.abs(np.diff(gray, axis=1))
    lum = gray.reshape(n, 4, 16, 4, 16).mean(axis=(2, 4)).reshape(n, -1)
    edge = edges.reshape(n, 4, 16, 4, 16).mean(axis=(2, 4)).reshape(n, -1) * 4
    features = np.concatenate([grid, descriptors.reshape(n, -1), lum, edge], axis=1)
    assert features.shape[1] == FEATURE_DIM
    return features.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# The data set


def generate(num_train=4000, num_val=500, seed=0):
    """The data set in memory: a COCO-format data dict plus ``{split}_images`` and
    ``{split}_scenes``."""
    rng = np.random.default_rng(seed)
    idx_to_word, word_to_idx = vocabulary()
    data = {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}
    for split, num in (("train", num_train), ("val", num_val)):
        scenes = [random_scene(rng) for _ in range(num)]
        images = (
            np.stack([render_scene(s, rng) for s in scenes])
            if num
            else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
        )
        captions = np.full((num * CAPTIONS_PER_IMAGE, 17), word_to_idx["<NULL>"], np.int32)
        for i, scene in enumerate(scenes):
            for j in range(CAPTIONS_PER_IMAGE):
                words = ["<START>", *make_caption(scene, rng), "<END>"]
                captions[i * CAPTIONS_PER_IMAGE + j, : len(words)] = [word_to_idx[w] for w in words]
        data[f"{split}_captions"] = captions
        data[f"{split}_image_idxs"] = np.repeat(np.arange(num, dtype=np.int32), CAPTIONS_PER_IMAGE)
        data[f"{split}_features"] = image_features(images)
        data[f"{split}_urls"] = np.array([f"shapes://{split}/{i}" for i in range(num)])
        data[f"{split}_images"] = images
        data[f"{split}_scenes"] = scenes
    return data


def cache_name(num_train=4000, num_val=500, seed=0) -> str:
    """The cache entry's folder name: everything that determines the set, readable
    (``v2-4000-500-seed0``)."""
    return f"v{VERSION}-{num_train}-{num_val}-seed{seed}"


def default_dir(num_train=4000, num_val=500, seed=0) -> Path:
    """Where the set with these sizes and seed lives by default: in the cache
    (``$CS231N_CACHE/shapes_captioning/v2-4000-500-seed0``), never in the data directory."""
    return cache_path("shapes_captioning", cache_name(num_train, num_val, seed))


def _read_meta(meta_file):
    try:
        return json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable or damaged: not a complete set
        return None


def ensure_dataset(
    base_dir=None, num_train=4000, num_val=500, seed=0, log=None, rebuild=False
) -> Path:
    """Write the data set to ``base_dir`` (default: :func:`default_dir`, in the cache) unless
    the same version, sizes and seed are there (or ``rebuild``); returns the folder.

    ``log`` (e.g. print) is told when the set is being generated."""
    in_cache = base_dir is None
    base_dir = Path(base_dir) if base_dir is not None else default_dir(num_train, num_val, seed)
    if os.path.lexists(base_dir) and not base_dir.is_dir():
        if not in_cache:  # the caller's file: never removed
            raise ValueError(f"{base_dir} is not a folder (the Shapes data set is written there)")
        clear_cache_entry(base_dir)
    meta = {"version": VERSION, "num_train": num_train, "num_val": num_val, "seed": seed}
    meta_file = base_dir / "shapes_meta.json"
    files = [*DATA_FILES, "images.npz", "scenes.json"]
    complete = all((base_dir / f).exists() for f in files)
    if not rebuild and complete and _read_meta(meta_file) == meta:
        return base_dir
    if log is not None:
        seconds = max(1, round((num_train + num_val) / 300))
        log(f"Generating the built-in Shapes data set in {base_dir} (first use, ~{seconds} s)")
    data = generate(num_train, num_val, seed)
    write_coco_data(base_dir, data)
    with atomic_path(base_dir / "images.npz") as tmp:
        np.savez_compressed(tmp, train_images=data["train_images"], val_images=data["val_images"])
    with atomic_path(base_dir / "scenes.json") as tmp:
        tmp.write_text(json.dumps({"train": data["train_scenes"], "val": data["val_scenes"]}))
    with atomic_path(meta_file) as tmp:  # last: marks the set complete
        tmp.write_text(json.dumps(meta))
    return base_dir


def load_data(
    base_dir=None,
    max_train=None,
    num_train=4000,
    num_val=500,
    seed=0,
    log=None,
    sample_seed=None,
):
    """The data set as the course's loader returns COCO, plus ``{split}_images`` and
    ``{split}_scenes``; generated (a few seconds) on first use, in the cache unless
    ``base_dir`` is given. ``max_train`` training captions are drawn with replacement, from
    ``sample_seed`` when given (else from the global NumPy random state, as the course does).

    A stored set that cannot be read back (a truncated or damaged file) is generated again:
    everything in it can be rebuilt, so a damaged copy is never fatal."""
    import zipfile
    import zlib

    if max_train is not None:
        check_max_train(max_train)  # the request, before the files
    # Bad seeds are the caller's error: checked here, they are never taken for damaged files.
    check_seed("load_data", "seed", seed)
    if sample_seed is not None:
        check_seed("load_data", "sample_seed", sample_seed)
    base = ensure_dataset(base_dir, num_train, num_val, seed, log)
    try:
        return _read_dataset(base, max_train, sample_seed)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        if log is not None:
            log(f"The stored Shapes data set in {base} is damaged ({e}); generating it again")
    base = ensure_dataset(base_dir, num_train, num_val, seed, log, rebuild=True)
    return _read_dataset(base, max_train, sample_seed)


def _read_dataset(base_dir, max_train, sample_seed):
    data = load_coco_data(base_dir, max_train=max_train, seed=sample_seed)
    with np.load(base_dir / "images.npz", allow_pickle=False) as images:
        for split in ("train", "val"):
            data[f"{split}_images"] = images[f"{split}_images"]
    scenes = json.loads((base_dir / "scenes.json").read_text(encoding="utf-8"))
    for split in ("train", "val"):
        data[f"{split}_scenes"] = scenes[split]
        if len(scenes[split]) != data[f"{split}_features"].shape[0]:
            raise ValueError(f"{base_dir / 'scenes.json'}: {split} scenes do not match the images")
        if data[f"{split}_images"].shape[0] != data[f"{split}_features"].shape[0]:
            raise ValueError(f"{base_dir / 'images.npz'}: {split} images do not match the features")
    return data
