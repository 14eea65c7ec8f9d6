"""CaptioningSolver: the course's training loop, and the overfitting experiment."""

import numpy as np
import pytest

from cs231n import optim
from cs231n.captioning.training import overfit_small_data
from cs231n.captioning_solver import CaptioningSolver
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.coco_utils import random_caption_data


def tiny_setup(num_train=40, cell="rnn"):
    data = random_caption_data(num_train=num_train, feature_dim=8, max_words=5, seed=3)
    np.random.seed(0)
    model = CaptioningRNN(
        data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7, cell_type=cell
    )
    return model, data


def test_iterations_epochs_and_lr_decay():
    model, data = tiny_setup(num_train=40)
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        lr_decay=0.5,
        batch_size=10,
        num_epochs=3,
        verbose=False,
    )
    solver.train()
    assert len(solver.loss_history) == 3 * (40 // 10)
    assert solver.epoch == 3
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(1e-2 * 0.5**3)
        assert config["t"] == 12
    # Each parameter has its own optimiser state.
    assert solver.optim_configs["Wx"]["m"].shape == model.params["Wx"].shape


def test_batch_larger_than_data_still_one_iteration_per_epoch():
    model, data = tiny_setup(num_train=5)
    solver = CaptioningSolver(model, data, batch_size=25, num_epochs=2, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 2


def test_step_applies_the_update_rule_to_every_parameter():
    model, data = tiny_setup()
    before = {k: v.copy() for k, v in model.params.items()}
    np.random.seed(1)
    solver = CaptioningSolver(
        model,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 0.1},
        batch_size=8,
        verbose=False,
    )
    solver._step()
    # Recompute the same minibatch's gradients on the old parameters.
    np.random.seed(1)
    idx = np.random.choice(data["train_captions"].shape[0], 8)
    reference = CaptioningRNN(data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7)
    reference.params = {k: v.copy() for k, v in before.items()}
    _, grads = reference.loss(
        data["train_features"][data["train_image_idxs"][idx]], data["train_captions"][idx]
    )
    for k in before:
        np.testing.assert_allclose(
            model.params[k], before[k] - 0.1 * grads[k], rtol=1e-5, atol=1e-7, err_msg=k
        )


def test_verbose_prints_every_print_every(capsys):
    model, data = tiny_setup(num_train=40)
    CaptioningSolver(model, data, batch_size=10, num_epochs=2, print_every=3).train()
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("(Iteration")]
    assert [l.split()[1] for l in lines] == ["1", "4", "7"]
    assert lines[0].endswith(tuple("0123456789")) and "/ 8) loss:" in lines[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"update_rule": "adamw"}, 'Invalid update_rule "adamw"'),
        ({"bogus": 1}, 'Unrecognized arguments "bogus"'),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    model, data = tiny_setup()
    with pytest.raises(ValueError, match=match):
        CaptioningSolver(model, data, **kwargs)


def test_missing_data_key():
    model, data = tiny_setup()
    del data["train_features"]
    solver = CaptioningSolver(model, data, verbose=False)
    with pytest.raises(KeyError, match="train_features"):
        solver.train()


def test_every_update_rule_reduces_the_loss():
    for rule, lr in (("sgd", 0.5), ("sgd_momentum", 0.1), ("rmsprop", 1e-2), ("adam", 1e-2)):
        assert hasattr(optim, rule)
        model, data = tiny_setup(num_train=20)
        solver = CaptioningSolver(
            model,
            data,
            update_rule=rule,
            batch_size=20,
            num_epochs=60,
            optim_config={"learning_rate": lr},
            verbose=False,
        )
        solver.train()
        assert np.mean(solver.loss_history[-5:]) < 0.7 * solver.loss_history[0], rule


@pytest.mark.slow
@pytest.mark.parametrize("cell, threshold", [("rnn", 0.1), ("lstm", 0.5)])
def test_overfit_small_data(cell, threshold):
    """The assignment's sanity check: 50 captions, Adam 5e-3, batch 25, 50 epochs, H=512, W=256."""
    data = random_caption_data(num_train=50, seed=231)
    model, solver = overfit_small_data(cell, data=data, verbose=False)
    assert model.params["Wx"].dtype == np.float32
    assert len(solver.loss_history) == 100
    assert solver.loss_history[0] > 30  # ~ 10 words * log(1004) before training
    assert solver.loss_history[-1] < threshold


def test_non_finite_features_are_refused_up_front():
    model, data = tiny_setup()
    data["train_features"][2, 3] = np.nan
    with pytest.raises(ValueError, match="train_features hold NaN or inf"):
        CaptioningSolver(model, data, update_rule="adam", batch_size=10)


def test_a_non_finite_loss_stops_training_naming_the_iteration(monkeypatch):
    model, data = tiny_setup()
    solver = CaptioningSolver(
        model, data, update_rule="adam", optim_config={"learning_rate": 0.5}, verbose=False
    )
    calls = []
    real_loss = model.loss

    def diverging(features, captions):
        loss, grads = real_loss(features, captions)
        calls.append(loss)
        return (float("nan") if len(calls) == 3 else loss), grads

    monkeypatch.setattr(model, "loss", diverging)
    with pytest.raises(FloatingPointError, match=r"the loss is nan at iteration 3 \(epoch 3\); "):
        solver.train()
    assert len(calls) == 3


def test_experiments_refuse_data_and_sizes_that_would_train_wrong_or_not_fit():
    from cs231n.captioning.training import train_captioner

    data = random_caption_data(num_train=20, feature_dim=8, max_words=5, seed=3)
    bad = dict(data, word_to_idx={**data["word_to_idx"], "word0": 5, "word1": 4})
    with pytest.raises(ValueError, match=r"inconsistent vocabulary: idx_to_word\[4\] is 'word0'"):
        overfit_small_data(data=bad, num_epochs=1, hidden_dim=4, wordvec_dim=4, verbose=False)
    nan = dict(data, val_features=np.full_like(data["val_features"], np.nan))
    with pytest.raises(ValueError, match="val_features hold NaN or infinite values"):
        train_captioner(nan, num_epochs=1, hidden_dim=4, wordvec_dim=4, verbose=False)
    with pytest.raises(ValueError, match=r"hidden_dim=10000000, .* needs about .* of memory"):
        train_captioner(data, num_epochs=1, hidden_dim=10**7, verbose=False, progress=False)
