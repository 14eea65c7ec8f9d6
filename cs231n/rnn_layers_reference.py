"""Step-by-step sequence layers, written the way the assignment's solutions usually are.

These loop over :mod:`cs231n.rnn_layers`' step functions, one input projection and one set of
weight-gradient products per timestep. They are the reference that the vectorised sequence
functions are tested against, and the "step loop" baseline of ``bench/bench_rnn.py``.
"""

from __future__ import annotations

import numpy as np

from .classifiers.rnn import CaptioningRNN
from .rnn_layers import (
    lstm_step_backward,
    lstm_step_forward,
    rnn_step_backward,
    rnn_step_forward,
)


def rnn_forward_stepwise(x, h0, Wx, Wh, b):
    h, caches, prev_h = [], [], h0
    for t in range(x.shape[1]):
        prev_h, cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h.append(prev_h)
        caches.append(cache)
    return np.stack(h, axis=1), caches


def rnn_backward_stepwise(dh, caches):
    x0, _, Wx, Wh, _ = caches[0]
    N, T, _ = dh.shape
    dx = np.empty((N, T, x0.shape[1]), dtype=dh.dtype)
    dprev_h = np.zeros_like(dh[:, 0])
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def lstm_forward_stepwise(x, h0, Wx, Wh, b):
    h, caches = [], []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h.append(prev_h)
        caches.append(cache)
    return np.stack(h, axis=1), caches


def lstm_backward_stepwise(dh, caches):
    x0, _, _, Wx, Wh, *_ = caches[0]
    N, T, _ = dh.shape
    dx = np.empty((N, T, x0.shape[1]), dtype=dh.dtype)
    dprev_h = np.zeros_like(dh[:, 0])
    dprev_c = np.zeros_like(dprev_h)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, caches[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


class StepwiseCaptioningRNN(CaptioningRNN):
    """:class:`CaptioningRNN` running on the step-by-step layers (same parameters, same loss)."""

    sequence_layers = {
        "rnn": (rnn_forward_stepwise, rnn_backward_stepwise),
        "lstm": (lstm_forward_stepwise, lstm_backward_stepwise),
    }
