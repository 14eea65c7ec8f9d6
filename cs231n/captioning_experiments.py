"""The assignment's captioning experiments as functions (used by the CLI and the tests)."""

from __future__ import annotations

import numpy as np

from .captioning_solver import CaptioningSolver
from .classifiers.rnn import CaptioningRNN
from .coco_utils import load_coco_vocab, random_caption_data
from .config import data_path
from .io_utils import save_figure

# The course's overfitting settings (RNN_Captioning / LSTM_Captioning notebooks).
OVERFIT_DEFAULTS = {
    "rnn": {"lr_decay": 0.95},
    "lstm": {"lr_decay": 0.995},
}


def small_caption_data(num_train=50, seed=231, data_root=None):
    """50 captions in the COCO format to overfit on, and a description of where they came from.

    Uses the real COCO vocabulary when ``coco2014_vocab.json`` is in the data directory; the
    features and captions are random (the COCO HDF5 files are not needed).
    """
    path = data_path("coco_captioning", "coco2014_vocab.json", data_root=data_root)
    if path.exists():
        vocab = load_coco_vocab(path)
        source = f"random captions over the COCO vocabulary ({path})"
    else:
        vocab = None
        source = "random captions over a placeholder 1004-word vocabulary"
    return random_caption_data(num_train=num_train, vocab=vocab, seed=seed), source


def overfit_small_data(
    cell_type="rnn",
    data=None,
    num_epochs=50,
    batch_size=25,
    learning_rate=5e-3,
    lr_decay=None,
    hidden_dim=512,
    wordvec_dim=256,
    print_every=10,
    seed=231,
    verbose=True,
    progress=False,
):
    """Overfit a captioning model on a small data set, as the notebooks do.

    Returns ``(model, solver)``; ``solver.loss_history`` holds the per-iteration losses.
    """
    if cell_type not in OVERFIT_DEFAULTS:
        raise ValueError(f'cell_type must be "rnn" or "lstm", got {cell_type!r}')
    if data is None:
        data, _ = small_caption_data(seed=seed)
    if lr_decay is None:
        lr_decay = OVERFIT_DEFAULTS[cell_type]["lr_decay"]
    np.random.seed(seed)
    model = CaptioningRNN(
        cell_type=cell_type,
        word_to_idx=data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        hidden_dim=hidden_dim,
        wordvec_dim=wordvec_dim,
        dtype=np.float32,
    )
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        num_epochs=num_epochs,
        batch_size=batch_size,
        optim_config={"learning_rate": learning_rate},
        lr_decay=lr_decay,
        verbose=verbose,
        print_every=print_every,
        progress=progress,
    )
    solver.train()
    return model, solver


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
