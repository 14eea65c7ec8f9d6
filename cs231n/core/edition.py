"""Which edition of the course the package follows where editions disagree on the same call.

Most of the package is the same in every edition. Where two editions' notebooks expect different
results from the same call, one setting chooses: ``cs231n.set_edition(2025)`` in Python, else
the environment variable ``CS231N_EDITION`` (``CS231N_EDITION=2025``), else the newest edition
(:data:`LATEST`). ``cs231n.edition()`` says which one is in force.

What depends on it (``cs231n.transformer_layers``):

- the feed-forward activation of ``FeedForwardNetwork`` and of the Transformer decoder and
  encoder layers: ReLU up to 2024 (the 2021–2024 decoder layer), GELU from 2025;
- the order in which ``PatchEmbedding`` flattens each patch: (row, column, channel) in 2025, as
  first released (its notebook's check expects it); (channel, row, column) in every other
  edition (2026, and the revised 2025 starter code, whose notebook expects the 2026 numbers).

When it is read: a layer reads the edition once, when it is constructed, and keeps it. Changing
the edition affects what is built afterwards, never an object already built, and nothing is read
when a module is imported, so the setting may come before or after the imports. A notebook sets
it in its first cell, before it builds anything.
"""

from __future__ import annotations

import contextlib
import numbers
import os

ENV_VAR = "CS231N_EDITION"
EDITIONS = tuple(range(2017, 2027))  # the course editions the package knows, oldest first
LATEST = EDITIONS[-1]

_chosen: int | None = None  # set by set_edition; None: the environment, else LATEST


def _valid(where: str, value: object) -> int:
    """``value`` as an edition year; one ValueError naming ``where`` and the valid editions."""
    year = None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        year = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        year = int(value.strip())
    if year not in EDITIONS:
        valid = ", ".join(str(e) for e in EDITIONS)
        raise ValueError(
            f"{where}={value!r} is not a course edition: use one of {valid} "
            f"(default: the newest, {LATEST})"
        )
    return year


def set_edition(edition: int | str | None) -> None:
    """Follow ``edition`` (a year such as 2025, or its string) from now on, for every layer built
    afterwards; ``None`` goes back to ``CS231N_EDITION`` or the newest edition. Objects already
    built keep the edition they were built with."""
    global _chosen
    _chosen = None if edition is None else _valid("set_edition: edition", edition)


def edition() -> int:
    """The edition in force: the one given to :func:`set_edition`, else ``CS231N_EDITION`` (read
    now, so a notebook may set ``os.environ`` too), else the newest."""
    if _chosen is not None:
        return _chosen
    value = os.environ.get(ENV_VAR, "").strip()
    return _valid(ENV_VAR, value) if value else LATEST


@contextlib.contextmanager
def using_edition(edition: int | str | None):
    """Within the block, :func:`set_edition` ``(edition)``; the previous setting afterwards."""
    global _chosen
    before = _chosen
    set_edition(edition)
    try:
        yield
    finally:
        _chosen = before


def edition_for(activation: str = "gelu", flatten_order: str = "chw") -> int:
    """An edition that builds layers with these choices (what a saved model records, so that
    it is rebuilt the same under any edition in force): ReLU is 2024's, GELU with (row, column,
    channel) patches the first 2025 release's, GELU with (channel, row, column) the newest's."""
    if activation == "relu":
        return 2024
    if activation != "gelu" or flatten_order not in ("chw", "hwc"):
        raise ValueError(
            f"no edition builds activation={activation!r} with flatten_order={flatten_order!r} "
            '(activation "gelu" or "relu", flatten_order "chw" or "hwc")'
        )
    return 2025 if flatten_order == "hwc" else LATEST
