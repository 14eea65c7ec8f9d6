"""Image helpers shared by the captioning pages and the PyTorch parts."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile  # noqa: F401  (the course's module imports it: its star-import gives it)
import urllib.error
import urllib.request

import numpy as np

from .core.edition import edition as _edition


def image_from_url(url, timeout=20):
    """Download an image and return it as an (H, W, 3) uint8 array, or None when it cannot be
    fetched.

    As in the course, a URL that cannot be fetched (offline, HTTP error, timeout after
    ``timeout`` seconds) prints one line naming it and the reason, and gives None: the course's
    captioning notebooks rely on that (``if img is not None: plt.imshow(img)``, "Skip missing
    URLs"), since many COCO image URLs are gone. The line goes to stderr, so it stays out of
    piped output. A payload that is fetched but is not an image raises OSError naming the URL.
    Decoded by :func:`decode_image` (EXIF orientation, alpha over white, ...).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as e:
        print(f"HTTP Error: {e.code} {url}", file=sys.stderr)
        return None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        print(f"URL Error: {reason} {url} (this machine may be offline)", file=sys.stderr)
        return None
    try:
        return decode_image(io.BytesIO(payload), name=url)
    except OSError as e:  # decode_image's message names the URL
        raise OSError(f"image_from_url: {e}") from None


# torchvision's ImageNet normalisation, which SqueezeNet expects (the course's constants).
SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess_image(img):
    """(H, W, 3) RGB pixel values in 0..255 -> float32 normalised with the SqueezeNet mean and
    std (the course's: ``img / 255``, then the mean and std); also a batch (N, H, W, 3).

    As in the course, float arrays are pixel values on the 0..255 scale too (its notebooks pass
    ``255 * np.random.rand(H, W, 3)``). Integer arrays follow :func:`as_rgb_array`'s rule
    (0..255, greyscale (H, W), RGBA over white). Raises ValueError for NaN or infinite values,
    values outside 0..255, and shapes that are not images'."""
    a = np.asarray(img)
    if a.dtype.kind != "f":
        x = as_rgb_array(a, batch=True).astype(np.float32) / 255.0
        return (x - SQUEEZENET_MEAN) / SQUEEZENET_STD
    if a.ndim < 3 or a.shape[-1] != 3 or a.size == 0:
        raise ValueError(f"preprocess_image: shape {a.shape} is not (H, W, 3) or (N, H, W, 3)")
    if not np.isfinite(a).all():
        raise ValueError("preprocess_image: the image holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < -FLOAT_TOLERANCE * 255 or hi > 255 * (1 + FLOAT_TOLERANCE):
        raise ValueError(
            f"preprocess_image: {a.dtype} values in [{lo:g}, {hi:g}]; pixel values must be "
            "within 0..255 (the course's scale for this function)"
        )
    return (a.astype(np.float32) / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img, rescale=False):
    """Inverse of :func:`preprocess_image`; ``rescale`` stretches the result to [0, 1] first."""
    img = np.asarray(img) * SQUEEZENET_STD + SQUEEZENET_MEAN
    if rescale:
        vmin, vmax = img.min(), img.max()
        flat = vmax - vmin <= 1e-5 * max(1.0, abs(float(vmax)))  # rounding noise is not contrast
        img = np.zeros_like(img) if flat else (img - vmin) / (vmax - vmin)
    return np.clip(255 * img, 0.0, 255.0).astype(np.uint8)


def blur_image(X):
    """The course's gentle blur, a regulariser for image generation: each channel convolved
    with [[1, 2, 1], [2, 188, 2], [1, 2, 1]] / 200, zero padding 1.

    X: (N, C, H, W) array. Returns a float64 array of the same shape (the course's kernel is
    float64). Raises ValueError if X is not 4-dimensional.
    """
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"blur_image: X must have shape (N, C, H, W), got {X.shape}")
    kernel = np.array([[1, 2, 1], [2, 188, 2], [1, 2, 1]], dtype=np.float64) / 200.0
    H, W = X.shape[2:]
    padded = np.pad(X.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros(X.shape, dtype=np.float64)
    for i in range(3):
        for j in range(3):
            out += kernel[i, j] * padded[:, :, i : i + H, j : j + W]
    return out


def resize_shorter_side(img, size, resample=None):
    """A PIL image (or (H, W, 3) uint8 array) scaled so its shorter side is ``size`` pixels;
    returns a PIL image. ``resample`` defaults to bicubic.

    The longer side is ``int(size * long / short)``, truncated, as torchvision's ``Resize`` (the
    course's preprocessing) computes it.
    """
    from PIL import Image

    if not isinstance(img, Image.Image):
        img = Image.fromarray(np.asarray(img, dtype=np.uint8))
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    w, h = img.size
    size = int(size)
    new = (size, max(1, int(size * h / w))) if w <= h else (max(1, int(size * w / h)), size)
    return img.resize(new, Image.BICUBIC if resample is None else resample)


# ----------------------------------------------------------------------------------------------
# Reading images: one decoding function (decode_image) behind every entry point, and one rule for
# image arrays (as_rgb_array).

ALPHA_BACKGROUND = (255, 255, 255)
"""The colour transparent pixels are composited over: white, as a viewer or browser shows an
image on a white page. Used by :func:`decode_image` and :func:`as_rgb_array`."""

FLOAT_TOLERANCE = 1e-3
"""How far outside [0, 1] a float image may stray (rounding noise) before it is refused; such
values are clipped. 1e-3 is a quarter of one 8-bit grey level."""

_ACCEPTED_VALUES = "accepted: uint8, integers within 0..255, or floats within [0, 1]"
_ACCEPTED_SHAPES = "accepted: (H, W), (H, W, 3) or (H, W, 4)"


class ImageTooLargeError(ValueError):
    """An image with more pixels than PIL's ``Image.MAX_IMAGE_PIXELS``; refused unread."""


def _composite_uint8(rgb, alpha):
    """uint8 colours over ALPHA_BACKGROUND: round((c * a + bg * (255 - a)) / 255). No value
    lies exactly half-way (255 is odd), so the integer form below is round-to-nearest."""
    a = alpha.astype(np.uint32)[..., None]
    bg = np.asarray(ALPHA_BACKGROUND, np.uint32)
    return ((rgb.astype(np.uint32) * a + bg * (255 - a) + 127) // 255).astype(np.uint8)


def _grey_to_rgb(grey):
    return np.repeat(grey[..., None], 3, axis=-1)


def _value_error(name, kind, lo, hi, hint=""):
    return ValueError(
        f"{name}: {kind} values in [{lo:g}, {hi:g}] are not an image; {hint}{_ACCEPTED_VALUES}"
    )


def _checked_float(values, name):
    """Float pixels -> float32 within [0, 1] (FLOAT_TOLERANCE clipped), else ValueError."""
    if not np.isfinite(values).all():
        raise ValueError(f"{name}: {values.dtype} values include NaN or inf; {_ACCEPTED_VALUES}")
    lo, hi = float(values.min()), float(values.max())
    if lo < -FLOAT_TOLERANCE or hi > 1 + FLOAT_TOLERANCE:
        hint = "for 0..255 values pass a uint8 array or divide by 255; " if hi <= 255 else ""
        raise _value_error(name, str(values.dtype), lo, hi, hint)
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def as_rgb_array(img, name="image array", batch=False):
    """The rule for image arrays wherever one enters (``preprocess``, ``preprocess_image``,
    style transfer): an (H, W, 3) RGB array, uint8 or float32.

    Accepted values: uint8 (kept as is); other integer dtypes within 0..255 (cast to uint8,
    exactly); floats within [0, 1] (float32, not rounded: they are 0..255 pixel values divided
    by 255), up to FLOAT_TOLERANCE outside being clipped. Refused with a ValueError naming the
    dtype and range found: floats outside [0, 1] (such as 0..255 floats, or an already
    normalised image), NaN or inf, integers outside 0..255, bool and any other dtype.
    Accepted shapes: (H, W) greyscale (repeated into three channels), (H, W, 3) RGB and
    (H, W, 4) RGBA, its alpha composited over ALPHA_BACKGROUND (white; for uint8 the result is
    rounded to the nearest integer). ``batch=True`` also accepts leading dimensions before
    (H, W, 3) or (H, W, 4), as in (N, H, W, 3). Nothing is ever truncated silently.
    """
    a = np.asarray(img)
    channels = a.shape[-1] if a.ndim >= 3 else None
    if not (a.ndim == 2 or (channels in (3, 4) and (a.ndim == 3 or (batch and a.ndim > 3)))):
        extra = " (or a batch of them)" if batch else ""
        raise ValueError(f"{name}: shape {a.shape} is not an image's; {_ACCEPTED_SHAPES}{extra}")
    if a.size == 0:
        raise ValueError(f"{name}: shape {a.shape} is an empty image; {_ACCEPTED_SHAPES}")
    if a.dtype == np.uint8:
        pass
    elif a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise _value_error(name, str(a.dtype), lo, hi)
        a = a.astype(np.uint8)
    elif a.dtype.kind == "f":
        a = _checked_float(a, name)
    else:
        raise ValueError(f"{name}: dtype {a.dtype} is not an image's; {_ACCEPTED_VALUES}")
    if channels is None:
        return _grey_to_rgb(a)
    if channels == 4:
        rgb, alpha = a[..., :3], a[..., 3]
        if a.dtype == np.uint8:
            return _composite_uint8(rgb, alpha)
        bg = np.asarray(ALPHA_BACKGROUND, np.float32) / 255
        return (rgb * alpha[..., None] + bg * (1 - alpha[..., None])).astype(np.float32)
    return a


def _source_name(source):
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", None) or "image")


def _header_size(source):
    """(width, height) read from the file's header without PIL's size check (for the message
    about a file PIL refuses to open); None when it cannot be read."""
    from PIL import Image

    try:
        with contextlib.ExitStack() as stack:
            fp = source if hasattr(source, "read") else stack.enter_context(open(source, "rb"))
            fp.seek(0)
            prefix = fp.read(16)
            for fmt in Image.ID:
                factory, accept = Image.OPEN[fmt]
                ok = accept(prefix) if accept else True
                if ok and not isinstance(ok, str):
                    fp.seek(0)
                    with contextlib.suppress(Exception):
                        return tuple(factory(fp, "").size)
    except Exception:
        pass
    return None


def _check_pixels(size, name):
    """Refuse images above PIL's ``Image.MAX_IMAGE_PIXELS`` before any pixel is decoded."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if size is None or (limit is not None and size[0] * size[1] > limit):
        shown = f"{size[0]}x{size[1]} pixels ({size[0] * size[1]:,})" if size else "its size"
        raise ImageTooLargeError(
            f"{name}: {shown} is too large to decode; the limit is {limit:,} pixels "
            "(PIL.Image.MAX_IMAGE_PIXELS, a guard against decompression bombs)"
        )


def _pil_to_rgb(im, name):
    """A loaded PIL image of any mode -> (H, W, 3) uint8 RGB (see :func:`decode_image`)."""
    mode = im.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        values = np.asarray(im).astype(np.int64)
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or hi > 65535:
            raise ValueError(
                f"{name}: mode {mode} values in [{lo}, {hi}] are not 16-bit greyscale "
                "(0..65535), the only integer images read"
            )
        return _grey_to_rgb(((values + 128) // 257).astype(np.uint8))
    if mode == "F":
        grey = _checked_float(np.asarray(im, dtype=np.float64), f"{name} (mode F)")
        return _grey_to_rgb(np.floor(grey.astype(np.float64) * 255 + 0.5).astype(np.uint8))
    try:
        if mode in ("La", "RGBa"):  # premultiplied alpha
            im = im.convert(mode.upper())
        if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
            rgba = np.asarray(im.convert("RGBA"))
            return _composite_uint8(rgba[..., :3], rgba[..., 3])
        return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, KeyError) as e:  # a mode PIL cannot turn into RGB
        raise OSError(f"{name}: cannot convert a mode {mode} image to RGB ({e})") from None


def decode_image(source, name=None):
    """Decode an image as a viewer shows it: (H, W, 3) uint8 RGB.

    ``source``: a path, a binary file object or a PIL image; ``name`` (default: the path) is
    what errors call it. Every entry point that reads images uses this function:
    :func:`load_image`, the command line, style transfer and ``preprocess`` given a PIL image.

    - EXIF orientation (all 8) is applied, as ``PIL.ImageOps.exif_transpose`` does.
    - Alpha (RGBA, LA, PA, premultiplied RGBa / La, palette or greyscale or RGB images with a
      transparent colour) is composited over ALPHA_BACKGROUND (white):
      round((c * a + 255 * (255 - a)) / 255), so red (255, 0, 0) at alpha 128 gives
      (255, 127, 127).
    - 1-bit, greyscale (L) and palette (P) images become RGB; CMYK, YCbCr and other modes go
      through PIL's conversion to RGB (no colour management: ICC profiles are ignored).
    - 16-bit greyscale (I;16, I;16B, ...) and 32-bit integer (I) images with values in
      0..65535: v -> round(v * 255 / 65535) = round(v / 257), to the nearest integer; no value
      lies exactly half-way (257 is odd): 257 * k -> k, 32767 (127.498) -> 127, 32768 (127.502)
      -> 128. Mode I values outside 0..65535 are refused (ValueError).
    - Float (F) images must lie within [0, 1] (see FLOAT_TOLERANCE): v -> floor(v * 255 + 0.5),
      rounding half up; other ranges, NaN and inf are refused (ValueError).

    Images of more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels (PIL's default, 89,478,485,
    about 9459 x 9459) are refused from their header, before any decoding, with an
    :class:`ImageTooLargeError` (a ValueError) naming the file, its size and the limit.
    A missing file raises FileNotFoundError, anything else unreadable (not an image,
    truncated, a folder) an OSError; both name the file.
    """
    import warnings

    from PIL import Image, ImageOps

    if isinstance(source, Image.Image):
        name = name or "image"
        im, owned = source, contextlib.nullcontext()
    else:
        name = name or _source_name(source)
        try:
            with warnings.catch_warnings():  # refused below, with the file's name
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(source)
        except FileNotFoundError:
            raise FileNotFoundError(f"image not found: {name}") from None
        except Image.DecompressionBombError:
            _check_pixels(_header_size(source), name)
            raise  # unreachable: PIL refuses only images above our limit
        except (OSError, ValueError, SyntaxError, EOFError) as e:
            raise OSError(f"{name}: not a readable image ({e})") from None
        owned = im
    with owned:
        _check_pixels(im.size, name)
        try:
            im.load()
            im = ImageOps.exif_transpose(im)
        except (OSError, ValueError, SyntaxError, EOFError, IndexError) as e:
            raise OSError(f"{name}: not a readable image ({e})") from None
        return _pil_to_rgb(im, name)


# The last edition whose load_image resized with scipy.misc.imresize (removed from SciPy 1.3).
LAST_IMRESIZE_EDITION = 2019


def load_image(filename, size=None):
    """Read an image file as (H, W, 3) uint8 RGB, as :func:`decode_image` decodes it (EXIF
    orientation applied, alpha over white, 16-bit scaled); with ``size``, rescale it so that its
    shorter side is ``size`` pixels, the way the course's edition in force did
    (:func:`cs231n.set_edition`), because the style-transfer notebooks' expected values were
    computed on those pixels:

    - up to 2019, SciPy's ``imresize(img, scale)``: bilinear (PIL's), each side
      ``int(side * scale)`` with ``scale = size / shorter side``;
    - from 2020, the course's PIL call ``resize((H', W'), NEAREST)``, which PIL reads as
      (width, height): the image comes out transposed in shape, a 768x1024 (HxW) photo as
      256x192, squeezed, not rotated. The course's own code carries a TODO saying so; its
      notebooks' checks (the total-variation loss of ``tubingen.jpg`` at 192: 1704.19 in 2020,
      303.47 in 2018, ``style-transfer-checks-tf.npz``) hold only for these pixels.

    The package's own commands never pass ``size``: they scale with :func:`resize_shorter_side`
    (aspect kept, bicubic). Unreadable files get an error naming them (FileNotFoundError,
    OSError; ImageTooLargeError for images above PIL's MAX_IMAGE_PIXELS)."""
    from PIL import Image

    if size is not None and (int(size) != size or size < 1):
        raise ValueError(f"size must be a positive integer, got {size!r}")
    img = decode_image(filename)
    if size is None:
        return img
    orig_shape = np.array(img.shape[:2])
    scale = float(size) / orig_shape.min()
    if _edition() <= LAST_IMRESIZE_EDITION:
        pil = Image.fromarray(img)
        new = tuple(int(v) for v in (np.array(pil.size) * scale).astype(int))
        return np.asarray(pil.resize(tuple(max(1, v) for v in new), Image.BILINEAR))
    new = tuple(max(1, int(v)) for v in (orig_shape * scale).astype(int))
    return np.asarray(Image.fromarray(img).resize(new, resample=Image.NEAREST))
