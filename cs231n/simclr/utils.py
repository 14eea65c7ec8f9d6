"""SimCLR's training and evaluation loops, the course's ``cs231n/simclr/utils.py``.

- :func:`train`: one epoch of contrastive pretraining (both views through the model, the loss
  :func:`~cs231n.simclr.contrastive_loss.simclr_loss_vectorized`, one optimiser step a batch).
- :func:`train_val`: one epoch of a supervised classifier (a training epoch with an optimiser,
  an evaluation without), with top-1 and top-5 accuracy.
- :func:`test`: the weighted k-nearest-neighbour classifier of Wu et al. 2018 on the encoder's
  normalised features: each test image's k most cosine-similar training images vote for their
  class with weight exp(similarity / temperature).

``device`` follows the course (default ``'cuda'``); on a machine without CUDA a CUDA device
means the model's own device, so the course's notebook calls run unchanged on a CPU. Progress
is shown with tqdm as in the course (``progress=False`` hides it).

Course: ``cs231n/simclr/utils.py`` (2021-2026 editions).
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the course's `from .contrastive_loss import *` gives it)
import torch
import torch.optim as optim  # noqa: F401  (the course's module imports it: its star-import gives it)
from torch.utils.data import DataLoader  # noqa: F401  (likewise)
from tqdm import tqdm  # noqa: F401  (the course's star-import gives it; bars: progress_bar)

from ..core.checks import number, whole_number
from ..core.progress import progress_bar

# The course's module star-imports its loss module; the notebook uses these names after
# `from cs231n.simclr.utils import *`.
from .contrastive_loss import (  # noqa: F401
    compute_sim_matrix,
    rel_error,
    sim,
    sim_positive_pairs,
    simclr_loss_naive,
    simclr_loss_vectorized,
)


def _device(model, device) -> torch.device:
    """``device``, or the model's device when it names CUDA on a machine without it."""
    requested = torch.device(device)
    if requested.type == "cuda" and not torch.cuda.is_available():
        param = next(model.parameters(), None)
        return param.device if param is not None else torch.device("cpu")
    return requested


def train(
    model,
    data_loader,
    train_optimizer,
    epoch,
    epochs,
    batch_size=32,
    temperature=0.5,
    device="cuda",
    progress=True,
):
    """Train ``model`` (a :class:`~cs231n.simclr.model.Model`) for one epoch.

    Inputs:
    - data_loader: yields ``(x_i, x_j, target)``: two augmented views, (B, C, H, W) each, with
      B >= 2 (a batch of one has no negatives).
    - train_optimizer: a torch optimiser over the model's parameters.
    - epoch, epochs: the epoch's number and the total, for the progress line.
    - batch_size: the course's parameter (the loader's batches are counted as they come).
    - temperature: tau of the loss, > 0.
    - device: where the batches go.

    Returns: the mean loss over the epoch's images (a float).
    """
    number("train", "temperature", temperature, 0, low_inclusive=False)
    device = _device(model, device)
    model.train()
    total_loss, total_num = 0.0, 0
    bar = progress_bar(data_loader, disable=not progress)
    for x_i, x_j, _ in bar:
        if x_i.size(0) < 2:
            # Checked before the forward pass, whose BatchNorm would fail less clearly.
            raise ValueError(
                f"train: a batch needs at least 2 pairs, got {x_i.size(0)} (one pair has no "
                "negatives; give the DataLoader drop_last=True or a larger batch)"
            )
        x_i, x_j = x_i.to(device), x_j.to(device)
        _, out_left = model(x_i)
        _, out_right = model(x_j)
        loss = simclr_loss_vectorized(out_left, out_right, temperature, device)
        train_optimizer.zero_grad()
        loss.backward()
        train_optimizer.step()
        total_num += x_i.size(0)
        total_loss += loss.item() * x_i.size(0)
        bar.set_description(f"Train Epoch: [{epoch}/{epochs}] Loss: {total_loss / total_num:.4f}")
    if total_num == 0:
        raise ValueError("train: the data loader gave no batches")
    return total_loss / total_num


def _topk_correct(scores, target, k):
    top = scores.topk(min(k, scores.size(-1)), dim=-1).indices
    return (top == target.unsqueeze(-1)).any(dim=-1).float().sum().item()


