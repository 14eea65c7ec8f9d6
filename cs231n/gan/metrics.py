"""Measuring GAN samples: a small CNN classifier trained on the same data set, and the Fréchet
distance between its penultimate-layer features of generated and real images (FID in that
feature space, not Inception's).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.checkpoints import check_state
from ..core.checks import whole_number
from ..core.config import cache_key, cache_path
from ..core.files import atomic_path, clear_cache_entry
from ..data.mnist import load_mnist

# Bump whenever SmallCNN or train_classifier changes how a classifier comes out: cached
# classifiers (keyed by it) are then retrained.
CLASSIFIER_VERSION = 1

# The scoring classifiers' training settings. "full" is the one the README's numbers come from
# (88.0% test accuracy on Fashion-MNIST); "quick" (the demo's quick mode) trains a narrower net
# for one epoch on a slice of the training images, in a few seconds. ``train_images``: how many
# of the first training images it sees (None: all).
CLASSIFIERS = {
    "full": {
        "epochs": 2,
        "batch_size": 128,
        "lr": 1e-3,
        "channels": [32, 64],
        "hidden": 128,
        "train_images": None,
    },
    "quick": {
        "epochs": 1,
        "batch_size": 64,
        "lr": 2e-3,
        "channels": [8, 16],
        "hidden": 64,
        "train_images": 6000,
    },
}


class SmallCNN(nn.Module):
    """Two conv blocks and two linear layers; ``features`` gives the ``hidden``-d (128)
    penultimate layer."""

    def __init__(self, channels=(32, 64), hidden=128):
        super().__init__()
        c1, c2 = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(hidden, 10)

    def features(self, x):
        return self.body(x.reshape(-1, 1, 28, 28))

    def forward(self, x):
        return self.head(self.features(x))


def train_classifier(
    images,
    labels,
    epochs=2,
    batch_size=128,
    seed=0,
    device="cpu",
    progress=None,
    lr=1e-3,
    channels=(32, 64),
    hidden=128,
):
    """Train :class:`SmallCNN` on images in [-1, 1] (N, 1, 28, 28) with Adam; returns it."""
    torch.manual_seed(seed)
    model = SmallCNN(channels, hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
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


def classifier_settings(classifier="full"):
    """The training settings of ``classifier``: "full", "quick", or a dict of settings that
    override the full classifier's (keys of ``CLASSIFIERS["full"]``)."""
    if isinstance(classifier, str):
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {sorted(CLASSIFIERS)}, got {classifier!r}")
        return dict(CLASSIFIERS[classifier])
    unknown = set(classifier) - set(CLASSIFIERS["full"])
    if unknown:
        raise ValueError(f"unknown classifier settings {sorted(unknown)}")
    settings = {**CLASSIFIERS["full"], **classifier}
    settings["channels"] = [int(c) for c in settings["channels"]]
    return settings


