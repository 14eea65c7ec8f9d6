"""Generative adversarial networks on MNIST-format images (the assignment's Q5), in PyTorch.

The assignment's API: ``NOISE_DIM``, :func:`sample_noise`, the fully connected
:func:`discriminator` / :func:`generator` and the convolutional :func:`build_dc_classifier` /
:func:`build_dc_generator`, the vanilla (:func:`discriminator_loss`, :func:`generator_loss`)
and least-squares (:func:`ls_discriminator_loss`, :func:`ls_generator_loss`) losses,
:func:`get_optimizer` and the training loop :func:`run_a_gan`. Images are (N, 1, 28, 28) in
[0, 1] from the loader and scaled to [-1, 1] for the discriminator; generators output (N, 784)
in [-1, 1].
"""

from __future__ import annotations

import numpy as np
import PIL  # noqa: F401  (the course's module imports it: its star-import gives it)
import torch
from torch import (
    nn,
    optim,  # noqa: F401  (the course's module imports it: its star-import gives it)
)
from torch.utils.data import sampler

from .core.torch_utils import resolve_device
from .gradient_check import rel_error  # noqa: F401  (the notebook imports it from here)

NOISE_DIM = 96
# The course's module constant (its loop casts batches with it); the package's functions follow
# the device and dtype of the models they are given instead.
dtype = torch.FloatTensor


def sample_noise(batch_size, dim, seed=None):
    """Uniform noise in (-1, 1) of shape (batch_size, dim)."""
    if seed is not None:
        torch.manual_seed(seed)
    return 2 * torch.rand(batch_size, dim) - 1


class Flatten(nn.Module):
    """(N, ...) -> (N, -1)."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class Unflatten(nn.Module):
    """(N, C*H*W) -> (N, C, H, W); N=-1 infers the batch size."""

    def __init__(self, N=-1, C=128, H=7, W=7):
        super().__init__()
        self.N, self.C, self.H, self.W = N, C, H, W

    def forward(self, x):
        return x.reshape(self.N, self.C, self.H, self.W)


def initialize_weights(m):
    """Xavier-uniform weights for Linear and ConvTranspose2d layers (``model.apply(...)``)."""
    if isinstance(m, nn.Linear | nn.ConvTranspose2d):
        nn.init.xavier_uniform_(m.weight.data)


def preprocess_img(x):
    """[0, 1] -> [-1, 1]."""
    return 2 * x - 1.0


def deprocess_img(x):
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) / 2.0


def count_params(model):
    """The number of parameters of a model."""
    return int(np.sum([np.prod(p.size()) for p in model.parameters()]))


class ChunkSampler(sampler.Sampler):
    """Samples the elements ``start .. start + num_samples - 1`` in order."""

    def __init__(self, num_samples, start=0):
        self.num_samples = num_samples
        self.start = start

    def __iter__(self):
        return iter(range(self.start, self.start + self.num_samples))

    def __len__(self):
        return self.num_samples


def discriminator(seed=None):
    """Flatten, Linear 784->256, LeakyReLU 0.01, Linear 256->256, LeakyReLU 0.01, Linear 256->1."""
    if seed is not None:
        torch.manual_seed(seed)
    return nn.Sequential(
        Flatten(),
        nn.Linear(784, 256),
        nn.LeakyReLU(0.01),
        nn.Linear(256, 256),
        nn.LeakyReLU(0.01),
        nn.Linear(256, 1),
    )


def generator(noise_dim=NOISE_DIM, seed=None):
    """Linear noise->1024, ReLU, Linear 1024->1024, ReLU, Linear 1024->784, Tanh."""
    if seed is not None:
        torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(noise_dim, 1024),
        nn.ReLU(),
        nn.Linear(1024, 1024),
        nn.ReLU(),
        nn.Linear(1024, 784),
        nn.Tanh(),
    )


def build_dc_classifier(batch_size):
    """The DCGAN discriminator: Unflatten to 1x28x28, Conv 32 5x5, LeakyReLU, MaxPool 2, Conv 64
    5x5, LeakyReLU, MaxPool 2, Flatten, Linear 1024->1024, LeakyReLU, Linear 1024->1.
    (``batch_size`` is kept for the assignment's signature; any batch size works.)"""
    del batch_size
    return nn.Sequential(
        Unflatten(-1, 1, 28, 28),
        nn.Conv2d(1, 32, kernel_size=5, stride=1),
        nn.LeakyReLU(0.01),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(32, 64, kernel_size=5, stride=1),
        nn.LeakyReLU(0.01),
        nn.MaxPool2d(kernel_size=2, stride=2),
        Flatten(),
        nn.Linear(4 * 4 * 64, 4 * 4 * 64),
        nn.LeakyReLU(0.01),
        nn.Linear(4 * 4 * 64, 1),
    )


def build_dc_generator(noise_dim=NOISE_DIM):
    """The DCGAN generator (InfoGAN's): Linear->1024, ReLU, BatchNorm, Linear->7*7*128, ReLU,
    BatchNorm, Unflatten, ConvTranspose 64 4x4/2, ReLU, BatchNorm2d, ConvTranspose 1 4x4/2,
    Tanh, Flatten to 784."""
    return nn.Sequential(
        nn.Linear(noise_dim, 1024),
        nn.ReLU(),
        nn.BatchNorm1d(1024),
        nn.Linear(1024, 7 * 7 * 128),
        nn.ReLU(),
        nn.BatchNorm1d(7 * 7 * 128),
        Unflatten(-1, 128, 7, 7),
        nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(64),
        nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1),
        nn.Tanh(),
        Flatten(),
    )


