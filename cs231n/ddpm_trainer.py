"""The course's DDPM trainer, standing on the project's run folder.

Course module (2025 and 2026 editions, ``DDPM.ipynb``): ``Trainer(diffusion_model, dataset,
device, *, ...)`` with the course's defaults, ``train()`` (returns the losses of the steps it
ran), ``save(milestone)`` / ``load(milestone)`` (``model-MILESTONE.pt`` in
``results_folder``, holding ``step``, ``model`` and ``opt`` as the course's does, so the
course's pretrained ``model-70000.pt`` loads), ``download_pretrained()`` and sample grids
``sample-STEP.png`` every ``sample_every`` steps.

What :class:`cs231n.core.run.Trainer` adds: the results folder is locked while a run trains;
checkpoints are written atomically and also hold the settings and the random state (PyTorch's,
NumPy's and the batch order's), so that a run resumed with ``resume=True`` (from ``model.pt``,
the latest checkpoint, written every ``save_every`` steps and at the end) continues exactly as
if it had not stopped; a checkpoint trained with other settings is refused, naming them.

Random draws: each training step's draws (the steps t, the noise, the model's condition
dropping and dropout) come from a stream seeded by the run's seed and the step, forked from the
global one, so that a step does not depend on what was drawn before it (sample grids included).

Several processes (torchrun; :mod:`cs231n.core.distributed`): ``train_batch_size`` is the
global batch, B / W images per process (a partial last batch of a pass is split as evenly as
it goes, each process's loss weighted by its share). Every process reads the whole global
batch, draws its t and noise from the step's stream (the numbers one process draws, in the same
order) and keeps its own rows; then it runs the model on them, the model's own draws seeded per
process (rank 0's are one process's). The gradients are averaged (all-reduce SUM, / W) before
they are clipped, so the clipped norm is the global batch's. Hence, with the model's draws
switched off (``uncond_prob`` 0, dropout 0), W processes train the one-process model up to
float rounding; with them on, the runs agree in distribution (the U-Net has no batch norm). In
this mode the loss is the course's ``p_losses`` computed here on the global draws (a
``GaussianDiffusion`` of the course's design: ``normalize``, ``q_sample``, ``loss_weight``,
``objective``). Only rank 0 writes (checkpoints, samples, losses); ``world_size`` is recorded
in the settings and may change on resume, which continues exactly (the draws depend only on
the seed and the step; the batch order is in the checkpoint).

Differences from the course's starter, each a fix: the model is put back in training mode after
drawing samples (the starter left it in eval mode, without dropout or condition dropping, for
the rest of training); batches are drawn by a seeded generator (the same batches, in the same
order, on every run with the same seed); files are written atomically; no torchvision.
"""

from __future__ import annotations

import hashlib
import math
import os  # noqa: F401  (the course's module imports these: its star-import gives them)

import numpy as np
import torch
from torch.optim import Adam
from torch.utils.data import DataLoader  # noqa: F401
from tqdm.auto import tqdm  # noqa: F401

from .core import distributed
from .core.checkpoints import check_optimizer_state, check_torch_rng
from .core.checks import number, whole_number
from .core.files import atomic_path
from .core.run import Trainer as RunTrainer
from .core.torch_utils import resolve_device
from .data import assets

LR_SCHEDULES = ("constant", "cosine")


def cycle(dl):
    """Repeat an iterable of batches forever (the course's helper)."""
    while True:
        yield from dl


