"""The course's Gaussian diffusion (DDPM, Ho et al. 2020): noise schedules, the forward process
``q(x_t | x_0)``, the reverse step ``p(x_{t-1} | x_t)`` and the denoising loss.

Course module (2025 and 2026 editions, ``DDPM.ipynb``): names, signatures and defaults are the
course's starter ``cs231n/gaussian_diffusion.py``, itself a trimmed copy of lucidrains'
denoising-diffusion-pytorch. Equation numbers refer to the DDPM paper
(https://arxiv.org/abs/2006.11239).

Shapes: images are (B, C, H, W) with values in [-1, 1] inside the diffusion (``normalize`` maps
[0, 1] to [-1, 1]); a time step batch ``t`` is a (B,) long tensor of indices in
[0, timesteps). ``model`` is called as ``model(x_t, t, model_kwargs)`` and returns a tensor of
the shape of ``x_t`` (the noise, or the clean image, after ``objective``).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from tqdm.auto import tqdm

OBJECTIVES = ("pred_noise", "pred_x_start")
BETA_SCHEDULES = ("linear", "cosine", "sigmoid")


class GaussianDiffusion(nn.Module):
    """A DDPM around a denoising ``model`` for ``image_size`` x ``image_size`` RGB images.

    ``objective``: what the model predicts, "pred_noise" (the noise added) or "pred_x_start"
    (the clean image); ``beta_schedule``: "linear", "cosine" or "sigmoid" (the course's default),
    over ``timesteps`` steps. The schedule's coefficients are buffers (they follow the module to
    its device): ``betas``, ``alphas``, ``alphas_cumprod`` (alpha-bar), ``sqrt_alphas_cumprod``,
    ``sqrt_one_minus_alphas_cumprod``, ``posterior_mean_coef1``/``2``, ``posterior_std`` and
    ``loss_weight`` (1 for "pred_noise", the signal-to-noise ratio for "pred_x_start").

    Raises ValueError for an unknown objective or schedule, a non-positive ``timesteps`` or
    ``image_size``, or an image size the model cannot take (one not divisible by the model's
    ``downsample_factor``, where it has one).
    """

    def __init__(
        self,
        model,
        *,
        image_size,
        timesteps=1000,
        objective="pred_noise",
        beta_schedule="sigmoid",
    ):
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(
                f"GaussianDiffusion: objective must be one of {', '.join(OBJECTIVES)}, "
                f"got {objective!r}"
            )
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
            raise ValueError(
                f"GaussianDiffusion: image_size must be a positive integer, got {image_size!r}"
            )
        factor = getattr(model, "downsample_factor", 1)
        if image_size % factor:
            raise ValueError(
                f"GaussianDiffusion: image_size {image_size} is not divisible by {factor}, the "
                f"model's downsampling ({int(math.log2(factor))} halvings); use a multiple of "
                f"{factor}"
            )
        self.model = model
        self.channels = getattr(model, "channels", 3)
        self.image_size = image_size
        self.objective = objective

        def buffer(name, value):
            self.register_buffer(name, value.float())

        # The schedule is computed in float64 and stored in float32, as the course does.
        betas = get_beta_schedule(beta_schedule, timesteps)
        self.num_timesteps = int(betas.shape[0])
        alphas = 1.0 - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        buffer("betas", betas)
        buffer("alphas", alphas)
        buffer("alphas_cumprod", alphas_cumprod)

        # x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps   (Eq. 4 reparameterised)
        buffer("sqrt_alphas_cumprod", torch.sqrt(alphas_cumprod))
        buffer("sqrt_one_minus_alphas_cumprod", torch.sqrt(1.0 - alphas_cumprod))

        # The posterior q(x_{t-1} | x_t, x_0), Eqs. (6) and (7).
        alphas_cumprod_prev = nn.functional.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
        buffer(
            "posterior_mean_coef1",
            betas * torch.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
        )
        buffer(
            "posterior_mean_coef2",
            (1.0 - alphas_cumprod_prev) * torch.sqrt(alphas) / (1.0 - alphas_cumprod),
        )
        posterior_var = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        # The variance is 0 at t = 0; the clamp keeps its square root (and gradients) finite.
        buffer("posterior_std", torch.sqrt(posterior_var.clamp(min=1e-20)))

        snr = alphas_cumprod / (1 - alphas_cumprod)
        buffer("loss_weight", torch.ones_like(snr) if objective == "pred_noise" else snr)

    def normalize(self, img):
        """[0, 1] -> [-1, 1]."""
        return img * 2 - 1

    def unnormalize(self, img):
        """[-1, 1] -> [0, 1]."""
        return (img + 1) * 0.5

    def predict_start_from_noise(self, x_t, t, noise):
        """x_0 from x_t and the noise (Eq. 4 solved for x_0). x_t, noise: (B, ...); t: (B,)."""
        return (x_t - extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.shape) * noise) / extract(
            self.sqrt_alphas_cumprod, t, x_t.shape
        )

    def predict_noise_from_start(self, x_t, t, x_start):
        """The noise from x_t and x_0 (Eq. 4 solved for the noise). Shapes as above."""
        return (x_t - extract(self.sqrt_alphas_cumprod, t, x_t.shape) * x_start) / extract(
            self.sqrt_one_minus_alphas_cumprod, t, x_t.shape
        )

    def q_posterior(self, x_start, x_t, t):
        """Mean and standard deviation of q(x_{t-1} | x_t, x_0) (Eqs. 6, 7): two tensors of the
        shape of ``x_t`` (the std broadcast from (B, 1, 1, 1))."""
        mean = (
            extract(self.posterior_mean_coef1, t, x_t.shape) * x_start
            + extract(self.posterior_mean_coef2, t, x_t.shape) * x_t
        )
        return mean, extract(self.posterior_std, t, x_t.shape)

    def model_predictions(self, x_t, t, model_kwargs=None):
        """The model's (predicted noise, predicted x_0 clamped to [-1, 1]) at x_t, t (a (B,)
        tensor); the model's output is converted after ``objective``. (lucidrains' name; the
        course inlines it in ``p_sample``; the DDIM sampler shares it.)"""
        out = self.model(x_t, t, {} if model_kwargs is None else model_kwargs)
        if self.objective == "pred_noise":
            x_start = self.predict_start_from_noise(x_t, t, out).clamp(-1.0, 1.0)
            return out, x_start
        x_start = out.clamp(-1.0, 1.0)
        return self.predict_noise_from_start(x_t, t, x_start), x_start

    @torch.no_grad()
    def p_sample(self, x_t, t: int, model_kwargs={}):  # noqa: B006 - the course's signature
        """One ancestral step: x_{t-1} ~ p(x_{t-1} | x_t) = q(x_{t-1} | x_t, x_0 = the model's
        prediction clamped to [-1, 1]) (Eq. 6). ``t``: an int, the same for the whole batch."""
        t = check_timestep("p_sample", t, self.num_timesteps)
        tt = torch.full((x_t.shape[0],), t, device=x_t.device, dtype=torch.long)
        _, x_start = self.model_predictions(x_t, tt, model_kwargs)
        mean, std = self.q_posterior(x_start, x_t, tt)
        return mean + std * torch.randn_like(x_t)

    @torch.no_grad()
    def sample(self, batch_size=16, return_all_timesteps=False, model_kwargs={}):  # noqa: B006
        """``batch_size`` images from pure noise by ``num_timesteps`` ancestral steps, in [0, 1]:
        (B, C, H, W), or with ``return_all_timesteps`` (B, T + 1, C, H, W) from the noise to
        the final image."""
        shape = (batch_size, self.channels, self.image_size, self.image_size)
        img = torch.randn(shape, device=self.betas.device)
        imgs = [img]
        for t in tqdm(
            reversed(range(self.num_timesteps)),
            desc="sampling loop time step",
            total=self.num_timesteps,
            disable=None,
        ):
            img = self.p_sample(img, t, model_kwargs=model_kwargs)
            imgs.append(img)
        res = torch.stack(imgs, dim=1) if return_all_timesteps else img
        return self.unnormalize(res)

    def q_sample(self, x_start, t, noise):
        """x_t ~ q(x_t | x_0) (Eq. 4) with the given ``noise``: (B, ...) like ``x_start``."""
        return (
            extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
            + extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise
        )

    def p_losses(self, x_start, model_kwargs={}):  # noqa: B006 - the course's signature
        """The denoising loss (Eq. 14) of a batch of clean images in [0, 1], (B, C, H, W): a
        random step per image, the weighted mean squared error of the model's prediction.
        Draws, in this order (the course's): the steps, the noise, then the model's own."""
        b = x_start.shape[0]
        t = torch.randint(0, self.num_timesteps, (b,), device=x_start.device).long()
        x_start = self.normalize(x_start)
        noise = torch.randn_like(x_start)
        target = noise if self.objective == "pred_noise" else x_start
        weight = extract(self.loss_weight, t, target.shape)
        x_t = self.q_sample(x_start, t, noise)
        out = self.model(x_t, t, model_kwargs)
        return (weight * nn.functional.mse_loss(out, target, reduction="none")).mean()


def check_timestep(func, t, num_timesteps) -> int:
    """``t`` as an int in [0, num_timesteps), or ValueError naming it."""
    if isinstance(t, torch.Tensor) and t.numel() == 1:
        t = t.item()
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < num_timesteps:
        raise ValueError(f"{func}: t must be an integer in [0, {num_timesteps}), got {t!r}")
    return t


def extract(a, t, x_shape):
    """The coefficients ``a[t]`` shaped to broadcast against a tensor of shape ``x_shape``.

    a: (T,) per-step coefficients; t: (B,) long step indices; returns (B, 1, ..., 1) with
    ``len(x_shape)`` dimensions."""
    b = t.shape[0]
    return a.gather(-1, t).reshape(b, *((1,) * (len(x_shape) - 1)))


def linear_beta_schedule(timesteps):
    """The DDPM paper's linear schedule, 1e-4 to 0.02 for 1000 steps (scaled for other
    lengths); (timesteps,) float64."""
    scale = 1000 / timesteps
    return torch.linspace(scale * 0.0001, scale * 0.02, timesteps, dtype=torch.float64)


def cosine_beta_schedule(timesteps, s=0.008):
    """Nichol & Dhariwal's cosine schedule (https://openreview.net/forum?id=-NEXDKk8gZ);
    betas clipped to [0, 0.999]; (timesteps,) float64."""
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    alphas_cumprod = torch.cos((t + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    return torch.clip(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], 0, 0.999)


def sigmoid_beta_schedule(timesteps, start=-3, end=3, tau=1, clamp_min=1e-5):
    """The sigmoid schedule of Jabri et al. (https://arxiv.org/abs/2212.11972, Fig. 8); betas
    clipped to [0, 0.999]; (timesteps,) float64. ``clamp_min`` is unused, as in the course's
    and lucidrains' code (kept for their signature)."""
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    v_start = torch.tensor(start / tau).sigmoid()
    v_end = torch.tensor(end / tau).sigmoid()
    alphas_cumprod = (-((t * (end - start) + start) / tau).sigmoid() + v_end) / (v_end - v_start)
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    return torch.clip(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], 0, 0.999)


def get_beta_schedule(beta_schedule, timesteps):
    """The betas of the named schedule ("linear", "cosine" or "sigmoid") over ``timesteps``
    steps; ValueError for another name or a non-positive ``timesteps``."""
    schedules = {
        "linear": linear_beta_schedule,
        "cosine": cosine_beta_schedule,
        "sigmoid": sigmoid_beta_schedule,
    }
    if beta_schedule not in schedules:
        raise ValueError(
            f"unknown beta schedule {beta_schedule!r}; choose one of {', '.join(schedules)}"
        )
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
        raise ValueError(f"timesteps must be a positive integer, got {timesteps!r}")
    return schedules[beta_schedule](timesteps)
