"""Training loops for the course's PyTorch Transformers (Assignment 3, 2021–2025).

``CaptioningSolverTransformer`` trains a captioning model (``CaptioningTransformer``) on a data
dict in the course's COCO format (``load_coco_data``, the built-in Shapes data,
``random_caption_data``) with Adam, as the course's ``captioning_solver_transformer.py`` does::

    solver = CaptioningSolverTransformer(model, data, idx_to_word=data["idx_to_word"],
                                         num_epochs=100, batch_size=25, learning_rate=1e-3)
    solver.train()
    solver.loss_history  # one loss per iteration

``ClassificationSolverViT`` trains an image classifier (``VisionTransformer``) on PyTorch
datasets of (image, label) pairs, as the course's 2025 ``classification_solver_vit.py`` does::

    solver = ClassificationSolverViT(train_data, test_data, model, num_epochs=2)
    solver.train()
    solver.results["best_test_acc"]

Both run on ``device`` (default: the GPU when there is one, else the CPU).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from .captioning_solver import run_training
from .coco_utils import all_finite, sample_coco_minibatch
from .core.torch_utils import resolve_device

__all__ = [
    "CaptioningSolverTransformer",
    "ClassificationSolverViT",
    "transformer_temporal_softmax_loss",
]


def transformer_temporal_softmax_loss(x, y, mask):
    """Masked cross-entropy over a batch of sequences, averaged over all N * T positions.

    x: scores (N, T, V); y: target ids (N, T); mask: (N, T), true/1 where the position counts.
    Masked positions contribute 0 but still count in the average, as in the course's solver
    (its NumPy ``temporal_softmax_loss`` instead sums over time and averages over N).
    """
    N, T, V = x.shape
    losses = F.cross_entropy(x.reshape(N * T, V), y.reshape(N * T), reduction="none")
    return (losses * mask.reshape(N * T).to(losses.dtype)).mean()


def _check_positive_int(owner, name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")


class CaptioningSolverTransformer:
    """Minibatch Adam training of a PyTorch captioning model ``model(features, captions)`` ->
    scores (N, T, V) with a ``_null`` word id.

    Keyword arguments (the course's): ``learning_rate`` (1e-3), ``batch_size`` (100),
    ``num_epochs`` (10), ``print_every`` (10), ``verbose`` (True). Beyond the course:
    ``device`` (None: the GPU when available, else the CPU; the model is moved there),
    ``progress`` (False: a progress bar with the running loss), ``on_epoch_end`` (None: called
    with the solver after every epoch, e.g. for checkpoints). ``train()`` continues from
    ``self.epoch``, so a solver whose model, optimiser and epoch were restored resumes.

    An epoch is ``max(num_train_captions // batch_size, 1)`` iterations; minibatches are drawn
    with replacement from the global NumPy random state (``sample_coco_minibatch``), dropout
    from torch's: seed both for a repeatable run. A loss that is not finite stops training with
    FloatingPointError.
    """

    def __init__(self, model, data, idx_to_word, **kwargs):
        self.model = model
        self.data = data
        self.idx_to_word = idx_to_word

        self.learning_rate = kwargs.pop("learning_rate", 0.001)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.device = resolve_device(kwargs.pop("device", None))
        self.progress = kwargs.pop("progress", False)
        self.on_epoch_end = kwargs.pop("on_epoch_end", None)
        if kwargs:
            raise ValueError("Unrecognized arguments " + ", ".join(f'"{k}"' for k in kwargs))
        for name in ("batch_size", "num_epochs", "print_every"):
            _check_positive_int("CaptioningSolverTransformer", name, getattr(self, name))
        if not float(self.learning_rate) > 0:
            raise ValueError(
                f"CaptioningSolverTransformer: learning_rate must be positive, got "
                f"{self.learning_rate!r}"
            )
        for key in ("train_captions", "train_image_idxs", "train_features"):
            if key not in data:
                raise KeyError(f"CaptioningSolverTransformer: the data has no {key!r}")
        if not all_finite(data["train_features"]):
            raise ValueError(
                "CaptioningSolverTransformer: the data's train_features hold NaN or inf values"
            )

        self.model.to(self.device)
        self.optim = torch.optim.Adam(self.model.parameters(), self.learning_rate)
        self._reset()

    def _reset(self):
        """Bookkeeping; called by the constructor."""
        self.epoch = 0
        self.loss_history = []

    def transformer_temporal_softmax_loss(self, x, y, mask):
        """The course's loss (see :func:`transformer_temporal_softmax_loss`)."""
        return transformer_temporal_softmax_loss(x, y, mask)

    def _step(self):
        """One Adam update on a random minibatch; appends the loss to ``loss_history``."""
        captions, features, _ = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train"
        )
        # The model reads <START> w1 ... and predicts w1 ... <END>; <NULL> targets do not count.
        captions_in = torch.as_tensor(captions[:, :-1], dtype=torch.long, device=self.device)
        captions_out = torch.as_tensor(captions[:, 1:], dtype=torch.long, device=self.device)
        mask = captions_out != self.model._null
        features = torch.as_tensor(np.asarray(features, dtype=np.float32), device=self.device)

        scores = self.model(features, captions_in)
        loss = self.transformer_temporal_softmax_loss(scores, captions_out, mask)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        self.loss_history.append(loss.item())

    def train(self):
        """Run the optimisation for ``num_epochs`` epochs (from ``self.epoch``)."""
        self.model.train()
        run_training(self, lambda: self.learning_rate)


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
        _check_positive_int("ClassificationSolverViT", "batch_size", self.batch_size)
        _check_positive_int("ClassificationSolverViT", "num_epochs", self.num_epochs)
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
        self.model.train(training)
        total_loss, total_correct, total = 0.0, 0, 0
        batches = loader
        if self.progress:
            from tqdm.auto import tqdm

            batches = tqdm(loader, desc=f"{label} epoch {self.epoch + 1}/{self.num_epochs}")
        with torch.set_grad_enabled(training):
            for images, targets in batches:
                images, targets = images.to(device), targets.to(device)
                scores = self.model(images)
                loss = self.loss_criterion(scores, targets)
                if training:
                    self.optimizer.zero_grad()
                    loss.backward()
                    self.optimizer.step()
                n = targets.shape[0]
                total += n
                total_loss += loss.item() * n
                total_correct += (scores.argmax(dim=1) == targets).sum().item()
                if self.progress:
                    batches.set_postfix(loss=f"{total_loss / total:.4f}", acc=total_correct / total)
        if not total:
            raise ValueError(f"ClassificationSolverViT: the {label} data is empty")
        return total_loss / total, total_correct / total

    def train(self, device=None):
        """Train for ``num_epochs`` epochs (from ``self.epoch``) on ``device`` (None: the GPU
        when available, else the CPU), testing after each; fills ``results``."""
        device = resolve_device(device)
        train_loader = torch.utils.data.DataLoader(
            self.train_data, batch_size=self.batch_size, shuffle=True, generator=self.generator
        )
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
