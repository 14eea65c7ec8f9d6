"""cs231n.captioning_solver_transformer: the course's Transformer captioning solver, on the
project's caption data (random captions in the COCO format, the built-in Shapes data)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)

from cs231n.captioning import shapes as shapes_captioning
from cs231n.captioning.data import small_caption_data
from cs231n.captioning_solver_transformer import (
    CaptioningSolverTransformer,
    transformer_temporal_softmax_loss,
)
from cs231n.classifiers.transformer import CaptioningTransformer
from cs231n.coco_utils import decode_captions, random_caption_data
from cs231n.rnn_layers import temporal_softmax_loss


def tiny_captioner(data, seed=0, wordvec_dim=32):
    torch.manual_seed(seed)
    return CaptioningTransformer(
        data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        wordvec_dim=wordvec_dim,
        num_heads=2,
        num_layers=1,
        max_length=20,
    )


# --------------------------------------------------------------------------------------------
# The loss


def test_loss_averages_over_all_positions():
    """Masked cross-entropy averaged over N * T: T times smaller than the NumPy loss, which
    sums over time and averages over N."""
    rng = np.random.default_rng(0)
    N, T, V = 4, 6, 9
    x = rng.standard_normal((N, T, V))
    y = rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) < 0.7
    ours = transformer_temporal_softmax_loss(
        torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)
    )
    numpy_loss, _ = temporal_softmax_loss(x, y, mask)
    assert abs(ours.item() * T - numpy_loss) < 1e-12
    # By hand: the mean over the N * T positions of the masked log-loss.
    log_p = x - np.log(np.exp(x).sum(axis=2, keepdims=True))
    by_hand = -(np.take_along_axis(log_p, y[..., None], axis=2)[..., 0] * mask).mean()
    assert abs(ours.item() - by_hand) < 1e-12


# --------------------------------------------------------------------------------------------
# CaptioningSolverTransformer


def test_solver_options_and_checks():
    data = random_caption_data(num_train=10, num_val=2, feature_dim=8, seed=0)
    model = tiny_captioner(data)
    solver = CaptioningSolverTransformer(model, data, idx_to_word=data["idx_to_word"])
    assert (solver.learning_rate, solver.batch_size, solver.num_epochs) == (1e-3, 100, 10)
    assert (solver.print_every, solver.verbose) == (10, True)
    assert isinstance(solver.optim, torch.optim.Adam) and solver.loss_history == []
    assert solver.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match='Unrecognized arguments "lr"'):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], lr=1e-3)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], batch_size=0)
    with pytest.raises(ValueError, match="device"):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], device="nonsense")
    broken = dict(data, train_features=np.full_like(data["train_features"], np.nan))
    with pytest.raises(ValueError, match="NaN or inf"):
        CaptioningSolverTransformer(model, broken, data["idx_to_word"])
    with pytest.raises(KeyError, match="train_captions"):
        CaptioningSolverTransformer(
            model, {k: v for k, v in data.items() if k != "train_captions"}, None
        )


def _run(data, epochs_in_steps, seed=1):
    """Train a fresh tiny model for ``epochs_in_steps`` successive train() calls (each a
    number of epochs); returns the solver."""
    np.random.seed(seed)
    model = tiny_captioner(data, seed)
    ends = []
    solver = CaptioningSolverTransformer(
        model,
        data,
        data["idx_to_word"],
        batch_size=10,
        num_epochs=epochs_in_steps[0],
        verbose=False,
        device="cpu",
        on_epoch_end=lambda s: ends.append(s.epoch),
    )
    solver.train()
    for epochs in epochs_in_steps[1:]:
        solver.num_epochs += epochs
        solver.train()
    solver.epoch_ends = ends
    return solver


def test_solver_counts_epochs_and_resumes_where_it_stopped():
    data = random_caption_data(num_train=30, num_val=2, feature_dim=8, seed=0)
    at_once = _run(data, [3])
    in_parts = _run(data, [1, 2])
    assert len(at_once.loss_history) == 9  # 3 epochs of 30 // 10 iterations
    assert at_once.epoch == 3 and at_once.epoch_ends == [1, 2, 3]
    assert in_parts.epoch_ends == [1, 2, 3]
    np.testing.assert_allclose(in_parts.loss_history, at_once.loss_history, rtol=1e-6)


def test_solver_prints_the_courses_lines(capsys):
    data = random_caption_data(num_train=20, num_val=2, feature_dim=8, seed=0)
    solver = CaptioningSolverTransformer(
        tiny_captioner(data),
        data,
        data["idx_to_word"],
        batch_size=10,
        num_epochs=2,
        print_every=3,
        device="cpu",
    )
    solver.train()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(")")[0] for line in lines] == ["(Iteration 1 / 4", "(Iteration 4 / 4"]
    assert lines[0] == f"(Iteration 1 / 4) loss: {solver.loss_history[0]:f}"


def test_solver_learns_the_shapes_data():
    """The built-in Shapes data (the same dict format as COCO's): a short run lowers the loss,
    and the trained model captions with the data's vocabulary."""
    data = shapes_captioning.generate(num_train=60, num_val=4, seed=0)
    np.random.seed(0)
    model = tiny_captioner(data, wordvec_dim=64)
    solver = CaptioningSolverTransformer(
        model,
        data,
        data["idx_to_word"],
        batch_size=25,
        num_epochs=4,
        learning_rate=3e-3,
        verbose=False,
        device="cpu",
    )
    solver.train()
    first, last = np.mean(solver.loss_history[:3]), np.mean(solver.loss_history[-3:])
    assert last < 0.5 * first, (first, last)
    captions = model.sample(data["val_features"], max_length=12)
    texts = decode_captions(captions, data["idx_to_word"])
    assert len(texts) == 4 and all(isinstance(t, str) for t in texts)


@pytest.mark.slow
def test_course_overfit_experiment():
    """The notebook's experiment: 50 captions (random, in the COCO format, as for the RNN),
    num_heads=2, num_layers=2, wordvec_dim=256, max_length=30, 100 epochs of batch 25,
    learning rate 1e-3, seed 231: the final loss is below the course's 0.03."""
    data, _ = small_caption_data(num_train=50, seed=231)
    torch.manual_seed(231)
    np.random.seed(231)
    transformer = CaptioningTransformer(
        word_to_idx=data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        wordvec_dim=256,
        num_heads=2,
        num_layers=2,
        max_length=30,
    )
    solver = CaptioningSolverTransformer(
        transformer,
        data,
        idx_to_word=data["idx_to_word"],
        num_epochs=100,
        batch_size=25,
        learning_rate=0.001,
        verbose=False,
        device="cpu",
    )
    start = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - start
    assert len(solver.loss_history) == 200
    assert solver.loss_history[-1] < 0.03, (solver.loss_history[-1], seconds)
