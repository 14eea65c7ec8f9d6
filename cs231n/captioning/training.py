"""Overfitting and training the assignment's captioners (used by the CLI, the demo and the
tests), for the three captioners: the NumPy ``CaptioningRNN`` with a vanilla RNN or an LSTM cell
(``cell_type`` "rnn" or "lstm") and the PyTorch ``CaptioningTransformer`` (``cell_type``
"transformer")."""

from __future__ import annotations

import contextlib

import numpy as np

from ..captioning_solver import CaptioningSolver
from ..classifiers.rnn import CaptioningRNN
from ..core import distributed
from ..core.files import output_lock, save_figure
from ..core.run import Trainer, differences, resume_refusal
from .checkpoint import (
    TRANSFORMER_CONFIG,
    checkpoint_exists,
    checkpoint_name,
    checkpoint_paths,
    load_checkpoint,
    load_transformer_checkpoint,
    model_vocabulary,
    restore_solver,
    restore_transformer_solver,
    save_checkpoint,
    transformer_checkpoint_path,
    transformer_checkpoint_payload,
    transformer_config,
)
from .data import check_caption_data, small_caption_data
from .evaluation import validation_report
from .sizing import check_model_type, check_training_size

# The course's overfitting settings (RNN_Captioning / LSTM_Captioning / Transformer_Captioning
# notebooks): 50 captions, batch 25.
OVERFIT_DEFAULTS = {
    "rnn": {"lr_decay": 0.95, "num_epochs": 50, "learning_rate": 5e-3},
    "lstm": {"lr_decay": 0.995, "num_epochs": 50, "learning_rate": 5e-3},
    "transformer": {
        "num_epochs": 100,
        "learning_rate": 1e-3,
        "wordvec_dim": 256,
        "num_heads": 2,
        "num_layers": 2,
        "max_length": 30,
    },
}


def overfit_small_data(
    cell_type="rnn",
    data=None,
    num_epochs=None,
    batch_size=25,
    learning_rate=None,
    lr_decay=None,
    hidden_dim=512,
    wordvec_dim=256,
    print_every=10,
    seed=231,
    verbose=True,
    progress=False,
    num_heads=None,
    num_layers=None,
    max_length=None,
    device=None,
):
    """Overfit a captioning model on a small data set, as the notebooks do.

    ``cell_type``: "rnn" or "lstm" (a NumPy CaptioningRNN: ``hidden_dim``, ``wordvec_dim``,
    Adam with ``lr_decay`` per epoch) or "transformer" (a PyTorch CaptioningTransformer:
    ``wordvec_dim``, ``num_heads``, ``num_layers``, ``max_length``, Adam on ``device``; the
    RNN's ``hidden_dim`` and ``lr_decay`` do not apply). None takes the course's value
    (:data:`OVERFIT_DEFAULTS`): 50 epochs at 5e-3 for the RNNs (decay 0.95 RNN, 0.995 LSTM);
    100 epochs at 1e-3, wordvec_dim 256, 2 heads, 2 layers, max_length 30 for the Transformer.
    ``data``: a COCO-format dict (default: :func:`small_caption_data`).

    Returns ``(model, solver)``; ``solver.loss_history`` holds the per-iteration losses (the
    Transformer's are averaged over every word position, as the course's solver does).
    """
    check_model_type(cell_type)
    if data is None:
        data, _ = small_caption_data(seed=seed)
    given = dict(
        num_epochs=num_epochs,
        learning_rate=learning_rate,
        lr_decay=lr_decay,
        wordvec_dim=wordvec_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        max_length=max_length,
    )
    hp = {**OVERFIT_DEFAULTS[cell_type], **{k: v for k, v in given.items() if v is not None}}
    check_caption_data(data)
    hp.update(hidden_dim=hidden_dim, cell_type=cell_type, batch_size=batch_size)
    check_training_size(data, hp)
    if cell_type == "transformer":
        from ..captioning_solver_transformer import CaptioningSolverTransformer

        model = _new_transformer(data, hp, seed)
        solver = CaptioningSolverTransformer(
            model,
            data,
            idx_to_word=data["idx_to_word"],
            num_epochs=hp["num_epochs"],
            batch_size=batch_size,
            learning_rate=hp["learning_rate"],
            print_every=print_every,
            verbose=verbose,
            progress=progress,
            device=device,
        )
        solver.train()
        return model, solver
    np.random.seed(seed)
    model = CaptioningRNN(
        cell_type=cell_type,
        word_to_idx=data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        hidden_dim=hidden_dim,
        wordvec_dim=hp["wordvec_dim"],
        dtype=np.float32,
    )
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        num_epochs=hp["num_epochs"],
        batch_size=batch_size,
        optim_config={"learning_rate": hp["learning_rate"]},
        lr_decay=hp["lr_decay"],
        verbose=verbose,
        print_every=print_every,
        progress=progress,
    )
    solver.train()
    return model, solver


