"""The diffusion job's settings and names, without PyTorch (the command line reads them at
start-up): the data sets, Fashion-MNIST's class names, the CPU-sized defaults and --quick's."""

from __future__ import annotations

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
# CPU-sized: width 16 trains at ~2.2 steps/s on two idle cores (batch 64), and 1000 steps
# already give recognisable Fashion-MNIST samples; 2000 steps stay within ~16 minutes
# (README, measured). The course's emoji model is width 48, trained 70000 steps on a GPU.
MODEL_DEFAULTS = {
    "dim": 16,
    "dim_mults": [1, 2, 4],
    "timesteps": 100,
    "objective": "pred_noise",
    "beta_schedule": "sigmoid",
    "uncond_prob": 0.2,
}
TRAIN_DEFAULTS = {
    "steps": 2000,
    "batch_size": 64,
    "lr": 1e-3,
    "save_every": 500,
    "sample_every": 1000,
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
