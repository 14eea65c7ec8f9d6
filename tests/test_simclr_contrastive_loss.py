"""The course's SimCLR loss (cs231n/simclr/contrastive_loss.py): its sanity-check values, the
naive and vectorised forms against each other, a NumPy re-derivation and lightly's NT-Xent."""

import math

import numpy as np
import pytest
import torch
from lightly_reference import ntxent_loss_class

from cs231n.simclr.contrastive_loss import (
    compute_sim_matrix,
    rel_error,
    sim,
    sim_positive_pairs,
    simclr_loss_naive,
    simclr_loss_vectorized,
)

# The course's simclr_sanity_check.key (2021-2026 editions, self_supervised_learning.ipynb):
# answers['left'], answers['right'] and answers['loss'] at tau 5.0 and 1.0.
LEFT = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
RIGHT = torch.tensor([[0.0, 8.0, 3.0], [10.0, 4.0, 9.0]])
LOSS = {5.0: 1.0883455, 1.0: 1.0537996}


def numpy_nt_xent(left, right, tau):
    """SimCLR's loss from its definition (Chen et al. 2020, eq. 1), in float64 NumPy."""
    z = np.concatenate([left, right]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    s = z @ z.T / tau
    n = len(left)
    losses = []
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = [s[i, k] for k in range(2 * n) if k != i]
        losses.append(-(s[i, j] - math.log(sum(math.exp(v) for v in others))))
    return float(np.mean(losses))


@pytest.mark.parametrize("tau", [5.0, 1.0])
@pytest.mark.parametrize("loss", [simclr_loss_naive, simclr_loss_vectorized])
def test_sanity_check_values(loss, tau):
    # The notebook's check: rel_error(correct, loss.item()) "should be less than 1e-07".
    assert rel_error(LOSS[tau], loss(LEFT, RIGHT, tau).item()) < 1e-7


def test_sim_and_pairs_and_matrix():
    # sim of the key's first pair, by hand: (0 + 16 + 9) / (sqrt(14) sqrt(73)).
    expected = 25 / math.sqrt(14 * 73)
    assert rel_error(expected, sim(LEFT[0], RIGHT[0]).item()) < 1e-7
    pairs = sim_positive_pairs(LEFT, RIGHT)
    assert pairs.shape == (2, 1)
    assert torch.allclose(pairs[:, 0], torch.stack([sim(LEFT[k], RIGHT[k]) for k in range(2)]))
    out = torch.cat([LEFT, RIGHT])
    matrix = compute_sim_matrix(out)
    by_hand = torch.tensor([[sim(a, b).item() for b in out] for a in out])
    assert matrix.shape == (4, 4)
    assert torch.allclose(matrix, by_hand, atol=1e-6)


@pytest.mark.parametrize("n, d, tau", [(2, 3, 0.5), (5, 8, 0.1), (16, 32, 1.0)])
def test_naive_vectorised_and_numpy_agree(n, d, tau):
    g = torch.Generator().manual_seed(n * 100 + d)
    left = torch.randn(n, d, generator=g, dtype=torch.float64)
    right = torch.randn(n, d, generator=g, dtype=torch.float64)
    reference = numpy_nt_xent(left.numpy(), right.numpy(), tau)
    assert abs(simclr_loss_naive(left, right, tau).item() - reference) < 1e-10
    assert abs(simclr_loss_vectorized(left, right, tau).item() - reference) < 1e-10


def test_gradients_agree():
    g = torch.Generator().manual_seed(0)
    left = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    right = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    grads = []
    for loss in (simclr_loss_naive, simclr_loss_vectorized):
        grads.append(torch.autograd.grad(loss(left, right, 0.5), (left, right)))
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-12)


def test_against_lightly_nt_xent():
    ntxent = ntxent_loss_class()
    if ntxent is None:
        pytest.skip("lightly is not installed (pip install --no-deps lightly)")
    g = torch.Generator().manual_seed(1)
    for n, tau in ((2, 5.0), (8, 0.5), (64, 0.1)):
        left = torch.randn(n, 128, generator=g, dtype=torch.float64)
        right = torch.randn(n, 128, generator=g, dtype=torch.float64)
        ours = simclr_loss_vectorized(left, right, tau).item()
        theirs = ntxent(temperature=tau)(left, right).item()
        assert abs(ours - theirs) < 1e-10, (n, tau, ours, theirs)
    assert rel_error(LOSS[1.0], ntxent(temperature=1.0)(LEFT, RIGHT).item()) < 1e-7


def test_small_temperature_stays_finite():
    # exp(1 / 0.005) overflows float32; the log-sum-exp form does not.
    left = torch.eye(3)
    right = torch.eye(3)
    value = simclr_loss_vectorized(left, right, 0.005)
    assert torch.isfinite(value)
    assert value.item() < 1e-6  # positives at similarity 1, negatives at 0


def test_device_default_runs_where_the_inputs_are():
    # The notebook calls the vectorised loss with device='cuda' by default; here it runs on the
    # inputs' device and returns there.
    loss = simclr_loss_vectorized(LEFT, RIGHT, 1.0)
    assert loss.device == LEFT.device


@pytest.mark.parametrize("loss", [simclr_loss_naive, simclr_loss_vectorized])
def test_bad_input(loss):
    with pytest.raises(ValueError, match="at least 2 pairs"):
        loss(LEFT[:1], RIGHT[:1], 0.5)
    with pytest.raises(ValueError, match="same shape"):
        loss(LEFT, RIGHT[:, :2], 0.5)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        loss(LEFT[0], RIGHT[0], 0.5)
    for tau in (0, -1.0, float("nan"), "hot"):
        with pytest.raises(ValueError, match="tau"):
            loss(LEFT, RIGHT, tau)
