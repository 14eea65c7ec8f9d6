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


# torchvision's ImageNet normalisation, which SqueezeNet expects (the course's constants).
SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess_image(img):
    """(H, W, 3) uint8 RGB -> float32 normalised with the SqueezeNet mean and std."""
    return (np.asarray(img).astype(np.float32) / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img, rescale=False):
    """Inverse of :func:`preprocess_image`; ``rescale`` stretches the result to [0, 1] first."""
    img = np.asarray(img) * SQUEEZENET_STD + SQUEEZENET_MEAN
    if rescale:
        vmin, vmax = img.min(), img.max()
        flat = vmax - vmin <= 1e-5 * max(1.0, abs(float(vmax)))  # rounding noise is not contrast
        img = np.zeros_like(img) if flat else (img - vmin) / (vmax - vmin)
    return np.clip(255 * img, 0.0, 255.0).astype(np.uint8)


def resize_shorter_side(img, size, resample=None):
    """A PIL image (or (H, W, 3) uint8 array) scaled so its shorter side is ``size`` pixels;
    returns a PIL image. ``resample`` defaults to bicubic."""
    from PIL import Image

    if not isinstance(img, Image.Image):
        img = Image.fromarray(np.asarray(img, dtype=np.uint8))
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    w, h = img.size
    scale = float(size) / min(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(new, Image.BICUBIC if resample is None else resample)


def load_image(filename, size=None):
    """Read an image file as (H, W, 3) uint8 RGB; with ``size``, scale so the shorter side is
    ``size`` pixels. Unreadable files get an error naming them."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(filename) as im:
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit/float grayscale
                values = np.asarray(im, dtype=np.float64)
                top = 65535.0 if im.mode.startswith("I;16") else max(values.max(), 1.0)
                im = Image.fromarray(np.clip(values / top * 255, 0, 255).astype(np.uint8))
            img = im.convert("RGB")
    except FileNotFoundError:
        raise FileNotFoundError(f"image not found: {filename}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise OSError(f"{filename}: not a readable image ({e})") from None
    if size is not None:
        img = resize_shorter_side(img, size)
    return np.asarray(img)
