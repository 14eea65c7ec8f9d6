"""Image augmentations with torchvision's names, parameters and random draws (no torchvision).

The course's SimCLR augmentation (``cs231n.simclr.data_utils.compute_train_transform``) is
``Compose([RandomResizedCrop(32), RandomHorizontalFlip(0.5), RandomApply([ColorJitter(0.4, 0.4,
0.4, 0.1)], p=0.8), RandomGrayscale(0.2), ToTensor(), Normalize(mean, std)])``. These classes do
the same on a PIL image (as torchvision's PIL path) or on a (C, H, W) tensor (float in [0, 1] or
uint8), and they draw their random numbers from PyTorch's global generator in torchvision's order
(``torch.empty(1).uniform_``, ``torch.randint``, ``torch.rand``, ``torch.randperm``), so that after
``torch.manual_seed(s)`` they make the same choices as torchvision's transforms (torchvision 0.8+).

Source: torchvision ``transforms/transforms.py`` and ``transforms/_functional_pil.py``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from PIL import Image, ImageEnhance


def _size(img) -> tuple[int, int]:
    """(width, height) of a PIL image or a (..., H, W) tensor."""
    if isinstance(img, Image.Image):
        return img.size
    if torch.is_tensor(img) and img.ndim >= 2:
        return int(img.shape[-1]), int(img.shape[-2])
    raise TypeError(f"expected a PIL image or a (C, H, W) tensor, got {type(img).__name__}")


def _channels(img) -> int:
    if isinstance(img, Image.Image):
        return len(img.getbands())
    return 1 if img.ndim == 2 else int(img.shape[-3])


def _float(img: torch.Tensor) -> tuple[torch.Tensor, torch.dtype]:
    return (img.float() / 255 if img.dtype == torch.uint8 else img), img.dtype


def _back(img: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    img = img.clamp(0, 1)
    return (img * 255).round().to(torch.uint8) if dtype == torch.uint8 else img


def _gray(img: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma (PIL's ``convert("L")`` weights), keeping a channel axis."""
    if img.shape[-3] == 1:
        return img
    r, g, b = img.unbind(-3)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)


def _blend(a: torch.Tensor, b, factor: float) -> torch.Tensor:
    return (factor * a + (1 - factor) * b).clamp(0, 1)


def _rgb_to_hsv(img: torch.Tensor) -> torch.Tensor:
    r, g, b = img.unbind(-3)
    maxc, minc = img.max(-3).values, img.min(-3).values
    v, delta = maxc, maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp(min=1e-12), torch.zeros_like(maxc))
    d = delta.clamp(min=1e-12)
    h = torch.where(
        maxc == r, ((g - b) / d) % 6, torch.where(maxc == g, (b - r) / d + 2, (r - g) / d + 4)
    )
    h = torch.where(delta > 0, h / 6, torch.zeros_like(h))
    return torch.stack([h, s, v], dim=-3)


def _hsv_to_rgb(img: torch.Tensor) -> torch.Tensor:
    h, s, v = img.unbind(-3)
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], dim=-3)
    return v.unsqueeze(-3) - (v * s).unsqueeze(-3) * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def adjust_brightness(img, factor: float):
    if isinstance(img, Image.Image):
        return ImageEnhance.Brightness(img).enhance(factor)
    x, dtype = _float(img)
    return _back(_blend(x, 0.0, factor), dtype)


def adjust_contrast(img, factor: float):
    if isinstance(img, Image.Image):
        return ImageEnhance.Contrast(img).enhance(factor)
    x, dtype = _float(img)
    mean = _gray(x).mean(dim=(-3, -2, -1), keepdim=True)
    return _back(_blend(x, mean, factor), dtype)


def adjust_saturation(img, factor: float):
    if isinstance(img, Image.Image):
        return ImageEnhance.Color(img).enhance(factor)
    x, dtype = _float(img)
    if x.shape[-3] == 1:
        return img
    return _back(_blend(x, _gray(x), factor), dtype)


def adjust_hue(img, factor: float):
    """Rotate the hue by ``factor`` of a full turn (``factor`` in [-0.5, 0.5]); grey images are
    returned unchanged (they have no hue)."""
    if isinstance(img, Image.Image):
        if img.mode in {"L", "1", "I", "F"}:
            return img
        mode = img.mode
        h, s, v = img.convert("HSV").split()
        # torchvision adds the shift as uint8 with wrap-around: a turn is 256 steps.
        shift = np.uint8(int(factor * 255) % 256)
        np_h = (np.asarray(h, dtype=np.uint8) + shift).astype(np.uint8)
        return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(mode)
    x, dtype = _float(img)
    if x.shape[-3] == 1:
        return img
    hsv = _rgb_to_hsv(x)
    hsv = torch.stack(
        [(hsv[..., 0, :, :] + factor) % 1.0, hsv[..., 1, :, :], hsv[..., 2, :, :]], -3
    )
    return _back(_hsv_to_rgb(hsv), dtype)


def to_grayscale(img, num_output_channels: int = 1):
    if isinstance(img, Image.Image):
        gray = img.convert("L")
        if num_output_channels == 1:
            return gray
        return Image.fromarray(np.dstack([np.asarray(gray)] * 3), "RGB")
    x, dtype = _float(img)
    g = _gray(x)
    return _back(g.expand(*g.shape[:-3], num_output_channels, *g.shape[-2:]).clone(), dtype)


