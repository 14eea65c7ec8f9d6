"""COCO-format helpers: sampling, decoding, the real vocabulary, the random data set."""

import json

import numpy as np
import pytest

from cs231n.coco_utils import (
    decode_captions,
    load_coco_vocab,
    random_caption_data,
    sample_coco_minibatch,
)
from cs231n.config import data_path

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
