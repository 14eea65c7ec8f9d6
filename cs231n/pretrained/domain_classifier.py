"""The domain classifier: a small CNN trained once on Fashion-MNIST (or MNIST, or a folder of IDX
files) into the cache, and the distances between generated and real images in its feature space.

Generated images are scored as the Fréchet distance (FID, Heusel et al. 2017,
https://arxiv.org/abs/1706.08500) and the kernel distance (KID, Bińkowski et al. 2018,
https://arxiv.org/abs/1801.01401) between the penultimate-layer features of generated and of
real test images: the metrics of FID and KID, in this classifier's 128-d feature space instead
of Inception's (no Inception weights are downloaded; the numbers are comparable with each other,
not with published FIDs). Every generator here is scored by the same :class:`DomainScorer`
(``cs231n gan score``, ``cs231n diffusion score``), so their numbers compare.

A classifier trained once and cached is a pretrained model: hence this layer, below the jobs
that score with it (the GANs, the diffusion models).
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

# The cache folder keeps its first name (the GANs were scored first): cached classifiers, and
# the README's numbers, stay valid.
CACHE_FOLDER = "gan_classifier"

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


def kernel_distance(features_a, features_b):
    """KID: the unbiased estimate of the squared maximum mean discrepancy (MMD²) between two sets
    of features (N, d) and (M, d), with the cubic polynomial kernel ``k(x, y) = (x·y / d + 1)³``
    (Bińkowski et al. 2018, Eq. 5 and Appendix D; the kernel of clean-fid and torchmetrics).
    Computed over the whole sets (not averaged over random subsets as clean-fid's and
    torchmetrics' KID are: the same expectation, without the subsets' sampling noise). Near 0
    for two samples of one distribution (it may be slightly negative); N, M >= 2."""
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(
            f"kernel_distance: features must be (N, d) and (M, d) with N, M >= 2, got "
            f"{a.shape} and {b.shape}"
        )
    d = a.shape[1]
    m, n = len(a), len(b)
    k_aa = (a @ a.T / d + 1) ** 3
    k_bb = (b @ b.T / d + 1) ** 3
    k_ab = (a @ b.T / d + 1) ** 3
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2 * k_ab.mean())


def _scaled(images, labels):
    """uint8 (N, 28, 28) and labels -> float (N, 1, 28, 28) in [-1, 1] and int64 labels."""
    x = torch.from_numpy(images).float().div(255).mul(2).sub(1).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


class DomainScorer:
    """The domain classifier and the real images' features, loaded once; :meth:`score_images`
    then scores any number of sets of generated images (the demo scores three GANs and a DDPM).

    ``dataset``: "fashion-mnist", "mnist" or a folder of IDX files; ``samples``: how many real
    test images (and training images, for the floor) are compared, drawn without replacement
    with ``seed``. ``classifier``: "full" (the README's), "quick" (a narrower net trained
    briefly on a slice) or a dict of training settings (see :func:`classifier_settings`). It is
    trained once and cached in ``cache`` (default: ``$CS231N_CACHE/gan_classifier/
    NAME-KIND-KEY.pt``, the key covering the training data's digest, the seed, the settings and
    ``CLASSIFIER_VERSION``). ``info`` describes the classifier used (kind, settings, test
    accuracy, cache file).

    Raises ValueError (before any training) when ``samples`` is not an integer >= 2 or is more
    than either split holds; FileNotFoundError when the data is missing."""

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
        name = type(self).__name__
        settings = classifier_settings(classifier)
        kind = classifier if isinstance(classifier, str) else "custom"
        samples = whole_number(name, "samples", samples, 2)
        train_images, train_labels = load_mnist(dataset, "train", data_root)
        test_x, test_y = _scaled(*load_mnist(dataset, "test", data_root))
        # Real images are drawn without replacement: no more than each split holds.
        available = min(len(test_x), len(train_images))
        if samples > available:
            raise ValueError(
                f"{name}: samples={samples} is more than the {dataset} data holds "
                f"({len(train_images)} training and {len(test_x)} test images): at most {available}"
            )
        used = slice(settings["train_images"])  # the first N images (None: all)
        fit_images, fit_labels = train_images[used], train_labels[used]
        data_name = dataset if dataset in ("fashion-mnist", "mnist") else "custom"
        key = classifier_key(fit_images, fit_labels, seed, settings)
        cache = Path(cache) if cache else cache_path(CACHE_FOLDER, f"{data_name}-{kind}-{key}.pt")
        model = _load_cached(cache, SmallCNN(settings["channels"], settings["hidden"]), log)
        if model is None:
            log(
                f"Training the {kind} scoring classifier on {len(fit_images)} {dataset} images "
                f"(once; cached in {cache})"
            )
            model = train_classifier(
                *_scaled(fit_images, fit_labels),
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
        train_x, _ = _scaled(train_images, train_labels)
        rng = np.random.default_rng(seed)
        real_test = test_x[rng.choice(len(test_x), samples, replace=False)]
        real_train = train_x[rng.choice(len(train_x), samples, replace=False)]
        self.model, self.samples, self.seed, self.dataset = model, samples, seed, dataset
        self.test_features = embed(model, real_test)
        self.test_stats = feature_statistics(self.test_features)
        train_features = embed(model, real_train)
        self.floor = frechet_distance(*feature_statistics(train_features), *self.test_stats)
        self.kid_floor = kernel_distance(train_features, self.test_features)
        self.test_accuracy = accuracy(model, test_x, test_y)
        self.info = {
            "kind": kind,
            "train_images": len(fit_images),
            "test_accuracy": self.test_accuracy,
            "cache": str(cache),
            **{k: v for k, v in settings.items() if k != "train_images"},
        }

    def score_images(self, images, labels=None):
        """Score generated ``images``, (N, 1, 28, 28) or (N, 784) floats in [-1, 1] (the real
        images' scale), N >= 2 (``samples`` of them for numbers comparable with the others).

        Returns a dict: ``classifier_test_accuracy``; ``fid_generated_vs_test`` and
        ``kid_generated_vs_test`` (generated vs the real test images); the real-train vs
        real-test floors ``fid_train_vs_test_floor`` and ``kid_train_vs_test_floor``;
        ``samples``; ``classifier`` (its ``info``); and, given the classes the images were
        generated for (``labels``, N ints), ``generated_class_accuracy``: how often the
        classifier sees the class asked for."""
        name = type(self).__name__
        images = torch.as_tensor(images, dtype=torch.float32)
        if images.ndim not in (2, 4) or images[0].numel() != 784 or len(images) < 2:
            raise ValueError(
                f"{name}.score_images: images must be (N, 1, 28, 28) or (N, 784) with N >= 2, "
                f"got {tuple(images.shape)}"
            )
        if not torch.isfinite(images).all():
            raise ValueError(f"{name}.score_images: images hold NaN or infinite values")
        images = images.reshape(-1, 1, 28, 28)
        features = embed(self.model, images)
        scores = {
            "classifier_test_accuracy": self.test_accuracy,
            "fid_generated_vs_test": frechet_distance(
                *feature_statistics(features), *self.test_stats
            ),
            "kid_generated_vs_test": kernel_distance(features, self.test_features),
            "fid_train_vs_test_floor": self.floor,
            "kid_train_vs_test_floor": self.kid_floor,
            "samples": len(images),
            "classifier": dict(self.info),
        }
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
            if len(labels) != len(images):
                raise ValueError(
                    f"{name}.score_images: {len(labels)} labels for {len(images)} images"
                )
            scores["generated_class_accuracy"] = accuracy(self.model, images, labels)
        return scores