class Compose:
    """Apply ``transforms`` in turn."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class RandomResizedCrop:
    """Crop a random part (``scale`` of the area, aspect ``ratio``) and resize it to ``size``
    (an int: square) with bilinear interpolation; the crop is drawn as torchvision draws it
    (ten tries, then the central crop)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)):
        self.size = (size, size) if isinstance(size, numbers.Number) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"RandomResizedCrop: size must be positive, got {size!r}")
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(
                f"RandomResizedCrop: need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= "
                f"ratio[1], got scale={scale}, ratio={ratio}"
            )
        self.scale, self.ratio = tuple(scale), tuple(ratio)

    @staticmethod
    def get_params(img, scale, ratio):
        """(top, left, height, width) of the crop."""
        width, height = _size(img)
        area = height * width
        log_ratio = torch.log(torch.tensor(ratio))
        for _ in range(10):
            target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
            aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                i = torch.randint(0, height - h + 1, size=(1,)).item()
                j = torch.randint(0, width - w + 1, size=(1,)).item()
                return i, j, h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        out_h, out_w = self.size
        if isinstance(img, Image.Image):
            return img.crop((j, i, j + w, i + h)).resize((out_w, out_h), Image.BILINEAR)
        x, dtype = _float(img)
        crop = x[..., i : i + h, j : j + w]
        batched = crop.unsqueeze(0) if crop.ndim == 3 else crop
        out = torch.nn.functional.interpolate(
            batched, size=(out_h, out_w), mode="bilinear", align_corners=False, antialias=True
        )
        return _back(out[0] if crop.ndim == 3 else out, dtype)

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class Resize:
    """Resize to ``size`` (an int: square; else (height, width)) with bilinear interpolation
    (PIL's for an image, antialiased ``interpolate`` for a tensor). Unlike torchvision's, an int
    means a square, not the shorter side: here it brings small images to a network's size."""

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, numbers.Number) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"Resize: size must be positive, got {size!r}")

    def __call__(self, img):
        out_h, out_w = self.size
        if isinstance(img, Image.Image):
            if img.size == (out_w, out_h):
                return img
            return img.resize((out_w, out_h), Image.BILINEAR)
        x, dtype = _float(img)
        batched = x.unsqueeze(0) if x.ndim == 3 else x
        out = torch.nn.functional.interpolate(
            batched, size=(out_h, out_w), mode="bilinear", align_corners=False, antialias=True
        )
        return _back(out[0] if x.ndim == 3 else out, dtype)

    def __repr__(self):
        return f"Resize(size={self.size})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if torch.rand(1) < self.p:
            if isinstance(img, Image.Image):
                return img.transpose(Image.FLIP_LEFT_RIGHT)
            return img.flip(-1)
        return img

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomApply:
    """Apply all of ``transforms`` with probability ``p``, else none."""

    def __init__(self, transforms, p=0.5):
        self.transforms, self.p = list(transforms), p

    def __call__(self, img):
        if self.p < torch.rand(1):
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return f"RandomApply(p={self.p}, {self.transforms})"


def _jitter_range(name, value, center=1.0, bound=(0, float("inf"))):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be non-negative, got {value}")
        value = (center - float(value), center + float(value))
        if center == 1.0:
            value = (max(value[0], 0.0), value[1])
    low, high = (float(v) for v in value)
    if not (bound[0] <= low <= high <= bound[1]):
        raise ValueError(f"ColorJitter: {name} range {value} must lie within {bound}")
    return None if low == high == center else (low, high)


class ColorJitter:
    """Random brightness, contrast, saturation (factors drawn from [1-x, 1+x]) and hue (a shift
    drawn from [-hue, hue], hue <= 0.5), applied in a random order, as torchvision's."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter_range("brightness", brightness)
        self.contrast = _jitter_range("contrast", contrast)
        self.saturation = _jitter_range("saturation", saturation)
        self.hue = _jitter_range("hue", hue, center=0.0, bound=(-0.5, 0.5))

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """(order of the four adjustments, and each factor or None), drawn as torchvision."""
        fn_idx = torch.randperm(4)

        def draw(r):
            return None if r is None else float(torch.empty(1).uniform_(r[0], r[1]))

        return fn_idx, draw(brightness), draw(contrast), draw(saturation), draw(hue)

    def __call__(self, img):
        fn_idx, b, c, s, h = self.get_params(
            self.brightness, self.contrast, self.saturation, self.hue
        )
        for fn_id in fn_idx.tolist():
            if fn_id == 0 and b is not None:
                img = adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = adjust_hue(img, h)
        return img

    def __repr__(self):
        return (
            f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, hue={self.hue})"
        )


class RandomGrayscale:
    """Make the image grey (keeping its number of channels) with probability ``p``."""

    def __init__(self, p=0.1):
        self.p = p

    def __call__(self, img):
        channels = _channels(img)
        if torch.rand(1) < self.p:
            return to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self):
        return f"RandomGrayscale(p={self.p})"


class ToTensor:
    """PIL image or (H, W[, C]) uint8 array -> (C, H, W) float32 tensor in [0, 1]; a tensor is
    returned as float (uint8 divided by 255)."""

    def __call__(self, pic):
        if torch.is_tensor(pic):
            return _float(pic)[0].float()
        array = np.array(pic, copy=True)
        if array.ndim == 2:
            array = array[:, :, None]
        t = torch.from_numpy(array).permute(2, 0, 1).contiguous()
        return t.float().div(255) if t.dtype == torch.uint8 else t.float()

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean) / std per channel, on a (C, H, W) float tensor."""

    def __init__(self, mean, std):
        self.mean, self.std = list(mean), list(std)
        if len(self.mean) != len(self.std) or any(s <= 0 for s in self.std):
            raise ValueError(f"Normalize: mean {mean} and std {std} (all > 0) must match")

    def __call__(self, tensor):
        if tensor.shape[-3] != len(self.mean):
            raise ValueError(
                f"Normalize: {tensor.shape[-3]} channels for {len(self.mean)} means and stds"
            )
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=tensor.dtype).view(-1, 1, 1)
        return (tensor - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"
