"""Numerical gradients by centred differences, as in the course's ``gradient_check.py``."""

from __future__ import annotations

from random import randrange

import numpy as np


def rel_error(x, y):
    """The course's relative error: max |x - y| / max(1e-8, |x| + |y|), elementwise."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Gradient of the scalar function ``f`` at ``x`` (modified in place, then restored)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of ``sum(f(x) * df)`` with respect to ``x``, for array-valued ``f``."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def eval_numerical_gradient_blobs(f, inputs, output, h=1e-5):
    """Numerical gradients for a function that reads input blobs and writes an output blob.

    A blob is any object with arrays ``vals`` (its value) and ``diffs`` (its gradient).
    ``f(*inputs, output)`` must write its result into ``output.vals``; ``output.diffs`` holds
    the upstream gradient. Each input's ``vals`` is perturbed in place by ``h`` and restored.

    Returns a list with, for each input blob in order, the gradient of
    ``sum(output.vals * output.diffs)`` with respect to its ``vals`` (shaped like its
    ``diffs``).
    """
    inputs = tuple(inputs)
    grads = []
    for blob in inputs:
        grad = np.zeros_like(blob.diffs)
        it = np.nditer(blob.vals, flags=["multi_index"], op_flags=["readwrite"])
        while not it.finished:
            ix = it.multi_index
            old = blob.vals[ix]
            blob.vals[ix] = old + h
            f(*inputs, output)
            pos = np.array(output.vals, copy=True)  # f may write into the same array next time
            blob.vals[ix] = old - h
            f(*inputs, output)
            neg = np.array(output.vals, copy=True)
            blob.vals[ix] = old
            grad[ix] = np.sum((pos - neg) * output.diffs) / (2 * h)
            it.iternext()
        grads.append(grad)
    return grads


def eval_numerical_gradient_net(net, inputs, output, h=1e-5):
    """:func:`eval_numerical_gradient_blobs` for a network whose ``net.forward()`` (no
    arguments) reads the ``inputs`` blobs and writes the ``output`` blob."""
    return eval_numerical_gradient_blobs(lambda *args: net.forward(), inputs, output, h=h)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """Compare ``analytic_grad`` with the numerical gradient at ``num_checks`` random entries.

    Prints one line per entry, as the course's version does, and returns the relative errors.
    """
    errors = []
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        rel = abs(grad_numerical - grad_analytic) / max(
            abs(grad_numerical) + abs(grad_analytic), 1e-12
        )
        errors.append(rel)
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, relative error: {rel:e}")
    return errors
