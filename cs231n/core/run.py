"""One training run and its outputs: :class:`Trainer`, the base of every training run here (the
GANs of both frameworks, the Vision Transformer; next the captioning Transformer, SimCLR and
diffusion), shaped like the course's ``ddpm_trainer.Trainer`` and lucidrains'
denoising-diffusion ``Trainer``: ``train()``, ``save(milestone)``, ``load(milestone)``, a
results folder, and ``is_main_process``.

The protocol every run follows is written once, here:

- one run per output at a time: ``train()`` holds :func:`~cs231n.core.files.output_lock` on
  the run's output (a second run is refused, naming the first one's process);
- resuming reads the checkpoint, refuses it when its settings differ from the ones asked for
  (naming each; only those in ``may_change``, such as the number of epochs, may differ), and
  puts the training state back, so that the run continues where it stopped;
- the settings are recorded (``config.json``) before any training;
- a checkpoint after every epoch, written atomically: a save that fails (a full disk, a kill)
  leaves the previous checkpoint whole;
- what a run shows beside it (sample grids ``samples/iter_NNNNNN.png`` and ``final.png``,
  ``losses.json``, figures), each file written atomically;
- only the main process writes: in a ``torch.distributed`` job (``torchrun``; the context is
  :mod:`cs231n.core.distributed`'s, ``self.dist``) the other ranks train, load and resume like
  it, but write nothing and hold no lock; after a resume every rank must stand at the same
  epoch (a checkpoint one node cannot see is one clear error, not a silent divergence).

A subclass supplies the model: :meth:`Trainer.train_epoch` (or :meth:`Trainer.fit`, where a
solver runs the epochs itself), :meth:`Trainer.checkpoint` (what a checkpoint holds),
:meth:`Trainer.read_checkpoint` and :meth:`Trainer.restore` (a checkpoint read and checked, and
put back), and :meth:`Trainer.finish` (what the end of a run writes). Nothing here imports a
framework at import time: a TensorFlow run overrides :meth:`Trainer.save` and the checkpoint
reading, and never loads PyTorch through this module.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from . import distributed
from .files import atomic_path, output_lock


class Trainer:
    """A training run writing into ``results_folder``.

    ``output``: what the run is called and locks while it trains: its folder (the default
    results folder, as for a GAN run), or a file stem ``NAME`` whose files sit beside it (pass
    ``results_folder=NAME.parent`` and name the files after ``NAME``, as the ViT run does), or
    None for a run that writes nothing (a notebook's in-memory experiment). ``config``: the
    settings recorded in ``config.json`` and compared on resume; ``epochs``: how many epochs
    the run has in all; ``resume``: continue from the checkpoint when there is one (False:
    start over, overwriting it).

    Progress: ``epoch`` (epochs done). The default :meth:`fit` runs :meth:`train_epoch` until
    ``epoch == epochs``, saving after each.
    """

    checkpoint_file = "checkpoint.pt"
    config_file: str | None = "config.json"  # None: the checkpoint alone records the settings
    losses_file = "losses.json"
    samples_folder_name = "samples"
    may_change: tuple[str, ...] = ("epochs",)  # settings a resumed run may change (more epochs)
    # Settings added after runs were saved without them, each with the value those runs had
    # ("model.x" reaches into a nested one): a saved run lacking one reads as having it.
    added_settings: dict = {}
    # How to start afresh instead, said when a resume is refused (the CLI's words by default).
    restart_hint = "use --restart to start over, or choose another output"

    dist = None  # a distributed.Context: a PyTorch run sets it (distributed.setup)

    def __init__(self, output, config, epochs, *, resume=True, results_folder=None):
        self.output = Path(output) if output is not None else None
        if results_folder is None:
            results_folder = self.output
        self.results_folder = Path(results_folder) if results_folder is not None else None
        self.config = dict(config)
        self.epochs = epochs
        self.resume = resume
        self.epoch = 0

    # ---- who writes ------------------------------------------------------------------------

    @property
    def is_main_process(self) -> bool:
        """False only in a ``torch.distributed`` job, on ranks other than 0 (an initialised
        process group's rank, else torchrun's ``RANK``; PyTorch is not imported for the
        question)."""
        return distributed.is_main_process()

    @property
    def writes(self) -> bool:
        """Whether this process writes the run's files: it has an output and is the main one."""
        return self.output is not None and self.is_main_process

    # ---- the run ---------------------------------------------------------------------------

    def train(self):
        """Train (or continue) the run: hold its output, resume from the checkpoint or start
        afresh, record the settings, train the remaining epochs with a checkpoint after each,
        then write what the end of the run writes."""
        with output_lock(self.output) if self.writes else contextlib.nullcontext():
            self.start()
            self.fit()
            self.finish()

    def start(self):
        """Make the results folder; with ``resume``, continue from the checkpoint if there is
        one; record the settings (after the resume check, so a refused resume leaves the
        record of the run it refused)."""
        if self.writes:
            self.results_folder.mkdir(parents=True, exist_ok=True)
        if self.resume and self.output is not None and self.checkpoint_path().exists():
            self.load()
        if self.dist is not None:
            where = self.checkpoint_path() if self.output is not None else "the run"
            self.dist.agree(self.epoch, f"the epoch to continue from ({where})")
        if self.config_file is not None:
            self.write_json(self.config_file, self.config, indent=2)

    def fit(self):
        """The epochs still to train, each followed by a checkpoint. A subclass whose solver
        runs the epochs itself overrides this and calls :meth:`save` after each."""
        while self.epoch < self.epochs:
            self.train_epoch()
            self.epoch += 1
            self.save()

    def train_epoch(self):
        """One epoch of training (the subclass's model and data)."""
        raise NotImplementedError

    def finish(self):
        """What the end of a run writes (a final sample grid, the losses, a figure)."""

    # ---- checkpoints -----------------------------------------------------------------------

    def checkpoint_path(self, milestone=None) -> Path:
        """The run's checkpoint (``checkpoint_file`` in the results folder), or the one of
        ``milestone`` beside it: ``checkpoint-MILESTONE.pt``."""
        path = self.path(self.checkpoint_file)
        if milestone is None:
            return path
        return path.with_name(f"{path.stem}-{milestone}{path.suffix}")

    def checkpoint(self) -> dict:
        """What a checkpoint holds: everything :meth:`restore` needs to continue exactly."""
        raise NotImplementedError

    def save(self, milestone=None):
        """Write the checkpoint (of ``milestone``, when given), atomically: a save that fails
        leaves the previous file as it was. Returns its path, or None where this process
        writes nothing."""
        if not self.writes:
            return None
        path = self.checkpoint_path(milestone)
        with atomic_path(path) as tmp:
            self.write_checkpoint(self.checkpoint(), tmp)
        return path

    def write_checkpoint(self, payload, path):
        """Write ``payload`` to ``path`` (a temporary file :meth:`save` renames): a PyTorch
        file. A run of another framework overrides this or :meth:`save`."""
        import torch

        torch.save(payload, path)

    def load(self, milestone=None):
        """Continue from the checkpoint (of ``milestone``): read and check it, refuse it when
        its settings differ from this run's, put its state back. Returns what was read."""
        path = self.checkpoint_path(milestone)
        saved = self.read_checkpoint(path)
        saved_config = with_added_settings(self.saved_config(saved), self.added_settings)
        differ = differences(saved_config, self.config, self.may_change)
        if differ:
            raise ValueError(self.resume_refusal(path, saved_config, differ))
        self.restore(saved, path)
        return saved

    def read_checkpoint(self, path) -> dict:
        """The checkpoint at ``path``, checked (ValueError naming the file when it cannot be
        used). The default reads a PyTorch file of tensors and plain data."""
        from .torch_utils import torch_load

        return torch_load(path, "checkpoint")

    def saved_config(self, saved) -> dict:
        """The settings a read checkpoint was trained with."""
        return saved["config"]

    def resume_refusal(self, path, saved_config, differ) -> str:
        """The message refusing to resume from ``path`` trained with other settings;
        ``differ`` maps each differing setting to (saved, asked)."""
        return resume_refusal(path, differ, self.restart_hint)

    def restore(self, saved, path):
        """Put a read checkpoint's state back (weights, optimiser, progress, random state);
        ``path`` names the file in errors."""
        raise NotImplementedError

    # ---- the files beside the checkpoint -----------------------------------------------------

    def path(self, name) -> Path:
        """``name`` in the results folder."""
        return self.results_folder / name

    @property
    def samples_folder(self) -> Path:
        return self.path(self.samples_folder_name)

    def sample_path(self, label) -> Path:
        """A sample grid's file: ``iter_NNNNNN.png`` for an iteration, else ``LABEL.png``
        (``final``)."""
        name = f"iter_{label:06d}" if isinstance(label, int) else str(label)
        return self.samples_folder / f"{name}.png"

    def write_json(self, name, data, indent=None):
        """``data`` as JSON in ``name`` (in the results folder), atomically, by the main
        process; returns the path (None where this process writes nothing)."""
        if not self.writes:
            return None
        path = self.path(name)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(data, indent=indent), encoding="utf-8")
        return path

    def write_losses(self, history):
        """The loss history in ``losses.json``."""
        return self.write_json(self.losses_file, history)


