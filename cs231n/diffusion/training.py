"""Training the course's DDPM here: text-conditioned on emoji, class-conditioned on
Fashion-MNIST (``cs231n diffusion train``).

A run folder holds ``config.json`` (the data, the model's shape and the training settings;
the sampler rebuilds the model from it), ``model.pt`` (the latest checkpoint: weights,
optimiser, step and random state, so ``resume`` continues exactly), ``model-STEP.pt``
milestones, ``sample-STEP.png`` grids, ``losses.json`` and, at the end, ``samples.png``.
The run itself is the course's :class:`cs231n.ddpm_trainer.Trainer` (on the project's
:class:`cs231n.core.run.Trainer`): locked folder, atomic checkpoints, refused resumes.

The data:

- ``emoji``: the course's emoji (``emoji_data.npz``) when in the data directory, else the
  offline set rendered from Noto Color Emoji (:mod:`cs231n.data.emoji`), conditioned on the
  course's CLIP text embeddings (512 numbers per text);
- ``fashion-mnist``: the 60000 training images padded to 32x32, one channel, conditioned on a
  one-hot label (10 numbers) in the text embedding's place: the U-Net's condition MLP learns
  the label embedding. The all-zero condition is "no label", as for text.

The defaults are CPU-sized, per data set (:func:`~cs231n.diffusion.settings.defaults`: a
U-Net of width 16, 100 diffusion steps as the course's emoji model; 3 levels for Fashion-MNIST,
4 for emoji); :data:`QUICK` is a smoke test of seconds.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import torch

from ..core.checks import number, whole_number
from ..core.config import data_path
from ..data.mnist import load_mnist
from ..ddpm_trainer import Trainer, save_image_grid
from ..emoji_dataset import EmojiDataset, TextEmbedder, unknown_text_message
from ..gaussian_diffusion import BETA_SCHEDULES, OBJECTIVES, GaussianDiffusion
from ..unet import Unet
from .settings import (
    DATASETS,
    FASHION_CLASSES,
    IMAGE_SIZE,
    MAX_CHANNELS,
    MIN_SNR_GAMMA_RANGE,
    MODEL_DEFAULTS,
    NUM_SAMPLES,
    defaults,
    fashion_class,
)


class ConditionalImages(torch.utils.data.Dataset):
    """Images with one condition vector each, held as tensors: items like the course's
    EmojiDataset's, ``(image (C, S, S) in [0, 1], {"text_emb": (D,), "text": name})``, and
    :meth:`batch` for whole batches without a loop over items."""

    def __init__(self, images, conditions, names):
        if not len(images) == len(conditions) == len(names):
            raise ValueError(
                f"{len(images)} images, {len(conditions)} conditions and {len(names)} names"
            )
        self.images, self.conditions, self.names = images, conditions, list(names)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], {"text_emb": self.conditions[i], "text": self.names[i]}

    def batch(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        names = [self.names[i] for i in indices]
        return self.images[idx], {"text_emb": self.conditions[idx], "text": names}

    def random_model_kwargs(self, n):
        # NumPy's generator, as the course's dataset: its state is in the checkpoint.
        return self.batch(np.random.choice(len(self), n).tolist())[1]


def load_data(dataset, data_root=None, max_images=None):
    """The training set of ``dataset`` ("emoji" or "fashion-mnist") and its condition size."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; choose {' or '.join(DATASETS)}")
    if dataset == "fashion-mnist":
        images, labels = load_mnist("fashion-mnist", "train-all", data_root)
        if max_images:
            images, labels = images[:max_images], labels[:max_images]
        x = torch.from_numpy(np.pad(images, ((0, 0), (2, 2), (2, 2)))).float().div(255)
        cond = torch.nn.functional.one_hot(torch.from_numpy(labels.astype(np.int64)), 10)
        names = [FASHION_CLASSES[k] for k in labels]
        return ConditionalImages(x[:, None], cond.float(), names), 10
    ds = EmojiDataset(
        IMAGE_SIZE,
        data_path=data_path("emoji_data.npz", data_root=data_root),
        text_emb_path=data_path("text_embeddings.pt", data_root=data_root),
    )
    if ds.source == "noto":  # one image and one text each: hold them as tensors
        np.random.seed(0)
        items = [ds[i] for i in range(len(ds) if not max_images else min(max_images, len(ds)))]
        images = torch.stack([img for img, _ in items])
        conds = torch.stack([kw["text_emb"] for _, kw in items])
        return ConditionalImages(images, conds, [kw["text"] for _, kw in items]), 512
    if max_images:
        ds.data = ds.data[:max_images]
    return ds, 512


