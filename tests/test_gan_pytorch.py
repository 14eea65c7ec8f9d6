"""GAN models and losses against independent formulas; a short training run."""

import numpy as np
import pytest
import torch

from cs231n import gan_pytorch as gan


def linear(n_in, n_out):
    return n_in * n_out + n_out


@pytest.mark.parametrize(
    "build, count",
    [
        (gan.discriminator, linear(784, 256) + linear(256, 256) + linear(256, 1)),
        (gan.generator, linear(96, 1024) + linear(1024, 1024) + linear(1024, 784)),
        (lambda: gan.build_dc_classifier(128),
         (32 * 25 + 32) + (64 * 32 * 25 + 64) + linear(1024, 1024) + linear(1024, 1)),
        (gan.build_dc_generator,
         linear(96, 1024) + 2 * 1024 + linear(1024, 6272) + 2 * 6272
         + (128 * 64 * 16 + 64) + 2 * 64 + (64 * 16 + 1)),
    ],
)  # fmt: skip
def test_parameter_counts(build, count):
    assert gan.count_params(build()) == count


def test_shapes_and_ranges():
    z = gan.sample_noise(5, gan.NOISE_DIM, seed=0)
    assert z.shape == (5, 96) and z.min() >= -1 and z.max() < 1
    torch.testing.assert_close(z, gan.sample_noise(5, 96, seed=0))
    for G in (gan.generator(), gan.build_dc_generator().eval()):
        out = G(z)
        assert out.shape == (5, 784) and out.abs().max() <= 1
    for D in (gan.discriminator(), gan.build_dc_classifier(5)):
        assert D(torch.rand(5, 1, 28, 28)).shape == (5, 1)
        assert D(out).shape == (5, 1)  # flattened images work too


def test_seeded_models_are_reproducible():
    a, b = gan.discriminator(seed=3), gan.discriminator(seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def naive_bce(x, t):
    s = torch.sigmoid(x)
    return (-(t * torch.log(s) + (1 - t) * torch.log(1 - s))).mean()


def test_bce_loss_matches_definitions():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 1, generator=g, dtype=torch.float64) * 3
    t = (torch.rand(20, generator=g, dtype=torch.float64) > 0.5).double()
    torch.testing.assert_close(gan.bce_loss(x, t), naive_bce(x.view(-1), t))
    torch.testing.assert_close(
        gan.bce_loss(x, t), torch.nn.functional.binary_cross_entropy_with_logits(x.view(-1), t)
    )
    # Stable where the naive formula overflows.
    big = torch.tensor([1000.0, -1000.0])
    assert torch.isfinite(gan.bce_loss(big, torch.tensor([0.0, 1.0])))
    assert gan.bce_loss(big, torch.tensor([1.0, 0.0])) == 0
    with pytest.raises(ValueError, match="3 logits for 2 targets"):
        gan.bce_loss(torch.zeros(3), torch.zeros(2))


def test_gan_losses():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(8, 1, generator=g, dtype=torch.float64)
    fake = torch.randn(8, 1, generator=g, dtype=torch.float64)
    expected_d = naive_bce(real.view(-1), torch.ones(8)) + naive_bce(fake.view(-1), torch.zeros(8))
    torch.testing.assert_close(gan.discriminator_loss(real, fake), expected_d)
    torch.testing.assert_close(
        gan.generator_loss(fake),
        -torch.log(torch.sigmoid(fake)).mean(),  # non-saturating
    )
    # Least squares, Mao et al. eq. 9 with the 1/2 factors, averaged over the batch.
    ls_d = sum(
        0.5 * (r - 1) ** 2 / 8 + 0.5 * f**2 / 8 for r, f in zip(real.view(-1), fake.view(-1))
    )
    torch.testing.assert_close(gan.ls_discriminator_loss(real, fake), ls_d)
    torch.testing.assert_close(
        gan.ls_generator_loss(fake), sum(0.5 * (f - 1) ** 2 / 8 for f in fake.view(-1))
    )


