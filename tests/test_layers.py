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
