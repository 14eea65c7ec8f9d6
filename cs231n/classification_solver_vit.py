"""The Vision Transformer's training loop, at the course's 2025 path (its notebook imports
``from cs231n.classification_solver_vit import ClassificationSolverViT``).

``ClassificationSolverViT`` trains an image classifier (``VisionTransformer``) on PyTorch
datasets of (image, label) pairs with Adam and cross-entropy::

    solver = ClassificationSolverViT(train_data, test_data, model, num_epochs=2)
    solver.train()
    solver.results["best_test_acc"]

It runs on ``device`` (default: the GPU when there is one, else the CPU).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .core.checks import positive_int
from .core.progress import progress_bar
from .core.torch_utils import resolve_device

# The solver, and what the course's module imports (its star-import gives these too).
__all__ = ["ClassificationSolverViT", "torch", "tqdm", "train_val"]


def _as_dataset(data, what):
    """A torch Dataset of (image, label) pairs: ``data`` itself, or a pair ``(images, labels)``
    of arrays/tensors made into a TensorDataset."""
    if isinstance(data, tuple | list) and len(data) == 2:
        images = torch.as_tensor(np.asarray(data[0]) if not torch.is_tensor(data[0]) else data[0])
        labels = torch.as_tensor(np.asarray(data[1]) if not torch.is_tensor(data[1]) else data[1])
        if len(images) != len(labels):
            raise ValueError(
                f"ClassificationSolverViT: {what} has {len(images)} images and {len(labels)} labels"
            )
        return torch.utils.data.TensorDataset(images.float(), labels.long())
    if not hasattr(data, "__getitem__") or not hasattr(data, "__len__"):
        raise TypeError(
            f"ClassificationSolverViT: {what} must be a dataset of (image, label) pairs or an "
            f"(images, labels) pair, got {type(data).__name__}"
        )
    return data


def train_val(
    model, data_loader, train_optimizer, epoch, epochs, device="cpu", *, progress=True,
    loss_criterion=None,
):  # fmt: skip
    """One epoch over ``data_loader``: training with ``train_optimizer``, or testing without
    gradients when it is None (course, 2025-2026: ``classification_solver_vit.train_val``).

    Returns ``(mean loss, top-1 accuracy, top-5 accuracy)``, accuracies as fractions in [0, 1]
    (as the course's, whose top-5 is left at 0: here it is counted). ``epoch``/``epochs`` label
    the progress bar (``progress=False``: none). Raises ValueError on an empty loader.
    """
    is_train = train_optimizer is not None
    model.train(is_train)
    loss_criterion = loss_criterion or torch.nn.CrossEntropyLoss()
    total_loss, correct_1, correct_5, total = 0.0, 0, 0, 0
    label = "Train" if is_train else "Test"
    bar = progress_bar(data_loader, disable=not progress)
    with torch.set_grad_enabled(is_train):
        for images, targets in bar:
            images, targets = images.to(device), targets.to(device)
            if images.is_floating_point() and not torch.isfinite(images).all():
                raise ValueError(
                    f"ClassificationSolverViT: the {label.lower()} data holds NaN or infinite "
                    "pixel values; training stopped before using them"
                )
            scores = model(images)
            loss = loss_criterion(scores, targets)
            if is_train:
                train_optimizer.zero_grad()
                loss.backward()
                train_optimizer.step()
            n = targets.shape[0]
            total += n
            total_loss += loss.item() * n
            top = scores.topk(min(5, scores.shape[1]), dim=1).indices
            hits = top == targets[:, None]
            correct_1 += hits[:, 0].sum().item()
            correct_5 += hits.any(dim=1).sum().item()
            bar.set_description(
                f"{label} Epoch: [{epoch}/{epochs}] Loss: {total_loss / total:.4f} "
                f"ACC@1: {correct_1 / total:.3f}"
            )
    if not total:
        raise ValueError(f"ClassificationSolverViT: the {label.lower()} data is empty")
    return total_loss / total, correct_1 / total, correct_5 / total


class ClassificationSolverViT:
    """Trains an image classifier with Adam and cross-entropy, testing after every epoch
    (course, 2025: ``cs231n/classification_solver_vit.py``).

    ``train_data``/``test_data``: datasets of (image tensor, integer label) pairs, such as
    torchvision's CIFAR10 with ``ToTensor()`` or ``cs231n.data.mnist.torch_dataset``, or
    ``(images, labels)`` pairs of arrays. Keyword arguments (the course's): ``learning_rate``
    (1e-4), ``weight_decay`` (0.0), ``batch_size`` (64), ``num_epochs`` (2). Beyond the course:
    ``verbose`` (True: one line per epoch), ``progress`` (False: progress bars, as the course
    shows), ``on_epoch_end`` (None: called with the solver after every epoch), ``seed`` (None:
    seeds the shuffling of the training data).

    ``results`` (the course's keys): ``train_loss``, ``train_acc@1``, ``test_loss`` and
    ``test_acc@1`` (one value per epoch; accuracies are fractions), and after training
    ``best_test_acc``.
    """

    def __init__(self, train_data, test_data, model, **kwargs):
        self.model = model
        self.train_data = _as_dataset(train_data, "train_data")
        self.test_data = _as_dataset(test_data, "test_data")

        self.learning_rate = kwargs.pop("learning_rate", 1.0e-4)
        self.weight_decay = kwargs.pop("weight_decay", 0.0)
        self.batch_size = kwargs.pop("batch_size", 64)
        self.num_epochs = kwargs.pop("num_epochs", 2)
        self.verbose = kwargs.pop("verbose", True)
        self.progress = kwargs.pop("progress", False)
        self.on_epoch_end = kwargs.pop("on_epoch_end", None)
        self.seed = kwargs.pop("seed", None)
        if kwargs:
            raise ValueError("Unrecognized arguments " + ", ".join(f'"{k}"' for k in kwargs))
        positive_int("ClassificationSolverViT", "batch_size", self.batch_size)
        positive_int("ClassificationSolverViT", "num_epochs", self.num_epochs)
        if not float(self.learning_rate) > 0 or float(self.weight_decay) < 0:
            raise ValueError(
                "ClassificationSolverViT: learning_rate must be positive and weight_decay "
                f"non-negative, got {self.learning_rate!r} and {self.weight_decay!r}"
            )

        self.optimizer = torch.optim.Adam(
            self.model.parameters(), self.learning_rate, weight_decay=self.weight_decay
        )
        self.loss_criterion = torch.nn.CrossEntropyLoss()
        # Kept across train() calls, so that training in parts shuffles as one run does.
        self.generator = None
        if self.seed is not None:
            self.generator = torch.Generator().manual_seed(int(self.seed))
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.results = {"train_loss": [], "train_acc@1": [], "test_loss": [], "test_acc@1": []}

    def _run_epoch(self, loader, device, training, label):
        """One pass over ``loader``; returns (mean loss, top-1 accuracy)."""
        loss, acc, _ = train_val(
            self.model,
            loader,
            self.optimizer if training else None,
            self.epoch + 1,
            self.num_epochs,
            device,
            progress=self.progress,
            loss_criterion=self.loss_criterion,
        )
        return loss, acc

    def _train_loader(self):
        """The training data, shuffled with ``self.generator`` (a multi-process run replaces
        this with its own part of the same order: cs231n.vit.training)."""
        return torch.utils.data.DataLoader(
            self.train_data, batch_size=self.batch_size, shuffle=True, generator=self.generator
        )

    def train(self, device=None):
        """Train for ``num_epochs`` epochs (from ``self.epoch``) on ``device`` (None: the GPU
        when available, else the CPU), testing after each; fills ``results``."""
        device = resolve_device(device)
        train_loader = self._train_loader()
        test_loader = torch.utils.data.DataLoader(
            self.test_data, batch_size=self.batch_size, shuffle=False
        )
        self.model.to(device)
        # Adam's state follows its parameters; move any existing state (a resumed optimiser).
        for state in self.optimizer.state.values():
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(device)

        while self.epoch < self.num_epochs:
            train_loss, train_acc = self._run_epoch(train_loader, device, True, "train")
            test_loss, test_acc = self._run_epoch(test_loader, device, False, "test")
            self.results["train_loss"].append(train_loss)
            self.results["train_acc@1"].append(train_acc)
            self.results["test_loss"].append(test_loss)
            self.results["test_acc@1"].append(test_acc)
            self.results["best_test_acc"] = max(self.results["test_acc@1"])
            self.epoch += 1
            if self.verbose:
                print(
                    f"Epoch {self.epoch}/{self.num_epochs}: train loss {train_loss:.4f}, "
                    f"acc {train_acc:.3f}; test loss {test_loss:.4f}, acc {test_acc:.3f}"
                )
            if self.on_epoch_end is not None:
                self.on_epoch_end(self)
        return self.results
