"""Tests for cs231n.gradient_check on functions whose gradients are known in closed form."""

from __future__ import annotations

import random

import numpy as np
import pytest

from cs231n.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    eval_numerical_gradient_blobs,
    eval_numerical_gradient_net,
    grad_check_sparse,
    rel_error,
)


def test_eval_numerical_gradient_of_cubic():
    x = np.random.default_rng(0).standard_normal((3, 4))
    x_before = x.copy()
    grad = eval_numerical_gradient(lambda x: np.sum(x**3), x, verbose=False)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 3 * x_before**2, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(x, x_before)  # restored bit for bit


def test_eval_numerical_gradient_uses_h():
    # The centred difference of x**3 is exactly 3 x**2 + h**2: the step size must show up.
    x = np.array([0.5, -1.0, 2.0])
    grad = eval_numerical_gradient(lambda x: np.sum(x**3), x, verbose=False, h=0.1)
    np.testing.assert_allclose(grad, 3 * x**2 + 0.01, rtol=1e-12)


def test_eval_numerical_gradient_verbose_prints_each_entry(capsys):
    eval_numerical_gradient(lambda x: float(x @ x), np.array([1.0, 2.0]), verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("(0,)")


def test_eval_numerical_gradient_array_of_product():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    y = rng.standard_normal((2, 3))
    df = rng.standard_normal((2, 3))
    x_before = x.copy()
    grad = eval_numerical_gradient_array(lambda x: x * y, x, df)
    np.testing.assert_allclose(grad, y * df, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(x, x_before)


def test_eval_numerical_gradient_array_of_matrix_product():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3))
    W = rng.standard_normal((3, 5))
    df = rng.standard_normal((4, 5))
    grad = eval_numerical_gradient_array(lambda W: a @ W, W, df)
    np.testing.assert_allclose(grad, a.T @ df, rtol=1e-8, atol=1e-10)


def test_eval_numerical_gradient_array_copes_with_functions_returning_views():
    """f may return (a view of) its argument; the difference must not see the later change."""
    x = np.array([1.0, 2.0, 3.0])
    grad = eval_numerical_gradient_array(lambda x: x, x, np.array([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(grad, [1.0, 10.0, 100.0], rtol=1e-9)


def _quartic(x):
    return float(np.sum(x**4))


def test_grad_check_sparse_small_for_correct_gradient(capsys):
    random.seed(0)
    x = np.random.default_rng(3).uniform(0.5, 2.0, size=(4, 5))
    errors = grad_check_sparse(_quartic, x, 4 * x**3, num_checks=7)
    assert len(errors) == 7
    assert max(errors) < 1e-8
    assert len(capsys.readouterr().out.strip().splitlines()) == 7


def test_grad_check_sparse_large_for_wrong_gradient():
    random.seed(0)
    x = np.random.default_rng(3).uniform(0.5, 2.0, size=(4, 5))
    x_before = x.copy()
    errors = grad_check_sparse(_quartic, x, 2 * (4 * x**3), num_checks=5)
    # |g - 2g| / (|g| + |2g|) = 1/3 at every entry.
    np.testing.assert_allclose(errors, 1 / 3, rtol=1e-6)
    np.testing.assert_array_equal(x, x_before)


def test_rel_error_properties():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(1.0, 1.1) == pytest.approx(0.1 / 2.1)
    b = a + np.array([0.0, 0.0, 0.3])
    assert rel_error(a, b) == rel_error(b, a)
    assert rel_error(a, b) == pytest.approx(0.3 / 6.3)  # the maximum over entries
    assert rel_error(1e6 * a, 1e6 * b) == pytest.approx(rel_error(a, b))  # scale-free
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(0.0, 1e-10) == pytest.approx(1e-2)  # denominator floored at 1e-8
    assert isinstance(rel_error(a, b), float)


class Blob:
    """The blob the course's blob gradient checkers expect: a value and a gradient array."""

    def __init__(self, vals):
        self.vals = vals
        self.diffs = np.zeros_like(vals)


def _product(x, w, out):
    out.vals = x.vals @ w.vals  # a fresh array each call, as a layer might write it


def test_eval_numerical_gradient_blobs_of_matrix_product():
    rng = np.random.default_rng(4)
    x, w = Blob(rng.standard_normal((3, 4))), Blob(rng.standard_normal((4, 2)))
    out = Blob(np.zeros((3, 2)))
    out.diffs = rng.standard_normal((3, 2))
    x_before, w_before = x.vals.copy(), w.vals.copy()
    dx, dw = eval_numerical_gradient_blobs(_product, (x, w), out)
    np.testing.assert_allclose(dx, out.diffs @ w_before.T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dw, x_before.T @ out.diffs, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(x.vals, x_before)  # restored bit for bit
    np.testing.assert_array_equal(w.vals, w_before)


def test_eval_numerical_gradient_blobs_with_in_place_output_and_list_inputs():
    """f may overwrite output.vals in place; a list of inputs works as well as a tuple."""
    x = Blob(np.array([0.5, -1.0, 2.0]))
    out = Blob(np.zeros(3))
    out.diffs = np.array([1.0, 2.0, 3.0])

    def cube(x, out):
        out.vals[...] = x.vals**3

    (dx,) = eval_numerical_gradient_blobs(cube, [x], out, h=0.1)
    # The centred difference of x**3 is exactly 3 x**2 + h**2.
    np.testing.assert_allclose(dx, (3 * x.vals**2 + 0.01) * out.diffs, rtol=1e-12)


def test_eval_numerical_gradient_net_calls_forward_without_arguments():
    class Net:
        def __init__(self):
            rng = np.random.default_rng(5)
            self.x = Blob(rng.standard_normal((2, 3)))
            self.out = Blob(np.zeros((2, 3)))
            self.out.diffs = rng.standard_normal((2, 3))
            self.calls = 0

        def forward(self):
            self.calls += 1
            self.out.vals = np.tanh(self.x.vals)

    net = Net()
    (dx,) = eval_numerical_gradient_net(net, (net.x,), net.out)
    np.testing.assert_allclose(dx, (1 - np.tanh(net.x.vals) ** 2) * net.out.diffs, rtol=1e-8)
    assert net.calls == 2 * 6  # two evaluations per entry
