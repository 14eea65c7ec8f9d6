"""cs231n.core.progress: a live bar on a terminal, a few plain lines in a log (issue #23, item 3).

Time is a fake clock here (tqdm reads ``tqdm.std.time``), so every count below is exact."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tqdm.std

from cs231n.core import progress
from cs231n.core.config import data_path
from cs231n.core.progress import LogBar, progress_bar, progress_write


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tqdm.std, "time", clock)
    monkeypatch.delenv(progress.INTERVAL_ENV_VAR, raising=False)
    monkeypatch.delenv("RANK", raising=False)
    return clock


class Terminal(io.StringIO):
    def isatty(self):
        return True


def lines(text):
    """Lines as a log viewer counts them: each carriage return starts one too."""
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


def run_loop(bar, clock, steps, seconds_per_step):
    for i in range(steps):
        clock.now += seconds_per_step
        bar.set_postfix(loss=f"{1 / (i + 1):.4f}")  # as the solvers do, every step
        bar.update(1)
    bar.close()


def test_a_log_gets_a_line_at_the_start_every_interval_and_at_the_end(clock):
    out = io.StringIO()
    bar = progress_bar(total=1000, desc="train", file=out, interval=30)
    assert isinstance(bar, LogBar)
    run_loop(bar, clock, 1000, 0.125)  # 125 s (a step length exact in binary)
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    got = text.splitlines()
    # 0 s, then the step at 30, 60, 90 and 120 s, then the end at 125 s
    steps = [re.search(r"(\d+)/1000", line).group(1) for line in got]
    assert steps == ["0", "240", "480", "720", "960", "1000"]
    assert got[-1].startswith("train: 100%") and "loss=0.0010" in got[-1]


def test_a_terminal_gets_the_live_bar(clock):
    """The same loop on a terminal: tqdm's redraws in place (the old behaviour everywhere)."""
    out = Terminal()
    bar = progress_bar(total=1000, desc="train", file=out, interval=30)
    assert not isinstance(bar, LogBar)
    run_loop(bar, clock, 1000, 0.125)
    assert out.getvalue().count("\r") > 100


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")
def test_a_pseudo_terminal_of_width_0_gets_the_log_lines():
    """``docker run -t`` and ``script`` without a terminal give a pty of 0 columns, where
    tqdm's live bar draws nothing; once it has a width it is a terminal."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    with os.fdopen(master, "rb", buffering=0), os.fdopen(slave, "w") as pty:
        for rows, columns, log in ((0, 0, True), (30, 100, False)):
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            bar = progress_bar(total=1, file=pty, leave=False)
            bar.close()
            assert isinstance(bar, LogBar) is log


def test_a_slow_loop_gets_a_line_per_step_at_most_one_per_interval(clock):
    out = io.StringIO()
    bar = progress_bar(total=4, file=out, interval=30)
    run_loop(bar, clock, 4, 45.0)
    assert len(out.getvalue().splitlines()) == 5  # the start, then each step


def test_a_short_loop_gets_two_lines(clock):
    out = io.StringIO()
    for _ in progress_bar(range(50), desc="x", file=out, interval=30):
        clock.now += 0.01
    got = out.getvalue().splitlines()
    assert len(got) == 2 and "0/50" in got[0] and "50/50" in got[1]


def test_written_messages_do_not_redraw_the_bar(clock, capsys):
    out = io.StringIO()
    bar = progress_bar(total=10, desc="x", file=out, interval=30)
    for i in range(10):
        bar.update(1)
        progress_write(f"epoch {i}")
    bar.close()
    assert capsys.readouterr().out.splitlines() == [f"epoch {i}" for i in range(10)]
    assert len(out.getvalue().splitlines()) == 2


def test_description_changes_wait_for_the_next_line(clock):
    """ViT's train_val sets the description at every batch: tqdm would redraw each time."""
    out = io.StringIO()
    bar = progress_bar(range(100), file=out, interval=30)
    for i in bar:
        clock.now += 1.0
        bar.set_description(f"Epoch {i}")
    got = out.getvalue().splitlines()
    assert len(got) == 5 and got[-1].startswith("Epoch 99")


@pytest.mark.parametrize("kwargs", [{"disable": True}, {"main_process": False}])
def test_quiet_and_other_ranks_print_nothing(clock, kwargs):
    for out in (io.StringIO(), Terminal()):
        bar = progress_bar(total=10, file=out, **kwargs)
        run_loop(bar, clock, 10, 10.0)
        assert out.getvalue() == ""


def test_the_rank_comes_from_an_initialised_torch_distributed(clock, monkeypatch):
    class Dist:
        rank = 1

        def is_available(self):
            return True

        def is_initialized(self):
            return True

        def get_rank(self):
            return self.rank

    dist = Dist()
    monkeypatch.setitem(sys.modules, "torch.distributed", dist)
    out = io.StringIO()
    run_loop(progress_bar(total=3, file=out), clock, 3, 1.0)
    assert out.getvalue() == ""
    dist.rank = 0
    run_loop(progress_bar(total=3, file=out), clock, 3, 1.0)
    assert out.getvalue().count("\n") == 2


