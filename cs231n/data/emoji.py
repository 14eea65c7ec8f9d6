"""The emoji data set, offline: the course's emoji texts drawn from Debian's Noto Color Emoji.

The course's diffusion question (2025/2026 ``DDPM.ipynb``) trains on ``emoji_data.npz`` (32x32
emoji, each with its texts) and conditions on ``text_embeddings.pt``: CLIP ViT-B/32 embeddings
of 2484 texts, the emoji's names. Without the images, :func:`build` makes a substitute: every
text that can be named as an emoji (below) is rendered from ``NotoColorEmoji.ttf`` (Debian's
``fonts-noto-color-emoji``; Pillow draws its 109-pixel colour bitmaps) centred on white and
resized to ``size`` x ``size``, paired with the course's own embedding of that text. Training and
guidance then work as the course's, with real CLIP text embeddings and no CLIP model.

How a text is named (no internet, no emoji library): :func:`emoji_names` maps texts to emoji
sequences, from

- Unicode character names (Python's ``unicodedata``) of the font's code points, with hyphens
  as spaces, and without a trailing "sign"/"symbol" where that is unambiguous;
- flags: ``"<country> flag"`` as regional-indicator pairs, from ISO 3166-1 names (Debian's
  ``iso-codes``, when installed) and a table of CLDR's names where they differ ("russia",
  "st. lucia", "hong kong sar china"); England, Scotland and Wales as tag sequences; the
  white, rainbow, transgender, pirate and chequered flags;
- keycaps ("keycap 1": digit, VS16, combining enclosing keycap);
- zero-width-joiner sequences: gendered ones ("woman/man/female/male/women/men X" for a person
  emoji X, named by Unicode or by CLDR's activity names: "man bowing", "woman surfing"),
  professions ("man health worker"), hair styles ("red haired man"), families ("family man,
  woman, girl" and "man woman girl"), couples and kisses ("woman heart woman", "kiss woman,
  man", "couple with heart man, man"), and Emoji 15.1's "... facing right".

A candidate counts only when the font draws it as one glyph (Pillow with raqm shapes the
sequences). With Debian's font of 2023, 1963 of the 2484 texts are drawn; those left are mostly
gemoji-style aliases ("tophat", "clock4", "facepunch") that need a table this package does not
carry, and skin-tone swatches. :func:`build` reports the count.

The result is cached (``emoji/emoji-SIZEpx-KEY.npz``, written atomically), KEY from the font's and
the embeddings' SHA-256, the size and this builder's version.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np

from ..core.config import cache_key, cache_path
from ..core.files import atomic_path
from .download import file_sha256

FONT_PATHS = (
    Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
    Path("/usr/share/fonts/noto/NotoColorEmoji.ttf"),
)
ISO_3166 = Path("/usr/share/iso-codes/json/iso_3166-1.json")
FONT_SIZE = 109  # the font's only bitmap strike: Pillow refuses other sizes
BUILDER_VERSION = 2
ZWJ, VS16 = "\u200d", "\ufe0f"
FEMALE, MALE = "\u2640" + VS16, "\u2642" + VS16
PEOPLE = {"man": "\U0001f468", "woman": "\U0001f469", "person": "\U0001f9d1"}
FAMILY = {
    "man": "\U0001f468",
    "woman": "\U0001f469",
    "boy": "\U0001f466",
    "girl": "\U0001f467",
    "adult": "\U0001f9d1",
    "child": "\U0001f9d2",
}
# The objects that make a person a professional (Unicode's ZWJ profession sequences).
PROFESSIONS = {
    "health worker": "\u2695" + VS16,
    "doctor": "\u2695" + VS16,
    "judge": "\u2696" + VS16,
    "pilot": "\u2708" + VS16,
    "farmer": "\U0001f33e",
    "cook": "\U0001f373",
    "student": "\U0001f393",
    "singer": "\U0001f3a4",
    "artist": "\U0001f3a8",
    "teacher": "\U0001f3eb",
    "factory worker": "\U0001f3ed",
    "technologist": "\U0001f4bb",
    "office worker": "\U0001f4bc",
    "mechanic": "\U0001f527",
    "scientist": "\U0001f52c",
    "astronaut": "\U0001f680",
    "firefighter": "\U0001f692",
    "with probing cane": "\U0001f9af",
    "with white cane": "\U0001f9af",
    "in motorized wheelchair": "\U0001f9bc",
    "in manual wheelchair": "\U0001f9bd",
    "feeding baby": "\U0001f37c",
}
HAIR = {"red": "\U0001f9b0", "curly": "\U0001f9b1", "bald": "\U0001f9b2", "white": "\U0001f9b3"}
# CLDR's names of the person emoji that take a gender, where Unicode's name differs: the
# activity -> the base emoji (a trailing VS16 where the base is a text-style character).
ACTIVITIES = {
    "walking": "\U0001f6b6",
    "running": "\U0001f3c3",
    "surfing": "\U0001f3c4",
    "rowing boat": "\U0001f6a3",
    "swimming": "\U0001f3ca",
    "biking": "\U0001f6b4",
    "mountain biking": "\U0001f6b5",
    "playing handball": "\U0001f93e",
    "playing water polo": "\U0001f93d",
    "juggling": "\U0001f939",
    "cartwheeling": "\U0001f938",
    "wrestling": "\U0001f93c",
    "bowing": "\U0001f647",
    "gesturing ok": "\U0001f646",
    "gesturing no": "\U0001f645",
    "raising hand": "\U0001f64b",
    "tipping hand": "\U0001f481",
    "pouting": "\U0001f64e",
    "frowning": "\U0001f64d",
    "facepalming": "\U0001f926",
    "shrugging": "\U0001f937",
    "getting haircut": "\U0001f487",
    "getting massage": "\U0001f486",
    "detective": "\U0001f575\ufe0f",
    "guard": "\U0001f482",
    "wearing turban": "\U0001f473",
    "with beard": "\U0001f9d4",
    "beard": "\U0001f9d4",
    "blond hair": "\U0001f471",
    "lifting weights": "\U0001f3cb\ufe0f",
    "bouncing ball": "\u26f9\ufe0f",
    "golfing": "\U0001f3cc\ufe0f",
    "kneeling": "\U0001f9ce",
    "standing": "\U0001f9cd",
    "in tuxedo": "\U0001f935",
    "with veil": "\U0001f470",
    "with bunny ears": "\U0001f46f",
    "with bunny ears partying": "\U0001f46f",
    "construction worker": "\U0001f477",
    "police officer": "\U0001f46e",
    "in steamy room": "\U0001f9d6",
    "climbing": "\U0001f9d7",
    "in lotus position": "\U0001f9d8",
}
FACING_RIGHT = " facing right"  # Emoji 15.1: the person ZWJ rightwards arrow
# CLDR's flag names where ISO 3166-1's differ (or the region is not in it), and the
# non-country flags.
CLDR_FLAGS = {
    "russia": "RU", "micronesia": "FM", "brunei": "BN", "cape verde": "CV", "kosovo": "XK",
    "côte d’ivoire": "CI", "timor leste": "TL", "guinea bissau": "GW", "congo brazzaville": "CG",
    "congo kinshasa": "CD", "hong kong sar china": "HK", "macao sar china": "MO",
    "myanmar (burma)": "MM", "u.s. outlying islands": "UM", "european union": "EU",
    "united nations": "UN", "caribbean netherlands": "BQ", "heard & mcdonald islands": "HM",
    "st. martin": "MF", "st. barthélemy": "BL", "st. pierre & miquelon": "PM",
    "south georgia & south sandwich islands": "GS", "svalbard & jan mayen": "SJ",
    "pitcairn islands": "PN", "falkland islands": "FK", "british virgin islands": "VG",
    "u.s. virgin islands": "VI", "ceuta & melilla": "EA", "tristan da cunha": "TA",
    "clipperton island": "CP", "diego garcia": "DG", "ascension island": "AC",
    "canary islands": "IC", "st. vincent & grenadines": "VC", "st. kitts & nevis": "KN",
    "st. lucia": "LC", "st. helena": "SH", "vatican city": "VA", "sint maarten": "SX",
    "são tomé & príncipe": "ST", "palestinian territories": "PS", "turks & caicos islands": "TC",
    "trinidad & tobago": "TT", "wallis & futuna": "WF", "antigua & barbuda": "AG",
    "bosnia & herzegovina": "BA", "north korea": "KP", "south korea": "KR", "laos": "LA",
    "iran": "IR", "syria": "SY", "vietnam": "VN", "tanzania": "TZ", "bolivia": "BO",
    "venezuela": "VE", "moldova": "MD", "taiwan": "TW", "turkey": "TR", "czechia": "CZ",
}  # fmt: skip
OTHER_FLAGS = {
    "white flag": "\U0001f3f3\ufe0f",
    "rainbow flag": "\U0001f3f3\ufe0f\u200d\U0001f308",
    "transgender flag": "\U0001f3f3\ufe0f\u200d\u26a7\ufe0f",
    "pirate flag": "\U0001f3f4\u200d\u2620\ufe0f",
    "checkered flag": "\U0001f3c1",
    # Subdivision flags: a black flag, the region's tag letters, a cancel tag.
    **{
        f"{name} flag": "\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in code) + "\U000e007f"
        for name, code in (("england", "gbeng"), ("scotland", "gbsct"), ("wales", "gbwls"))
    },
}
KEYCAPS = {f"keycap {c}": c + "\ufe0f\u20e3" for c in "0123456789#*"}
KEYCAPS["keycap star"] = "*\ufe0f\u20e3"


class FontMissingError(FileNotFoundError):
    """No Noto Color Emoji font: what to install, said once."""


def find_font() -> Path:
    """The Noto Color Emoji font file, or FontMissingError saying how to get it."""
    for path in FONT_PATHS:
        if path.is_file():
            return path
    raise FontMissingError(
        "the offline emoji data set needs the Noto Color Emoji font (NotoColorEmoji.ttf), "
        f"looked for in {', '.join(map(str, FONT_PATHS))}: on Debian/Ubuntu run "
        "`sudo apt-get install fonts-noto-color-emoji` (setup.sh does it as root); elsewhere "
        "put the course's emoji_data.npz in the data directory (`cs231n data download emoji`)"
    )


def _unicode_names(codepoints) -> dict[str, str]:
    """Lower-case Unicode names (and their variants) -> the character."""
    names, variants = {}, {}
    for cp in codepoints:
        try:
            name = unicodedata.name(chr(cp)).lower()
        except ValueError:
            continue
        names.setdefault(name, chr(cp))
        variants.setdefault(name.replace("-", " "), chr(cp))
        for suffix in (" sign", " symbol"):
            if name.endswith(suffix):
                variants.setdefault(name[: -len(suffix)].replace("-", " "), chr(cp))
    for name, char in variants.items():
        names.setdefault(name, char)  # a real name wins over a shortened one
    return names


def _country_flags() -> dict[str, str]:
    """``"<country> flag"`` -> regional-indicator pair, from ISO 3166-1 (iso-codes)."""
    flags = {f"{name} flag": _regional(code) for name, code in CLDR_FLAGS.items()}
    flags.update(OTHER_FLAGS)
    if not ISO_3166.is_file():
        return flags
    for entry in json.loads(ISO_3166.read_text(encoding="utf-8"))["3166-1"]:
        for key in ("name", "common_name"):
            if key in entry:
                flags.setdefault(f"{entry[key].lower()} flag", _regional(entry["alpha_2"]))
    return flags


def _regional(code: str) -> str:
    """A two-letter region code as its regional-indicator pair (the flag)."""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code)


def _sequence(text: str, names: dict[str, str]) -> str | None:
    """The ZWJ sequence a text names, by the rules in the module's docstring, or None."""
    if text in KEYCAPS:
        return KEYCAPS[text]
    if text.endswith(FACING_RIGHT):
        base = _sequence(text[: -len(FACING_RIGHT)], names)
        return None if base is None else base + ZWJ + "\u27a1" + VS16
    for prefix, joiner in (
        ("kiss ", "\u2764" + VS16 + ZWJ + "\U0001f48b"),
        ("couple with heart ", "\u2764" + VS16),
    ):
        pair = text.removeprefix(prefix).split(", ")
        if text.startswith(prefix) and len(pair) == 2 and all(p in PEOPLE for p in pair):
            return PEOPLE[pair[0]] + ZWJ + joiner + ZWJ + PEOPLE[pair[1]]
    words = text.replace(",", "").split()
    if words and words[0] == "family" and all(w in FAMILY for w in words[1:]) and len(words) > 2:
        return ZWJ.join(FAMILY[w] for w in words[1:])
    if len(words) > 1 and all(w in FAMILY for w in words) and "," not in text:
        return ZWJ.join(FAMILY[w] for w in words)
    if len(words) == 3 and words[1] == "heart" and words[0] in PEOPLE and words[2] in PEOPLE:
        return PEOPLE[words[0]] + ZWJ + "\u2764" + VS16 + ZWJ + PEOPLE[words[2]]
    if len(words) == 3 and words[1] == "kiss" and words[0] in PEOPLE and words[2] in PEOPLE:
        return (
            PEOPLE[words[0]] + ZWJ + "\u2764" + VS16 + ZWJ + "\U0001f48b" + ZWJ + PEOPLE[words[2]]
        )
    # Hair: "red haired man", "man red hair", "woman curly haired".
    for hair, char in HAIR.items():
        for who, base in PEOPLE.items():
            if text in (
                f"{hair} haired {who}",
                f"{who} {hair} hair",
                f"{who} {hair} haired",
                f"{who} {hair}",
            ):
                return base + ZWJ + char
    gender = {
        "woman": FEMALE,
        "female": FEMALE,
        "women": FEMALE,
        "man": MALE,
        "male": MALE,
        "men": MALE,
    }
    if words and words[0] in gender:
        rest = " ".join(words[1:])
        who = "woman" if gender[words[0]] == FEMALE else "man"
        if rest in PROFESSIONS:
            return PEOPLE[who] + ZWJ + PROFESSIONS[rest]
        if rest in ACTIVITIES:
            return ACTIVITIES[rest] + ZWJ + gender[words[0]]
        for base in (rest, f"person {rest}", f"{rest}s"):
            if base in names:
                return names[base] + ZWJ + gender[words[0]]
    if words and words[0] == "person" and " ".join(words[1:]) in PROFESSIONS:
        return PEOPLE["person"] + ZWJ + PROFESSIONS[" ".join(words[1:])]
    if words and words[0] == "person" and " ".join(words[1:]) in ACTIVITIES:
        return ACTIVITIES[" ".join(words[1:])]
    return None


