"""Reference implementations, written the way the assignment's solutions usually are.

- ``*_stepwise``: sequence layers looping over :mod:`cs231n.rnn_layers`' step functions, one
  input projection and one set of weight-gradient products per timestep;
- :func:`assignment_loss`: CaptioningRNN's loss composed from the temporal layers over all
  N x T positions (padding included, then masked).

They are what the vectorised code is tested against, and the baselines of
``bench/bench_rnn.py``.
"""

from __future__ import annotations

import numpy as np

from ..classifiers.rnn import CaptioningRNN
from ..rnn_layers import (
    affine_backward,
    affine_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)


def rnn_forward_stepwise(x, h0, Wx, Wh, b):
    h, caches, prev_h = [], [], h0
    for t in range(x.shape[1]):
        prev_h, cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h.append(prev_h)
        caches.append(cache)
    return np.stack(h, axis=1), caches


def lstm_forward_stepwise(x, h0, Wx, Wh, b):
    h, caches = [], []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h.append(prev_h)
        caches.append(cache)
    return np.stack(h, axis=1), caches


def _backward_stepwise(dh, caches, lstm):
    x0 = caches[0][0]
    Wx, Wh = caches[0][3:5] if lstm else caches[0][2:4]  # see the step functions' caches
    N, T, _ = dh.shape
    dx = np.empty((N, T, x0.shape[1]), dtype=dh.dtype)
    dprev_h = np.zeros_like(dh[:, 0])
    dprev_c = np.zeros_like(dprev_h)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    for t in reversed(range(T)):
        if lstm:
            dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
                dh[:, t] + dprev_h, dprev_c, caches[t]
            )
        else:
            dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def rnn_backward_stepwise(dh, caches):
    return _backward_stepwise(dh, caches, lstm=False)


def lstm_backward_stepwise(dh, caches):
    return _backward_stepwise(dh, caches, lstm=True)


STEPWISE_LAYERS = {
    "rnn": (rnn_forward_stepwise, rnn_backward_stepwise),
    "lstm": (lstm_forward_stepwise, lstm_backward_stepwise),
}
VECTORISED_LAYERS = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward)}


def assignment_loss(model, features, captions, layers):
    """``model.loss`` as the assignment composes it, with the given sequence ``layers``
    (forward, backward): every one of the N x T positions is computed, then masked."""
    features = features.astype(model.dtype, copy=False)
    p = model.params
    forward, backward = layers
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    mask = captions_out != model._null

    h0, cache_proj = affine_forward(features, p["W_proj"], p["b_proj"])
    x, cache_embed = word_embedding_forward(captions_in, p["W_embed"])
    h, cache_rnn = forward(x, h0, p["Wx"], p["Wh"], p["b"])
    scores, cache_vocab = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
    loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

    grads = {}
    dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, cache_vocab)
    dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, cache_rnn)
    grads["W_embed"] = word_embedding_backward(dx, cache_embed)
    _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, cache_proj)
    return loss, grads


class StepwiseCaptioningRNN(CaptioningRNN):
    """:class:`CaptioningRNN` with the assignment's loss on step-by-step layers."""

    def loss(self, features, captions):
        return assignment_loss(self, features, captions, STEPWISE_LAYERS[self.cell_type])


class UnpackedCaptioningRNN(CaptioningRNN):
    """:class:`CaptioningRNN` with the assignment's loss on the vectorised layers (no packing)."""

    def loss(self, features, captions):
        return assignment_loss(self, features, captions, VECTORISED_LAYERS[self.cell_type])
