"""The GANs' side of scoring (cs231n.gan.metrics): a generator sampled and scored by the domain
classifier (its own tests: test_pretrained_domain_classifier.py)."""

import numpy as np
import pytest
import torch
from test_pretrained_domain_classifier import TINY, idx_folder

from cs231n.pretrained import domain_classifier as dc


@pytest.fixture
def scoring(tmp_path, monkeypatch):
    """score_generator with the cache in tmp_path/cache and a count of the trainings."""
    from cs231n.gan import metrics as gan_metrics
    from cs231n.gan_pytorch import NOISE_DIM

    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    trainings = []
    real_train = dc.train_classifier

    def counting(*args, **kwargs):
        trainings.append(len(args[0]))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(dc, "train_classifier", counting)
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(NOISE_DIM, 784), torch.nn.Tanh())

    def score(folder, seed=0, classifier=TINY):
        return gan_metrics.score_generator(
            G, str(folder), samples=10, seed=seed, classifier=classifier, log=lambda _: None
        )

    score.G = G
    return score, trainings


def test_score_generator_scores_its_samples(tmp_path, scoring):
    from cs231n.gan.metrics import GeneratorScorer
    from cs231n.gan.training import generate

    score, trainings = scoring
    a = idx_folder(tmp_path / "a", seed=1)
    scores = score(a)
    assert trainings == [40] and scores["samples"] == 10
    # The generator's seeded samples, scored as images: the same numbers.
    scorer = GeneratorScorer(str(a), samples=10, classifier=TINY, log=lambda _: None)
    as_images = scorer.score_images(generate(score.G, 10, seed=0))
    for key in ("fid_generated_vs_test", "kid_generated_vs_test", "kid_train_vs_test_floor"):
        assert np.isfinite(scores[key]) and scores[key] == pytest.approx(as_images[key], rel=1e-6)


def test_one_scorer_scores_several_generators(tmp_path, scoring):
    from cs231n.gan.metrics import GeneratorScorer
    from cs231n.gan_pytorch import NOISE_DIM

    score, trainings = scoring
    a = idx_folder(tmp_path / "a", seed=1)
    scorer = GeneratorScorer(str(a), samples=10, classifier=TINY, log=lambda _: None)
    assert trainings == [40]
    alone = score(a)  # score_generator: the same classifier, from the cache
    assert trainings == [40]
    together = scorer.score(score.G)
    assert together["classifier"] == alone["classifier"] == scorer.info
    for key in ("classifier_test_accuracy", "fid_generated_vs_test", "fid_train_vs_test_floor"):
        assert together[key] == pytest.approx(alone[key], rel=1e-6)
    torch.manual_seed(1)
    other = scorer.score(torch.nn.Sequential(torch.nn.Linear(NOISE_DIM, 784), torch.nn.Tanh()))
    assert other["fid_generated_vs_test"] != pytest.approx(alone["fid_generated_vs_test"])
    assert other["fid_train_vs_test_floor"] == together["fid_train_vs_test_floor"]


def test_more_samples_than_the_data_holds_is_refused_before_training(tmp_path, scoring):
    """NumPy's "Cannot take a larger sample than population" came after training the
    classifier (issue #19 d)."""
    from cs231n.gan import metrics as gan_metrics

    score, trainings = scoring
    folder = idx_folder(tmp_path / "small", seed=1)  # 40 training, 20 test images
    with pytest.raises(ValueError, match="GeneratorScorer: samples=21 is more than"):
        gan_metrics.score_generator(score.G, str(folder), samples=21, classifier=TINY)
    assert trainings == []
