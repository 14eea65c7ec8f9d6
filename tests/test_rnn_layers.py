"""Tests for cs231n.rnn_layers: the course notebook's numbers, numerical gradient checks,
PyTorch autograd re-computations, the step-wise reference, dtypes and argument checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import check_against_torch, norm_rel_error, numerical_grads, random_like
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

from cs231n import rnn_layers as rl
from cs231n.captioning import reference as ref
from cs231n.gradient_check import eval_numerical_gradient, rel_error

# ----------------------------------------------------------------------------------------------
# Inputs and adapters shared by the parametrised tests


def seq_inputs(rng, N=4, T=5, D=6, H=7, gates=1, dtype=np.float64):
    """x, h0, Wx, Wh, b with weights scaled by 1/sqrt(fan-in) so tanh/sigmoid do not saturate."""
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, gates * H)) / np.sqrt(H)
    b = 0.1 * rng.standard_normal(gates * H)
    return [a.astype(dtype) for a in (x, h0, Wx, Wh, b)]


def step_inputs(rng, N=4, D=6, H=7, gates=1, dtype=np.float64):
    x, h, Wx, Wh, b = seq_inputs(rng, N, 1, D, H, gates, dtype)
    return [x[:, 0], h, Wx, Wh, b]


def lstm_step_inputs(rng, N=4, D=6, H=7, dtype=np.float64):
    x, h, Wx, Wh, b = step_inputs(rng, N, D, H, 4, dtype)
    c = rng.standard_normal((N, H)).astype(dtype)
    return [x, h, c, Wx, Wh, b]


def embedding_inputs(rng, N=4, T=5, V=7, D=6, dtype=np.float64):
    x = rng.integers(0, V, size=(N, T))
    x[0, :2] = 3  # a repeated word: its gradient rows must add up
    return [x, rng.standard_normal((V, D)).astype(dtype)]


def affine_inputs(rng, N=4, T=5, D=6, M=7, dtype=np.float64):
    x = rng.standard_normal((N, T, D))
    w = rng.standard_normal((D, M)) / np.sqrt(D)
    b = rng.standard_normal(M)
    return [a.astype(dtype) for a in (x, w, b)]


def lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    next_h, next_c, cache = rl.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return (next_h, next_c), cache


def lstm_step_back(dout, cache):
    return rl.lstm_step_backward(*dout, cache)


def stacked(forward):
    """forward(*inputs) -> one array (outputs stacked), for the numerical gradient."""

    def f(*inputs):
        out = forward(*inputs)[0]
        return np.stack(out) if isinstance(out, tuple) else out

    return f


# PyTorch re-computations (float64 tensors in, tensors out).


def torch_rnn_step(x, h, Wx, Wh, b):
    return torch.tanh(x @ Wx + h @ Wh + b)


def torch_rnn(x, h0, Wx, Wh, b):
    hs, h = [], h0
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return torch.stack(hs, dim=1)


def _torch_gate_params(Wx, Wh, b, suffix=""):
    """Our (D, 4H) layout with gate blocks i, f, o, g -> torch's (4H, D) with blocks i, f, g, o."""
    H = Wh.shape[0]
    perm = torch.cat(
        [torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)]
    )
    return {
        f"weight_ih{suffix}": Wx[:, perm].T,
        f"weight_hh{suffix}": Wh[:, perm].T,
        f"bias_ih{suffix}": b[perm],
        f"bias_hh{suffix}": torch.zeros(4 * H, dtype=b.dtype),
    }


def torch_lstm_step(x, h, c, Wx, Wh, b):
    cell = torch.nn.LSTMCell(Wx.shape[0], Wh.shape[0], dtype=torch.float64)
    return functional_call(cell, _torch_gate_params(Wx, Wh, b), (x, (h, c)))


def torch_lstm(x, h0, Wx, Wh, b):
    lstm = torch.nn.LSTM(Wx.shape[0], Wh.shape[0], batch_first=True, dtype=torch.float64)
    state = (h0[None], torch.zeros_like(h0)[None])
    out, _ = functional_call(lstm, _torch_gate_params(Wx, Wh, b, "_l0"), (x, state))
    return out


def torch_temporal_loss(x, y, mask):
    N, T, V = x.shape
    losses = F.cross_entropy(x.reshape(N * T, V), y.reshape(N * T), reduction="none")
    return (losses * mask.reshape(N * T)).sum() / N