def _new_transformer(data, hp, seed):
    """A CaptioningTransformer for ``data`` with ``hp``'s sizes, seeded as the course's
    notebook does (torch, then NumPy's global state, which draws the minibatches)."""
    import torch

    from ..classifiers.transformer import CaptioningTransformer

    length = data["train_captions"].shape[1] - 1  # the model reads captions[:, :-1]
    if hp["max_length"] < length:
        raise ValueError(
            f"max_length {hp['max_length']} is shorter than the captions the model reads "
            f"({length} words)"
        )
    torch.manual_seed(seed)
    np.random.seed(seed)
    return CaptioningTransformer(
        word_to_idx=data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        wordvec_dim=hp["wordvec_dim"],
        num_heads=hp["num_heads"],
        num_layers=hp["num_layers"],
        max_length=hp["max_length"],
    )


def plot_loss_curve(loss_history, path, title="Training loss history"):
    """Save the loss-per-iteration curve as an image (atomically); returns the path."""
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(loss_history) + 1), loss_history)
    ax.set_xlabel("Iteration")
    ax.set_ylabel("Loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


TRAIN_DEFAULTS = {
    "cell_type": "lstm",
    "num_epochs": 10,
    "batch_size": 100,
    "learning_rate": 5e-3,
    "lr_decay": 0.95,
    "hidden_dim": 512,
    "wordvec_dim": 256,
}


# `cs231n caption train --model transformer`: the course's solver defaults (Adam 1e-3, batch 100,
# 10 epochs) and its CaptioningTransformer defaults (4 heads, 2 layers, max_length 50), with
# 256-dimensional word vectors as for the RNNs.
TRANSFORMER_TRAIN_DEFAULTS = {
    "cell_type": "transformer",
    "num_epochs": 10,
    "batch_size": 100,
    "learning_rate": 1e-3,
    "wordvec_dim": 256,
    "num_heads": 4,
    "num_layers": 2,
    "max_length": 50,
}


def train_defaults(cell_type) -> dict:
    """The hyperparameters :func:`train_captioner` uses for ``cell_type`` unless told."""
    check_model_type(cell_type)
    if cell_type == "transformer":
        return dict(TRANSFORMER_TRAIN_DEFAULTS)
    return {**TRAIN_DEFAULTS, "cell_type": cell_type}


def train_captioner(
    data,
    checkpoint=None,
    resume=False,
    seed=231,
    print_every=100,
    verbose=True,
    progress=True,
    extra=None,
    log=print,
    device=None,
    **hyper,
):
    """Train a captioner on a COCO-format data dict with Adam.

    ``cell_type`` (default "lstm") picks the model: "rnn" or "lstm", a NumPy CaptioningRNN
    (hyperparameters ``TRAIN_DEFAULTS``: num_epochs, batch_size, learning_rate, lr_decay,
    hidden_dim, wordvec_dim), or "transformer", a PyTorch CaptioningTransformer trained by
    CaptioningSolverTransformer on ``device`` (None: the GPU when there is one, else the CPU;
    hyperparameters ``TRANSFORMER_TRAIN_DEFAULTS``: num_epochs, batch_size, learning_rate,
    wordvec_dim, num_heads, num_layers, max_length). With ``checkpoint`` (a NAME) a checkpoint
    is saved atomically after every epoch (``NAME.npz`` + ``NAME.json`` for the RNNs,
    ``NAME.pt`` for the Transformer); with ``resume`` training continues exactly from it, as
    if it had not stopped. Returns ``(model, solver, reports)`` with one validation report per
    epoch (those of the resumed run included).
    """
    cell_type = hyper.get("cell_type", TRAIN_DEFAULTS["cell_type"])
    defaults = train_defaults(cell_type)
    unknown = set(hyper) - set(defaults)
    if unknown:
        raise ValueError(f"unknown hyperparameters for cell_type {cell_type!r}: {sorted(unknown)}")
    hp = {**defaults, **hyper}
    check_caption_data(data)
    check_training_size(data, hp)
    if cell_type == "transformer":

        def work(checkpoint, resume):
            return _train_transformer(
                data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log,
                device,
            )  # fmt: skip
    else:

        def work(checkpoint, resume):
            return _train(
                data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log
            )

    if checkpoint is None:
        return work(None, False)

    # One run per checkpoint at a time; in a multi-process run, the main process holds it.
    lock = output_lock(checkpoint_name(checkpoint))
    with lock if distributed.is_main_process() else contextlib.nullcontext():
        _check_checkpoint_kind(checkpoint, cell_type == "transformer")
        return work(checkpoint, resume)


def _check_checkpoint_kind(checkpoint, transformer):
    """Refuse to write one kind of checkpoint beside the other under the same NAME (loading
    NAME would then be ambiguous, and resuming would pick the wrong model)."""

    pt = transformer_checkpoint_path(checkpoint)
    npz, json_path = checkpoint_paths(checkpoint)
    if transformer and checkpoint_exists(checkpoint):
        raise ValueError(
            f"{json_path} / {npz.name} hold an RNN/LSTM checkpoint: give the Transformer "
            f"another name (its checkpoint would be {pt.name} beside them)"
        )
    if not transformer and pt.exists():
        raise ValueError(
            f"{pt} holds a Transformer checkpoint: give the RNN/LSTM another name (its "
            f"checkpoint would be {json_path.name} / {npz.name} beside it)"
        )


def _saved_reports(meta, where):
    reports = meta["extra"].get("reports", [])
    if not (isinstance(reports, list) and all(isinstance(r, dict) for r in reports)):
        raise ValueError(f"{where}: cannot resume, extra.reports must be a list of objects")
    return list(reports)


def _report_logger(model, data, reports, save, verbose, log):
    """What runs after every epoch: a validation report, the checkpoint, a line of output."""

    def end_of_epoch(solver):
        report = {"epoch": solver.epoch, **validation_report(model, data)}
        reports.append(report)
        if save is not None:
            save(solver, reports)
        if verbose:
            shown = ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in report.items()
            )
            log(shown)

    return end_of_epoch


