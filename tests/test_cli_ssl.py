"""``cs231n ssl train`` and ``cs231n ssl evaluate``, run as a user would (on a small folder of
MNIST-format images)."""

import json

import pytest
from test_vit_training import striped_mnist

from cs231n.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    striped_mnist(root / "fashion-mnist", n_train=160, n_test=40)
    return root


def test_train_then_evaluate(data_dir, tmp_path, capsys):
    run = tmp_path / "runs" / "s"
    common = ["--threads", "1", "ssl"]
    train = [*common, "train", "--quick", "--width", "4", "--batch-size", "32", "--epochs", "1"]
    assert main([*train, "--data-dir", str(data_dir), "-o", str(run), "-q"]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist: 160 training images (grey); SimCLR with small (width 4), batch 32" in out
    assert f"Run folder: {run}" in out and f"cs231n ssl evaluate {run}" in out
    config = json.loads((run / "config.json").read_text())
    assert config["width"] == 4 and config["max_images"] == 1024 and config["epochs"] == 1

    evaluate = [*common, "evaluate", str(run), "--supervised-steps", "2", "--test-images", "30"]
    assert main([*evaluate, "--data-dir", str(data_dir), "-q"]) == 0
    out = capsys.readouterr().out
    for name in ("simclr", "random", "pixels", "supervised"):
        assert f"\n{name}" in out
    assert "supervised classifier:" in out and "after 2 steps" in out
    results = json.loads((run / "evaluation.json").read_text())
    assert results["test_images"] == 30 and results["labelled_images"] == 16

    # A resume with more epochs continues the run.
    assert (
        main([*train[:-1], "2", "--resume", "--data-dir", str(data_dir), "-o", str(run), "-q"]) == 0
    )
    assert "Loss per epoch: " in capsys.readouterr().out
    assert len(json.loads((run / "losses.json").read_text())["loss"]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        ("train --batch-size 1", "argument --batch-size: must be an integer"),
        ("train --temperature 0", "argument --temperature: must be a positive number"),
        ("train --arch vgg", "argument --arch: invalid choice: 'vgg'"),
        ("train --quick --course", "not allowed with argument"),
        ("evaluate RUN --k 0", "argument --k: must be"),
        (
            "evaluate RUN --label-fraction 0",
            "argument --label-fraction: must be a number in (0, 1]",
        ),
    ],
)
def test_bad_options_are_refused_by_the_parser(args, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["ssl", *args.split()])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_errors_before_any_work(tmp_path, capsys):
    assert main(["ssl", "evaluate", str(tmp_path)]) == 2
    assert "no checkpoint.pt here" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    args = ["ssl", "train", "--dataset", str(tmp_path / "empty"), "-o", str(tmp_path / "r")]
    assert main(args) == 2
    assert "no images found" in capsys.readouterr().err
    assert main(["ssl", "train", "--max-images", "10", "-o", str(tmp_path / "r")]) == 2
    assert "smaller than batch_size" in capsys.readouterr().err


def test_the_same_command_continues_the_run_and_restart_starts_over(data_dir, tmp_path, capsys):
    run = tmp_path / "s"
    args = ["--threads", "1", "ssl", "train", "--quick", "--width", "4", "--batch-size", "32"]
    args += ["--epochs", "1", "--data-dir", str(data_dir), "-o", str(run), "-q"]
    assert main(args) == 0
    assert "continuing" not in capsys.readouterr().out
    checkpoint = (run / "checkpoint.pt").read_bytes()

    # Run again: the run is finished, so nothing is trained and nothing is lost.
    assert main(args) == 0
    assert (
        f"continuing {run} from epoch 1 of 1 (already done: a larger total trains more); --restart starts over\n"
        in capsys.readouterr().out
    )
    assert (run / "checkpoint.pt").read_bytes() == checkpoint
    assert len(json.loads((run / "losses.json").read_text())["loss"]) == 1

    # Other settings are refused, saying how to start over; --restart does.
    assert main([*args, "--lr", "2e-3"]) == 2
    err = capsys.readouterr().err
    assert "lr 0.001 saved, 0.002 asked" in err
    assert err.endswith("(use --restart to start over, or choose another -o)\n")
    assert (run / "checkpoint.pt").read_bytes() == checkpoint
    assert main([*args, "--lr", "2e-3", "--restart"]) == 0
    assert "continuing" not in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["lr"] == 2e-3
    assert len(json.loads((run / "losses.json").read_text())["loss"]) == 1
