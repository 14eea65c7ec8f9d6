"""COCO-format helpers: sampling, decoding, the real vocabulary, the random data set."""

import json

import numpy as np
import pytest

from cs231n.coco_utils import (
    decode_captions,
    load_coco_data,
    load_coco_vocab,
    random_caption_data,
    sample_coco_minibatch,
    write_coco_data,
)
from cs231n.core.config import data_path

IDX_TO_WORD = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "sits"]


def test_decode_captions_skips_null_and_stops_after_end():
    captions = np.array([[1, 4, 5, 6, 2, 5, 0], [1, 4, 0, 5, 0, 0, 0]])
    assert decode_captions(captions, IDX_TO_WORD) == [
        "<START> a cat sits <END>",
        "<START> a cat",
    ]
    assert decode_captions(captions[0], IDX_TO_WORD) == "<START> a cat sits <END>"
    with pytest.raises(ValueError, match="1-D or 2-D"):
        decode_captions(np.zeros((1, 1, 1), int), IDX_TO_WORD)


def test_sample_minibatch_with_replacement_and_aligned():
    data = random_caption_data(num_train=7, num_val=3, feature_dim=4, seed=1)
    np.random.seed(0)
    captions, features, urls = sample_coco_minibatch(data, batch_size=20, split="train")
    assert captions.shape == (20, 17) and features.shape == (20, 4) and urls.shape == (20,)
    # With replacement: 20 draws from 7 captions must repeat; rows stay aligned.
    assert len({tuple(c) for c in captions}) <= 7
    for cap, feat, url in zip(captions, features, urls):
        i = int(url.rsplit("/", 1)[1])
        np.testing.assert_array_equal(cap, data["train_captions"][i])
        np.testing.assert_array_equal(feat, data["train_features"][i])
    with pytest.raises(KeyError, match="test_captions"):
        sample_coco_minibatch(data, split="test")


def test_random_caption_data_format():
    data = random_caption_data(num_train=30, num_val=5, seed=2)
    assert data["train_captions"].dtype == np.int32 and data["train_captions"].shape == (30, 17)
    assert data["train_features"].dtype == np.float32
    assert len(data["idx_to_word"]) == 1004
    for row in data["train_captions"]:
        assert row[0] == 1
        end = list(row).index(2)
        assert 4 <= end <= 16 and (row[1:end] >= 4).all() and not row[end + 1 :].any()
    again = random_caption_data(num_train=30, num_val=5, seed=2)
    np.testing.assert_array_equal(again["train_captions"], data["train_captions"])