RESTART_HINT = "use --restart to start over, or choose another -o"
# What names the data of a run (the CLI's extra): a resume on other data is another run.
DATA_KEYS = ("data", "max_train")


def _data_identity(extra) -> dict:
    extra = extra if isinstance(extra, dict) else {}
    return {k: extra[k] for k in DATA_KEYS if k in extra}


def _resume_differences(saved_hp, saved_extra, asked_hp, asked_extra) -> dict:
    """{setting: (saved, asked)} for every setting of the run but its number of epochs,
    and the data when both runs name it."""
    # A setting the saved run did not record (an older checkpoint) is taken as asked.
    saved, asked = {**asked_hp, **saved_hp}, dict(asked_hp)
    named = _data_identity(saved_extra)
    for k, v in _data_identity(asked_extra).items():
        saved[k], asked[k] = named.get(k, v), v
    return differences(saved, asked, may_change=("num_epochs",))


class CaptioningTransformerTrainer(Trainer):
    """The Transformer captioning run of :func:`train_captioner` on the project's run protocol
    (:class:`cs231n.core.run.Trainer`): the checkpoint ``NAME.pt`` beside ``NAME`` after every
    epoch, an exact resume (refused when the model's settings or the vocabulary differ), one
    validation report per epoch. ``checkpoint`` None: a run that writes nothing.

    Under torchrun (:mod:`cs231n.core.distributed`) the batch size is the global batch: every
    process draws the whole minibatch from NumPy's random state (seeded alike), keeps its
    contiguous B / W captions, averages the gradients before each Adam step and records the
    global batch's loss; dropout masks are drawn per process (seeded from the seed, the epoch
    and the rank). With dropout off, W processes give the one-process model up to float
    rounding. Only rank 0 writes; the checkpoint's extra records ``world_size``. A resume
    under another world size continues the minibatches, weights and Adam's state exactly
    (dropout masks are drawn anew)."""

    config_file = None  # NAME.pt records the settings
    may_change = ("num_epochs",)  # a resumed run may train for more epochs, nothing else
    restart_hint = None  # set in __init__

    def __init__(
        self, data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log,
        device,
    ):  # fmt: skip
        stem = checkpoint_name(checkpoint) if checkpoint is not None else None
        asked = {**hp, "input_dim": int(data["train_features"].shape[1])}
        super().__init__(
            stem,
            {**asked, **_data_identity(extra)},
            hp["num_epochs"],
            resume=resume,
            results_folder=stem.parent if stem is not None else None,
        )
        from ..captioning_solver_transformer import CaptioningSolverTransformer

        self.restart_hint = RESTART_HINT
        self.data, self.hp, self.extra, self.seed = data, hp, extra or {}, seed
        if device is None or distributed.launched():
            from ..core.torch_utils import resolve_device

            device = str(resolve_device(device))
        self.dist = ctx = distributed.setup(device)
        ctx.local_batch_size(hp["batch_size"], "caption train")
        device = ctx.device
        self.model = _new_transformer(data, hp, seed)
        # The edition in force decided the activation: a resume under another is another run.
        self.config["activation"] = transformer_config(self.model)["activation"]
        self.reports = []
        self.solver = CaptioningSolverTransformer(
            self.model,
            data,
            idx_to_word=data["idx_to_word"],
            learning_rate=hp["learning_rate"],
            batch_size=hp["batch_size"],
            num_epochs=hp["num_epochs"],
            print_every=print_every,
            verbose=verbose and ctx.is_main,
            progress=progress and ctx.is_main,
            device=device,
            on_epoch_end=_report_logger(
                self.model,
                data,
                self.reports,
                lambda solver, reports: self.save(),
                verbose and ctx.is_main,
                log,
            ),
        )
        if ctx.distributed:
            self._distribute()

    def _distribute(self):
        """The solver's training in several processes: its own part of each global minibatch,
        the gradients averaged before each step, the global batch's loss recorded, dropout
        masks of its own."""
        ctx, solver = self.dist, self.solver
        ctx.sync_optimizer(solver.optim)
        minibatch, step, end_of_epoch = solver._minibatch, solver._step, solver.on_epoch_end

        def own_part():
            captions, features = minibatch()  # the global batch: the same draw everywhere
            return ctx.shard(captions), ctx.shard(features)

        def step_everywhere():
            step()
            solver.loss_history[-1] = ctx.mean(solver.loss_history[-1])

        def next_epoch(solver):
            end_of_epoch(solver)
            ctx.seed_torch(self.seed, "dropout", solver.epoch)

        solver._minibatch, solver._step, solver.on_epoch_end = own_part, step_everywhere, next_epoch

    @property
    def checkpoint_file(self):
        return transformer_checkpoint_path(self.output).name

    def start(self):
        if self.output is not None:
            _check_checkpoint_kind(self.output, transformer=True)
        super().start()

    def fit(self):
        if self.dist.distributed:  # rank 0's weights everywhere; each rank's dropout masks
            self.dist.broadcast(self.model.to(self.dist.device))
            self.dist.seed_torch(self.seed, "dropout", self.solver.epoch)
        self.solver.train()  # the course's solver runs the epochs; its hook saves after each
        self.epoch = self.solver.epoch

    def checkpoint(self) -> dict:
        extra = {
            **self.extra,
            "hyper": self.hp,
            "reports": self.reports,
            "world_size": self.dist.world_size,
        }
        return transformer_checkpoint_payload(self.model, self.solver, extra)

    def read_checkpoint(self, path) -> dict:
        model, meta, training = load_transformer_checkpoint(path)
        if training is None:
            raise ValueError(f"{path}: cannot resume, it holds no training state")
        _saved_reports(meta, path)
        return {"model": model, "meta": meta, "training": training}

    def saved_config(self, saved) -> dict:
        meta = saved["meta"]
        hyper = meta["extra"].get("hyper")
        hyper = hyper if isinstance(hyper, dict) else {}
        named = _data_identity(meta["extra"])
        data = {k: named.get(k, self.config[k]) for k in DATA_KEYS if k in self.config}
        model = {k: meta["model"][k] for k in TRANSFORMER_CONFIG}
        model["activation"] = meta["model"].get("activation", "gelu")
        # The model's own sizes are what its weights are: they win over what hyper says.
        return {**self.config, **hyper, **model, **data}

    def restore(self, saved, path):
        if model_vocabulary(saved["model"]) != list(self.data["idx_to_word"]):
            raise ValueError(f"{path}: cannot resume, the vocabulary differs from the data's")
        self.model.load_state_dict(saved["model"].state_dict())
        restore_transformer_solver(self.solver, saved["training"], path)
        self.reports.extend(_saved_reports(saved["meta"], path))
        self.epoch = self.solver.epoch


