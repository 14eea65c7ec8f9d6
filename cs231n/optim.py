"""First-order update rules, as in the course's ``optim.py``.

Each rule has the signature ``next_w, config = update(w, dw, config=None)``: ``config`` holds the
hyperparameters and the state the rule carries between steps (momentum, moving averages).
Defaults are the course's. Updates keep the parameter's dtype (float32 stays float32).
"""

from __future__ import annotations

import numpy as np


def _check(func, w, dw):
    """Validated gradient, in the parameter's dtype (a float64 gradient must not upcast w)."""
    if not isinstance(w, np.ndarray) or not isinstance(dw, np.ndarray):
        raise TypeError(f"{func}: w and dw must be numpy arrays")
    if w.shape != dw.shape:
        raise ValueError(f"{func}: dw has shape {dw.shape} but w has shape {w.shape}")
    return dw.astype(w.dtype, copy=False)


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent. config: learning_rate (1e-2)."""
    dw = _check("sgd", w, dw)
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum. config: learning_rate (1e-2), momentum (0.9), velocity."""
    dw = _check("sgd_momentum", w, dw)
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp. config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache."""
    dw = _check("rmsprop", w, dw)
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    decay = config["decay_rate"]
    config["cache"] = decay * config["cache"] + (1 - decay) * dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config


def adam(x, dx, config=None):
    """Adam with bias correction (Kingma & Ba 2015), exactly as the course's ``optim.adam``.

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), and the state
    m, v (moving averages of dx and dx**2) and t (steps taken). The bias correction is folded
    into the step size, ``alpha = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)``, and
    epsilon is added to ``sqrt(v)`` before that correction, as the course does; this differs
    from the paper's ``m_hat / (sqrt(v_hat) + eps)`` in the last digits, and a student's
    notebook prints the course's numbers. Like the course's, the update is in place: ``x`` is
    changed and returned. Raises ValueError if dx's shape differs from x's.
    """
    if not isinstance(x, np.ndarray) or not isinstance(dx, np.ndarray):
        raise TypeError("adam: x and dx must be numpy arrays")
    if x.shape != dx.shape:
        raise ValueError(f"adam: dx has shape {dx.shape} but x has shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"adam: x must be a float array (an in-place update), got {x.dtype}")
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(x))
    config.setdefault("v", np.zeros_like(x))
    config.setdefault("t", 0)

    beta1, beta2, eps = config["beta1"], config["beta2"], config["epsilon"]
    m = beta1 * config["m"] + (1 - beta1) * dx
    v = beta2 * config["v"] + (1 - beta2) * (dx * dx)
    t = config["t"] + 1
    alpha = config["learning_rate"] * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    x -= alpha * (m / (np.sqrt(v) + eps))
    config["m"], config["v"], config["t"] = m, v, t
    return x, config