class Trainer(RunTrainer):
    """Train ``diffusion_model`` (a :class:`cs231n.gaussian_diffusion.GaussianDiffusion`) on
    ``dataset`` (items ``(image, {"text_emb": ..., ...})``) for ``train_num_steps`` Adam steps
    of ``train_batch_size`` images (gradients clipped to norm 1, as the course's), on
    ``device``.

    Beyond the course's parameters (all after them, with defaults): ``resume`` (train()
    continues from ``model.pt`` when there is one), ``seed`` (the batch order), ``num_samples``
    (images per sample grid, the course's 25), ``callback(step, loss)`` after each step and
    ``lr_schedule``: "constant" (the course's) or "cosine", ``train_lr`` times
    ``(1 + cos(pi * step / train_num_steps)) / 2`` for the update after ``step`` steps (from
    ``train_lr`` towards 0 at the last; a function of the step alone, so a resume continues
    it exactly, over the ``train_num_steps`` of the resumed run).
    Raises ValueError for a missing results folder or a setting out of range, before any work.
    """

    checkpoint_file = "model.pt"
    samples_folder_name = "."
    may_change = ("train_num_steps", "sample_every", "save_every", "world_size")
    added_settings = {"lr_schedule": "constant"}  # runs saved before it: the course's rate
    restart_hint = "pass resume=False to start over, or choose another results folder"

    def __init__(
        self,
        diffusion_model,
        dataset,
        device,
        *,
        train_batch_size=256,
        train_lr=1e-3,
        weight_decay=0.0,
        train_num_steps=100000,
        adam_betas=(0.9, 0.99),
        sample_every=1000,
        save_every=10000,
        results_folder=None,
        resume=False,
        seed=0,
        num_samples=25,
        callback=None,
        lr_schedule="constant",
    ):
        f = "ddpm_trainer.Trainer"
        if results_folder is None:
            raise ValueError(f"{f}: must specify results folder (results_folder=...)")
        train_batch_size = whole_number(f, "train_batch_size", train_batch_size, 1)
        train_num_steps = whole_number(f, "train_num_steps", train_num_steps, 0)
        sample_every = whole_number(f, "sample_every", sample_every, 1)
        save_every = whole_number(f, "save_every", save_every, 1)
        num_samples = whole_number(f, "num_samples", num_samples, 1)
        train_lr = number(f, "train_lr", train_lr, 0, low_inclusive=False)
        weight_decay = number(f, "weight_decay", weight_decay, 0)
        betas = tuple(number(f, "adam_betas", b, 0, 1) for b in adam_betas)
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"{f}: lr_schedule must be {' or '.join(map(repr, LR_SCHEDULES))}, "
                f"got {lr_schedule!r}"
            )
        if len(dataset) == 0:
            raise ValueError(f"{f}: the dataset is empty")
        config = {
            "train_batch_size": train_batch_size,
            "train_lr": train_lr,
            "weight_decay": weight_decay,
            "adam_betas": list(betas),
            "train_num_steps": train_num_steps,
            "sample_every": sample_every,
            "save_every": save_every,
            "seed": seed,
            "lr_schedule": lr_schedule,
        }
        self.dist = ctx = distributed.setup(str(resolve_device(device)))
        ctx.local_batch_size(train_batch_size, "diffusion train")
        config["world_size"] = ctx.world_size
        super().__init__(results_folder, config, train_num_steps, resume=resume)
        self.device = torch.device(ctx.device)
        self.diffusion_model = diffusion_model.to(self.device)
        self.ds = dataset
        self.num_samples = num_samples
        self.save_every, self.sample_every = save_every, sample_every
        self.batch_size, self.train_num_steps = train_batch_size, train_num_steps
        self.callback = callback
        self.lr_schedule, self.train_lr = lr_schedule, train_lr
        self.opt = Adam(
            diffusion_model.parameters(), lr=train_lr, betas=betas, weight_decay=weight_decay
        )
        # The batch order: a permutation per pass over the data, from a seeded generator.
        self.order_rng = torch.Generator().manual_seed(seed)
        self.order, self.position = torch.empty(0, dtype=torch.long), 0
        self.step = 0
        self.history = []

    # ---- the course's API --------------------------------------------------------------------

    def train(self):
        """Train until ``train_num_steps`` (from ``self.step``, which :meth:`load` sets);
        returns the losses of the steps this call ran (floats)."""
        self._first_new = len(self.history)
        super().train()
        return self.history[self._first_new :]

    def start(self):
        super().start()
        self._first_new = len(self.history)  # after a resume: the losses before it are old

    def save(self, milestone=None):
        """``model-MILESTONE.pt`` (``model.pt`` when None), atomically; returns its path."""
        return super().save(milestone)

    def load(self, milestone=None):
        """Continue from ``model-MILESTONE.pt`` (``model.pt`` when None): the weights, the
        optimiser and the step, and the random state where the file has it (the course's own
        checkpoints have not). ValueError naming the file when it does not fit the model or
        was trained with other settings."""
        return super().load(milestone)

    def download_pretrained(self):
        """The course's pretrained emoji model (``model-70000.pt``, after 70000 steps of the
        course's ``Unet(dim=48, condition_dim=512)`` with 100 time steps) into the results
        folder, unless it is there; :meth:`load` (70000) then loads it."""
        path = self.checkpoint_path(70000)
        if path.exists():
            print("Pretrained model already downloaded.")
            return path
        print(f"Downloading...{path}")
        return assets.fetch_file_to("ddpm-model", path)

    # ---- the run (cs231n.core.run.Trainer's hooks) ---------------------------------------------

    def fit(self):
        model, ctx = self.diffusion_model, self.dist
        ctx.broadcast(model)  # rank 0's weights everywhere (built or resumed alike)
        while self.step < self.train_num_steps:
            model.train()
            images, model_kwargs = self.next_batch()
            self.opt.zero_grad()
            cuda = [self.device.index or 0] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=cuda):
                torch.manual_seed(_step_seed(self.config["seed"], self.step))
                if ctx.distributed:
                    loss = self._global_batch_loss(images, model_kwargs)
                else:
                    loss = model.p_losses(images, model_kwargs=model_kwargs)
                loss.backward()
            ctx.average_gradients(list(model.parameters()))  # before clipping: the global norm
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            for group in self.opt.param_groups:
                group["lr"] = self.learning_rate(self.step)
            self.opt.step()
            self.step += 1
            self.history.append(ctx.mean(loss.item()))
            if self.callback is not None:
                self.callback(self.step, self.history[-1])
            if self.step % self.save_every == 0:
                self.save(self.step)
                self.save()
            if self.step % self.sample_every == 0:
                self.write_sample_grid(self.path(f"sample-{self.step}.png"))
        self.epoch = self.step
        self.save()

    def learning_rate(self, step) -> float:
        """The learning rate of the update after ``step`` steps (``lr_schedule``)."""
        if self.lr_schedule == "cosine":
            return self.train_lr * 0.5 * (1 + math.cos(math.pi * step / self.train_num_steps))
        return self.train_lr

    def finish(self):
        self.write_losses(self.history)

    def _global_batch_loss(self, images, model_kwargs):
        """This process's part of the global batch's loss (several processes): the course's
        ``p_losses`` with t and the noise drawn for the whole batch (one process's draws), this
        process's rows kept, its mean weighted by its share of the batch (so that the average
        over the processes is the batch's mean)."""
        from .gaussian_diffusion import extract

        diffusion, ctx = self.diffusion_model, self.dist
        b = images.shape[0]
        t = torch.randint(0, diffusion.num_timesteps, (b,), device=images.device).long()
        x_start = diffusion.normalize(images)
        noise = torch.randn_like(x_start)
        lo, hi = ctx.rank * b // ctx.world_size, (ctx.rank + 1) * b // ctx.world_size
        # The model's own draws (condition dropping, dropout) differ by process.
        torch.manual_seed(ctx.seed(self.config["seed"], "model", self.step))
        if hi == lo:  # a last batch smaller than the processes: a zero gradient, same graph
            return sum(p.sum() for p in diffusion.parameters()) * 0.0
        t, x_start, noise = t[lo:hi], x_start[lo:hi], noise[lo:hi]
        kwargs = {
            k: v[lo:hi] if torch.is_tensor(v) or isinstance(v, list | tuple) else v
            for k, v in model_kwargs.items()
        }
        target = noise if diffusion.objective == "pred_noise" else x_start
        weight = extract(diffusion.loss_weight, t, target.shape)
        x_t = diffusion.q_sample(x_start, t, noise)
        out = diffusion.model(x_t, t, kwargs)
        loss = (weight * torch.nn.functional.mse_loss(out, target, reduction="none")).mean()
        return loss * ((hi - lo) * ctx.world_size / b)

    def next_batch(self):
        """The next batch: (images on the device, model kwargs with ``text_emb`` there)."""
        n = len(self.ds)
        if self.position >= len(self.order):
            self.order, self.position = torch.randperm(n, generator=self.order_rng), 0
        idx = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        if self.position >= n:
            self.position = len(self.order)  # the partial last batch ends the pass
        images, model_kwargs = batch_of(self.ds, idx.tolist())
        model_kwargs["text_emb"] = model_kwargs["text_emb"].to(self.device)
        return images.to(self.device), model_kwargs

    def write_sample_grid(self, path):
        """``num_samples`` images for random texts of the data set, as a grid PNG."""
        if not self.writes:
            return None
        model = self.diffusion_model
        model.eval()
        try:
            with torch.no_grad():
                model_kwargs = self.ds.random_model_kwargs(self.num_samples)
                model_kwargs["text_emb"] = model_kwargs["text_emb"].to(self.device)
                images = model.sample(batch_size=self.num_samples, model_kwargs=model_kwargs)
        finally:
            model.train()
        return save_image_grid(images, path, nrow=int(math.sqrt(self.num_samples)))

    def checkpoint(self) -> dict:
        np_state = np.random.get_state()
        state = {
            "step": self.step,
            "model": self.diffusion_model.state_dict(),
            "opt": self.opt.state_dict(),
            "config": self.config,
            "history": self.history,
            "torch_rng": torch.get_rng_state(),
            "order_rng": self.order_rng.get_state(),
            "order": self.order,
            "position": self.position,
            "numpy_rng": torch.from_numpy(np_state[1].astype(np.int64)),
            "numpy_rng_pos": [int(np_state[2]), int(np_state[3]), float(np_state[4])],
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def read_checkpoint(self, path) -> dict:
        from .core.torch_utils import torch_load

        saved = torch_load(path, "checkpoint", map_location=self.device)
        missing = [k for k in ("step", "model", "opt") if k not in saved]
        if missing:
            raise ValueError(f"{path}: not a DDPM checkpoint (no {', '.join(missing)})")
        return saved

    def saved_config(self, saved) -> dict:
        # The course's checkpoints record no settings: nothing to compare them with.
        return saved.get("config", self.config)

    def restore(self, saved, path):
        try:
            self.diffusion_model.load_state_dict(saved["model"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise ValueError(
                f"{path}: the weights do not fit this model ({first[1].strip() if len(first) > 1 else first[0]})"
            ) from None
        check_optimizer_state(path, saved["opt"], list(self.diffusion_model.named_parameters()))
        self.opt.load_state_dict(saved["opt"])
        self.step = int(saved["step"])
        self.epoch = self.step
        self.history = list(saved.get("history", []))
        if "torch_rng" in saved:
            torch.set_rng_state(check_torch_rng(path, saved["torch_rng"]))
            self.order_rng.set_state(check_torch_rng(path, saved["order_rng"], "batch order"))
            self.order, self.position = saved["order"].cpu(), int(saved["position"])
            pos, has_gauss, gauss = saved["numpy_rng_pos"]
            keys = saved["numpy_rng"].cpu().numpy().astype(np.uint32)
            np.random.set_state(("MT19937", keys, int(pos), int(has_gauss), float(gauss)))
            if "cuda_rng" in saved and self.device.type == "cuda":
                torch.cuda.set_rng_state(saved["cuda_rng"].cpu(), self.device)


def _step_seed(seed, step) -> int:
    """The seed of training step ``step``'s draws in a run seeded ``seed``."""
    text = f"{seed}/step/{step}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


def batch_of(dataset, indices):
    """The items ``indices`` of ``dataset`` collated (a dataset with ``batch(indices)`` makes
    the batch itself, without an item loop)."""
    if hasattr(dataset, "batch"):
        return dataset.batch(indices)
    return torch.utils.data.default_collate([dataset[i] for i in indices])


def save_image_grid(images, path, nrow=8, padding=2):
    """(B, C, H, W) images in [0, 1] as one PNG grid, ``nrow`` per row, separated by
    ``padding`` black pixels (torchvision's ``save_image`` layout); atomic."""
    from PIL import Image

    images = images.detach().float().clamp(0, 1).cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    b, c, h, w = images.shape
    ncol = min(nrow, b)
    nrows = math.ceil(b / ncol)
    grid = torch.zeros(3, nrows * (h + padding) + padding, ncol * (w + padding) + padding)
    for i in range(b):
        r, k = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
    return path