def _train_transformer(
    data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log, device
):
    """train_captioner's work for the Transformer, once the checkpoint is held."""
    run = CaptioningTransformerTrainer(
        data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log, device
    )
    run.train()
    return run.model, run.solver, run.reports


def _train(data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log):
    """train_captioner's work, once its arguments are checked and the checkpoint is held."""

    state = None
    if resume and checkpoint is not None:
        if checkpoint_exists(checkpoint):
            model, meta, optim_state = load_checkpoint(checkpoint)
            saved = meta["extra"].get("hyper", {})
            saved_reports = meta["extra"].get("reports", [])
            if not isinstance(saved, dict) or not (
                isinstance(saved_reports, list) and all(isinstance(r, dict) for r in saved_reports)
            ):
                raise ValueError(
                    f"{checkpoint}: cannot resume, extra.hyper must be an object and "
                    "extra.reports a list of objects"
                )
            saved = {**saved, "input_dim": int(model.params["W_proj"].shape[0])}
            asked = {**hp, "input_dim": int(data["train_features"].shape[1])}
            differ = _resume_differences(saved, meta["extra"], asked, extra)
            if differ:
                raise ValueError(resume_refusal(checkpoint, differ, RESTART_HINT))
            if model.idx_to_word != {i: w for i, w in enumerate(data["idx_to_word"])}:
                raise ValueError(
                    f"{checkpoint}: cannot resume, the vocabulary differs from the data's"
                )
            state = (meta, optim_state)
    if state is None:
        np.random.seed(seed)
        model = CaptioningRNN(
            data["word_to_idx"],
            input_dim=data["train_features"].shape[1],
            wordvec_dim=hp["wordvec_dim"],
            hidden_dim=hp["hidden_dim"],
            cell_type=hp["cell_type"],
        )
    reports = []

    def save(solver, reports):
        save_checkpoint(
            checkpoint, model, solver, {**(extra or {}), "hyper": hp, "reports": reports}
        )

    end_of_epoch = _report_logger(
        model, data, reports, save if checkpoint is not None else None, verbose, log
    )
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": hp["learning_rate"]},
        lr_decay=hp["lr_decay"],
        batch_size=hp["batch_size"],
        num_epochs=hp["num_epochs"],
        print_every=print_every,
        verbose=verbose,
        progress=progress,
        on_epoch_end=end_of_epoch,
    )
    if state is not None:
        restore_solver(solver, *state, where=checkpoint_paths(checkpoint)[1])
        reports.extend(state[0]["extra"].get("reports", []))
    solver.train()
    return model, solver, reports
