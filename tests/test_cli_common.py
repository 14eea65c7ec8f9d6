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
