"""SimCLR pretraining (what ``cs231n ssl train`` runs): the course's loss and training loop on
the images this machine has.

The course pretrains its ResNet-50 ``Model`` on CIFAR-10, which cannot be fetched here; a run
here uses Fashion-MNIST (Debian's ``dataset-fashion-mnist``, or ``cs231n data download
fashion-mnist``), a folder of images (one subfolder per class), or CIFAR-10 where it is present.
Each epoch is the course's :func:`cs231n.simclr.utils.train` (both views through the network,
:func:`~cs231n.simclr.contrastive_loss.simclr_loss_vectorized`, one Adam step a batch).

Augmentations (two views of every image):

- colour images (CIFAR-10, a folder): the course's ``compute_train_transform``: random resized
  crop to 32, flip, colour jitter (0.4, 0.4, 0.4, 0.1) with p 0.8, grey with p 0.2.
- grey images (Fashion-MNIST): crop (area 20-100%, not the course's 8%: an 8% crop of a 28-px
  image is a 8x8 patch of mostly background) to 32, flip, brightness and contrast jitter (0.4)
  with p 0.8. Saturation, hue and the grey conversion are left out: a grey image has no colour
  for them to change, so they would only spend random draws.

Models: ``arch`` "resnet50" with 3 channels is the course's ``Model`` (24.62 M parameters);
"resnet18" and "small" (ResNet with one BasicBlock per stage, ``width`` channels in the first,
0.44 M parameters at width 16) are built the same way: 3x3 stride-1 stem, no max-pool, no
classifier, a projection head Linear(D, 512, no bias), BatchNorm, ReLU, Linear(512,
feature_dim), and ``forward`` returning the normalised features and projection, like the
course's. "small" at 32 px is the CPU-sized default.

A run is a folder (:class:`SSLTrainer`, on :class:`cs231n.core.run.Trainer`): ``config.json``,
``checkpoint.pt`` after every epoch (weights, Adam's state, the shuffling generator and the
global random state: ``resume`` continues exactly), and at the end ``losses.json`` and
``loss.png``. The augmentations of an image are drawn from a stream seeded by the run's seed,
the epoch and the image's index (:func:`augmentation_seed`), not from the global stream, so
they do not depend on which process (or position in a batch) draws them.

Several processes (torchrun or ``--nproc N``; :mod:`cs231n.core.distributed`): the batch size
is the global batch, B / W pairs per process, dealt out in the one-process epoch order (a
``GlobalOrderSampler``; an epoch has the one-process number of batches, N // B). Each process
gathers every process's projections with their gradient (``all_gather_with_grad``) and takes
the course's loss over the gathered global batch, so the negatives of every pair are the other
2B - 2 views of the global batch and the loss is the one-process loss of the same embeddings
(up to float rounding; NT-Xent does not depend on the order of the pairs). The gather's backward
sums the W processes' gradients into each process's own rows (W times the global loss's
gradient), and the gradients are then averaged (all-reduce SUM, / W) before each Adam step: the
global batch's gradient. Batch normalisation: on CUDA the model's batch norms become
``SyncBatchNorm`` (the global batch's statistics) and W processes train the one-process model
up to float rounding. On CPUs PyTorch has no ``SyncBatchNorm``: each process normalises its
B / W views with their own statistics (the ResNet and the projection head both have batch
norm), so the run is not the one-process run number for number; it is like training with
per-device batch norm (as the SimCLR paper did before it synchronised it). At the end of each
epoch the processes' running means and variances are averaged, so every process holds, and
rank 0 saves, one model. Only rank 0 writes; ``config.json`` records ``world_size``, which a
resume may change: the weights, Adam's state, the data order and the augmentations carry over
exactly (on CPUs the batch norms' split then changes with W).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from pathlib import Path

import numpy as np

from ..core import distributed
from ..core.checkpoints import (
    check_model_size,
    check_optimizer_state,
    check_state,
    check_torch_rng,
)
from ..core.checks import number, whole_number
from ..core.config import data_path
from ..core.files import save_figure
from ..core.run import Trainer
from ..data import transforms as T
from ..data.mnist import load_mnist
from ..data_utils import load_CIFAR10

FORMAT = "cs231n-ssl/1"
ARCHS = ("small", "resnet18", "resnet50")
IMAGE_SIZE = 32
# Fashion-MNIST's training-set mean and standard deviation (pixels in [0, 1]).
FASHION_MEAN, FASHION_STD = (0.2860,), (0.3530,)
# The course's CIFAR-10 normalisation (cs231n/simclr/data_utils.py), for colour images.
COLOUR_MEAN, COLOUR_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}

# The CPU-sized default: a small ResNet (width 16, 0.44 M parameters) on 20000 images, 10 epochs
# of 156 batches: 680 s on two idle cores (README, measured). 10000 images x 4 epochs (160 s)
# gave a linear probe below the raw pixels' (77.0% vs 77.6%); this one beats them (81.9% vs 79.9%).
DEFAULTS = {
    "dataset": "fashion-mnist",
    "max_images": 20000,
    "arch": "small",
    "width": 16,
    "feature_dim": 128,
    "epochs": 10,
    "batch_size": 128,
    "temperature": 0.5,
    "lr": 1e-3,
    "weight_decay": 1e-6,
}
# The course's configuration (self_supervised_learning.ipynb): ResNet-50, batch 64, tau 0.5,
# Adam 1e-3 with weight decay 1e-6, feature_dim 128, every training image.
COURSE = {
    "arch": "resnet50",
    "width": 64,
    "feature_dim": 128,
    "batch_size": 64,
    "temperature": 0.5,
    "lr": 1e-3,
    "weight_decay": 1e-6,
    "max_images": None,
}
# Seconds, not minutes: a tiny network on 1024 images, 2 epochs.
QUICK = {"max_images": 1024, "width": 8, "epochs": 2, "batch_size": 128}


def check_config(config) -> None:
    """Raise ValueError, naming the setting, unless ``config`` (:data:`DEFAULTS`' keys) is a
    run this module can train: a known arch, positive sizes, a batch of at least 2 (one pair
    has no negatives), a temperature and learning rate > 0, weight decay >= 0, and at least one
    batch of images."""
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    if config["arch"] not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {config['arch']!r}")
    whole_number("ssl", "width", config["width"], 1, 4096)
    whole_number("ssl", "feature_dim", config["feature_dim"], 1, 65536)
    whole_number("ssl", "epochs", config["epochs"], 1)
    whole_number("ssl", "batch_size", config["batch_size"], 2)
    number("ssl", "temperature", config["temperature"], 0, low_inclusive=False)
    number("ssl", "lr", config["lr"], 0, low_inclusive=False)
    number("ssl", "weight_decay", config["weight_decay"], 0)
    if config["max_images"] is not None:
        whole_number("ssl", "max_images", config["max_images"], 2)
        if config["max_images"] < config["batch_size"]:
            raise ValueError(
                f"max_images {config['max_images']} is smaller than batch_size "
                f"{config['batch_size']}: an epoch would hold no full batch"
            )


# ----------------------------------------------------------------------------------------------
# Data


def _read_folder(folder: Path):
    """(images (N, 32, 32, 3) uint8, labels, class names) of an image folder: one subfolder per
    class (labels in sorted order), or images directly inside (one class)."""
    from PIL import Image, UnidentifiedImageError

    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(i, folder / c) for i, c in enumerate(classes)] or [(0, folder)]
    images, labels = [], []
    for label, sub in groups:
        for path in sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith(".")):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(
                    f"{path}: not an image (extension {path.suffix or 'none'}; expected one of "
                    f"{', '.join(sorted(IMAGE_SUFFIXES))})"
                )
            try:
                with Image.open(path) as img:
                    img = img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
                    images.append(np.asarray(img, dtype=np.uint8))
            except (UnidentifiedImageError, OSError) as e:
                raise ValueError(f"{path}: not a readable image ({e})") from None
            labels.append(label)
    if not images:
        raise ValueError(f"{folder}: no images found (expected image files, one folder per class)")
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes or [folder.name]


def load_ssl_data(dataset="fashion-mnist", data_root=None, max_images=None, seed=0):
    """``(train, test, info)``: ``train`` and ``test`` are ``(images, labels)`` with images
    (N, H, W) uint8 (grey) or (N, H, W, 3) uint8 (colour); ``info`` says ``channels``,
    ``classes`` and what was read.

    ``dataset``: "fashion-mnist" (60000 training and 10000 test images), "cifar10" (the
    course's data, where present in the data directory), or a folder of images (one subfolder
    per class; 80% training and 20% test, split at random with ``seed``). ``max_images``: the
    first N training images (and at most N test images). Errors name the folder or file: an
    empty folder, a file that is not an image.
    """
    if dataset == "fashion-mnist":
        train = load_mnist("fashion-mnist", "train-all", data_root)
        test = load_mnist("fashion-mnist", "test", data_root)
        info = {"channels": 1, "classes": 10}
    elif dataset == "cifar10":
        Xtr, Ytr, Xte, Yte = load_CIFAR10(data_path("cifar-10-batches-py", data_root=data_root))
        train, test = (Xtr.astype(np.uint8), Ytr), (Xte.astype(np.uint8), Yte)
        info = {"channels": 3, "classes": 10}
    else:
        images, labels, classes = _read_folder(Path(dataset).expanduser())
        order = np.random.default_rng(seed).permutation(len(images))
        cut = max(1, int(round(0.8 * len(images)))) if len(images) > 1 else 1
        train = (images[order[:cut]], labels[order[:cut]])
        rest = order[cut:] if len(order) > cut else order[:cut]
        test = (images[rest], labels[rest])
        info = {"channels": 3, "classes": len(classes)}
    if max_images is not None:
        train = (train[0][:max_images], train[1][:max_images])
        test = (test[0][:max_images], test[1][:max_images])
    info.update(train_images=len(train[0]), test_images=len(test[0]))
    return (
        (train[0], np.asarray(train[1], np.int64)),
        (test[0], np.asarray(test[1], np.int64)),
        info,
    )


def train_transform(channels):
    """The augmentation of one view (see the module's docstring for why grey images get less)."""
    if channels == 3:
        return T.Compose(
            [
                T.RandomResizedCrop(IMAGE_SIZE),
                T.RandomHorizontalFlip(p=0.5),
                T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                T.RandomGrayscale(p=0.2),
                T.ToTensor(),
                T.Normalize(COLOUR_MEAN, COLOUR_STD),
            ]
        )
    return T.Compose(
        [
            T.RandomResizedCrop(IMAGE_SIZE, scale=(0.2, 1.0)),
            T.RandomHorizontalFlip(p=0.5),
            T.RandomApply([T.ColorJitter(brightness=0.4, contrast=0.4)], p=0.8),
            T.ToTensor(),
            T.Normalize(FASHION_MEAN, FASHION_STD),
        ]
    )


def eval_transform(channels):
    """No augmentation: resized to 32x32, normalised as for training."""
    mean, std = (COLOUR_MEAN, COLOUR_STD) if channels == 3 else (FASHION_MEAN, FASHION_STD)
    return T.Compose([T.Resize(IMAGE_SIZE), T.ToTensor(), T.Normalize(mean, std)])


def augmentation_seed(seed, epoch, index) -> int:
    """The seed of image ``index``'s augmentations in ``epoch`` of a run seeded ``seed``: the
    same in every process and at every position of a batch."""
    text = f"{seed}/augment/{epoch}/{index}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


class ImageSet:
    """A torch-style dataset over uint8 images: ``pair`` gives ``(x_i, x_j, label)`` (two
    views, as the course's ``CIFAR10Pair``), else ``(x, label)``.

    ``seed``: None draws the augmentations from the global random stream; a number draws
    image ``index``'s from a stream of its own, :func:`augmentation_seed` (``seed``,
    ``epoch``, ``index``), leaving the global stream as it was (set ``epoch`` each epoch)."""

    def __init__(self, images, labels, transform, pair=False, seed=None):
        self.images, self.targets = images, [int(y) for y in labels]
        self.transform, self.pair = transform, pair
        self.seed, self.epoch = seed, 0

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        if self.seed is None:
            return self._item(index)
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(augmentation_seed(self.seed, self.epoch, index))
            return self._item(index)

    def _item(self, index):
        from PIL import Image

        img = Image.fromarray(self.images[index])
        if self.pair:
            return self.transform(img), self.transform(img), self.targets[index]
        return self.transform(img), self.targets[index]


class _Batches:
    """The first ``count`` batches of ``loader`` (an epoch of several processes has the
    one-process number of batches, though a padded sampler could give one more)."""

    def __init__(self, loader, count):
        self.loader, self.count = loader, count

    def __len__(self):
        return self.count

    def __iter__(self):
        return itertools.islice(iter(self.loader), self.count)


def _gathering(model, ctx):
    """``model`` whose projections are every process's, gathered with their gradient (the
    global batch's negatives); the model itself in one process."""
    if not ctx.distributed:
        return model
    from torch import nn

    class Gathering(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            feature, out = self.model(x)
            return feature, ctx.all_gather_with_grad(out)

    return Gathering()


def _average_batchnorm_statistics(model, ctx):
    """Every process's batch norms' running means and variances, averaged over the processes
    (CPU runs, which have no SyncBatchNorm): one model on every process."""
    from torch import nn

    ctx.average_tensors(
        [
            t
            for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
            for t in (m.running_mean, m.running_var)
        ]
    )


# ----------------------------------------------------------------------------------------------
# Models


def build_encoder(arch, width=64, in_channels=3):
    """``(f, D)``: the encoder (nn.Sequential of a ResNet's children with a 3x3 stride-1 stem,
    no max-pool, no classifier; ending in average pooling) and its feature size D."""
    from torch import nn

    from ..pretrained.resnet import BasicBlock, ResNet, resnet18, resnet50

    if arch == "small":
        net = ResNet(BasicBlock, [1, 1, 1, 1], in_channels=in_channels, base_width=width)
    elif arch == "resnet18":
        net = resnet18(in_channels=in_channels)
    else:
        net = resnet50(in_channels=in_channels)
    f = []
    for name, module in net.named_children():
        if name == "conv1":
            module = nn.Conv2d(in_channels, module.out_channels, 3, 1, 1, bias=False)
        if not isinstance(module, nn.Linear | nn.MaxPool2d):
            f.append(module)
    return nn.Sequential(*f), net.fc.in_features


def build_model(config, in_channels, seed=None):
    """The SimCLR network of ``config``: the course's ``Model`` for "resnet50" on colour images,
    otherwise the same design around :func:`build_encoder`'s encoder (``f``, ``g``,
    ``forward`` -> (normalised features, normalised projection)). Seeded when ``seed`` given."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from ..simclr.model import Model

    if seed is not None:
        torch.manual_seed(seed)
    if config["arch"] == "resnet50" and in_channels == 3:
        return Model(config["feature_dim"])

    class SimCLRNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.f, dim = build_encoder(config["arch"], config["width"], in_channels)
            self.g = nn.Sequential(
                nn.Linear(dim, 512, bias=False),
                nn.BatchNorm1d(512),
                nn.ReLU(inplace=True),
                nn.Linear(512, config["feature_dim"], bias=True),
            )

        def forward(self, x):
            feature = torch.flatten(self.f(x), start_dim=1)
            return F.normalize(feature, dim=-1), F.normalize(self.g(feature), dim=-1)

    return SimCLRNet()


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------------------------
# The run


class SSLTrainer(Trainer):
    """A SimCLR pretraining run in the folder ``output`` (see the module's docstring).

    ``train``: ``(images, labels)`` (labels unused in training); ``config``: :data:`DEFAULTS`'
    keys; ``channels``: 1 or 3. The settings compared on resume are all of ``config`` but
    ``epochs`` (which may grow) and ``world_size`` (the number of processes, recorded in
    ``config.json``); the seed is recorded. Under torchrun, see the module's docstring."""

    restart_hint = "use --restart to start over, or choose another -o"
    may_change = ("epochs", "world_size")

    def __init__(self, output, train, config, channels, *, seed=0, device=None, resume=False,
                 progress=False):  # fmt: skip
        import torch

        from ..core.torch_utils import resolve_device

        check_config(config)
        self.dist = ctx = distributed.setup(str(resolve_device(device)))
        self.local_batch = ctx.local_batch_size(config["batch_size"], "ssl train")
        if self.local_batch < 2 and ctx.backend != "nccl":
            # Each process's batch norms normalise its own views: one view has no statistics.
            raise ValueError(
                f"ssl train: batch size {config['batch_size']} gives {self.local_batch} pair "
                f"to each of {ctx.world_size} processes; batch norm (per process on CPUs) "
                f"needs at least 2: use a batch size of at least {2 * ctx.world_size}"
            )
        super().__init__(
            output, {**config, "world_size": ctx.world_size}, config["epochs"], resume=resume
        )
        self.channels, self.seed, self.progress = channels, seed, progress and ctx.is_main
        self.device = torch.device(ctx.device)
        model = build_model(config, channels, seed)
        self.model = ctx.sync_batchnorm(model).to(self.device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
        )
        ctx.sync_optimizer(self.optimizer)
        self.generator = torch.Generator().manual_seed(seed)
        self.data = ImageSet(train[0], train[1], train_transform(channels), pair=True, seed=seed)
        self.losses, self.seconds = [], 0.0

    def fit(self):
        self.dist.broadcast(self.model)  # rank 0's weights everywhere (built or resumed alike)
        super().fit()

    def train_epoch(self):
        import torch

        from ..simclr.utils import train as simclr_train

        ctx, batch = self.dist, self.config["batch_size"]
        self.data.epoch = self.epoch
        # One process: the loader shuffles with the run's generator. Several: the same order
        # (the same generator's draws, on every process) dealt out, B / W pairs each.
        sampler = ctx.sampler(self.data, self.generator, self.seed)
        if sampler is not None:
            sampler.set_epoch(self.epoch)
        loader = torch.utils.data.DataLoader(
            self.data,
            batch_size=self.local_batch,
            shuffle=sampler is None,
            sampler=sampler,
            drop_last=True,
            generator=self.generator,
        )
        start = time.perf_counter()
        loss = simclr_train(
            _gathering(self.model, ctx),
            # The one-process loader runs to its end: its sampler's last (empty) draw from
            # the generator is part of the order's stream, which the dealt-out order repeats.
            _Batches(loader, len(self.data) // batch) if sampler is not None else loader,
            self.optimizer,
            self.epoch + 1,
            self.epochs,
            batch_size=batch,
            temperature=self.config["temperature"],
            device=self.device,
            progress=self.progress,
        )
        if self.dist.backend != "nccl":
            _average_batchnorm_statistics(self.model, ctx)
        self.seconds += time.perf_counter() - start
        self.losses.append(loss)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the loss became {loss} at epoch {self.epoch + 1}: lower the learning rate"
            )

    def checkpoint(self):
        import torch

        return {
            "format": FORMAT,
            "config": {k: self.config[k] for k in DEFAULTS},
            "world_size": self.dist.world_size,
            "channels": self.channels,
            "seed": self.seed,
            "epoch": self.epoch + 0,
            "losses": list(self.losses),
            "seconds": self.seconds,
            "model_state": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "generator_state": self.generator.get_state(),
            "torch_rng_state": torch.get_rng_state(),
        }

    def read_checkpoint(self, path):
        return load_checkpoint(path)

    def saved_config(self, saved):
        return {**saved["config"], "world_size": saved.get("world_size", 1)}

    def restore(self, saved, path):
        import torch

        self.model.load_state_dict(saved["model_state"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.generator.set_state(saved["generator_state"])
        torch.set_rng_state(saved["torch_rng_state"])
        self.epoch, self.losses, self.seconds = saved["epoch"], saved["losses"], saved["seconds"]

    def finish(self):
        if not self.writes:
            return
        self.write_losses({"loss": self.losses, "seconds": self.seconds})
        plot_losses(self.losses, self.path("loss.png"))


def load_checkpoint(path) -> dict:
    """A run's ``checkpoint.pt``, checked before anything is built from it (ValueError naming
    the file: not an SSL checkpoint, settings that build no model, weights or Adam's state that
    do not fit them or are not finite, random states that cannot be restored); ``saved["model"]``
    is the network with its weights, in eval mode."""
    import torch

    from ..core.torch_utils import torch_load

    path = Path(path)
    saved = torch_load(path, "SSL checkpoint")
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{path}: not an SSL checkpoint (format {found!r}, expected {FORMAT!r})")
    keys = ("config", "channels", "seed", "epoch", "losses", "seconds", "model_state")
    keys += ("optimizer", "generator_state", "torch_rng_state")
    missing = [k for k in keys if k not in saved]
    if missing:
        raise ValueError(f"{path}: missing key {missing[0]!r}")
    config = saved["config"]
    try:
        if not isinstance(config, dict) or set(config) != set(DEFAULTS):
            raise ValueError(f"config must hold {sorted(DEFAULTS)}")
        check_config(config)
        if saved["channels"] not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {saved['channels']!r}")
        epoch, losses = saved["epoch"], saved["losses"]
        if (
            isinstance(epoch, bool)
            or not isinstance(epoch, int)
            or epoch < 0
            or not isinstance(losses, list)
            or len(losses) != epoch
            or not all(isinstance(x, float) and math.isfinite(x) for x in losses)
        ):
            raise ValueError("epoch and losses do not agree (one finite loss per epoch)")
        if not isinstance(saved["seconds"], int | float) or not math.isfinite(saved["seconds"]):
            raise ValueError("seconds must be a finite number")
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    with torch.random.fork_rng(devices=[]):
        model = build_model(config, saved["channels"])
    check_model_size(path, parameter_count(model))
    check_state(path, saved["model_state"], model.state_dict(), "weight")
    model.load_state_dict(saved["model_state"])
    check_optimizer_state(path, saved["optimizer"], list(model.named_parameters()))
    for key in ("generator_state", "torch_rng_state"):
        saved[key] = check_torch_rng(path, saved[key], key)
    saved["model"] = model.eval()
    return saved


def plot_losses(losses, path):
    """The contrastive loss per epoch (saved atomically)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), dpi=100)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), losses, "-o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("contrastive loss (NT-Xent)")
    ax.grid(True, alpha=0.3)
    ax.set_title("SimCLR pretraining")
    fig.tight_layout()
    return save_figure(fig, path)


def train_ssl(output, config=None, *, data_root=None, seed=0, device=None, resume=False,
              progress=False, data=None):  # fmt: skip
    """Pretrain (or continue) the run in the folder ``output`` with ``config`` (missing keys
    from :data:`DEFAULTS`); ``data``: ``(train, test, info)`` already loaded (else read with
    :func:`load_ssl_data`). Returns the :class:`SSLTrainer` (its ``model``, ``losses``,
    ``seconds``)."""
    config = {**DEFAULTS, **(config or {})}
    check_config(config)
    if data is None:
        data = load_ssl_data(config["dataset"], data_root, config["max_images"], seed)
    train, _, info = data
    if len(train[0]) < config["batch_size"]:
        raise ValueError(
            f"{config['dataset']}: {len(train[0])} training images, fewer than batch_size "
            f"{config['batch_size']}"
        )
    run = SSLTrainer(output, train, config, info["channels"], seed=seed, device=device,
                     resume=resume, progress=progress)  # fmt: skip
    run.train()
    return run
