"""The course's dropout draws, for reproducing the 2021–2025 Transformer notebooks' checks.

Those notebooks check their layers in training mode, with the numbers the course's PyTorch
builds printed. Those builds drew CPU dropout masks from MKL: one 32-bit draw of the torch
generator seeded an MCG31m1 stream, and element i was kept when the i-th uniform of that
stream was below 1 - p. Current PyTorch draws differently, so those checks print errors near 1
with today's builds although the layers are right. With ``CS231N_LEGACY_DROPOUT=1`` in the
environment, ``set_legacy_dropout(True)``, or inside ``with legacy_dropout():``, the course's
layers (``cs231n.transformer_layers``, whose dropouts are :class:`CourseDropout`) draw their
masks the old way: every seeded value of those notebooks is then reproduced to the notebook's
own printed error. It is slower (the masks are made in NumPy on the CPU) and meant for those
checks only; training uses PyTorch's own dropout.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import torch
from torch import nn

ENV_VAR = "CS231N_LEGACY_DROPOUT"
_MCG31_M = 0x7FFFFFFF  # modulus 2^31 - 1
_MCG31_A = 1132489760  # MKL's VSL_BRNG_MCG31 multiplier
_forced: bool | None = None  # set_legacy_dropout / legacy_dropout; None: the environment


def set_legacy_dropout(enabled: bool | None) -> None:
    """Draw dropout masks as the course's PyTorch builds did (True), as PyTorch does (False),
    or as ``CS231N_LEGACY_DROPOUT`` says (None)."""
    global _forced
    _forced = None if enabled is None else bool(enabled)


def legacy_dropout_enabled() -> bool:
    """Whether :class:`CourseDropout` draws the course builds' masks now."""
    if _forced is not None:
        return _forced
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{ENV_VAR}={os.environ[ENV_VAR]!r}: use 1 (the course's draws) or 0")


@contextlib.contextmanager
def legacy_dropout():
    """Within the block, :class:`CourseDropout` draws the course builds' masks."""
    global _forced
    before = _forced
    _forced = True
    try:
        yield
    finally:
        _forced = before


def _peek_u32() -> int:
    """The next 32-bit output of PyTorch's CPU Mersenne Twister, without consuming it: the
    generator state (left, next, 624 words) is loaded into NumPy's MT19937."""
    raw = torch.get_rng_state().numpy().tobytes()
    left = int(np.frombuffer(raw[8:12], np.int32)[0])
    index = int(np.frombuffer(raw[16:24], np.uint64)[0])
    key = np.frombuffer(raw[24 : 24 + 624 * 8], np.uint64).astype(np.uint32)
    rs = np.random.RandomState()
    rs.set_state(("MT19937", key, index if left > 1 else 624))
    return int(rs.randint(0, 2**32, dtype=np.uint32))


def _mcg31_uniforms(seed: int, n: int) -> np.ndarray:
    """n uniforms of an MCG31m1 stream seeded with ``seed`` (x0 first, x_k = A x_{k-1} mod M),
    computed a block at a time: x_{b+j} = (A^j mod M) * x_b mod M fits in int64."""
    x = seed % _MCG31_M or 1
    block = max(1, min(n, 4096))
    powers = np.empty(block, dtype=np.int64)
    p = 1
    for j in range(block):
        powers[j] = p
        p = p * _MCG31_A % _MCG31_M
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, block):
        m = min(block, n - start)
        out[start : start + m] = powers[:m] * x % _MCG31_M
        x = x * p % _MCG31_M
    return out / _MCG31_M


def course_dropout(input, p=0.5, training=True):
    """Dropout with the course builds' mask: the torch generator advances by the one 32-bit
    draw they consumed."""
    if not training or p == 0 or input.numel() == 0:
        return input
    seed = _peek_u32()
    torch.rand(1)  # consumes exactly one 32-bit draw
    keep = _mcg31_uniforms(seed, input.numel()) < 1 - p
    noise = torch.from_numpy(keep).reshape(input.shape).to(input.dtype).div_(1 - p)
    return input * noise.to(input.device)


class CourseDropout(nn.Dropout):
    """``nn.Dropout`` that draws the course builds' masks when :func:`legacy_dropout_enabled`
    (the same module otherwise: same attribute, same state dict)."""

    def forward(self, input):
        if self.training and legacy_dropout_enabled():
            return course_dropout(input, self.p, True)
        return super().forward(input)
