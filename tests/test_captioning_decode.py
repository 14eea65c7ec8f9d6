"""Greedy, beam and temperature decoding, checked against brute force and the model's loss."""

import itertools

import numpy as np
import pytest

from cs231n.captioning_decode import beam_search, greedy, sample_temperature
from cs231n.classifiers.rnn import CaptioningRNN

VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "cat": 4, "dog": 5, "sat": 6}


def toy_model(cell, seed=0, scale=3.0):
    np.random.seed(seed)
    model = CaptioningRNN(
        VOCAB, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell, dtype=np.float64
    )
    for k in model.params:  # sharper distributions, distinct scores
        model.params[k] = model.params[k] * scale
    model.params["b_vocab"][:2] = -50  # like a trained model: <NULL>, <START> are never targets
    features = np.random.default_rng(seed).standard_normal((3, 4))
    return model, features


def caption_log_prob(model, feature, words):
    """log p(words | image) by teacher forcing: minus the model's loss on one caption."""
    captions = np.array([[VOCAB["<START>"], *words]])
    loss, _ = model.loss(feature[None], captions)
    return -loss


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_beam_of_one_is_greedy(cell):
    model, features = toy_model(cell)
    g = greedy(model, features, max_length=6)
    b = beam_search(model, features, beam_size=1, max_length=6, length_penalty=0)
    for row_g, row_b in zip(g, b):
        end = list(row_g).index(2) + 1 if 2 in row_g else 6
        np.testing.assert_array_equal(row_b[:end], row_g[:end])
        assert not row_b[end:].any()  # <NULL> after <END>


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_wide_beam_finds_the_most_probable_caption(cell):
    model, features = toy_model(cell, seed=1)
    L = 3
    words = [2, 3, 4, 5, 6]  # anything but <NULL> and <START>
    for n in range(features.shape[0]):
        best, best_lp = None, -np.inf
        for length in range(1, L + 1):  # every caption: ends with <END> or runs to L words
            for seq in itertools.product(words, repeat=length):
                if 2 in seq[:-1] or (length < L and seq[-1] != 2):
                    continue
                lp = caption_log_prob(model, features[n], seq)
                if lp > best_lp:
                    best, best_lp = seq, lp
        found, beams, scores = beam_search(
            model,
            features[n : n + 1],
            beam_size=125,
            max_length=L,
            length_penalty=0,
            return_all=True,
        )
        assert tuple(found[0][: len(best)]) == best
        assert scores[0, 0] == pytest.approx(best_lp, abs=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_beam_scores_are_normalised_log_probs(cell):
    model, features = toy_model(cell, seed=2, scale=1.0)
    _, beams, scores = beam_search(
        model, features, beam_size=4, max_length=5, length_penalty=0.7, return_all=True
    )
    assert np.all(np.diff(scores, axis=1) <= 1e-12)  # best first
    for n in range(features.shape[0]):
        for k in range(4):
            seq = [w for w in beams[n, k] if w != 0]
            expected = caption_log_prob(model, features[n], seq) / len(seq) ** 0.7
            assert scores[n, k] == pytest.approx(expected, abs=1e-9)


def test_temperature_sampling():
    model, features = toy_model("lstm", seed=3)
    a = sample_temperature(model, features, temperature=1.0, max_length=8, seed=5)
    b = sample_temperature(model, features, temperature=1.0, max_length=8, seed=5)
    np.testing.assert_array_equal(a, b)
    for row in a:  # nothing after <END>
        if 2 in row:
            assert not row[list(row).index(2) + 1 :].any()
    cold = sample_temperature(model, features, temperature=1e-4, max_length=6, seed=0)
    g = greedy(model, features, max_length=6)
    for row_c, row_g in zip(cold, g):
        end = list(row_g).index(2) + 1 if 2 in row_g else 6
        np.testing.assert_array_equal(row_c[:end], row_g[:end])


def test_temperature_one_matches_model_distribution():
    model, features = toy_model("rnn", seed=4, scale=1.0)
    feats = np.repeat(features[:1], 4000, axis=0)
    first = sample_temperature(model, feats, temperature=1.0, max_length=1, seed=0)[:, 0]
    p = np.exp([caption_log_prob(model, features[0], [w]) for w in range(2, 7)])
    p = np.r_[0, 0, p / p.sum()]  # <NULL> and <START> are never sampled
    observed = np.bincount(first, minlength=7) / len(first)
    np.testing.assert_allclose(observed, p, atol=0.03)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, f: beam_search(m, f, beam_size=0), "beam_size must be a positive integer"),
        (lambda m, f: sample_temperature(m, f, temperature=0), "temperature must be positive"),
        (lambda m, f: beam_search(m, f, max_length=0), "max_length must be a positive integer"),
        (lambda m, f: beam_search(m, f[:, :2]), r"features has shape \(3, 2\)"),
    ],
)
def test_bad_arguments(call, match):
    model, features = toy_model("rnn")
    with pytest.raises(ValueError, match=match):
        call(model, features)
