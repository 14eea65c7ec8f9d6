"""The command line, run as a user would (a subprocess) and in-process for speed."""

import json
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


@pytest.fixture(scope="module")
def shapes_home(tmp_path_factory):
    """A data directory without COCO, so the caption commands use the built-in Shapes data set
    (generated on first use, ~15 s, in the test session's cache)."""
    return tmp_path_factory.mktemp("data")


@pytest.mark.slow
def test_caption_train_sample_evaluate_on_builtin_data(shapes_home, tmp_path, capsys, monkeypatch):
    args = f"--data-dir {shapes_home}".split()
    ckpt = str(tmp_path / "run" / "cap")
    train = "caption train --epochs 2 --max-train 600 --hidden-dim 32 --wordvec-dim 16 -q"
    assert main([*train.split(), *args, "-o", ckpt]) == 0
    out = capsys.readouterr().out
    assert "builtin data: 600 training captions" in out and "semantic_accuracy" in out
    assert (tmp_path / "run" / "cap.npz").exists() and (tmp_path / "run" / "cap_loss.png").exists()

    # Resume to a third epoch.
    assert (
        main([*train.replace("--epochs 2", "--epochs 3").split(), *args, "-o", ckpt, "--resume"])
        == 0
    )
    assert "Trained 3 epochs" in capsys.readouterr().out

    page = tmp_path / "page.html"
    assert main(["caption", "sample", ckpt, "--num", "3", "-o", str(page), *args]) == 0
    out = capsys.readouterr().out
    assert out.count("greedy:") == 3 and out.count("beam 3:") == 3 and "truth:" in out
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 3 and "ground truth" in html

    # The pure-Python scorers: Java's tokenizer and METEOR take ~30 s to start here, and
    # tests/test_captioning_metrics.py tests them.
    monkeypatch.setattr("cs231n.captioning_metrics.java_available", lambda: False)
    result = tmp_path / "scores.json"
    assert main(["caption", "evaluate", ckpt, "--max-images", "50", "-o", str(result), *args]) == 0
    out = capsys.readouterr().out
    assert "Bleu_4" in out and "CIDEr" in out and "semantic" in out
    scores = json.loads(result.read_text())
    assert set(scores) == {"greedy", "beam3"}
    assert 0 <= scores["greedy"]["semantic_accuracy"] <= 1


def test_caption_commands_report_missing_checkpoint(tmp_path):
    result = run_cli("caption", "sample", str(tmp_path / "missing"))
    assert result.returncode == 2 and "missing.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_closed_pipe_is_not_an_error():
    # Regression: `cs231n data path | head -1` printed "cs231n: error: [Errno 32] Broken pipe".
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone: the first write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "cs231n.cli", "data", "path"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert "Broken pipe" not in result.stderr and "Traceback" not in result.stderr
