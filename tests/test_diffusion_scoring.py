"""cs231n.diffusion.scoring and ``cs231n diffusion score``: a Fashion-MNIST DDPM scored by the
domain classifier as the GANs are (class-balanced samples, cropped back to 28x28), emoji runs
refused, and bad options refused before any work."""

import json

import pytest
import torch
from test_pretrained_domain_classifier import TINY as TINY_CLASSIFIER
from test_vit_training import striped_mnist

from cs231n.cli import main
from cs231n.diffusion import scoring
from cs231n.diffusion.sampling import generate
from cs231n.diffusion.training import load_run, train
from cs231n.pretrained import domain_classifier as dc
from cs231n.pretrained.domain_classifier import DomainScorer

TINY = {"dim": 4, "dim_mults": [1, 2], "timesteps": 5}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-step Fashion-MNIST run on striped MNIST-format data (64 training, 20 test images)."""
    root = tmp_path_factory.mktemp("diffusion_scoring")
    striped_mnist(root / "data" / "fashion-mnist", n_train=64, n_test=20)
    run_dir = root / "run"
    train(run_dir, "fashion-mnist", model=TINY, steps=2, batch_size=8, data_root=root / "data")
    return run_dir, root / "data"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    trainings = []
    real_train = dc.train_classifier

    def counting(*args, **kwargs):
        trainings.append(len(args[0]))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(dc, "train_classifier", counting)
    return trainings


def test_balanced_labels():
    assert scoring.balanced_labels(23).bincount().tolist() == [3, 3, 3] + [2] * 7
    assert scoring.balanced_labels(20).tolist() == list(range(10)) * 2


def test_samples_for_scoring_are_the_generated_images_cropped_and_rescaled(run):
    diffusion, _ = load_run(run[0])
    images, labels = scoring.sample_for_scoring(diffusion, 5, "ddim", steps=2, seed=3, batch_size=3)
    assert images.shape == (5, 1, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
    assert images.min() >= -1 and images.max() <= 1
    # batch i is seeded with seed + i: the second batch (labels 3, 4) by seed 4
    cond = torch.nn.functional.one_hot(torch.tensor([3, 4]), 10).float()
    again = generate(diffusion, cond, 2, None, "ddim", 2, seed=4)
    torch.testing.assert_close(images[3:], again[:, :, 2:30, 2:30] * 2 - 1)


def test_score_run_scores_like_the_gans(run, cache):
    run_dir, data = run
    scores = scoring.score_run(
        run_dir, samples=20, data_root=data, classifier=TINY_CLASSIFIER, log=lambda _: None,
        sampler="ddim", steps=3, cfg_scale=1.0,
    )  # fmt: skip
    assert cache == [64]
    assert scores["samples"] == 20 and scores["steps"] == 3 and scores["cfg_scale"] == 1.0
    assert 0 <= scores["generated_class_accuracy"] <= 1
    # The same numbers as the scorer's of the same images (what `gan score` computes for a GAN)
    scorer = DomainScorer(
        "fashion-mnist", data, samples=20, classifier=TINY_CLASSIFIER, log=lambda _: None
    )
    diffusion, _ = load_run(run_dir)
    images, labels = scoring.sample_for_scoring(diffusion, 20, "ddim", 3, 1.0, seed=0)
    expected = scorer.score_images(images, labels)
    for key in ("fid_generated_vs_test", "kid_generated_vs_test", "fid_train_vs_test_floor"):
        assert scores[key] == pytest.approx(expected[key], rel=1e-6)


def test_emoji_runs_are_refused_before_any_work(tmp_path, cache):
    (tmp_path / "config.json").write_text(json.dumps({"data": {"dataset": "emoji"}}))
    with pytest.raises(ValueError, match="a run on emoji; only Fashion-MNIST runs are scored"):
        scoring.score_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a diffusion run"):
        scoring.score_run(tmp_path / "nothing")
    assert cache == []


def test_cli_score_writes_scores(run, tmp_path, cache, capsys):
    run_dir, data = run
    out = tmp_path / "scores.json"
    args = ["--threads", "1", "diffusion", "score", str(run_dir), "--samples", "20"]
    args += ["--sampler", "ddim", "--steps", "2", "--data-dir", str(data), "-q", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "DDPM, ddim in 2 steps, no guidance: classifier test accuracy" in printed
    assert "20 samples each" in printed
    scores = json.loads(out.read_text())
    assert scores["classifier"]["kind"] == "full" and scores["samples"] == 20


def _exit_code(args) -> int:
    try:
        return main(args)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--steps", "0"], "--steps: must be a positive integer"),
        (["--cfg-scale", "inf"], "--cfg-scale: must be a finite number"),
        (["--steps", "3"], "ancestral (ddpm) sampler walks all 5 steps"),
        (["--samples", "21"], "samples=21 is more than the fashion-mnist data holds"),
    ],
)
def test_cli_bad_score_options(run, tmp_path, cache, capsys, extra, message):
    run_dir, data = run
    out = tmp_path / "s.json"
    code = _exit_code(
        ["diffusion", "score", str(run_dir), "--data-dir", str(data), "-o", str(out), *extra]
    )
    assert code != 0 and message in capsys.readouterr().err
    assert cache == [] and not out.exists()


def test_cli_refuses_an_emoji_run(tmp_path, cache, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"data": {"dataset": "emoji"}}))
    assert _exit_code(["diffusion", "score", str(tmp_path)]) != 0
    assert "only Fashion-MNIST runs are scored" in capsys.readouterr().err