def check_model_config(model) -> dict:
    """The model settings (:data:`~cs231n.diffusion.settings.MODEL_DEFAULTS`' keys, and the
    data's ``condition_dim``, ``channels``, ``image_size``), checked: ValueError naming the
    setting, its value and what it may be."""
    f = "diffusion"
    unknown = sorted(set(model) - set(MODEL_DEFAULTS) - {"condition_dim", "channels", "image_size"})
    if unknown:
        raise ValueError(f"{f}: unknown model settings {unknown}; known: {sorted(MODEL_DEFAULTS)}")
    out = dict(model)
    out["dim"] = whole_number(f, "dim", model["dim"], 4, 1024)
    given = model["dim_mults"]
    mults = list(given) if isinstance(given, list | tuple) else []
    if not mults or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mults):
        raise ValueError(f"{f}: dim_mults must be a list of positive integers, got {given!r}")
    if out["dim"] * max(mults) > MAX_CHANNELS:
        raise ValueError(
            f"{f}: dim x dim_mults must stay within {MAX_CHANNELS} channels, got "
            f"{out['dim']} x {max(mults)} = {out['dim'] * max(mults)}"
        )
    if IMAGE_SIZE % 2 ** len(mults):
        raise ValueError(
            f"{f}: image size {IMAGE_SIZE} is not divisible by {2 ** len(mults)} "
            f"({len(mults)} downsamplings); use at most {int(np.log2(IMAGE_SIZE))} levels"
        )
    out["dim_mults"] = mults
    if model.get("min_snr_gamma") is not None:  # None: the course's weighting
        out["min_snr_gamma"] = check_min_snr_gamma(model["min_snr_gamma"])
    out["timesteps"] = whole_number(f, "timesteps", model["timesteps"], 1, 100000)
    if model["objective"] not in OBJECTIVES:
        raise ValueError(f"{f}: objective must be one of {', '.join(OBJECTIVES)}")
    if model["beta_schedule"] not in BETA_SCHEDULES:
        raise ValueError(f"{f}: beta_schedule must be one of {', '.join(BETA_SCHEDULES)}")
    return out


def build_diffusion(config) -> GaussianDiffusion:
    """The run's diffusion model, from its ``config.json`` settings (fresh weights)."""
    m = config["model"]
    unet = Unet(
        dim=m["dim"],
        condition_dim=m["condition_dim"],
        dim_mults=tuple(m["dim_mults"]),
        channels=m["channels"],
        uncond_prob=m["uncond_prob"],
    )
    diffusion = GaussianDiffusion(
        unet,
        image_size=m["image_size"],
        timesteps=m["timesteps"],
        objective=m["objective"],
        beta_schedule=m["beta_schedule"],
    )
    if m.get("min_snr_gamma") is not None:
        min_snr_weighting(diffusion, m["min_snr_gamma"])
    return diffusion


def check_min_snr_gamma(gamma) -> float:
    """``gamma`` as a float in :data:`~cs231n.diffusion.settings.MIN_SNR_GAMMA_RANGE`, else
    ValueError naming the range."""
    low, high = MIN_SNR_GAMMA_RANGE
    return number("diffusion", "min_snr_gamma", gamma, low, high)


def min_snr_weighting(diffusion, gamma):
    """Set ``diffusion.loss_weight`` to Min-SNR-gamma weighting (Hang et al. 2023, "Efficient
    Diffusion Training via Min-SNR Weighting Strategy"; lucidrains' ``min_snr_loss_weight``):
    each step's loss weight as if the x0 error were weighted by min(SNR, gamma) instead of SNR,
    i.e. min(SNR, gamma) / SNR for noise prediction and min(SNR, gamma) for x0 prediction.
    The nearly noise-free steps, easy and many, then weigh less than the noisy ones, which
    decide an image's shape. Beyond the course (which weighs every step alike)."""
    gamma = check_min_snr_gamma(gamma)
    ac = diffusion.alphas_cumprod
    snr = ac / (1 - ac)
    clipped = snr.clamp(max=gamma)
    weight = clipped / snr if diffusion.objective == "pred_noise" else clipped
    diffusion.loss_weight.copy_(weight.to(diffusion.loss_weight.dtype))
    return diffusion


class DiffusionRun(Trainer):
    """The course's Trainer with the data and the model's shape in the run's settings (so a
    resume with another shape is refused, naming it) and a final ``samples.png``."""

    restart_hint = "use --restart to start over, or choose another -o"
    # runs saved before these settings: the course's weighting
    added_settings = {**Trainer.added_settings, "model.min_snr_gamma": None}

    def __init__(self, run_dir, dataset, diffusion, data_config, model_config, **kwargs):
        super().__init__(diffusion, dataset, kwargs.pop("device"), results_folder=run_dir, **kwargs)
        self.config.update({"data": data_config, "model": model_config})

    def finish(self):
        super().finish()
        self.write_sample_grid(self.path("samples.png"))


