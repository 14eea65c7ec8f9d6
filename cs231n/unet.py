"""The course's conditional U-Net for diffusion, with classifier-free guidance.

Course module (2025 and 2026 editions, ``DDPM.ipynb``): names, signatures, defaults and the
module structure (so that the course's pretrained ``model-70000.pt`` loads) are the course's
starter ``cs231n/unet.py``, after lucidrains' denoising-diffusion-pytorch.

The network: an initial 3x3 convolution; per level of ``dim_mults`` a down block
``[ResnetBlock, ResnetBlock, Downsample]`` (each ResNet block's output kept as a skip
connection); two middle ResNet blocks; per level an up block ``[Upsample, ResnetBlock,
ResnetBlock]`` mirroring it, each ResNet block taking the last skip connection concatenated
to its input; a final 1x1 convolution. Every ResNet block is modulated (scale and shift) by a
context vector: the sum of an MLP of the time step's sinusoidal embedding and an MLP of the
condition (a text embedding, or the project's Fashion-MNIST label embedding).
"""

from __future__ import annotations

import copy  # noqa: F401  (the course's module imports it: its star-import gives it)
import math

import torch
import torch.nn.functional as F  # noqa: F401  (the course's module imports it: its star-import gives it)
from torch import einsum, nn  # noqa: F401  (einsum: as the course's star-import)


def exists(x):
    return x is not None


def default(val, d):
    if exists(val):
        return val
    return d() if callable(d) else d


def Upsample(dim, dim_out=None):
    """Double the resolution: bilinear upsampling, then a 3x3 convolution to ``dim_out``."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(dim, default(dim_out, dim), 3, padding=1),
    )


def Downsample(dim, dim_out=None):
    """Halve the resolution: a 2x2 convolution of stride 2 to ``dim_out`` channels."""
    return nn.Conv2d(dim, default(dim_out, dim), kernel_size=2, stride=2)


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the channels (dim 1) of (B, C, H, W), with a learnt
    per-channel gain: ``x / ||x||_2 * sqrt(C) * g``."""

    def __init__(self, dim):
        super().__init__()
        self.scale = dim**0.5
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))

    def forward(self, x):
        # The course's ``F.normalize(x, dim=1) * g * scale``, in two cheaper passes: the
        # norm as sqrt(sum of squares) (F.normalize's eps, 1e-12, as its floor) is a plain
        # reduction, ~4x faster forward and backward than F.normalize's strided vector_norm
        # over NCHW's channels on a CPU (its 26% of a training step -> 7%; bench_diffusion);
        # and g * scale first, one product of C numbers instead of a pass over the
        # activation. Equal to the course's within a rounding step (its seeded checks hold).
        norm = x.square().sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)
        return x / norm * (self.g * self.scale)