def test_before_the_group_exists_the_rank_comes_from_torchrun(clock, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.distributed", None)
    out = io.StringIO()
    for rank, lines_written in (("1", 0), ("0", 2), ("x", 2)):
        monkeypatch.setenv("RANK", rank)
        before = out.getvalue().count("\n")
        run_loop(progress_bar(total=3, file=out), clock, 3, 1.0)
        assert out.getvalue().count("\n") - before == lines_written


def test_the_interval_comes_from_the_environment(clock, monkeypatch):
    monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "10")
    out = io.StringIO()
    run_loop(progress_bar(total=100, file=out), clock, 100, 1.0)
    assert len(out.getvalue().splitlines()) == 11  # start, every 10 s, the last at 100 s


@pytest.mark.parametrize(
    ("value", "message"),
    [(-1, "interval must be a finite"), (float("nan"), "got nan"), ("5", "got '5'")],
)
def test_a_bad_interval_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        progress_bar(total=1, interval=value)


def test_a_bad_interval_in_the_environment_is_named(monkeypatch):
    monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "soon")
    with pytest.raises(ValueError, match=r"\$CS231N_PROGRESS_INTERVAL .* got 'soon'"):
        progress_bar(total=1)


def test_the_captioning_solvers_loop_writes_two_lines_to_a_log(clock, capsys):
    """run_training (the NumPy and Transformer captioning solvers) sets the postfix at every
    iteration: 40 redraws before, 2 lines now (pytest's captured stderr is no terminal)."""
    import numpy as np

    from cs231n.captioning_solver import CaptioningSolver
    from cs231n.classifiers.rnn import CaptioningRNN
    from cs231n.coco_utils import random_caption_data

    data = random_caption_data(num_train=40, feature_dim=8, max_words=5, seed=3)
    np.random.seed(0)
    model = CaptioningRNN(data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7)
    solver = CaptioningSolver(model, data, batch_size=1, num_epochs=1, verbose=False)
    solver.progress = True
    solver.train()
    got = capsys.readouterr().err.splitlines()
    assert len(got) == 2 and "40/40" in got[-1] and "loss=" in got[-1]


def test_the_vit_epoch_writes_two_lines_to_a_log(clock, capsys):
    """train_val (course 2025: classification_solver_vit) sets the description per batch."""
    import torch

    from cs231n.classification_solver_vit import train_val

    data = torch.utils.data.TensorDataset(torch.randn(40, 3, 2, 2), torch.arange(40) % 7)
    loader = torch.utils.data.DataLoader(data, batch_size=2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 7))
    train_val(model, loader, None, 1, 1)
    got = capsys.readouterr().err.splitlines()
    assert len(got) == 2 and got[-1].startswith("Test Epoch: [1/1]") and "20/20" in got[-1]


@pytest.mark.slow
def test_a_command_writing_to_a_file_writes_a_few_lines(tmp_path):
    """``cs231n style`` with its output going to a file, as in a log, CI or ``nohup``. Its loop
    sets the bar's postfix at every iteration, which redrew the bar each time: 40 carriage-
    return lines here before this module. Now: 2 progress lines (start, end) unless an
    iteration crosses the 30 s interval, plus the command's own 3 lines."""
    content = data_path("styles", "tubingen.jpg").resolve()
    style = data_path("styles", "the_scream.jpg").resolve()
    if not (content.is_file() and style.is_file() and data_path("squeezenet1_1.pt").is_file()):
        pytest.skip("needs the style images and SqueezeNet weights (CS231N_DATA)")
    log = tmp_path / "log"
    iterations = 40
    with open(log, "w") as f:
        proc = subprocess.run(
            [sys.executable, "-m", "cs231n", "style", str(content), str(style), "--size", "32",
             "--style-size", "32", "--iterations", str(iterations), "-o", str(tmp_path / "s.png")],
            stdout=f, stderr=subprocess.STDOUT, cwd=tmp_path,
            env={**os.environ, "CS231N_DATA": str(data_path().resolve()), "MPLBACKEND": "Agg",
                 "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
    text = log.read_text()
    assert proc.returncode == 0, text
    got = lines(text)
    assert "\r" not in text
    bar_lines = [line for line in got if line.startswith("style:")]
    assert bar_lines[0].startswith("style:   0%") and f"{iterations}/{iterations}" in bar_lines[-1]
    # one line per 30 s of the loop beyond start and end (its elapsed time, as tqdm prints it)
    minutes, seconds = re.search(r"\[(\d+):(\d+)<", bar_lines[-1]).groups()
    assert 2 <= len(bar_lines) <= 2 + (60 * int(minutes) + int(seconds)) // 30
    assert len(got) - len(bar_lines) == 3  # the command's own: settings, result, saved image
    assert Path(tmp_path / "s.png").is_file()
