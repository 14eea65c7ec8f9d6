"""Image helpers shared by the captioning pages and the PyTorch parts."""

from __future__ import annotations

import io
import urllib.error
import urllib.request

import numpy as np


def image_from_url(url, timeout=20):
    """Download an image and return it as an (H, W, 3) uint8 array.

    Raises OSError with the URL when it cannot be fetched (offline, HTTP error) or decoded;
    the course's version printed the error and returned None.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as e:
        raise OSError(f"image_from_url: HTTP error {e.code} for {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise OSError(
            f"image_from_url: cannot fetch {url} ({reason}); this machine may be offline"
        ) from None
    try:
        with Image.open(io.BytesIO(payload)) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as e:
        raise OSError(f"image_from_url: {url} is not a readable image ({e})") from None
