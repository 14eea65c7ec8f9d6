"""The Fréchet distance against closed forms; the scoring classifier."""

import numpy as np
import pytest
import torch

from cs231n.gan_metrics import SmallCNN, feature_statistics, frechet_distance


def rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


def test_one_dimension():
    # (m1 - m2)^2 + (s1 - s2)^2 for N(m1, s1^2), N(m2, s2^2)
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)


def test_commuting_covariances_closed_form():
    d = 6
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    R = rotation(d, 1)  # jointly rotated: still commuting, no longer diagonal
    s1, s2 = R @ np.diag(a) @ R.T, R @ np.diag(b) @ R.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_general_properties():
    d = 5
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    s1, s2 = A @ A.T, B @ B.T  # non-commuting
    mu = rng.standard_normal(d)
    assert frechet_distance(mu, s1, mu, s1) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(
        frechet_distance(mu, s2, mu, s1), rel=1e-9
    )
    assert frechet_distance(mu, s1, mu, s2) > 0
    singular = np.diag([1.0, 0, 0, 0, 0])  # rank-deficient: the guard must keep it real
    assert np.isfinite(frechet_distance(mu, singular, mu, s2))
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(mu, s1, mu[:3], s2)


def test_estimated_from_samples():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (20000, 2))
    y = rng.normal([1, 0], [2, 1], (20000, 2))
    estimate = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert estimate == pytest.approx(1 + (2 - 1) ** 2, abs=0.1)


def test_small_cnn_features():
    model = SmallCNN()
    x = torch.rand(4, 1, 28, 28)
    assert model.features(x).shape == (4, 128) and model(x).shape == (4, 10)
    assert model.features(x.reshape(4, 784)).shape == (4, 128)
