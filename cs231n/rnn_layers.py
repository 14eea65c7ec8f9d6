"""Recurrent layers for image captioning, in NumPy, with hand-derived backward passes.

The step functions keep the assignment's signatures. The sequence functions do not call them:
they project every timestep's input with one matrix product, evaluate the fused gates of each
step with the same cell code as the step functions (so their forward values are the step-wise
ones), and accumulate the weight gradients with one product over all timesteps after the
backward sweep. Only the recurrence ``h_{t-1} -> h_t`` stays a Python loop. Internally they
run on packed, time-major batches, each step held feature-major ((H or 4H, n_t) blocks, so the
LSTM gates are contiguous), which also serve variable-length sequences
(:func:`pack_sequences`, ``*_packed``): CaptioningRNN uses them to skip caption padding.

Conventions (the assignment's): x is (N, T, D), hidden states are (N, T, H); the LSTM's fused
pre-activation ``a = x Wx + h Wh + b`` has width 4H ordered input, forget, output, block gate
(i, f, o, g); the initial cell state is zero.
"""

from __future__ import annotations

import numpy as np

from .core.checks import Shapes, require_indices, same_shape
from .layers import affine_backward, affine_forward  # noqa: F401  (the assignment re-exports them)


def sigmoid(x):
    """Numerically stable logistic function: ``exp(min(x, 0)) / (1 + exp(-|x|))`` never
    overflows and keeps full relative precision in both tails (sigmoid(-40) is 4.2e-18, not 0).
    """
    x = np.asarray(x)
    return np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x)))


# ----------------------------------------------------------------------------------------------
# Packed sequences (beyond the assignment; the sequence functions below are built on them)
#
# A packed batch stores the timesteps of sequences sorted by decreasing length, time-major:
# step t's rows are x_p[offsets[t] : offsets[t] + batch_sizes[t]], one per sequence still
# running, sequence i (in sorted order) at row offsets[t] + i. It is PyTorch's PackedSequence
# layout. Full-length batches are the special case batch_sizes = [N] * T; variable-length
# captions skip the work on padding, which cannot affect the loss.


