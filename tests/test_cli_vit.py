"""``cs231n vit train``: the Vision Transformer on MNIST-format images, run as a user would."""

import json

import pytest
import torch
from test_vit_training import striped_mnist

from cs231n.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    striped_mnist(root / "fashion-mnist", n_train=300, n_test=60)
    return root


def test_quick_run_writes_checkpoint_results_and_curve_then_resumes(data_dir, tmp_path, capsys):
    name = tmp_path / "runs" / "v"
    args = ["--threads", "1", "vit", "train", "--quick", "--data-dir", str(data_dir), "-q"]
    assert main([*args, "-o", str(name)]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist: 300 training and 60 test images; a ViT of 2 layers, width 32" in out
    assert "16 patches of 7x7; 2 epochs on cpu" in out
    assert "Test accuracy after 2 epochs: " in out
    assert f"Checkpoint: {name}.pt; results: {name}.json; learning curve: {name}_curve.png" in out
    assert sorted(p.name for p in name.parent.iterdir()) == ["v.json", "v.pt", "v_curve.png"]
    summary = json.loads(name.with_suffix(".json").read_text())
    assert summary["config"]["embed_dim"] == 32 and summary["training"]["learning_rate"] == 1e-3
    assert summary["extra"] == {"dataset": "fashion-mnist", "max_images": 2000}
    accuracy = summary["results"]["test_acc@1"]
    assert len(accuracy) == 2 and f"{accuracy[-1]:.4f}" in out

    assert main([*args, "-o", str(name), "--epochs", "3", "--resume"]) == 0
    assert "Test accuracy after 3 epochs" in capsys.readouterr().out
    assert json.loads(name.with_suffix(".json").read_text())["epoch"] == 3


def test_options_override_quick_and_max_images_limits_both_sets(data_dir, tmp_path, capsys):
    args = "--threads 1 vit train --quick --epochs 1 --patch-size 4 --embed-dim 8 --max-images 50"
    assert main([*args.split(), "--data-dir", str(data_dir), "-q", "-o", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out
    assert "50 training and 50 test images; a ViT of 2 layers, width 8, 49 patches of 4x4" in out
    assert "1 epoch on cpu" in out and "after 1 epoch:" in out


@pytest.mark.parametrize(
    "args, message",
    [
        ("--patch-size 5", "argument --patch-size: invalid choice: 5"),
        ("--dropout 1", "argument --dropout: must be a number in [0, 1), got 1"),
        ("--embed-dim 0", "argument --embed-dim: must be an integer from 1 to 65536"),
        ("--lr nan", "argument --lr: must be a positive number"),
        ("--dataset cifar10", "argument --dataset: invalid choice: 'cifar10'"),
        ("--device cuda:7", "argument --device: device 'cuda:7' is not available here"),
    ],
)
def test_bad_options_are_refused_by_the_parser(args, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["vit", "train", *args.split()])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and message in err


@pytest.mark.parametrize(
    "args, message",
    [
        ("--embed-dim 10 --num-heads 3", "--embed-dim: embed_dim 10 is not divisible by num_heads"),
        (
            "--embed-dim 65536 --dim-feedforward 65536 --num-layers 64",
            "a ViT with --embed-dim 65536, --num-layers 64, --dim-feedforward 65536",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_before_any_work(args, message, tmp_path, capsys):
    code = main(
        ["vit", "train", *args.split(), "--data-dir", str(tmp_path), "-o", str(tmp_path / "v")]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.startswith("cs231n: error: ") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_data_and_damaged_checkpoints_are_one_line(tmp_path, capsys, monkeypatch):
    from cs231n.data import mnist as mnist_data

    monkeypatch.setitem(mnist_data.DEBIAN_DIRS, "fashion-mnist", tmp_path / "none")
    code = main(["vit", "train", "--quick", "--data-dir", str(tmp_path), "-o", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 2 and "fashion-mnist not found in" in err and err.count("\n") == 1

    striped_mnist(tmp_path / "fashion-mnist", n_train=20, n_test=10)
    (tmp_path / "v.pt").write_bytes(b"not a checkpoint")
    args = ["vit", "train", "--quick", "--data-dir", str(tmp_path), "-o", str(tmp_path / "v")]
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "v.pt: not a readable ViT checkpoint" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda s: s["optimizer"]["state"][3]["exp_avg_sq"].fill_(float("nan")),
            "v.pt: optimiser state exp_avg_sq of parameter 3 (transformer.layers.0.self_attn."
            "key.bias) holds NaN or infinite values",
        ),
        (
            lambda s: s["config"].update(embed_dim=10**6, num_heads=2),
            "v.pt: the model it describes (8,000,334,000,138 parameters) needs about",
        ),
        (
            lambda s: s["model_state"].update(
                {"head.bias": s["model_state"]["head.bias"].to(torch.int16)}
            ),
            "v.pt: weight 'head.bias' must hold floats, got int16",
        ),
    ],
)
def test_a_resume_from_a_checkpoint_that_cannot_be_used_is_refused(
    data_dir, tmp_path, capsys, change, message
):
    """NaN moments were resumed from (exit 0, the NaN weights then saved over NAME.pt); a
    configuration of a huge model died in the allocator (issue #19 a)."""
    name = tmp_path / "v"
    args = ["--threads", "1", "vit", "train", "--quick", "--data-dir", str(data_dir), "-q"]
    assert main([*args, "--epochs", "1", "--max-images", "40", "-o", str(name)]) == 0
    saved = torch.load(name.with_suffix(".pt"), weights_only=True)
    change(saved)
    torch.save(saved, name.with_suffix(".pt"))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert main([*args, "--epochs", "2", "--max-images", "40", "-o", str(name), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cs231n: error: {tmp_path}/{message}") and err.count("\n") == 1, err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_same_command_continues_the_run_and_restart_starts_over(data_dir, tmp_path, capsys):
    name = tmp_path / "v"
    args = ["--threads", "1", "vit", "train", "--quick", "--data-dir", str(data_dir), "-q"]
    args += ["--epochs", "1", "--max-images", "40", "-o", str(name)]
    assert main(args) == 0
    assert "continuing" not in capsys.readouterr().out
    checkpoint = name.with_suffix(".pt").read_bytes()

    # Run again: the run is finished, so nothing is trained and nothing is lost.
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (
        f"continuing {name} from epoch 1 of 1 (already done: a larger total trains more); --restart starts over\n"
        in out
    )
    assert "Test accuracy after 1 epoch: " in out
    assert name.with_suffix(".pt").read_bytes() == checkpoint

    # Other settings are refused, saying how to start over; --restart does.
    assert main([*args, "--lr", "2e-3"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate 0.001 saved, 0.002 asked" in err
    assert err.endswith("(use --restart to start over, or choose another output)\n")
    assert name.with_suffix(".pt").read_bytes() == checkpoint
    assert main([*args, "--lr", "2e-3", "--restart"]) == 0
    assert "Test accuracy after 1 epoch: " in capsys.readouterr().out
    summary = json.loads(name.with_suffix(".json").read_text())
    assert summary["training"]["learning_rate"] == 2e-3 and summary["epoch"] == 1
