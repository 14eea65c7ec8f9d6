"""Tests for cs231n.optim: the course notebook's numbers, torch.optim on the same gradient
sequence, defaults, dtypes and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cs231n import optim
from cs231n.gradient_check import rel_error

N, D = 4, 5
# The notebook prints 8 decimals; agreeing to them means |difference| <= 5e-9.
PRINTED = {"rtol": 0, "atol": 5.000001e-9}


def notebook_w_dw():
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    return w, dw


def test_sgd_momentum_notebook_values():
    w, dw = notebook_w_dw()
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-3, "velocity": v}
    next_w, config = optim.sgd_momentum(w, dw, config=config)
    expected_next_w = np.asarray(
        [
            [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
            [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
            [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
            [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096],
        ]
    )
    expected_velocity = np.asarray(
        [
            [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
            [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
            [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
            [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096],
        ]
    )
    assert rel_error(next_w, expected_next_w) < 1e-8
    np.testing.assert_allclose(next_w, expected_next_w, **PRINTED)
    np.testing.assert_allclose(config["velocity"], expected_velocity, **PRINTED)


def test_rmsprop_notebook_values():
    w, dw = notebook_w_dw()
    cache = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-2, "cache": cache}
    next_w, config = optim.rmsprop(w, dw, config=config)
    expected_next_w = np.asarray(
        [
            [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
            [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
            [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
            [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619],
        ]
    )
    expected_cache = np.asarray(
        [
            [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
            [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
            [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
            [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926],
        ]
    )
    np.testing.assert_allclose(next_w, expected_next_w, **PRINTED)
    np.testing.assert_allclose(config["cache"], expected_cache, **PRINTED)


def test_adam_notebook_values():
    w, dw = notebook_w_dw()
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-2, "m": m, "v": v, "t": 5}
    next_w, config = optim.adam(w, dw, config=config)
    expected_next_w = np.asarray(
        [
            [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
            [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
            [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
            [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459],
        ]
    )
    expected_v = np.asarray(
        [
            [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
            [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
            [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
            [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966],
        ]
    )
    expected_m = np.asarray(
        [
            [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
            [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
            [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
            [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85],
        ]
    )
    np.testing.assert_allclose(next_w, expected_next_w, **PRINTED)
    np.testing.assert_allclose(config["v"], expected_v, **PRINTED)
    np.testing.assert_allclose(config["m"], expected_m, **PRINTED)
    assert config["t"] == 6


# The same gradient sequence through torch.optim (float64). Each pair is algebraically identical:
# torch's SGD momentum keeps v' = -v / lr. The course's Adam adds eps to sqrt(v) before the bias
# correction, which is torch's Adam with eps / sqrt(1 - beta2**t) at step t (set below).

RULES = {
    "sgd": (optim.sgd, {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (
        optim.sgd_momentum,
        {"learning_rate": 0.05, "momentum": 0.8},
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8),
    ),
    "rmsprop": (
        optim.rmsprop,
        {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6),
    ),
    "adam": (
        optim.adam,
        {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6},
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-6),
    ),
    "adam_defaults": (optim.adam, None, lambda p: torch.optim.Adam(p, lr=1e-3)),
    "rmsprop_defaults": (optim.rmsprop, None, lambda p: torch.optim.RMSprop(p, lr=1e-2)),
    "sgd_momentum_defaults": (
        optim.sgd_momentum,
        None,
        lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9),
    ),
}


@pytest.mark.parametrize("name", list(RULES))
def test_matches_torch_optim(name):
    update, config, make_torch = RULES[name]
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4))
    param = torch.nn.Parameter(torch.from_numpy(w.copy()))
    opt = make_torch([param])
    config = None if config is None else dict(config)
    for t in range(1, 13):
        dw = rng.standard_normal(w.shape) * rng.uniform(0.01, 3)
        w, config = update(w, dw, config)
        param.grad = torch.from_numpy(dw.copy())
        if update is optim.adam:
            group = opt.param_groups[0]
            group["eps"] = config["epsilon"] / np.sqrt(1 - group["betas"][1] ** t)
        opt.step()
        np.testing.assert_allclose(w, param.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adam_is_the_courses():
    """The course's formula, step by step; it differs from the paper's eps placement."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(6)
    config = {"learning_rate": 0.01, "epsilon": 1e-3}  # a large eps makes the difference show
    m = v = np.zeros(6)
    paper = x.copy()
    for t in range(1, 6):
        dx = rng.standard_normal(6) * 1e-3
        m = 0.9 * m + 0.1 * dx
        v = 0.999 * v + 0.001 * dx * dx
        alpha = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        expected = x - alpha * (m / (np.sqrt(v) + 1e-3))
        paper -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-3)
        returned, config = optim.adam(x, dx, config)
        assert returned is x  # in place, as the course's
        np.testing.assert_array_equal(x, expected)
    assert np.abs(x - paper).max() > 1e-4


