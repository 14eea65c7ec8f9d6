"""The diffusion job's settings and names, without PyTorch (the command line reads them at
start-up): the data sets, Fashion-MNIST's class names, the CPU-sized defaults and --quick's."""

from __future__ import annotations

import copy

DATASETS = ("emoji", "fashion-mnist")
# Fashion-MNIST's classes (Zalando's names), in label order.
FASHION_CLASSES = (
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
# cs231n.ddpm_trainer.LR_SCHEDULES, for the command line, which reads this file without
# importing PyTorch (a test checks that the two agree).
LR_SCHEDULES = ("constant", "cosine")
# CPU-sized, each measured on two idle cores (README). Fashion-MNIST: width 16 trains at
# ~2.5 steps/s (batch 64) and 2000 steps (13 minutes) give recognisable samples. The course's
# emoji model is width 48, trained 70000 steps of 256 on a GPU.
MODEL_DEFAULTS = {
    "dim": 16,
    "dim_mults": [1, 2, 4],
    "timesteps": 100,
    "objective": "pred_noise",
    "beta_schedule": "sigmoid",
    "uncond_prob": 0.2,
    "min_snr_gamma": None,  # None: the course's loss weighting
}
TRAIN_DEFAULTS = {
    "steps": 2000,
    "batch_size": 64,
    "lr": 1e-3,
    "lr_schedule": "constant",
    "save_every": 500,
    "sample_every": 1000,
}
MAX_CHANNELS = 4096  # dim x the largest of dim_mults (the course's model: 48 x 8 = 384)
MIN_SNR_GAMMA_RANGE = (1e-3, 1e6)  # Hang et al. use 5; below 1e-3 the weights all but vanish
# What each data set's default changes. Emoji (1963 images, a text each): a fourth level and
# more, smaller steps at a higher, falling rate; 1038 s here, faces recognisable, the rest
# only in colour (README, "Emoji at this budget").
DATASET_DEFAULTS = {
    "fashion-mnist": {},
    "emoji": {
        "dim_mults": [1, 2, 4, 8],
        "steps": 4000,
        "batch_size": 32,
        "lr": 2e-3,
        "lr_schedule": "cosine",
    },
}
# A smoke test of seconds: a tiny model, 20 steps, one 16-sample grid at the end.
QUICK = {
    "dim": 8,
    "dim_mults": [1, 2],
    "timesteps": 10,
    "steps": 20,
    "batch_size": 16,
    "save_every": 10,
    "sample_every": 10**9,
    "max_images": 256,
}


def defaults(dataset) -> tuple[dict, dict]:
    """The (model, training) defaults of ``dataset``: :data:`MODEL_DEFAULTS` and
    :data:`TRAIN_DEFAULTS` with the data set's changes (:data:`DATASET_DEFAULTS`); new dicts
    (and lists) each call."""
    if not isinstance(dataset, str) or dataset not in DATASET_DEFAULTS:
        raise ValueError(f"unknown data set {dataset!r}; choose {' or '.join(DATASETS)}")
    change = DATASET_DEFAULTS[dataset]
    model = {k: copy.deepcopy(change.get(k, v)) for k, v in MODEL_DEFAULTS.items()}
    training = {k: copy.deepcopy(change.get(k, v)) for k, v in TRAIN_DEFAULTS.items()}
    return model, training


NUM_SAMPLES = 16  # images in a run's sample grids
IMAGE_SIZE = 32


def fashion_class(name) -> int:
    """The label of a Fashion-MNIST class name (case-insensitive; "t-shirt" and "ankle-boot"
    also), or ValueError listing the classes."""
    key = str(name).strip().lower().replace("-", " ").replace("_", " ")
    aliases = {c.replace("-", " "): i for i, c in enumerate(FASHION_CLASSES)}
    aliases.update({"t shirt": 0, "tshirt": 0, "top": 0})
    if key not in aliases:
        raise ValueError(
            f"unknown Fashion-MNIST class {name!r}; the classes: {', '.join(FASHION_CLASSES)}"
        )
    return aliases[key]
