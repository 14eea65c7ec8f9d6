"""The command line, run as a user would (a subprocess) and in-process for speed."""

import subprocess
import sys

import pytest

from cs231n import __version__
from cs231n.cli import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "cs231n.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_version_and_help():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"cs231n {__version__}"
    result = run_cli("--help")
    assert result.returncode == 0 and "caption" in result.stdout
    result = run_cli("caption", "overfit", "--help")
    assert result.returncode == 0 and "--cell" in result.stdout and "0.995" in result.stdout


def test_overfit_quick_run_writes_plot(tmp_path, capsys):
    out = tmp_path / "curve.png"
    args = "caption overfit --cell lstm --epochs 2 --hidden-dim 16 --wordvec-dim 8 --print-every 1"
    code = main([*args.split(), "-o", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "(Iteration 1 / 4) loss:" in text and "Final loss:" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["caption", "overfit", "--cell", "gru"], "invalid choice: 'gru'"),
        (["caption", "overfit", "--epochs", "0"], "must be a positive integer"),
        (["caption", "overfit", "--lr", "-1"], "must be a positive number"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = "caption overfit --epochs 1 --hidden-dim 8 --wordvec-dim 4 -q".split()
    result = run_cli(*args, "-o", str(blocker / "curve.png"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "curve.png" in result.stderr
