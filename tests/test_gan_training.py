"""GAN training runs: determinism, resume, WGAN-GP, spectral norm, the CLI."""

import json

import numpy as np
import pytest
import torch

from cs231n import gan_training
from cs231n.cli import main


def images(n=256, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def placeholder_grid(images, path, title=None):
    """Stands in for gan_training.save_grid in runs whose sample pictures no test looks at:
    matplotlib takes seconds to draw a 64-image grid, and drawing uses no random numbers."""
    path.write_bytes(b"")


@pytest.mark.parametrize("loss", ["gan", "lsgan", "wgan-gp"])
def test_short_runs_are_deterministic(tmp_path, monkeypatch, loss):
    a = gan_training.train(tmp_path / "a", images(), loss=loss, epochs=1, batch_size=64)
    monkeypatch.setattr(gan_training, "save_grid", placeholder_grid)  # only a's are checked
    b = gan_training.train(tmp_path / "b", images(), loss=loss, epochs=1, batch_size=64)
    assert len(a) == 4 and np.allclose(
        np.array(a, dtype=float), np.array(b, dtype=float), equal_nan=True
    )
    assert (tmp_path / "a" / "samples" / "iter_000000.png").exists()
    assert (tmp_path / "a" / "samples" / "final.png").exists()
    assert json.loads((tmp_path / "a" / "config.json").read_text())["loss"] == loss


def test_resume_equals_a_straight_run(tmp_path, monkeypatch):
    monkeypatch.setattr(gan_training, "save_grid", placeholder_grid)
    straight = gan_training.train(tmp_path / "s", images(), epochs=2, batch_size=64)
    gan_training.train(tmp_path / "r", images(), epochs=1, batch_size=64)
    resumed = gan_training.train(tmp_path / "r", images(), epochs=2, batch_size=64)
    np.testing.assert_allclose(resumed, straight, rtol=1e-5)
    with pytest.raises(ValueError, match="differ"):
        gan_training.train(tmp_path / "r", images(), loss="lsgan", epochs=3, batch_size=64)


def test_gradient_penalty_matches_definition():
    torch.manual_seed(0)
    D, _ = gan_training.build_models("fc")
    real, fake = torch.rand(4, 784), torch.rand(4, 784)
    torch.manual_seed(1)
    gp = gan_training.gradient_penalty(D, real, fake)
    torch.manual_seed(1)
    eps = torch.rand(4, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat)
    torch.testing.assert_close(gp, ((g.norm(dim=1) - 1) ** 2).mean(), rtol=1e-5, atol=1e-7)


def test_spectral_norm_wraps_discriminator_layers():
    D, _ = gan_training.build_models("dc", spectral_norm=True)
    wrapped = [m for m in D.modules() if hasattr(m, "parametrizations")]
    assert len(wrapped) == 4  # two convolutions, two linear layers
    assert D(torch.rand(2, 1, 28, 28)).shape == (2, 1)


def test_cli_train_sample(tmp_path, capsys, monkeypatch):
    from test_mnist_data import fake_mnist

    folder = fake_mnist(tmp_path / "idx", n_train=300)
    run = tmp_path / "run"
    args = ["gan", "train", "--dataset", str(folder), "--epochs", "1", "--batch-size", "64",
            "--arch", "dc", "-q", "-o", str(run)]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:  # the training's grids; `gan sample` draws one
        patch.setattr(gan_training, "save_grid", placeholder_grid)
        assert main(args) == 0
    assert "Done in" in capsys.readouterr().out
    assert main(["gan", "sample", str(run), "-n", "16", "-o", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["gan", "sample", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.png")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_tile_images_places_each_image_in_its_cell():
    from cs231n.gan_training import tile_images

    images = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2) / 12
    canvas = tile_images(images, cols=2, pad=1)
    assert canvas.shape == (2 * 3 + 1, 2 * 3 + 1)
    np.testing.assert_array_equal(canvas[1:3, 1:3], images[0])
    np.testing.assert_array_equal(canvas[1:3, 4:6], images[1])
    np.testing.assert_array_equal(canvas[4:6, 1:3], images[2])
    assert (canvas[4:6, 4:6] == 1).all() and (canvas[0] == 1).all()  # empty cell, gaps: white
