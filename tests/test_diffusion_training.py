"""cs231n.diffusion.training: runs on Fashion-MNIST (class-conditional) and emoji, the run
folder, resume refusals, loading a run, and the conditions for sampling."""

import json

import numpy as np
import pytest
import torch

from cs231n.data import mnist
from cs231n.diffusion import training
from cs231n.diffusion.settings import FASHION_CLASSES, fashion_class

TINY = {"dim": 4, "dim_mults": [1, 2], "timesteps": 5}


def fashion_available():
    try:
        mnist.dataset_dir("fashion-mnist")
    except (FileNotFoundError, ValueError):
        return False
    return True


needs_fashion = pytest.mark.skipif(not fashion_available(), reason="needs Fashion-MNIST")


@needs_fashion
def test_fashion_run_trains_resumes_and_loads(tmp_path):
    run = tmp_path / "run"
    kw = dict(model=TINY, batch_size=8, max_images=32, save_every=2, sample_every=1000)
    trainer = training.train(run, "fashion-mnist", steps=2, **kw)
    assert trainer.step == 2
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == {"dataset": "fashion-mnist", "source": "idx", "num_images": 32}
    assert config["model"]["channels"] == 1 and config["model"]["condition_dim"] == 10
    assert (run / "samples.png").is_file() and (run / "model-2.pt").is_file()
    # More steps continue the run; another model shape is refused, naming it.
    assert training.train(run, "fashion-mnist", steps=3, **kw).step == 3
    with pytest.raises(ValueError, match=r"model \{.*'dim': 4.*saved, \{.*'dim': 8"):
        training.train(run, "fashion-mnist", steps=4, **{**kw, "model": {**TINY, "dim": 8}})
    diffusion, config = training.load_run(run)
    assert not diffusion.training and diffusion.channels == 1
    cond = training.condition(config, class_name="Sneaker")
    assert cond.tolist() == [0.0] * 7 + [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="conditioned on a --class, not a --prompt"):
        training.condition(config, prompt="crying face")


def test_conditional_images_batches_like_items():
    ds = training.ConditionalImages(torch.rand(5, 1, 4, 4), torch.eye(5), list("abcde"))
    images, kwargs = ds.batch([3, 1])
    item = ds[3]
    torch.testing.assert_close(images[0], item[0])
    torch.testing.assert_close(kwargs["text_emb"][0], item[1]["text_emb"])
    assert kwargs["text"] == ["d", "b"]
    np.random.seed(0)
    assert ds.random_model_kwargs(4)["text_emb"].shape == (4, 5)


def test_fashion_classes():
    assert [fashion_class(c) for c in FASHION_CLASSES] == list(range(10))
    assert fashion_class("T-Shirt") == 0 and fashion_class("ankle-boot") == 9
    with pytest.raises(
        ValueError, match="unknown Fashion-MNIST class 'shoe'; the classes: t-shirt"
    ):
        fashion_class("shoe")


def test_prompt_conditions(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    torch.save(
        {
            "idx_mapping": {"crying face": 0, "face with cowboy hat": 1},
            "embs": torch.randn(2, 512).half(),
            "pca_components": torch.eye(512),
            "mean": torch.zeros(512),
        },
        tmp_path / "text_embeddings.pt",
    )
    config = {"data": {"dataset": "emoji"}}
    assert training.condition(config, prompt="crying face").shape == (512,)
    with pytest.raises(ValueError, match="unknown text 'cowboy hat face'.*'face with cowboy hat'"):
        training.condition(config, prompt="cowboy hat face")
    with pytest.raises(ValueError, match="conditioned on a --prompt, not a --class"):
        training.condition(config, class_name="bag")


def test_bad_model_settings():
    with pytest.raises(ValueError, match="image size 32 is not divisible by 64"):
        training.check_model_config({**training.MODEL_DEFAULTS, "dim_mults": [1] * 6})
    with pytest.raises(ValueError, match="objective must be one of"):
        training.check_model_config({**training.MODEL_DEFAULTS, "objective": "v"})
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        training.load_data("cifar")
    with pytest.raises(FileNotFoundError, match="not a diffusion run"):
        training.load_run("/nonexistent-run")
