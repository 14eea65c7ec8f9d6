"""Measuring GAN samples: a small CNN classifier trained on the same data set, and the Fréchet
distance between its penultimate-layer features of generated and real images (FID in that
feature space, not Inception's).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class SmallCNN(nn.Module):
    """Two conv blocks and two linear layers; ``features`` gives the 128-d penultimate layer."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(128, 10)

    def features(self, x):
        return self.body(x.reshape(-1, 1, 28, 28))

    def forward(self, x):
        return self.head(self.features(x))


def train_classifier(images, labels, epochs=2, batch_size=128, seed=0, device="cpu", progress=None):
    """Train :class:`SmallCNN` on images in [-1, 1] (N, 1, 28, 28) with Adam; returns it."""
    torch.manual_seed(seed)
    model = SmallCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(images)
    for _ in range(epochs):
        order = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            loss = nn.functional.cross_entropy(
                model(images[idx].to(device)), labels[idx].to(device)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            if progress is not None:
                progress(loss.item())
    return model.eval()


@torch.no_grad()
def accuracy(model, images, labels, batch_size=1000):
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(images), batch_size):
        pred = model(images[i : i + batch_size].to(device)).argmax(1).cpu()
        correct += int((pred == labels[i : i + batch_size]).sum())
    return correct / len(images)


@torch.no_grad()
def embed(model, images, batch_size=1000):
    device = next(model.parameters()).device
    parts = [
        model.features(images[i : i + batch_size].to(device)).cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(parts).double().numpy()


def _sqrtm_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """``||mu1 - mu2||² + tr(S1 + S2 - 2 (S1 S2)^½)`` between two Gaussians.

    The matrix square root is taken as ``tr((S1^½ S2 S1^½)^½)``: the same trace, but of a
    symmetric PSD matrix, so eigen-decomposition is exact and cannot return complex values
    (the guard scipy's ``sqrtm`` needs); tiny negative eigenvalues from round-off are clipped.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = (
        np.atleast_2d(sigma1).astype(np.float64),
        np.atleast_2d(sigma2).astype(np.float64),
    )
    if (
        mu1.shape != mu2.shape
        or sigma1.shape != sigma2.shape
        or sigma1.shape != (mu1.size, mu1.size)
    ):
        raise ValueError(
            f"frechet_distance: shapes {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}"
        )
    root1 = _sqrtm_psd(sigma1)
    cross = _sqrtm_psd(root1 @ sigma2 @ root1)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(cross))


def feature_statistics(features):
    if len(features) < 2:
        raise ValueError("feature_statistics: need at least 2 samples")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def fid(model, images_a, images_b):
    """Fréchet distance between two sets of images in ``model``'s feature space."""
    return frechet_distance(
        *feature_statistics(embed(model, images_a)), *feature_statistics(embed(model, images_b))
    )


def score_generator(
    G, dataset="fashion-mnist", data_root=None, samples=2000, seed=0, cache=None, log=print
):
    """Sample quality of a generator: the classifier's test accuracy, the Fréchet distance of
    ``samples`` generated vs real test images, and the real-train vs real-test floor."""
    from .config import default_cache_dir
    from .gan_training import generate
    from .io_utils import atomic_path
    from .mnist_data import load_mnist

    def scaled(split):
        x, y = load_mnist(dataset, split, data_root)
        return torch.from_numpy(x).float().div(255).mul(2).sub(1).unsqueeze(1), torch.from_numpy(
            y.astype(np.int64)
        )

    train_x, train_y = scaled("train")
    test_x, test_y = scaled("test")
    name = dataset if dataset in ("fashion-mnist", "mnist") else "custom"
    cache = cache or default_cache_dir() / f"gan_classifier_{name}.pt"
    model = SmallCNN()
    if cache.exists():
        model.load_state_dict(torch.load(cache, weights_only=True))
        model.eval()
    else:
        log(f"Training the scoring classifier on {dataset} (once; cached in {cache})")
        model = train_classifier(train_x, train_y, seed=seed)
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache) as tmp:
            torch.save(model.state_dict(), tmp)
    rng = np.random.default_rng(seed)
    real_test = test_x[rng.choice(len(test_x), samples, replace=False)]
    real_train = train_x[rng.choice(len(train_x), samples, replace=False)]
    fake = generate(G, samples, seed=seed).reshape(-1, 1, 28, 28)
    return {
        "classifier_test_accuracy": accuracy(model, test_x, test_y),
        "fid_generated_vs_test": fid(model, fake, real_test),
        "fid_train_vs_test_floor": fid(model, real_train, real_test),
        "samples": samples,
    }
