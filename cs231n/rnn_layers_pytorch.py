"""Recurrent layers for image captioning in PyTorch: the course's ``cs231n/rnn_layers_pytorch.py``
(Assignment 2, 2025 and 2026 editions, where RNN captioning moved from NumPy to PyTorch).

Each function takes torch tensors and returns its output alone (no cache): autograd does the
backward pass. Names, signatures and conventions are the course's, and the same as the NumPy
twin :mod:`cs231n.rnn_layers`: x is (N, T, D), hidden states (N, T, H), the LSTM's fused
pre-activation ``a = x Wx + b + h Wh`` has width 4H ordered input, forget, output, block gate
(i, f, o, g), the initial cell state is zero, and the temporal softmax loss is summed over the
counted positions and divided by N. On the same float64 weights both give the same values, and
autograd's gradients equal the twin's hand-written backward passes
(tests/test_rnn_layers_pytorch.py).

Beyond the course: every function checks its arguments first and raises one clear error naming
the function, the argument and the shapes (the twin's :class:`cs231n.core.checks.Shapes` rules);
floating-point inputs must share one dtype and one device; word ids may be any integer dtype and
must lie in ``[0, V)``; a loss that is not finite raises FloatingPointError. The sequence
functions project every timestep's input with one matrix product before the recurrence.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from .core.checks import Shapes

__all__ = [
    "affine_forward",
    "lstm_forward",
    "lstm_step_forward",
    "rnn_forward",
    "rnn_step_forward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "torch",  # the course's module imports torch, so its star import gives torch
    "word_embedding_forward",
]


# ----------------------------------------------------------------------------------------------
# Argument checks: the NumPy twin's symbolic shapes, for tensors


class TensorShapes(Shapes):
    """:class:`cs231n.core.checks.Shapes` for torch tensors: the same symbolic shapes
    (``("N", "T", "D")``, ``("H", "4H")``) and messages; :meth:`floats` also requires one
    floating dtype and one device across every floating argument it sees."""

    def __init__(self, func: str):
        super().__init__(func)
        self.first: tuple[str, torch.Tensor] | None = None

    def check(self, name: str, arr, spec) -> None:
        if not torch.is_tensor(arr):
            raise TypeError(f"{self.func}: {name} must be a torch tensor, got {type(arr).__name__}")
        # A zero-stride view with the tensor's shape: the shape rules run, nothing is copied.
        super().check(name, np.broadcast_to(np.empty((), np.int8), tuple(arr.shape)), spec)

    def floats(self, **tensors) -> None:
        """``floats(x=(x, ("N", "D")), ...)``: shapes, a floating dtype, one dtype and device."""
        for name, (t, spec) in tensors.items():
            self.check(name, t, spec)
            self.same_kind(name, t)

    def same_kind(self, name: str, t: torch.Tensor) -> None:
        """``t`` is floating and has the dtype and device of the first floating argument."""
        if not t.is_floating_point():
            raise TypeError(f"{self.func}: {name} must be a floating-point tensor, got {t.dtype}")
        if self.first is None:
            self.first = (name, t)
            return
        first_name, first = self.first
        if t.dtype != first.dtype:
            raise TypeError(
                f"{self.func}: {name} is {t.dtype} but {first_name} is {first.dtype}; every "
                "floating-point input must have the same dtype"
            )
        if t.device != first.device:
            raise ValueError(
                f"{self.func}: {name} is on {t.device} but {first_name} is on {first.device}; "
                "every input must be on the same device"
            )


def word_ids(func: str, name: str, ids, upper: int, device=None) -> torch.Tensor:
    """Integer word ids in ``[0, upper)`` as an int64 tensor (on ``device`` if given). A tensor
    of any integer dtype is accepted (booleans and uint8 are not: torch reads them as masks)."""
    if not torch.is_tensor(ids):
        raise TypeError(f"{func}: {name} must be a torch tensor, got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype in (torch.bool, torch.uint8):
        raise TypeError(f"{func}: {name} must hold integer word ids, got dtype {ids.dtype}")
    if ids.numel():
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= upper:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{func}: {name} holds word id {bad}, outside the vocabulary [0, {upper})"
            )
    return ids.to(device=device, dtype=torch.long)


def _check_cell(func, x, h, Wx, Wh, b, gate, c=None):
    """A step (x (N, D), prev_h[, prev_c]) or a sequence (x (N, T, D), h0); gate is H or 4H."""
    shapes = TensorShapes(func)
    step = "step" in func
    shapes.floats(x=(x, ("N", "D") if step else ("N", "T", "D")))
    shapes.floats(**{"prev_h" if step else "h0": (h, ("N", "H"))})
    if c is not None:
        shapes.floats(prev_c=(c, ("N", "H")))
    shapes.floats(Wx=(Wx, ("D", gate)), Wh=(Wh, ("H", gate)), b=(b, (gate,)))
    if not step and x.shape[1] == 0:
        raise ValueError(
            f"{func}: x has shape {tuple(x.shape)}: a sequence needs at least 1 timestep"
        )


# ----------------------------------------------------------------------------------------------
# The cells, unchecked (the public functions check once, then run these)


def _rnn_cell(xw_b, prev_h, Wh):
    """``tanh(x Wx + b + prev_h Wh)`` given ``xw_b = x Wx + b``."""
    return torch.tanh(xw_b + prev_h @ Wh)


def _lstm_cell(xw_b, prev_h, prev_c, Wh):
    """One LSTM step given ``xw_b = x Wx + b``: returns ``(next_h, next_c)``."""
    a = xw_b + prev_h @ Wh
    H = prev_h.shape[1]
    i, f, o = torch.sigmoid(a[:, : 3 * H]).split(H, dim=1)
    g = torch.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    return o * torch.tanh(next_c), next_c


# ----------------------------------------------------------------------------------------------
# The course's functions


def affine_forward(x, w, b):
    """An affine layer: x (N, d_1, ..., d_k) is flattened to (N, D) and ``x w + b`` returned,
    (N, M), for w (D, M) and b (M,)."""
    func = "affine_forward"
    shapes = TensorShapes(func)
    shapes.floats(w=(w, ("D", "M")), b=(b, ("M",)))
    if not torch.is_tensor(x):
        raise TypeError(f"{func}: x must be a torch tensor, got {type(x).__name__}")
    if x.ndim < 1 or math.prod(x.shape[1:]) != w.shape[0]:
        raise ValueError(
            f"{func}: x has shape {tuple(x.shape)}, expected (N, d_1, ..., d_k) with "
            f"d_1 * ... * d_k = D={w.shape[0]} (from w {tuple(w.shape)})"
        )
    shapes.same_kind("x", x)
    return x.reshape(x.shape[0], w.shape[0]) @ w + b


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step: ``next_h = tanh(x Wx + b + prev_h Wh)``.

    x: (N, D), prev_h: (N, H), Wx: (D, H), Wh: (H, H), b: (H,). Returns next_h (N, H).
    """
    _check_cell("rnn_step_forward", x, prev_h, Wx, Wh, b, "H")
    return _rnn_cell(x @ Wx + b, prev_h, Wh)


