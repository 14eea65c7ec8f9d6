"""CaptioningSolverPytorch (cs231n.captioning_solver_pytorch, the 2025–2026 editions' Assignment 2
solver): the notebook's overfitting run, the NumPy solver on the same weights and minibatches,
the course's loop and options, the device, and bad arguments.

"RNN_Captioning_pytorch.ipynb" is the course's notebook of the 2025 and 2026 editions (the same
cells in both): its "Overfit RNN Captioning Model on Small Data" cell trains on 50 captions and
expects a final loss below 0.1.
"""

import numpy as np
import pytest
import torch

from cs231n.captioning_solver import CaptioningSolver
from cs231n.captioning_solver_pytorch import CaptioningSolverPytorch, SGDMomentum
from cs231n.classifiers import rnn as rnn_numpy
from cs231n.classifiers.rnn_pytorch import CaptioningRNN
from cs231n.coco_utils import random_caption_data


def tiny_setup(num_train=40, cell="rnn", dtype=torch.float32, seed=0):
    data = random_caption_data(num_train=num_train, feature_dim=8, max_words=5, seed=3)
    torch.manual_seed(seed)
    model = CaptioningRNN(
        data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7, cell_type=cell, dtype=dtype
    )
    return model, data


@pytest.mark.slow
def test_overfit_small_data_notebook():
    """RNN_Captioning_pytorch.ipynb (2025, 2026): seeds 231, 50 training captions, a vanilla RNN
    (hidden 512, word vectors 256, 512-wide features), 50 epochs of batch 25 (100 iterations),
    Adam 5e-3: "You should see a final loss of less than 0.1". The captions are random word
    sequences over a 1004-word vocabulary (random_caption_data) instead of COCO's, with random
    features: memorising them runs the same code. 2.4 s on this 2-core CPU when idle, 3.6 s
    of one core's time; far longer when the cores are shared, hence slow."""
    np.random.seed(231)
    torch.manual_seed(231)
    small_data = random_caption_data(num_train=50)
    model = CaptioningRNN(
        cell_type="rnn",
        word_to_idx=small_data["word_to_idx"],
        input_dim=small_data["train_features"].shape[1],
        hidden_dim=512,
        wordvec_dim=256,
    )
    solver = CaptioningSolverPytorch(
        model,
        small_data,
        num_epochs=50,
        batch_size=25,
        learning_rate=5e-3,
        verbose=False,
        print_every=10,
        device="cpu",
    )
    solver.train()
    assert len(solver.loss_history) == 100
    assert solver.loss_history[0] > 50  # ~log(1004) per word, ~9 words a caption
    assert solver.loss_history[-1] < 0.1
    # The notebook then samples from the overfitted model: its training captions come back.
    captions = small_data["train_captions"][:5]
    sampled = model.sample(torch.from_numpy(small_data["train_features"][:5])).numpy()
    for truth, sample in zip(captions, sampled, strict=True):
        length = int(np.argmax(truth == small_data["word_to_idx"]["<END>"]))
        np.testing.assert_array_equal(sample[:length], truth[1 : length + 1])


def test_overfit_small_data_quick():
    """The same experiment at a quarter of the sizes (hidden 128, word vectors 64, features
    64, learning rate 1e-2): 50 captions memorised in 100 Adam iterations, the notebook's final
    loss below 0.1 (0.04; 0.9 s of one CPU core)."""
    np.random.seed(231)
    torch.manual_seed(231)
    data = random_caption_data(num_train=50, feature_dim=64)
    model = CaptioningRNN(
        data["word_to_idx"], input_dim=64, wordvec_dim=64, hidden_dim=128, cell_type="rnn"
    )
    solver = CaptioningSolverPytorch(
        model, data, num_epochs=50, batch_size=25, learning_rate=1e-2, verbose=False, device="cpu"
    )
    solver.train()
    assert solver.loss_history[0] > 50
    assert solver.loss_history[-1] < 0.1


# ----------------------------------------------------------------------------------------------
# The NumPy solver on the same weights and minibatches (float64)


