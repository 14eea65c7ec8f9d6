"""The project's two folders: the data directory (input) and the cache (what it derives).

The **data directory** holds what the course ships or what ``cs231n data download`` fetches
(``squeezenet1_1.pt``, ``imagenet_val_25.npz``, ``styles/``, ``coco_captioning/``, ...), laid
out like the course's data folder: ``CS231N_DATA`` when set, else a per-user data folder. The
project only reads it (downloads asked for by the user are the one exception).

The **cache** holds everything the project generates or derives (the Shapes data set, the GAN
scoring classifier, ...), each entry keyed by what determines it, so deleting it loses nothing
that cannot be rebuilt: ``CS231N_CACHE`` when set, else the per-user cache folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

DATA_ENV_VAR = "CS231N_DATA"
CACHE_ENV_VAR = "CS231N_CACHE"


def _user_folder(kind: str) -> Path:
    """The platform's per-user folder for ``kind`` "data" or "cache", with ``cs231n`` appended."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "cs231n" / ("Cache" if kind == "cache" else "Data")
    if sys.platform == "darwin":
        sub = "Caches" if kind == "cache" else "Application Support"
        return Path.home() / "Library" / sub / "cs231n"
    var, default = (
        ("XDG_CACHE_HOME", Path.home() / ".cache")
        if kind == "cache"
        else ("XDG_DATA_HOME", Path.home() / ".local" / "share")
    )
    xdg = os.environ.get(var)
    return (Path(xdg) if xdg else default) / "cs231n"


def default_data_dir() -> Path:
    """The per-user data folder used when ``CS231N_DATA`` is not set
    (``~/.local/share/cs231n`` on Linux, honouring ``XDG_DATA_HOME``)."""
    return _user_folder("data")


def default_cache_dir() -> Path:
    """The per-user cache folder used when ``CS231N_CACHE`` is not set
    (``~/.cache/cs231n`` on Linux, honouring ``XDG_CACHE_HOME``)."""
    return _user_folder("cache")


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: ``override`` if given, else ``$CS231N_DATA``, else the per-user
    data folder."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_data_dir()


def data_path(*parts: str, data_root: str | os.PathLike | None = None) -> Path:
    """A path inside the data directory, e.g. ``data_path("coco_captioning")``."""
    return data_dir(data_root).joinpath(*parts)


def cache_dir() -> Path:
    """The cache folder: ``$CS231N_CACHE``, else the per-user cache folder."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else default_cache_dir()


def cache_path(*parts: str) -> Path:
    """A path inside the cache folder, e.g. ``cache_path("shapes_captioning", key)``."""
    return cache_dir().joinpath(*parts)


def cache_key(**determinants) -> str:
    """A short, stable key for a cache entry: the first 16 hex digits of the sha256 of the
    determinants as sorted JSON (values must be JSON-serialisable: numbers, strings, lists,
    dicts). Everything that changes the cached result belongs in ``determinants``."""
    text = json.dumps(determinants, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
