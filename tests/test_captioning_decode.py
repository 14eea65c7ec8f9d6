"""Greedy, beam and temperature decoding, checked against brute force and the model's loss,
for the three captioners: the NumPy RNN and LSTM and the PyTorch Transformer (whose decoders
step with cached keys and values)."""

import itertools

import numpy as np
import pytest
import torch
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)

from cs231n.captioning.decode import (
    TransformerStepDecoder,
    beam_search,
    greedy,
    sample_temperature,
    step_decoder,
)
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.classifiers.transformer import CaptioningTransformer

VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "cat": 4, "dog": 5, "sat": 6}
MODELS = ["rnn", "lstm", "transformer"]


def toy_model(cell, seed=0, scale=3.0):
    """A small captioner in float64 with sharp, distinct word distributions, and features
    (3, 4)."""
    if cell == "transformer":
        return toy_transformer(seed, scale)
    np.random.seed(seed)
    model = CaptioningRNN(
        VOCAB, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell, dtype=np.float64
    )
    for k in model.params:  # sharper distributions, distinct scores
        model.params[k] = model.params[k] * scale
    model.params["b_vocab"][:2] = -50  # like a trained model: <NULL>, <START> are never targets
    features = np.random.default_rng(seed).standard_normal((3, 4))
    return model, features


def toy_transformer(seed=0, scale=3.0):
    torch.manual_seed(seed)
    model = CaptioningTransformer(
        VOCAB, input_dim=4, wordvec_dim=8, num_heads=2, num_layers=2, max_length=12
    ).double()
    with torch.no_grad():  # the course's N(0, 0.02) start is nearly uniform: sharpen it
        for module in (model.embedding, model.visual_projection, model.output):
            module.weight.normal_(0, scale / 3)
        model.output.bias[:2] = -50  # <NULL>, <START> are never targets
    model.train()  # the decoders must switch dropout off themselves (and restore the mode)
    features = np.random.default_rng(seed).standard_normal((3, 4))
    return model, features


def caption_log_prob(model, feature, words):
    """log p(words | image) by teacher forcing: minus the model's loss on one caption (for the
    Transformer: the log-softmax of its full forward pass, summed over the words)."""
    captions = np.array([[VOCAB["<START>"], *words]])
    if isinstance(model, CaptioningTransformer):
        was_training = model.training
        model.eval()
        with torch.no_grad():
            scores = model(torch.from_numpy(feature[None]), torch.from_numpy(captions[:, :-1]))
        model.train(was_training)
        logp = torch.log_softmax(scores[0], dim=1).numpy()
        return float(sum(logp[t, w] for t, w in enumerate(words)))
    loss, _ = model.loss(feature[None], captions)
    return -loss


@pytest.mark.parametrize("cell", MODELS)
def test_beam_of_one_is_greedy(cell):
    model, features = toy_model(cell)
    g = greedy(model, features, max_length=6)
    b = beam_search(model, features, beam_size=1, max_length=6, length_penalty=0)
    for row_g, row_b in zip(g, b):
        end = list(row_g).index(2) + 1 if 2 in row_g else 6
        np.testing.assert_array_equal(row_b[:end], row_g[:end])
        assert not row_b[end:].any()  # <NULL> after <END>


@pytest.mark.parametrize("cell", MODELS)
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


@pytest.mark.parametrize("cell", MODELS)
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


@pytest.mark.parametrize("cell", ["lstm", "transformer"])
def test_temperature_sampling(cell):
    model, features = toy_model(cell, seed=3)
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


@pytest.mark.parametrize("cell", ["rnn", "lstm", "transformer"])
@pytest.mark.parametrize("temperature", [1e-300, 1e-308, 1e-320, 5e-324])
def test_tiny_temperatures_decode_greedily(cell, temperature):
    """Dividing the scores by a temperature below ~1e-308 before taking out their maximum
    overflowed to inf - inf = NaN: captions of <NULL> only (issue #19 k)."""
    model, features = toy_model(cell, seed=3)
    cold = sample_temperature(model, features, temperature=temperature, max_length=6, seed=0)
    g = greedy(model, features, max_length=6)
    for row_c, row_g in zip(cold, g, strict=True):
        end = list(row_g).index(2) + 1 if 2 in row_g else 6
        np.testing.assert_array_equal(row_c[:end], row_g[:end])


@pytest.mark.parametrize("cell", ["rnn", "transformer"])
@pytest.mark.parametrize("temperature", [1e6, 1e308, float("inf")])
def test_huge_temperatures_sample_every_word_but_null_and_start(cell, temperature):
    model, features = toy_model(cell, seed=4, scale=1.0)
    feats = np.repeat(features[:1], 2000, axis=0)
    first = sample_temperature(model, feats, temperature=temperature, max_length=1, seed=0)[:, 0]
    counts = np.bincount(first, minlength=7)
    assert counts[0] == counts[1] == 0  # <NULL> and <START> never
    np.testing.assert_allclose(counts[2:] / len(first), 1 / 5, atol=0.04)  # uniform


