"""Decoding captions from a trained CaptioningRNN: greedy, beam search, temperature sampling.

All three return int32 word ids of shape (N, max_length) in the convention of
``CaptioningRNN.sample``: column 0 is the first generated word, and ``<NULL>`` fills the
positions after ``<END>`` (greedy decoding keeps the assignment's behaviour of generating up to
``max_length`` words; ``decode_captions`` stops at ``<END>`` either way).
"""

from __future__ import annotations

import numpy as np

from .rnn_layers import lstm_step_forward, rnn_step_forward


def greedy(model, features, max_length=30):
    """The assignment's greedy decoding (``model.sample``)."""
    return model.sample(features, max_length=max_length)


class _Decoder:
    """One step of the model at a time: ``log_probs(words)`` advances the state."""

    def __init__(self, model, features, repeat=1):
        if model._start is None or model._end is None:
            raise ValueError("decoding needs '<START>' and '<END>' in the model's vocabulary")
        features = model._features("decode", features)
        p = model.params
        self.model, self.p = model, p
        self.h = np.repeat(features @ p["W_proj"] + p["b_proj"], repeat, axis=0)
        self.c = np.zeros_like(self.h)

    def log_probs(self, words):
        p = self.p
        x = p["W_embed"][words]
        if self.model.cell_type == "rnn":
            self.h, _ = rnn_step_forward(x, self.h, p["Wx"], p["Wh"], p["b"])
        else:
            self.h, self.c, _ = lstm_step_forward(x, self.h, self.c, p["Wx"], p["Wh"], p["b"])
        scores = (self.h @ p["W_vocab"] + p["b_vocab"]).astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))

    def reorder(self, rows):
        self.h, self.c = self.h[rows], self.c[rows]


def _check_length(max_length):
    if int(max_length) != max_length or max_length < 1:
        raise ValueError(f"max_length must be a positive integer, got {max_length!r}")


def sample_temperature(model, features, temperature=1.0, max_length=30, seed=None):
    """Sample each word from softmax(scores / temperature) over the words other than
    ``<NULL>`` and ``<START>``; a caption stops at ``<END>``.

    temperature -> 0 approaches greedy decoding; 1 samples the model's distribution.
    """
    _check_length(max_length)
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    rng = np.random.default_rng(seed)
    decoder = _Decoder(model, features)
    N = decoder.h.shape[0]
    captions = np.full((N, max_length), model._null, dtype=np.int32)
    words = np.full(N, model._start)
    done = np.zeros(N, dtype=bool)
    for t in range(max_length):
        logits = decoder.log_probs(words) / temperature
        logits[:, [model._null, model._start]] = -np.inf  # never targets, never sampled
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        # Inverse-CDF sampling, one uniform per caption.
        words = (probs.cumsum(axis=1) < rng.random((N, 1))).sum(axis=1)
        words = np.minimum(words, probs.shape[1] - 1)
        captions[~done, t] = words[~done]
        done |= words == model._end
        if done.all():
            break
    return captions


def beam_search(model, features, beam_size=3, max_length=30, length_penalty=0.7, return_all=False):
    """Batched beam search with length normalisation.

    Keeps the ``beam_size`` most probable partial captions per image (summed log
    probabilities); a caption is finished at ``<END>``. The final choice among the beams divides
    each total log probability by ``length ** length_penalty`` (0: no normalisation, 1: the
    mean per word), so that short captions are not favoured merely for being short.

    Returns captions (N, max_length) int32; with ``return_all``, also every beam
    (N, beam_size, max_length) and their normalised scores (N, beam_size), best first.
    """
    _check_length(max_length)
    if int(beam_size) != beam_size or beam_size < 1:
        raise ValueError(f"beam_size must be a positive integer, got {beam_size!r}")
    K = int(beam_size)
    decoder = _Decoder(model, features, repeat=K)
    N = decoder.h.shape[0] // K
    null, start, end = model._null, model._start, model._end

    seqs = np.full((N, K, max_length), null, dtype=np.int32)
    totals = np.full((N, K), -np.inf)
    totals[:, 0] = 0.0  # all beams start identical: expand only the first
    lengths = np.zeros((N, K), dtype=np.int64)
    finished = np.zeros((N, K), dtype=bool)
    words = np.full(N * K, start)
    for t in range(max_length):
        logp = decoder.log_probs(words).reshape(N, K, -1)
        V = logp.shape[2]
        # Unfinished beams may not emit <NULL> or <START>; finished ones only carry on, at no
        # cost, with <NULL>.
        logp[:, :, [null, start]] = -np.inf
        logp[finished] = -np.inf
        logp[finished, null] = 0.0
        candidates = (totals[:, :, None] + logp).reshape(N, K * V)
        top = np.argpartition(-candidates, K - 1, axis=1)[:, :K]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(candidates, top, 1)), 1)
        beam, words2d = top // V, top % V
        totals = np.take_along_axis(candidates, top, axis=1)
        seqs = np.take_along_axis(seqs, beam[:, :, None], axis=1)
        seqs[:, :, t] = words2d
        finished = np.take_along_axis(finished, beam, axis=1)
        lengths = np.take_along_axis(lengths, beam, axis=1) + ~finished
        finished |= words2d == end
        decoder.reorder((np.arange(N)[:, None] * K + beam).ravel())
        words = words2d.ravel()
        if finished.all():
            break

    normalised = totals / np.maximum(lengths, 1) ** length_penalty
    order = np.argsort(-normalised, axis=1, kind="stable")
    best = np.take_along_axis(seqs, order[:, :1, None], axis=1)[:, 0]
    if return_all:
        return (
            best,
            np.take_along_axis(seqs, order[:, :, None], axis=1),
            np.take_along_axis(normalised, order, axis=1),
        )
    return best
