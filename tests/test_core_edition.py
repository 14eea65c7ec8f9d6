"""cs231n.core.edition: one setting for the course edition (``cs231n.set_edition`` /
``CS231N_EDITION``, default the newest), read by a layer when it is built."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import cs231n
from cs231n.core import edition as edition_module
from cs231n.core.edition import EDITIONS, ENV_VAR, LATEST, edition, set_edition, using_edition


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    set_edition(None)
    yield
    set_edition(None)


def test_the_package_re_exports_it():
    assert cs231n.set_edition is set_edition and cs231n.edition is edition


def test_default_is_the_newest():
    assert edition() == LATEST == 2026 == EDITIONS[-1]
    assert EDITIONS == tuple(range(2017, 2027))


def test_environment_then_set_edition(monkeypatch):
    monkeypatch.setenv(ENV_VAR, " 2025 ")
    assert edition() == 2025  # read at each call: a notebook may set os.environ at any time
    set_edition(2021)
    assert edition() == 2021  # set_edition wins over the environment
    set_edition("2024")
    assert edition() == 2024
    set_edition(None)
    assert edition() == 2025  # back to the environment
    monkeypatch.setenv(ENV_VAR, "")
    assert edition() == LATEST  # empty: unset
    set_edition(np.int64(2022))
    assert edition() == 2022


@pytest.mark.parametrize("value", [2016, 2030, "2025a", "twenty", 2025.0, True, "", [2025]])
def test_set_edition_rejects_what_is_not_an_edition(value):
    with pytest.raises(ValueError) as info:
        set_edition(value)
    message = str(info.value)
    assert message.startswith(f"set_edition: edition={value!r} is not a course edition")
    assert "2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026" in message
    assert edition() == LATEST  # nothing changed


def test_a_bad_environment_value_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "2030")
    with pytest.raises(ValueError, match=r"^CS231N_EDITION='2030' is not a course edition: use "):
        edition()
    set_edition(2025)  # an explicit choice does not read the environment
    assert edition() == 2025


def test_using_edition_restores_the_previous_setting():
    set_edition(2024)
    with using_edition(2025):
        assert edition() == 2025
        with using_edition(None):
            assert edition() == LATEST
        assert edition() == 2025
    assert edition() == 2024
    with pytest.raises(RuntimeError), using_edition(2021):
        raise RuntimeError
    assert edition() == 2024
    assert edition_module._chosen == 2024


def test_a_layer_keeps_the_edition_it_was_built_with():
    """The rule: read once, at construction. Changing it later changes what is built later."""
    from cs231n.transformer_layers import FeedForwardNetwork, PatchEmbedding

    set_edition(2025)
    patches, ffn = PatchEmbedding(8, 4), FeedForwardNetwork(4, 8)
    set_edition(2024)
    later_patches, later_ffn = PatchEmbedding(8, 4), FeedForwardNetwork(4, 8)
    assert patches.flatten_order == "hwc" and later_patches.flatten_order == "chw"
    assert type(ffn.activation).__name__ == "GELU"
    assert type(later_ffn.activation).__name__ == "ReLU"


def test_the_environment_variable_before_the_imports():
    """How a notebook sets it: in the environment of the kernel, before importing anything."""
    env = {**os.environ, ENV_VAR: "2025"}
    code = (
        "from cs231n.transformer_layers import *\n"
        "import cs231n\n"
        "print(cs231n.edition(), PatchEmbedding(16, 8).flatten_order,"
        " type(TransformerDecoderLayer(8, 2).ffn.activation).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["2025", "hwc", "GELU"]
    env[ENV_VAR] = "1999"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "ValueError: CS231N_EDITION='1999' is not a course edition" in bad.stderr
