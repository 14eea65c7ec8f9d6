"""cs231n.data.emoji: naming the course's emoji texts (Unicode names, flags, ZWJ sequences),
rendering them from Noto Color Emoji, and the cached build.

The texts are the course's (``text_embeddings.pt``, 2025/2026 ``DDPM.ipynb``); the full build
here matches 1963 of its 2484 texts (the rest are gemoji-style aliases such as "tophat")."""

from pathlib import Path

import numpy as np
import pytest
import torch

from cs231n.data import emoji

SHARED_EMB = Path(__file__).resolve().parents[2] / "shared" / "data" / "text_embeddings.pt"
try:
    FONT = emoji.find_font()
except emoji.FontMissingError:
    FONT = None
needs_font = pytest.mark.skipif(FONT is None, reason="needs fonts-noto-color-emoji")

TEXTS = [
    "grinning face",  # a Unicode name
    "no smoking",  # NO SMOKING SYMBOL without "symbol"
    "nepal flag",  # ISO 3166-1 name -> regional indicators N, P
    "woman surfing",  # SURFER + ZWJ + female sign
    "female elf",
    "man health worker",  # MAN + ZWJ + STAFF OF AESCULAPIUS
    "red haired man",
    "family man, woman, girl",
    "woman heart woman",
    "man bowing",  # CLDR's name: PERSON BOWING DEEPLY + ZWJ + male sign
    "woman walking facing right",  # Emoji 15.1: ... + ZWJ + rightwards arrow
    "keycap 1",
    "kiss woman, man",
    "russia flag",  # CLDR's name (ISO 3166-1: Russian Federation)
    "england flag",  # a tag sequence
    "tophat",  # a gemoji alias: not named here
]


def fake_embeddings(path, texts):
    torch.save(
        {
            "idx_mapping": {t: i for i, t in enumerate(texts)},
            "embs": torch.randn(len(texts), 512).half(),
            "pca_components": torch.eye(512),
            "mean": torch.zeros(512),
        },
        path,
    )
    return path


def test_names_by_the_rules():
    codepoints = [0x1F600, 0x1F6AD, 0x1F3C4, 0x1F9DD]
    found = emoji.emoji_names(TEXTS, codepoints)
    assert found["grinning face"] == "\U0001f600"
    assert found["no smoking"] == "\U0001f6ad"
    assert found["female elf"] == "\U0001f9dd\u200d\u2640\ufe0f"
    assert found["man health worker"] == "\U0001f468\u200d\u2695\ufe0f"
    assert found["red haired man"] == "\U0001f468\u200d\U0001f9b0"
    assert found["family man, woman, girl"] == "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert found["woman heart woman"] == "\U0001f469\u200d\u2764\ufe0f\u200d\U0001f469"
    assert found["man bowing"] == "\U0001f647\u200d\u2642\ufe0f"
    assert found["woman walking facing right"] == ("\U0001f6b6\u200d\u2640\ufe0f\u200d\u27a1\ufe0f")
    assert found["keycap 1"] == "1\ufe0f\u20e3"
    assert found["kiss woman, man"] == (
        "\U0001f469\u200d\u2764\ufe0f\u200d\U0001f48b\u200d\U0001f468"
    )
    assert found["russia flag"] == "\U0001f1f7\U0001f1fa"
    assert (
        found["england flag"]
        == "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    )
    assert "tophat" not in found
    if emoji.ISO_3166.is_file():
        assert found["nepal flag"] == "\U0001f1f3\U0001f1f5"


@needs_font
def test_build_renders_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    emb = fake_embeddings(tmp_path / "text_embeddings.pt", TEXTS)
    messages = []
    path = emoji.build(emb, size=16, log=messages.append)
    images, texts = emoji.load(path)
    assert images.shape == (len(texts), 16, 16, 3) and images.dtype == np.uint8
    assert "grinning face" in texts and "tophat" not in texts
    assert "female elf" in texts and "family man, woman, girl" in texts
    assert "woman walking facing right" in texts and "england flag" in texts
    assert messages == [f"emoji: {len(texts)} of {len(TEXTS)} course texts drawn from {FONT.name}"]
    face = images[texts.index("grinning face")]
    assert (face[0, 0] == 255).all()  # on white
    assert face[8, 8, 2] < 128  # the yellow face's centre has little blue
    # Built once: the second call reads the cache (same key), a new size makes a new entry.
    mtime = path.stat().st_mtime_ns
    assert emoji.build(emb, size=16) == path and path.stat().st_mtime_ns == mtime
    assert emoji.build(emb, size=8) != path


def test_refusals(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"emoji size must be an integer in \[8, 128\], got 4"):
        emoji.build(tmp_path / "e.pt", size=4)
    monkeypatch.setattr(emoji, "FONT_PATHS", (tmp_path / "none.ttf",))
    with pytest.raises(emoji.FontMissingError, match="apt-get install fonts-noto-color-emoji"):
        emoji.build(tmp_path / "e.pt")


@needs_font
@pytest.mark.skipif(not SHARED_EMB.is_file(), reason="needs the course's text_embeddings.pt")
def test_the_course_texts_names():
    """How many of the course's 2484 texts are named (measured with Debian's font of 2023:
    1963, all of which it draws)."""
    from fontTools.ttLib import TTFont

    texts = emoji.course_texts(SHARED_EMB)
    assert len(texts) == 2484
    named = emoji.emoji_names(texts, TTFont(FONT, lazy=True).getBestCmap())
    assert len(named) >= 1900