# name: (forward -> (out, cache), backward(dout, cache) -> grads, make_inputs(rng, dtype),
#        differentiable input indices, torch forward)
LAYERS = {
    "rnn_step": (
        rl.rnn_step_forward,
        rl.rnn_step_backward,
        lambda rng, dtype: step_inputs(rng, dtype=dtype),
        [0, 1, 2, 3, 4],
        torch_rnn_step,
    ),
    "rnn": (
        rl.rnn_forward,
        rl.rnn_backward,
        lambda rng, dtype: seq_inputs(rng, dtype=dtype),
        [0, 1, 2, 3, 4],
        torch_rnn,
    ),
    "lstm_step": (
        lstm_step,
        lstm_step_back,
        lambda rng, dtype: lstm_step_inputs(rng, dtype=dtype),
        [0, 1, 2, 3, 4, 5],
        torch_lstm_step,
    ),
    "lstm": (
        rl.lstm_forward,
        rl.lstm_backward,
        lambda rng, dtype: seq_inputs(rng, gates=4, dtype=dtype),
        [0, 1, 2, 3, 4],
        torch_lstm,
    ),
    "word_embedding": (
        rl.word_embedding_forward,
        rl.word_embedding_backward,
        lambda rng, dtype: embedding_inputs(rng, dtype=dtype),
        [1],
        F.embedding,
    ),
    "temporal_affine": (
        rl.temporal_affine_forward,
        rl.temporal_affine_backward,
        lambda rng, dtype: affine_inputs(rng, dtype=dtype),
        [0, 1, 2],
        lambda x, w, b: x @ w + b,
    ),
}


# ----------------------------------------------------------------------------------------------
# The course notebook's expected values


