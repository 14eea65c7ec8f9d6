"""The built-in Shapes captioning data set: generation, format, the caption checker, the pixel
features, and the on-disk cache in the course's COCO format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cs231n.captioning import shapes as sc
from cs231n.coco_utils import SPECIAL_TOKENS, decode_captions, load_coco_data

NUM_TRAIN, NUM_VAL = 40, 10
COURSE_FILES = (
    "coco2014_captions.h5",
    "train2014_vgg16_fc7_pca.h5",
    "val2014_vgg16_fc7_pca.h5",
    "coco2014_vocab.json",
    "train2014_urls.txt",
    "val2014_urls.txt",
)
EXTRA_FILES = ("images.npz", "scenes.json", "shapes_meta.json")
LEFT, MIDDLE, RIGHT = sc.SLOTS
TOP, BOTTOM = sc.SLOTS[0], sc.SLOTS[2]
# image_features layout: 8x8 grid x 6 colours (384), then 6 colours x 16 descriptors.
GRID_FEATURES = 384
DESCRIPTORS_PER_COLOR = 16
FILL_RATIO = 6
CENTROID_X = 2
RED = list(sc.COLORS).index("red")


@pytest.fixture(scope="module")
def data():
    return sc.generate(num_train=NUM_TRAIN, num_val=NUM_VAL, seed=0)


def obj(shape, color, size, x, y):
    return {"shape": shape, "color": color, "size": size, "x": x, "y": y, "r": sc.SIZES[size][1]}


def make_scene(*objects):
    return {"objects": list(objects), "background": [230, 230, 230]}


def nearest_slot(v):
    return int(np.argmin([abs(v - s) for s in sc.SLOTS]))


def words_of(data, split):
    return [c.split() for c in decode_captions(data[f"{split}_captions"], data["idx_to_word"])]


# ----------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_identical_data(data):
    again = sc.generate(num_train=NUM_TRAIN, num_val=NUM_VAL, seed=0)
    for split in ("train", "val"):
        for key in ("captions", "image_idxs", "features", "images", "urls"):
            np.testing.assert_array_equal(again[f"{split}_{key}"], data[f"{split}_{key}"])
        assert again[f"{split}_scenes"] == data[f"{split}_scenes"]
    assert again["idx_to_word"] == data["idx_to_word"]


def test_different_seed_gives_different_data(data):
    other = sc.generate(num_train=NUM_TRAIN, num_val=NUM_VAL, seed=1)
    for split in ("train", "val"):
        assert not np.array_equal(other[f"{split}_captions"], data[f"{split}_captions"])
        assert not np.array_equal(other[f"{split}_features"], data[f"{split}_features"])
        assert not np.array_equal(other[f"{split}_images"], data[f"{split}_images"])
        assert other[f"{split}_scenes"] != data[f"{split}_scenes"]


# ----------------------------------------------------------------------------------------------
# Format


def test_vocabulary_special_tokens_first_and_consistent(data):
    idx_to_word, word_to_idx = sc.vocabulary()
    assert tuple(idx_to_word[:4]) == SPECIAL_TOKENS == ("<NULL>", "<START>", "<END>", "<UNK>")
    assert len(set(idx_to_word)) == len(idx_to_word)
    assert all(word_to_idx[w] == i for i, w in enumerate(idx_to_word))
    assert data["idx_to_word"] == idx_to_word and data["word_to_idx"] == word_to_idx


@pytest.mark.parametrize("split, num", [("train", NUM_TRAIN), ("val", NUM_VAL)])
def test_caption_format(data, split, num):
    w2i = data["word_to_idx"]
    null, start, end, unk = (w2i[t] for t in SPECIAL_TOKENS)
    captions = data[f"{split}_captions"]
    assert captions.shape == (num * sc.CAPTIONS_PER_IMAGE, 17)
    assert captions.dtype == np.int32
    assert np.all(captions[:, 0] == start)
    assert np.all((captions >= 0) & (captions < len(data["idx_to_word"])))
    assert not np.any(captions == unk)
    for row in captions:
        ends = np.flatnonzero(row == end)
        assert len(ends) == 1, row
        e = ends[0]
        assert e >= 3  # <START>, at least a determiner and a shape
        assert np.all(row[e + 1 :] == null)
        body = row[1:e]
        assert not np.isin(body, [null, start, end, unk]).any(), row


@pytest.mark.parametrize("split, num", [("train", NUM_TRAIN), ("val", NUM_VAL)])
def test_image_idxs_features_urls_images_scenes(data, split, num):
    idxs = data[f"{split}_image_idxs"]
    assert idxs.dtype == np.int32
    np.testing.assert_array_equal(idxs, np.repeat(np.arange(num), sc.CAPTIONS_PER_IMAGE))
    assert np.bincount(idxs, minlength=num).tolist() == [sc.CAPTIONS_PER_IMAGE] * num

    features = data[f"{split}_features"]
    assert features.shape == (num, sc.FEATURE_DIM) and features.dtype == np.float32
    assert np.all(np.isfinite(features))
    assert len(np.unique(features, axis=0)) == num  # every image has its own features

    urls = data[f"{split}_urls"]
    assert len(urls) == num and len(set(urls.tolist())) == num

    images = data[f"{split}_images"]
    assert images.shape == (num, 64, 64, 3) and images.dtype == np.uint8
    scenes = data[f"{split}_scenes"]
    assert len(scenes) == num
    for scene in scenes:
        objects = scene["objects"]
        assert 1 <= len(objects) <= 3
        assert len({o["color"] for o in objects}) == len(objects)  # distinct colours
        slots = {(nearest_slot(o["x"]), nearest_slot(o["y"])) for o in objects}
        assert len(slots) == len(objects)  # distinct grid slots
        for o in objects:
            assert o["shape"] in sc.SHAPES and o["color"] in sc.COLORS
            lo, hi = sc.SIZES[o["size"]]
            assert lo <= o["r"] <= hi


def test_generated_words_are_all_in_the_vocabulary_and_grammatical():
    _, word_to_idx = sc.vocabulary()
    rng = np.random.default_rng(123)
    seen = set()
    for _ in range(300):
        scene = sc.random_scene(rng)
        words = sc.make_caption(scene, rng)
        assert sc.caption_is_true(words, scene), (words, scene)
        seen.update(words)
        for w1, w2 in zip(words, words[1:]):
            if w1 == "a":
                assert w2[0] not in "aeiou", words
            if w1 == "an":
                assert w2[0] in "aeiou", words
    assert seen <= set(word_to_idx)
    assert not seen & set(SPECIAL_TOKENS)
    # The generator uses the synonyms and every colour.
    assert {"big", "little", "disk", "box", "an", "next"} <= seen
    assert set(sc.COLORS) <= seen


# ----------------------------------------------------------------------------------------------
# Ground truth vs the checker


def test_every_ground_truth_caption_is_true_of_its_scene(data):
    for split in ("train", "val"):
        scenes = data[f"{split}_scenes"]
        for words, i in zip(words_of(data, split), data[f"{split}_image_idxs"]):
            assert sc.caption_is_true(words, scenes[i]), (words, scenes[i])
        captions = decode_captions(data[f"{split}_captions"], data["idx_to_word"])
        matched = [scenes[i] for i in data[f"{split}_image_idxs"]]
        assert sc.semantic_accuracy(captions, matched) == 1.0


def test_captions_about_other_scenes_are_usually_false(data):
    words = words_of(data, "train")
    idxs = data["train_image_idxs"]
    scenes = data["train_scenes"]
    rng = np.random.default_rng(0)
    verdicts = []
    while len(verdicts) < 300:
        c, j = rng.integers(len(words)), rng.integers(len(scenes))
        if j != idxs[c]:
            verdicts.append(sc.caption_is_true(words[c], scenes[j]))
    assert np.mean(verdicts) < 0.2


def test_semantic_accuracy_strings_lists_and_errors():
    scene = make_scene(obj("circle", "red", "large", LEFT, TOP))
    assert sc.semantic_accuracy(["a red circle", "a blue circle"], [scene, scene]) == 0.5
    assert sc.semantic_accuracy([["a", "red", "circle"]], [scene]) == 1.0
    assert np.isnan(sc.semantic_accuracy([], []))
    with pytest.raises(ValueError):
        sc.semantic_accuracy(["a red circle"], [scene, scene])


# A hand-built scene on the 3x3 grid:
#   red circle (large)  .  blue square (small)
#   .                   .  .
#   green triangle (large) .  .
# red-blue share a row, red-green a column, blue-green are diagonal.
SCENE = make_scene(
    obj("circle", "red", "large", LEFT, TOP),
    obj("square", "blue", "small", RIGHT, TOP),
    obj("triangle", "green", "large", LEFT, BOTTOM),
)


@pytest.mark.parametrize(
    "caption, expected",
    [
        # relations in the same row and column, and their inverses
        ("a red circle to the left of a blue square", True),
        ("a blue square to the right of a red circle", True),
        ("there is a red circle to the left of a blue square", True),
        ("a red circle is to the left of a blue square", True),
        ("a blue square to the left of a red circle", False),
        ("a red circle to the right of a blue square", False),
        ("a red circle above a green triangle", True),
        ("a green triangle below a red circle", True),
        ("a green triangle above a red circle", False),
        ("a red circle below a green triangle", False),
        ("a red circle above a blue square", False),  # same row, not above
        # diagonal pair
        ("a blue square is next to a green triangle", True),
        ("a green triangle next to a small blue square", True),
        # attributes
        ("a red circle", True),
        ("there is a blue square", True),
        ("a large red circle", True),
        ("a small blue square", True),
        ("a green circle", False),
        ("a red square", False),
        ("a small red circle", False),
        ("a large blue square", False),
        ("a yellow circle", False),
        # synonyms
        ("a big red disk", True),
        ("one little blue box", True),
        ("a big blue box", False),
        ("a little red disk", False),
        ("a green box", False),
        ("an image of a big green triangle", True),
        ("a picture of a red disk", True),
        # counts
        ("three shapes : a red circle , a blue square and a green triangle", True),
        ("three shapes : a red circle , a blue square and a red triangle", False),
        ("two shapes : a red circle and a blue square", False),
        ("a red circle and a blue square", True),
        # the same object twice needs two distinct objects
        ("a red circle and a red circle", False),
        ("a red circle to the left of a red circle", False),
        ("a blue square next to a blue square", False),
        # ungrammatical, unknown words, empty
        ("", False),
        ("red circle", False),
        ("a red", False),
        ("a circle red", False),
        ("a a red circle", False),
        ("a red blue circle", False),
        ("a small big red circle", False),
        ("to the left of a red circle", False),
        ("a red circle to the left of", False),
        ("a red circle to the left of and a blue square", False),
        ("a red hexagon", False),
        ("a red circle near a blue square", False),
        ("two red circles", False),
        # special tokens are ignored
        ("<START> a red circle <END>", True),
        ("<START> a red circle to the left of a blue square <END> <NULL> <NULL>", True),
        ("<START> <END>", False),
        ("<START> a green circle <END>", False),
    ],
)
def test_checker_on_hand_written_captions(caption, expected):
    assert sc.caption_is_true(caption.split(), SCENE) is expected
    assert (sc.parse_caption(caption.split()) is not None) or not expected


def test_parse_caption_claims():
    objects, relations, count = sc.parse_caption(
        "<START> there is a big red disk to the left of one blue box <END>".split()
    )
    assert objects == [
        {"size": "large", "color": "red", "shape": "circle"},
        {"color": "blue", "shape": "square"},
    ]
    assert relations == [(0, "left", 1)] and count is None
    objects, relations, count = sc.parse_caption(
        "two shapes : a small green triangle and a purple square".split()
    )
    assert len(objects) == 2 and relations == [] and count == 2
    assert sc.parse_caption([]) is None
    assert sc.parse_caption(["a", "red", "unicorn"]) is None


def test_an_orange_circle():
    scene = make_scene(obj("circle", "orange", "small", MIDDLE, MIDDLE))
    assert sc.caption_is_true("an orange circle".split(), scene)
    assert sc.caption_is_true("there is an orange disk".split(), scene)
    assert sc.caption_is_true("an image of a small orange circle".split(), scene)
    assert not sc.caption_is_true("an orange square".split(), scene)
    assert not sc.caption_is_true("a large orange circle".split(), scene)
    # The generator writes "an" before "orange" (never "a orange").
    rng = np.random.default_rng(0)
    phrases = [" ".join(sc._noun_phrase(scene["objects"][0], rng, False)) for _ in range(30)]
    assert "an orange circle" in phrases
    assert not any(p.startswith("a orange") for p in phrases)


def test_same_object_twice_true_when_two_such_objects_exist():
    scene = make_scene(
        obj("circle", "red", "large", LEFT, MIDDLE), obj("circle", "red", "small", RIGHT, MIDDLE)
    )
    assert sc.caption_is_true("a red circle to the left of a red circle".split(), scene)
    assert sc.caption_is_true("a red circle and a red circle".split(), scene)
    assert sc.caption_is_true("a large red circle to the left of a small red circle".split(), scene)
    assert not sc.caption_is_true(
        "a small red circle to the left of a large red circle".split(), scene
    )
    assert not sc.caption_is_true("a red circle and a red circle and a red circle".split(), scene)


# ----------------------------------------------------------------------------------------------
# relation()


def test_relation():
    def at(x, y):
        return {"x": x, "y": y}

    # same row (a little jitter allowed)
    assert sc.relation(at(LEFT, TOP), at(MIDDLE, TOP + 2)) == "left"
    assert sc.relation(at(RIGHT, MIDDLE - 2), at(LEFT, MIDDLE + 2)) == "right"
    # same column
    assert sc.relation(at(MIDDLE, TOP), at(MIDDLE + 2, BOTTOM)) == "above"
    assert sc.relation(at(RIGHT - 2, BOTTOM), at(RIGHT + 2, MIDDLE)) == "below"
    # diagonal, either way
    assert sc.relation(at(LEFT, TOP), at(MIDDLE, MIDDLE)) == "next"
    assert sc.relation(at(RIGHT, TOP), at(LEFT, BOTTOM)) == "next"
    assert sc.relation(at(LEFT, BOTTOM), at(RIGHT, TOP)) == "next"
    # inverse consistency over every pair of distinct slots
    for a in [at(x, y) for x in sc.SLOTS for y in sc.SLOTS]:
        for b in [at(x, y) for x in sc.SLOTS for y in sc.SLOTS]:
            if a != b:
                assert sc.INVERSE[sc.relation(a, b)] == sc.relation(b, a)


# ----------------------------------------------------------------------------------------------
# Pixel features


def features_of(scene, seed=0):
    return sc.image_features(sc.render_scene(scene, np.random.default_rng(seed))[None])[0]


def descriptor(features, color_index, j):
    return features[GRID_FEATURES + color_index * DESCRIPTORS_PER_COLOR + j]


def test_image_features_depend_only_on_pixels(data):
    images = data["train_images"]
    features = sc.image_features(images)
    assert features.shape == (NUM_TRAIN, sc.FEATURE_DIM) and features.dtype == np.float32
    np.testing.assert_array_equal(features, data["train_features"])
    # Per image: the same whatever else is in the batch.
    np.testing.assert_array_equal(sc.image_features(images[7:8])[0], features[7])
    np.testing.assert_array_equal(sc.image_features(images[::-1])[::-1], features)

    # Two renders of the same scene with the same rng: same pixels, same features.
    scene = data["train_scenes"][0]
    a = sc.render_scene(scene, np.random.default_rng(5))
    b = sc.render_scene(json.loads(json.dumps(scene)), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sc.image_features(a[None]), sc.image_features(b[None]))
    # A different rng jitters the pixels: the features move, but only a little.
    c = sc.render_scene(scene, np.random.default_rng(6))
    assert not np.array_equal(a, c)
    fa, fc = sc.image_features(np.stack([a, c]))
    assert np.linalg.norm(fa - fc) < 0.5 * np.linalg.norm(fa)


def test_image_features_in_chunks_match(data):
    images = np.repeat(data["val_images"][:2], 130, axis=0)  # 260 > the 256-image chunk
    features = sc.image_features(images)
    assert features.shape == (260, sc.FEATURE_DIM)
    np.testing.assert_array_equal(
        features[[0, 129, 130, 259]], np.repeat(data["val_features"][:2], 2, axis=0)
    )


def test_moving_a_red_object_moves_its_grid_features():
    left = features_of(make_scene(obj("square", "red", "large", LEFT, MIDDLE)))
    right = features_of(make_scene(obj("square", "red", "large", RIGHT, MIDDLE)))
    # grid index = (row * 8 + col) * 6 + colour
    gl, gr = (f[:GRID_FEATURES].reshape(8, 8, 6)[:, :, RED] for f in (left, right))
    assert gl[:, :4].sum() > 5 and gl[:, 4:].sum() == 0
    assert gr[:, 4:].sum() > 5 and gr[:, :4].sum() == 0
    # the object sits in the middle rows
    assert gl[:2].sum() == 0 and gl[6:].sum() == 0
    # mirrored scene, mirrored occupancy (up to a pixel of rounding at the edges)
    assert abs(gl.sum() - gr.sum()) < 0.5
    # the other colours' grids are empty (background is light grey)
    other = np.delete(left[:GRID_FEATURES].reshape(8, 8, 6), RED, axis=2)
    assert other.sum() == 0
    # centroid x of red: left vs right third
    assert descriptor(left, RED, CENTROID_X) < 0.3 < 0.7 < descriptor(right, RED, CENTROID_X)
    assert descriptor(left, RED, 0) == 1.0  # red present
    assert all(descriptor(left, k, 0) == 0.0 for k in range(6) if k != RED)


@pytest.mark.parametrize("size", ["small", "large"])
def test_shapes_are_distinguishable_by_fill_ratio(size):
    fills = {
        shape: descriptor(
            features_of(make_scene(obj(shape, "red", size, MIDDLE, MIDDLE))), RED, FILL_RATIO
        )
        for shape in sc.SHAPES
    }
    assert fills["circle"] == pytest.approx(0.79, abs=0.06)
    assert fills["square"] == pytest.approx(1.0, abs=0.03)
    assert fills["triangle"] == pytest.approx(0.5, abs=0.05)
    assert fills["square"] - fills["circle"] > 0.12
    assert fills["circle"] - fills["triangle"] > 0.2


@pytest.mark.parametrize("shape", [(64, 64, 3), (1, 32, 32, 3), (1, 64, 64), (1, 64, 64, 4), (0,)])
def test_image_features_bad_shape(shape):
    with pytest.raises(ValueError, match="64, 64, 3"):
        sc.image_features(np.zeros(shape, np.uint8))


# ----------------------------------------------------------------------------------------------
# On disk: ensure_dataset / load_data

SMALL = {"num_train": 12, "num_val": 4, "seed": 0}


def file_stats(base):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in base.iterdir()}


def test_ensure_dataset_writes_course_files_and_reuses_them(tmp_path):
    base = tmp_path / "shapes"
    messages = []
    assert sc.ensure_dataset(base, **SMALL, log=messages.append) == base
    assert len(messages) == 1 and "Generating" in messages[0]
    for name in COURSE_FILES + EXTRA_FILES:
        assert (base / name).is_file(), name
    assert not [p.name for p in base.iterdir() if p.name.startswith(".")]  # no temp files left
    meta = json.loads((base / "shapes_meta.json").read_text())
    assert meta == {"version": sc.VERSION, **SMALL}

    coco = load_coco_data(base)
    assert coco["train_captions"].shape == (12 * 5, 17)
    assert coco["val_captions"].shape == (4 * 5, 17)
    assert coco["train_features"].shape == (12, sc.FEATURE_DIM)
    assert coco["val_features"].shape == (4, sc.FEATURE_DIM)
    assert len(coco["train_urls"]) == 12 and len(coco["val_urls"]) == 4
    assert coco["idx_to_word"] == sc.vocabulary()[0]
    expected = sc.generate(**SMALL)
    for key in ("train_captions", "val_captions", "train_image_idxs", "val_features"):
        np.testing.assert_array_equal(coco[key], expected[key])

    # Second call: nothing is rewritten, nothing is logged.
    before = file_stats(base)
    assert sc.ensure_dataset(base, **SMALL, log=messages.append) == base
    assert len(messages) == 1
    assert file_stats(base) == before

    # Different sizes or seed: regenerated.
    sc.ensure_dataset(base, num_train=14, num_val=4, seed=0, log=messages.append)
    assert len(messages) == 2
    after = file_stats(base)
    assert after["shapes_meta.json"] != before["shapes_meta.json"]
    assert after["coco2014_captions.h5"] != before["coco2014_captions.h5"]
    assert load_coco_data(base)["train_features"].shape == (14, sc.FEATURE_DIM)
    assert json.loads((base / "shapes_meta.json").read_text())["num_train"] == 14

    sc.ensure_dataset(base, num_train=14, num_val=4, seed=1, log=messages.append)
    assert len(messages) == 3
    assert json.loads((base / "shapes_meta.json").read_text())["seed"] == 1


def test_ensure_dataset_regenerates_on_a_stale_version(tmp_path):
    sc.ensure_dataset(tmp_path, **SMALL)
    meta = json.loads((tmp_path / "shapes_meta.json").read_text())
    (tmp_path / "shapes_meta.json").write_text(json.dumps({**meta, "version": sc.VERSION - 1}))
    messages = []
    sc.ensure_dataset(tmp_path, **SMALL, log=messages.append)
    assert len(messages) == 1
    assert json.loads((tmp_path / "shapes_meta.json").read_text())["version"] == sc.VERSION


def test_load_data_images_and_scenes_match_captions(tmp_path):
    loaded = sc.load_data(tmp_path, **SMALL)
    expected = sc.generate(**SMALL)
    for split, num in (("train", 12), ("val", 4)):
        images, scenes = loaded[f"{split}_images"], loaded[f"{split}_scenes"]
        assert images.shape == (num, 64, 64, 3) and images.dtype == np.uint8
        assert len(scenes) == num
        np.testing.assert_array_equal(images, expected[f"{split}_images"])
        assert scenes == expected[f"{split}_scenes"]
        np.testing.assert_array_equal(sc.image_features(images), loaded[f"{split}_features"])
        for words, i in zip(words_of(loaded, split), loaded[f"{split}_image_idxs"]):
            assert sc.caption_is_true(words, scenes[i]), (words, scenes[i])
    # max_train subsamples the captions only, still aligned with their images.
    np.random.seed(0)
    sub = sc.load_data(tmp_path, max_train=7, **SMALL)
    assert sub["train_captions"].shape == (7, 17) and sub["train_images"].shape[0] == 12
    for words, i in zip(words_of(sub, "train"), sub["train_image_idxs"]):
        assert sc.caption_is_true(words, sub["train_scenes"][i])


# ----------------------------------------------------------------------------------------------
# default_dir: the cache, keyed by version, sizes and seed; the data directory is never written


def tree(folder):
    """Every path under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def test_default_dir_is_in_the_cache_keyed_by_what_determines_the_set(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "data"))
    home = tmp_path / "cache" / "shapes_captioning"
    assert sc.default_dir() == home / f"v{sc.VERSION}-4000-500-seed0"
    assert sc.default_dir(12, 4, seed=1) == home / f"v{sc.VERSION}-12-4-seed1"
    names = {sc.cache_name(*args) for args in [(12, 4, 0), (13, 4, 0), (12, 5, 0), (12, 4, 1)]}
    assert len(names) == 4
    assert str(sc.VERSION) in sc.cache_name(12, 4, 0)


