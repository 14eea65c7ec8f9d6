"""GAN training runs: determinism, resume, WGAN-GP, spectral norm, the CLI."""

import json

import numpy as np
import pytest
import torch

from cs231n.cli import main
from cs231n.gan import training as gan_training


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
    # Each differing setting is named, with how to start over (the whole configs were dumped).
    with pytest.raises(ValueError) as caught:
        gan_training.train(tmp_path / "r", images(), loss="lsgan", epochs=3, batch_size=32)
    assert str(caught.value) == (
        f"{tmp_path / 'r' / 'checkpoint.pt'}: cannot resume, settings differ from the saved run: "
        "loss 'gan' saved, 'lsgan' asked; batch_size 64 saved, 32 asked (use --restart to "
        "start over, or choose another -o)"
    )


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
    from test_data_mnist import fake_mnist

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
    from cs231n.gan.training import tile_images

    images = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2) / 12
    canvas = tile_images(images, cols=2, pad=1)
    assert canvas.shape == (2 * 3 + 1, 2 * 3 + 1)
    np.testing.assert_array_equal(canvas[1:3, 1:3], images[0])
    np.testing.assert_array_equal(canvas[1:3, 4:6], images[1])
    np.testing.assert_array_equal(canvas[4:6, 1:3], images[2])
    assert (canvas[4:6, 4:6] == 1).all() and (canvas[0] == 1).all()  # empty cell, gaps: white


# ---- runs that cannot train, and checkpoints that cannot be read ----


def test_fewer_images_than_one_batch_is_an_error_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="100 images make no full batch of 128"):
        gan_training.train(tmp_path / "r", images(100), epochs=2, batch_size=128)
    assert not (tmp_path / "r").exists()  # nothing written


