"""Options shared by every command group (cs231n/cli/common.py)."""

import argparse
import json

import pytest
import torch

from cs231n.cli import main
from cs231n.cli.common import continuing


@pytest.mark.parametrize(
    "argv",
    [
        ["gan", "sample", "RUN"],
        ["saliency", "val:0"],
        ["style", "a.jpg", "b.jpg"],
    ],
)
@pytest.mark.parametrize(
    "device", ["bogus", "cuda:99"] + ([] if torch.cuda.is_available() else ["cuda"])
)
def test_device_is_checked_before_any_work(argv, device, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--device", device])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --device: " in err and repr(device) in err and "available" in err
    assert "Traceback" not in err


SEEDED = [
    ["caption", "overfit"],
    ["caption", "train"],
    ["caption", "sample", "ckpt"],
    ["vit", "train"],
    ["fool", "val:0"],
    ["visualize-class", "3"],
    ["style", "c.png", "s.png"],
    ["invert", "c.png"],
    ["gan", "train", "-o", "run"],
    ["gan", "sample", "run"],
    ["gan", "score", "run"],
]


@pytest.mark.parametrize("argv", SEEDED, ids=[" ".join(a[:2]) for a in SEEDED])
@pytest.mark.parametrize("seed", ["-1", "4294967296", "1.5", "x"])
def test_every_seed_option_takes_what_numpy_takes(capsys, argv, seed):
    """--seed -1 was reported without the option's name, after a good cached Shapes set was
    declared damaged and rebuilt (issue #19 d): every command checks its seed first."""
    from cs231n.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--seed", seed])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert "argument --seed: must be an integer from 0 to 4294967295, got" in err


TRAINING = [
    ["caption", "train"],
    ["vit", "train"],
    ["ssl", "train"],
    ["gan", "train", "-o", "run"],
    ["diffusion", "train"],
]


@pytest.mark.parametrize("argv", TRAINING, ids=[a[0] for a in TRAINING])
def test_resume_and_restart_are_one_or_the_other(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--resume", "--restart"])
    assert exit_.value.code == 2
    assert "argument --restart: not allowed with argument --resume" in capsys.readouterr().err


def test_continuing_says_so_with_the_saved_progress(tmp_path, capsys):
    default, restart = argparse.Namespace(restart=False), argparse.Namespace(restart=True)
    state = tmp_path / "state.json"
    assert not continuing(default, "RUN", state, ("epoch",), 10)  # nothing to continue
    state.write_text(json.dumps({"epoch": 3}))
    assert not continuing(restart, "RUN", state, ("epoch",), 10)
    assert capsys.readouterr().out == ""
    assert continuing(default, "RUN", [tmp_path / "none", state], ("epoch",), 10)
    assert capsys.readouterr().out == "continuing RUN from epoch 3 of 10; --restart starts over\n"

    torch.save({"state": {"step": 7}}, tmp_path / "model.pt")
    assert continuing(default, "RUN", tmp_path / "model.pt", ("state", "step"), 9, "step")
    assert capsys.readouterr().out == "continuing RUN from step 7 of 9; --restart starts over\n"
    # a run at or past its total trains nothing as asked: the line says so
    assert continuing(default, "RUN", tmp_path / "model.pt", ("state", "step"), 5, "step")
    assert capsys.readouterr().out == (
        "continuing RUN from step 7 of 5 (already done: a larger total trains more); "
        "--restart starts over\n"
    )

    # A checkpoint that cannot be read is the trainer's to refuse, with the reason.
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert continuing(default, "RUN", tmp_path / "bad.pt", ("epoch",), 10)
    out = capsys.readouterr().out
    assert (
        out == f"continuing RUN from its checkpoint {tmp_path / 'bad.pt'}; --restart starts over\n"
    )
