"""What ``cs231n ssl evaluate RUN`` measures: whether a SimCLR encoder learned anything.

Every encoder is measured the same two ways, on the run's data:

- the course's weighted kNN (:func:`cs231n.simclr.utils.knn_predict`: the k most cosine-similar
  training images vote with weight exp(similarity / temperature); k 200, temperature 0.5 as the
  course), top-1 and top-5, with every training image's label in the bank, as the course's
  monitor does;
- the course's linear evaluation: a linear classifier on the frozen encoder's features, trained
  on the first 10% of the training labels, then tested. The course trains it with Adam for 10
  epochs on augmented images; here the features are computed once, without augmentation, and
  the classifier (softmax regression on standardised features, L2 1e-4) is fitted to
  convergence with L-BFGS: the best linear read-out of every encoder, not one cut short by
  the optimiser, at a fraction of the cost on a CPU.

against the baselines that decide whether SimCLR worked:

(a) ``random``: the same encoder, randomly initialised (the course's "without pretraining");
(b) ``pixels``: the normalised pixels themselves;
(c) ``supervised``: the same network trained end to end with labels, on the same 10%, with the
    same augmentation, for as long as the SimCLR run trained (its recorded seconds), or for a
    given number of steps; measured by its own classifier and by the kNN of its features.

Writes ``evaluation.json`` (every number, the seeds, the times), ``neighbours.png`` (test
images and their nearest training images, in the learned space and in pixel space) and
``embedding.png`` (a 2-D PCA projection of the test images' features, coloured by class,
SimCLR beside random initialisation) into the run folder.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from ..core.checks import number, whole_number
from ..core.config import data_path
from ..core.files import atomic_path, save_figure
from ..data.assets import SIMCLR_CHECKPOINT
from .training import (
    ImageSet,
    build_encoder,
    build_model,
    eval_transform,
    load_checkpoint,
    load_ssl_data,
    train_transform,
)

# The course's settings (self_supervised_learning.ipynb): kNN k and temperature; the linear
# probe's share of the labels and its optimiser.
KNN_K, KNN_TEMPERATURE = 200, 0.5
LABEL_FRACTION = 0.1
PROBE_L2 = 1e-4  # on the mean cross-entropy: keeps the fit finite when classes separate
PROBE_ITERATIONS = 200  # L-BFGS iterations, full batch


def encode(model, images, transform, device, batch_size=512):
    """(N, D) float32 tensor: the encoder's normalised features of ``images`` (uint8), on the
    CPU; the model is used in eval mode without gradients."""
    import torch

    data = ImageSet(images, np.zeros(len(images), np.int64), transform)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size)
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for x, _ in loader:
            feature, _ = model(x.to(device))
            out.append(feature.float().cpu())
    model.train(was_training)
    return torch.cat(out)


def pixels(images, transform):
    """(N, H*W*C) tensor: the normalised pixels, flattened (baseline (b))."""
    import torch

    data = ImageSet(images, np.zeros(len(images), np.int64), transform)
    return torch.stack([data[i][0].reshape(-1) for i in range(len(data))])


def knn_accuracy(train_x, train_y, test_x, test_y, classes, k=KNN_K, temperature=KNN_TEMPERATURE):
    """(top-1 %, top-5 %) of the course's weighted kNN; rows are normalised here (cosine)."""
    import torch
    import torch.nn.functional as F

    from ..simclr.utils import knn_predict

    k = min(k, len(train_x))
    bank = F.normalize(train_x, dim=1).t().contiguous()
    labels = torch.as_tensor(train_y).long()
    target = torch.as_tensor(test_y).long()
    top1 = top5 = 0.0
    for start in range(0, len(test_x), 1024):
        q = F.normalize(test_x[start : start + 1024], dim=1)
        scores = knn_predict(q, bank, labels, classes, k, temperature)
        order = scores.argsort(dim=-1, descending=True)
        t = target[start : start + 1024].unsqueeze(1)
        top1 += (order[:, :1] == t).any(1).float().sum().item()
        top5 += (order[:, :5] == t).any(1).float().sum().item()
    return 100 * top1 / len(test_x), 100 * top5 / len(test_x)