def train(
    run_dir,
    dataset="emoji",
    *,
    model=None,
    steps=None,
    batch_size=None,
    lr=None,
    lr_schedule=None,
    save_every=None,
    sample_every=None,
    max_images=None,
    seed=0,
    device=None,
    resume=True,
    data_root=None,
    callback=None,
):
    """Train (or continue) a DDPM run in ``run_dir`` on ``dataset``; ``model``: settings over
    the data set's defaults (:func:`~cs231n.diffusion.settings.defaults`), as are the training
    settings left None. Returns the trainer (``history``: every step's loss)."""
    from ..core.torch_utils import resolve_device

    device = resolve_device(device)
    model_defaults, train_defaults = defaults(dataset)
    model = check_model_config({**model_defaults, **(model or {})})
    given = dict(
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        lr_schedule=lr_schedule,
        save_every=save_every,
        sample_every=sample_every,
    )
    hp = {k: train_defaults[k] if v is None else v for k, v in given.items()}
    data, condition_dim = load_data(dataset, data_root, max_images)
    model.update(
        condition_dim=condition_dim,
        channels=1 if dataset == "fashion-mnist" else 3,
        image_size=IMAGE_SIZE,
    )
    source = getattr(data, "source", "noto") if dataset == "emoji" else "idx"
    data_config = {"dataset": dataset, "source": source, "num_images": len(data)}
    torch.manual_seed(seed)
    diffusion = build_diffusion({"model": model})
    trainer = DiffusionRun(
        run_dir,
        data,
        diffusion,
        data_config,
        model,
        device=device,
        train_batch_size=hp["batch_size"],
        train_lr=hp["lr"],
        lr_schedule=hp["lr_schedule"],
        train_num_steps=hp["steps"],
        sample_every=hp["sample_every"],
        save_every=hp["save_every"],
        seed=seed,
        resume=resume,
        callback=callback,
        num_samples=NUM_SAMPLES,
    )
    trainer.train()
    return trainer


def load_run(run_dir, device=None):
    """A trained run: (diffusion model in eval mode, its config). ValueError naming the file
    when the folder holds no run or a checkpoint that does not fit its settings."""
    from ..core.torch_utils import resolve_device, torch_load

    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{run_dir}: not a diffusion run (no config.json)")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if "model" not in config or "data" not in config:
        raise ValueError(f"{config_path}: not a diffusion run's settings (no model or data)")
    device = resolve_device(device)
    diffusion = build_diffusion(config)
    path = run_dir / Trainer.checkpoint_file
    saved = torch_load(path, "checkpoint", map_location=device)
    try:
        diffusion.load_state_dict(saved["model"])
    except (KeyError, RuntimeError) as e:
        raise ValueError(f"{path}: does not fit the model of {config_path} ({e})") from None
    return diffusion.to(device).eval(), config


@functools.lru_cache(maxsize=2)
def _text_embedder(path):
    # loaded once per file: `sample` asks for several prompts' conditions in a row
    embedder = TextEmbedder()
    embedder.load_processed(path)
    return embedder


def condition(config, prompt=None, class_name=None, data_root=None):
    """The condition vector of a prompt (emoji runs) or class (Fashion-MNIST runs), (D,);
    ValueError for an unknown one (listing near matches or the classes) or the wrong kind."""
    dataset = config["data"]["dataset"]
    if (prompt is None) == (class_name is None):
        raise ValueError("give a --prompt (emoji runs) or a --class (Fashion-MNIST runs)")
    if dataset == "fashion-mnist":
        if class_name is None:
            raise ValueError("a Fashion-MNIST run is conditioned on a --class, not a --prompt")
        return torch.nn.functional.one_hot(torch.tensor(fashion_class(class_name)), 10).float()
    if prompt is None:
        raise ValueError("an emoji run is conditioned on a --prompt, not a --class")
    embedder = _text_embedder(str(data_path("text_embeddings.pt", data_root=data_root)))
    mapping = embedder.loaded["idx_mapping"]
    if prompt not in mapping:
        raise ValueError(unknown_text_message(prompt, mapping))
    return embedder.embed(text=prompt)


def save_grid(images, path, nrow=None):
    """(B, C, H, W) images in [0, 1] as a PNG grid (``nrow`` per row: sqrt(B) by default)."""
    nrow = nrow or max(1, int(np.ceil(np.sqrt(len(images)))))
    return save_image_grid(images, path, nrow=nrow)
