"""``cs231n diffusion train | sample``, run as a user would: a quick Fashion-MNIST run, its
samples by both samplers with guidance and the trajectory figure, and one clear error per bad
option before any work."""

import json

import pytest
import torch
from test_vit_training import striped_mnist

from cs231n.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffusion")
    striped_mnist(root / "data" / "fashion-mnist", n_train=64, n_test=10)
    run_dir = root / "run"
    args = ["--threads", "1", "diffusion", "train", "--data", "fashion-mnist", "--quick"]
    args += ["--steps", "4", "--data-dir", str(root / "data"), "-q", "-o", str(run_dir)]
    assert main(args) == 0
    return run_dir


def test_quick_train_writes_the_run(run, capsys):
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "model.pt", "losses.json", "samples.png"} <= names


def test_sample_by_class_with_both_samplers(run, tmp_path, capsys):
    out, traj = tmp_path / "s.png", tmp_path / "t.png"
    args = ["--threads", "1", "diffusion", "sample", str(run), "--class", "sneaker", "-q"]
    assert (
        main([*args, "-n", "4", "--cfg-scale", "2", "-o", str(out), "--trajectory", str(traj)]) == 0
    )
    printed = capsys.readouterr().out
    assert "4 samples of 'sneaker', ddpm in 10 steps, guidance 2" in printed
    assert out.is_file() and traj.is_file()
    assert main([*args, "-n", "2", "--sampler", "ddim", "--steps", "3", "-o", str(out)]) == 0
    assert "ddim in 3 steps, no guidance" in capsys.readouterr().out


def test_several_classes_give_one_row_each(run, tmp_path, capsys):
    from PIL import Image

    out, traj = tmp_path / "rows.png", tmp_path / "t.png"
    args = ["--threads", "1", "diffusion", "sample", str(run), "-q", "--sampler", "ddim"]
    args += ["--steps", "2", "-n", "3", "-o", str(out), "--trajectory", str(traj)]
    assert main([*args, "--class", "sneaker", "--class", "bag"]) == 0
    assert "3 samples each of 'sneaker', 'bag'" in capsys.readouterr().out
    one = Image.open(out).size
    assert main([*args, "--class", "all"]) == 0
    printed = capsys.readouterr().out
    assert "'t-shirt/top', 'trouser'" in printed and "'ankle boot'" in printed
    ten = Image.open(out).size
    # the same 3 columns; 10 rows instead of 2 (each image plus its padding is one row)
    assert ten[0] == one[0] and (ten[1] - 2) * 2 == (one[1] - 2) * 10
    # the trajectory: the first sample of each class, at most 8 rows of 32-pixel frames
    assert Image.open(traj).size[1] == 8 * (32 + 2) + 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--class", "sneakers"], "unknown Fashion-MNIST class 'sneakers'"),
        (["--class", "bag", "--cfg-scale", "nan"], "--cfg-scale: must be a finite number"),
        (["--class", "bag", "--steps", "0"], "--steps: must be a positive integer"),
        (["--class", "bag", "--steps", "4"], "ancestral (ddpm) sampler walks all 10 steps"),
        (["--prompt", "crying face"], "conditioned on a --class, not a --prompt"),
        (["--class", "all", "-n", "26"], "-n 26 samples for each of 10 conditions is 260"),
    ],
)
def test_bad_sample_options(run, tmp_path, capsys, extra, message):
    code = _exit_code(["diffusion", "sample", str(run), *extra, "-o", str(tmp_path / "x.png")])
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def _exit_code(args) -> int:
    """main's return value, or the status of the SystemExit an option's parse error raises."""
    try:
        return main(args)
    except SystemExit as e:
        return e.code