def twin_solvers(cell, update_rule, lr, lr_decay, seed=0, **config):
    data = random_caption_data(num_train=30, feature_dim=8, max_words=6, seed=seed)
    data = {**data, "train_features": data["train_features"].astype(np.float64)}
    np.random.seed(seed)
    numpy_model = rnn_numpy.CaptioningRNN(
        data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7, cell_type=cell,
        dtype=np.float64,
    )  # fmt: skip
    torch_model = CaptioningRNN(
        data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7, cell_type=cell,
        dtype=torch.float64,
    )  # fmt: skip
    torch_model.params = {k: torch.from_numpy(v.copy()) for k, v in numpy_model.params.items()}
    options = dict(
        update_rule=update_rule,
        optim_config={"learning_rate": lr, **config},
        lr_decay=lr_decay,
        batch_size=10,
        num_epochs=4,
        verbose=False,
    )
    numpy_solver = CaptioningSolver(numpy_model, data, **options)
    torch_solver = CaptioningSolverPytorch(torch_model, data, device="cpu", **options)
    np.random.seed(seed + 100)
    numpy_solver.train()
    np.random.seed(seed + 100)  # the same minibatches
    torch_solver.train()
    return numpy_solver, torch_solver


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize(
    "update_rule, lr", [("sgd", 0.5), ("sgd_momentum", 0.2), ("rmsprop", 5e-3)]
)
def test_training_equals_the_numpy_solver(cell, update_rule, lr):
    """Same weights, minibatches, update rule and learning-rate decay: the same losses and
    weights after 12 iterations, to rounding."""
    numpy_solver, torch_solver = twin_solvers(cell, update_rule, lr, lr_decay=0.8)
    assert len(torch_solver.loss_history) == len(numpy_solver.loss_history) == 12
    np.testing.assert_allclose(torch_solver.loss_history, numpy_solver.loss_history, rtol=1e-10)
    for k, v in torch_solver.model.params.items():
        np.testing.assert_allclose(
            v.numpy(), numpy_solver.model.params[k], rtol=1e-8, atol=1e-11, err_msg=k
        )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_adam_training_equals_the_numpy_solver(cell):
    """Adam, the course's rule: the same losses and weights as the NumPy solver's Adam, to
    rounding, once epsilon is too small to matter. (PyTorch adds epsilon to sqrt(v) after its
    bias correction, the course's NumPy rule before it; the two formulas are otherwise one.)"""
    numpy_solver, torch_solver = twin_solvers(cell, "adam", 1e-2, lr_decay=0.9, epsilon=1e-16)
    np.testing.assert_allclose(torch_solver.loss_history, numpy_solver.loss_history, rtol=1e-10)
    for k, v in torch_solver.model.params.items():
        np.testing.assert_allclose(
            v.numpy(), numpy_solver.model.params[k], rtol=1e-8, atol=1e-9, err_msg=k
        )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_adam_with_the_default_epsilon_follows_the_numpy_solver(cell):
    """With epsilon 1e-8 the steps differ by ~epsilon / sqrt(v): the losses still agree to
    1e-5 over 12 iterations (the rows of rarely seen words, where v is tiny, differ most)."""
    numpy_solver, torch_solver = twin_solvers(cell, "adam", 1e-2, lr_decay=0.9)
    assert torch_solver.loss_history[0] == pytest.approx(numpy_solver.loss_history[0], rel=1e-13)
    np.testing.assert_allclose(torch_solver.loss_history, numpy_solver.loss_history, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# The course's loop and options


def test_course_defaults_and_attributes():
    model, data = tiny_setup()
    solver = CaptioningSolverPytorch(model, data, device="cpu")
    assert (solver.learning_rate, solver.batch_size, solver.num_epochs) == (0.001, 100, 10)
    assert (solver.print_every, solver.verbose) == (10, True)
    assert isinstance(solver.optim, torch.optim.Adam)
    assert solver.optim.param_groups[0]["lr"] == 0.001
    # The optimiser holds the model's own tensors (the course's Adam over model.params).
    held = solver.optim.param_groups[0]["params"]
    assert all(a is b for a, b in zip(held, model.params.values(), strict=True))
    assert solver.epoch == 0 and solver.loss_history == []


def test_iterations_epochs_and_lr_decay():
    model, data = tiny_setup(num_train=40)
    solver = CaptioningSolverPytorch(
        model,
        data,
        learning_rate=1e-2,
        lr_decay=0.5,
        batch_size=10,
        num_epochs=3,
        verbose=False,
        device="cpu",
    )
    solver.train()
    assert len(solver.loss_history) == 3 * (40 // 10)
    assert all(isinstance(v, float) for v in solver.loss_history)
    assert solver.epoch == 3
    assert solver.optim.param_groups[0]["lr"] == pytest.approx(1e-2 * 0.5**3)
    assert solver.optim.state[model.params["Wx"]]["step"].item() == 12


def test_params_require_gradients_only_while_training():
    model, data = tiny_setup()
    before = {k: v.clone() for k, v in model.params.items()}
    seen = []
    solver = CaptioningSolverPytorch(
        model,
        data,
        batch_size=10,
        num_epochs=1,
        verbose=False,
        device="cpu",
        on_epoch_end=lambda s: seen.append([v.requires_grad for v in s.model.params.values()]),
    )
    solver.train()
    assert seen == [[True] * len(model.params)]
    assert not any(v.requires_grad for v in model.params.values())
    for k, v in model.params.items():  # every parameter was updated
        assert not torch.equal(v, before[k]), k


def test_verbose_prints_the_courses_lines(capsys):
    model, data = tiny_setup(num_train=40)
    solver = CaptioningSolverPytorch(
        model, data, batch_size=10, num_epochs=3, print_every=5, device="cpu"
    )
    solver.train()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(")")[0] for line in lines] == [
        "(Iteration 1 / 12",
        "(Iteration 6 / 12",
        "(Iteration 11 / 12",
    ]
    assert lines[0] == f"(Iteration 1 / 12) loss: {solver.loss_history[0]:f}"


def test_learning_rate_from_optim_config():
    model, data = tiny_setup()
    solver = CaptioningSolverPytorch(model, data, optim_config={"learning_rate": 0.03})
    assert solver.learning_rate == 0.03 and solver.optim.param_groups[0]["lr"] == 0.03
    same = CaptioningSolverPytorch(
        model, data, learning_rate=0.03, optim_config={"learning_rate": 0.03}
    )
    assert same.learning_rate == 0.03


@pytest.mark.parametrize(
    "update_rule, config, cls, expected",
    [
        ("adam", {"beta1": 0.8, "epsilon": 1e-6}, torch.optim.Adam, {"betas": (0.8, 0.999)}),
        ("sgd", {}, torch.optim.SGD, {"momentum": 0}),
        ("sgd_momentum", {"momentum": 0.5}, SGDMomentum, {"momentum": 0.5}),
        ("rmsprop", {"decay_rate": 0.9}, torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-8}),
    ],
)
def test_update_rules(update_rule, config, cls, expected):
    model, data = tiny_setup()
    solver = CaptioningSolverPytorch(model, data, update_rule=update_rule, optim_config=config)
    assert isinstance(solver.optim, cls)
    group = solver.optim.param_groups[0]
    for k, v in expected.items():
        assert group[k] == v, k


