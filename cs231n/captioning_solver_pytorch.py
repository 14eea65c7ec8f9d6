"""Trains the PyTorch captioning RNN: the course's ``cs231n/captioning_solver_pytorch.py``
(Assignment 2, 2025 and 2026 editions)::

    solver = CaptioningSolverPytorch(model, data, num_epochs=50, batch_size=25,
                                     learning_rate=5e-3, verbose=True, print_every=10)
    solver.train()
    solver.loss_history  # one loss per iteration

As the course's: the model is a :class:`cs231n.classifiers.rnn_pytorch.CaptioningRNN` (tensors
in ``model.params``, ``model.loss(features, captions)`` -> a 0-d tensor), Adam over
``model.params`` built in the constructor, minibatches drawn with replacement from the global
NumPy random state (``sample_coco_minibatch``), the params require gradients during ``train()``
only, and the loss is printed every ``print_every`` iterations.

Beyond the course: ``device`` (None: the GPU when there is one, else the CPU; the params move
there before the optimiser is built); the NumPy solver's options, so the two solvers take the
same arguments: ``update_rule`` ("adam", the course's; "sgd", "sgd_momentum", "rmsprop") with
``optim_config`` in :mod:`cs231n.optim`'s names (``learning_rate``, ``beta1``, ``beta2``,
``epsilon``, ``momentum``, ``decay_rate``) and ``lr_decay`` (multiplies the learning rate at
the end of every epoch); ``progress`` (a progress bar) and ``on_epoch_end`` (called with the
solver after every epoch); arguments are checked, and a loss that is not finite stops training
with FloatingPointError.
"""

from __future__ import annotations

import numpy as np
import torch

from . import optim
from .captioning_solver import run_training
from .coco_utils import all_finite, decode_captions, sample_coco_minibatch
from .core.checks import number, positive_int
from .core.torch_utils import resolve_device

# What the course's module gives to `from cs231n.captioning_solver_pytorch import *`.
__all__ = [
    "CaptioningSolverPytorch",
    "decode_captions",
    "np",
    "optim",
    "sample_coco_minibatch",
    "torch",
]


class SGDMomentum(torch.optim.Optimizer):
    """:func:`cs231n.optim.sgd_momentum` as a torch optimiser: ``v = momentum * v -
    learning_rate * dw; w += v``. ``torch.optim.SGD(momentum=...)`` accumulates the gradients
    and scales the sum by the current learning rate instead, which is the same update only
    while the learning rate stays constant (not with ``lr_decay``)."""

    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                v = self.state[p].setdefault("velocity", torch.zeros_like(p))
                v.mul_(group["momentum"]).sub_(p.grad, alpha=group["lr"])
                p.add_(v)
        return loss


# update_rule -> (torch optimiser, {optim_config key: (its keyword, default, upper bound)}); the
# defaults are cs231n.optim's, and each rule computes the update of the NumPy rule of the same
# name (Adam places epsilon as PyTorch does: after the bias correction of sqrt(v)).
_RULES = {
    "adam": (
        torch.optim.Adam,
        {"beta1": ("beta1", 0.9, 1), "beta2": ("beta2", 0.999, 1), "epsilon": ("eps", 1e-8, None)},
    ),
    "sgd": (torch.optim.SGD, {}),
    "sgd_momentum": (SGDMomentum, {"momentum": ("momentum", 0.9, 1)}),
    "rmsprop": (
        torch.optim.RMSprop,
        {"decay_rate": ("alpha", 0.99, 1), "epsilon": ("eps", 1e-8, None)},
    ),
}


def _optimizer(update_rule, params, learning_rate, optim_config):
    """The torch optimiser for ``update_rule`` over ``params``; raises ValueError naming an
    unknown rule, or an optim_config key the rule does not take or whose value is out of range."""
    func = "CaptioningSolverPytorch"
    if not isinstance(update_rule, str) or update_rule not in _RULES:
        raise ValueError(
            f'Invalid update_rule "{update_rule}": expected one of {", ".join(_RULES)}'
        )
    cls, keys = _RULES[update_rule]
    unknown = sorted(set(optim_config) - set(keys) - {"learning_rate"})
    if unknown:
        raise ValueError(
            f"{func}: optim_config key(s) {unknown} do not apply to update_rule "
            f'"{update_rule}" (it takes learning_rate{"".join(", " + k for k in keys)})'
        )
    kwargs, betas = {}, []
    for key, (keyword, default, high) in keys.items():
        value = number(func, f"optim_config['{key}']", optim_config.get(key, default), 0, high)
        if keyword.startswith("beta"):
            betas.append(value)
        else:
            kwargs[keyword] = value
    if betas:
        kwargs["betas"] = tuple(betas)
    return cls(params, lr=learning_rate, **kwargs)


