"""Decoding captions from a trained captioner: greedy, beam search, temperature sampling.

Every decoder works with both kinds of captioning model, through one step interface
(:func:`step_decoder`): the NumPy ``CaptioningRNN`` (vanilla RNN or LSTM, one hidden state per
caption) and the PyTorch ``CaptioningTransformer`` (cached keys and values per caption, so that
a step costs O(t) for a caption of t words so far, not a whole forward pass).

All three return int32 word ids of shape (N, max_length) in the convention of
``CaptioningRNN.sample``: column 0 is the first generated word, and ``<NULL>`` fills the
positions after ``<END>`` (greedy decoding keeps the assignment's behaviour of generating up to
``max_length`` words; ``decode_captions`` stops at ``<END>`` either way).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..rnn_layers import lstm_step_forward, rnn_step_forward


def greedy(model, features, max_length=30):
    """The assignment's greedy decoding (``model.sample``): (N, max_length) int32 word ids.
    features: (N, D)."""
    return np.asarray(model.sample(features, max_length=max_length), dtype=np.int32)


def is_transformer(model) -> bool:
    """Whether ``model`` is a PyTorch captioner (``CaptioningTransformer``) rather than the
    NumPy ``CaptioningRNN``."""
    return hasattr(model, "decode_step") and hasattr(model, "start_decoding")


class StepDecoder:
    """A batch of captions decoded one word at a time: the interface beam search, temperature
    sampling and greedy decoding share.

    ``batch_size``: the rows (captions) decoded; ``log_probs(words)``: feeds ``words`` (B,) and
    returns the log-probabilities (B, V) of the next word, float64, advancing every row's state;
    ``reorder(rows)``: keeps the states of ``rows`` (B,) indices, repeats allowed (beam search
    keeping and copying its surviving hypotheses).
    """

    batch_size: int

    def log_probs(self, words):
        raise NotImplementedError

    def reorder(self, rows):
        raise NotImplementedError


def _log_softmax(scores):
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores - scores.max(axis=1, keepdims=True)
    return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))


class RNNStepDecoder(StepDecoder):
    """:class:`StepDecoder` of a ``CaptioningRNN``: the hidden (and LSTM cell) state per row."""

    def __init__(self, model, features, repeat=1):
        features = model._features("decode", features)
        p = model.params
        self.model, self.p = model, p
        self.h = np.repeat(features @ p["W_proj"] + p["b_proj"], repeat, axis=0)
        self.c = np.zeros_like(self.h)
        self.batch_size = self.h.shape[0]

    def log_probs(self, words):
        p = self.p
        x = p["W_embed"][np.asarray(words)]
        if self.model.cell_type == "rnn":
            self.h, _ = rnn_step_forward(x, self.h, p["Wx"], p["Wh"], p["b"])
        else:
            self.h, self.c, _ = lstm_step_forward(x, self.h, self.c, p["Wx"], p["Wh"], p["b"])
        return _log_softmax(self.h @ p["W_vocab"] + p["b_vocab"])

    def reorder(self, rows):
        self.h, self.c = self.h[rows], self.c[rows]


class TransformerStepDecoder(StepDecoder):
    """:class:`StepDecoder` of a ``CaptioningTransformer``: its :class:`DecodeState` (the
    image's cross-attention keys/values and the cached self-attention keys/values of the words
    so far) per row. Use it inside :func:`decoding` (eval mode, no gradients)."""

    def __init__(self, model, features, repeat=1):
        import torch

        self.model, self.torch = model, torch
        self.device = model.output.weight.device
        state = model.start_decoding(features)
        rows = state.memory_kv[0][0].shape[0]
        if repeat > 1:
            index = torch.arange(rows, device=self.device).repeat_interleave(repeat)
            state = state.select(index)
        self.state = state
        self.batch_size = rows * repeat

    def log_probs(self, words):
        torch = self.torch
        words = torch.as_tensor(np.asarray(words), dtype=torch.long, device=self.device)
        scores, self.state = self.model.decode_step(words, self.state)
        return torch.log_softmax(scores.double(), dim=1).cpu().numpy()

    def reorder(self, rows):
        index = self.torch.as_tensor(np.asarray(rows), dtype=self.torch.long, device=self.device)
        self.state = self.state.select(index)


def step_decoder(model, features, repeat=1) -> StepDecoder:
    """The :class:`StepDecoder` of ``model`` (``CaptioningRNN`` or ``CaptioningTransformer``)
    for ``features`` (N, D), each row repeated ``repeat`` times in a row (N * repeat rows).
    Raises ValueError when the vocabulary lacks ``<START>`` or ``<END>``."""
    if model._start is None or model._end is None:
        raise ValueError("decoding needs '<START>' and '<END>' in the model's vocabulary")
    if is_transformer(model):
        return TransformerStepDecoder(model, features, repeat)
    return RNNStepDecoder(model, features, repeat)


@contextlib.contextmanager
def decoding(model):
    """Deterministic decoding: a PyTorch model in eval mode without gradients (its mode is
    restored afterwards); nothing to do for the NumPy models."""
    if not is_transformer(model):
        yield
        return
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _check_length(max_length, model=None):
    if isinstance(max_length, bool) or int(max_length) != max_length or max_length < 1:
        raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
    if model is not None and is_transformer(model) and max_length > model.max_length:
        raise ValueError(
            f"max_length {max_length} exceeds the Transformer's max_length {model.max_length} "
            "(its positional encoding)"
        )


def sample_temperature(model, features, temperature=1.0, max_length=30, seed=None):
    """Sample each word from softmax(scores / temperature) over the words other than
    ``<NULL>`` and ``<START>``; a caption stops at ``<END>``.

    temperature -> 0 approaches greedy decoding; 1 samples the model's distribution.
    """
    _check_length(max_length, model)
    try:
        positive = float(temperature) > 0
    except (TypeError, ValueError):
        positive = False
    if not positive:  # NaN too
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    rng = np.random.default_rng(seed)
    with decoding(model):
        return _sample_temperature(model, features, temperature, max_length, rng)


def _sample_temperature(model, features, temperature, max_length, rng):
    decoder = step_decoder(model, features)
    N = decoder.batch_size
    captions = np.full((N, max_length), model._null, dtype=np.int32)
    words = np.full(N, model._start)
    done = np.zeros(N, dtype=bool)
    for t in range(max_length):
        log_probs = decoder.log_probs(words)
        log_probs[:, [model._null, model._start]] = -np.inf  # never targets, never sampled
        # The row's maximum is taken out before dividing by the temperature: every value is
        # then <= 0 and the best word's is 0, so any positive temperature, however small or
        # large, gives finite probabilities (a tiny one puts all the mass on the best word).
        shifted = log_probs - log_probs.max(axis=1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            logits = np.where(np.isneginf(shifted), -np.inf, shifted / float(temperature))
        probs = np.exp(logits)
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
    _check_length(max_length, model)
    if isinstance(beam_size, bool) or int(beam_size) != beam_size or beam_size < 1:
        raise ValueError(f"beam_size must be a positive integer, got {beam_size!r}")
    with decoding(model):
        return _beam_search(model, features, int(beam_size), max_length, length_penalty, return_all)


def _beam_search(model, features, K, max_length, length_penalty, return_all):
    decoder = step_decoder(model, features, repeat=K)
    N = decoder.batch_size // K
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
