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
    monkeypatch.setattr("cs231n.captioning.metrics.java_available", lambda: False)
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


# ----------------------------------------------------------------------------------------------
# Hostile input (issue #11): refused before any work, one line naming the option or file


@pytest.mark.parametrize(
    "args, message",
    [
        (["caption", "train", "--lr", "nan"], "argument --lr: must be a positive number, got nan"),
        (["caption", "train", "--lr", "inf"], "argument --lr: must be a positive number, got inf"),
        (["caption", "overfit", "--lr", "-0.1"], "argument --lr: must be a positive number"),
        (
            ["caption", "train", "--lr-decay", "0"],
            "argument --lr-decay: must be a number in (0, 1]",
        ),
        (["caption", "train", "--lr-decay", "1.5"], "--lr-decay: must be a number in (0, 1], got"),
        (["caption", "train", "--lr-decay", "nan"], "--lr-decay: must be a number in (0, 1], got"),
        (["caption", "train", "--batch-size", "0"], "--batch-size: must be a positive integer"),
        (["caption", "train", "--batch-size", "-5"], "--batch-size: must be a positive integer"),
        (["caption", "train", "--epochs", "0"], "argument --epochs: must be a positive integer"),
        (["caption", "train", "--hidden-dim", "-1"], "--hidden-dim: must be a positive integer"),
        (["caption", "train", "--wordvec-dim", "x"], "--wordvec-dim: must be a positive integer"),
        (["caption", "train", "--max-train", "0"], "--max-train: must be a positive integer"),
        (["caption", "overfit", "--num-train", "0"], "--num-train: must be a positive integer"),
        (["caption", "sample", "c", "--temperature", "inf"], "--temperature: must be a positive"),
        (["--threads", "0", "data", "path"], "argument --threads: must be an integer from 1 to"),
    ],
)
def test_bad_option_values_are_refused_naming_the_option(args, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(args)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert message in err and "Traceback" not in err
    assert err.splitlines()[-1].startswith("cs231n")
    assert ": error: argument " in err.splitlines()[-1]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            "caption train --hidden-dim 10000000",
            "a model with --hidden-dim 10000000, --wordvec-dim 256, --model lstm, --batch-size "
            "100 needs about",
        ),
        ("caption train --max-train 10000000000000", "--max-train 10000000000000: max_train="),
        ("caption overfit --num-train 1000000000", "--num-train 1000000000 needs about"),
        ("caption overfit --hidden-dim 10000000", "a model with --hidden-dim 10000000"),
        (
            "caption train --model transformer --wordvec-dim 1000000 --num-heads 1",
            "a model with --wordvec-dim 1000000, --num-layers 2, --model transformer",
        ),
    ],
)
def test_sizes_that_cannot_fit_are_refused_before_any_work(
    args, message, tmp_path, capsys, monkeypatch
):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("CS231N_CACHE", str(cache))
    code = main([*args.split(), "--data-dir", str(tmp_path), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "of memory, more than the" in err
    assert err.startswith("cs231n: error: ") and err.count("\n") == 1
    assert not list(cache.iterdir())  # no data set generated, nothing loaded


def test_a_batch_larger_than_the_data_is_clamped_with_a_note(tmp_path, capsys):
    args = "caption overfit --num-train 10 --batch-size 1000000 --epochs 1 --hidden-dim 8"
    code = main([*args.split(), "--wordvec-dim", "4", "-q", "-o", str(tmp_path / "c.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: --batch-size 1000000 is more than the 10 training captions; using 10" in out


def test_a_second_train_on_the_same_checkpoint_is_refused_naming_the_first(tmp_path):
    import os

    from cs231n.core.files import output_lock

    ckpt = tmp_path / "run" / "cap"
    with output_lock(ckpt):  # this process is the first run
        result = run_cli("caption", "train", "--data-dir", str(tmp_path), "-o", str(ckpt) + ".json")
    assert result.returncode == 2, result.stderr
    assert f"PID {os.getpid()}" in result.stderr and str(ckpt) in result.stderr
    assert result.stderr.startswith("cs231n: error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "run" / "cap.json").exists()


def test_max_train_is_drawn_from_the_seed(monkeypatch, tmp_path, capsys):
    from cs231n.cli.common import UserError

    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise UserError("stop here")

    monkeypatch.setattr("cs231n.captioning.data.load_caption_data", record)
    args = "caption train --max-train 500 --seed 17 --hidden-dim 8 --wordvec-dim 4"
    assert main([*args.split(), "-o", str(tmp_path / "c")]) == 2
    assert seen["seed"] == 17


def _tiny_checkpoint(tmp_path):
    from cs231n.captioning.checkpoint import save_checkpoint
    from cs231n.captioning.shapes import vocabulary
    from cs231n.classifiers.rnn import CaptioningRNN

    model = CaptioningRNN(vocabulary()[1], input_dim=512, wordvec_dim=4, hidden_dim=5)
    save_checkpoint(tmp_path / "m", model, extra={"data": "builtin"})
    return tmp_path / "m"


def _without_model(ckpt):
    meta = json.loads(ckpt.with_suffix(".json").read_text())
    del meta["model"]
    ckpt.with_suffix(".json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.with_suffix(".json").write_text("[1, 2]"), "m.json: expected a JSON object"),
        (_without_model, "m.json: missing key 'model'"),  # was the bare word: "error: model"
        (lambda p: p.with_suffix(".npz").write_bytes(b""), "m.npz: not a readable .npz file"),
    ],
)
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_damaged_checkpoints_are_one_line_naming_the_file(
    tmp_path, capsys, command, damage, message
):
    ckpt = _tiny_checkpoint(tmp_path)
    damage(ckpt)
    code = main(["caption", command, str(ckpt), "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.startswith("cs231n: error: ") and err.count("\n") == 1


def test_nan_parameters_are_refused_not_decoded_to_empty_captions(tmp_path, capsys):
    import numpy as np

    from cs231n.captioning.checkpoint import save_checkpoint
    from cs231n.captioning.shapes import vocabulary
    from cs231n.classifiers.rnn import CaptioningRNN

    model = CaptioningRNN(vocabulary()[1], input_dim=512, wordvec_dim=4, hidden_dim=5)
    model.params["W_vocab"][:] = np.nan
    save_checkpoint(tmp_path / "m", model, extra={"data": "builtin"})
    code = main(["caption", "evaluate", str(tmp_path / "m"), "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "m.npz: array 'param/W_vocab' holds NaN or infinite values" in err


# ----------------------------------------------------------------------------------------------
# Threads (issue #11, q)


def _record_threads(monkeypatch):
    seen = {}

    def fake_command(args):
        import os

        from threadpoolctl import threadpool_info

        seen["pools"] = {(p["internal_api"], p["num_threads"]) for p in threadpool_info()}
        seen["env"] = os.environ.get("OMP_NUM_THREADS")
        torch = sys.modules.get("torch")
        seen["torch"] = torch.get_num_threads() if torch is not None else None
        return 0

    monkeypatch.setattr("cs231n.cli.caption.cmd_caption_overfit", fake_command)
    return seen


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_option_limits_blas_and_torch(monkeypatch, threads):
    import os

    import numpy  # noqa: F401  (BLAS loaded: threadpoolctl sees it)
    import torch
    from threadpoolctl import threadpool_info

    seen = _record_threads(monkeypatch)
    before = {(p["internal_api"], p["num_threads"]) for p in threadpool_info()}
    torch_before, env_before = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    assert main(["--threads", str(threads), "caption", "overfit"]) == 0
    assert seen["pools"] and {n for _, n in seen["pools"]} == {threads}
    assert seen["env"] == str(threads) and seen["torch"] == threads
    # Restored afterwards (the CLI may run in-process, as here).
    assert {(p["internal_api"], p["num_threads"]) for p in threadpool_info()} == before
    assert torch.get_num_threads() == torch_before
    assert os.environ.get("OMP_NUM_THREADS") == env_before


def test_threads_default_to_the_usable_cores_or_the_environment(monkeypatch):
    import os

    from cs231n.cli import default_threads, usable_cores

    assert usable_cores() == len(os.sched_getaffinity(0))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert default_threads() == usable_cores()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert default_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert default_threads() == 1
    seen = _record_threads(monkeypatch)
    assert main(["caption", "overfit"]) == 0
    assert {n for _, n in seen["pools"]} == {1}


# ----------------------------------------------------------------------------------------------
# The captioning Transformer (issue #13)


def test_overfit_a_transformer(tmp_path, capsys):
    out = tmp_path / "curve.png"
    args = "--threads 1 caption overfit --model transformer --epochs 2 --wordvec-dim 16"
    assert main([*args.split(), "--num-layers", "1", "-q", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Overfitting a Transformer captioning model on 50 captions" in text
    assert "Final loss:" in text and "after 4 iterations" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            "caption overfit --model transformer --hidden-dim 8",
            "--hidden-dim applies to the RNN and LSTM only, not to --model transformer",
        ),
        (
            "caption train --model transformer --lr-decay 0.5",
            "--lr-decay applies to the RNN and LSTM only, not to --model transformer",
        ),
        (
            "caption train --cell lstm --num-heads 2",
            "--num-heads applies to the Transformer only, not to --model lstm",
        ),
        ("caption overfit --device cpu", "--device applies to the Transformer only"),
        (
            "caption train --model transformer --wordvec-dim 10 --num-heads 3",
            "--wordvec-dim 10 is not divisible by --num-heads 3",
        ),
    ],
)
def test_options_of_the_other_model_are_refused(args, message, tmp_path, capsys):
    code = main([*args.split(), "--data-dir", str(tmp_path), "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.startswith("cs231n: error: ") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_an_unknown_device_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["caption", "train", "--model", "transformer", "--device", "cuda:7"])
    assert caught.value.code == 2
    assert "argument --device: device 'cuda:7' is not available here" in capsys.readouterr().err


@pytest.fixture
def small_shapes(monkeypatch):
    """The caption commands' data: a small Shapes set built in memory (the full one takes
    ~15 s to generate)."""
    from cs231n.captioning import shapes as shapes_captioning

    data = shapes_captioning.generate(num_train=60, num_val=12, seed=0)
    calls = []

    def load(source="auto", data_root=None, max_train=None, log=None, seed=None, **kwargs):
        calls.append(source)
        return data, "builtin"

    monkeypatch.setattr("cs231n.captioning.data.load_caption_data", load)
    monkeypatch.setattr("cs231n.captioning.metrics.java_available", lambda: False)
    return calls


def test_transformer_train_resume_sample_evaluate(small_shapes, tmp_path, capsys):
    ckpt = str(tmp_path / "run" / "t")
    train = (
        "--threads 1 caption train --model transformer --epochs 1 --batch-size 50 "
        "--wordvec-dim 16 --num-heads 2 --num-layers 1 --device cpu -q"
    )
    assert main([*train.split(), "-o", ckpt]) == 0
    out = capsys.readouterr().out
    assert "Training a Transformer on cpu" in out and "Trained 1 epochs" in out
    assert f"Checkpoint: {ckpt}.pt; loss curve: {ckpt}_loss.png" in out
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["t.pt", "t_loss.png"]

    assert main([*train.replace("--epochs 1", "--epochs 2").split(), "-o", ckpt, "--resume"]) == 0
    assert "Trained 2 epochs" in capsys.readouterr().out

    page = tmp_path / "page.html"
    assert main(["--threads", "1", "caption", "sample", ckpt, "--num", "3", "-o", str(page)]) == 0
    out = capsys.readouterr().out
    assert out.count("greedy:") == 3 and out.count("beam 3:") == 3
    assert "Captions from" in page.read_text() and "Transformer on builtin val" in page.read_text()

    scores = tmp_path / "scores.json"
    args = ["--threads", "1", "caption", "evaluate", ckpt + ".pt", "-o", str(scores)]
    assert main([*args, "--max-images", "8"]) == 0
    out = capsys.readouterr().out
    assert "Transformer on builtin val: 8 images" in out and "CIDEr" in out
    assert set(json.loads(scores.read_text())) == {"greedy", "beam3"}
    assert small_shapes == ["auto", "auto", "builtin", "builtin"]  # sample/evaluate: the saved set


def test_a_transformer_name_taken_by_an_lstm_is_refused(small_shapes, tmp_path, capsys):
    ckpt = _tiny_checkpoint(tmp_path)  # an RNN: m.npz + m.json
    args = "caption train --model transformer --wordvec-dim 16 --num-layers 1 --epochs 1 -q"
    assert main([*args.split(), "-o", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert "m.json / m.npz hold an RNN/LSTM checkpoint" in err and err.count("\n") == 1
    assert not (tmp_path / "m.pt").exists()


def test_a_damaged_transformer_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "t.pt").write_bytes(b"PK\x03\x04 truncated")
    code = main(["caption", "evaluate", str(tmp_path / "t"), "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "t.pt: not a readable captioning checkpoint" in err
    assert err.startswith("cs231n: error: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["gan", "train", "-o", "{out}", "--epochs", "1"],
        ["caption", "train", "--model", "rnn", "--data", "builtin", "-o", "{out}"],
        ["vit", "train", "-o", "{out}", "--epochs", "1"],
    ],
    ids=["gan", "caption", "vit"],
)
def test_a_users_file_named_like_the_lock_stops_the_run_untouched(tmp_path, capsys, argv):
    """Issue #19 g: NAME.lock that this program did not write is neither overwritten nor
    removed; every training command refuses the run before any work, naming the file."""
    out = tmp_path / "run"
    lock = tmp_path / "run.lock"
    lock.write_text("the user's notes\n")
    code = main([a.format(out=out) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"cs231n: error: {lock} exists and is not a lock file of this program")
    assert err.count("\n") == 1
    assert lock.read_text() == "the user's notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lock"]