def pack_sequences(mask):
    """A packing plan for the (N, T) positions where ``mask`` is true.

    A sequence's length is one past its last true position: its later steps cannot influence
    anything that counts (the recurrence only runs forward). Returns ``(order, batch_sizes,
    seq_idx, time_idx)``: the sequences sorted by decreasing length, the number running at each
    step, and for every packed row its sequence and timestep (``x[seq_idx, time_idx]`` packs an
    (N, T, ...) array).
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"pack_sequences: mask must be (N, T), got shape {mask.shape}")
    N, T = mask.shape
    lengths = np.where(mask.any(axis=1), T - np.argmax(mask[:, ::-1], axis=1), 0)
    order = np.argsort(-lengths, kind="stable")
    steps = lengths[order[0]] if N else 0
    batch_sizes = np.count_nonzero(lengths[None, :] > np.arange(steps)[:, None], axis=1)
    time_idx = np.repeat(np.arange(steps), batch_sizes)
    seq_idx = np.concatenate([order[:n] for n in batch_sizes]) if steps else time_idx
    return order, batch_sizes, seq_idx, time_idx


def _check_packed(func, x_p, batch_sizes, h0, Wx, Wh, b, gate):
    shapes = Shapes(func)
    shapes.floats(x_p=(x_p, ("S", "D")), h0=(h0, ("N", "H")))
    shapes.floats(Wx=(Wx, ("D", gate)), Wh=(Wh, ("H", gate)), b=(b, (gate,)))
    bs = np.asarray(batch_sizes)
    if bs.ndim != 1 or bs.size == 0 or not np.issubdtype(bs.dtype, np.integer):
        raise ValueError(f"{func}: batch_sizes must be a non-empty 1-D integer array, got {bs!r}")
    if bs.min() < 1 or np.any(np.diff(bs) > 0) or bs[0] > h0.shape[0]:
        raise ValueError(
            f"{func}: batch_sizes {bs.tolist()} must be positive, non-increasing and at most "
            f"N={h0.shape[0]} (the rows of h0)"
        )
    if bs.sum() != x_p.shape[0]:
        raise ValueError(f"{func}: batch_sizes sum to {bs.sum()} but x_p has {x_p.shape[0]} rows")
    return [int(n) for n in bs]


def _step_blocks(buf, width, offsets, batch_sizes):
    """Per-step (width, n_t) C-contiguous views of a flat buffer that holds the steps in turn."""
    return [
        buf[width * offsets[t] : width * offsets[t + 1]].reshape(width, n)
        for t, n in enumerate(batch_sizes)
    ]


def _sequence_forward(cell, x_p, batch_sizes, h0, Wx, Wh, b):
    """The recurrence over a packed batch, for cell "rnn" or "lstm".

    Internally feature-major: step t's pre-activations are a C-contiguous (G, n_t) block
    ``Wh^T h_{t-1}^T + (x_t Wx + b)^T`` (G = H or 4H), so each LSTM gate is a contiguous
    (H, n_t) slab rather than a strided column band of an (n_t, 4H) matrix: the elementwise
    cell arithmetic runs on contiguous memory, about twice as fast.
    The hidden states come back as a flat buffer of (H, n_t) blocks: see :func:`_packed_rows`.
    """
    offsets = np.concatenate(([0], np.cumsum(batch_sizes)))
    dtype = np.result_type(x_p, Wx, h0, Wh, b)
    S, H, G = x_p.shape[0], h0.shape[1], Wh.shape[1]
    lstm = cell == "lstm"
    # Every timestep's input projection in one product, bias included: (G, S).
    x_proj = np.matmul(Wx.T, x_p.T).astype(dtype, copy=False)
    x_proj += b.astype(dtype, copy=False)[:, None]
    Wh_T = Wh.astype(dtype, copy=False).T  # a view: a transposing copy costs 4 steps' time
    act = np.empty(G * S, dtype)  # each step's pre-activation, then (in place) its activation
    gates = _step_blocks(act, G, offsets, batch_sizes)
    if lstm:
        c, tanh_c, h = (np.empty(H * S, dtype) for _ in range(3))
        c_t, tanh_c_t, h_t = (_step_blocks(buf, H, offsets, batch_sizes) for buf in (c, tanh_c, h))
    else:
        h, h_t = act, gates
    prev_h = np.ascontiguousarray(h0.T, dtype=dtype)  # (H, N)
    prev_c = np.zeros_like(prev_h)
    for t, n in enumerate(batch_sizes):
        # The step function's arithmetic: (x Wx + b) + h Wh, then the cell, in the same order.
        a = np.matmul(Wh_T, prev_h[:, :n], out=gates[t])
        a += x_proj[:, offsets[t] : offsets[t + 1]]
        if lstm:
            _activate_gates(a, axis=0)
            prev_c, _, prev_h = _lstm_state(a, prev_c[:, :n], c_t[t], tanh_c_t[t], h_t[t], axis=0)
        else:
            prev_h = np.tanh(a, out=a)
    cache = (cell, x_p, batch_sizes, offsets, h0, Wx, Wh, gates, c_t if lstm else None)
    return h, cache + (tanh_c_t if lstm else None, h_t)


def _packed_rows(flat, blocks, batch_sizes):
    """(S, K) packed rows from the per-step feature-major (K, n_t) ``blocks`` of ``flat``."""
    if all(n == batch_sizes[0] for n in batch_sizes):  # full length: one transposing copy
        T, N = len(batch_sizes), batch_sizes[0]
        return np.ascontiguousarray(flat.reshape(T, -1, N).transpose(0, 2, 1)).reshape(T * N, -1)
    return np.concatenate([block.T for block in blocks])


def _sequence_backward(dh_steps, cache):
    """Backward of :func:`_sequence_forward`: ``(dx_p, dh0, dWx, dWh, db)``.

    dh_steps: for every step t, the (n_t, H) upstream gradient on its hidden states (views are
    fine). The gradient on the pre-activations is gathered feature-major into one (G, S)
    matrix, so the input and weight gradients are one product each over all timesteps.
    """
    cell, x_p, batch_sizes, offsets, h0, Wx, Wh, gates, c, tanh_c, h = cache
    lstm = cell == "lstm"
    S, (N, H), G = x_p.shape[0], h0.shape, Wh.shape[1]
    dtype = gates[0].dtype
    da = np.empty((G, S), dtype)
    work = np.empty(G * N, dtype)  # the current step's (G, n) block, contiguous
    dnext_h = np.empty(H * N, dtype)
    dprev_h = np.zeros((H, N), dtype)
    dprev_c = np.zeros_like(dprev_h)
    zeros = np.zeros_like(dprev_h)
    for t in reversed(range(len(batch_sizes))):
        n, cols = batch_sizes[t], slice(offsets[t], offsets[t + 1])
        dh_t = np.add(dh_steps[t].T, dprev_h[:, :n], out=dnext_h[: H * n].reshape(H, n))
        d = work[: G * n].reshape(G, n)
        if lstm:
            prev_c = c[t - 1][:, :n] if t else zeros[:, :n]
            _, dc_dh = _lstm_local_grads(gates[t], prev_c, tanh_c[t], out=d, axis=0)
            f = gates[t][H : 2 * H]
            dprev_c[:, :n] = _lstm_apply_upstream(d, dh_t, dprev_c[:, :n], dc_dh, f, axis=0)
        else:  # tanh' = 1 - h^2
            np.multiply(h[t], h[t], out=d)
            np.subtract(1, d, out=d)
            d *= dh_t
        np.matmul(Wh, d, out=dprev_h[:, :n])
        da[:, cols] = d

    # Input and weight gradients: one product each over all timesteps.
    h_prev = np.empty((H, S), dtype)  # the state each packed row's step started from
    h_prev[:, : batch_sizes[0]] = h0[: batch_sizes[0]].T
    for t in range(1, len(batch_sizes)):
        h_prev[:, offsets[t] : offsets[t + 1]] = h[t - 1][:, : batch_sizes[t]]
    dx_p = np.matmul(da.T, Wx.T)
    return dx_p, np.ascontiguousarray(dprev_h.T), x_p.T @ da.T, h_prev @ da.T, da.sum(axis=1)


def rnn_forward_packed(x_p, batch_sizes, h0, Wx, Wh, b):
    """:func:`rnn_forward` over a packed batch (see :func:`pack_sequences`).

    x_p: (S, D) packed inputs, batch_sizes: (T,) non-increasing, h0: (N, H) in the packed
    (sorted) order. Returns ``(h_p, cache)`` with h_p: (S, H).
    """
    bs = _check_packed("rnn_forward_packed", x_p, batch_sizes, h0, Wx, Wh, b, "H")
    h, cache = _sequence_forward("rnn", x_p, bs, h0, Wx, Wh, b)
    return _packed_rows(h, cache[-1], bs), cache


def lstm_forward_packed(x_p, batch_sizes, h0, Wx, Wh, b):
    """:func:`lstm_forward` over a packed batch; arguments as :func:`rnn_forward_packed`."""
    bs = _check_packed("lstm_forward_packed", x_p, batch_sizes, h0, Wx, Wh, b, "4H")
    h, cache = _sequence_forward("lstm", x_p, bs, h0, Wx, Wh, b)
    return _packed_rows(h, cache[-1], bs), cache


def sequence_backward_packed(dh_p, cache):
    """Backward of :func:`rnn_forward_packed` or :func:`lstm_forward_packed`.

    dh_p: (S, H) upstream gradient on every packed hidden state. Returns
    ``(dx_p, dh0, dWx, dWh, db)``.
    """
    S, H = cache[1].shape[0], cache[4].shape[1]
    same_shape("sequence_backward_packed", "dh_p", dh_p, (S, H), "(S, H) as h_p")
    offsets = cache[3]
    steps = [dh_p[offsets[t] : offsets[t + 1]] for t in range(len(cache[2]))]
    return _sequence_backward(steps, cache)


rnn_backward_packed = lstm_backward_packed = sequence_backward_packed


def _to_batch_major(x_p, N, T):
    return np.ascontiguousarray(x_p.reshape(T, N, -1).transpose(1, 0, 2))


def _full_forward(cell, func, x, h0, Wx, Wh, b):
    _check_rnn_args(func, x, h0, Wx, Wh, b, gate="4H" if cell == "lstm" else "H")
    N, T, D = x.shape
    x_p = x.transpose(1, 0, 2).reshape(T * N, D)  # time-major packed rows (a copy)
    h, cache = _sequence_forward(cell, x_p, [N] * T, h0, Wx, Wh, b)
    # h holds T blocks (H, N): (T, H, N) -> (N, T, H) in one transposing copy.
    return np.ascontiguousarray(h.reshape(T, -1, N).transpose(2, 0, 1)), (cache, (N, T))


def _full_backward(func, dh, cache):
    cache, (N, T) = cache
    same_shape(func, "dh", dh, (N, T, cache[4].shape[1]), "(N, T, H) as h")
    dx_p, dh0, dWx, dWh, db = _sequence_backward([dh[:, t] for t in range(T)], cache)
    return _to_batch_major(dx_p, N, T), dh0, dWx, dWh, db


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
    next_h = np.tanh(x @ Wx + b + prev_h @ Wh)
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
    return _full_forward("rnn", "rnn_forward", x, h0, Wx, Wh, b)


def rnn_backward(dh, cache):
    """Backward of :func:`rnn_forward` given upstream ``dh`` (N, T, H) on every hidden state.

    Returns ``(dx, dh0, dWx, dWh, db)``.
    """
    return _full_backward("rnn_backward", dh, cache)


# ----------------------------------------------------------------------------------------------
# LSTM


def _gate_views(a, axis):
    """The i, f, o, g blocks (and i, f, o together) of fused LSTM values along ``axis``: 1 for
    the step functions' (N, 4H) layout, 0 for the sequence functions' (4H, N) blocks."""
    H = a.shape[axis] // 4

    def cut(start, stop):
        return a[start:stop] if axis == 0 else a[:, start:stop]

    return cut(0, 3 * H), [cut(k * H, (k + 1) * H) for k in range(4)]


def _activate_gates(a, axis=1):
    """In place: the fused pre-activation a (N, 4H) becomes [sigmoid(i, f, o), tanh(g)].

    The gate sigmoid is ``(1 + tanh(x / 2)) / 2``: one vectorised tanh instead of two
    exponentials, accurate to an ulp of 0.5 (a gate needs absolute, not relative, precision).
    ``axis=0``: a is (4H, N), the gates stacked along the first axis.
    """
    ifo, (_, _, _, g) = _gate_views(a, axis)
    ifo *= 0.5
    np.tanh(ifo, out=ifo)
    ifo *= 0.5
    ifo += 0.5
    np.tanh(g, out=g)
    return a


def _lstm_state(gates, prev_c, c=None, tanh_c=None, h=None, axis=1):
    """``(next_c, tanh(next_c), next_h)`` from activated gates (N, 4H) and the previous cell
    state; written into ``c``, ``tanh_c``, ``h`` when given. ``axis`` as :func:`_activate_gates`."""
    _, (i, f, o, g) = _gate_views(gates, axis)
    c = np.multiply(f, prev_c, out=c)
    c += i * g
    tanh_c = np.tanh(c, out=tanh_c)
    return c, tanh_c, np.multiply(o, tanh_c, out=h)


def _lstm_local_grads(gates, prev_c, tanh_c, out=None, axis=1):
    """The part of the LSTM backward that needs no upstream gradient (into ``out`` if given).

    Returns ``local`` (N, 4H) and ``dc_dh`` (N, H) such that, given the upstream dnext_h and
    dnext_c, ``dc = dnext_c + dnext_h * dc_dh`` and the gradient on the fused pre-activation is
    ``local`` times (dc, dc, dnext_h, dc) block by block (see :func:`_lstm_apply_upstream`).
    ``axis`` as :func:`_activate_gates` (then everything is transposed).
    """
    ifo, (i, _, o, g) = _gate_views(gates, axis)
    local = np.empty_like(gates) if out is None else out
    l_ifo, (l_i, l_f, l_o, l_g) = _gate_views(local, axis)
    np.subtract(1, ifo, out=l_ifo)
    l_ifo *= ifo  # sigmoid' = s(1 - s) for the i, f, o blocks at once
    l_i *= g  # d next_c / d a_i
    l_f *= prev_c  # d next_c / d a_f
    l_o *= tanh_c  # d next_h / d a_o
    np.multiply(g, g, out=l_g)
    np.subtract(1, l_g, out=l_g)
    l_g *= i  # d next_c / d a_g = i tanh'(a_g) = i (1 - g^2)
    dc_dh = tanh_c * tanh_c
    np.subtract(1, dc_dh, out=dc_dh)
    dc_dh *= o  # d next_h / d next_c = o (1 - tanh_c^2)
    return local, dc_dh


def _lstm_apply_upstream(da, dnext_h, dnext_c, dc_dh, f, axis=1):
    """In place: ``da`` holds the local factors and becomes d loss / d a. Returns dprev_c."""
    _, (d_i, d_f, d_o, d_g) = _gate_views(da, axis)
    dc = dnext_h * dc_dh
    dc += dnext_c
    d_i *= dc
    d_f *= dc
    d_o *= dnext_h
    d_g *= dc
    dc *= f
    return dc


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step.

    x: (N, D), prev_h and prev_c: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns ``(next_h, next_c, cache)``.
    """
    shapes = _check_rnn_args("lstm_step_forward", x, prev_h, Wx, Wh, b, gate="4H")
    shapes.floats(prev_c=(prev_c, ("N", "H")))
    gates = _activate_gates(x @ Wx + b + prev_h @ Wh)
    next_c, tanh_c, next_h = _lstm_state(gates, prev_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, gates, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward of :func:`lstm_step_forward`: returns ``(dx, dprev_h, dprev_c, dWx, dWh, db)``."""
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    for name, grad in (("dnext_h", dnext_h), ("dnext_c", dnext_c)):
        same_shape("lstm_step_backward", name, grad, tanh_c.shape, "(N, H) as the state")
    H = tanh_c.shape[1]
    da, dc_dh = _lstm_local_grads(gates, prev_c, tanh_c)
    dprev_c = _lstm_apply_upstream(da, dnext_h, dnext_c, dc_dh, gates[:, H : 2 * H])
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    x: (N, T, D), h0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns ``(h, cache)`` with h: (N, T, H).
    """
    return _full_forward("lstm", "lstm_forward", x, h0, Wx, Wh, b)


def lstm_backward(dh, cache):
    """Backward of :func:`lstm_forward` given upstream ``dh`` (N, T, H) on every hidden state.

    Returns ``(dx, dh0, dWx, dWh, db)``.
    """
    return _full_backward("lstm_backward", dh, cache)


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
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w).reshape(N, T, w.shape[1])
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

    weight = mask.reshape(N * T).astype(x.dtype) / N
    loss, dx = softmax_loss_rows(x.reshape(N * T, V), y.reshape(N * T), weight, func)
    if verbose:
        print("dx_flat: ", dx.shape)
    return loss, dx.reshape(N, T, V)


def softmax_loss_rows(scores, y, weight, func="softmax_loss_rows"):
    """Weighted softmax cross-entropy over rows: ``-sum_r weight[r] * log p_r[y[r]]``.

    scores: (R, V), y: (R,) valid targets, weight: (R,). Returns ``(loss, dscores)``; raises
    FloatingPointError naming ``func`` when the loss is not finite.
    """
    rows = np.arange(scores.shape[0])
    probs = scores - scores.max(axis=1, keepdims=True)  # shifted: exp cannot overflow
    log_p_target = probs[rows, y]
    np.exp(probs, out=probs)
    z = probs.sum(axis=1)
    log_p_target -= np.log(z)
    loss = -float(np.dot(weight, log_p_target))
    if not np.isfinite(loss):
        bad = int(np.count_nonzero(~np.isfinite(scores)))
        raise FloatingPointError(
            f"{func}: the loss is {loss}; the scores {scores.shape} hold {bad} NaN/inf values "
            "(a diverging model? try a smaller learning rate)"
        )
    # d loss / d scores = weight * (softmax - onehot(y)), in one pass over the scores.
    dscores = probs
    dscores *= (weight / z)[:, None]
    dscores[rows, y] -= weight
    return loss, dscores
