"""Scoring a trained DDPM as the GANs are scored (``cs231n diffusion score``): the Fréchet
distance and KID of its samples vs real test images in the domain classifier's feature space
(:class:`cs231n.pretrained.domain_classifier.DomainScorer`, the scorer of ``cs231n gan
score``), with the same classifier, real images and sample count, so the numbers compare.

Only Fashion-MNIST runs are scored: the domain classifier is Fashion-MNIST's, and its features
say nothing about emoji (no emoji classifier or image features are available offline here).

A class-conditional run is sampled class-balanced (``samples / 10`` images of each class, as
the real test set holds them) and cropped from 32x32 back to Fashion-MNIST's 28x28 (the
training images were padded by 2 pixels of 0 on each side).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ..pretrained.domain_classifier import DomainScorer
from .sampling import check_sampling, generate
from .settings import FASHION_CLASSES

# Images sampled at once: a bound on memory (a batch of 32x32 activations of the default
# U-Net is ~100 MB at 250), not on speed.
SAMPLE_BATCH = 250


def run_dataset(run_dir) -> str:
    """The data set a diffusion run was trained on, read from its ``config.json`` (no model
    loaded); FileNotFoundError / ValueError naming the file when it is not a diffusion run."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: not a diffusion run (no config.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))["data"]["dataset"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path}: not a diffusion run's settings (no data.dataset)") from None


def check_scorable(dataset, run_dir="the run"):
    """ValueError unless a run on ``dataset`` can be scored (Fashion-MNIST only)."""
    if dataset != "fashion-mnist":
        raise ValueError(
            f"{run_dir}: a run on {dataset}; only Fashion-MNIST runs are scored (the domain "
            "classifier, whose features the Fréchet distance and KID compare, is Fashion-MNIST's; "
            "there is no emoji classifier here). Train one with `cs231n diffusion train --data "
            "fashion-mnist`, or look at the samples: `cs231n diffusion sample RUN --prompt ...`"
        )


def balanced_labels(n, num_classes=10):
    """(n,) labels 0, 1, ..., num_classes - 1, 0, 1, ...: each class n / num_classes times."""
    return torch.arange(n) % num_classes


@torch.no_grad()
def sample_for_scoring(
    diffusion,
    n,
    sampler="ddpm",
    steps=None,
    cfg_scale=None,
    seed=0,
    batch_size=SAMPLE_BATCH,
    progress=None,
):
    """``n`` class-balanced samples of a Fashion-MNIST run on the domain classifier's scale:
    ((n, 1, 28, 28) in [-1, 1], (n,) labels). Seeded: batch ``i`` is drawn with ``seed + i``.
    ``progress(done)`` after each batch."""
    sampler, steps = check_sampling(diffusion, sampler, steps, cfg_scale)
    labels = balanced_labels(n)
    conds = torch.nn.functional.one_hot(labels, len(FASHION_CLASSES)).float()
    parts = []
    for i, start in enumerate(range(0, n, batch_size)):
        cond = conds[start : start + batch_size]
        images = generate(
            diffusion, cond, len(cond), cfg_scale, sampler, steps, seed=seed + i
        ).cpu()
        parts.append(images[:, :, 2:30, 2:30] * 2 - 1)  # undo the 2-pixel padding; [-1, 1]
        if progress is not None:
            progress(start + len(cond))
    return torch.cat(parts), labels


def score_diffusion(
    diffusion,
    scorer,
    sampler="ddpm",
    steps=None,
    cfg_scale=None,
    batch_size=SAMPLE_BATCH,
    progress=None,
):
    """Score a Fashion-MNIST DDPM with ``scorer`` (a :class:`DomainScorer`): its
    ``scorer.samples`` class-balanced samples, seeded with ``scorer.seed``. Returns the
    scorer's dict (the Fréchet distance and KID vs real test images, their floors, and
    ``generated_class_accuracy``: how often the classifier sees the class asked for) plus the
    sampling settings and ``sampling_seconds``."""
    sampler, steps = check_sampling(diffusion, sampler, steps, cfg_scale)
    start = time.perf_counter()
    images, labels = sample_for_scoring(
        diffusion, scorer.samples, sampler, steps, cfg_scale, scorer.seed, batch_size, progress
    )
    seconds = time.perf_counter() - start
    scores = scorer.score_images(images, labels)
    scores.update(sampler=sampler, steps=steps, cfg_scale=cfg_scale, sampling_seconds=seconds)
    return scores


def score_run(
    run_dir,
    samples=2000,
    seed=0,
    sampler="ddpm",
    steps=None,
    cfg_scale=None,
    device=None,
    data_root=None,
    log=print,
    classifier="full",
    progress=None,
):
    """Score the Fashion-MNIST run in ``run_dir`` (see :func:`score_diffusion`) with the scorer
    of ``cs231n gan score`` (``samples``, ``seed`` and ``classifier`` as its defaults give the
    README's comparable numbers). Everything is checked before any work: ValueError for an
    emoji run, a bad sampler, number of steps or guidance scale, or more samples than the data
    holds."""
    from .training import load_run

    check_scorable(run_dataset(run_dir), run_dir)
    diffusion, _ = load_run(run_dir, device)
    check_sampling(diffusion, sampler, steps, cfg_scale)
    scorer = DomainScorer("fashion-mnist", data_root, samples, seed, log=log, classifier=classifier)
    return score_diffusion(diffusion, scorer, sampler, steps, cfg_scale, progress=progress)