@pytest.mark.parametrize("cell", ["rnn", "transformer"])
def test_temperature_one_matches_model_distribution(cell):
    model, features = toy_model(cell, seed=4, scale=1.0)
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
        (lambda m, f: sample_temperature(m, f, temperature=0), "temperature must be a positive"),
        (lambda m, f: sample_temperature(m, f, temperature=-1e-9), "positive number, got -1e-09"),
        (lambda m, f: sample_temperature(m, f, temperature=float("nan")), "positive number"),
        (lambda m, f: sample_temperature(m, f, temperature="hot"), "positive number, got 'hot'"),
        (lambda m, f: sample_temperature(m, f, temperature=None), "positive number, got None"),
        (lambda m, f: beam_search(m, f, max_length=0), "max_length must be a positive integer"),
        (lambda m, f: beam_search(m, f[:, :2]), r"features has shape \(3, 2\)"),
    ],
)
def test_bad_arguments(call, match):
    model, features = toy_model("rnn")
    with pytest.raises(ValueError, match=match):
        call(model, features)


# ----------------------------------------------------------------------------------------------
# The Transformer's step decoder: cached keys and values, reordered like beam search does


def test_transformer_steps_equal_the_full_forward_after_reordering():
    """Feeding words one at a time, with the rows reordered and copied between steps (as beam
    search keeps and duplicates hypotheses), gives the log-probabilities of a full forward
    pass over each row's whole prefix."""
    model, features = toy_transformer(seed=5)
    model.eval()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        decoder = step_decoder(model, features, repeat=2)  # rows: 0, 0, 1, 1, 2, 2
        assert isinstance(decoder, TransformerStepDecoder) and decoder.batch_size == 6
        image = np.repeat(np.arange(3), 2)
        prefixes = np.full((6, 1), VOCAB["<START>"])
        for _ in range(5):
            logp = decoder.log_probs(prefixes[:, -1])
            scores = model(torch.from_numpy(features[image]), torch.from_numpy(prefixes))
            expected = torch.log_softmax(scores[:, -1], dim=1).numpy()
            np.testing.assert_allclose(logp, expected, atol=1e-10)
            rows = rng.integers(0, 6, 6)  # keep some rows, copy others
            decoder.reorder(rows)
            image, prefixes = image[rows], prefixes[rows]
            prefixes = np.hstack([prefixes, rng.integers(2, 7, (6, 1))])


def test_transformer_beam_search_steps_with_the_cache(monkeypatch):
    """One cached step per position (O(t) work each), never a full forward pass over the
    prefix; the model's mode is restored."""
    model, features = toy_transformer(seed=6)
    calls = []
    real_step = model.decode_step

    def counting_step(words, state):
        calls.append((len(words), state.step))
        return real_step(words, state)

    def no_forward(*args, **kwargs):
        raise AssertionError("beam search ran a full forward pass")

    monkeypatch.setattr(model, "decode_step", counting_step)
    monkeypatch.setattr(model, "forward", no_forward)
    captions = beam_search(model, features, beam_size=4, max_length=7)
    assert captions.shape == (3, 7) and captions.dtype == np.int32
    steps = [step for _, step in calls]
    assert steps == list(range(len(steps))) and 1 <= len(steps) <= 7
    assert all(rows == 12 for rows, _ in calls)  # batched: 3 images x 4 beams at once
    assert model.training  # toy_transformer leaves it in training mode


def test_transformer_max_length_is_checked_up_front():
    model, features = toy_transformer()
    for decode in (beam_search, sample_temperature):
        with pytest.raises(ValueError, match="max_length 13 exceeds the Transformer's max_length"):
            decode(model, features, max_length=13)
    with pytest.raises(ValueError, match=r"features must have shape \(N, 4\), got \(3, 2\)"):
        beam_search(model, features[:, :2], max_length=5)


@pytest.mark.parametrize("cell", MODELS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_features_that_are_not_finite_are_refused_by_every_decoder(cell, bad):
    """NaN image features were decoded into captions, silently (issue #19 f)."""
    model, features = toy_model(cell, seed=1)
    features = np.array(features, dtype=np.float32)
    features[1, 0] = bad
    for decode in (
        lambda: greedy(model, features, max_length=5),
        lambda: beam_search(model, features, beam_size=2, max_length=5),
        lambda: sample_temperature(model, features, max_length=5, seed=0),
    ):
        with pytest.raises(ValueError, match="features hold NaN or infinite values"):
            decode()