def emoji_names(texts, codepoints) -> dict[str, str]:
    """For each text that names an emoji (the module's rules), the emoji's string; texts are
    the course's (lower case), ``codepoints`` the font's."""
    names = _unicode_names(codepoints)
    flags = _country_flags()
    found = {}
    for text in texts:
        if text in names:
            found[text] = names[text]
        elif text in flags:
            found[text] = flags[text]
        else:
            seq = _sequence(text, names)
            if seq is not None:
                found[text] = seq
    return found


def render(font, text: str, size: int) -> np.ndarray | None:
    """``text`` drawn with ``font`` centred on white, (size, size, 3) uint8; None when the
    font does not draw it as one glyph (an unknown sequence comes out as several)."""
    from PIL import Image, ImageDraw

    one = font.getlength("\U0001f600")
    if font.getlength(text) > 1.5 * one:
        return None
    side = int(one * 1.25)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).text(
        (side / 2, side / 2), text, font=font, embedded_color=True, anchor="mm"
    )
    alpha = np.asarray(canvas)[..., 3]
    if alpha.max() == 0:
        return None  # no glyph at all
    white = Image.new("RGBA", canvas.size, (255, 255, 255, 255))
    image = Image.alpha_composite(white, canvas).convert("RGB")
    return np.asarray(image.resize((size, size), Image.LANCZOS), dtype=np.uint8)