def test_generated_set_goes_to_the_cache_never_to_the_data_dir(tmp_path, monkeypatch):
    from cs231n.captioning.data import load_caption_data

    data_dir = tmp_path / "data"
    (data_dir / "coco_captioning").mkdir(parents=True)
    (data_dir / "coco_captioning" / "coco2014_vocab.json").write_text("{}")  # incomplete COCO
    monkeypatch.setenv("CS231N_DATA", str(data_dir))
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    before = tree(data_dir)
    messages = []
    for data_root in (None, data_dir):
        data, name = load_caption_data(
            "auto", data_root, log=messages.append, shapes_size=(SMALL["num_train"], 4)
        )
        assert name == "builtin" and data["train_images"].shape[0] == SMALL["num_train"]
    assert len(messages) == 1  # generated once, then reused from the cache
    assert tree(data_dir) == before
    assert (sc.default_dir(**SMALL) / "shapes_meta.json").is_file()
    assert [p.name for p in (tmp_path / "cache" / "shapes_captioning").iterdir()] == [
        sc.cache_name(**SMALL)
    ]
    # Other sizes: another entry beside it, the first one kept.
    sc.load_data(num_train=6, num_val=2, log=messages.append)
    assert len(messages) == 2
    assert len(list((tmp_path / "cache" / "shapes_captioning").iterdir())) == 2
    assert tree(data_dir) == before