def data_digest(*arrays) -> str:
    """sha256 of the arrays' shapes, dtypes and bytes (a 60000-image set: ~0.1 s)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def classifier_key(images, labels, seed, settings) -> str:
    """The cache key of the classifier trained with ``settings`` and ``seed`` on exactly these
    images and labels (the raw arrays), by this version of the training code."""
    return cache_key(
        version=CLASSIFIER_VERSION,
        data=data_digest(images, labels),
        seed=seed,
        num_images=len(images),
        **settings,
    )


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


def _load_cached(cache, model, log):
    """``model`` with the cached weights, or None when there is no cache; a corrupt or foreign
    cache file is reported, removed and None returned (it is rebuilt, never fatal)."""
    from ..core.torch_utils import torch_load

    if not os.path.lexists(cache):
        return None
    if not cache.is_file():
        log(f"Discarding the unusable cache {cache} (not a file); training the classifier again")
        clear_cache_entry(cache)
        return None
    try:
        state = torch_load(cache, "scoring-classifier cache")
        # The classifier's every weight, of its shape, floats, finite (core.checkpoints).
        check_state(cache, state, model.state_dict(), "weight")
        model.load_state_dict(state)
    except (ValueError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0]
        log(f"Discarding the unusable cache {cache} ({reason}); training the classifier again")
        cache.unlink(missing_ok=True)
        return None
    return model.eval()


class GeneratorScorer:
    """The scoring classifier and the real images' statistics, loaded once; :meth:`score`
    then scores any number of generators (the demo scores three).

    ``classifier``: "full" (the README's), "quick" (a narrower net trained briefly on a slice)
    or a dict of training settings (see :func:`classifier_settings`). It is trained once and
    cached in ``cache`` (default: ``$CS231N_CACHE/gan_classifier/NAME-KIND-KEY.pt``, the key
    covering the training data's digest, the seed, the settings and ``CLASSIFIER_VERSION``).
    ``info`` describes the classifier used (kind, settings, test accuracy, cache file)."""

    def __init__(
        self,
        dataset="fashion-mnist",
        data_root=None,
        samples=2000,
        seed=0,
        cache=None,
        log=print,
        classifier="full",
    ):
        def scaled(images, labels):
            x = torch.from_numpy(images).float().div(255).mul(2).sub(1).unsqueeze(1)
            return x, torch.from_numpy(labels.astype(np.int64))

        settings = classifier_settings(classifier)
        kind = classifier if isinstance(classifier, str) else "custom"
        samples = whole_number("GeneratorScorer", "samples", samples, 2)
        train_images, train_labels = load_mnist(dataset, "train", data_root)
        test_x, test_y = scaled(*load_mnist(dataset, "test", data_root))
        # Real images are drawn without replacement: no more than each split holds.
        available = min(len(test_x), len(train_images))
        if samples > available:
            raise ValueError(
                f"GeneratorScorer: samples={samples} is more than the {dataset} data holds "
                f"({len(train_images)} training and {len(test_x)} test images): at most {available}"
            )
        used = slice(settings["train_images"])  # the first N images (None: all)
        fit_images, fit_labels = train_images[used], train_labels[used]
        name = dataset if dataset in ("fashion-mnist", "mnist") else "custom"
        key = classifier_key(fit_images, fit_labels, seed, settings)
        cache = Path(cache) if cache else cache_path("gan_classifier", f"{name}-{kind}-{key}.pt")
        model = _load_cached(cache, SmallCNN(settings["channels"], settings["hidden"]), log)
        if model is None:
            log(
                f"Training the {kind} scoring classifier on {len(fit_images)} {dataset} images "
                f"(once; cached in {cache})"
            )
            model = train_classifier(
                *scaled(fit_images, fit_labels),
                epochs=settings["epochs"],
                batch_size=settings["batch_size"],
                seed=seed,
                lr=settings["lr"],
                channels=settings["channels"],
                hidden=settings["hidden"],
            )
            cache.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cache) as tmp:
                torch.save(model.state_dict(), tmp)
        train_x, _ = scaled(train_images, train_labels)
        rng = np.random.default_rng(seed)
        real_test = test_x[rng.choice(len(test_x), samples, replace=False)]
        real_train = train_x[rng.choice(len(train_x), samples, replace=False)]
        self.model, self.samples, self.seed = model, samples, seed
        self.test_stats = feature_statistics(embed(model, real_test))
        self.floor = frechet_distance(
            *feature_statistics(embed(model, real_train)), *self.test_stats
        )
        self.test_accuracy = accuracy(model, test_x, test_y)
        self.info = {
            "kind": kind,
            "train_images": len(fit_images),
            "test_accuracy": self.test_accuracy,
            "cache": str(cache),
            **{k: v for k, v in settings.items() if k != "train_images"},
        }

    def score(self, G):
        """The classifier's test accuracy, the Fréchet distance of ``samples`` generated vs
        real test images, the real-train vs real-test floor, and the classifier's ``info``."""
        from .training import generate

        fake = generate(G, self.samples, seed=self.seed).reshape(-1, 1, 28, 28)
        return {
            "classifier_test_accuracy": self.test_accuracy,
            "fid_generated_vs_test": frechet_distance(
                *feature_statistics(embed(self.model, fake)), *self.test_stats
            ),
            "fid_train_vs_test_floor": self.floor,
            "samples": self.samples,
            "classifier": dict(self.info),
        }


def score_generator(
    G,
    dataset="fashion-mnist",
    data_root=None,
    samples=2000,
    seed=0,
    cache=None,
    log=print,
    classifier="full",
):
    """Sample quality of a generator: the classifier's test accuracy, the Fréchet distance of
    ``samples`` generated vs real test images, and the real-train vs real-test floor; see
    :class:`GeneratorScorer` (to score several generators, make one and call its ``score``)."""
    return GeneratorScorer(dataset, data_root, samples, seed, cache, log, classifier).score(G)
