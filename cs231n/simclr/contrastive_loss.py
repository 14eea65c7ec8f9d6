"""SimCLR's contrastive loss (NT-Xent), the course's ``cs231n/simclr/contrastive_loss.py``.

For a batch of N images, each seen through two augmentations, ``out_left[k]`` and
``out_right[k]`` (rows of the projection head's output) form the positive pair k. With the 2N
rows stacked as ``out = [out_left; out_right]`` and ``sim`` the cosine similarity, the loss of
row i whose partner is j is

    l(i, j) = -log( exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau) )

and the batch loss is the mean of l(k, k+N) and l(k+N, k) over all k (Chen et al. 2020,
"A Simple Framework for Contrastive Learning of Visual Representations", eq. 1).

Every function takes PyTorch tensors and returns tensors on the inputs' device (``rel_error``
takes NumPy arrays). Errors: ValueError for inputs of another shape, a batch of fewer than two
pairs (a single pair has no negatives: its loss would be 0 whatever the model does) or a
temperature that is not a positive number.

Course: ``cs231n/simclr/contrastive_loss.py`` (2021-2026 editions).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _check_pairs(func: str, out_left, out_right) -> int:
    for name, t in (("out_left", out_left), ("out_right", out_right)):
        if not torch.is_tensor(t) or t.ndim != 2:
            shape = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise ValueError(f"{func}: {name} must be an (N, D) tensor, got {shape}")
    if out_left.shape != out_right.shape:
        raise ValueError(
            f"{func}: out_left {tuple(out_left.shape)} and out_right {tuple(out_right.shape)} "
            "must have the same shape (row k of each is the positive pair k)"
        )
    n = out_left.shape[0]
    if n < 2:
        raise ValueError(
            f"{func}: a batch needs at least 2 pairs, got {n} (with one pair there are no "
            "negatives and the loss is 0 whatever the model does)"
        )
    return n


def _check_tau(func: str, tau) -> float:
    try:
        value = float(tau)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{func}: tau must be a positive number, got {tau!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{func}: tau (the temperature) must be a positive number, got {value}")
    return value


def sim(z_i, z_j):
    """Cosine similarity (normalised dot product) of two vectors.

    Inputs: ``z_i``, ``z_j``: tensors of D values each (shape (D,) or (1, D)).
    Returns: a scalar tensor, ``z_i . z_j / (|z_i| |z_j|)``, in [-1, 1].
    """
    z_i, z_j = z_i.reshape(-1), z_j.reshape(-1)
    if z_i.shape != z_j.shape:
        raise ValueError(f"sim: vectors of {z_i.numel()} and {z_j.numel()} values")
    return torch.dot(z_i, z_j) / (torch.linalg.norm(z_i) * torch.linalg.norm(z_j))


def simclr_loss_naive(out_left, out_right, tau):
    """The contrastive loss over a batch, one pair at a time (the definition, with loops).

    Inputs:
    - out_left: (N, D) tensor, the projection head's output for the left views.
    - out_right: (N, D) tensor, the same for the right views; (out_left[k], out_right[k]) is a
      positive pair.
    - tau: the temperature, a positive number.

    Returns: a scalar tensor, the mean of l(k, k+N) and l(k+N, k) over the N pairs.
    """
    n = _check_pairs("simclr_loss_naive", out_left, out_right)
    tau = _check_tau("simclr_loss_naive", tau)
    # Summed in float64 (then given back in the inputs' dtype): 4N^2 float32 exponentials summed
    # one by one drift by ~1e-7, the course's own tolerance.
    out = torch.cat([out_left, out_right], dim=0)
    dtype = out.dtype
    out = out.double() if dtype in (torch.float16, torch.bfloat16, torch.float32) else out
    total_loss = 0
    for k in range(n):
        for i, j in ((k, k + n), (k + n, k)):
            numerator = torch.exp(sim(out[i], out[j]) / tau)
            denominator = sum(torch.exp(sim(out[i], out[m]) / tau) for m in range(2 * n) if m != i)
            total_loss = total_loss + -torch.log(numerator / denominator)
    return (total_loss / (2 * n)).to(dtype)


def sim_positive_pairs(out_left, out_right):
    """Cosine similarity of each positive pair.

    Inputs: ``out_left``, ``out_right``: (N, D) tensors.
    Returns: an (N, 1) tensor; row k is sim(out_left[k], out_right[k]).
    """
    left = out_left / torch.linalg.norm(out_left, dim=1, keepdim=True)
    right = out_right / torch.linalg.norm(out_right, dim=1, keepdim=True)
    return (left * right).sum(dim=1, keepdim=True)


def compute_sim_matrix(out):
    """Cosine similarity of every pair of rows.

    Inputs: ``out``: a (2N, D) tensor, one row per augmented example.
    Returns: a (2N, 2N) tensor whose (i, j) entry is sim(out[i], out[j]).
    """
    normed = out / torch.linalg.norm(out, dim=1, keepdim=True)
    return normed @ normed.T


def simclr_loss_vectorized(out_left, out_right, tau, device="cuda"):
    """The contrastive loss over a batch without Python loops; same inputs and value as
    :func:`simclr_loss_naive` (to float rounding).

    ``device`` is the course's parameter (it placed the course's mask); here the loss is computed
    where the inputs are, so the course's default ``"cuda"`` works on a machine without a GPU.

    The denominator is a log-sum-exp over each row of the similarity matrix with its diagonal
    left out, so the loss stays finite at small temperatures where exp(1/tau) overflows.
    """
    n = _check_pairs("simclr_loss_vectorized", out_left, out_right)
    tau = _check_tau("simclr_loss_vectorized", tau)
    out = torch.cat([out_left, out_right], dim=0)
    logits = compute_sim_matrix(out) / tau
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=out.device)
    log_denominator = torch.logsumexp(logits.masked_fill(self_mask, -math.inf), dim=1)
    positives = sim_positive_pairs(out_left, out_right).reshape(-1) / tau
    return (log_denominator - positives.repeat(2)).mean()


def rel_error(x, y):
    """The largest relative error between two arrays (the course's check: < 1e-7 passes)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