def test_real_coco_vocabulary():
    path = data_path("coco_captioning", "coco2014_vocab.json")
    if not path.exists():
        pytest.skip(f"{path} not present (set CS231N_DATA to the shared data)")
    idx_to_word, word_to_idx = load_coco_vocab(path)
    assert len(idx_to_word) == 1004
    assert idx_to_word[:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert all(word_to_idx[w] == i for i, w in enumerate(idx_to_word))


def test_vocab_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.json"):
        load_coco_vocab(tmp_path / "vocab.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        load_coco_vocab(bad)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"idx_to_word": []}))
    with pytest.raises(KeyError, match="word_to_idx"):
        load_coco_vocab(partial)


def tiny_coco(tmp_path, pca=True, **overrides):
    data = random_caption_data(num_train=12, num_val=6, feature_dim=512 if pca else 4096, seed=4)
    data["train_image_idxs"] = data["train_image_idxs"] % 5  # several captions per image
    data["train_features"] = data["train_features"][:5]
    data["train_urls"] = data["train_urls"][:5]
    data.update(overrides)
    write_coco_data(tmp_path, data, pca_features=pca)
    return data


def test_load_coco_data_round_trip(tmp_path):
    written = tiny_coco(tmp_path)
    data = load_coco_data(tmp_path)
    assert set(data) == {
        "train_captions", "train_image_idxs", "val_captions", "val_image_idxs",
        "train_features", "val_features", "idx_to_word", "word_to_idx", "train_urls", "val_urls",
    }  # fmt: skip
    for key in ("train_captions", "train_image_idxs", "val_captions", "train_features"):
        np.testing.assert_array_equal(data[key], written[key])
    assert data["train_captions"].dtype == np.int32 and data["train_features"].dtype == np.float32
    assert data["train_urls"].tolist() == list(written["train_urls"])
    assert data["word_to_idx"]["<END>"] == 2 and data["idx_to_word"][3] == "<UNK>"


def test_load_coco_data_default_dir_and_raw_features(tmp_path, monkeypatch):
    tiny_coco(tmp_path / "coco_captioning", pca=False)
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    data = load_coco_data(pca_features=False)
    assert data["train_features"].shape == (5, 4096)
    with pytest.raises(FileNotFoundError, match="train2014_vgg16_fc7_pca.h5"):
        load_coco_data()  # the PCA files are not there


def test_max_train_subsamples_with_replacement(tmp_path):
    written = tiny_coco(tmp_path)
    np.random.seed(0)
    data = load_coco_data(tmp_path, max_train=30)
    assert data["train_captions"].shape == (30, 17)
    rows = {tuple(r) for r in written["train_captions"]}
    assert all(tuple(r) in rows for r in data["train_captions"])
    assert data["val_captions"].shape == written["val_captions"].shape


def test_missing_file_names_it(tmp_path):
    tiny_coco(tmp_path)
    (tmp_path / "val2014_urls.txt").unlink()
    with pytest.raises(FileNotFoundError, match="val2014_urls.txt"):
        load_coco_data(tmp_path)


def test_missing_key_names_file_and_key(tmp_path):
    import h5py

    tiny_coco(tmp_path)
    with h5py.File(tmp_path / "coco2014_captions.h5", "a") as f:
        del f["val_image_idxs"]
    with pytest.raises(
        KeyError, match=r"coco2014_captions.h5: missing HDF5 key\(s\) \['val_image_idxs'\]"
    ):
        load_coco_data(tmp_path)


def test_corrupt_file_is_named(tmp_path):
    tiny_coco(tmp_path)
    (tmp_path / "train2014_vgg16_fc7_pca.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(OSError, match="train2014_vgg16_fc7_pca.h5: not a readable HDF5 file"):
        load_coco_data(tmp_path)


@pytest.mark.parametrize(
    "override, match",
    [
        ({"train_image_idxs": np.arange(11)}, r"train_image_idxs: expected 12 integers"),
        ({"val_image_idxs": np.full(6, 99)}, r"image index 99 outside the 6 rows"),
        ({"train_captions": np.full((12, 17), 5000)}, r"train_captions: word ids outside"),
        ({"val_urls": np.array(["u"])}, r"val2014_urls.txt: 1 URLs for 6 images"),
        ({"val_features": np.zeros((6, 3), np.float32)}, "differ in width"),
    ],
)
def test_inconsistent_data_is_named(tmp_path, override, match):
    tiny_coco(tmp_path, **override)
    with pytest.raises(ValueError, match=match):
        load_coco_data(tmp_path)


def test_course_module_names_base_dir_and_dir_path():
    """BASE_DIR: the default COCO folder (the course's default for base_dir), a str as in the
    course; dir_path (2020): the folder of the module file."""
    from pathlib import Path

    from cs231n import coco_utils

    assert Path(coco_utils.dir_path) == Path(coco_utils.__file__).resolve().parent
    assert isinstance(coco_utils.BASE_DIR, str)
    assert Path(coco_utils.BASE_DIR) == coco_utils.default_coco_dir()
    assert Path(coco_utils.BASE_DIR).name == "coco_captioning"


def test_load_coco_data_reads_base_dir_and_default(tmp_path, monkeypatch):
    """The course's call load_coco_data(BASE_DIR, ...) and the default (None, looked up at
    call time) read the same folder."""
    from cs231n import coco_utils

    written = tiny_coco(tmp_path / "coco_captioning")
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    monkeypatch.setattr(coco_utils, "BASE_DIR", str(coco_utils.default_coco_dir()))
    by_name = load_coco_data(coco_utils.BASE_DIR, max_train=None, pca_features=True)
    by_default = load_coco_data(base_dir=None)
    for data in (by_name, by_default):
        np.testing.assert_array_equal(data["train_captions"], written["train_captions"])


# ----------------------------------------------------------------------------------------------
# Data that would train silently wrong (issue #11, k): one error naming the file


def _bad_vocab(tmp_path, idx_to_word, word_to_idx):
    tiny_coco(tmp_path)
    vocab = {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}
    (tmp_path / "coco2014_vocab.json").write_text(json.dumps(vocab))


def test_a_vocabulary_that_disagrees_with_itself_is_refused(tmp_path):
    data = random_caption_data(num_train=2, seed=4)
    words = list(data["idx_to_word"])
    swapped = dict(data["word_to_idx"], word0=data["word_to_idx"]["word1"])
    swapped["word1"] = data["word_to_idx"]["word0"]
    _bad_vocab(tmp_path, words, swapped)
    with pytest.raises(ValueError, match=r"coco2014_vocab.json: inconsistent vocabulary: "):
        load_coco_data(tmp_path)
    _bad_vocab(tmp_path, words[:-1], data["word_to_idx"])
    with pytest.raises(ValueError, match=r"idx_to_word has 1003 words, word_to_idx 1004"):
        load_coco_data(tmp_path)
    _bad_vocab(tmp_path, {"a": 1}, data["word_to_idx"])
    with pytest.raises(ValueError, match=r"vocab.json: idx_to_word must be a list"):
        load_coco_data(tmp_path)
    _bad_vocab(tmp_path, words, {w: str(i) for w, i in data["word_to_idx"].items()})
    with pytest.raises(ValueError, match=r"vocab.json: word_to_idx must map words to integer"):
        load_coco_data(tmp_path)
    (tmp_path / "coco2014_vocab.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"vocab.json: expected a JSON object, got a list"):
        load_coco_data(tmp_path)


def test_a_vocabulary_without_start_is_refused(tmp_path):
    words = ["<NULL>", "<BEGIN>", "<END>", "<UNK>"] + [f"word{i}" for i in range(1000)]
    _bad_vocab(tmp_path, words, {w: i for i, w in enumerate(words)})
    with pytest.raises(ValueError, match=r"vocab.json: the vocabulary has no <START> token"):
        load_coco_data(tmp_path)


def test_captions_without_start_or_words_are_refused(tmp_path):
    captions = random_caption_data(num_train=12, seed=4)["train_captions"]
    no_start = captions.copy()
    no_start[3, 0] = 7
    tiny_coco(tmp_path, train_captions=no_start)
    with pytest.raises(ValueError, match=r"train_captions: 1 of 12 captions do not start with "):
        load_coco_data(tmp_path)
    all_null = captions.copy()
    all_null[:, 1:] = 0  # <START> then nothing: no word to learn, a zero loss
    tiny_coco(tmp_path, train_captions=all_null)
    with pytest.raises(ValueError, match=r"12 of 12 captions have no word after <START>"):
        load_coco_data(tmp_path)
    tiny_coco(tmp_path, val_captions=np.zeros((6, 17), np.int32))
    with pytest.raises(ValueError, match=r"val_captions: 6 of 6 captions do not start"):
        load_coco_data(tmp_path)


@pytest.mark.parametrize("split, value", [("train", np.nan), ("val", np.inf)])
def test_non_finite_features_are_refused_naming_the_file_and_split(tmp_path, split, value):
    data = random_caption_data(num_train=12, num_val=6, seed=4)
    features = data[f"{split}_features"][: 5 if split == "train" else 6].copy()
    features[1, 7] = value
    tiny_coco(tmp_path, **{f"{split}_features": features})
    with pytest.raises(
        ValueError, match=rf"{split}2014_vgg16_fc7_pca.h5 key features: the {split} features hold"
    ):
        load_coco_data(tmp_path)


def test_max_train_from_a_seed_is_the_same_each_time(tmp_path):
    tiny_coco(tmp_path)
    np.random.seed(1)
    first = load_coco_data(tmp_path, max_train=30, seed=7)["train_captions"]
    np.random.seed(2)  # the global state does not matter with a seed
    again = load_coco_data(tmp_path, max_train=30, seed=7)["train_captions"]
    other = load_coco_data(tmp_path, max_train=30, seed=8)["train_captions"]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_max_train_that_cannot_fit_is_refused_before_any_work(tmp_path):
    from cs231n.coco_utils import check_max_train

    with pytest.raises(ValueError, match=r"max_train=10000000000000 captions needs about .* TB"):
        check_max_train(10**13)
    tiny_coco(tmp_path)
    with pytest.raises(ValueError, match=r"max_train=10000000000000 captions needs about"):
        load_coco_data(tmp_path, max_train=10**13)
    with pytest.raises(ValueError, match="max_train must be a positive integer"):
        load_coco_data(tmp_path, max_train=0)


WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "b"]


@pytest.mark.parametrize(
    "ids, shown",
    [
        ([-100], "-100"),  # the ignore index of PyTorch's losses: was the word 100 from the end
        ([-1], "-1"),  # was the last word
        ([6], "6"),  # was a raw IndexError
        ([4.7], "4.7"),  # was word 4
        ([float("nan")], "nan"),
        ([[4, 5], [1, 99]], "99"),
    ],
)
@pytest.mark.parametrize("vocabulary", ["list", "dict"])
def test_decode_captions_refuses_ids_outside_the_vocabulary(ids, shown, vocabulary):
    idx_to_word = WORDS if vocabulary == "list" else dict(enumerate(WORDS))
    with pytest.raises(ValueError, match=rf"word id {shown} .*\[0, 6\)"):
        decode_captions(np.asarray(ids), idx_to_word)


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64, np.float32]
)
def test_decode_captions_takes_ids_of_any_integer_dtype(dtype):
    assert decode_captions(np.array([1, 4, 5, 2, 4], dtype=dtype), WORDS) == "<START> a b <END>"


def test_decode_captions_refuses_booleans_and_text():
    for ids in (np.array([True, False]), np.array(["a", "b"])):
        with pytest.raises(ValueError, match="integer word ids"):
            decode_captions(ids, WORDS)
    assert decode_captions(np.zeros((2, 0), dtype=np.int64), WORDS) == ["", ""]


def test_text_files_that_are_not_utf8_are_named(tmp_path):
    """A non-UTF-8 COCO text file raised Python's codec error without the file's name (issue
    #19 d); every text file the package reads goes through one reader that names it."""
    from cs231n.coco_utils import load_coco_vocab
    from cs231n.core.files import read_text

    vocab = tmp_path / "coco2014_vocab.json"
    vocab.write_bytes(b'{"idx_to_word": ["caf\xe9"]}')  # Latin-1, not UTF-8
    with pytest.raises(
        ValueError, match=rf"{vocab}: not a UTF-8 JSON vocabulary \(byte 0xe9 at offset 21\)"
    ):
        load_coco_vocab(vocab)
    urls = tmp_path / "train2014_urls.txt"
    urls.write_bytes(b"http://x/1.jpg\n\xff\xfe\n")
    with pytest.raises(
        ValueError, match=rf"{urls}: not a UTF-8 text file \(byte 0xff at offset 15\)"
    ):
        read_text(urls)