class CaptioningSolverPytorch:
    """Minibatch training of a model with tensor ``.params`` and ``.loss(features, captions)``.

    Keyword arguments (the course's): ``learning_rate`` (1e-3), ``batch_size`` (100),
    ``num_epochs`` (10), ``print_every`` (10), ``verbose`` (True). Beyond the course (see the
    module's docstring): ``update_rule`` ("adam"), ``optim_config`` ({}; its
    ``learning_rate``, if given, is the learning rate), ``lr_decay`` (1.0), ``device`` (None:
    the GPU when available, else the CPU), ``progress`` (False), ``on_epoch_end`` (None).
    ``train()`` continues from ``self.epoch``.

    An epoch is ``max(num_train_captions // batch_size, 1)`` iterations. ``loss_history`` holds
    one float per iteration.
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.data = data

        func = "CaptioningSolverPytorch"
        learning_rate = kwargs.pop("learning_rate", None)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.update_rule = kwargs.pop("update_rule", "adam")
        self.optim_config = dict(kwargs.pop("optim_config", None) or {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.device = resolve_device(kwargs.pop("device", None))
        self.progress = kwargs.pop("progress", False)
        self.on_epoch_end = kwargs.pop("on_epoch_end", None)
        if kwargs:
            raise ValueError("Unrecognized arguments " + ", ".join(f'"{k}"' for k in kwargs))

        for name in ("batch_size", "num_epochs", "print_every"):
            positive_int(func, name, getattr(self, name))
        configured = self.optim_config.get("learning_rate")
        if learning_rate is not None and configured is not None and configured != learning_rate:
            raise ValueError(
                f"{func}: learning_rate={learning_rate!r} and optim_config['learning_rate']="
                f"{configured!r} disagree; give one"
            )
        learning_rate = next((v for v in (learning_rate, configured) if v is not None), 0.001)
        self.learning_rate = number(func, "learning_rate", learning_rate, 0, low_inclusive=False)
        self.lr_decay = number(func, "lr_decay", self.lr_decay, 0, low_inclusive=False)
        for key in ("train_captions", "train_image_idxs", "train_features"):
            if key not in data:
                raise KeyError(f"{func}: the data has no {key!r}")
        if not all_finite(data["train_features"]):
            raise ValueError(f"{func}: the data's train_features hold NaN or inf values")
        params = getattr(model, "params", None)
        if not isinstance(params, dict) or not params:
            raise TypeError(f"{func}: the model has no .params dict of tensors")
        for k, v in params.items():
            if not torch.is_tensor(v) or not v.is_floating_point():
                kind = v.dtype if torch.is_tensor(v) else type(v).__name__
                raise TypeError(
                    f"{func}: model.params[{k!r}] is {kind}, not a floating-point torch tensor "
                    "(the NumPy model trains with cs231n.captioning_solver.CaptioningSolver)"
                )

        # The params move to the device first: the optimiser holds the tensors it updates.
        for k, v in params.items():
            if v.device != self.device:
                params[k] = v.detach().to(self.device)
        self.optim = _optimizer(
            self.update_rule, list(params.values()), self.learning_rate, self.optim_config
        )
        self._reset()

    def _reset(self):
        """Bookkeeping; called by the constructor."""
        self.epoch = 0
        self.loss_history = []

    def _step(self):
        """One update on a random minibatch; appends the loss to ``loss_history``."""
        captions, features, _ = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train"
        )
        captions = torch.from_numpy(captions).long().to(self.device)
        features = torch.from_numpy(features).to(self.device)
        loss = self.model.loss(features, captions)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        self.loss_history.append(loss.item())

    def train(self):
        """Run the optimisation for ``num_epochs`` epochs (from ``self.epoch``); the params
        require gradients while it runs, and not afterwards."""
        params = list(self.model.params.values())
        held = [p for group in self.optim.param_groups for p in group["params"]]
        if len(params) != len(held) or any(p is not q for p, q in zip(params, held, strict=True)):
            raise ValueError(
                "CaptioningSolverPytorch: model.params were replaced after the solver was built; "
                "its optimiser would update the old tensors (build a new solver)"
            )
        for p in params:
            p.requires_grad_()
        try:
            run_training(self, self._learning_rate, self._decay_learning_rate)
        finally:
            for p in params:
                p.requires_grad_(False)

    def _learning_rate(self):
        return self.optim.param_groups[0]["lr"]

    def _decay_learning_rate(self):
        for group in self.optim.param_groups:
            group["lr"] *= self.lr_decay
