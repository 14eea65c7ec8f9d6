"""cs231n.diffusion.sampling: DDIM (Song et al. 2021, Eq. 12) against the course's ancestral
sampler, guidance and the checks of bad input."""

import pytest
import torch

from cs231n.diffusion.sampling import check_sampling, ddim_sample, generate, trajectory_frames
from cs231n.gaussian_diffusion import GaussianDiffusion
from cs231n.unet import Unet


class ConstantStart(torch.nn.Module):
    """A "pred_x_start" model that always predicts the same clean image (inside [-1, 1], so
    the samplers' clamp does nothing): both samplers then have closed-form steps."""

    channels = 3

    def __init__(self):
        super().__init__()
        self.image = torch.linspace(-0.8, 0.8, 3 * 4 * 4).view(1, 3, 4, 4)

    def forward(self, x, t, model_kwargs):
        return self.image.expand(len(x), -1, -1, -1)


def test_ddim_with_every_step_and_eta_1_is_the_ancestral_sampler():
    """With all T steps and eta = 1, DDIM's step has the DDPM posterior's mean and variance
    (Song et al., Eq. 16): the same noise draws give the same images."""
    d = GaussianDiffusion(ConstantStart(), image_size=4, timesteps=30, objective="pred_x_start")
    torch.manual_seed(0)
    ddpm = d.sample(batch_size=2, return_all_timesteps=True)
    torch.manual_seed(0)
    ddim = ddim_sample(d, 2, {}, steps=30, eta=1.0, return_all_timesteps=True)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-4, atol=1e-4)


class LoudNoise(torch.nn.Module):
    """A "pred_noise" model whose noise is off by a fixed image, so that the implied x_0 runs
    far outside [-1, 1] at the noisy steps and the samplers' clamp cuts it (as a model early
    in training, or a guided one, does)."""

    channels = 3

    def forward(self, x, t, model_kwargs):
        return x + torch.linspace(-2, 2, 3 * 4 * 4).view(1, 3, 4, 4)


def test_ddim_with_eta_1_is_the_ancestral_sampler_when_the_clamp_cuts():
    """Regression: DDIM stepped with the clamped x_0 but the model's raw noise, off the
    noising path whenever the clamp acted; with guidance this wrecked Fashion-MNIST samples
    (a trained run gave its class in 17.5% of the samples at w = 3, found by eye: trousers
    asked, shirts drawn). With the noise re-derived from the clamped x_0, all-step DDIM with
    eta = 1 again equals the ancestral sampler."""
    d = GaussianDiffusion(LoudNoise(), image_size=4, timesteps=30, objective="pred_noise")
    x = torch.randn(2, 3, 4, 4)
    t = torch.full((2,), 29)
    _, x0 = d.model_predictions(x, t)
    assert (x0.abs() == 1).float().mean() > 0.5  # the clamp does cut here
    torch.manual_seed(0)
    ddpm = d.sample(batch_size=2, return_all_timesteps=True)
    torch.manual_seed(0)
    ddim = ddim_sample(d, 2, {}, steps=30, eta=1.0, return_all_timesteps=True)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-4, atol=1e-4)


def test_deterministic_ddim_reaches_the_predicted_image():
    d = GaussianDiffusion(ConstantStart(), image_size=4, timesteps=50, objective="pred_x_start")
    out = ddim_sample(d, 3, {}, steps=7)
    torch.testing.assert_close(out, d.unnormalize(ConstantStart().image).expand(3, -1, -1, -1))


def test_generate_shapes_guidance_and_seed():
    torch.manual_seed(0)
    unet = Unet(dim=4, condition_dim=3, dim_mults=(1,)).eval()
    d = GaussianDiffusion(unet, image_size=4, timesteps=6)
    cond = torch.randn(3)
    a = generate(d, cond, n=2, cfg_scale=1.5, sampler="ddim", steps=3, seed=5)
    b = generate(d, cond, n=2, cfg_scale=1.5, sampler="ddim", steps=3, seed=5)
    assert a.shape == (2, 3, 4, 4) and torch.equal(a, b)
    traj = generate(d, cond, n=2, trajectory=True, seed=5)
    assert traj.shape == (2, 7, 3, 4, 4)
    frames, columns = trajectory_frames(traj, columns=4)
    assert columns == 4 and frames.shape == (8, 3, 4, 4)


def test_bad_sampling_settings():
    d = GaussianDiffusion(ConstantStart(), image_size=4, timesteps=10)
    with pytest.raises(ValueError, match="unknown sampler 'euler'"):
        check_sampling(d, "euler", None, None)
    with pytest.raises(ValueError, match="steps must be at least 1, at most 10, got 0"):
        check_sampling(d, "ddim", 0, None)
    with pytest.raises(ValueError, match="steps must be at least 1, at most 10, got 11"):
        check_sampling(d, "ddim", 11, None)
    with pytest.raises(ValueError, match="ancestral .* walks all 10 steps"):
        check_sampling(d, "ddpm", 5, None)
    with pytest.raises(ValueError, match="cfg_scale must be a finite number, got inf"):
        check_sampling(d, "ddim", 5, float("inf"))
    assert check_sampling(d, "ddpm", None, 2.0) == ("ddpm", 10)
