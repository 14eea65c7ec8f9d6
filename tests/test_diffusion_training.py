"""cs231n.diffusion.training: runs on Fashion-MNIST (class-conditional) and emoji, the run
folder, resume refusals, loading a run, and the conditions for sampling."""

import json

import numpy as np
import pytest
import torch

from cs231n.data import mnist
from cs231n.diffusion import training
from cs231n.diffusion.settings import (
    FASHION_CLASSES,
    MODEL_DEFAULTS,
    TRAIN_DEFAULTS,
    defaults,
    fashion_class,
)

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
    # a run saved before min_snr_gamma and lr_schedule existed had the course's: it continues
    saved = torch.load(run / "model.pt", weights_only=False)
    del saved["config"]["model"]["min_snr_gamma"], saved["config"]["lr_schedule"]
    torch.save(saved, run / "model.pt")
    assert training.train(run, "fashion-mnist", steps=3, **kw).step == 3
    with pytest.raises(ValueError, match="model.min_snr_gamma None saved, 5.0 asked"):
        model = {**kw["model"], "min_snr_gamma": 5}
        training.train(run, "fashion-mnist", steps=4, **{**kw, "model": model})
    with pytest.raises(ValueError, match="differ from the saved run: model.dim 4 saved, 8 asked"):
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


def test_each_data_set_has_its_defaults():
    assert defaults("fashion-mnist") == (MODEL_DEFAULTS, TRAIN_DEFAULTS)
    model, train = defaults("emoji")
    changed = {k for k in model if model[k] != MODEL_DEFAULTS[k]}
    changed |= {k for k in train if train[k] != TRAIN_DEFAULTS[k]}
    assert changed == {"dim_mults", "steps", "batch_size", "lr", "lr_schedule"}
    assert train["lr_schedule"] == "cosine" and model["dim_mults"] == [1, 2, 4, 8]
    assert training.check_model_config(model) == model  # a valid network for 32x32
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        defaults("cifar")
    with pytest.raises(ValueError, match=r"unknown data set \['emoji'\]"):
        defaults(["emoji"])
    model["dim_mults"].append(16)  # the caller's copy: the defaults stay
    assert defaults("emoji")[0]["dim_mults"] == [1, 2, 4, 8]


def test_min_snr_weighting():
    """Min-SNR-gamma (Hang et al. 2023, Eq. 7 and lucidrains' min_snr_loss_weight): the loss
    weight of each step is min(SNR, gamma) / SNR for noise prediction, min(SNR, gamma) for x0
    prediction; a gamma above every SNR leaves the course's weights."""
    base = {**MODEL_DEFAULTS, "condition_dim": 3, "channels": 1, "image_size": 32, **TINY}
    course = training.build_diffusion({"model": base})
    ac = course.alphas_cumprod.double()
    snr = ac / (1 - ac)
    weighted = training.build_diffusion({"model": {**base, "min_snr_gamma": 5}})
    expected = (snr.clamp(max=5) / snr).float()
    torch.testing.assert_close(weighted.loss_weight, expected, rtol=1e-6, atol=0)
    assert weighted.loss_weight[-1] == 1 and weighted.loss_weight[0] < 1  # noisiest: unchanged
    x0 = training.build_diffusion(
        {"model": {**base, "min_snr_gamma": 5, "objective": "pred_x_start"}}
    )
    torch.testing.assert_close(x0.loss_weight, snr.clamp(max=5).float(), rtol=1e-6, atol=0)
    high = training.build_diffusion({"model": {**base, "min_snr_gamma": 1e5}})
    torch.testing.assert_close(high.loss_weight, course.loss_weight, rtol=1e-6, atol=0)
    # p_losses uses them: with the same draws, each image's error times its step's weight
    weighted.model.load_state_dict(course.model.state_dict())
    weighted.eval(), course.eval()  # no condition dropping or dropout: the draws are t, noise
    x, cond = torch.rand(6, 1, 32, 32), {"text_emb": torch.randn(6, 3)}
    torch.manual_seed(1)
    loss = weighted.p_losses(x, model_kwargs=cond)
    torch.manual_seed(1)
    t = torch.randint(0, course.num_timesteps, (6,))
    noise = torch.randn_like(x)
    with torch.no_grad():
        out = course.model(course.q_sample(course.normalize(x), t, noise), t, cond)
    per_image = ((out - noise) ** 2).mean(dim=(1, 2, 3))
    torch.testing.assert_close(loss, (expected[t] * per_image).mean(), rtol=1e-5, atol=0)
    # settings: None is the course's and leaves no key; a bad gamma is refused
    assert training.check_model_config(MODEL_DEFAULTS)["min_snr_gamma"] is None
    assert training.check_model_config({**MODEL_DEFAULTS, "min_snr_gamma": 5})["min_snr_gamma"] == 5
    assert training.check_model_config({**MODEL_DEFAULTS, "min_snr_gamma": 1e6})
    for bad in (0, -1, 1e-300, 2e6, True, float("nan"), float("inf"), [5]):
        with pytest.raises(ValueError, match="min_snr_gamma must be"):
            training.check_model_config({**MODEL_DEFAULTS, "min_snr_gamma": bad})
        with pytest.raises(ValueError, match="min_snr_gamma must be"):
            training.min_snr_weighting(course, bad)


def test_bad_model_settings():
    with pytest.raises(ValueError, match="image size 32 is not divisible by 64"):
        training.check_model_config({**MODEL_DEFAULTS, "dim_mults": [1] * 6})
    with pytest.raises(ValueError, match="objective must be one of"):
        training.check_model_config({**MODEL_DEFAULTS, "objective": "v"})
    with pytest.raises(ValueError, match=r"unknown model settings \['dim_mult'\]"):
        training.check_model_config({**MODEL_DEFAULTS, "dim_mult": [1, 2]})
    for bad in (4, None, "1,2", [1, 0], [1.5]):
        with pytest.raises(ValueError, match="dim_mults must be a list of positive integers"):
            training.check_model_config({**MODEL_DEFAULTS, "dim_mults": bad})
    with pytest.raises(ValueError, match="within 4096 channels, got 16 x 100000 = 1600000"):
        training.check_model_config({**MODEL_DEFAULTS, "dim_mults": [1, 100000]})
    with pytest.raises(ValueError, match="within 4096 channels, got 1024 x 64"):
        training.check_model_config({**MODEL_DEFAULTS, "dim": 1024, "dim_mults": [1, 64]})
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        training.load_data("cifar")
    with pytest.raises(FileNotFoundError, match="not a diffusion run"):
        training.load_run("/nonexistent-run")
