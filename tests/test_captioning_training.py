"""cs231n.captioning.training (and its data, sizing and evaluation modules) with the captioning Transformer beside the RNN and LSTM: the
course's overfitting experiment, training defaults and checks, validation and evaluation."""

import numpy as np
import pytest
import torch
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)

from cs231n.captioning import shapes as shapes_captioning
from cs231n.captioning.data import small_caption_data
from cs231n.captioning.evaluation import evaluate_captioner, transformer_loss, validation_report
from cs231n.captioning.sizing import transformer_parameter_count
from cs231n.captioning.training import (
    OVERFIT_DEFAULTS,
    TRANSFORMER_TRAIN_DEFAULTS,
    overfit_small_data,
    train_captioner,
    train_defaults,
)
from cs231n.classifiers.transformer import CaptioningTransformer
from cs231n.coco_utils import random_caption_data

TINY = dict(wordvec_dim=16, num_heads=2, num_layers=1)


def test_overfit_small_data_builds_the_courses_transformer():
    """Unless told otherwise: the notebook's model (2 heads, 2 layers, max_length 30, word
    vectors 256) and solver (Adam 1e-3, 100 epochs; batch 25)."""
    assert OVERFIT_DEFAULTS["transformer"] == {
        "num_epochs": 100,
        "learning_rate": 1e-3,
        "wordvec_dim": 256,
        "num_heads": 2,
        "num_layers": 2,
        "max_length": 30,
    }
    data = random_caption_data(num_train=50, feature_dim=8, seed=0)
    model, solver = overfit_small_data(
        "transformer", data=data, num_epochs=2, verbose=False, device="cpu"
    )
    assert isinstance(model, CaptioningTransformer)
    assert model.max_length == 30 and len(model.transformer.layers) == 2
    assert model.transformer.layers[0].self_attn.n_head == 2
    assert model.embedding.embedding_dim == 256
    assert solver.learning_rate == 1e-3 and solver.batch_size == 25
    assert len(solver.loss_history) == 4  # 2 epochs of 50 // 25 iterations
    # Seeded as the notebook: a second run starts with the same losses.
    _, again = overfit_small_data(
        "transformer", data=data, num_epochs=1, verbose=False, device="cpu"
    )
    assert again.loss_history == solver.loss_history[:2]


def test_the_api_runs_the_notebooks_overfit_experiment():
    """`cs231n caption overfit --model transformer` is the notebook's experiment (50 captions,
    seed 231, its model and solver settings): its loss history equals the notebook's own
    construction, draw for draw. The full 100 epochs, below the course's 0.03, run once, in
    test_captioning_solver_transformer.py::test_course_overfit_experiment."""
    from cs231n.captioning_solver_transformer import CaptioningSolverTransformer

    data, _ = small_caption_data(num_train=50, seed=231)
    _, solver = overfit_small_data(
        "transformer", data=data, num_epochs=3, verbose=False, device="cpu"
    )
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
    notebook = CaptioningSolverTransformer(
        transformer, data, idx_to_word=data["idx_to_word"], num_epochs=3, batch_size=25,
        learning_rate=0.001, verbose=False, device="cpu",
    )  # fmt: skip
    notebook.train()
    assert len(solver.loss_history) == 6
    assert solver.loss_history == notebook.loss_history


@pytest.mark.parametrize(
    "sizes", [dict(wordvec_dim=16, num_layers=1), dict(wordvec_dim=32, num_layers=3)]
)
def test_transformer_parameter_count_is_exact(sizes):
    words = {w: i for i, w in enumerate(["<NULL>", "<START>", "<END>", "a", "b"])}
    model = CaptioningTransformer(words, input_dim=7, num_heads=4, **sizes)
    assert transformer_parameter_count(5, 7, **sizes) == model.get_num_params()
    assert model.get_num_params() == sum(p.numel() for p in model.parameters())


def test_train_defaults_and_checks():
    assert train_defaults("transformer") == TRANSFORMER_TRAIN_DEFAULTS
    assert TRANSFORMER_TRAIN_DEFAULTS["learning_rate"] == 1e-3
    assert train_defaults("rnn")["cell_type"] == "rnn"
    data = random_caption_data(num_train=20, feature_dim=8, seed=0)
    with pytest.raises(ValueError, match=r"for cell_type 'transformer': \['hidden_dim'\]"):
        train_captioner(data, cell_type="transformer", hidden_dim=5)
    with pytest.raises(ValueError, match=r"cell_type must be \"rnn\", \"lstm\" or \"transformer\""):
        train_captioner(data, cell_type="gru")
    with pytest.raises(ValueError, match=r"wordvec_dim=1000000, .* needs about .* of memory"):
        train_captioner(data, cell_type="transformer", wordvec_dim=10**6, num_heads=1)
    with pytest.raises(ValueError, match=r"max_length 5 is shorter than the captions .*16 words"):
        train_captioner(data, cell_type="transformer", max_length=5, verbose=False, **TINY)


@pytest.fixture(scope="module")
def shapes():
    return shapes_captioning.generate(num_train=40, num_val=10, seed=0)


@pytest.fixture(scope="module")
def trained(shapes):
    model, solver, reports = train_captioner(
        shapes,
        cell_type="transformer",
        num_epochs=2,
        batch_size=50,
        learning_rate=3e-3,
        verbose=False,
        progress=False,
        device="cpu",
        **TINY,
    )
    return model, solver, reports


def test_transformer_training_reports_every_epoch(trained, shapes):
    model, solver, reports = trained
    assert [r["epoch"] for r in reports] == [1, 2] and solver.epoch == 2
    assert set(reports[-1]) == {"epoch", "val_loss", "semantic_accuracy"}
    # The validation loss is the course's (averaged over word positions), in eval mode.
    captions = shapes["val_captions"]
    features = shapes["val_features"][shapes["val_image_idxs"]]
    model.train()
    loss = transformer_loss(model, features, captions, batch_size=7)  # batches of any size
    assert model.training  # the mode is restored
    assert loss == pytest.approx(reports[-1]["val_loss"], rel=1e-5)
    model.eval()
    with torch.no_grad():
        x = torch.as_tensor(captions, dtype=torch.long)
        scores = model(torch.as_tensor(features), x[:, :-1])
        expected = torch.nn.functional.cross_entropy(
            scores.reshape(-1, scores.shape[-1]), x[:, 1:].reshape(-1), reduction="none"
        )
        expected = (expected * (x[:, 1:].reshape(-1) != 0)).mean().item()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert validation_report(model, shapes)["val_loss"] == pytest.approx(loss, rel=1e-6)


def test_evaluate_a_transformer_greedy_and_beam(trained, shapes):
    model, _, _ = trained
    results = evaluate_captioner(
        model, shapes, methods=(("greedy", {}), ("beam", {"beam_size": 3})), use_java=False
    )
    assert set(results) == {"greedy", "beam3"}
    for r in results.values():
        assert len(r["captions"]) == 10 and 0 <= r["semantic_accuracy"] <= 1
        assert {"Bleu_4", "CIDEr"} <= set(r["metrics"])
        assert all(isinstance(t, str) for t in r["captions"].values())