def _scores(train_x, train_y, test_x, test_y, n_labelled, classes, k, temperature, seed, start,
            probe_iterations=PROBE_ITERATIONS):  # fmt: skip
    """One encoder's row: kNN top-1/top-5 over every training feature, the linear probe fitted
    on the first ``n_labelled``, and the seconds since ``start`` (features included)."""
    knn1, knn5 = knn_accuracy(train_x, train_y, test_x, test_y, classes, k, temperature)
    probe = linear_probe(train_x[:n_labelled], train_y[:n_labelled], test_x, test_y, classes,
                         seed, probe_iterations)  # fmt: skip
    return {
        "knn_top1": knn1,
        "knn_top5": knn5,
        "linear_probe_top1": probe,
        "seconds": time.perf_counter() - start,
    }


def linear_probe(train_x, train_y, test_x, test_y, classes, seed=0,
                 iterations=PROBE_ITERATIONS):  # fmt: skip
    """Test top-1 % of a softmax-regression classifier fitted on fixed features (standardised
    with the training features' mean and deviation) by full-batch L-BFGS, L2 :data:`PROBE_L2`;
    ``seed`` draws its initial weights."""
    import torch
    import torch.nn.functional as F

    mean, std = train_x.mean(0), train_x.std(0).clamp(min=1e-6)
    xtr, xte = (train_x - mean) / std, (test_x - mean) / std
    ytr, yte = torch.as_tensor(train_y).long(), torch.as_tensor(test_y).long()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fc = torch.nn.Linear(xtr.shape[1], classes)
    opt = torch.optim.LBFGS(
        fc.parameters(), lr=1, max_iter=iterations, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(fc(xtr), ytr) + PROBE_L2 * fc.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return 100 * (fc(xte).argmax(1) == yte).float().mean().item()


def train_supervised(config, channels, classes, images, labels, device, seed, *, seconds=None,
                     steps=None, progress=False):  # fmt: skip
    """Baseline (c): the run's network (encoder ``f`` and a linear classifier) trained end to
    end with cross-entropy on ``images``/``labels`` (the labelled 10%) with the run's
    augmentation and batch size, Adam 1e-3. Stops after ``steps`` optimiser steps, else after
    ``seconds`` of training. Returns ``(model, info)``: ``model(x)`` gives (normalised
    features, logits); info has the steps, epochs and seconds it trained."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    if steps is None and seconds is None:
        raise ValueError("train_supervised: give seconds or steps")
    torch.manual_seed(seed)

    class Supervised(nn.Module):
        def __init__(self):
            super().__init__()
            self.f, dim = build_encoder(config["arch"], config["width"], channels)
            self.fc = nn.Linear(dim, classes)

        def forward(self, x):
            h = torch.flatten(self.f(x), 1)
            return F.normalize(h, dim=-1), self.fc(h)

    model = Supervised().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    data = ImageSet(images, labels, train_transform(channels))
    batch = min(config["batch_size"], len(data))
    g = torch.Generator().manual_seed(seed)
    done, epochs, start = 0, 0, time.perf_counter()
    model.train()
    while True:
        loader = torch.utils.data.DataLoader(
            data, batch_size=batch, shuffle=True, drop_last=len(data) >= 2 * batch, generator=g
        )
        for x, y in loader:
            if x.size(0) < 2:
                continue  # BatchNorm needs two images
            _, logits = model(x.to(device))
            loss = F.cross_entropy(logits, y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            elapsed = time.perf_counter() - start
            if (steps is not None and done >= steps) or (steps is None and elapsed >= seconds):
                model.eval()
                return model, {"steps": done, "epochs": epochs + 1, "seconds": elapsed}
        epochs += 1
        if progress and epochs % 10 == 0:
            print(f"  supervised baseline: epoch {epochs}, {done} steps", flush=True)


def _accuracy(model, images, labels, transform, device):
    import torch

    data = ImageSet(images, labels, transform)
    correct = 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(data, batch_size=512):
            _, logits = model(x.to(device))
            correct += (logits.argmax(1).cpu() == y).sum().item()
    return 100 * correct / len(data)


def evaluate(run, *, data_root=None, device=None, seed=0, k=KNN_K, temperature=KNN_TEMPERATURE,
             label_fraction=LABEL_FRACTION, test_images=2000, supervised_seconds=None,
             supervised_steps=None, probe_iterations=PROBE_ITERATIONS, figures=True, progress=False,
             data=None, supervised=True):  # fmt: skip
    """Measure the run in the folder ``run`` (see the module's docstring); returns the results
    dict also written to ``RUN/evaluation.json``.

    ``seed``: the random encoder's initialisation, the probes and the supervised baseline.
    ``k`` >= 1 and ``temperature`` > 0: the kNN's; ``label_fraction`` in (0, 1]: the labelled
    share for the probes and the supervised baseline; ``test_images``: how many test images are
    classified (None: all); ``supervised_seconds``/``supervised_steps``: how long baseline (c)
    trains (default: as long as the SimCLR run did); ``supervised=False`` leaves baseline (c)
    out (no "supervised" in ``encoders``: the demo's short run, which it would double).
    ``data``: the run's data already loaded.
    Errors (ValueError, FileNotFoundError) come before any work.
    """
    import torch

    from ..core.torch_utils import resolve_device

    whole_number("ssl evaluate", "k", k, 1)
    number("ssl evaluate", "temperature", temperature, 0, low_inclusive=False)
    number("ssl evaluate", "label_fraction", label_fraction, 0, 1, low_inclusive=False)
    if test_images is not None:
        whole_number("ssl evaluate", "test_images", test_images, 1)
    if supervised_steps is not None:
        whole_number("ssl evaluate", "supervised_steps", supervised_steps, 1)
    if supervised_seconds is not None:
        number("ssl evaluate", "supervised_seconds", supervised_seconds, 0, low_inclusive=False)
    run = Path(run)
    checkpoint = run / "checkpoint.pt"
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{run}: no checkpoint.pt (not a `cs231n ssl train` run folder?)")
    saved = load_checkpoint(checkpoint)
    config, channels = saved["config"], saved["channels"]
    device = resolve_device(device)
    if data is None:
        data = load_ssl_data(config["dataset"], data_root, config["max_images"], saved["seed"])
    (xtr, ytr), (xte, yte), info = data
    if test_images is not None:
        xte, yte = xte[:test_images], yte[:test_images]
    classes = int(max(ytr.max(), yte.max()) + 1)
    n_labelled = max(classes, int(math.ceil(label_fraction * len(xtr))))
    # The course's 10%: the first images of the training set.
    xl, yl = xtr[:n_labelled], ytr[:n_labelled]
    transform = eval_transform(channels)
    results = {
        "run": str(run),
        "config": config,
        "epochs_trained": saved["epoch"],
        "pretraining_seconds": saved["seconds"],
        "seed": seed,
        "train_images": len(xtr),
        "labelled_images": n_labelled,
        "test_images": len(xte),
        "knn": {"k": min(k, len(xtr)), "temperature": temperature},
        "probe": {"optimiser": "L-BFGS", "iterations": probe_iterations, "l2": PROBE_L2},
        "encoders": {},
    }

    def measure(name, train_x, test_x, start):
        r = _scores(train_x, ytr, test_x, yte, n_labelled, classes, k, temperature, seed, start,
                    probe_iterations)  # fmt: skip
        results["encoders"][name] = r
        if progress:
            print(
                f"  {name}: kNN {r['knn_top1']:.2f}% / {r['knn_top5']:.2f}%, "
                f"linear probe {r['linear_probe_top1']:.2f}%"
            )

    t = time.perf_counter()
    ssl_model = saved["model"].to(device)
    feats = {"simclr": (encode(ssl_model, xtr, transform, device),)}
    feats["simclr"] += (encode(ssl_model, xte, transform, device),)
    measure("simclr", *feats["simclr"], t)
    t = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        random_model = build_model(config, channels, seed).to(device)
    feats["random"] = (
        encode(random_model, xtr, transform, device),
        encode(random_model, xte, transform, device),
    )
    measure("random", *feats["random"], t)
    t = time.perf_counter()
    feats["pixels"] = (pixels(xtr, transform), pixels(xte, transform))
    measure("pixels", *feats["pixels"], t)

    if supervised:
        t = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            seconds = supervised_seconds if supervised_seconds is not None else saved["seconds"]
            sup, sup_info = train_supervised(config, channels, classes, xl, yl, device, seed,
                                             seconds=seconds, steps=supervised_steps,
                                             progress=progress)  # fmt: skip
        sup_train, sup_test = (
            encode(sup, xtr, transform, device),
            encode(sup, xte, transform, device),
        )
        knn1, knn5 = knn_accuracy(sup_train, ytr, sup_test, yte, classes, k, temperature)
        results["encoders"]["supervised"] = {
            "knn_top1": knn1,
            "knn_top5": knn5,
            "classifier_top1": _accuracy(sup, xte, yte, transform, device),
            "linear_probe_top1": linear_probe(
                sup_train[:n_labelled], yl, sup_test, yte, classes, seed, probe_iterations
            ),
            "training": sup_info,
            "seconds": time.perf_counter() - t,
        }
        if progress:
            s = results["encoders"]["supervised"]
            print(f"  supervised: classifier {s['classifier_top1']:.2f}%, kNN {knn1:.2f}%")
    if figures:
        plot_neighbours(xtr, xte, feats["simclr"], feats["pixels"], run / "neighbours.png")
        plot_embedding(feats, yte, run / "embedding.png")
    with atomic_path(run / "evaluation.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def _show(ax, image):
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_neighbours(xtr, xte, ssl_feats, pixel_feats, path, queries=6, n=6):
    """Each of ``queries`` test images, then its ``n`` nearest training images by cosine
    similarity: in the SimCLR space (left block) and in pixel space (right block)."""
    import torch.nn.functional as F
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.1 * (2 * n + 2), 1.15 * queries + 0.6), dpi=100)
    axes = fig.subplots(queries, 2 * n + 2, squeeze=False)
    picks = np.linspace(0, len(xte) - 1, queries).astype(int)
    for block, (train_f, test_f) in enumerate((ssl_feats, pixel_feats)):
        sims = F.normalize(test_f[picks], dim=1) @ F.normalize(train_f, dim=1).T
        nearest = sims.topk(min(n, len(xtr)), dim=1).indices.numpy()
        for row, q in enumerate(picks):
            col0 = block * (n + 1)
            _show(axes[row, col0], xte[q])
            for j, idx in enumerate(nearest[row]):
                _show(axes[row, col0 + 1 + j], xtr[idx])
            for j in range(len(nearest[row]), n):
                axes[row, col0 + 1 + j].axis("off")
    axes[0, 0].set_title("query", fontsize=8)
    axes[0, 1].set_title("nearest in SimCLR space →", fontsize=8, loc="left")
    axes[0, n + 1].set_title("query", fontsize=8)
    axes[0, n + 2].set_title("nearest in pixel space →", fontsize=8, loc="left")
    fig.tight_layout()
    return save_figure(fig, path)


def pca_2d(x):
    """(N, 2) projection of ``x`` onto its two principal components."""
    x = x - x.mean(0)
    _, _, v = np.linalg.svd(x.numpy().astype(np.float64), full_matrices=False)
    return x.numpy() @ v[:2].T


def plot_embedding(feats, labels, path):
    """The test images' features projected to 2-D (PCA), coloured by class: SimCLR, random
    initialisation and pixels side by side."""
    from matplotlib.figure import Figure

    names = [n for n in ("simclr", "random", "pixels") if n in feats]
    fig = Figure(figsize=(4.2 * len(names), 4), dpi=100)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        xy = pca_2d(feats[name][1])
        points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
        ax.set_title(f"{name} (PCA of the test features)", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(points, ax=list(axes), label="class")
    return save_figure(fig, path)


# ----------------------------------------------------------------------------------------------
# The course's pretrained network


def course_pretrained_path(data_root=None) -> Path:
    """Where the course's ``pretrained_simclr_model.pth`` is kept: the data directory's
    ``pretrained_model/`` (asset ``simclr-model``)."""
    return data_path(*SIMCLR_CHECKPOINT.split("/"), data_root=data_root)


def load_course_pretrained(path=None, *, data_root=None, device=None):
    """The course's pretrained SimCLR network, loaded as its notebook loads it: ``Model()``,
    then ``load_state_dict(torch.load(path, weights_only=True), strict=False)`` (the notebook's
    ``strict=False`` lets the same file fill its classifier's encoder too). ``path``: the file
    (default :func:`course_pretrained_path`). Returns the model in eval mode on ``device``.

    Errors, before anything is built from the file: FileNotFoundError naming the path and the
    download command; ValueError naming the file when it is no PyTorch weights file, holds no
    key of the course's ``Model`` (``strict=False`` would load nothing, silently), or holds one
    of another shape."""
    import torch

    from ..core.torch_utils import resolve_device, torch_load
    from ..simclr.model import Model

    path = Path(path) if path is not None else course_pretrained_path(data_root)
    if not path.is_file():
        raise FileNotFoundError(
            f"the course's pretrained SimCLR model is not at {path}: get it with "
            "`cs231n data download simclr-model`"
        )
    state = torch_load(path, "the course's pretrained SimCLR model")
    if isinstance(state, dict) and "model_state" in state and "format" in state:
        raise ValueError(f"{path}: an `ssl train` checkpoint; evaluate its run folder instead")
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: not a state dict (names to tensors)")
    model = Model()
    expected = model.state_dict()
    known = [k for k in state if k in expected]
    if not known:
        raise ValueError(
            f"{path}: none of its {len(state)} weights is the course's Model's (keys f.* and "
            f"g.*; found e.g. {next(iter(state), 'nothing')!r})"
        )
    for k in known:
        if state[k].shape != expected[k].shape:
            raise ValueError(
                f"{path}: {k} has shape {tuple(state[k].shape)}, the course's Model "
                f"{tuple(expected[k].shape)}"
            )
    model.load_state_dict(state, strict=False)
    return model.to(resolve_device(device)).eval()


def evaluate_course_pretrained(*, data_root=None, device=None, seed=0, k=KNN_K,
                               temperature=KNN_TEMPERATURE, label_fraction=LABEL_FRACTION,
                               max_images=5000, test_images=2000, progress=False) -> dict:  # fmt: skip
    """The course's pretrained encoder on the course's data (CIFAR-10, which must be in the
    data directory): the weighted kNN and the linear probe (as :func:`evaluate`) on the first
    ``max_images`` training images (None: all) and ``test_images`` test images, beside the
    raw pixels. Returns ``{"encoders": {"course": {...}, "pixels": {...}}, ...}``."""
    from ..core.torch_utils import resolve_device

    device = resolve_device(device)
    whole_number("ssl evaluate", "k", k, 1)
    number("ssl evaluate", "label_fraction", label_fraction, 0, 1, low_inclusive=False)
    model = load_course_pretrained(data_root=data_root, device=device)
    (xtr, ytr), (xte, yte), _ = load_ssl_data("cifar10", data_root, max_images, seed)
    if test_images is not None:
        xte, yte = xte[:test_images], yte[:test_images]
    labelled = max(1, int(round(label_fraction * len(xtr))))
    k = min(k, len(xtr))
    transform = eval_transform(3)
    results = {"data": "cifar10", "train_images": len(xtr), "test_images": len(xte),
               "labelled_images": labelled, "k": k, "temperature": temperature,
               "checkpoint": str(course_pretrained_path(data_root)), "encoders": {}}  # fmt: skip
    for name, feats in (
        ("course", lambda x: encode(model, x, transform, device)),
        ("pixels", lambda x: pixels(x, transform)),
    ):
        start = time.perf_counter()
        ftr, fte = feats(xtr), feats(xte)
        r = _scores(ftr, ytr, fte, yte, labelled, 10, k, temperature, seed, start)
        results["encoders"][name] = r
        if progress:
            print(
                f"{name}: kNN top-1 {r['knn_top1']:.2f}%, probe top-1 {r['linear_probe_top1']:.2f}%"
            )
    return results