def build(text_emb_path, size: int = 32, font_path=None, log=None) -> Path:
    """The substitute data set for the course's texts in ``text_emb_path`` (the course's
    ``text_embeddings.pt``), rendered at ``size`` x ``size``; built once and cached. Returns
    the cache file: an ``.npz`` with ``images`` (N, size, size, 3) uint8 and ``texts`` (N,)
    str, one image per text. ``log`` (a callable) hears how many texts matched.

    Raises FontMissingError without the font, FileNotFoundError/ValueError for a missing or
    unreadable embeddings file, ValueError for a size outside [8, 128]."""
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 128:
        raise ValueError(f"emoji size must be an integer in [8, 128], got {size!r}")
    font_path = Path(font_path) if font_path is not None else find_font()
    text_emb_path = Path(text_emb_path)
    if not text_emb_path.is_file():
        raise FileNotFoundError(
            f"text embeddings not found: {text_emb_path} (`cs231n data download text-embed`)"
        )
    key = cache_key(
        font=file_sha256(font_path),
        embeddings=file_sha256(text_emb_path),
        size=size,
        version=BUILDER_VERSION,
    )
    out = cache_path("emoji", f"emoji-{size}px-{key}.npz")
    if out.is_file():
        return out
    texts = course_texts(text_emb_path)
    images, kept = _render_all(font_path, texts, size)
    if log is not None:
        log(f"emoji: {len(kept)} of {len(texts)} course texts drawn from {font_path.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, images=np.stack(images), texts=np.array(kept))
    return out


def course_texts(text_emb_path) -> list[str]:
    """The texts of the course's ``text_embeddings.pt``, in their index order."""
    from ..core.torch_utils import torch_load

    mapping = torch_load(text_emb_path, "text embeddings")["idx_mapping"]
    return sorted(mapping, key=mapping.get)


def _render_all(font_path, texts, size):
    from fontTools.ttLib import TTFont
    from PIL import ImageFont, features

    codepoints = TTFont(font_path, lazy=True).getBestCmap()
    # Sequences (flags, ZWJ) need raqm's shaping; without it only single characters match.
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    font = ImageFont.truetype(str(font_path), FONT_SIZE, layout_engine=layout)
    images, kept = [], []
    for text, seq in emoji_names(texts, codepoints).items():
        image = render(font, seq, size)
        if image is not None:
            images.append(image)
            kept.append(text)
    return images, kept


def load(path) -> tuple[np.ndarray, list[str]]:
    """A built data set: (images (N, S, S, 3) uint8, texts)."""
    with np.load(path, allow_pickle=False) as data:
        return data["images"], [str(t) for t in data["texts"]]