def test_read_only_data_dir_is_left_alone(tmp_path, monkeypatch):
    data_dir = tmp_path / "shared"
    data_dir.mkdir()
    monkeypatch.setenv("CS231N_DATA", str(data_dir))
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    data_dir.chmod(0o555)
    try:
        assert sc.ensure_dataset(num_train=3, num_val=2) == sc.default_dir(3, 2)
        assert list(data_dir.iterdir()) == []
    finally:
        data_dir.chmod(0o755)


# ----------------------------------------------------------------------------------------------
# Regression tests for fixed bugs


def test_image_features_of_an_empty_batch():
    features = sc.image_features(np.zeros((0, 64, 64, 3), np.uint8))
    assert features.shape == (0, sc.FEATURE_DIM) and features.dtype == np.float32


def test_empty_split_features_are_float32():
    data = sc.generate(num_train=2, num_val=0)
    assert data["train_features"].dtype == np.float32
    assert data["val_features"].shape == (0, sc.FEATURE_DIM)
    assert data["val_features"].dtype == np.float32


@pytest.mark.parametrize(
    "caption",
    [
        "a red circle and",  # used to count as true: fillers and connectors were skipped
        "a red circle to the",
        "the the a red circle is is",
        "a red circle is",
        "there is",
        "a red circle to the left a blue square",
        "a red circle , , a blue square",
        "red circle",
    ],
)
def test_incomplete_captions_are_false(caption):
    scene = {
        "objects": [
            {"shape": "circle", "color": "red", "size": "small", "x": 11, "y": 32, "r": 5},
            {"shape": "square", "color": "blue", "size": "large", "x": 53, "y": 32, "r": 9},
        ]
    }
    assert not sc.caption_is_true(caption.split(), scene)
    assert sc.caption_is_true("a red circle to the left of a blue square".split(), scene)