def test_a_restored_epoch_resumes():
    model, data = tiny_setup(num_train=40)
    solver = CaptioningSolverPytorch(
        model, data, batch_size=10, num_epochs=3, verbose=False, device="cpu"
    )
    solver.epoch = 2
    solver.train()
    assert len(solver.loss_history) == 4 and solver.epoch == 3


@pytest.mark.parametrize(
    "device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA GPU"))]
)  # fmt: skip
def test_device(device):
    model, data = tiny_setup(num_train=40, cell="lstm")
    solver = CaptioningSolverPytorch(
        model, data, learning_rate=0.02, batch_size=10, num_epochs=3, verbose=False, device=device
    )
    assert solver.device.type == device
    assert all(v.device.type == device for v in model.params.values())
    everything = (data["train_features"], data["train_captions"])
    before = model.loss(*everything).item()
    solver.train()
    assert model.loss(*everything).item() < before
    captions = model.sample(data["val_features"][:3], max_length=5)
    assert captions.device.type == "cpu" and captions.shape == (3, 5)


def test_default_device_is_the_gpu_when_there_is_one():
    model, data = tiny_setup()
    solver = CaptioningSolverPytorch(model, data)
    assert solver.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
        ({"num_epochs": 2.5}, ValueError, "num_epochs must be a positive integer, got 2.5"),
        ({"print_every": True}, ValueError, "print_every must be a positive integer"),
        ({"learning_rate": -1}, ValueError, r"learning_rate must be in \(0, inf\], got -1"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be a finite number"),
        ({"lr_decay": 0}, ValueError, r"lr_decay must be in \(0, inf\], got 0"),
        ({"update_rule": "adagrad"}, ValueError, 'Invalid update_rule "adagrad"'),
        (
            {"update_rule": "sgd", "optim_config": {"beta1": 0.9}},
            ValueError,
            r"optim_config key\(s\) \['beta1'\] do not apply to update_rule \"sgd\"",
        ),
        (
            {"optim_config": {"beta2": 1.5}},
            ValueError,
            r"optim_config\['beta2'\] must be in \[0, 1\], got 1.5",
        ),
        (
            {"learning_rate": 0.1, "optim_config": {"learning_rate": 0.2}},
            ValueError,
            "disagree",
        ),
        ({"device": "tpu"}, ValueError, "unknown device 'tpu'"),
        ({"bogus": 1}, ValueError, 'Unrecognized arguments "bogus"'),
    ],
)
def test_bad_arguments(kwargs, error, match):
    model, data = tiny_setup()
    with pytest.raises(error, match=match):
        CaptioningSolverPytorch(model, data, **kwargs)


