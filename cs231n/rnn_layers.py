"""Recurrent layers for image captioning, in NumPy, with hand-derived backward passes.

The step functions keep the assignment's signatures. The sequence functions do not call them:
they project every timestep's input with one matrix product, evaluate the fused gates of each
step with the same cell code as the step functions (so their forward values are the step-wise
ones), and accumulate the weight gradients with one product over all timesteps after the
backward sweep. Only the recurrence ``h_{t-1} -> h_t`` stays a Python loop.

Conventions (the assignment's): x is (N, T, D), hidden states are (N, T, H); the LSTM's fused
pre-activation ``a = x Wx + h Wh + b`` has width 4H ordered input, forget, output, block gate
(i, f, o, g); the initial cell state is zero.
"""

from __future__ import annotations

import numpy as np

from ._checks import Shapes, require_indices, same_shape
from .layers import affine_backward, affine_forward  # noqa: F401  (the assignment re-exports them)


def sigmoid(x):
    """Numerically stable logistic function: ``exp(min(x, 0)) / (1 + exp(-|x|))`` never
    overflows and keeps full relative precision in both tails (sigmoid(-40) is 4.2e-18, not 0).
    """
    x = np.asarray(x)
    return np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x)))


def _project_inputs(x, Wx):
    """``x @ Wx`` for all timesteps at once: (N, T, D) @ (D, K) -> (N, T, K)."""
    N, T, D = x.shape
    return (x.reshape(N * T, D) @ Wx).reshape(N, T, Wx.shape[1])


def _stack_previous(h0, h):
    """(N, T, H) hidden states fed into each step: h0, h_1, ..., h_{T-1}."""
    return np.concatenate((h0[:, None, :], h[:, :-1, :]), axis=1)


def _weight_grads(x, prev_h, da, Wx, Wh):
    """dx, dWx, dWh, db for the input and recurrent products, each one matrix product over all
    timesteps. x: (N, T, D), prev_h: (N, T, H), da: (N, T, K)."""
    N, T, D = x.shape
    K = da.shape[2]
    da2 = da.reshape(N * T, K)
    dx = (da2 @ Wx.T).reshape(N, T, D)
    dWx = x.reshape(N * T, D).T @ da2
    dWh = prev_h.reshape(N * T, prev_h.shape[2]).T @ da2
    db = da2.sum(axis=0)
    return dx, dWx, dWh, db


# ----------------------------------------------------------------------------------------------
# Vanilla RNN