def test_bad_train_options(tmp_path, capsys):
    assert _exit_code(["diffusion", "train", "--data", "cifar"]) != 0
    assert "invalid choice: 'cifar'" in capsys.readouterr().err
    code = _exit_code(["diffusion", "train", "--dim", "2", "-o", str(tmp_path / "r")])
    assert code != 0 and "--dim" in capsys.readouterr().err
    code = _exit_code(["diffusion", "train", "--dim-mults", "1,two", "-o", str(tmp_path / "r")])
    assert code != 0 and "comma-separated integers such as 1,2,4, got '1,two'" in (
        capsys.readouterr().err
    )
    code = _exit_code(["diffusion", "train", "--dim-mults", "1,0", "-o", str(tmp_path / "r")])
    assert code != 0 and "must be integers >= 1, comma-separated, got 1,0" in (
        capsys.readouterr().err
    )
    code = _exit_code(["diffusion", "train", "--dim-mults", "1,1,1,1,1,1", "-o", str(tmp_path)])
    assert code == 2 and "not divisible by 64" in capsys.readouterr().err
    huge = "1,99999999999999999999999"
    code = _exit_code(["diffusion", "train", "--dim-mults", huge, "-o", str(tmp_path / "r")])
    assert code == 2 and "within 4096 channels" in capsys.readouterr().err
    for bad in ("0", "1e-300", "2e6", "nan"):
        assert _exit_code(["diffusion", "train", "--min-snr-gamma", bad]) != 0
        assert "must be a number in [0.001, 1e+06], got" in capsys.readouterr().err
    assert _exit_code(["diffusion", "train", "--lr-schedule", "step"]) != 0
    assert "invalid choice: 'step'" in capsys.readouterr().err


def test_levels_and_schedule_reach_the_run(run, tmp_path, capsys):
    run_dir = tmp_path / "r"
    argv = ["--threads", "1", "diffusion", "train", "--data", "fashion-mnist", "--quick"]
    argv += ["--steps", "2", "--data-dir", str(run.parent / "data"), "-q", "-o", str(run_dir)]
    argv += ["--dim-mults", "1,2,2", "--lr-schedule", "cosine", "--lr", "0.01"]
    assert main([*argv, "--min-snr-gamma", "5"]) == 0
    assert "levels [1, 2, 2]" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["dim_mults"] == [1, 2, 2] and config["model"]["min_snr_gamma"] == 5
    assert config["lr_schedule"] == "cosine" and config["train_lr"] == 0.01
    from cs231n.diffusion.training import load_run

    diffusion, _ = load_run(run_dir)
    assert diffusion.loss_weight.min() < 1  # the weighting the run trained with


def test_help_gives_each_data_sets_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping inside "fashion-mnist"
    with pytest.raises(SystemExit):
        main(["diffusion", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "training steps (default: 4000 for emoji, 2000 for fashion-mnist)" in text
    assert "(default: cosine for emoji, constant for fashion-mnist)" in text
    assert "U-Net width (default: 16)" in text
    assert "(default: 1,2,4,8 for emoji, 1,2,4 for fashion-mnist)" in text
    assert "off: the course's weighting) (default: off)" in text  # --min-snr-gamma


def test_the_same_command_continues_the_run_and_restart_starts_over(run, tmp_path, capsys):
    run_dir = tmp_path / "r"
    argv = ["--threads", "1", "diffusion", "train", "--data", "fashion-mnist", "--quick"]
    argv += ["--steps", "2", "--data-dir", str(run.parent / "data"), "-q", "-o", str(run_dir)]
    assert main(argv) == 0
    assert "continuing" not in capsys.readouterr().out
    checkpoint = torch.load(run_dir / "model.pt", weights_only=True)

    # Run again: the run is finished, so nothing is trained and nothing is lost.
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        f"continuing {run_dir} from step 2 of 2 (already done: a larger total trains more); --restart starts over\n"
        in out
    )
    again = torch.load(run_dir / "model.pt", weights_only=True)  # saved again at the end
    assert again["step"] == 2 and len(json.loads((run_dir / "losses.json").read_text())) == 2
    for key, weight in checkpoint["model"].items():
        assert torch.equal(again["model"][key], weight), key

    # Other settings are refused, saying how to start over; --restart does.
    assert _exit_code([*argv, "--lr", "2e-3"]) == 2
    err = capsys.readouterr().err
    assert err.endswith("(use --restart to start over, or choose another -o)\n")
    assert main([*argv, "--lr", "2e-3", "--restart"]) == 0
    assert "continuing" not in capsys.readouterr().out
    assert json.loads((run_dir / "config.json").read_text())["train_lr"] == 2e-3
