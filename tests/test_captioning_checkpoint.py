"""Checkpoints: round trip, resume that continues exactly, errors that name the file."""

import json

import numpy as np
import pytest

from cs231n.captioning_checkpoint import checkpoint_paths, load_checkpoint, save_checkpoint
from cs231n.captioning_experiments import train_captioner
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.coco_utils import random_caption_data

SMALL = dict(hidden_dim=12, wordvec_dim=8, batch_size=10, learning_rate=1e-2)


def small_data():
    return random_caption_data(num_train=40, num_val=10, feature_dim=6, max_words=5, seed=1)


def test_round_trip(tmp_path):
    data = small_data()
    np.random.seed(0)
    model = CaptioningRNN(
        data["word_to_idx"], input_dim=6, wordvec_dim=4, hidden_dim=5, cell_type="lstm"
    )
    save_checkpoint(tmp_path / "m", model, extra={"note": "x"})
    assert checkpoint_paths(tmp_path / "m.json") == (tmp_path / "m.npz", tmp_path / "m.json")
    loaded, meta, optim = load_checkpoint(tmp_path / "m.npz")
    assert optim is None and meta["extra"] == {"note": "x"}
    assert loaded.cell_type == "lstm" and loaded.idx_to_word == model.idx_to_word
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.params[k], v)
        assert loaded.params[k].dtype == np.float32
    f = data["val_features"]
    np.testing.assert_array_equal(loaded.sample(f), model.sample(f))


def test_resume_continues_exactly(tmp_path):
    """3 epochs straight == 2 epochs, stop, resume for the third (same losses, same weights)."""
    data = small_data()
    straight, solver, _ = train_captioner(
        data, None, verbose=False, progress=False, num_epochs=3, **SMALL
    )
    ckpt = tmp_path / "run"
    train_captioner(data, ckpt, verbose=False, progress=False, num_epochs=2, **SMALL)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["training"]["epoch"] == 2 and len(meta["extra"]["reports"]) == 2
    np.random.seed(12345)  # resuming restores the random state: this must not matter
    resumed, solver2, reports = train_captioner(
        data, ckpt, resume=True, verbose=False, progress=False, num_epochs=3, **SMALL
    )
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    np.testing.assert_allclose(solver2.loss_history, solver.loss_history, rtol=1e-6)
    for k in straight.params:
        np.testing.assert_allclose(resumed.params[k], straight.params[k], rtol=1e-5, atol=1e-7)


def test_resume_refuses_other_settings(tmp_path):
    data = small_data()
    train_captioner(data, tmp_path / "run", verbose=False, progress=False, num_epochs=1, **SMALL)
    with pytest.raises(ValueError, match="settings differ.*hidden_dim"):
        train_captioner(
            data,
            tmp_path / "run",
            resume=True,
            verbose=False,
            progress=False,
            num_epochs=2,
            **{**SMALL, "hidden_dim": 13},
        )


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_checkpoint(tmp_path / "nope")
    data = small_data()
    model = CaptioningRNN(data["word_to_idx"], input_dim=6, wordvec_dim=4, hidden_dim=5)
    save_checkpoint(tmp_path / "m", model)
    (tmp_path / "m.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"m.npz: not a readable .npz"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a cs231n-captioning/1 checkpoint"):
        load_checkpoint(tmp_path / "m")


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    data = small_data()
    model = CaptioningRNN(data["word_to_idx"], input_dim=6, wordvec_dim=4, hidden_dim=5)
    save_checkpoint(tmp_path / "m", model)
    before = (tmp_path / "m.npz").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    model.params["Wx"] += 1
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "m", model)
    assert (tmp_path / "m.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]
