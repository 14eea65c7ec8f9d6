"""Trains a captioning model with minibatch first-order updates, as the course's solver does.

Example::

    solver = CaptioningSolver(model, data, update_rule="adam",
                              optim_config={"learning_rate": 5e-3},
                              lr_decay=0.95, num_epochs=50, batch_size=25, print_every=10)
    solver.train()
    solver.loss_history  # one loss per iteration
"""

from __future__ import annotations

import numpy as np

from . import optim
from .coco_utils import all_finite, sample_coco_minibatch
from .core.progress import progress_bar


class CaptioningSolver:
    """Minibatch training of a model with ``.params`` and ``.loss(features, captions)``.

    Keyword arguments (the course's): ``update_rule`` (name of a rule in :mod:`cs231n.optim`,
    default "sgd"), ``optim_config`` (hyperparameters for it), ``lr_decay`` (multiplies the
    learning rate at the end of every epoch), ``batch_size`` (100), ``num_epochs`` (10),
    ``print_every`` (10), ``verbose`` (True). Beyond the course: ``progress`` (False) shows a
    progress bar with the running loss; ``on_epoch_end`` (None) is called with the solver after
    every epoch (checkpoints, validation); ``train()`` continues from ``self.epoch``, so a
    solver whose state was restored from a checkpoint resumes where it stopped.

    An epoch is ``max(num_train_captions // batch_size, 1)`` iterations; minibatches are drawn
    with replacement. A loss that is not finite stops training with FloatingPointError (the
    training features are checked to be finite up front, so the cause is the optimisation).
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.data = data

        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.progress = kwargs.pop("progress", False)
        self.on_epoch_end = kwargs.pop("on_epoch_end", None)
        if kwargs:
            raise ValueError("Unrecognized arguments " + ", ".join(f'"{k}"' for k in kwargs))
        if not isinstance(self.update_rule, str) or not callable(
            getattr(optim, self.update_rule, None)
        ):
            raise ValueError(f'Invalid update_rule "{self.update_rule}"')
        for name in ("batch_size", "num_epochs", "print_every"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(
                    f"CaptioningSolver: {name} must be a positive integer, got {value!r}"
                )
        if "train_captions" not in data:
            raise KeyError("CaptioningSolver: the data has no 'train_captions'")
        if "train_features" in data and not all_finite(data["train_features"]):
            raise ValueError("CaptioningSolver: the data's train_features hold NaN or inf values")
        self.update_rule = getattr(optim, self.update_rule)
        self._reset()

    def _reset(self):
        """Bookkeeping; called by the constructor."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # Each parameter gets its own copy of the optimiser config (and state).
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One gradient update on a random minibatch."""
        captions, features, _ = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train"
        )
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def train(self):
        """Run the optimisation for ``num_epochs`` epochs."""
        run_training(self, self._learning_rate, self._decay_learning_rate)

    def _learning_rate(self):
        return next(iter(self.optim_configs.values()), {}).get("learning_rate")

    def _decay_learning_rate(self):
        for config in self.optim_configs.values():
            config["learning_rate"] *= self.lr_decay


def run_training(solver, learning_rate, at_epoch_end=None):
    """The training loop both captioning solvers share (this one and
    :class:`cs231n.captioning_solver_transformer.CaptioningSolverTransformer`): from
    ``solver.epoch`` to ``solver.num_epochs``, one ``solver._step()`` per minibatch, a progress
    bar (``solver.progress``), the loss printed every ``solver.print_every`` iterations
    (``solver.verbose``); at each epoch's end ``at_epoch_end()`` (e.g. the learning-rate decay),
    then ``solver.on_epoch_end(solver)``. A loss that is not finite stops training with
    FloatingPointError naming the iteration and ``learning_rate()``.
    """
    num_train = solver.data["train_captions"].shape[0]
    iterations_per_epoch = max(num_train // solver.batch_size, 1)
    num_iterations = solver.num_epochs * iterations_per_epoch
    start = min(solver.epoch * iterations_per_epoch, num_iterations)

    bar = None
    if solver.progress:
        bar = progress_bar(total=num_iterations, initial=start, desc="train", unit="it")
    say = bar.write if bar is not None else print
    try:
        for t in range(start, num_iterations):
            solver._step()
            loss = solver.loss_history[-1]
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged: the loss is {loss} at iteration {t + 1} (epoch "
                    f"{solver.epoch + 1}); try a smaller learning rate (now {learning_rate()})"
                )
            if bar is not None:
                # The postfix is drawn by update (at most every bar.mininterval seconds), not
                # redrawn on its own at every step.
                bar.set_postfix(loss=f"{loss:.4f}", epoch=solver.epoch, refresh=False)
                bar.update(1)
            if solver.verbose and t % solver.print_every == 0:
                say(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")
            if (t + 1) % iterations_per_epoch == 0:
                solver.epoch += 1
                if at_epoch_end is not None:
                    at_epoch_end()
                if solver.on_epoch_end is not None:
                    solver.on_epoch_end(solver)
    finally:
        if bar is not None:
            bar.close()
