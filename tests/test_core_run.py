"""cs231n.core.run.Trainer, the run every training job stands on, with a toy run (a random walk,
one step per epoch): a fresh run's files, an exact resume, a resume with other settings refused,
atomic checkpoints, the output lock, milestones, and only the main process writing."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from cs231n.core.files import OutputLockedError, lock_file
from cs231n.core.run import UNSET, Trainer, differences, resume_refusal, with_added_settings


class Walk(Trainer):
    """A random walk: each epoch one step of ``lr`` times a normal draw from its own
    generator, whose state the checkpoint keeps (so that a resumed walk goes on exactly)."""

    def __init__(self, output, epochs=3, lr=0.1, resume=True):
        super().__init__(output, {"lr": lr, "epochs": epochs}, epochs, resume=resume)
        self.generator = torch.Generator().manual_seed(0)
        self.history = []
        self.seen_during_training = []  # what a test looks at while the run trains

    def train_epoch(self):
        step = torch.randn((), generator=self.generator).item()
        self.history.append((self.history[-1] if self.history else 0.0) + self.config["lr"] * step)
        if self.output is not None:  # the lock file's process id, or None without one
            lock = lock_file(self.output)
            self.seen_during_training.append(
                lock.read_text().split()[-1] if lock.exists() else None
            )

    def checkpoint(self):
        return {
            "config": self.config,
            "epoch": self.epoch,
            "history": self.history,
            "generator": self.generator.get_state(),
        }

    def restore(self, saved, path):
        self.epoch, self.history = saved["epoch"], list(saved["history"])
        self.generator.set_state(saved["generator"])

    def finish(self):
        self.write_losses(self.history)


def saved(path):
    return torch.load(path, weights_only=True)


def test_a_fresh_run_writes_its_config_checkpoint_and_losses(tmp_path):
    run = Walk(tmp_path / "run")
    run.train()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "checkpoint.pt",
        "config.json",
        "losses.json",
    ]
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {"lr": 0.1, "epochs": 3}
    assert json.loads((tmp_path / "run" / "losses.json").read_text()) == run.history
    assert saved(tmp_path / "run" / "checkpoint.pt")["epoch"] == 3 and len(run.history) == 3
    assert not lock_file(tmp_path / "run").exists()  # released at the end


def test_a_resumed_run_continues_exactly(tmp_path):
    straight = Walk(tmp_path / "straight", epochs=3)
    straight.train()
    Walk(tmp_path / "parts", epochs=1).train()
    torch.manual_seed(999)  # the walk's own generator is restored: this must not matter
    resumed = Walk(tmp_path / "parts", epochs=3)  # more epochs: allowed (may_change)
    resumed.train()
    assert resumed.history == straight.history
    assert json.loads((tmp_path / "parts" / "config.json").read_text())["epochs"] == 3
    # Nothing left to train: the run loads, trains nothing, and writes its end again.
    again = Walk(tmp_path / "parts", epochs=3)
    again.train()
    assert again.history == straight.history and again.seen_during_training == []


def test_resume_false_starts_over(tmp_path):
    Walk(tmp_path / "run", epochs=2, lr=0.5).train()
    run = Walk(tmp_path / "run", epochs=1, lr=0.2, resume=False)  # other settings: fine
    run.train()
    assert len(run.history) == 1 and saved(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1


def test_a_resume_with_other_settings_is_refused_naming_them(tmp_path):
    Walk(tmp_path / "run", epochs=1, lr=0.1).train()
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    message = (
        f"{checkpoint}: cannot resume, settings differ from the saved run: lr 0.1 saved, 0.2 "
        "asked (use --restart to start over, or choose another output)"
    )
    with pytest.raises(ValueError) as caught:
        Walk(tmp_path / "run", epochs=2, lr=0.2).train()
    assert str(caught.value) == message
    assert checkpoint.read_bytes() == before  # nothing trained, nothing written
    assert json.loads((tmp_path / "run" / "config.json").read_text())["lr"] == 0.1
    assert not lock_file(tmp_path / "run").exists()


def test_differences_names_each_setting_a_missing_one_included():
    saved, asked = (
        {"a": 1, "b": 2, "epochs": 3, "old": 0},
        {"a": 1, "b": 5, "epochs": 9, "new": None},
    )
    assert differences(saved, asked, ("epochs",)) == {
        "b": (2, 5),
        "new": (UNSET, None),  # missing from the saved settings: a difference, even as None
        "old": (0, UNSET),
    }
    assert differences(saved, saved) == {}


def test_added_settings_fill_what_older_runs_lack():
    saved = {"lr": 1, "model": {"dim": 8}}
    added = {"schedule": "constant", "model.gamma": None, "data.size": 32, "lr": 5}
    filled = with_added_settings(saved, added)
    assert filled == {"lr": 1, "model": {"dim": 8, "gamma": None}, "schedule": "constant"}
    assert saved == {"lr": 1, "model": {"dim": 8}}  # the saved settings themselves unchanged


def test_differences_name_the_setting_inside_a_nested_one():
    saved = {"model": {"dim": 8, "gamma": 5.0}, "lr": 1}
    asked = {"model": {"dim": 8, "gamma": 4.0, "extra": 1}, "lr": 1}
    differ = differences(saved, asked)
    assert differ == {"model.gamma": (5.0, 4.0), "model.extra": (UNSET, 1)}
    message = resume_refusal("run/model.pt", differ, "use --restart")
    assert message == (
        "run/model.pt: cannot resume, settings differ from the saved run: model.gamma 5.0 "
        "saved, 4.0 asked; model.extra unset saved, 1 asked (use --restart)"
    )


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    class FailsAtEpoch2(Walk):
        def write_checkpoint(self, payload, path):
            if payload["epoch"] == 2:
                path.write_bytes(b"half a checkpoint")
                raise OSError("the disk went away")
            super().write_checkpoint(payload, path)

    run = FailsAtEpoch2(tmp_path / "run", epochs=3)
    with pytest.raises(OSError, match="the disk went away"):
        run.train()
    assert saved(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1
    assert not list((tmp_path / "run").glob(".*"))  # the temporary file is gone
    assert not lock_file(tmp_path / "run").exists()
    resumed = Walk(tmp_path / "run", epochs=3)  # and the run resumes from the last good save
    resumed.train()
    straight = Walk(tmp_path / "straight", epochs=3)
    straight.train()
    assert resumed.history == straight.history


def test_the_run_holds_its_output_while_it_trains(tmp_path):
    run = Walk(tmp_path / "run", epochs=2)
    run.train()
    assert run.seen_during_training == [str(os.getpid())] * 2  # the lock file names this run


def test_a_second_run_on_the_same_output_is_refused(tmp_path):
    output = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from cs231n.core.files import output_lock
            with output_lock({str(output)!r}):
                print("held", flush=True)
                sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError, match=f"PID {holder.pid}"):
            Walk(output).train()
    finally:
        holder.communicate("")
    assert not output.exists()  # refused before writing anything


def test_milestones_are_checkpoints_of_their_own(tmp_path):
    run = Walk(tmp_path / "run", epochs=2)
    run.train()
    assert run.save(milestone="best") == tmp_path / "run" / "checkpoint-best.pt"
    run.history.append(123.0)
    run.load("best")
    assert run.history == saved(tmp_path / "run" / "checkpoint.pt")["history"]


def test_a_run_without_output_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = Walk(None, epochs=2)
    run.train()
    assert len(run.history) == 2 and run.save() is None
    assert list(tmp_path.iterdir()) == []


def fake_rank(monkeypatch, rank):
    """This process as rank ``rank`` of an initialised torch.distributed job."""
    monkeypatch.setattr(torch.distributed, "is_available", lambda: True)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda group=None: rank)


def test_only_the_main_process_writes(tmp_path, monkeypatch):
    assert Walk(tmp_path / "a").is_main_process  # no distributed job: the main process
    fake_rank(monkeypatch, 0)
    assert Walk(tmp_path / "a").is_main_process
    fake_rank(monkeypatch, 1)
    run = Walk(tmp_path / "a", epochs=2)
    assert not run.is_main_process
    run.train()
    assert len(run.history) == 2  # it trains
    assert run.seen_during_training == [None, None]  # holds no lock
    assert list(tmp_path.iterdir()) == []  # and writes nothing
    assert run.save() is None and run.write_json("x.json", {}) is None


def test_other_ranks_resume_from_the_main_process_checkpoint(tmp_path, monkeypatch):
    Walk(tmp_path / "run", epochs=1).train()
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    fake_rank(monkeypatch, 3)
    run = Walk(tmp_path / "run", epochs=3)
    run.train()
    straight = Walk(None, epochs=3)
    straight.train()
    assert run.history == straight.history
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before
