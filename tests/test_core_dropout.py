"""cs231n.core.dropout: the course builds' dropout draws, as an opt-in of the course's layers."""

import math

import numpy as np
import pytest
import torch

from cs231n.core import dropout
from cs231n.core.dropout import _MCG31_A, _MCG31_M, _mcg31_uniforms, legacy_dropout
from cs231n.transformer_layers import MultiHeadAttention


def test_legacy_dropout_mcg31_blocks_equal_the_recurrence():
    """The blockwise stream equals the plain recurrence (the first outputs are x0, A x0, ...)."""
    seed, n = 123456789, 5000
    x, expected = seed % _MCG31_M, []
    for _ in range(n):
        expected.append(x / _MCG31_M)
        x = x * _MCG31_A % _MCG31_M
    np.testing.assert_array_equal(_mcg31_uniforms(seed, n), np.asarray(expected))
    assert math.isclose(_mcg31_uniforms(0, 1)[0], 1 / _MCG31_M)  # a zero seed starts at 1


def test_peek_does_not_consume_and_predicts_the_next_draw():
    torch.manual_seed(5)
    peeked = dropout._peek_u32()
    state = torch.get_rng_state()
    assert dropout._peek_u32() == peeked
    assert torch.equal(torch.get_rng_state(), state)


def test_the_opt_in_follows_the_setting_the_environment_and_the_block(monkeypatch):
    monkeypatch.delenv(dropout.ENV_VAR, raising=False)
    assert not dropout.legacy_dropout_enabled()
    monkeypatch.setenv(dropout.ENV_VAR, "1")
    assert dropout.legacy_dropout_enabled()
    dropout.set_legacy_dropout(False)
    try:
        assert not dropout.legacy_dropout_enabled()
        with legacy_dropout():
            assert dropout.legacy_dropout_enabled()
        assert not dropout.legacy_dropout_enabled()
    finally:
        dropout.set_legacy_dropout(None)
    monkeypatch.setenv(dropout.ENV_VAR, "maybe")
    with pytest.raises(ValueError, match="CS231N_LEGACY_DROPOUT='maybe': use 1"):
        dropout.legacy_dropout_enabled()


def test_the_layers_draw_the_course_masks_only_when_asked(monkeypatch):
    """The same layer, the same seed: the block and the environment variable give the same
    (legacy) output, PyTorch's own dropout another; eval mode is untouched either way."""
    monkeypatch.delenv(dropout.ENV_VAR, raising=False)
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2, dropout=0.5)
    x = torch.randn(1, 4, 8)

    def run():
        torch.manual_seed(1)
        return attn(x, x, x)

    plain = run()
    with legacy_dropout():
        legacy = run()
    monkeypatch.setenv(dropout.ENV_VAR, "1")
    torch.testing.assert_close(run(), legacy)
    assert not torch.allclose(plain, legacy)
    attn.eval()
    torch.testing.assert_close(run(), attn(x, x, x))
    assert math.isfinite(float(legacy.detach().sum()))
    assert np.isfinite(legacy.detach().numpy()).all()
