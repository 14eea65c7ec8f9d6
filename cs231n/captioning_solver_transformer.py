"""The training loop of the course's captioning Transformer (Assignment 3, 2021–2025).

``CaptioningSolverTransformer`` trains a captioning model (``CaptioningTransformer``) on a data
dict in the course's COCO format (``load_coco_data``, the built-in Shapes data,
``random_caption_data``) with Adam, as the course's ``captioning_solver_transformer.py`` does::

    solver = CaptioningSolverTransformer(model, data, idx_to_word=data["idx_to_word"],
                                         num_epochs=100, batch_size=25, learning_rate=1e-3)
    solver.train()
    solver.loss_history  # one loss per iteration

It runs on ``device`` (default: the GPU when there is one, else the CPU). The Vision
Transformer's solver is in :mod:`cs231n.classification_solver_vit` (the course's 2025 path).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from . import optim
from .captioning_solver import run_training
from .coco_utils import all_finite, decode_captions, sample_coco_minibatch
from .core.checks import positive_int
from .core.torch_utils import resolve_device

__all__ = [
    "CaptioningSolverTransformer",
    "transformer_temporal_softmax_loss",
    # What the course's module imports (its star-import gives these too).
    "decode_captions",
    "np",
    "optim",
    "sample_coco_minibatch",
    "torch",
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
            positive_int("CaptioningSolverTransformer", name, getattr(self, name))
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

    def _minibatch(self):
        """``(captions, features)`` of a random training minibatch (a multi-process run keeps
        its own part of it: cs231n.captioning.training)."""
        captions, features, _ = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train"
        )
        return captions, features

    def _step(self):
        """One Adam update on a random minibatch; appends the loss to ``loss_history``."""
        captions, features = self._minibatch()
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
