"""SimCLR pretraining runs (cs231n/ssl/training.py): data, augmentations, the run folder and
its exact resume, and the errors that come before any work."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n.data import transforms as T
from cs231n.ssl import training
from cs231n.ssl.training import (
    DEFAULTS,
    build_model,
    check_config,
    load_checkpoint,
    load_ssl_data,
    train_ssl,
    train_transform,
)

TINY = {"max_images": 96, "width": 4, "feature_dim": 8, "epochs": 2, "batch_size": 32}


def grey_data(n=96, seed=0):
    """Two kinds of 28x28 grey images (bars and blobs) with labels, as load_ssl_data returns."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 2
    images[labels == 0, :, 10:18] = 220
    images[labels == 1, 8:20, 8:20] = 180
    train = (images, labels.astype(np.int64))
    return train, (images[:32], labels[:32].astype(np.int64)), {"channels": 1, "classes": 2}


def test_grey_augmentation_leaves_out_colour():
    t = train_transform(1)
    names = [type(s).__name__ for s in t.transforms]
    assert "RandomGrayscale" not in names
    jitter = next(s for s in t.transforms if isinstance(s, T.RandomApply)).transforms[0]
    assert jitter.saturation is None and jitter.hue is None and jitter.brightness == (0.6, 1.4)
    x = t(Image.fromarray(grey_data()[0][0][0]))
    assert x.shape == (1, 32, 32)
    colour = [type(s).__name__ for s in train_transform(3).transforms]
    assert "RandomGrayscale" in colour  # the course's, for colour images


def test_models():
    small = build_model({**DEFAULTS, "width": 16}, 1, seed=0)
    assert sum(p.numel() for p in small.parameters()) == 439_472
    small.eval()
    with torch.no_grad():
        h, z = small(torch.randn(2, 1, 32, 32))
    assert h.shape == (2, 128) and z.shape == (2, 128)
    course = build_model({**DEFAULTS, "arch": "resnet50"}, 3)
    assert type(course).__name__ == "Model"  # the course's own class


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batch_size": 1}, "batch_size must be at least 2"),
        ({"temperature": 0}, "temperature must be in \\(0"),
        ({"arch": "vgg"}, "arch must be one of"),
        ({"max_images": 10}, "smaller than batch_size"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"colour": 1}, "unknown settings"),
    ],
)
def test_bad_config(change, message):
    with pytest.raises(ValueError, match=message):
        check_config({**DEFAULTS, **change})


def test_run_folder_and_exact_resume(tmp_path):
    data = grey_data()
    straight = train_ssl(tmp_path / "a", TINY, seed=3, data=data)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "checkpoint.pt",
        "config.json",
        "loss.png",
        "losses.json",
    ]
    assert json.loads((tmp_path / "a" / "config.json").read_text())["width"] == 4
    assert len(json.loads((tmp_path / "a" / "losses.json").read_text())["loss"]) == 2

    train_ssl(tmp_path / "b", {**TINY, "epochs": 1}, seed=3, data=data)
    resumed = train_ssl(tmp_path / "b", TINY, seed=3, data=data, resume=True)
    assert resumed.losses == straight.losses
    a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["model_state"]
    b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_other_settings_is_refused(tmp_path):
    data = grey_data()
    train_ssl(tmp_path / "r", {**TINY, "epochs": 1}, data=data)
    with pytest.raises(ValueError, match="temperature 0.5 saved, 0.2 asked"):
        train_ssl(tmp_path / "r", {**TINY, "temperature": 0.2}, data=data, resume=True)


def test_damaged_checkpoint_is_named(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "something-else"}, path)
    with pytest.raises(ValueError, match="not an SSL checkpoint"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint.pt"):
        load_checkpoint(path)


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    train, test, info = load_ssl_data(str(tmp_path / "imgs"), seed=0)
    assert info == {"channels": 3, "classes": 2, "train_images": 8, "test_images": 2}
    assert train[0].shape == (8, 32, 32, 3) and train[0].dtype == np.uint8
    assert sorted(np.concatenate([train[1], test[1]]).tolist()) == [0] * 5 + [1] * 5

    (tmp_path / "imgs" / "dogs" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt: not an image"):
        load_ssl_data(str(tmp_path / "imgs"))
    (tmp_path / "imgs" / "dogs" / "notes.txt").unlink()
    (tmp_path / "imgs" / "dogs" / "broken.png").write_bytes(b"\x89PNG nothing")
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        load_ssl_data(str(tmp_path / "imgs"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        load_ssl_data(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        load_ssl_data(str(tmp_path / "missing"))


def test_too_few_images_for_a_batch(tmp_path):
    train, test, info = grey_data(n=40)
    with pytest.raises(ValueError, match="40 training images, fewer than batch_size 64"):
        train_ssl(tmp_path / "x", {**TINY, "batch_size": 64, "max_images": None},
                  data=((train[0], train[1]), test, info))  # fmt: skip
    assert not (tmp_path / "x").exists()
    assert training.FORMAT == "cs231n-ssl/1"
