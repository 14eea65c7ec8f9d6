"""Tests for cs231n.layers: affine, ReLU and softmax loss (notebook values, numerical gradients,
PyTorch autograd, dtypes, argument checks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import check_against_torch

from cs231n import layers
from cs231n import rnn_layers as rl
from cs231n.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)


def test_affine_forward_notebook_values():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * math.prod(input_shape)
    weight_size = output_dim * math.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(math.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = layers.affine_forward(x, w, b)
    correct_out = np.array(
        [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
    )
    assert rel_error(out, correct_out) < 1e-8
    np.testing.assert_allclose(out, correct_out, rtol=0, atol=5.000001e-9)


def test_relu_forward_notebook_values():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = layers.relu_forward(x)
    correct_out = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.04545455, 0.13636364],
            [0.22727273, 0.31818182, 0.40909091, 0.5],
        ]
    )
    np.testing.assert_allclose(out, correct_out, rtol=0, atol=5.000001e-9)


def test_rnn_layers_reexports_affine():
    assert rl.affine_forward is layers.affine_forward
    assert rl.affine_backward is layers.affine_backward


def test_affine_backward_numerical():
    rng = np.random.default_rng(231)
    x = rng.standard_normal((10, 2, 3))
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((10, 5))
    dx_num = eval_numerical_gradient_array(lambda x: layers.affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: layers.affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: layers.affine_forward(x, w, b)[0], b, dout)
    _, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx_num, dx) <= 1e-7
    assert rel_error(dw_num, dw) <= 1e-7
    assert rel_error(db_num, db) <= 1e-7


def test_relu_backward_numerical():
    rng = np.random.default_rng(231)
    x = rng.standard_normal((10, 10))
    dout = rng.standard_normal(x.shape)
    dx_num = eval_numerical_gradient_array(lambda x: layers.relu_forward(x)[0], x, dout)
    _, cache = layers.relu_forward(x)
    assert rel_error(dx_num, layers.relu_backward(dout, cache)) <= 1e-7


def test_relu_backward_is_zero_at_zero():
    _, cache = layers.relu_forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(layers.relu_backward(np.array([5.0, 5.0, 5.0]), cache), [0, 0, 5])


def test_softmax_loss_sanity_and_numerical_gradient():
    rng = np.random.default_rng(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * rng.standard_normal((num_inputs, num_classes))
    y = rng.integers(num_classes, size=num_inputs)
    loss, dx = layers.softmax_loss(x, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(math.log(num_classes), rel=1e-2)  # ~2.3
    dx_num = eval_numerical_gradient(lambda x: layers.softmax_loss(x, y)[0], x, verbose=False)
    assert rel_error(dx_num, dx) <= 1e-7


def test_softmax_loss_large_scores_are_stable():
    x = np.array([[1000.0, -1000.0], [0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dx = layers.softmax_loss(x, np.array([1, 0]))
    assert loss == pytest.approx((2000.0 + math.log(2)) / 2)
    np.testing.assert_allclose(dx, [[0.5, -0.5], [-0.25, 0.25]], atol=1e-15)


# PyTorch autograd re-computations, float64


@pytest.mark.parametrize("x_shape", [(4, 6), (3, 2, 5), (2, 1, 3, 2)])
def test_affine_matches_torch(x_shape):
    rng = np.random.default_rng(0)
    D = math.prod(x_shape[1:])
    inputs = [rng.standard_normal(x_shape), rng.standard_normal((D, 7)), rng.standard_normal(7)]
    _, (dx, _, _) = check_against_torch(
        layers.affine_forward,
        layers.affine_backward,
        lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b,
        inputs,
    )
    assert dx.shape == x_shape


def test_relu_matches_torch():
    x = np.random.default_rng(1).standard_normal((5, 4, 3))
    check_against_torch(layers.relu_forward, layers.relu_backward, torch.relu, [x])


@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0])
def test_softmax_loss_matches_torch(scale):
    rng = np.random.default_rng(2)
    x = scale * rng.standard_normal((9, 6))
    y = rng.integers(6, size=9)
    check_against_torch(
        layers.softmax_loss,
        lambda dout, dx: dout * dx,
        lambda x, y: F.cross_entropy(x, y),
        [x, y],
        differentiable=[0],
    )


# dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3)).astype(dtype)
    w = rng.standard_normal((6, 5)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    out, cache = layers.affine_forward(x, w, b)
    assert out.dtype == dtype
    grads = layers.affine_backward(np.ones(out.shape, dtype), cache)
    assert [g.dtype for g in grads] == [dtype] * 3

    r, cache = layers.relu_forward(x)
    assert r.dtype == dtype
    assert layers.relu_backward(np.ones(x.shape, dtype), cache).dtype == dtype

    loss, dx = layers.softmax_loss(out, rng.integers(5, size=4))
    assert isinstance(loss, float)
    assert dx.dtype == dtype


# Argument checks

_rng = np.random.default_rng(0)
X = _rng.standard_normal((3, 4))
W = _rng.standard_normal((4, 2))
B = _rng.standard_normal(2)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: layers.affine_forward(X, W[:3], B), ValueError, r"w has shape \(3, 2\).*D=4"),
        (lambda: layers.affine_forward(X, W, B[:1]), ValueError, r"b has shape \(1,\)"),
        (lambda: layers.affine_forward(X.tolist(), W, B), TypeError, r"x must be a numpy array"),
        (lambda: layers.affine_forward(X.astype(int), W, B), TypeError, r"x must be a floating"),
        (
            lambda: layers.affine_backward(np.ones((3, 3)), layers.affine_forward(X, W, B)[1]),
            ValueError,
            r"dout has shape \(3, 3\), expected \(3, 2\)",
        ),
        (
            lambda: layers.relu_backward(np.ones((4, 3)), layers.relu_forward(X)[1]),
            ValueError,
            r"relu_backward: dout has shape \(4, 3\)",
        ),
        (
            lambda: layers.softmax_loss(X, np.array([0, 1, 4])),
            ValueError,
            r"y holds word id 4, outside the vocabulary \[0, 4\)",
        ),
        (lambda: layers.softmax_loss(X, np.array([0, 1])), ValueError, r"y has shape \(2,\)"),
        (lambda: layers.softmax_loss(X, np.array([0.0, 1, 2])), TypeError, r"y must hold integer"),
    ],
)
def test_bad_input_raises_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# SVM loss


def test_svm_loss_sanity_and_numerical_gradient():
    rng = np.random.default_rng(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * rng.standard_normal((num_inputs, num_classes))
    y = rng.integers(num_classes, size=num_inputs)
    loss, dx = layers.svm_loss(x, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(num_classes - 1, rel=1e-2)  # the notebook's ~9
    dx_num = eval_numerical_gradient(lambda x: layers.svm_loss(x, y)[0], x, verbose=False)
    assert rel_error(dx_num, dx) < 1e-8


@pytest.mark.parametrize("scale", [0.1, 1.0, 5.0])
def test_svm_loss_matches_torch_multi_margin_loss(scale):
    # multi_margin_loss divides each sample's sum by the number of classes C; the course does not.
    rng = np.random.default_rng(3)
    C = 6
    x = scale * rng.standard_normal((9, C))
    y = rng.integers(C, size=9)
    check_against_torch(
        layers.svm_loss,
        lambda dout, dx: dout * dx,
        lambda x, y: C * F.multi_margin_loss(x, y, p=1, margin=1.0),
        [x, y],
        differentiable=[0],
    )


def test_svm_loss_by_hand():
    x = np.array([[3.0, 1.0, 2.5], [0.0, 0.0, 5.0]])
    y = np.array([0, 1])
    loss, dx = layers.svm_loss(x, y)
    # Row 0: margins 0 (class 1: 1-3+1 < 0) and 0.5; row 1: 1 and 6.
    assert loss == pytest.approx((0.5 + 1 + 6) / 2)
    np.testing.assert_array_equal(dx, np.array([[-1, 0, 1], [1, -2, 1]]) / 2)


# Batch normalisation

BN_TORCH = lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5)  # noqa: E731


def _bn_inputs(N=8, D=5, seed=0):
    rng = np.random.default_rng(seed)
    return [
        3.0 + 2.0 * rng.standard_normal((N, D)),
        rng.standard_normal(D),
        rng.standard_normal(D),
    ]


def test_batchnorm_train_matches_torch():
    x, gamma, beta = _bn_inputs()
    check_against_torch(
        lambda x, g, b: layers.batchnorm_forward(x, g, b, {"mode": "train"}),
        layers.batchnorm_backward,
        BN_TORCH,
        [x, gamma, beta],
    )


def test_batchnorm_train_normalises_each_feature():
    x, _, _ = _bn_inputs(N=200, D=3)
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0])
    out, _ = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-5)  # eps shrinks it slightly


def test_batchnorm_backward_numerical():
    x, gamma, beta = _bn_inputs(N=4, D=5, seed=231)
    dout = np.random.default_rng(1).standard_normal(x.shape)

    def f(x=x, gamma=gamma, beta=beta):
        return layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]

    dx_num = eval_numerical_gradient_array(lambda a: f(x=a), x, dout)
    dg_num = eval_numerical_gradient_array(lambda a: f(gamma=a), gamma, dout)
    db_num = eval_numerical_gradient_array(lambda a: f(beta=a), beta, dout)
    _, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = layers.batchnorm_backward(dout, cache)
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dgamma, dg_num) < 1e-8
    assert rel_error(dbeta, db_num) < 1e-8


def test_batchnorm_running_averages_and_test_mode():
    x, gamma, beta = _bn_inputs(N=6, D=4)
    rng = np.random.default_rng(9)
    bn_param = {"mode": "train", "momentum": 0.8}
    mean, var = np.zeros(4), np.zeros(4)
    for _ in range(3):
        xb = x + rng.standard_normal(x.shape)
        layers.batchnorm_forward(xb, gamma, beta, bn_param)
        # The biased batch variance, as in the course (PyTorch's running_var uses N - 1).
        mean = 0.8 * mean + 0.2 * xb.mean(axis=0)
        var = 0.8 * var + 0.2 * xb.var(axis=0)
        np.testing.assert_allclose(bn_param["running_mean"], mean, rtol=1e-13)
        np.testing.assert_allclose(bn_param["running_var"], var, rtol=1e-13)

    running_mean = bn_param["running_mean"]
    bn_param["mode"] = "test"
    check_against_torch(
        lambda x, g, b: layers.batchnorm_forward(x, g, b, bn_param),
        layers.batchnorm_backward,
        lambda x, g, b: F.batch_norm(
            x, torch.from_numpy(mean), torch.from_numpy(var), g, b, training=False, eps=1e-5
        ),
        [x, gamma, beta],
    )
    # Test mode leaves the running averages alone (same arrays, same values).
    assert bn_param["running_mean"] is running_mean
    np.testing.assert_allclose(bn_param["running_mean"], mean, rtol=1e-13)


def test_batchnorm_updates_given_running_arrays_in_place_with_default_momentum():
    x, gamma, beta = _bn_inputs(N=5, D=3)
    running_mean, running_var = np.ones(3), np.ones(3)
    bn_param = {"mode": "train", "running_mean": running_mean, "running_var": running_var}
    layers.batchnorm_forward(x, gamma, beta, bn_param)
    assert bn_param["running_mean"] is running_mean
    np.testing.assert_allclose(running_mean, 0.9 + 0.1 * x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(running_var, 0.9 + 0.1 * x.var(axis=0), rtol=1e-13)


def test_batchnorm_test_mode_without_running_averages_uses_zeros():
    x, gamma, beta = _bn_inputs(N=3, D=2)
    out, _ = layers.batchnorm_forward(x, gamma, beta, {"mode": "test", "eps": 1e-2})
    np.testing.assert_allclose(out, gamma * x / np.sqrt(1e-2) + beta, rtol=1e-13)


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 2, 1, 3)])
def test_spatial_batchnorm_matches_torch(mode, shape):
    rng = np.random.default_rng(4)
    C = shape[1]
    x = 2.0 + 3.0 * rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    mean, var = rng.standard_normal(C), rng.uniform(0.5, 2.0, C)
    bn_param = {"mode": mode, "running_mean": mean.copy(), "running_var": var.copy()}
    out, (dx, _, _) = check_against_torch(
        lambda x, g, b: layers.spatial_batchnorm_forward(x, g, b, bn_param),
        layers.spatial_batchnorm_backward,
        lambda x, g, b: F.batch_norm(
            x,
            None if mode == "train" else torch.from_numpy(mean),
            None if mode == "train" else torch.from_numpy(var),
            g,
            b,
            training=mode == "train",
            eps=1e-5,
        ),
        [x, gamma, beta],
    )
    assert out.shape == dx.shape == shape
    if mode == "train":
        batch_mean = x.mean(axis=(0, 2, 3))
        np.testing.assert_allclose(bn_param["running_mean"], 0.9 * mean + 0.1 * batch_mean)
        np.testing.assert_allclose(bn_param["running_var"], 0.9 * var + 0.1 * x.var(axis=(0, 2, 3)))


def test_spatial_batchnorm_backward_numerical():
    rng = np.random.default_rng(231)
    x = 5 * rng.standard_normal((2, 3, 4, 5)) + 12
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)

    def f(x=x, gamma=gamma, beta=beta):
        return layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]

    dx_num = eval_numerical_gradient_array(lambda a: f(x=a), x, dout)
    dg_num = eval_numerical_gradient_array(lambda a: f(gamma=a), gamma, dout)
    db_num = eval_numerical_gradient_array(lambda a: f(beta=a), beta, dout)
    _, cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = layers.spatial_batchnorm_backward(dout, cache)
    assert rel_error(dx, dx_num) < 1e-7  # x ~ 12 +- 5: the finite differences lose a digit
    assert rel_error(dgamma, dg_num) < 1e-8
    assert rel_error(dbeta, db_num) < 1e-8


# Layer normalisation (the course's A3 layer_utils calls it; its A3 layers.py lacks it)


@pytest.mark.parametrize("ln_param", [{}, {"eps": 1e-3}, {"eps": 1e-5, "mode": "train"}, None])
def test_layernorm_matches_torch(ln_param):
    x, gamma, beta = _bn_inputs(N=4, D=7, seed=5)
    eps = (ln_param or {}).get("eps", 1e-5)
    check_against_torch(
        lambda x, g, b: layers.layernorm_forward(x, g, b, ln_param),
        layers.layernorm_backward,
        lambda x, g, b: F.layer_norm(x, (7,), g, b, eps=eps),
        [x, gamma, beta],
    )


def test_layernorm_normalises_each_sample():
    x, _, _ = _bn_inputs(N=3, D=400)
    out, _ = layers.layernorm_forward(x, np.ones(400), np.zeros(400), {})
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-5)


def test_layernorm_backward_numerical():
    x, gamma, beta = _bn_inputs(N=4, D=5, seed=231)
    dout = np.random.default_rng(2).standard_normal(x.shape)

    def f(x=x, gamma=gamma, beta=beta):
        return layers.layernorm_forward(x, gamma, beta, {})[0]

    dx_num = eval_numerical_gradient_array(lambda a: f(x=a), x, dout)
    dg_num = eval_numerical_gradient_array(lambda a: f(gamma=a), gamma, dout)
    db_num = eval_numerical_gradient_array(lambda a: f(beta=a), beta, dout)
    dx, dgamma, dbeta = layers.layernorm_backward(
        dout, layers.layernorm_forward(x, gamma, beta, {})[1]
    )
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dgamma, dg_num) < 1e-8
    assert rel_error(dbeta, db_num) < 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalisation_dtype_is_preserved(dtype):
    x, gamma, beta = (a.astype(dtype) for a in _bn_inputs(N=4, D=3))
    for mode in ("train", "test"):
        out, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": mode})
        assert out.dtype == dtype
        assert [g.dtype for g in layers.batchnorm_backward(np.ones_like(out), cache)] == [dtype] * 3
    out, cache = layers.layernorm_forward(x, gamma, beta, {})
    assert out.dtype == dtype
    assert [g.dtype for g in layers.layernorm_backward(np.ones_like(out), cache)] == [dtype] * 3
    x4 = x.reshape(2, 3, 2, 1)
    out, cache = layers.spatial_batchnorm_forward(x4, gamma, beta, {"mode": "train"})
    assert out.dtype == dtype
    assert layers.spatial_batchnorm_backward(np.ones_like(out), cache)[0].dtype == dtype
    loss, dx = layers.svm_loss(x, np.array([0, 1, 2, 0]))
    assert isinstance(loss, float) and dx.dtype == dtype


_G, _B = np.ones(4), np.zeros(4)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: layers.svm_loss(X, np.array([0, 1, 4])), ValueError, r"svm_loss: y holds"),
        (lambda: layers.svm_loss(X, np.array([0, 1])), ValueError, r"svm_loss: y has shape"),
        (
            lambda: layers.batchnorm_forward(X, _G[:3], _B, {"mode": "train"}),
            ValueError,
            r"batchnorm_forward: gamma has shape \(3,\), expected \(D=4\)",
        ),
        (
            lambda: layers.batchnorm_forward(X, _G, _B, {"mode": "eval"}),
            ValueError,
            r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'",
        ),
        (lambda: layers.batchnorm_forward(X, _G, _B, {}), ValueError, r"bn_param needs the key"),
        (lambda: layers.batchnorm_forward(X, _G, _B, None), TypeError, r"bn_param must be a dict"),
        (
            lambda: layers.batchnorm_forward(
                X, _G, _B, {"mode": "train", "running_mean": np.zeros(3)}
            ),
            ValueError,
            r"running_mean has shape \(3,\)",
        ),
        (
            lambda: layers.batchnorm_backward(
                np.ones((4, 4)), layers.batchnorm_forward(X, _G, _B, {"mode": "train"})[1]
            ),
            ValueError,
            r"batchnorm_backward: dout has shape \(4, 4\), expected \(3, 4\)",
        ),
        (
            lambda: layers.spatial_batchnorm_forward(X, _G, _B, {"mode": "train"}),
            ValueError,
            r"spatial_batchnorm_forward: x must have 4 dimensions",
        ),
        (
            lambda: layers.spatial_batchnorm_forward(
                np.ones((2, 3, 2, 2)), _G, _B, {"mode": "train"}
            ),
            ValueError,
            r"spatial_batchnorm_forward: gamma has shape \(4,\), expected \(D=3\)",
        ),
        (
            lambda: layers.spatial_batchnorm_backward(
                np.ones((2, 3, 1, 4)),
                layers.spatial_batchnorm_forward(
                    np.ones((2, 3, 2, 2)), _G[:3], _B[:3], {"mode": "train"}
                )[1],
            ),
            ValueError,
            r"spatial_batchnorm_backward: dout has shape \(2, 3, 1, 4\), expected \(2, 3, 2, 2\)",
        ),
        (
            lambda: layers.layernorm_forward(X, _G, _B[:2], {}),
            ValueError,
            r"layernorm_forward: beta has shape \(2,\)",
        ),
        (lambda: layers.layernorm_forward(X, _G, _B, "eps"), TypeError, r"ln_param must be a dict"),
    ],
)
def test_normalisation_bad_input_raises_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