def rnn_forward(x, h0, Wx, Wh, b):
    """A tanh RNN over a whole sequence: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).

    Returns h (N, T, H), the hidden state after every step (each step is
    :func:`rnn_step_forward`'s arithmetic).
    """
    _check_cell("rnn_forward", x, h0, Wx, Wh, b, "H")
    xw_b = x @ Wx + b  # every timestep's input projection in one product
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = _rnn_cell(xw_b[:, t], h, Wh)
        hs.append(h)
    return torch.stack(hs, dim=1)


def word_embedding_forward(x, W):
    """Word vectors: x (N, T) integer ids in [0, V), W (V, D) -> out (N, T, D), ``W[x]``."""
    func = "word_embedding_forward"
    TensorShapes(func).floats(W=(W, ("V", "D")))
    return W[word_ids(func, "x", x, W.shape[0], W.device)]


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step.

    x: (N, D), prev_h and prev_c: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,); the gates are
    ordered i, f, o, g. Returns ``(next_h, next_c)``, each (N, H).
    """
    _check_cell("lstm_step_forward", x, prev_h, Wx, Wh, b, "4H", c=prev_c)
    return _lstm_cell(x @ Wx + b, prev_h, prev_c, Wh)


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence; the initial cell state is zero.

    x: (N, T, D), h0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,). Returns h (N, T, H); the
    cell state stays inside.
    """
    _check_cell("lstm_forward", x, h0, Wx, Wh, b, "4H")
    xw_b = x @ Wx + b
    h, c, hs = h0, torch.zeros_like(h0), []
    for t in range(x.shape[1]):
        h, c = _lstm_cell(xw_b[:, t], h, c, Wh)
        hs.append(h)
    return torch.stack(hs, dim=1)


def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep: x (N, T, D), w (D, M), b (M,) -> (N, T, M)."""
    TensorShapes("temporal_affine_forward").floats(
        x=(x, ("N", "T", "D")), w=(w, ("D", "M")), b=(b, ("M",))
    )
    N, T, D = x.shape
    return (x.reshape(N * T, D) @ w).reshape(N, T, w.shape[1]) + b


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy over a vocabulary at every timestep, masked.

    x: (N, T, V) scores, y: (N, T) targets in [0, V), mask: (N, T) booleans (or 0/1 weights)
    saying which positions count. The loss is summed over the counted positions and divided by
    N (not by T or by the number of counted positions). Returns the loss, a 0-d tensor.
    ``verbose`` prints the shape of the flattened scores (the NumPy twin prints its dx's).
    Raises FloatingPointError when the loss is not finite (NaN or inf scores).
    """
    func = "temporal_softmax_loss"
    shapes = TensorShapes(func)
    shapes.floats(x=(x, ("N", "T", "V")))
    N, T, V = x.shape
    y = word_ids(func, "y", y, V, x.device)
    shapes.check("y", y, ("N", "T"))
    shapes.check("mask", mask, ("N", "T"))
    if mask.is_complex():
        raise TypeError(f"{func}: mask must hold booleans or real weights, got {mask.dtype}")

    x_flat = x.reshape(N * T, V)
    if verbose:
        print("x_flat: ", tuple(x_flat.shape))
    losses = F.cross_entropy(x_flat, y.reshape(N * T), reduction="none")
    loss = (losses * mask.reshape(N * T).to(device=x.device, dtype=x.dtype)).sum() / max(N, 1)
    if not torch.isfinite(loss):
        bad = int((~torch.isfinite(x)).sum())
        raise FloatingPointError(
            f"{func}: the loss is {loss.item()}; the scores {tuple(x.shape)} hold {bad} NaN/inf "
            "values (a diverging model? try a smaller learning rate)"
        )
    return loss