class _Unset:
    """A setting missing from one of two configurations (shown as "unset")."""

    def __repr__(self):
        return "unset"


UNSET = _Unset()


def differences(saved, asked, may_change=(), prefix="") -> dict:
    """``{setting: (saved, asked)}`` for each setting that differs between two configurations
    (one missing from either counts, as :data:`UNSET`), but for those in ``may_change``.
    Settings that are dicts in both are compared key by key ("model.dim")."""
    out = {}
    for k in [*asked, *(k for k in saved if k not in asked)]:
        if k in may_change:
            continue
        a, b = saved.get(k, UNSET), asked.get(k, UNSET)
        if isinstance(a, dict) and isinstance(b, dict):
            out.update(differences(a, b, (), f"{prefix}{k}."))
        elif a is UNSET or b is UNSET or a != b:
            out[f"{prefix}{k}"] = (a, b)
    return out


def with_added_settings(config, added) -> dict:
    """A copy of ``config`` with each of ``added`` ({setting: value}, "a.b" for a nested one)
    that it lacks set to its value; a nested one whose parent is missing is left out."""
    out = dict(config)
    for key, value in added.items():
        *parents, last = key.split(".")
        node = out
        for parent in parents:
            if not isinstance(node.get(parent), dict):
                break
            node[parent] = node = dict(node[parent])
        else:
            node.setdefault(last, value)
    return out


def resume_refusal(path, differ, hint=None) -> str:
    """One line refusing to resume from ``path``: each differing setting with its saved and
    asked value (``differ``: {setting: (saved, asked)}), then ``hint`` (how to start afresh)."""
    listed = "; ".join(
        f"{k} {saved!r} saved, {asked!r} asked" for k, (saved, asked) in differ.items()
    )
    return f"{path}: cannot resume, settings differ from the saved run: {listed}" + (
        f" ({hint})" if hint else ""
    )