def test_optimizer_and_helpers():
    opt = gan.get_optimizer(gan.discriminator())
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.5, 0.999)
    x = torch.rand(3, 4)
    torch.testing.assert_close(gan.deprocess_img(gan.preprocess_img(x)), x)
    assert (
        gan.preprocess_img(torch.tensor(0.0)) == -1 and gan.preprocess_img(torch.tensor(1.0)) == 1
    )
    assert list(gan.ChunkSampler(3, start=5)) == [5, 6, 7] and len(gan.ChunkSampler(3)) == 3
    layer = torch.nn.Linear(100, 100)
    torch.manual_seed(0)
    layer.apply(gan.initialize_weights)
    bound = np.sqrt(6 / 200)  # Xavier-uniform
    assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound


@pytest.mark.parametrize("arch", ["fc", "dc"])
@pytest.mark.parametrize("losses", ["gan", "lsgan"])
def test_one_epoch_smoke(arch, losses):
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.rand(96, 1, 28, 28), torch.zeros(96))
    loader = torch.utils.data.DataLoader(data, batch_size=32, sampler=gan.ChunkSampler(96))
    D = gan.discriminator() if arch == "fc" else gan.build_dc_classifier(32)
    G = gan.generator() if arch == "fc" else gan.build_dc_generator()
    D.apply(gan.initialize_weights)
    G.apply(gan.initialize_weights)
    before = [p.detach().clone() for p in G.parameters()]
    d_loss, g_loss = (
        (gan.discriminator_loss, gan.generator_loss)
        if losses == "gan"
        else (gan.ls_discriminator_loss, gan.ls_generator_loss)
    )
    images = gan.run_a_gan(
        D,
        G,
        gan.get_optimizer(D),
        gan.get_optimizer(G),
        d_loss,
        g_loss,
        loader,
        show_every=1,
        batch_size=32,
        num_epochs=1,
        verbose=False,
    )
    assert len(images) == 3 and images[0].shape == (16, 784) and np.isfinite(images[-1]).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))


def test_bce_loss_values_are_the_courses_and_its_gradient_is_analytic_at_zero():
    """Regression: autograd of the course's formula gives 0 (target 1) and 0.25 (target 0) at
    logit 0; the analytic gradient is (σ(0) - t) / N = -0.125 and 0.125."""
    import torch.nn.functional as F

    from cs231n.gan_pytorch import bce_loss, generator_loss

    for t, expected in ((1.0, -0.125), (0.0, 0.125)):
        x = torch.zeros(4, requires_grad=True)
        bce_loss(x, torch.full((4,), t)).backward()
        torch.testing.assert_close(x.grad, torch.full((4,), expected), rtol=0, atol=0)
    x = torch.zeros(4, 1, requires_grad=True)
    generator_loss(x).backward()
    assert (x.grad != 0).all()

    g = torch.Generator().manual_seed(0)
    x = torch.cat(
        [torch.randn(60, generator=g, dtype=torch.float64) * 5, torch.zeros(4, dtype=torch.float64)]
    )
    x.requires_grad_(True)
    t = (torch.rand(64, generator=g) > 0.5).double()
    course = (x.clamp(min=0) - x * t + (1 + (-x.abs()).exp()).log()).mean()  # the course's code
    ours = bce_loss(x, t)
    assert ours.item() == course.item()  # bit for bit
    (grad,) = torch.autograd.grad(ours, x)
    (ref,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(x, t), x)
    torch.testing.assert_close(grad, ref, rtol=1e-12, atol=1e-15)
    assert torch.autograd.gradcheck(
        lambda v: bce_loss(v, t), (x.detach().clone().requires_grad_(),)
    )


def test_losses_reproduce_the_courses_check_file():
    """tests/data/gan-checks-tf.npz is the course's 2020 check file (its PyTorch and TensorFlow
    GAN notebooks both read it): the losses of its logits, to float32 precision."""
    from pathlib import Path

    answers = np.load(Path(__file__).parent / "data" / "gan-checks-tf.npz")
    real = torch.from_numpy(answers["logits_real"]).float()
    fake = torch.from_numpy(answers["logits_fake"]).float()
    checks = {
        "d_loss_true": gan.discriminator_loss(real, fake),
        "g_loss_true": gan.generator_loss(fake),
        "d_loss_lsgan_true": gan.ls_discriminator_loss(real, fake),
        "g_loss_lsgan_true": gan.ls_generator_loss(fake),
    }
    for key, value in checks.items():
        assert gan.rel_error(answers[key], value.item()) < 1e-7, key