def _check_rnn_args(func, x, h, Wx, Wh, b, gate="H"):
    """Shapes of a step (x (N, D), prev_h) or a sequence (x (N, T, D), h0); gate is H or 4H."""
    shapes = Shapes(func)
    step = "step" in func
    shapes.floats(x=(x, ("N", "D") if step else ("N", "T", "D")))
    shapes.floats(**{"prev_h" if step else "h0": (h, ("N", "H"))})
    shapes.floats(Wx=(Wx, ("D", gate)), Wh=(Wh, ("H", gate)), b=(b, (gate,)))
    if not step and x.shape[1] == 0:
        raise ValueError(f"{func}: x has shape {x.shape}: a sequence needs at least 1 timestep")
    return shapes


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step: ``next_h = tanh(x Wx + prev_h Wh + b)``.

    x: (N, D), prev_h: (N, H), Wx: (D, H), Wh: (H, H), b: (H,). Returns ``(next_h, cache)``.
    """
    _check_rnn_args("rnn_step_forward", x, prev_h, Wx, Wh, b)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Backward of :func:`rnn_step_forward`: returns ``(dx, dprev_h, dWx, dWh, db)``."""
    x, prev_h, Wx, Wh, next_h = cache
    same_shape("rnn_step_backward", "dnext_h", dnext_h, next_h.shape, "(N, H) as next_h")
    da = dnext_h * (1 - next_h * next_h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence.

    x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,). Returns ``(h, cache)`` with
    h: (N, T, H) the hidden state after every step.
    """
    _check_rnn_args("rnn_forward", x, h0, Wx, Wh, b)
    N, T, _ = x.shape
    xw = _project_inputs(x, Wx)
    h = np.empty((N, T, h0.shape[1]), dtype=np.result_type(xw, h0, Wh, b))
    prev_h = h0
    for t in range(T):
        a = xw[:, t] + prev_h @ Wh
        a += b
        np.tanh(a, out=a)
        h[:, t] = a
        prev_h = a
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    """Backward of :func:`rnn_forward` given upstream ``dh`` (N, T, H) on every hidden state.

    Returns ``(dx, dh0, dWx, dWh, db)``.
    """
    x, h0, Wx, Wh, h = cache
    same_shape("rnn_backward", "dh", dh, h.shape, "(N, T, H) as h")
    T = h.shape[1]
    dtanh = 1 - h * h
    da = np.empty_like(dtanh)
    dprev_h = np.zeros_like(h0)
    Wh_T = np.ascontiguousarray(Wh.T)  # a contiguous operand makes the per-step product faster
    for t in reversed(range(T)):
        np.multiply(dh[:, t] + dprev_h, dtanh[:, t], out=da[:, t])
        dprev_h = da[:, t] @ Wh_T
    dx, dWx, dWh, db = _weight_grads(x, _stack_previous(h0, h), da, Wx, Wh)
    return dx, dprev_h, dWx, dWh, db


# ----------------------------------------------------------------------------------------------
# LSTM


def _activate_gates(a):
    """In place: the fused pre-activation a (N, 4H) becomes [sigmoid(i, f, o), tanh(g)].

    The gate sigmoid is ``(1 + tanh(x / 2)) / 2``: one vectorised tanh instead of two
    exponentials, accurate to an ulp of 0.5 (a gate needs absolute, not relative, precision).
    """
    H = a.shape[1] // 4
    ifo = a[:, : 3 * H]
    ifo *= 0.5
    np.tanh(ifo, out=ifo)
    ifo *= 0.5
    ifo += 0.5
    np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
    return a


def _lstm_state(gates, prev_c):
    """``(next_c, tanh_c, next_h)`` from activated gates (N, 4H) and the previous cell state."""
    H = gates.shape[1] // 4
    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))
    next_c = f * prev_c
    next_c += i * g
    tanh_c = np.tanh(next_c)
    return next_c, tanh_c, o * tanh_c


def _lstm_cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c, out=None):
    """Gradient on the fused pre-activation, ``da`` (N, 4H), and on the previous cell state.

    ``out``, when given, receives da (e.g. one timestep's slice of a preallocated buffer).
    """
    H = tanh_c.shape[1]
    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))
    dc = tanh_c * tanh_c
    np.subtract(1, dc, out=dc)
    dc *= o
    dc *= dnext_h
    dc += dnext_c
    da = np.empty(gates.shape, dtype=np.result_type(dc, gates)) if out is None else out
    np.multiply(dc, g * i * (1 - i), out=da[:, :H])
    np.multiply(dc, prev_c * f * (1 - f), out=da[:, H : 2 * H])
    np.multiply(dnext_h, tanh_c * o * (1 - o), out=da[:, 2 * H : 3 * H])
    np.multiply(dc, i * (1 - g * g), out=da[:, 3 * H :])
    dc *= f
    return da, dc


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step.

    x: (N, D), prev_h and prev_c: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns ``(next_h, next_c, cache)``.
    """
    shapes = _check_rnn_args("lstm_step_forward", x, prev_h, Wx, Wh, b, gate="4H")
    shapes.floats(prev_c=(prev_c, ("N", "H")))
    gates = _activate_gates(x @ Wx + prev_h @ Wh + b)
    next_c, tanh_c, next_h = _lstm_state(gates, prev_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, gates, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward of :func:`lstm_step_forward`: returns ``(dx, dprev_h, dprev_c, dWx, dWh, db)``."""
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    for name, grad in (("dnext_h", dnext_h), ("dnext_c", dnext_c)):
        same_shape("lstm_step_backward", name, grad, tanh_c.shape, "(N, H) as the state")
    da, dprev_c = _lstm_cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    x: (N, T, D), h0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns ``(h, cache)`` with h: (N, T, H).
    """
    _check_rnn_args("lstm_forward", x, h0, Wx, Wh, b, gate="4H")
    N, T, _ = x.shape
    H = h0.shape[1]
    xw = _project_inputs(x, Wx)
    dtype = np.result_type(xw, h0, Wh, b)
    h = np.empty((N, T, H), dtype)
    c = np.empty((N, T, H), dtype)
    tanh_c = np.empty((N, T, H), dtype)
    gates = np.empty((N, T, 4 * H), dtype)  # activated i, f, o, g
    prev_h, prev_c = h0, np.zeros_like(h0, dtype=dtype)
    for t in range(T):
        # The step function's arithmetic, in the same order, on the same contiguous layout.
        a = xw[:, t] + prev_h @ Wh
        a += b
        gates[:, t] = _activate_gates(a)
        prev_c, tanh_c[:, t], prev_h = _lstm_state(a, prev_c)
        c[:, t], h[:, t] = prev_c, prev_h
    return h, (x, h0, Wx, Wh, gates, c, tanh_c, h)


def lstm_backward(dh, cache):
    """Backward of :func:`lstm_forward` given upstream ``dh`` (N, T, H) on every hidden state.

    Returns ``(dx, dh0, dWx, dWh, db)``.
    """
    x, h0, Wx, Wh, gates, c, tanh_c, h = cache
    same_shape("lstm_backward", "dh", dh, h.shape, "(N, T, H) as h")
    N, T, H = h.shape
    da = np.empty_like(gates)
    dprev_h = np.zeros_like(h0)
    dprev_c = np.zeros_like(h0)
    c0 = np.zeros_like(h0)
    Wh_T = np.ascontiguousarray(Wh.T)  # a contiguous operand makes the per-step product faster
    for t in reversed(range(T)):
        _, dprev_c = _lstm_cell_backward(
            dh[:, t] + dprev_h,
            dprev_c,
            gates[:, t],
            c[:, t - 1] if t > 0 else c0,
            tanh_c[:, t],
            out=da[:, t],
        )
        dprev_h = da[:, t] @ Wh_T
    dx, dWx, dWh, db = _weight_grads(x, _stack_previous(h0, h), da, Wx, Wh)
    return dx, dprev_h, dWx, dWh, db


# ----------------------------------------------------------------------------------------------
# Word embedding, temporal affine, temporal softmax loss


def word_embedding_forward(x, W):
    """Look up word vectors: x (N, T) integer ids in [0, V), W (V, D) -> out (N, T, D)."""
    Shapes("word_embedding_forward").floats(W=(W, ("V", "D")))
    x = require_indices("word_embedding_forward", "x", x, W.shape[0])
    return W[x], (x, W.shape)


def word_embedding_backward(dout, cache):
    """Gradient of the embedding matrix: dW (V, D), summing dout over repeated words."""
    x, W_shape = cache
    same_shape("word_embedding_backward", "dout", dout, x.shape + W_shape[1:], "(N, T, D) as out")
    dW = np.zeros(W_shape, dtype=dout.dtype)
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep: x (N, T, D), w (D, M), b (M,) -> (N, T, M)."""
    Shapes("temporal_affine_forward").floats(
        x=(x, ("N", "T", "D")), w=(w, ("D", "M")), b=(b, ("M",))
    )
    out = _project_inputs(x, w)
    out += b
    return out, (x, w, b, out)


def temporal_affine_backward(dout, cache):
    """Backward of :func:`temporal_affine_forward`: returns ``(dx, dw, db)``."""
    x, w, b, out = cache
    same_shape("temporal_affine_backward", "dout", dout, out.shape, "(N, T, M) as out")
    N, T, D = x.shape
    M = w.shape[1]
    dout2 = dout.reshape(N * T, M)
    dx = (dout2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ dout2
    db = dout2.sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy over a vocabulary at every timestep, masked.

    x: (N, T, V) scores, y: (N, T) targets in [0, V), mask: (N, T) booleans (or 0/1) saying
    which positions count. The loss is summed over the counted positions and divided by N
    (not by T or by the number of counted positions). Returns ``(loss, dx)``.
    """
    func = "temporal_softmax_loss"
    Shapes(func).floats(x=(x, ("N", "T", "V")))
    N, T, V = x.shape
    y = require_indices(func, "y", y, V)
    same_shape(func, "y", y, (N, T), "(N, T) targets for x")
    mask = np.asarray(mask)
    same_shape(func, "mask", mask, (N, T), "(N, T) as y")

    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    rows = np.arange(N * T)
    weight = mask.reshape(N * T).astype(x.dtype) / N

    shifted = x_flat - x_flat.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    z = probs.sum(axis=1, keepdims=True)
    log_p_target = shifted[rows, y_flat] - np.log(z[:, 0])
    loss = -float(np.dot(weight, log_p_target))
    if not np.isfinite(loss):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise FloatingPointError(
            f"{func}: the loss is {loss}; the scores x {x.shape} hold {bad} NaN/inf values "
            "(a diverging model? try a smaller learning rate)"
        )

    dx = probs
    dx /= z
    dx[rows, y_flat] -= 1
    dx *= weight[:, None]
    if verbose:
        print("dx_flat: ", dx.shape)
    return loss, dx.reshape(N, T, V)