def test_deleted_file_regenerates(tmp_path):
    sc.ensure_dataset(tmp_path, num_train=3, num_val=2)
    (tmp_path / "val2014_urls.txt").unlink()
    sc.ensure_dataset(tmp_path, num_train=3, num_val=2)
    assert (tmp_path / "val2014_urls.txt").exists()


# A damaged copy in the cache is rebuilt, never fatal (issue #11, l).


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "damage",
    [
        lambda base: _truncate(base / "images.npz"),
        lambda base: (base / "images.npz").write_bytes(b""),
        lambda base: _truncate(base / "coco2014_captions.h5"),
        lambda base: (base / "scenes.json").write_text('{"train": [1, 2'),
        lambda base: (base / "shapes_meta.json").write_text("{not json"),
    ],
    ids=["images truncated", "images empty", "captions truncated", "scenes cut", "meta cut"],
)
def test_a_damaged_stored_set_is_generated_again(tmp_path, damage):
    expected = sc.load_data(tmp_path, num_train=3, num_val=2)
    damage(tmp_path)
    messages = []
    data = sc.load_data(tmp_path, num_train=3, num_val=2, log=messages.append)
    assert messages[-1].startswith("Generating") and len(messages) <= 2
    assert len(messages) == 1 or f"stored Shapes data set in {tmp_path} is damaged" in messages[0]
    np.testing.assert_array_equal(data["train_images"], expected["train_images"])
    np.testing.assert_array_equal(data["val_captions"], expected["val_captions"])
    assert data["train_scenes"] == expected["train_scenes"]
    # Whole again: read back without generating.
    sc.load_data(tmp_path, num_train=3, num_val=2, log=messages.append)
    assert sum("Generating" in m for m in messages) == 1


