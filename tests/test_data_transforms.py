"""Augmentations with torchvision's parameters (cs231n/data/transforms.py): what each does, on PIL
images and on tensors, and the draws torchvision makes."""

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n.data import transforms as T


def _image(seed=0, size=(32, 32)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8), "RGB")


def _tensor(img):
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255


def test_to_tensor_and_normalize():
    img = _image()
    x = T.ToTensor()(img)
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert torch.allclose(x, _tensor(img))
    y = T.Normalize([0.5, 0.25, 0.0], [0.5, 0.25, 1.0])(x)
    assert torch.allclose(y[0], (x[0] - 0.5) / 0.5) and torch.allclose(y[2], x[2])
    with pytest.raises(ValueError, match="channels"):
        T.Normalize([0.5], [0.5])(x)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_resized_crop_whole_image_is_identity(as_tensor):
    img = _image()
    x = _tensor(img) if as_tensor else img
    out = T.RandomResizedCrop(32, scale=(1.0, 1.0), ratio=(1.0, 1.0))(x)
    got = out if as_tensor else _tensor(out)
    assert torch.allclose(got, _tensor(img), atol=1e-6)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_resized_crop_size_and_range(as_tensor):
    torch.manual_seed(0)
    img = _image(size=(40, 50))
    x = _tensor(img) if as_tensor else img
    for _ in range(20):
        out = T.RandomResizedCrop(32)(x)
        assert (out.shape[-2:] == (32, 32)) if as_tensor else out.size == (32, 32)
    i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
    assert 0 <= i <= 40 - h and 0 <= j <= 50 - w and h * w <= 40 * 50


def test_crop_draws_as_torchvision():
    """torchvision's RandomResizedCrop.get_params: a uniform area fraction, then a log-uniform
    aspect ratio, then the corner (two randint); the first draw that fits is used."""
    import math

    torch.manual_seed(7)
    got = T.RandomResizedCrop.get_params(_image(), (0.08, 1.0), (3 / 4, 4 / 3))
    torch.manual_seed(7)
    area = 32 * 32 * torch.empty(1).uniform_(0.08, 1.0).item()
    logr = torch.log(torch.tensor((3 / 4, 4 / 3)))
    ratio = math.exp(torch.empty(1).uniform_(logr[0], logr[1]).item())
    w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
    assert 0 < w <= 32 and 0 < h <= 32  # seed 7 fits at the first try
    i = torch.randint(0, 32 - h + 1, (1,)).item()
    j = torch.randint(0, 32 - w + 1, (1,)).item()
    assert got == (i, j, h, w)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_flip_and_apply_probabilities(as_tensor):
    img = _image()
    x = _tensor(img) if as_tensor else img
    flipped = T.RandomHorizontalFlip(p=1.0)(x)
    same = T.RandomHorizontalFlip(p=0.0)(x)
    flipped, same = (flipped, same) if as_tensor else (_tensor(flipped), _tensor(same))
    assert torch.equal(flipped, _tensor(img).flip(-1))
    assert torch.equal(same, _tensor(img))
    never = T.RandomApply([T.RandomHorizontalFlip(p=1.0)], p=0.0)(x)
    assert torch.equal(never if as_tensor else _tensor(never), _tensor(img))


@pytest.mark.parametrize("as_tensor", [False, True])
def test_grayscale_keeps_channels_with_luma(as_tensor):
    img = _image()
    x = _tensor(img) if as_tensor else img
    out = T.RandomGrayscale(p=1.0)(x)
    out = out if as_tensor else _tensor(out)
    assert out.shape == (3, 32, 32)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    r, g, b = _tensor(img)
    # ITU-R 601-2 luma, PIL's convert("L") (8-bit there).
    assert torch.allclose(out[0], 0.299 * r + 0.587 * g + 0.114 * b, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(
    "adjust, factor",
    [
        (T.adjust_brightness, 1.3),
        (T.adjust_contrast, 0.7),
        (T.adjust_saturation, 1.4),
        (T.adjust_hue, 0.1),
        (T.adjust_hue, -0.1),
    ],
)
def test_pil_and_tensor_paths_agree(adjust, factor):
    img = _image(3)
    from_pil = _tensor(adjust(img, factor))
    from_tensor = adjust(_tensor(img), factor)
    # PIL works in 8 bits, and its hue in 8-bit HSV (coarse where saturation is low): about
    # one level apart on average, a dozen at most (measured: 1.2 and 12.2 for the hue).
    diff = (from_pil - from_tensor).abs()
    assert diff.mean() < 2 / 255 and diff.max() < 16 / 255


def test_hue_rotation_and_grey_images():
    red = torch.zeros(3, 1, 1)
    red[0] = 1
    green = T.adjust_hue(red, 1 / 3)
    assert torch.allclose(green[:, 0, 0], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    grey = Image.fromarray(np.full((4, 4), 100, np.uint8), "L")
    assert T.adjust_hue(grey, 0.3) is grey


def test_color_jitter_ranges_and_errors():
    jitter = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    assert jitter.brightness == (0.6, 1.4) and jitter.hue == (-0.1, 0.1)
    assert T.ColorJitter().brightness is None
    out = jitter(_image())
    assert out.size == (32, 32)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.6)
    with pytest.raises(ValueError, match="brightness"):
        T.ColorJitter(brightness=-1)


def test_same_seed_same_views():
    pipeline = T.Compose(
        [
            T.RandomResizedCrop(32),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            T.RandomGrayscale(0.2),
            T.ToTensor(),
        ]
    )
    img = _image()
    torch.manual_seed(3)
    first = [pipeline(img) for _ in range(4)]
    torch.manual_seed(3)
    second = [pipeline(img) for _ in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], first[1])


def test_matches_torchvision_where_it_imports():
    tv = pytest.importorskip("torchvision.transforms")
    img = _image(5)
    ours = T.Compose(
        [
            T.RandomResizedCrop(32),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            T.RandomGrayscale(0.2),
            T.ToTensor(),
        ]
    )
    theirs = tv.Compose(
        [
            tv.RandomResizedCrop(32),
            tv.RandomHorizontalFlip(),
            tv.RandomApply([tv.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            tv.RandomGrayscale(0.2),
            tv.ToTensor(),
        ]
    )
    for seed in range(10):
        torch.manual_seed(seed)
        a = ours(img)
        torch.manual_seed(seed)
        b = theirs(img)
        assert torch.allclose(a, b, atol=1 / 255 + 1e-6), seed
