"""The project's one data-directory setting.

Every loader resolves its default path through :func:`data_dir`: the environment variable
``CS231N_DATA`` when set, else a per-user cache folder. The folder is laid out like the
course's data (``squeezenet1_1.pt``, ``imagenet_val_25.npz``, ``styles/``,
``coco_captioning/``, ...).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_ENV_VAR = "CS231N_DATA"


def default_cache_dir() -> Path:
    """The per-user cache folder used when ``CS231N_DATA`` is not set."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "cs231n" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "cs231n"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cs231n"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: ``override`` if given, else ``$CS231N_DATA``, else the user cache."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


def data_path(*parts: str, data_root: str | os.PathLike | None = None) -> Path:
    """A path inside the data directory, e.g. ``data_path("coco_captioning")``."""
    return data_dir(data_root).joinpath(*parts)
