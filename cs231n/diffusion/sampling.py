"""Sampling a trained DDPM: the course's ancestral sampler and DDIM (beyond the course), with
classifier-free guidance, and the figures (``cs231n diffusion sample``).

DDIM (Song, Meng & Ermon 2021, https://arxiv.org/abs/2010.02502, Eq. 12) reuses the DDPM's
model and schedule and walks ``steps`` of its time steps (evenly spaced, from the last to 0):
``x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z`` with ``sigma = eta
sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev)``; ``eta = 0`` is deterministic,
``eta = 1`` with every step is the ancestral sampler's variance.
"""

from __future__ import annotations

import math

import torch

from ..core.checks import number, whole_number
from ..core.progress import progress_bar
from ..gaussian_diffusion import GaussianDiffusion
from ..unet import check_cfg_scale

SAMPLERS = ("ddpm", "ddim")


def check_sampling(diffusion: GaussianDiffusion, sampler, steps, cfg_scale):
    """The sampler, the number of steps and the guidance scale, checked before any work:
    ValueError naming the bad one. Returns (sampler, steps) with ``steps`` filled in (all
    of the model's steps by default)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose {' or '.join(SAMPLERS)}")
    if cfg_scale is not None:
        check_cfg_scale("sample", cfg_scale)
    total = diffusion.num_timesteps
    if steps is None:
        return sampler, total
    steps = whole_number("sample", "steps", steps, 1, total)
    if sampler == "ddpm" and steps != total:
        raise ValueError(
            f"sample: the ancestral (ddpm) sampler walks all {total} steps of the model; "
            f"use --sampler ddim for {steps}"
        )
    return sampler, steps


@torch.no_grad()
def ddim_sample(
    diffusion: GaussianDiffusion,
    batch_size,
    model_kwargs,
    steps,
    eta=0.0,
    return_all_timesteps=False,
    progress=False,
):
    """``batch_size`` images by ``steps`` DDIM steps, in [0, 1]: (B, C, H, W), or with
    ``return_all_timesteps`` (B, steps + 1, C, H, W) from the noise on."""
    total = diffusion.num_timesteps
    steps = whole_number("ddim_sample", "steps", steps, 1, total)
    eta = number("ddim_sample", "eta", eta, 0)
    times = torch.linspace(total - 1, 0, steps).round().long().tolist()
    shape = (batch_size, diffusion.channels, diffusion.image_size, diffusion.image_size)
    x = torch.randn(shape, device=diffusion.betas.device)
    xs = [x]
    ab = diffusion.alphas_cumprod
    for i, t in enumerate(progress_bar(times, desc="DDIM", disable=not progress)):
        tt = torch.full((batch_size,), t, device=x.device, dtype=torch.long)
        _, x0 = diffusion.model_predictions(x, tt, model_kwargs)
        # The noise re-derived from the clamped x0 (as lucidrains' ddim_sample does): at the
        # first, noisiest steps x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) amplifies the model's
        # error ~600x (ab ~ 3e-6 at the sigmoid schedule's end) and the clamp cuts it; an
        # update mixing that clamped x0 with the raw eps is no longer a point of the noising
        # path and wrecks the sample, worst under guidance (Fashion-MNIST, 2500 steps, w = 3:
        # 17.5% of the samples of the class asked for, before; see tests).
        eps = diffusion.predict_noise_from_start(x, tt, x0)
        ab_t = ab[t]
        ab_prev = ab[times[i + 1]] if i + 1 < len(times) else torch.ones_like(ab_t)
        sigma = eta * torch.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
        x = ab_prev.sqrt() * x0 + torch.sqrt((1 - ab_prev - sigma**2).clamp(min=0)) * eps
        if eta > 0 and i + 1 < len(times):
            x = x + sigma * torch.randn_like(x)
        xs.append(x)
    out = torch.stack(xs, dim=1) if return_all_timesteps else x
    return diffusion.unnormalize(out)


def generate(
    diffusion: GaussianDiffusion,
    cond,
    n=16,
    cfg_scale=None,
    sampler="ddpm",
    steps=None,
    seed=0,
    trajectory=False,
    progress=False,
):
    """``n`` samples for one condition vector ``cond`` (D,), or one each for a batch of them
    (n, D), with classifier-free guidance of scale ``cfg_scale`` (None: none), by ``sampler``
    in ``steps`` steps; in [0, 1], (n, C, H, W), or with ``trajectory`` (n, steps + 1, C, H,
    W). Seeded: the same arguments give the same images on the same device."""
    sampler, steps = check_sampling(diffusion, sampler, steps, cfg_scale)
    n = whole_number("generate", "n", n, 1, 4096)
    if cond.ndim not in (1, 2) or (cond.ndim == 2 and len(cond) != n):
        raise ValueError(
            f"generate: cond must be (D,) or (n, D) = ({n}, D), got {tuple(cond.shape)}"
        )
    device = diffusion.betas.device
    cond = cond.to(device).float()
    kwargs = {"text_emb": cond if cond.ndim == 2 else cond[None].expand(n, -1)}
    if cfg_scale is not None:
        kwargs["cfg_scale"] = float(cfg_scale)
    torch.manual_seed(seed)
    diffusion.eval()
    if sampler == "ddim":
        return ddim_sample(diffusion, n, kwargs, steps, 0.0, trajectory, progress)
    return _ancestral(diffusion, n, kwargs, trajectory, progress)


@torch.no_grad()
def _ancestral(diffusion, n, kwargs, trajectory, progress):
    # The course's GaussianDiffusion.sample, with the progress bar optional.
    shape = (n, diffusion.channels, diffusion.image_size, diffusion.image_size)
    img = torch.randn(shape, device=diffusion.betas.device)
    imgs = [img]
    for t in progress_bar(
        reversed(range(diffusion.num_timesteps)),
        total=diffusion.num_timesteps,
        desc="DDPM",
        disable=not progress,
    ):
        img = diffusion.p_sample(img, t, model_kwargs=kwargs)
        imgs.append(img)
    return diffusion.unnormalize(torch.stack(imgs, 1) if trajectory else img)


def trajectory_frames(trajectory, columns=10):
    """``columns`` evenly spaced frames of a (n, T + 1, C, H, W) trajectory, from the noise to
    the image, as one (n * columns, C, H, W) batch in rows (one row per sample)."""
    total = trajectory.shape[1]
    idx = sorted({round(i * (total - 1) / (columns - 1)) for i in range(columns)})
    frames = trajectory[:, idx].clamp(0, 1)
    return frames.reshape(-1, *frames.shape[2:]), len(idx)


def grid_rows(n) -> int:
    """How many images per row a grid of ``n`` has (a square-ish grid)."""
    return max(1, math.ceil(math.sqrt(n)))