def test_rnn_step_forward_notebook_values():
    N, D, H = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)
    next_h, _ = rl.rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected_next_h = np.asarray(
        [
            [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
            [0.66854692, 0.79562378, 0.87755553, 0.92795967],
            [0.97934501, 0.99144213, 0.99646691, 0.99854353],
        ]
    )
    assert rel_error(expected_next_h, next_h) < 1e-8
    np.testing.assert_allclose(next_h, expected_next_h, rtol=0, atol=5.000001e-9)


def test_rnn_forward_notebook_values():
    N, T, D, H = 2, 3, 4, 5
    x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
    b = np.linspace(-0.7, 0.1, num=H)
    h, _ = rl.rnn_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray(
        [
            [
                [-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
                [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
                [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525],
            ],
            [
                [-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
                [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
                [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043],
            ],
        ]
    )
    assert h.shape == (N, T, H)
    # The notebook prints 8 decimals, so h[1, 0, 3] = 0.023784076... is stored as 0.02378408:
    # elementwise rel_error cannot go below ~8e-8 here. Check the printed digits instead.
    assert rel_error(expected_h, h) < 1e-7
    np.testing.assert_allclose(h, expected_h, rtol=0, atol=5.000001e-9)


def test_lstm_step_forward_notebook_values():
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)
    next_h, next_c, _ = rl.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    expected_next_h = np.asarray(
        [
            [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
            [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
            [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299],
        ]
    )
    expected_next_c = np.asarray(
        [
            [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
            [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
            [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676],
        ]
    )
    assert rel_error(expected_next_h, next_h) < 1e-8
    assert rel_error(expected_next_c, next_c) < 1e-8
    np.testing.assert_allclose(next_h, expected_next_h, rtol=0, atol=5.000001e-9)
    np.testing.assert_allclose(next_c, expected_next_c, rtol=0, atol=5.000001e-9)


def test_lstm_forward_notebook_values():
    N, D, H, T = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.2, 0.7, num=4 * H)
    h, _ = rl.lstm_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray(
        [
            [
                [0.01764008, 0.01823233, 0.01882671, 0.0194232],
                [0.11287491, 0.12146228, 0.13018446, 0.13902939],
                [0.31358768, 0.33338627, 0.35304453, 0.37250975],
            ],
            [
                [0.45767879, 0.4761092, 0.4936887, 0.51041945],
                [0.6704845, 0.69350089, 0.71486014, 0.7346449],
                [0.81733511, 0.83677871, 0.85403753, 0.86935314],
            ],
        ]
    )
    np.testing.assert_allclose(h, expected_h, rtol=0, atol=5.000001e-9)


def test_word_embedding_forward_notebook_values():
    V, D = 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = np.linspace(0, 1, num=V * D).reshape(V, D)
    out, _ = rl.word_embedding_forward(x, W)
    row = {  # rows of W, written out
        0: [0.0, 0.07142857, 0.14285714],
        1: [0.21428571, 0.28571429, 0.35714286],
        2: [0.42857143, 0.5, 0.57142857],
        3: [0.64285714, 0.71428571, 0.78571429],
    }
    expected_out = np.asarray([[row[i] for i in r] for r in x.tolist()])
    assert out.shape == (2, 4, 3)
    np.testing.assert_allclose(out, expected_out, rtol=0, atol=5.000001e-9)  # printed digits
    np.testing.assert_array_equal(out, W[x])  # a lookup copies rows exactly


@pytest.mark.parametrize(
    "N, T, p",
    [(100, 1, 1.0), (100, 10, 1.0), (5000, 10, 0.1)],  # the notebook's check_loss calls
)
def test_temporal_softmax_loss_sanity(N, T, p):
    """With near-zero scores every counted position costs log(V); the loss is divided by N."""
    V = 10
    rng = np.random.default_rng(231)
    x = 0.001 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) <= p
    loss, _ = rl.temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx(T * p * math.log(V), rel=0.1)  # ~2.3, ~23, ~2.3
    assert loss == pytest.approx(mask.sum() / N * math.log(V), rel=1e-3)


def test_temporal_softmax_loss_matches_loops():
    rng = np.random.default_rng(0)
    N, T, V = 3, 4, 5
    x = 2 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
    loss, dx = rl.temporal_softmax_loss(x, y, mask)

    expected_loss = 0.0
    expected_dx = np.zeros((N, T, V))
    for n in range(N):
        for t in range(T):
            if not mask[n, t]:
                continue
            z = sum(math.exp(s) for s in x[n, t])
            expected_loss -= math.log(math.exp(x[n, t, y[n, t]]) / z) / N
            for v in range(V):
                expected_dx[n, t, v] = (math.exp(x[n, t, v]) / z - (v == y[n, t])) / N
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-12, atol=1e-15)
    assert np.all(dx[~mask] == 0)


def test_temporal_softmax_loss_large_scores_are_stable():
    x = np.array([[[1000.0, 0.0, -1000.0]]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dx = rl.temporal_softmax_loss(x, np.array([[1]]), np.array([[True]]))
    assert loss == pytest.approx(1000.0)
    np.testing.assert_allclose(dx, [[[1.0, -1.0, 0.0]]], atol=1e-15)


# ----------------------------------------------------------------------------------------------
# Numerical gradient checks (float64, the course's elementwise rel_error)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_matches_numerical_gradient(name):
    forward, backward, make_inputs, diff, _ = LAYERS[name]
    # The elementwise rel_error has a noise floor of ~5e-10 / |entry| (centred differences with
    # h=1e-5), so an entry of ~1e-3 alone can exceed 1e-7. This seed gives no such entry (all
    # layers <= ~1e-8 here); random seeds and shapes are covered normwise further down.
    rng = np.random.default_rng(12)
    inputs = make_inputs(rng, np.float64)
    out, cache = forward(*inputs)
    dout = random_like(rng, out)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    dout_stacked = np.stack(dout) if isinstance(dout, tuple) else dout
    num = numerical_grads(stacked(forward), inputs, dout_stacked, diff)
    assert len(grads) == len(num)
    for i, g, g_num in zip(diff, grads, num, strict=True):
        assert g.shape == inputs[i].shape
        assert rel_error(g_num, g) <= 1e-7, f"{name}: gradient of input {i}"


def test_temporal_softmax_loss_gradient_is_numerical_gradient():
    rng = np.random.default_rng(231)
    N, T, V = 7, 8, 9
    x = 0.5 * rng.standard_normal((N, T, V))  # no probability so small that rel_error hits noise
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.5
    _, dx = rl.temporal_softmax_loss(x, y, mask)
    dx_num = eval_numerical_gradient(
        lambda x: rl.temporal_softmax_loss(x, y, mask)[0], x, verbose=False
    )
    assert rel_error(dx, dx_num) <= 1e-7


# Random small shapes. The elementwise rel_error divides by |a| + |b| per entry, so an entry whose
# true gradient is ~0 (a saturated gate, a 1x1 problem) fails it even when the absolute
# difference is at rounding level; the normwise error compares against the whole gradient.

shapes = st.tuples(
    st.integers(1, 4),
    st.integers(1, 5),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
)


@pytest.mark.parametrize("name, gates", [("rnn", 1), ("lstm", 4)])
@settings(max_examples=15, deadline=None)
@given(shape=shapes)
def test_sequence_backward_numerical_random_shapes(name, gates, shape):
    N, T, D, H, seed = shape
    forward, backward = LAYERS[name][:2]
    rng = np.random.default_rng(seed)
    inputs = seq_inputs(rng, N, T, D, H, gates)
    h, cache = forward(*inputs)
    dh = rng.standard_normal(h.shape)
    grads = backward(dh, cache)
    num = numerical_grads(lambda *a: forward(*a)[0], inputs, dh, range(5))
    for i, (g, g_num) in enumerate(zip(grads, num, strict=True)):
        assert g.shape == inputs[i].shape
        assert norm_rel_error(g, g_num) <= 1e-7, f"{name} {shape}: gradient of input {i}"


# ----------------------------------------------------------------------------------------------
# PyTorch autograd re-computations


@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_torch_autograd(name):
    forward, backward, make_inputs, diff, torch_forward = LAYERS[name]
    inputs = make_inputs(np.random.default_rng(1), np.float64)
    check_against_torch(forward, backward, torch_forward, inputs, differentiable=diff, seed=2)


def test_temporal_softmax_loss_matches_torch():
    rng = np.random.default_rng(3)
    N, T, V = 4, 6, 11
    x = 3 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.3
    check_against_torch(
        lambda x, y, mask: rl.temporal_softmax_loss(x, y, mask),
        lambda dout, dx: dout * dx,
        torch_temporal_loss,
        [x, y, mask],
        differentiable=[0],
    )


@pytest.mark.parametrize("name, gates", [("rnn", 1), ("lstm", 4)])
@settings(max_examples=15, deadline=None)
@given(shape=shapes)
def test_sequence_matches_torch_random_shapes(name, gates, shape):
    N, T, D, H, seed = shape
    forward, backward, _, _, torch_forward = LAYERS[name]
    inputs = seq_inputs(np.random.default_rng(seed), N, T, D, H, gates)
    check_against_torch(forward, backward, torch_forward, inputs, seed=seed)


# ----------------------------------------------------------------------------------------------
# Vectorised sequence layers vs the step-by-step reference


@pytest.mark.parametrize(
    "name, gates, stepwise_forward, stepwise_backward",
    [
        ("rnn", 1, ref.rnn_forward_stepwise, ref.rnn_backward_stepwise),
        ("lstm", 4, ref.lstm_forward_stepwise, ref.lstm_backward_stepwise),
    ],
)
def test_vectorised_equals_stepwise(name, gates, stepwise_forward, stepwise_backward):
    forward, backward = LAYERS[name][:2]
    rng = np.random.default_rng(5)
    inputs = seq_inputs(rng, N=3, T=6, D=5, H=4, gates=gates)
    h, cache = forward(*inputs)
    h_ref, caches = stepwise_forward(*inputs)
    # Same formulas; only the grouping of the x @ Wx product differs, so at most a few ulp.
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-14)

    dh = rng.standard_normal(h.shape)
    for k, (g, g_ref) in enumerate(
        zip(backward(dh, cache), stepwise_backward(dh, caches), strict=True)
    ):
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-13, err_msg=f"gradient {k}")

    inputs32 = [a.astype(np.float32) for a in inputs]
    h32, _ = forward(*inputs32)
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, stepwise_forward(*inputs32)[0], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(LAYERS))
def test_dtype_is_preserved(name, dtype):
    forward, backward, make_inputs, _, _ = LAYERS[name]
    rng = np.random.default_rng(0)
    out, cache = forward(*make_inputs(rng, dtype))
    outs = out if isinstance(out, tuple) else (out,)
    assert all(o.dtype == dtype for o in outs)
    grads = backward(random_like(rng, out), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert [g.dtype for g in grads] == [dtype] * len(grads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_temporal_softmax_loss_dtype(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    loss, dx = rl.temporal_softmax_loss(x, rng.integers(4, size=(2, 3)), np.ones((2, 3), bool))
    assert isinstance(loss, float)
    assert dx.dtype == dtype


# ----------------------------------------------------------------------------------------------
# sigmoid


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_in_the_tails(dtype):
    x = np.array([-1000, -100, 0, 100, 1000], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Underflow of exp(-1000) to 0 is the correct rounding, so only it is left un-raised.
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = rl.sigmoid(x)
    assert s.dtype == dtype
    assert np.all(np.isfinite(s))
    np.testing.assert_array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert 0 <= s[1] < 1e-38
    assert s[3] == 1.0


def test_sigmoid_matches_definition():
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(rl.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14, atol=0)
    np.testing.assert_allclose(rl.sigmoid(x) + rl.sigmoid(-x), 1.0, rtol=1e-15)


def test_sigmoid_keeps_relative_precision_in_the_lower_tail():
    s = rl.sigmoid(np.float64(-40.0))
    assert s > 0
    assert s == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)


# ----------------------------------------------------------------------------------------------
# Argument checks

_rng = np.random.default_rng(0)
X, H0, WX, WH, B = seq_inputs(_rng, N=2, T=3, D=4, H=5)
X4, H04, WX4, WH4, B4 = seq_inputs(_rng, N=2, T=3, D=4, H=5, gates=4)
SCORES = _rng.standard_normal((2, 3, 6))
Y = _rng.integers(6, size=(2, 3))
MASK = np.ones((2, 3), dtype=bool)
EMB_W = _rng.standard_normal((6, 4))


def _with(array, index, value):
    out = array.copy()
    out[index] = value
    return out


BAD_CALLS = {
    "Wx wrong first dim": (
        lambda: rl.rnn_forward(X, H0, WX[:3], WH, B),
        ValueError,
        r"Wx has shape \(3, 5\).*D=4",
    ),
    "h0 batch mismatch": (
        lambda: rl.rnn_forward(X, H0[:1], WX, WH, B),
        ValueError,
        r"h0 has shape \(1, 5\).*N=2",
    ),
    "Wh not square": (
        lambda: rl.rnn_forward(X, H0, WX, WH[:, :4], B),
        ValueError,
        r"Wh has shape \(5, 4\)",
    ),
    "b wrong length": (
        lambda: rl.rnn_forward(X, H0, WX, WH, B[:4]),
        ValueError,
        r"b has shape \(4,\)",
    ),
    "x not 3-d": (
        lambda: rl.rnn_forward(X[:, 0], H0, WX, WH, B),
        ValueError,
        r"rnn_forward: x must have 3 dimensions",
    ),
    "step prev_h wrong H": (
        lambda: rl.rnn_step_forward(X[:, 0], H0[:, :4], WX, WH, B),
        ValueError,
        r"Wx has shape \(4, 5\)",
    ),
    "lstm Wx not 4H wide": (
        lambda: rl.lstm_forward(X4, H04, WX4[:, :15], WH4, B4),
        ValueError,
        r"lstm_forward: Wx has shape \(4, 15\).*4H=20",
    ),
    "lstm given rnn weights": (
        lambda: rl.lstm_forward(X, H0, WX, WH, B),
        ValueError,
        r"Wx has shape \(4, 5\).*4H=20",
    ),
    "lstm step prev_c wrong shape": (
        lambda: rl.lstm_step_forward(X4[:, 0], H04, H04[:, :4], WX4, WH4, B4),
        ValueError,
        r"prev_c has shape \(2, 4\)",
    ),
    "rnn dh wrong shape": (
        lambda: rl.rnn_backward(np.ones((2, 2, 5)), rl.rnn_forward(X, H0, WX, WH, B)[1]),
        ValueError,
        r"rnn_backward: dh has shape \(2, 2, 5\), expected \(2, 3, 5\)",
    ),
    "lstm dh wrong shape": (
        lambda: rl.lstm_backward(np.ones((2, 3, 4)), rl.lstm_forward(X4, H04, WX4, WH4, B4)[1]),
        ValueError,
        r"lstm_backward: dh has shape \(2, 3, 4\)",
    ),
    "rnn step dnext_h wrong shape": (
        lambda: rl.rnn_step_backward(
            np.ones((5, 2)), rl.rnn_step_forward(X[:, 0], H0, WX, WH, B)[1]
        ),
        ValueError,
        r"dnext_h has shape \(5, 2\)",
    ),
    "lstm step dnext_c wrong shape": (
        lambda: rl.lstm_step_backward(
            np.ones((2, 5)),
            np.ones((2, 4)),
            rl.lstm_step_forward(X4[:, 0], H04, H04, WX4, WH4, B4)[2],
        ),
        ValueError,
        r"dnext_c has shape \(2, 4\)",
    ),
    "temporal affine dout wrong shape": (
        lambda: rl.temporal_affine_backward(
            np.ones((2, 3, 4)), rl.temporal_affine_forward(X, WX, B)[1]
        ),
        ValueError,
        r"dout has shape \(2, 3, 4\)",
    ),
    "embedding dout wrong shape": (
        lambda: rl.word_embedding_backward(
            np.ones((2, 3, 5)), rl.word_embedding_forward(Y, EMB_W)[1]
        ),
        ValueError,
        r"dout has shape \(2, 3, 5\)",
    ),
    # Regression: T=0 used to fail later in backward with "cannot reshape array".
    "no timesteps": (
        lambda: rl.lstm_forward(X4[:, :0], H04, WX4, WH4, B4),
        ValueError,
        r"x has shape \(2, 0, 4\): a sequence needs at least 1 timestep",
    ),
    "integer x": (
        lambda: rl.rnn_forward(X.astype(np.int64), H0, WX, WH, B),
        TypeError,
        r"x must be a floating-point array, got dtype int64",
    ),
    "integer weights": (
        lambda: rl.lstm_forward(X4, H04, WX4.astype(np.int32), WH4, B4),
        TypeError,
        r"Wx must be a floating-point array",
    ),
    "list x": (
        lambda: rl.rnn_forward(X.tolist(), H0, WX, WH, B),
        TypeError,
        r"x must be a numpy array, got list",
    ),
    "list scores": (
        lambda: rl.temporal_softmax_loss(SCORES.tolist(), Y, MASK),
        TypeError,
        r"x must be a numpy array, got list",
    ),
    "float word ids": (
        lambda: rl.word_embedding_forward(Y.astype(np.float64), EMB_W),
        TypeError,
        r"x must hold integer word ids, got dtype float64",
    ),
    "word id == V": (
        lambda: rl.word_embedding_forward(_with(Y, (1, 2), 6), EMB_W),
        ValueError,
        r"x holds word id 6, outside the vocabulary \[0, 6\)",
    ),
    "negative word id": (
        lambda: rl.word_embedding_forward(_with(Y, (0, 0), -1), EMB_W),
        ValueError,
        r"x holds word id -1",
    ),
    "target out of range": (
        lambda: rl.temporal_softmax_loss(SCORES, _with(Y, (0, 1), 6), MASK),
        ValueError,
        r"temporal_softmax_loss: y holds word id 6",
    ),
    "float targets": (
        lambda: rl.temporal_softmax_loss(SCORES, Y.astype(np.float32), MASK),
        TypeError,
        r"y must hold integer word ids",
    ),
    "targets wrong shape": (
        lambda: rl.temporal_softmax_loss(SCORES, Y[:, :2], MASK),
        ValueError,
        r"y has shape \(2, 2\), expected \(2, 3\)",
    ),
    "mask wrong shape": (
        lambda: rl.temporal_softmax_loss(SCORES, Y, MASK.T),
        ValueError,
        r"mask has shape \(3, 2\), expected \(2, 3\)",
    ),
    "NaN score": (
        lambda: rl.temporal_softmax_loss(_with(SCORES, (1, 2, 3), np.nan), Y, MASK),
        FloatingPointError,
        r"1 NaN/inf values",
    ),
    "inf score": (
        lambda: rl.temporal_softmax_loss(_with(SCORES, (0, 0, 0), np.inf), Y, MASK),
        FloatingPointError,
        r"temporal_softmax_loss: the loss is nan",
    ),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_input_raises_clear_error(name):
    call, exc, match = BAD_CALLS[name]
    with pytest.raises(exc, match=match):
        call()