def test_batch_norm_needs_two_images(tmp_path):
    with pytest.raises(ValueError, match="batch normalisation, which needs at least 2"):
        gan_training.train(tmp_path / "r", images(8), arch="dc", epochs=1, batch_size=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"sample_every": 0}, "sample_every must be at least 1"),
        ({"images": images(8) * 255}, r"finite values in \[0, 1\]"),
        ({"images": images(8).view(8, 784)}, r"\(N, 1, 28, 28\)"),
    ],
)
def test_bad_training_arguments(tmp_path, kwargs, match):
    args = {"images": images(8), "epochs": 1, "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        gan_training.train(tmp_path / "r", args.pop("images"), **args)


def test_course_loop_refuses_to_train_nothing():
    from cs231n import gan_pytorch as gan

    D, G = gan.discriminator(), gan.generator()
    loader = [(images(100), torch.zeros(100))]  # one batch of 100, batch_size 128
    with pytest.raises(ValueError, match="no batch of batch_size=128"):
        gan.run_a_gan(D, G, gan.get_optimizer(D), gan.get_optimizer(G), gan.discriminator_loss,
                      gan.generator_loss, loader, verbose=False)  # fmt: skip


def test_cli_max_images_below_batch_size(tmp_path, capsys):
    from test_data_mnist import fake_mnist

    folder = fake_mnist(tmp_path / "idx", n_train=300)
    run = tmp_path / "run"
    code = main(["gan", "train", "--dataset", str(folder), "--epochs", "2", "--max-images", "100",
                 "-q", "-o", str(run)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "100 images make no full batch of 128" in err and "Traceback" not in err
    assert not (run / "checkpoint.pt").exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gan") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gan_training, "save_grid", placeholder_grid)
        gan_training.train(run, images(64), epochs=1, batch_size=64)
    return run


def _rewrite(path, change):
    saved = torch.load(path, weights_only=True)
    change(saved)
    torch.save(saved, path)


class Pickled:
    pass


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "not a readable GAN checkpoint"),
        (lambda p: p.write_bytes(b""), "not a readable GAN checkpoint"),
        (lambda p: p.write_text("not a checkpoint"), "not a readable GAN checkpoint"),
        (lambda p: torch.save({"something": 1}, p), "not a GAN checkpoint"),
        (lambda p: torch.save(Pickled(), p), "Python objects beyond tensors"),
        (lambda p: _rewrite(p, lambda s: s.update(rng=torch.zeros(3))), "rng is not a torch random state"),
        (lambda p: _rewrite(p, lambda s: s["config"].update(arch="dc")), "differ|D weight '4.weight' is missing"),
        (lambda p: _rewrite(p, lambda s: s["state"].update(epoch=-4)), "training state"),
        (lambda p: _rewrite(p, lambda s: s["G"].update({k: v * float("nan") for k, v in s["G"].items()})), "NaN"),
    ],
    ids=["truncated", "empty", "text", "foreign", "pickle", "rng", "arch", "epoch", "nan"],
)  # fmt: skip
def test_corrupt_checkpoints_are_named(trained_run, tmp_path, capsys, corrupt, match):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    corrupt(run / "checkpoint.pt")
    assert main(["gan", "sample", str(run), "-n", "4", "-o", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    with pytest.raises(ValueError, match=match):
        gan_training.train(run, images(64), epochs=2, batch_size=64)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["gan", "sample", "RUN", "-n", "100000"],
            "argument -n: must be an integer from 1 to 1024",
        ),
        (
            ["gan", "score", "RUN", "--samples", "1"],
            "--samples: must be an integer from 2 to 10000",
        ),
        (["gan", "train", "-o", "R", "--epochs", "0"], "--epochs: must be a positive integer"),
        (["gan", "train", "-o", "R", "--batch-size", "-3"], "--batch-size: must be a positive"),
    ],
)
def test_cli_sizes_are_refused_before_any_work(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, capsys, monkeypatch):
    import shutil

    from test_data_mnist import fake_mnist

    folder = fake_mnist(tmp_path / "idx", n_train=128)
    run = tmp_path / "run"
    args = ["gan", "train", "--dataset", str(folder), "--batch-size", "64", "-q", "-o", str(run)]
    monkeypatch.setattr(gan_training, "save_grid", placeholder_grid)
    assert main([*args, "--epochs", "1"]) == 0
    before = (run / "checkpoint.pt").read_bytes()
    real_save = torch.save

    def full_disk_save(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 4480")

    monkeypatch.setattr(torch, "save", full_disk_save)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9, 0))
    capsys.readouterr()
    assert main([*args, "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "no space left on the device to write" in err and "previous file is kept" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (run / "checkpoint.pt").read_bytes() == before


# ----------------------------------------------------------------------------------------------
# Checkpoints that load but cannot be used (issue #19 a): refused by `gan sample` and by a
# resume before any work, in one line naming the file; the good files left as they were


def _flip_a_weight_bit(path):
    """One bit of the largest tensor's bytes (not of the ZIP's headers)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    h = info.header_offset
    start = h + 30 + int.from_bytes(data[h + 26 : h + 28], "little")
    start += int.from_bytes(data[h + 28 : h + 30], "little")
    data[start + 3] ^= 0x40
    path.write_bytes(bytes(data))


def _set_moment(opt, index, key, value):
    def change(saved):
        state = saved[opt]["state"][index]
        state[key] = value(state[key])

    return lambda p: _rewrite(p, change)


def _degenerate_rng(saved):
    saved["rng"][24 : 24 + 624 * 8] = 0  # the Mersenne Twister's words


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (
            lambda p: _rewrite(p, lambda s: s.update(rng=s["rng"] * 0 + 255)),  # was a traceback
            r"rng is not a valid torch random state \(Invalid mt19937 state\)",
        ),
        (lambda p: _rewrite(p, _degenerate_rng), r"rng is degenerate: it draws only zeros"),
        (
            _set_moment("G_opt", 0, "exp_avg", lambda v: v * float("nan")),  # was resumed from
            r"G_opt exp_avg of parameter 0 \(0.weight\) holds NaN or infinite values",
        ),
        (
            _set_moment("D_opt", 1, "exp_avg_sq", lambda v: v[:3]),
            r"D_opt exp_avg_sq of parameter 1 \(1.bias\) has shape \(3,\), the model needs \(256,",
        ),
        (
            _set_moment("D_opt", 0, "step", lambda v: v * 0 + 99),
            r"D_opt of parameter 0 \(1.weight\): Adam's step count is 99, but 1 iterations",
        ),
        (
            lambda p: _rewrite(p, lambda s: s["G_opt"]["param_groups"][0].update(lr=float("inf"))),
            r"G_opt lr must be a positive number, got inf",
        ),
        (
            lambda p: _rewrite(
                p, lambda s: s["G"].update({"0.weight": (s["G"]["0.weight"] * 99).long()})
            ),  # was cast silently: a grid of noise
            r"G weight '0.weight' must hold floats, got int64",
        ),
        (
            lambda p: _rewrite(p, lambda s: s["state"]["history"].append((1.0, 1.0))),
            r"training state is malformed \(needs epoch, iteration and a history of one",
        ),
        (
            lambda p: _rewrite(p, lambda s: s["config"].update(spectral_norm="yes")),
            r"config must name a loss .* and spectral_norm true or false",
        ),
        (_flip_a_weight_bit, r"checkpoint.pt: member .* is damaged \(CRC mismatch"),
    ],
    ids=[
        "rng", "rng-zero", "nan-moment", "moment-shape", "step", "lr", "int-weights", "history",
        "spectral-norm", "bit-flip",
    ],
)  # fmt: skip
def test_checkpoints_that_cannot_be_used_are_refused_before_any_work(
    trained_run, tmp_path, capsys, corrupt, match
):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    corrupt(run / "checkpoint.pt")
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(["gan", "sample", str(run), "-n", "4", "-o", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cs231n: error: {run / 'checkpoint.pt'}: ") and err.count("\n") == 1
    assert not (tmp_path / "g.png").exists()
    with pytest.raises(ValueError, match=match):
        gan_training.train(run, images(64), epochs=2, batch_size=64)
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.fixture(scope="module")
def dc_run(tmp_path_factory):
    """A "dc" run: its generator has batch normalisation (running statistics in the state)."""
    run = tmp_path_factory.mktemp("gan-dc") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gan_training, "save_grid", placeholder_grid)
        gan_training.train(run, images(16), arch="dc", epochs=1, batch_size=8)
    return run


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s: s["G"]["2.running_var"].fill_(-1.0), r"G weight '2.running_var' has negative"),
        (
            lambda s: s["G"].update({"5.num_batches_tracked": torch.tensor(2.0)}),
            r"G weight '5.num_batches_tracked' must hold integers, got float32",
        ),
        (lambda s: s["D"].pop("4.bias"), r"D weight '4.bias' is missing"),
    ],
)
def test_the_networks_running_statistics_are_checked_too(dc_run, tmp_path, change, match):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(dc_run, run)
    _rewrite(run / "checkpoint.pt", change)
    with pytest.raises(ValueError, match=match):
        gan_training.load_generator(run)


def test_cli_resume_refuses_a_nan_moment_and_keeps_the_good_run(tmp_path, capsys, monkeypatch):
    """The NaN moment was resumed from (exit 0) and the NaN weights saved over the run."""
    from test_data_mnist import fake_mnist

    folder = fake_mnist(tmp_path / "idx", n_train=64)
    run = tmp_path / "run"
    args = ["gan", "train", "--dataset", str(folder), "--batch-size", "32", "-q", "-o", str(run)]
    monkeypatch.setattr(gan_training, "save_grid", placeholder_grid)
    assert main([*args, "--epochs", "1"]) == 0
    _set_moment("G_opt", 2, "exp_avg_sq", lambda v: v * float("inf"))(run / "checkpoint.pt")
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main([*args, "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"cs231n: error: {run / 'checkpoint.pt'}: G_opt exp_avg_sq of parameter 2 (2.weight) "
        "holds NaN or infinite values\n"
    )
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