def test_adam_first_step_is_learning_rate_times_sign():
    w = np.array([1.0, -2.0, 3.0])
    dw = np.array([0.5, -7.0, 1e-3])
    next_w, config = optim.adam(w.copy(), dw)
    # At t=1 the step is lr * dw / (|dw| + eps / sqrt(1 - beta2)) ~ lr * sign(dw).
    eps = 1e-8 / np.sqrt(1 - 0.999)
    np.testing.assert_allclose(next_w, w - 1e-3 * dw / (np.abs(dw) + eps), rtol=1e-15)
    assert config["t"] == 1


def test_default_configs():
    w, dw = np.ones(3), np.ones(3)
    assert optim.sgd(w.copy(), dw)[1] == {"learning_rate": 1e-2}
    c = optim.sgd_momentum(w, dw)[1]
    assert (c["learning_rate"], c["momentum"]) == (1e-2, 0.9)
    np.testing.assert_allclose(c["velocity"], -1e-2 * dw)
    c = optim.rmsprop(w, dw)[1]
    assert (c["learning_rate"], c["decay_rate"], c["epsilon"]) == (1e-2, 0.99, 1e-8)
    np.testing.assert_allclose(c["cache"], 0.01 * dw * dw)
    c = optim.adam(w, dw)[1]
    assert (c["learning_rate"], c["beta1"], c["beta2"], c["epsilon"]) == (1e-3, 0.9, 0.999, 1e-8)
    assert c["t"] == 1
    np.testing.assert_allclose(c["m"], 0.1 * dw)
    np.testing.assert_allclose(c["v"], 0.001 * dw * dw)
    _, c = optim.adam(w, dw, c)
    assert c["t"] == 2


def test_given_hyperparameters_are_kept_and_state_is_carried():
    config = {"learning_rate": 0.5, "beta1": 0.0, "beta2": 0.0, "epsilon": 0.0}
    w = np.array([1.0, 1.0])
    # With beta1 = beta2 = eps = 0 Adam steps by exactly lr * sign(dw).
    w, config = optim.adam(w, np.array([3.0, -0.1]), config)
    np.testing.assert_allclose(w, [0.5, 1.5])
    assert config["learning_rate"] == 0.5
    w, config = optim.adam(w, np.array([-2.0, 4.0]), config)
    np.testing.assert_allclose(w, [1.0, 1.0])
    assert config["t"] == 2


def test_sgd_momentum_accumulates_velocity():
    config = {"learning_rate": 1.0, "momentum": 0.5}
    w = np.zeros(1)
    w, config = optim.sgd_momentum(w, np.ones(1), config)  # v = -1
    w, config = optim.sgd_momentum(w, np.ones(1), config)  # v = -1.5
    np.testing.assert_allclose(config["velocity"], [-1.5])
    np.testing.assert_allclose(w, [-2.5])


@pytest.mark.parametrize("update", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_float32_is_preserved(update):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    config = None
    for _ in range(3):
        w, config = update(w, rng.standard_normal((2, 3)).astype(np.float32), config)
        assert w.dtype == np.float32
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, key


@pytest.mark.parametrize("update", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_float64_gradient_does_not_upcast_float32_weights(update):
    # Regression: adam, sgd_momentum and rmsprop used to return float64 weights here.
    w, config = update(np.ones(3, np.float32), np.ones(3), None)
    w, config = update(w, np.ones(3), config)
    assert w.dtype == np.float32


@pytest.mark.parametrize("update", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_bad_arguments(update):
    with pytest.raises(ValueError, match=r"d[wx] has shape \(3, 2\) but [wx] has shape \(2, 3\)"):
        update(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="numpy arrays"):
        update([1.0, 2.0], np.zeros(2))
