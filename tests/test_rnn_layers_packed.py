"""Packed (variable-length) sequences: the packing plan, and the packed layers against running
each sequence on its own with the ordinary sequence functions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cs231n.rnn_layers as rl

FORWARD = {
    "rnn": (rl.rnn_forward, rl.rnn_backward, rl.rnn_forward_packed, 1),
    "lstm": (rl.lstm_forward, rl.lstm_backward, rl.lstm_forward_packed, 4),
}


def test_pack_sequences_plan():
    mask = np.array(
        [
            [1, 1, 0, 0],  # length 2
            [0, 0, 0, 0],  # length 0: never runs
            [1, 0, 1, 0],  # a hole: length 3 (last counted position + 1)
            [1, 1, 1, 1],  # length 4
        ],
        dtype=bool,
    )
    order, batch_sizes, seq, step = rl.pack_sequences(mask)
    assert order.tolist() == [3, 2, 0, 1]
    assert batch_sizes.tolist() == [3, 3, 2, 1]
    assert seq.tolist() == [3, 2, 0, 3, 2, 0, 3, 2, 3]
    assert step.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3]


def test_pack_sequences_all_empty():
    order, batch_sizes, seq, step = rl.pack_sequences(np.zeros((3, 5), bool))
    assert len(batch_sizes) == 0 and len(seq) == 0 and len(step) == 0 and len(order) == 3


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@settings(max_examples=20, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5).filter(lambda ls: max(ls) > 0),
    seed=st.integers(0, 2**16),
)
def test_packed_equals_each_sequence_alone(cell, lengths, seed):
    forward, backward, forward_packed, gates = FORWARD[cell]
    rng = np.random.default_rng(seed)
    N, T, D, H = len(lengths), max(lengths), 3, 4
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, gates * H)) / np.sqrt(H)
    b = 0.1 * rng.standard_normal(gates * H)
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    order, batch_sizes, seq, step = rl.pack_sequences(mask)

    h_p, cache = forward_packed(x[seq, step], batch_sizes, h0[order], Wx, Wh, b)
    dh_p = rng.standard_normal(h_p.shape)
    dx_p, dh0_sorted, dWx, dWh, db = rl.sequence_backward_packed(dh_p, cache)

    # Reference: every sequence alone, over exactly its own length.
    ref = {"dWx": np.zeros_like(Wx), "dWh": np.zeros_like(Wh), "db": np.zeros_like(b)}
    dh0 = np.zeros_like(h0)
    for i, L in enumerate(lengths):
        if L == 0:
            continue
        rows = np.flatnonzero(seq == i)
        h_i, cache_i = forward(x[i : i + 1, :L], h0[i : i + 1], Wx, Wh, b)
        np.testing.assert_allclose(h_p[rows], h_i[0], rtol=1e-12, atol=1e-14)
        dx_i, dh0_i, dWx_i, dWh_i, db_i = backward(dh_p[rows][None], cache_i)
        np.testing.assert_allclose(dx_p[rows], dx_i[0], rtol=1e-10, atol=1e-13)
        dh0[i] = dh0_i[0]
        ref["dWx"] += dWx_i
        ref["dWh"] += dWh_i
        ref["db"] += db_i
    np.testing.assert_allclose(dh0_sorted, dh0[order], rtol=1e-10, atol=1e-13)
    for name, value in (("dWx", dWx), ("dWh", dWh), ("db", db)):
        np.testing.assert_allclose(value, ref[name], rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize(
    "batch_sizes, match",
    [
        ([2, 3], "non-increasing"),
        ([3, 0], "positive"),
        ([4, 1], "at most N=3"),
        ([2, 2], "sum to 4 but x_p has 5 rows"),
        ([], "non-empty"),
    ],
)
def test_bad_batch_sizes(batch_sizes, match):
    x_p, h0 = np.zeros((5, 2)), np.zeros((3, 4))
    Wx, Wh, b = np.zeros((2, 16)), np.zeros((4, 16)), np.zeros(16)
    with pytest.raises(ValueError, match=match):
        rl.lstm_forward_packed(x_p, np.array(batch_sizes, dtype=int), h0, Wx, Wh, b)


def test_packed_backward_checks_upstream_shape():
    x_p, h0 = np.zeros((3, 2)), np.zeros((2, 4))
    _, cache = rl.rnn_forward_packed(
        x_p, np.array([2, 1]), h0, np.zeros((2, 4)), np.eye(4), np.zeros(4)
    )
    with pytest.raises(ValueError, match=r"dh_p has shape \(2, 4\), expected \(3, 4\)"):
        rl.sequence_backward_packed(np.zeros((2, 4)), cache)