def train_val(model, data_loader, train_optimizer, epoch, epochs, device="cuda", progress=True):
    """One epoch of a classifier: trains when ``train_optimizer`` is given, else evaluates
    (eval mode, no gradients). ``data_loader`` yields ``(images, labels)``.

    Returns: ``(mean cross-entropy loss, top-1 accuracy %, top-5 accuracy %)``.
    """
    is_train = train_optimizer is not None
    device = _device(model, device)
    model.train(is_train)
    loss_criterion = torch.nn.CrossEntropyLoss()
    total_loss, correct_1, correct_5, total_num = 0.0, 0.0, 0.0, 0
    bar = progress_bar(data_loader, disable=not progress)
    with torch.enable_grad() if is_train else torch.no_grad():
        for data, target in bar:
            data, target = data.to(device), target.to(device)
            out = model(data)
            loss = loss_criterion(out, target)
            if is_train:
                train_optimizer.zero_grad()
                loss.backward()
                train_optimizer.step()
            total_num += data.size(0)
            total_loss += loss.item() * data.size(0)
            correct_1 += _topk_correct(out, target, 1)
            correct_5 += _topk_correct(out, target, 5)
            bar.set_description(
                f"{'Train' if is_train else 'Test'} Epoch: [{epoch}/{epochs}] Loss: "
                f"{total_loss / total_num:.4f} ACC@1: {correct_1 / total_num * 100:.2f}% "
                f"ACC@5: {correct_5 / total_num * 100:.2f}%"
            )
    if total_num == 0:
        raise ValueError("train_val: the data loader gave no batches")
    return total_loss / total_num, correct_1 / total_num * 100, correct_5 / total_num * 100


def knn_predict(feature, feature_bank, feature_labels, c, k, temperature):
    """Class scores (B, c) of the weighted kNN: ``feature`` (B, D) and ``feature_bank`` (D, M)
    unit-length; each of the k most similar bank rows adds exp(similarity / temperature) to
    its label's score."""
    sim_matrix = feature @ feature_bank
    sim_weight, sim_indices = sim_matrix.topk(k=k, dim=-1)
    sim_labels = feature_labels[sim_indices]
    sim_weight = (sim_weight / temperature).exp()
    scores = torch.zeros(feature.size(0), c, device=feature.device, dtype=sim_weight.dtype)
    return scores.scatter_add_(1, sim_labels, sim_weight)


def test(
    model,
    memory_data_loader,
    test_data_loader,
    epoch,
    epochs,
    c,
    temperature=0.5,
    k=200,
    device="cuda",
    progress=True,
):
    """Weighted kNN accuracy of ``model``'s features (the course's SimCLR monitor).

    Inputs:
    - memory_data_loader: yields ``(x, _, target)`` for the labelled bank (the training set,
      not augmented); test_data_loader: the same for the images to classify.
    - c: the number of classes; labels must lie in [0, c).
    - temperature: > 0, sharpens the vote weights; k: neighbours, 1 <= k <= bank size.

    Returns: ``(top-1 accuracy %, top-5 accuracy %)``.
    """
    whole_number("test", "c", c, 1)
    whole_number("test", "k", k, 1)
    number("test", "temperature", temperature, 0, low_inclusive=False)
    device = _device(model, device)
    model.eval()
    total_top1, total_top5, total_num = 0.0, 0.0, 0
    feature_bank, feature_labels = [], []
    with torch.no_grad():
        for data, _, target in progress_bar(
            memory_data_loader, desc="Feature extracting", disable=not progress
        ):
            feature, _ = model(data.to(device))
            feature_bank.append(feature)
            feature_labels.append(torch.as_tensor(target))
        if not feature_bank:
            raise ValueError("test: the memory data loader gave no images")
        # Labels as the loader gives them: the same as dataset.targets for the course's
        # unshuffled loader, and right for a Subset too.
        feature_bank = torch.cat(feature_bank).t().contiguous()
        feature_labels = torch.cat(feature_labels).to(feature_bank.device).long()
        if k > feature_bank.size(1):
            raise ValueError(f"test: k={k} neighbours, but the bank holds {feature_bank.size(1)}")
        if int(feature_labels.min()) < 0 or int(feature_labels.max()) >= c:
            raise ValueError(f"test: labels must lie in [0, {c}), c being the number of classes")
        bar = progress_bar(test_data_loader, disable=not progress)
        for data, _, target in bar:
            data, target = data.to(device), target.to(device)
            feature, _ = model(data)
            total_num += data.size(0)
            scores = knn_predict(feature, feature_bank, feature_labels, c, k, temperature)
            total_top1 += _topk_correct(scores, target, 1)
            total_top5 += _topk_correct(scores, target, 5)
            bar.set_description(
                f"Test Epoch: [{epoch}/{epochs}] Acc@1:{total_top1 / total_num * 100:.2f}% "
                f"Acc@5:{total_top5 / total_num * 100:.2f}%"
            )
    if total_num == 0:
        raise ValueError("test: the test data loader gave no images")
    return total_top1 / total_num * 100, total_top5 / total_num * 100
