"""Options shared by every command group (cs231n/cli/common.py)."""

import pytest
import torch

from cs231n.cli import main


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
