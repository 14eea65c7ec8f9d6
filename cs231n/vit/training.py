"""The Vision Transformer on Fashion-MNIST (or MNIST): the course's 2025 ViT experiment on the
images this project has, as functions (what ``cs231n vit train`` runs).

The course trains ``VisionTransformer`` on CIFAR-10 (32x32x3) for 2 epochs with
``ClassificationSolverViT``; here the images are 28x28x1, cut into ``patch_size`` patches
(7: 16 patches), and everything else is the course's: Adam 1e-4, no weight decay, batch 64,
6 encoder layers of width 128 with 4 heads, feed-forward 256, dropout 0.1.

A run saves after every epoch (atomically): ``NAME.pt`` (weights, Adam's state, results, the
random states: ``resume`` continues exactly), ``NAME.json`` (the settings and the results,
readable) and ``NAME_curve.png`` (loss and accuracy per epoch, training and test), holding
``NAME.lock`` meanwhile: the run is a :class:`ViTTrainer`, on :class:`cs231n.core.run.Trainer`.

Under torchrun (:mod:`cs231n.core.distributed`) the batch size is the global batch: each of W
processes trains on B / W images of it (the one-process epoch order, dealt out in turn by a
``GlobalOrderSampler``), the gradients are averaged before every Adam step, the training loss
and accuracy recorded are the global batch's, and every process tests on the whole test set.
Dropout masks are drawn per process (seeded from the seed, the epoch and the rank): with
dropout 0, and a training set whose size W divides, W processes give the one-process model up
to float rounding. Only rank 0 writes; ``NAME.json`` records ``world_size``. A resume under
another world size continues the data order, weights and Adam's state exactly (dropout masks
are drawn anew).
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import numpy as np

from ..core import distributed
from ..core.checkpoints import (
    check_cuda_rngs,
    check_model_size,
    check_optimizer_state,
    check_state,
    check_torch_rng,
)
from ..core.edition import edition_for, using_edition
from ..core.files import require_memory, save_figure
from ..core.run import Trainer
from ..data.mnist import load_mnist, torch_dataset

FORMAT = "cs231n-vit/1"
IMAGE_SIZE, CHANNELS, NUM_CLASSES = 28, 1, 10

# The model (VisionTransformer's keyword arguments) and the training, as the course's starter
# code sets them, with 7x7 patches of the 28x28 images.
MODEL_DEFAULTS = {
    "patch_size": 7,
    "embed_dim": 128,
    "num_layers": 6,
    "num_heads": 4,
    "dim_feedforward": 256,
    "dropout": 0.1,
}
TRAIN_DEFAULTS = {"num_epochs": 2, "batch_size": 64, "learning_rate": 1e-4, "weight_decay": 0.0}
# A smoke test (seconds on a CPU): a small model on the first 2000 images, 2 epochs at a larger
# learning rate, so that it learns something in its 64 steps.
QUICK = {
    "embed_dim": 32,
    "num_layers": 2,
    "num_heads": 2,
    "dim_feedforward": 64,
    "num_epochs": 2,
    "learning_rate": 1e-3,
    "max_images": 2000,
}


def load_vit_data(dataset="fashion-mnist", data_root=None, max_images=None):
    """``(train, test)`` TensorDatasets of (1, 28, 28) float images in [0, 1] and labels: the
    60000 training and 10000 test images of ``dataset`` ("fashion-mnist", "mnist" or a folder
    of IDX files), or the first ``max_images`` of each."""
    if max_images is not None and (int(max_images) != max_images or max_images < 1):
        raise ValueError(f"max_images must be a positive integer, got {max_images!r}")
    splits = []
    for split in ("train-all", "test"):
        images, labels = load_mnist(dataset, split, data_root)
        if max_images is not None:
            images, labels = images[:max_images], labels[:max_images]
        splits.append(torch_dataset(images, labels))
    return tuple(splits)


def vit_parameter_count(patch_size, embed_dim, num_layers, dim_feedforward, **_):
    """How many numbers the VisionTransformer for 28x28x1 images holds."""
    D, F, L = int(embed_dim), int(dim_feedforward), int(num_layers)
    patch = int(patch_size) ** 2 * CHANNELS
    per_layer = 4 * (D * D + D) + (D * F + F + F * D + D) + 2 * 2 * D
    return patch * D + D + L * per_layer + D * NUM_CLASSES + NUM_CLASSES


def vit_training_memory_bytes(config, batch_size):
    """A rough upper estimate of the memory training needs (float32): parameters, gradients,
    Adam's moments, and a minibatch's activations (attention maps included)."""
    P = (IMAGE_SIZE // int(config["patch_size"])) ** 2
    D, F, H = int(config["embed_dim"]), int(config["dim_feedforward"]), int(config["num_heads"])
    per_token = int(config["num_layers"]) * (12 * D + 3 * F + 3 * H * P)
    return 16 * vit_parameter_count(**config) + 4 * int(batch_size) * P * per_token


def require_training_memory(config, batch_size, what) -> None:
    """Raise ValueError naming ``what``, before any work, when training the ViT of ``config``
    with minibatches of ``batch_size`` would not fit in memory (the one check; the CLI's too)."""
    require_memory(vit_training_memory_bytes(config, batch_size), what)


def check_config(config):
    """Raise ValueError, naming the setting, unless ``config`` builds a VisionTransformer for
    28x28x1 images (positive sizes, patches that tile the image, heads dividing the width,
    dropout in [0, 1))."""
    for key in ("patch_size", "embed_dim", "num_layers", "num_heads", "dim_feedforward"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    if IMAGE_SIZE % config["patch_size"]:
        raise ValueError(
            f"patch_size {config['patch_size']} does not divide the {IMAGE_SIZE}x{IMAGE_SIZE} "
            "images (1, 2, 4, 7, 14 or 28)"
        )
    if config["embed_dim"] % config["num_heads"]:
        raise ValueError(
            f"embed_dim {config['embed_dim']} is not divisible by num_heads {config['num_heads']}"
        )
    dropout = config["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")


# What a checkpoint written before the edition setting holds, without saying so.
LEGACY_CHOICES = {"activation": "gelu", "flatten_order": "chw"}


def build_vit(config, seed=None, choices=None):
    """A VisionTransformer for 28x28x1 images and 10 classes with ``config``'s sizes
    (:data:`MODEL_DEFAULTS`' keys), seeded with ``seed`` when given. ``choices``: the
    edition-dependent ones ({"activation", "flatten_order"}, as a checkpoint records them);
    None: the edition in force decides."""
    import torch

    from ..classifiers.transformer import VisionTransformer

    check_config(config)
    if seed is not None:
        torch.manual_seed(seed)
    edition = contextlib.nullcontext()
    if choices is not None:
        edition = using_edition(edition_for(**{**LEGACY_CHOICES, **choices}))
    with edition:
        return VisionTransformer(
            img_size=IMAGE_SIZE,
            in_channels=CHANNELS,
            num_classes=NUM_CLASSES,
            **{k: config[k] for k in MODEL_DEFAULTS},
        )


def layer_choices(model) -> dict:
    """The edition's choices a built ViT holds ({"activation", "flatten_order"})."""
    from ..transformer_layers import edition_choices

    return edition_choices(model)


def train_vit(
    train_data,
    test_data,
    config=None,
    checkpoint=None,
    resume=False,
    seed=0,
    device=None,
    verbose=True,
    progress=False,
    extra=None,
    **training,
):
    """Train a VisionTransformer with ClassificationSolverViT, testing after every epoch.

    ``train_data``/``test_data``: datasets of ((1, 28, 28) image, label) pairs
    (:func:`load_vit_data`). ``config``: the model (:data:`MODEL_DEFAULTS` for what is left
    out); ``training``: num_epochs, batch_size, learning_rate, weight_decay
    (:data:`TRAIN_DEFAULTS`). ``seed`` seeds the weights, dropout and the shuffling. With
    ``checkpoint`` (a NAME), ``NAME.pt``, ``NAME.json`` and ``NAME_curve.png`` are written
    after every epoch, and ``resume`` continues from ``NAME.pt`` exactly as if the run had not
    stopped (with as many epochs in all as ``num_epochs``). ``extra`` (plain data) goes into
    both files. Returns ``(model, solver)``; ``solver.results`` holds the per-epoch losses and
    accuracies and ``best_test_acc``, ``solver.seconds`` the training time (that of the run
    resumed included).
    """
    unknown = set(training) - set(TRAIN_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}")
    config = {**MODEL_DEFAULTS, **(config or {})}
    unknown = set(config) - set(MODEL_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown model settings {sorted(unknown)}")
    check_config(config)
    if checkpoint is not None and seed is None:
        raise ValueError(
            "train_vit: a run with a checkpoint needs a seed (to resume its shuffling)"
        )
    hp = {**TRAIN_DEFAULTS, **training}
    require_training_memory(
        config,
        hp["batch_size"],
        f"a ViT with embed_dim={config['embed_dim']}, num_layers={config['num_layers']}, "
        f"patch_size={config['patch_size']}, batch_size={hp['batch_size']}",
    )
    run = ViTTrainer(
        checkpoint, train_data, test_data, config, hp, seed, device, verbose, progress, extra,
        resume,
    )  # fmt: skip
    run.train()
    run.solver.seconds = run.seconds  # training time, resumed too
    return run.model, run.solver


# What names the data of a run (the CLI's extra): a resume on other data is another run.
DATA_KEYS = ("dataset", "max_images")


def _data_identity(extra) -> dict:
    extra = extra if isinstance(extra, dict) else {}
    return {k: extra[k] for k in DATA_KEYS if k in extra}


class ViTTrainer(Trainer):
    """:func:`train_vit`'s run (:class:`cs231n.core.run.Trainer`): ClassificationSolverViT runs
    the epochs; after each, ``NAME.pt`` (everything an exact resume needs), then ``NAME.json``
    (the settings and results, readable) and ``NAME_curve.png``. ``name`` None: a run that
    writes nothing. The settings compared on resume are the model's, the training's (all but
    ``num_epochs``, which may grow) and the data's (``extra``'s dataset and max_images, when
    given); the seed is recorded but not compared."""

    config_file = None  # NAME.json records the settings, with the results
    may_change = ("num_epochs",)

    def __init__(
        self, name, train_data, test_data, config, hp, seed, device, verbose, progress, extra,
        resume,
    ):  # fmt: skip
        from ..classification_solver_vit import ClassificationSolverViT

        stem = checkpoint_path(name).with_suffix("") if name is not None else None
        super().__init__(
            stem,
            {**config, **hp, **_data_identity(extra)},
            hp["num_epochs"],
            resume=resume,
            results_folder=stem.parent if stem is not None else None,
        )
        self.model_config, self.hp, self.seed, self.extra = config, hp, seed, extra
        if device is None or distributed.launched():
            from ..core.torch_utils import resolve_device

            device = str(resolve_device(device))
        self.dist = ctx = distributed.setup(device)
        local_batch = ctx.local_batch_size(hp["batch_size"], "vit train")
        self.device = ctx.device
        self.model = build_vit(config, seed)
        # The edition in force decided these: a resume under another is another run.
        self.config.update(layer_choices(self.model))
        self.solver = ClassificationSolverViT(
            train_data,
            test_data,
            self.model,
            num_epochs=hp["num_epochs"],
            batch_size=hp["batch_size"],
            learning_rate=hp["learning_rate"],
            weight_decay=hp["weight_decay"],
            verbose=verbose and ctx.is_main,
            progress=progress and ctx.is_main,
            seed=seed,
        )
        self.seconds_before = self.seconds = 0.0
        if ctx.distributed:
            self._distribute(local_batch)

    def _distribute(self, local_batch):
        """The solver's training in several processes: its own part of each global batch, the
        gradients averaged before each step, the global batch's loss and accuracy recorded."""
        import torch

        ctx, solver = self.dist, self.solver
        sampler = ctx.sampler(solver.train_data, solver.generator, self.seed or 0)
        # The generator as the one-process loader has it: its draws (the loader's base seed,
        # then the epoch's order) are the same numbers in the same order.
        solver._train_loader = lambda: torch.utils.data.DataLoader(
            solver.train_data, batch_size=local_batch, sampler=sampler, generator=solver.generator
        )
        ctx.sync_optimizer(solver.optimizer)
        run_epoch = solver._run_epoch

        def run_epoch_everywhere(loader, device, training, label):
            if not training:  # every process tests on the whole test set
                return run_epoch(loader, device, training, label)
            sampler.set_epoch(solver.epoch)
            ctx.seed_torch(self.seed, "dropout", solver.epoch)  # masks differ across ranks
            return tuple(ctx.means(run_epoch(loader, device, training, label)))

        solver._run_epoch = run_epoch_everywhere

    @property
    def checkpoint_file(self):
        return checkpoint_path(self.output).name

    def fit(self):
        # The solver runs the epochs (its lines and bars count them against num_epochs), so the
        # checkpoint is written from its end-of-epoch hook rather than from Trainer.fit's loop.
        start = time.perf_counter()

        def end_of_epoch(solver):
            self.epoch = solver.epoch
            self.seconds = self.seconds_before + time.perf_counter() - start
            self.save()

        self.solver.on_epoch_end = end_of_epoch
        if self.dist.distributed:  # rank 0's weights everywhere (built or resumed alike)
            self.dist.broadcast(self.model.to(self.device))
        self.solver.train(device=self.device)
        self.seconds = self.seconds_before + time.perf_counter() - start

    def summary(self) -> dict:
        """What ``NAME.json`` holds (and ``NAME.pt`` with the state)."""
        return {
            "format": FORMAT,
            "config": self.model_config,
            "layers": layer_choices(self.model),
            "training": self.hp,
            "seed": self.seed,
            "world_size": self.dist.world_size,
            "epoch": self.solver.epoch,
            "seconds": self.seconds,
            "results": self.solver.results,
            "extra": self.extra or {},
        }

    def checkpoint(self):
        import torch

        solver = self.solver
        return {
            **self.summary(),
            "model_state": {k: v.detach().cpu() for k, v in solver.model.state_dict().items()},
            "optimizer": solver.optimizer.state_dict(),
            "generator_state": solver.generator.get_state(),
            "torch_rng_state": torch.get_rng_state(),
            "cuda_rng_states": (
                torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
            ),
        }

    def save(self, milestone=None):
        pt = super().save(milestone)
        if pt is not None:  # the main process: the readable summary and the curve beside it
            _, json_path, curve = output_paths(self.output)
            self.write_json(json_path.name, self.summary(), indent=2)
            plot_learning_curve(self.solver.results, curve)
        return pt

    def read_checkpoint(self, path):
        return load_vit_checkpoint(path)

    def saved_config(self, saved):
        # The data a run was trained on is compared when both runs name it (the CLI does).
        named = _data_identity(saved.get("extra"))
        data = {k: named.get(k, self.config[k]) for k in DATA_KEYS if k in self.config}
        layers = {**LEGACY_CHOICES, **saved.get("layers", {})}
        return {**saved["config"], **saved["training"], **layers, **data}

    def restore(self, saved, path):
        # Everything here was checked by load_vit_checkpoint (core.checkpoints).
        import torch

        solver = self.solver
        cuda = saved.get("cuda_rng_states") or []
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            try:
                torch.cuda.set_rng_state_all(cuda)
            except (RuntimeError, ValueError) as e:
                raise ValueError(
                    f"{path}: cuda_rng_states is not a CUDA random state ({e})"
                ) from None
        self.model.load_state_dict(saved["model_state"])
        solver.optimizer.load_state_dict(saved["optimizer"])
        solver.epoch = self.epoch = saved["epoch"]
        solver.results = saved["results"]
        solver.generator.set_state(saved["generator_state"])
        torch.set_rng_state(saved["torch_rng_state"])
        self.seconds_before = saved["seconds"]


# ----------------------------------------------------------------------------------------------
# Files


def checkpoint_path(name) -> Path:
    """``NAME.pt`` for ``NAME``, ``NAME.pt`` or ``NAME.json``."""
    name = Path(name)
    if name.suffix in (".pt", ".json"):
        name = name.with_suffix("")
    return name.with_name(name.name + ".pt")


def output_paths(name):
    """``(NAME.pt, NAME.json, NAME_curve.png)``: what a run writes."""
    pt = checkpoint_path(name)
    stem = pt.with_suffix("")
    return pt, stem.with_name(stem.name + ".json"), stem.with_name(stem.name + "_curve.png")


def load_vit_checkpoint(name) -> dict:
    """The contents of ``NAME.pt``, checked (:mod:`cs231n.core.checkpoints`) before anything
    is resumed from it; raises FileNotFoundError when it is missing and ValueError naming the
    file when it is damaged or inconsistent (a member whose CRC fails, not a ViT checkpoint,
    settings that build no model or one too large for this machine, checked before it is
    built; weights that do not fit them, integers where it has floats, or are not finite; an
    Adam state of other shapes or not finite; random states that cannot be restored)."""
    import torch

    from ..core.torch_utils import torch_load

    path = checkpoint_path(name)
    saved = torch_load(path, "ViT checkpoint")  # whole (every member's CRC), fits in memory
    keys = ("format", "config", "training", "epoch", "results", "seconds", "model_state")
    keys += ("optimizer",)
    keys += ("generator_state", "torch_rng_state")
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{path}: not a ViT checkpoint (format {found!r}, expected {FORMAT!r})")
    missing = [k for k in keys if k not in saved]
    if missing:
        raise ValueError(f"{path}: missing key {missing[0]!r}")
    config = saved["config"]
    if not isinstance(config, dict) or set(config) != set(MODEL_DEFAULTS):
        raise ValueError(f"{path}: config must hold {sorted(MODEL_DEFAULTS)}")
    if not isinstance(saved["training"], dict) or set(saved["training"]) != set(TRAIN_DEFAULTS):
        raise ValueError(f"{path}: training must hold {sorted(TRAIN_DEFAULTS)}")
    try:
        check_config(config)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    # The size its settings describe, before the model is built.
    check_model_size(path, vit_parameter_count(**config))
    epoch, results = saved["epoch"], saved["results"]
    lists = ("train_loss", "train_acc@1", "test_loss", "test_acc@1")
    if (
        isinstance(epoch, bool)
        or not isinstance(epoch, int)
        or epoch < 0
        or not isinstance(results, dict)
        or any(not isinstance(results.get(k), list) or len(results[k]) != epoch for k in lists)
        or not all(
            isinstance(x, int | float) and not isinstance(x, bool)
            for k in lists
            for x in results[k]
        )
    ):
        raise ValueError(
            f"{path}: epoch and results do not agree (one result per epoch, each a number)"
        )
    if not isinstance(saved["seconds"], int | float) or not math.isfinite(saved["seconds"]):
        raise ValueError(f"{path}: seconds must be a finite number")
    layers = saved.get("layers", LEGACY_CHOICES)
    if (
        not isinstance(layers, dict)
        or layers.get("activation", "gelu") not in ("gelu", "relu")
        or layers.get("flatten_order", "chw") not in ("chw", "hwc")
    ):
        raise ValueError(
            f'{path}: layers must name activation "gelu" or "relu" and flatten_order "chw" or '
            f'"hwc", got {layers!r}'
        )
    with torch.random.fork_rng(devices=[]):
        model = build_vit(config, choices=layers)
    # Every weight the model has, of its shape, floats, finite; Adam's state for them.
    state = saved["model_state"]
    check_state(path, state, model.state_dict(), "weight")
    model.load_state_dict(state)  # check_state made sure it fits
    check_optimizer_state(path, saved["optimizer"], list(model.named_parameters()))
    for key in ("generator_state", "torch_rng_state"):
        saved[key] = check_torch_rng(path, saved[key], key)
    saved["cuda_rng_states"] = check_cuda_rngs(path, saved.get("cuda_rng_states", []))
    saved["model"] = model.eval()
    return saved


def plot_learning_curve(results, path, title="Vision Transformer"):
    """Loss and accuracy per epoch, training and test, side by side (saved atomically)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5), dpi=100)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.arange(1, len(results["train_loss"]) + 1)
    for split, style in (("train", "-o"), ("test", "--s")):
        ax_loss.plot(epochs, results[f"{split}_loss"], style, label=split)
        ax_acc.plot(epochs, results[f"{split}_acc@1"], style, label=split)
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.set_ylabel("top-1 accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
        if len(epochs):
            ax.set_xticks(epochs if len(epochs) <= 10 else ax.get_xticks())
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
