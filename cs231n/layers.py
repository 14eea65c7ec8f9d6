"""Layers (NumPy), as in the course's ``layers.py``: forward and backward side by side.

Affine, ReLU, softmax and SVM losses, batch normalisation (plain and spatial) and layer
normalisation, with the course's names, parameters and return values. Every public function
checks its arguments first, so a wrong shape raises one ValueError naming the function, the
argument and the shapes.
"""

from __future__ import annotations

import numpy as np

from .core.checks import Shapes, require_indices, same_shape


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


def svm_loss(x, y):
    """Multiclass hinge loss (margin 1) averaged over the batch.

    ``loss = sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1) / N``.
    x: (N, C) scores; y: (N,) labels in [0, C). Returns ``(loss, dx)``; at a margin of
    exactly zero the subgradient 0 is used.
    """
    Shapes("svm_loss").floats(x=(x, ("N", "C")))
    y = require_indices("svm_loss", "y", y, x.shape[1])
    same_shape("svm_loss", "y", y, (x.shape[0],), "one label per row of x")
    n = x.shape[0]
    rows = np.arange(n)
    margins = x - x[rows, y][:, None] + 1
    margins[rows, y] = 0  # the correct class contributes no margin
    violated = margins > 0
    loss = margins[violated].sum() / n
    dx = violated.astype(x.dtype)
    dx[rows, y] = -violated.sum(axis=1)
    dx /= n
    return float(loss), dx


# Normalisation layers. bn_param / ln_param follow the course: bn_param["mode"] is "train" or
# "test" (required); eps defaults to 1e-5 and momentum to 0.9.


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation over the batch axis of x (N, D); gamma, beta: (D,).

    Train mode normalises with the batch mean and (biased) variance and updates the running
    averages ``running = momentum * running + (1 - momentum) * batch`` (the running variance
    also uses the biased batch variance, as in the course; PyTorch would use the unbiased one).
    Test mode normalises with the running averages. ``running_mean`` / ``running_var`` start
    as zeros of shape (D,) when absent, are updated in place and are stored back into
    ``bn_param``. Returns ``(out, cache)``, out (N, D).

    Raises ValueError for a mode other than "train"/"test" or mismatched shapes.
    """
    return _batchnorm_forward("batchnorm_forward", x, gamma, beta, bn_param)


def batchnorm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`batchnorm_forward` for upstream dout (N, D).

    In train mode dx accounts for the batch statistics depending on x; in test mode the
    statistics are constants.
    """
    return _batchnorm_backward("batchnorm_backward", dout, cache)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of each channel of x (N, C, H, W) over N, H and W; gamma, beta: (C,).

    bn_param as for :func:`batchnorm_forward`, with running averages of shape (C,).
    Returns ``(out, cache)``, out (N, C, H, W).
    """
    func = "spatial_batchnorm_forward"
    Shapes(func).floats(x=(x, ("N", "C", "H", "W")))
    N, C, H, W = x.shape
    # Channels last, then every pixel of every image is one sample of C features.
    flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, bn_cache = _batchnorm_forward(func, flat, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (bn_cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`spatial_batchnorm_forward`."""
    func = "spatial_batchnorm_backward"
    bn_cache, (N, C, H, W) = cache
    same_shape(func, "dout", dout, (N, C, H, W), "(N, C, H, W) as x")
    flat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx, dgamma, dbeta = _batchnorm_backward(func, flat, bn_cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalisation: each row of x (N, D) normalised over its D features.

    gamma, beta: (D,). ``ln_param`` may give ``eps`` (default 1e-5); other keys (such as a
    batchnorm-style "mode") are ignored, since train and test behave the same. Returns
    ``(out, cache)``, out (N, D).
    """
    func = "layernorm_forward"
    Shapes(func).floats(x=(x, ("N", "D")), gamma=(gamma, ("D",)), beta=(beta, ("D",)))
    eps = _param_dict(func, "ln_param", ln_param, required=()).get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xn = (x - mean) / std
    return gamma * xn + beta, (xn, gamma, std)


def layernorm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`layernorm_forward` for upstream dout (N, D)."""
    xn, gamma, std = cache
    same_shape("layernorm_backward", "dout", dout, xn.shape, "(N, D) as x")
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xn).sum(axis=0)
    dxn = dout * gamma
    # Same algebra as batchnorm, with the means taken over the features of each sample.
    dx = (dxn - dxn.mean(axis=1, keepdims=True) - xn * (dxn * xn).mean(axis=1, keepdims=True)) / std
    return dx, dgamma, dbeta


def _param_dict(func: str, name: str, param, required) -> dict:
    if param is None and not required:
        return {}
    if not isinstance(param, dict):
        raise TypeError(f"{func}: {name} must be a dict, got {type(param).__name__}")
    missing = [k for k in required if k not in param]
    if missing:
        raise ValueError(f"{func}: {name} needs the key(s) {missing}, got keys {sorted(param)}")
    return param


def _batchnorm_forward(func, x, gamma, beta, bn_param):
    shapes = Shapes(func)
    shapes.floats(x=(x, ("N", "D")), gamma=(gamma, ("D",)), beta=(beta, ("D",)))
    bn_param = _param_dict(func, "bn_param", bn_param, required=("mode",))
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f"{func}: bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    shapes.floats(running_mean=(running_mean, ("D",)), running_var=(running_var, ("D",)))

    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        # In place, as the course does, so that arrays held elsewhere see the update too.
        running_mean *= momentum
        running_mean += (1 - momentum) * mean
        running_var *= momentum
        running_var += (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xn = (x - mean) / std
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return gamma * xn + beta, (mode, xn, gamma, std)


def _batchnorm_backward(func, dout, cache):
    mode, xn, gamma, std = cache
    same_shape(func, "dout", dout, xn.shape, "as the normalised input")
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xn).sum(axis=0)
    dxn = dout * gamma
    if mode == "test":
        return dxn / std, dgamma, dbeta
    # Train mode: the batch mean and variance depend on x; their gradients reduce to removing
    # from dxn its mean and its component along xn.
    dx = (dxn - dxn.mean(axis=0) - xn * (dxn * xn).mean(axis=0)) / std
    return dx, dgamma, dbeta