def test_missing_data_and_non_finite_features_are_refused():
    model, data = tiny_setup()
    with pytest.raises(KeyError, match="the data has no 'train_image_idxs'"):
        CaptioningSolverPytorch(model, {k: v for k, v in data.items() if k != "train_image_idxs"})
    bad = {**data, "train_features": data["train_features"].copy()}
    bad["train_features"][3, 1] = np.nan
    with pytest.raises(ValueError, match="train_features hold NaN or inf"):
        CaptioningSolverPytorch(model, bad)


def test_the_numpy_model_is_refused_clearly():
    data = random_caption_data(num_train=10, feature_dim=8, max_words=5)
    model = rnn_numpy.CaptioningRNN(data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=7)
    with pytest.raises(TypeError, match=r"model.params\['W_embed'\] is ndarray"):
        CaptioningSolverPytorch(model, data)


def test_replaced_params_are_refused_before_training():
    model, data = tiny_setup()
    solver = CaptioningSolverPytorch(model, data, verbose=False, device="cpu")
    model.params["Wx"] = model.params["Wx"].clone()
    with pytest.raises(ValueError, match="model.params were replaced after the solver was built"):
        solver.train()


def test_a_non_finite_loss_stops_training_clearly():
    model, data = tiny_setup(num_train=40)
    solver = CaptioningSolverPytorch(
        model, data, learning_rate=1.0, batch_size=10, num_epochs=2, verbose=False, device="cpu"
    )
    model.params["W_vocab"][0, 0] = float("inf")
    with pytest.raises(FloatingPointError, match="NaN/inf values"):
        solver.train()
    assert not any(v.requires_grad for v in model.params.values())  # restored on the way out


def test_star_import_gives_what_the_courses_module_gives():
    namespace: dict = {}
    exec("from cs231n.captioning_solver_pytorch import *", namespace)
    assert namespace["CaptioningSolverPytorch"] is CaptioningSolverPytorch
    assert namespace["torch"] is torch and namespace["np"] is np
    for name in ("optim", "sample_coco_minibatch", "decode_captions"):
        assert name in namespace
