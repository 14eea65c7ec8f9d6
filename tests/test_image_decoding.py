"""How images are decoded and which image arrays are accepted (issue #11, kinds b, f and n):
cs231n.image_utils.decode_image (EXIF orientation, every PIL mode, alpha over white, the size
limit), as_rgb_array's rule and the entry points that use them (load_image, preprocess,
preprocess_image, style transfer's inputs). Each odd image is built here, in tmp_path."""

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n import image_utils
from cs231n.core.edition import using_edition
from cs231n.image_utils import (
    ALPHA_BACKGROUND,
    ImageTooLargeError,
    as_rgb_array,
    decode_image,
    load_image,
    preprocess_image,
)
from cs231n.net_visualization_pytorch import preprocess
from cs231n.style_transfer_pytorch import _as_image_tensor

ORIENTATION = 0x0112


def pattern(h, w, seed=0):
    """A uint8 (h, w, 3) image whose every pixel differs (so flips and turns show)."""
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[0, 0], img[0, 1] = 0, 255
    return img


def with_orientation(img, orientation):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif


def forged_png(path, width, height):
    """A valid 1x1 PNG whose IHDR claims width x height (CRC fixed): a decompression bomb's
    header, a few dozen bytes on disk."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def round_half_up(x):
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.uint8)


# ---- b. EXIF orientation ----

# What a viewer shows for each EXIF orientation of the stored pixels (the EXIF specification),
# written with NumPy rather than PIL.
VIEWED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # turned 180 degrees
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),  # transposed
    6: lambda a: np.rot90(a, -1),  # turned 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # transversed
    8: lambda a: np.rot90(a, 1),  # turned 90 degrees anticlockwise
}


@pytest.mark.parametrize("orientation", sorted(VIEWED))
def test_every_exif_orientation_is_applied(tmp_path, orientation):
    stored = pattern(6, 10)  # 10 wide, 6 high
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(stored).save(path, exif=with_orientation(stored, orientation))
    out = load_image(path)
    np.testing.assert_array_equal(out, VIEWED[orientation](stored))
    with Image.open(path) as im:  # a PIL image keeps its EXIF: decoded the same way
        np.testing.assert_array_equal(decode_image(im), out)


def test_rotated_jpeg_from_the_issue_loads_portrait(tmp_path):
    """Regression: a JPEG stored 100x60 with Orientation=6 loaded as (60, 100, 3)."""
    y, x = np.mgrid[0:60, 0:100]
    stored = np.stack([x * 2, y * 4, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=with_orientation(stored, 6))
    out = load_image(path)
    assert out.shape == (100, 60, 3)
    assert np.abs(out.astype(int) - np.rot90(stored, -1)).max() <= 8  # JPEG's loss
    with using_edition(2019):  # the imresize form keeps the (EXIF-applied) aspect
        assert load_image(path, size=30).shape == (50, 30, 3)
    with Image.open(path) as im:
        assert preprocess(im, size=None).shape == (1, 3, 100, 60)
    assert _as_image_tensor(str(path), None, "cpu", torch.float32).shape == (1, 3, 100, 60)


def test_unknown_orientation_values_are_ignored(tmp_path):
    stored = pattern(4, 5)
    path = tmp_path / "o9.png"
    Image.fromarray(stored).save(path, exif=with_orientation(stored, 9))
    np.testing.assert_array_equal(load_image(path), stored)


# ---- b. modes ----


def test_alpha_background_is_white():
    assert ALPHA_BACKGROUND == (255, 255, 255)


@pytest.mark.parametrize(
    "rgba, expected",
    [
        ((255, 0, 0, 128), (255, 127, 127)),  # half-transparent red over white
        ((255, 0, 0, 127), (255, 128, 128)),
        ((10, 20, 30, 0), (255, 255, 255)),  # transparent: the background
        ((10, 20, 30, 255), (10, 20, 30)),  # opaque: unchanged
        ((0, 100, 200, 51), (204, 224, 244)),
    ],
)
def test_rgba_is_composited_over_white(tmp_path, rgba, expected):
    path = tmp_path / "a.png"
    Image.new("RGBA", (3, 2), rgba).save(path)
    out = load_image(path)
    assert out.shape == (2, 3, 3)
    assert (out == expected).all(), out[0, 0]


def test_alpha_composite_rule_on_every_value(tmp_path):
    """round((c * a + 255 * (255 - a)) / 255) for every colour c and alpha a."""
    c, a = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgba = np.stack([c, c, c, a], axis=-1).astype(np.uint8)
    path = tmp_path / "all.png"
    Image.fromarray(rgba).save(path)
    expected = round_half_up((c * a + 255 * (255 - a)) / 255)
    out = load_image(path)
    for k in range(3):
        np.testing.assert_array_equal(out[..., k], expected)
    np.testing.assert_array_equal(as_rgb_array(rgba)[..., 0], expected)  # arrays: same rule


def test_greyscale_alpha_modes(tmp_path):
    path = tmp_path / "la.png"
    Image.new("LA", (2, 2), (100, 128)).save(path)
    assert (load_image(path) == round_half_up((100 * 128 + 255 * 127) / 255)).all()  # 177
    # premultiplied La and RGBa, and PA (PIL cannot save them as PNG): in-memory images
    assert (decode_image(Image.new("La", (1, 1), (50, 128))) == 177).all()  # 50 = 100 * 128/255
    assert (decode_image(Image.new("RGBa", (1, 1), (128, 0, 0, 128))) == (255, 127, 127)).all()
    palette = Image.new("P", (2, 1))
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.putpixel((1, 0), 1)
    pa = palette.convert("PA")
    pa.putalpha(Image.fromarray(np.uint8([[128, 255]])))
    assert pa.mode == "PA"
    np.testing.assert_array_equal(decode_image(pa), [[[255, 127, 127], [0, 0, 255]]])


def test_palette_with_and_without_transparency(tmp_path):
    palette = Image.new("P", (3, 1))
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    for x in range(3):
        palette.putpixel((x, 0), x)
    opaque, see_through, partial = (tmp_path / f"{n}.png" for n in ("p", "pt", "pa"))
    palette.save(opaque)
    np.testing.assert_array_equal(load_image(opaque), [[[255, 0, 0], [0, 255, 0], [0, 0, 255]]])
    palette.save(see_through, transparency=1)  # green is the transparent colour
    np.testing.assert_array_equal(
        load_image(see_through), [[[255, 0, 0], [255, 255, 255], [0, 0, 255]]]
    )
    palette.save(partial, transparency=bytes([128, 255, 0]))  # per-entry alpha (tRNS)
    np.testing.assert_array_equal(
        load_image(partial), [[[255, 127, 127], [0, 255, 0], [255, 255, 255]]]
    )


def test_greyscale_and_rgb_with_a_transparent_colour(tmp_path):
    grey = np.uint8([[0, 100, 200]])
    path = tmp_path / "lt.png"
    Image.fromarray(grey).save(path, transparency=100)
    np.testing.assert_array_equal(load_image(path)[..., 0], [[0, 255, 200]])
    rgb = np.uint8([[[1, 2, 3], [4, 5, 6]]])
    path = tmp_path / "rgbt.png"
    Image.fromarray(rgb).save(path, transparency=(4, 5, 6))
    np.testing.assert_array_equal(load_image(path), [[[1, 2, 3], [255, 255, 255]]])


def test_greyscale_and_one_bit(tmp_path):
    grey = pattern(5, 7)[..., 0]
    Image.fromarray(grey).save(tmp_path / "l.png")
    np.testing.assert_array_equal(load_image(tmp_path / "l.png"), np.stack([grey] * 3, axis=-1))
    bits = Image.new("1", (3, 1))
    bits.putpixel((1, 0), 1)
    bits.save(tmp_path / "1.png")
    out = load_image(tmp_path / "1.png")
    assert out.shape == (1, 3, 3)
    np.testing.assert_array_equal(out[..., 0], [[0, 255, 0]])


def test_cmyk_is_converted_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (4, 1))
    for x, value in enumerate([(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255)]):
        cmyk.putpixel((x, 0), value)
    cmyk.save(tmp_path / "c.tif")
    np.testing.assert_array_equal(
        load_image(tmp_path / "c.tif"),
        [[[255, 255, 255], [0, 255, 255], [255, 0, 0], [0, 0, 0]]],
    )


def sixteen_bit_values():
    return np.arange(65536, dtype=np.int64).reshape(256, 256)


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_sixteen_bit_greyscale_is_rounded_not_truncated(tmp_path, mode):
    v = sixteen_bit_values()
    dtype = {"I;16": "<u2", "I;16B": ">u2", "I": "<i4"}[mode]
    im = Image.frombytes(mode, (256, 256), v.astype(dtype).tobytes())
    assert im.mode == mode
    path = tmp_path / "g16.tif"
    im.save(path)
    with Image.open(path) as back:
        assert back.mode == mode
    out = load_image(path)
    # round(v * 255 / 65535) = round(v / 257): no value lies half-way (257 is odd)
    expected = round_half_up(v / 257)
    for k in range(3):
        np.testing.assert_array_equal(out[..., k], expected)
    flat = out[..., 0].ravel()
    assert (flat[257 * np.arange(256)] == np.arange(256)).all()  # 257 k -> k exactly
    assert (flat[128], flat[129]) == (0, 1)  # 0.498 -> 0, 0.502 -> 1
    assert (flat[32767], flat[32768]) == (127, 128)  # 127.498 -> 127, 127.502 -> 128
    assert flat[65535] == 255


def test_sixteen_bit_png(tmp_path):
    v = np.array([[0, 257, 32767, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(v).save(tmp_path / "g.png")
    np.testing.assert_array_equal(load_image(tmp_path / "g.png")[..., 0], [[0, 1, 127, 128, 255]])


def test_mode_i_outside_sixteen_bits_is_refused(tmp_path):
    path = tmp_path / "wide.tif"
    Image.frombytes("I", (2, 1), np.int32([-5, 70000]).tobytes()).save(path)
    with pytest.raises(ValueError, match=r"wide\.tif: mode I values in \[-5, 70000\]"):
        load_image(path)


def test_float_images(tmp_path):
    path = tmp_path / "f.tif"
    values = np.float32([[0.0, 0.25, 0.5, 1.0, 1.0004, -0.0004]])
    Image.fromarray(values).save(path)
    # v -> floor(255 v + 0.5): 63.75 -> 64, 127.5 -> 128; within FLOAT_TOLERANCE clipped
    np.testing.assert_array_equal(load_image(path)[..., 0], [[0, 64, 128, 255, 255, 0]])
    Image.fromarray(np.float32([[0.0, 200.0]])).save(path)
    with pytest.raises(ValueError, match=r"f\.tif.*float.* \[0, 200\].*\[0, 1\]"):
        load_image(path)
    Image.fromarray(np.float32([[0.0, np.nan]])).save(path)
    with pytest.raises(ValueError, match=r"f\.tif.*NaN"):
        load_image(path)


# ---- b. errors kept ----


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.png"):
        decode_image(tmp_path / "gone.png")
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(OSError, match=r"x\.png: not a readable image"):
        decode_image(tmp_path / "x.png")
    with pytest.raises(OSError, match="photo"):
        decode_image(io.BytesIO(b"junk"), name="photo")


# ---- f. image arrays: one rule ----


def test_preprocess_float_image_in_unit_range():
    """Regression: a float32 image in [0, 1] was cast to uint8 (all 0 or 1)."""
    img = pattern(40, 60)
    as_float = img.astype(np.float32) / 255
    for size in (None, 32):
        expected = preprocess(img, size=size)
        got = preprocess(as_float, size=size)
        assert got.shape == expected.shape
        # the uint8 path resizes in fixed point and rounds to integers, the float path does not
        tolerance = 1e-5 if size is None else 1.5 / 255 / 0.224
        torch.testing.assert_close(got, expected, rtol=0, atol=tolerance)
    assert preprocess(as_float, size=None).std() > 0.5  # not a near-constant tensor
    torch.testing.assert_close(  # not rounded: 0.5 is 127.5 grey levels
        preprocess(np.full((4, 4, 3), 0.5, np.float64), size=None)[0, :, 0, 0],
        torch.from_numpy((0.5 - image_utils.SQUEEZENET_MEAN) / image_utils.SQUEEZENET_STD),
    )


def test_other_accepted_arrays():
    img = pattern(8, 9)
    torch.testing.assert_close(preprocess(img.astype(np.int64), 8), preprocess(img, 8))
    grey = img[..., 0]
    torch.testing.assert_close(
        preprocess(grey, None), preprocess(np.stack([grey] * 3, axis=-1), None)
    )
    rgba = np.concatenate([img, np.full((8, 9, 1), 0, np.uint8)], axis=-1)
    white = preprocess(np.full((8, 9, 3), 255, np.uint8), None)
    torch.testing.assert_close(preprocess(rgba, None), white)  # transparent: white
    torch.testing.assert_close(preprocess(rgba.astype(np.float32) / 255, None), white)


BAD_ARRAYS = {
    "float 0..255": (np.full((8, 8, 3), 200.0, np.float32), r"float32 values in \[200, 200\]"),
    "normalised": (np.linspace(-2, 2, 192).reshape(8, 8, 3), r"float64 values in \[-2, 2\]"),
    "just above 1": (np.full((8, 8, 3), 1.01), r"float64 values in \[1.01, 1.01\]"),
    "nan": (np.full((8, 8, 3), np.nan, np.float32), "NaN or inf"),
    "inf": (np.full((8, 8, 3), np.inf), "NaN or inf"),
    "int 300": (np.full((8, 8, 3), 300, np.int64), r"int64 values in \[300, 300\]"),
    "negative int": (np.full((8, 8, 3), -1, np.int16), r"int16 values in \[-1, -1\]"),
    "uint16": (np.full((8, 8, 3), 1000, np.uint16), r"uint16 values in \[1000, 1000\]"),
    "bool": (np.ones((8, 8, 3), bool), "dtype bool"),
    "complex": (np.ones((8, 8, 3), complex), "dtype complex128"),
    "channels first": (np.zeros((3, 8, 8), np.uint8), r"shape \(3, 8, 8\)"),
    "two channels": (np.zeros((8, 8, 2), np.uint8), r"shape \(8, 8, 2\)"),
    "1-D": (np.zeros(8, np.uint8), r"shape \(8,\)"),
    "batch": (np.zeros((1, 8, 8, 3), np.uint8), r"shape \(1, 8, 8, 3\)"),
    "empty": (np.zeros((0, 8, 3), np.uint8), "empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_ARRAYS))
def test_bad_arrays_are_refused_everywhere(name):
    array, match = BAD_ARRAYS[name]
    with pytest.raises(ValueError, match=match) as info:
        preprocess(array, size=None)
    message = str(info.value)
    assert "accepted" in message
    with pytest.raises(ValueError, match=match):
        _as_image_tensor(array, None, "cpu", torch.float32)
    if name not in ("batch", "float 0..255", "just above 1"):  # preprocess_image: 0..255 floats
        with pytest.raises(ValueError, match=match):
            preprocess_image(array)


def test_values_within_the_tolerance_are_clipped():
    img = np.full((4, 4, 3), 1 + 5e-4, np.float32)
    img[0, 0] = -5e-4
    out = as_rgb_array(img)
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1


def test_float_0_255_hint():
    with pytest.raises(ValueError, match="divide by 255"):
        preprocess(np.full((8, 8, 3), 100.0), size=None)


def test_preprocess_image_keeps_uint8_values_and_takes_batches():
    batch = np.stack([pattern(5, 6, seed=s) for s in range(2)])
    out = preprocess_image(batch)
    assert out.shape == (2, 5, 6, 3) and out.dtype == np.float32
    expected = (batch.astype(np.float32) / 255.0 - image_utils.SQUEEZENET_MEAN) / (
        image_utils.SQUEEZENET_STD
    )
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(preprocess_image(batch.astype(np.float64)), expected, atol=1e-6)


def test_preprocess_image_takes_floats_on_the_courses_0_255_scale():
    """The course's preprocess_image divides by 255 whatever the dtype, and its TensorFlow
    notebook starts class visualization from preprocess_image(255 * np.random.rand(224, 224, 3));
    so floats here are 0..255 pixel values too (unlike preprocess, where they are 0..1)."""
    noise = 255 * np.random.default_rng(0).random((6, 7, 3))
    expected = (noise.astype(np.float32) / 255.0 - image_utils.SQUEEZENET_MEAN) / (
        image_utils.SQUEEZENET_STD
    )
    np.testing.assert_array_equal(preprocess_image(noise), expected)
    with pytest.raises(ValueError, match="within 0..255"):
        preprocess_image(np.full((4, 4, 3), 256.0))


def test_style_transfer_accepts_float_arrays():
    img = pattern(40, 48)
    torch.testing.assert_close(
        _as_image_tensor(img.astype(np.float32) / 255, None, "cpu", torch.float32),
        _as_image_tensor(img, None, "cpu", torch.float32),
        rtol=0,
        atol=1e-5,
    )


# ---- n. images too large ----


@pytest.mark.parametrize("side", [20000, 65535])
def test_decompression_bombs_are_refused_with_their_size(tmp_path, side):
    path = forged_png(tmp_path / "huge.png", side, side)
    assert path.stat().st_size < 100
    with pytest.raises(ImageTooLargeError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message and f"{side}x{side} pixels" in message
    assert f"{Image.MAX_IMAGE_PIXELS:,}" in message
    assert isinstance(info.value, ValueError)
    with open(path, "rb") as f, pytest.raises(ImageTooLargeError, match=f"{side}x{side}"):
        decode_image(f)


def test_images_just_over_the_limit_are_refused_before_decoding(tmp_path):
    """PIL only warns between its limit and twice it; such images are refused unread (the
    forged file has no pixel data: decoding it would fail differently)."""
    path = forged_png(tmp_path / "big.png", 10000, 9000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning either
        with pytest.raises(ImageTooLargeError, match=r"big\.png: 10000x9000 pixels"):
            load_image(path)


def test_the_limit_is_pils(tmp_path, monkeypatch):
    Image.fromarray(pattern(20, 20)).save(tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 399)
    with pytest.raises(ImageTooLargeError, match="20x20 pixels .* limit is 399 pixels"):
        load_image(tmp_path / "a.png")
    with pytest.raises(ImageTooLargeError):
        preprocess(Image.fromarray(pattern(20, 20)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 400)
    assert load_image(tmp_path / "a.png").shape == (20, 20, 3)
