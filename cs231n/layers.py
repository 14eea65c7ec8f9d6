"""Feed-forward layers (NumPy), as in the course's ``layers.py``: forward and backward side by side."""

from __future__ import annotations

import numpy as np

from ._checks import Shapes, require_indices, same_shape


def affine_forward(x, w, b):
    """Affine layer: ``out = x.reshape(N, D) @ w + b``.

    x: (N, d_1, ..., d_k) with D = d_1 * ... * d_k; w: (D, M); b: (M,).
    Returns ``out`` (N, M) and a cache for :func:`affine_backward`.
    """
    shapes = Shapes("affine_forward")
    if not isinstance(x, np.ndarray) or x.ndim < 1:
        raise TypeError("affine_forward: x must be a numpy array with a leading batch axis")
    x2d = x.reshape(x.shape[0], -1)
    shapes.floats(x=(x2d, ("N", "D")), w=(w, ("D", "M")), b=(b, ("M",)))
    out = x2d @ w
    out += b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Gradients ``(dx, dw, db)`` of :func:`affine_forward` given upstream ``dout`` (N, M)."""
    x, w, b = cache
    same_shape("affine_backward", "dout", dout, (x.shape[0], w.shape[1]), "(N, M) as out")
    x2d = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """ReLU: ``max(0, x)``; returns ``(out, cache)``."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Gradient of :func:`relu_forward`."""
    x = cache
    same_shape("relu_backward", "dout", dout, x.shape, "as x")
    return dout * (x > 0)


def softmax_loss(x, y):
    """Softmax cross-entropy averaged over the batch.

    x: (N, C) scores; y: (N,) labels in [0, C). Returns ``(loss, dx)``.
    """
    Shapes("softmax_loss").floats(x=(x, ("N", "C")))
    y = require_indices("softmax_loss", "y", y, x.shape[1])
    same_shape("softmax_loss", "y", y, (x.shape[0],), "one label per row of x")
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    z = probs.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(z)
    probs /= z
    loss = -log_probs[np.arange(n), y].sum() / n
    dx = probs
    dx[np.arange(n), y] -= 1
    dx /= n
    return float(loss), dx