def test_max_train_from_a_sample_seed_is_the_same_each_time(tmp_path):
    a = sc.load_data(tmp_path, max_train=9, num_train=3, num_val=2, sample_seed=5)
    b = sc.load_data(tmp_path, max_train=9, num_train=3, num_val=2, sample_seed=5)
    np.testing.assert_array_equal(a["train_captions"], b["train_captions"])
    np.testing.assert_array_equal(a["train_image_idxs"], b["train_image_idxs"])
    with pytest.raises(ValueError, match="max_train=10000000000000 captions needs about"):
        sc.load_data(tmp_path / "never", max_train=10**13, num_train=3, num_val=2)
    assert not (tmp_path / "never").exists()  # refused before generating anything


@pytest.mark.parametrize("kwargs", [{"sample_seed": -1}, {"seed": -1}, {"sample_seed": 2**32}])
def test_a_bad_seed_is_refused_and_the_stored_set_left_alone(tmp_path, kwargs):
    """A bad seed made reading a good stored set fail, which was then taken for damage and
    the set generated again (issue #19 d)."""
    from cs231n.captioning import shapes

    shapes.load_data(tmp_path / "set", num_train=20, num_val=5)
    stamp = (tmp_path / "set" / "images.npz").stat().st_mtime_ns
    said = []
    name = next(iter(kwargs))
    with pytest.raises(
        ValueError, match=rf"load_data: {name} must be at least 0, at most 4294967295"
    ):
        shapes.load_data(
            tmp_path / "set", num_train=20, num_val=5, max_train=10, log=said.append, **kwargs
        )
    assert said == [] and (tmp_path / "set" / "images.npz").stat().st_mtime_ns == stamp


def test_caption_data_seeds_are_checked_by_name():
    from cs231n.coco_utils import random_caption_data, subsample_rows

    with pytest.raises(ValueError, match="random_caption_data: seed must be at least 0"):
        random_caption_data(seed=-5)
    with pytest.raises(ValueError, match="subsample_rows: seed must be an integer, got 1.5"):
        subsample_rows(10, 3, seed=1.5)
    assert random_caption_data(num_train=2, seed=None)["train_captions"].shape[0] == 2


def test_a_cache_entry_replaced_by_a_file_is_rebuilt_but_a_callers_file_is_not(
    tmp_path, monkeypatch
):
    from cs231n.captioning import shapes

    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    entry = shapes.default_dir(20, 5, 0)
    entry.parent.mkdir(parents=True)
    entry.write_text("not a folder")
    data = shapes.load_data(num_train=20, num_val=5)
    assert entry.is_dir() and data["train_images"].shape[0] == 20
    mine = tmp_path / "mine"
    mine.write_text("my notes")
    with pytest.raises(ValueError, match="mine is not a folder"):
        shapes.load_data(mine, num_train=20, num_val=5)
    assert mine.read_text() == "my notes"