class _BCEWithLogits(torch.autograd.Function):
    """Elementwise binary cross-entropy of logits: the course's formula forward, the analytic
    gradient backward. Autograd of the formula is wrong at x = 0, where the kinks of max(x, 0)
    and |x| give 1 + 0 instead of σ(0) = 0.5 (so d/dx = 1 - t instead of 0.5 - t)."""

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        neg_abs = -x.abs()
        return x.clamp(min=0) - x * t + (1 + neg_abs.exp()).log()

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        return grad * (torch.sigmoid(x) - t), grad * -x


def bce_loss(input, target):
    """Mean binary cross-entropy of logits ``input`` against ``target``, shapes (N,) or (N, 1).

    Values are exactly the course's (``max(x, 0) - x*t + log(1 + exp(-|x|))``, numerically
    stable); the gradient is the analytic ``(σ(x) - t) / N`` everywhere, equal to
    ``F.binary_cross_entropy_with_logits``'s, including at x = 0."""
    input = input.reshape(-1)
    target = torch.as_tensor(target, dtype=input.dtype, device=input.device).reshape(-1)
    if input.shape != target.shape:
        raise ValueError(f"bce_loss: {input.shape[0]} logits for {target.shape[0]} targets")
    return _BCEWithLogits.apply(input, target).mean()


def discriminator_loss(logits_real, logits_fake):
    """Vanilla GAN discriminator loss: BCE(real, 1) + BCE(fake, 0), each averaged."""
    return bce_loss(logits_real, torch.ones_like(logits_real)) + bce_loss(
        logits_fake, torch.zeros_like(logits_fake)
    )


def generator_loss(logits_fake):
    """Non-saturating generator loss: BCE(fake, 1)."""
    return bce_loss(logits_fake, torch.ones_like(logits_fake))


def ls_discriminator_loss(scores_real, scores_fake):
    """Least-squares GAN (Mao et al., eq. 9): ½ E[(D(x) - 1)²] + ½ E[D(G(z))²]."""
    return 0.5 * torch.mean((scores_real - 1) ** 2) + 0.5 * torch.mean(scores_fake**2)


def ls_generator_loss(scores_fake):
    """Least-squares GAN generator loss: ½ E[(D(G(z)) - 1)²]."""
    return 0.5 * torch.mean((scores_fake - 1) ** 2)


def get_optimizer(model):
    """Adam with learning rate 1e-3 and betas (0.5, 0.999), as the assignment uses."""
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))


def run_a_gan(
    D,
    G,
    D_solver,
    G_solver,
    discriminator_loss,
    generator_loss,
    loader_train,
    show_every=250,
    batch_size=128,
    noise_size=96,
    num_epochs=10,
    device=None,
    verbose=True,
):
    """Train a GAN: per minibatch one discriminator step on real (scaled to [-1, 1]) and
    generated images, then one generator step. Returns the 16 first generated images (numpy,
    (16, 784) in [-1, 1]) every ``show_every`` iterations, as the assignment does."""
    device = resolve_device(device) if device is not None else next(D.parameters()).device
    images = []
    iter_count = 0
    for _ in range(num_epochs):
        for x, _labels in loader_train:
            if len(x) != batch_size:
                continue
            D_solver.zero_grad()
            real_data = x.to(device)
            logits_real = D(preprocess_img(real_data))
            fake_images = G(sample_noise(batch_size, noise_size).to(device)).detach()
            logits_fake = D(fake_images.view(batch_size, 1, 28, 28))
            d_total_error = discriminator_loss(logits_real, logits_fake)
            d_total_error.backward()
            D_solver.step()

            G_solver.zero_grad()
            fake_images = G(sample_noise(batch_size, noise_size).to(device))
            g_error = generator_loss(D(fake_images.view(batch_size, 1, 28, 28)))
            g_error.backward()
            G_solver.step()

            if iter_count % show_every == 0:
                if verbose:
                    print(
                        f"Iter: {iter_count}, D: {d_total_error.item():.4}, G:{g_error.item():.4}"
                    )
                images.append(fake_images.detach().cpu().numpy()[0:16])
            iter_count += 1
        if iter_count == 0:
            # The course's loop skips every batch that is not exactly batch_size images.
            raise ValueError(
                f"run_a_gan: loader_train gave no batch of batch_size={batch_size} images, so "
                "nothing was trained; give it batches of that size"
            )
    return images
