"""The image helpers of the PyTorch parts (cs231n.image_utils): SqueezeNet normalisation and
reading image files."""

import numpy as np
import pytest
from PIL import Image

from cs231n.core.edition import using_edition
from cs231n.image_utils import (
    SQUEEZENET_MEAN,
    SQUEEZENET_STD,
    deprocess_image,
    load_image,
    preprocess_image,
)


def random_uint8(shape, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    img.flat[0], img.flat[1] = 0, 255  # both extremes present
    return img


def test_constants_are_torchvisions():
    np.testing.assert_array_equal(SQUEEZENET_MEAN, np.float32([0.485, 0.456, 0.406]))
    np.testing.assert_array_equal(SQUEEZENET_STD, np.float32([0.229, 0.224, 0.225]))


def test_preprocess_image_values():
    img = random_uint8((5, 7, 3))
    out = preprocess_image(img)
    assert out.shape == (5, 7, 3) and out.dtype == np.float32
    expected = (img / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 9, 3), (2, 4, 5, 3)])
def test_preprocess_deprocess_round_trip(shape):
    img = random_uint8(shape, seed=1)
    back = deprocess_image(preprocess_image(img))
    assert back.shape == img.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - img).max() <= 1


def test_deprocess_clips_out_of_range_values():
    x = np.stack([np.full((2, 2), -10.0), np.full((2, 2), 10.0), np.zeros((2, 2))], axis=-1)
    out = deprocess_image(x)
    assert (out[..., 0] == 0).all() and (out[..., 1] == 255).all()
    assert (np.abs(out[..., 2].astype(int) - round(255 * 0.406)) <= 1).all()


def test_deprocess_rescale_stretches_to_full_range():
    img = np.random.default_rng(2).integers(60, 180, (8, 8, 3), dtype=np.uint8)
    out = deprocess_image(preprocess_image(img), rescale=True)
    assert out.min() == 0 and out.max() == 255
    # monotone: the stretch is one affine map for all channels
    flat_in = (preprocess_image(img) * SQUEEZENET_STD + SQUEEZENET_MEAN).ravel()
    order = np.argsort(flat_in, kind="stable")
    assert (np.diff(out.ravel()[order].astype(int)) >= 0).all()


def test_deprocess_rescale_of_constant_image_is_black():
    flat = preprocess_image(np.full((3, 4, 3), 90, np.uint8))
    out = deprocess_image(flat, rescale=True)
    assert out.shape == (3, 4, 3) and not out.any()


# Regression: black (0) used to turn green, its rounding noise stretched to 0..255.
@pytest.mark.parametrize("value", [0, 1, 90, 128, 255])
def test_deprocess_rescale_keeps_a_uniform_image_uniform(value):
    out = deprocess_image(preprocess_image(np.full((3, 4, 3), value, np.uint8)), rescale=True)
    assert (out == out.flat[0]).all(), out[0, 0]


@pytest.fixture
def save(tmp_path):
    def _save(array_or_image, name, **kwargs):
        path = tmp_path / name
        img = (
            array_or_image
            if isinstance(array_or_image, Image.Image)
            else Image.fromarray(array_or_image)
        )
        img.save(path, **kwargs)
        return path

    return _save


def test_load_image_reads_rgb_png_exactly(save):
    img = random_uint8((10, 14, 3))
    out = load_image(save(img, "a.png"))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize(
    "hw, size, expected",
    [((100, 80), 40, (50, 40)), ((80, 100), 40, (40, 50)), ((30, 30), 64, (64, 64))],
)
def test_load_image_size_scales_the_shorter_side(save, hw, size, expected):
    path = save(random_uint8((*hw, 3)), "b.jpg", quality=95)
    with using_edition(2019):  # scipy's imresize: the aspect kept
        out = load_image(path, size=size)
    assert out.shape == (*expected, 3) and out.dtype == np.uint8
    out = load_image(path, size=size)  # the course's 2020-2026 form: (H', W') read as (W, H)
    assert out.shape == (expected[1], expected[0], 3) and out.dtype == np.uint8


def test_load_image_size_keeps_content():
    """Downscaling a smooth image keeps it close to the original (not flipped or transposed)."""
    y, x = np.mgrid[0:60, 0:90]
    img = np.stack([x * 2, y * 4, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    import io

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    buf.seek(0)
    with using_edition(2019):
        out = load_image(buf, size=30).astype(int)
    assert out.shape == (30, 45, 3)
    np.testing.assert_allclose(out, img[1::2, 1::2], atol=6)


def test_load_image_converts_rgba_grayscale_and_palette_to_rgb(save):
    rgb = random_uint8((6, 8, 3))
    rgba = np.concatenate([rgb, np.full((6, 8, 1), 77, np.uint8)], axis=-1)
    out = load_image(save(rgba, "rgba.png"))
    assert out.shape == (6, 8, 3)
    # composited over white, as a viewer shows it (tests/test_image_decoding.py has the rule)
    expected = (rgb.astype(int) * 77 + 255 * (255 - 77)) / 255
    np.testing.assert_array_equal(out, np.floor(expected + 0.5).astype(np.uint8))

    gray = random_uint8((6, 8))
    out = load_image(save(gray, "gray.png"))
    assert out.shape == (6, 8, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)

    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    out = load_image(save(palette, "palette.png"))
    assert out.shape == (6, 8, 3)
    np.testing.assert_array_equal(out, np.asarray(palette.convert("RGB")))


def test_load_image_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        load_image(tmp_path / "missing.jpg")


@pytest.mark.parametrize("payload", [b"definitely not an image", b""], ids=["text", "empty"])
def test_load_image_unreadable_file_is_an_oserror_naming_it(tmp_path, payload):
    path = tmp_path / "broken.jpg"
    path.write_bytes(payload)
    with pytest.raises(OSError, match="broken.jpg") as info:
        load_image(path)
    assert not isinstance(info.value, FileNotFoundError)


def test_load_image_truncated_file(save):
    path = save(random_uint8((64, 64, 3)), "cut.png")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(OSError, match="cut.png"):
        load_image(path)


def test_load_image_directory_is_an_oserror(tmp_path):
    with pytest.raises(OSError, match=str(tmp_path.name)):
        load_image(tmp_path)


@pytest.mark.parametrize("size", [0, -3, 2.5])
def test_load_image_bad_size(save, size):
    path = save(random_uint8((4, 4, 3)), "c.png")
    with pytest.raises(ValueError, match="size"):
        load_image(path, size=size)