class SinusoidalPosEmb(nn.Module):
    """The Transformer's sinusoidal embedding of (B,) time steps: (B, dim), sines then
    cosines of ``dim // 2`` geometric frequencies from 1 to 1/10000."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        half_dim = self.dim // 2
        emb = math.log(10000) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, device=x.device) * -emb)
        emb = x[:, None] * emb[None, :]
        return torch.cat((emb.sin(), emb.cos()), dim=-1)


class Block(nn.Module):
    """3x3 convolution, RMS norm, optional modulation ``x * (scale + 1) + shift``, GELU."""

    def __init__(self, dim, dim_out):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim_out, 3, padding=1)
        self.norm = RMSNorm(dim_out)
        self.act = nn.GELU()

    def forward(self, x, scale_shift=None):
        x = self.norm(self.proj(x))
        if exists(scale_shift):
            scale, shift = scale_shift
            x = x * (scale + 1) + shift
        return self.act(x)


class ResnetBlock(nn.Module):
    """Two :class:`Block`s (dropout 0.1 between them), the first modulated by the context
    (B, context_dim) through GELU + Linear(context_dim, 2 * dim_out), plus a residual
    connection (a 1x1 convolution where ``dim != dim_out``)."""

    def __init__(self, dim, dim_out, context_dim):
        super().__init__()
        self.dim = dim
        self.dim_out = dim_out
        self.context_dim = context_dim
        self.mlp = (
            nn.Sequential(nn.GELU(), nn.Linear(context_dim, dim_out * 2))
            if exists(context_dim)
            else None
        )
        self.block1 = Block(dim, dim_out)
        self.block2 = Block(dim_out, dim_out)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, context=None):
        scale_shift = None
        if exists(self.mlp) and exists(context):
            context = self.mlp(context)[:, :, None, None]
            scale_shift = context.chunk(2, dim=1)
        h = self.block1(x, scale_shift=scale_shift)
        h = self.dropout(h)
        h = self.block2(h)
        return h + self.res_conv(x)


class Unet(nn.Module):
    """The conditional U-Net: ``forward(x, time, model_kwargs)`` maps (B, channels, H, W)
    images, (B,) time steps and ``model_kwargs["text_emb"]`` (B, condition_dim), or None for
    no condition, to (B, channels, H, W).

    ``dim``: channels after the first convolution; level ``i`` has ``dim * dim_mults[i]``
    channels after its downsampling; ``uncond_prob``: the probability, in training mode, of
    dropping an image's condition (replacing it by zeros, the "empty" condition that
    classifier-free guidance uses). H and W must be multiples of ``downsample_factor``
    (``2 ** len(dim_mults)``).

    ``Unet(dim=48, condition_dim=512)`` is the course's emoji model (12,444,963 parameters).
    """

    def __init__(
        self,
        dim,
        condition_dim,
        dim_mults=(1, 2, 4, 8),
        channels=3,
        uncond_prob=0.2,
    ):
        super().__init__()
        for name, value in (("dim", dim), ("condition_dim", condition_dim), ("channels", channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Unet: {name} must be a positive integer, got {value!r}")
        if not dim_mults or any(
            isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in dim_mults
        ):
            raise ValueError(
                f"Unet: dim_mults must be a non-empty sequence of positive integers, got "
                f"{dim_mults!r}"
            )
        if not 0.0 <= uncond_prob <= 1.0:
            raise ValueError(f"Unet: uncond_prob must be in [0, 1], got {uncond_prob!r}")

        self.init_conv = nn.Conv2d(channels, dim, 3, padding=1)
        self.channels = channels
        self.downsample_factor = 2 ** len(dim_mults)

        dims = [dim] + [dim * m for m in dim_mults]
        in_out = list(zip(dims[:-1], dims[1:], strict=True))  # [(d1, d2), ..., (dn-1, dn)]
        in_out_ups = [(b, a) for a, b in reversed(in_out)]  # [(dn, dn-1), ..., (d2, d1)]

        context_dim = dim * 4
        self.time_mlp = nn.Sequential(
            SinusoidalPosEmb(dim),
            nn.Linear(dim, context_dim),
            nn.GELU(),
            nn.Linear(context_dim, context_dim),
        )
        self.condition_dim = condition_dim
        self.condition_mlp = nn.Sequential(
            nn.Linear(condition_dim, context_dim),
            nn.GELU(),
            nn.Linear(context_dim, context_dim),
        )
        self.uncond_prob = uncond_prob

        # The order of modules (and of their creation, which draws their initial weights) is
        # the course's: its seeded checks and its pretrained checkpoint depend on it.
        self.downs = nn.ModuleList([])
        self.ups = nn.ModuleList([])
        for dim_in, dim_out in in_out:
            self.downs.append(
                nn.ModuleList(
                    [
                        ResnetBlock(dim_in, dim_in, context_dim=context_dim),
                        ResnetBlock(dim_in, dim_in, context_dim=context_dim),
                        Downsample(dim_in, dim_out),
                    ]
                )
            )
        mid_dim = dims[-1]
        self.mid_block1 = ResnetBlock(mid_dim, mid_dim, context_dim=context_dim)
        self.mid_block2 = ResnetBlock(mid_dim, mid_dim, context_dim=context_dim)
        for dim_in, dim_out in in_out_ups:
            self.ups.append(
                nn.ModuleList(
                    [
                        Upsample(dim_in, dim_out),
                        ResnetBlock(2 * dim_out, dim_out, context_dim=context_dim),
                        ResnetBlock(2 * dim_out, dim_out, context_dim=context_dim),
                    ]
                )
            )
        self.final_conv = nn.Conv2d(dim, channels, 1)

    def get_num_params(self) -> int:
        """The number of parameters."""
        return sum(p.numel() for p in self.parameters())

    def cfg_forward(self, x, time, model_kwargs={}):  # noqa: B006 - the course's signature
        """Classifier-free guidance (Ho & Salimans, https://arxiv.org/abs/2207.12598, Eq. 6):
        ``(w + 1) * eps(x, c) - w * eps(x, empty)`` with ``w = model_kwargs["cfg_scale"]``
        (a finite number; 0 is plain conditional sampling).

        Unlike the course's starter, the caller's ``model_kwargs`` is left as it was (the
        starter pops ``cfg_scale`` from it, so a sampling loop passing one dict guided its
        first step only) and nothing is printed."""
        model_kwargs = dict(model_kwargs)
        scale = model_kwargs.pop("cfg_scale")
        scale = check_cfg_scale("Unet.cfg_forward", scale)
        cond = self.forward(x, time, model_kwargs)
        uncond = self.forward(x, time, {**model_kwargs, "text_emb": None})
        return (scale + 1) * cond - scale * uncond

    def forward(self, x, time, model_kwargs={}):  # noqa: B006 - the course's signature
        """(B, channels, H, W), (B,) time steps, {"text_emb": (B, condition_dim) or None}
        [, "cfg_scale": w, which routes to :meth:`cfg_forward`] -> (B, channels, H, W)."""
        if "cfg_scale" in model_kwargs:
            return self.cfg_forward(x, time, model_kwargs)
        self.check_input(x)

        context = self.time_mlp(time)
        cond_emb = model_kwargs.get("text_emb")
        if cond_emb is None:
            cond_emb = torch.zeros(x.shape[0], self.condition_dim, device=x.device)
        elif cond_emb.shape != (x.shape[0], self.condition_dim):
            raise ValueError(
                f"Unet: text_emb has shape {tuple(cond_emb.shape)}, expected "
                f"({x.shape[0]}, {self.condition_dim}) (batch, condition_dim)"
            )
        if self.training:
            # Drop the condition of some images: the model also learns eps(x, empty).
            mask = (torch.rand(cond_emb.shape[0]) > self.uncond_prob).float()
            cond_emb = cond_emb * mask[:, None].to(cond_emb.device)
        context = context + self.condition_mlp(cond_emb)

        x = self.init_conv(x)
        skips = []
        for block1, block2, downsample in self.downs:
            x = block1(x, context)
            skips.append(x)
            x = block2(x, context)
            skips.append(x)
            x = downsample(x)
        x = self.mid_block1(x, context)
        x = self.mid_block2(x, context)
        for upsample, block1, block2 in self.ups:
            x = upsample(x)
            x = block1(torch.cat([x, skips.pop()], dim=1), context)
            x = block2(torch.cat([x, skips.pop()], dim=1), context)
        return self.final_conv(x)

    def check_input(self, x):
        """ValueError unless ``x`` is (B, channels, H, W) with H, W multiples of
        ``downsample_factor``."""
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"Unet: input has shape {tuple(x.shape)}, expected (B, {self.channels}, H, W)"
            )
        f = self.downsample_factor
        if x.shape[2] % f or x.shape[3] % f:
            raise ValueError(
                f"Unet: image size {x.shape[2]}x{x.shape[3]} is not divisible by {f} "
                f"(2 ** len(dim_mults), the U-Net's downsampling)"
            )


def check_cfg_scale(func, scale) -> float:
    """``scale`` as a float, or ValueError unless it is a finite real number."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"{func}: cfg_scale must be a finite number, got {scale!r}") from None
    if isinstance(scale, bool) or not math.isfinite(value):
        raise ValueError(f"{func}: cfg_scale must be a finite number, got {scale!r}")
    return value
