"""Network visualization (the assignment's Q3): saliency maps, fooling images, class
visualization, with a pretrained SqueezeNet in PyTorch.

Images are (N, 3, H, W) float tensors normalised with ``SQUEEZENET_MEAN`` / ``SQUEEZENET_STD``
(see :func:`preprocess`). Everything runs on the model's device: CUDA when available, else the
CPU. Beyond the assignment: batched fooling with statistics (:func:`fool`) and the class
probability a visualization reaches (:func:`class_visualization`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from .core.checks import class_visualization_settings
from .core.torch_utils import class_indices, leaves_model_unchanged, model_input
from .image_utils import (
    SQUEEZENET_MEAN,
    SQUEEZENET_STD,
    as_rgb_array,
    decode_image,
    resize_shorter_side,
)


def _device(model):
    return next(model.parameters()).device


def preprocess(img, size=224):
    """A PIL image or image array -> a (1, 3, H', W') normalised tensor whose shorter side is
    ``size`` (the course's torchvision transform, without torchvision; None keeps the size).

    PIL images are decoded as a viewer shows them (:func:`cs231n.image_utils.decode_image`:
    EXIF orientation, alpha over white, 16-bit scaled). Arrays follow
    :func:`cs231n.image_utils.as_rgb_array`: uint8 (H, W, 3) as the course's, floats within
    [0, 1] (taken as pixel / 255, not rounded), integers within 0..255, greyscale (H, W) and
    RGBA (H, W, 4); other dtypes, ranges and shapes are a ValueError, never truncated."""
    from PIL import Image

    rgb = as_rgb_array(decode_image(img) if isinstance(img, Image.Image) else img)
    if rgb.dtype == np.uint8:
        pil = Image.fromarray(rgb)
        if size is not None:
            pil = resize_shorter_side(pil, size, Image.BILINEAR)
        rgb = np.asarray(pil, dtype=np.float32) / 255.0
    elif size is not None:  # floats: each channel resized as a float image, the same filter
        channels = [Image.fromarray(np.ascontiguousarray(rgb[..., c])) for c in range(3)]
        resized = [resize_shorter_side(c, size, Image.BILINEAR) for c in channels]
        rgb = np.stack([np.asarray(c, dtype=np.float32) for c in resized], axis=-1)
    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
    mean = torch.from_numpy(SQUEEZENET_MEAN)[:, None, None]
    std = torch.from_numpy(SQUEEZENET_STD)[:, None, None]
    return ((x - mean) / std)[None]


def rescale(x):
    """Stretch to [0, 1]; a flat image (range below float rounding) stays flat (zeros)."""
    low, high = x.min(), x.max()
    if high - low <= 1e-5 * max(1.0, float(high.abs())):
        return torch.zeros_like(x)
    return (x - low) / (high - low)


def deprocess(img, should_rescale=True):
    """A (1, 3, H, W) normalised tensor -> a PIL image (``should_rescale`` stretches to [0, 1])."""
    from PIL import Image

    x = img[0].detach().cpu().float()
    x = (
        x * torch.from_numpy(SQUEEZENET_STD)[:, None, None]
        + torch.from_numpy(SQUEEZENET_MEAN)[:, None, None]
    )
    if should_rescale:
        x = rescale(x)
    # torchvision's ToPILImage (the course's last step) truncates x * 255 to uint8; it also wraps
    # values outside [0, 1] around (-0.1 -> 231), which clamping fixes.
    array = (x.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array)


def _gaussian_kernel(sigma, dtype, device):
    radius = int(4.0 * sigma + 0.5)  # scipy.ndimage.gaussian_filter1d's truncation
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return (kernel / kernel.sum()).to(dtype=dtype, device=device), radius


def _symmetric_pad(x, radius, dim):
    """scipy's 'reflect' mode (d c b a | a b c d | d c b a), which torch has no name for."""
    n = x.shape[dim]
    if radius > n:
        x = _symmetric_pad(x, n, dim)
        return _symmetric_pad(x, radius - n, dim).narrow(dim, 0, x.shape[dim] + 2 * (radius - n))
    left = x.narrow(dim, 0, radius).flip(dim)
    right = x.narrow(dim, n - radius, radius).flip(dim)
    return torch.cat([left, x, right], dim=dim)


def blur_image(X, sigma=1):
    """Gaussian blur over the spatial axes of X (N, C, H, W), in place; returns X.

    The same filter as the course's ``scipy.ndimage.gaussian_filter1d`` on axes 2 and 3
    (mode 'reflect', truncated at 4 sigma), computed in torch on X's device.
    """
    if sigma <= 0:
        return X
    with torch.no_grad():
        kernel, radius = _gaussian_kernel(sigma, X.dtype, X.device)
        N, C, H, W = X.shape
        y = X.reshape(N * C, 1, H, W)
        y = _symmetric_pad(y, radius, 2)
        y = torch.nn.functional.conv2d(y, kernel.view(1, 1, -1, 1))
        y = _symmetric_pad(y, radius, 3)
        y = torch.nn.functional.conv2d(y, kernel.view(1, 1, 1, -1))
        X.copy_(y.reshape(N, C, H, W))
    return X


def jitter(X, ox, oy):
    """Roll X (N, C, H, W) by ``ox`` pixels along the width and ``oy`` along the height."""
    ox, oy = ox % X.shape[3], oy % X.shape[2]  # offsets beyond the image wrap round
    if ox != 0:
        X = torch.cat([X[:, :, :, -ox:], X[:, :, :, :-ox]], dim=3)
    if oy != 0:
        X = torch.cat([X[:, :, -oy:], X[:, :, :-oy]], dim=2)
    return X


def _check_batch(func, X, y=None, model=None, name="y"):
    """Validate X (N, 3, H, W); returns y as (N,) int64 class indices on the model's device
    (any integer tensor, array or int is accepted), or None without y."""
    if not torch.is_tensor(X) or X.ndim != 4 or X.shape[1] != 3:
        shape = tuple(X.shape) if torch.is_tensor(X) else type(X).__name__
        raise ValueError(f"{func}: X must be a (N, 3, H, W) tensor, got {shape}")
    if y is None:
        return None
    device = _device(model) if model is not None else None
    return class_indices(func, name, y, X.shape[0], getattr(model, "num_classes", None), device)


@leaves_model_unchanged
def compute_saliency_maps(X, y, model):
    """Saliency maps (Simonyan et al.): for each image, the largest absolute gradient over the
    colour channels of the unnormalised score of its class. X: (N, 3, H, W), y: (N,).
    Returns (N, H, W)."""
    y = _check_batch("compute_saliency_maps", X, y, model)
    X = model_input("compute_saliency_maps", "X", X, model, 3).clone().requires_grad_(True)
    scores = model(X)
    # autograd.grad rather than backward(): no .grad left behind on trainable parameters.
    (grad,) = torch.autograd.grad(scores.gather(1, y.view(-1, 1)).sum(), X)
    return grad.abs().amax(dim=1)


@leaves_model_unchanged
def make_fooling_image(X, target_y, model):
    """Normalised gradient ascent (learning rate 1) on the target class score until the model
    predicts ``target_y`` (at most 100 steps). X: (1, 3, H, W). Returns the fooling image."""
    _check_batch("make_fooling_image", X)
    return fool(model, X, target_y, max_iterations=100).images[:1]


@dataclass
class FoolingResult:
    """What :func:`fool` did, image by image (tensors on the CPU except ``images``)."""

    images: torch.Tensor  # (N, 3, H, W) fooling images
    targets: torch.Tensor  # (N,) target classes
    success: torch.Tensor  # (N,) bool: the model predicts the target
    iterations: torch.Tensor  # (N,) gradient steps taken
    l2: torch.Tensor  # (N,) L2 norm of the perturbation (normalised pixel space)
    linf: torch.Tensor  # (N,) largest absolute change of one pixel value


@leaves_model_unchanged
def pick_targets(model, X, mode="random", generator=None):
    """Target classes for fooling: "random" (any class but the predicted one) or
    "least-likely" (the class the model finds least probable)."""
    with torch.no_grad():
        scores = model(model_input("pick_targets", "X", X, model, 3)).cpu()
    if mode == "least-likely":
        return scores.argmin(dim=1)
    if mode == "random":
        predicted = scores.argmax(dim=1)
        offset = torch.randint(1, scores.shape[1], predicted.shape, generator=generator)
        return (predicted + offset) % scores.shape[1]
    raise ValueError(f'target mode must be "random" or "least-likely", got {mode!r}')


@leaves_model_unchanged
def fool(model, X, targets, max_iterations=100, learning_rate=1.0, objective="score"):
    """Fooling images for a batch: each image takes normalised gradient-ascent steps until the
    model predicts its target; images that are fooled stop changing. Returns a
    :class:`FoolingResult`.

    objective: "score" ascends the target's unnormalised score (the assignment's update);
    "margin" ascends the target's score minus the highest other score, which keeps working
    where raising the target also raises its strongest competitor.
    """
    if objective not in ("score", "margin"):
        raise ValueError(f'objective must be "score" or "margin", got {objective!r}')
    targets = _check_batch("fool", X, targets, model, name="targets")
    device = _device(model)
    original = model_input("fool", "X", X, model, 3)
    images = original.clone()
    active = torch.ones(len(images), dtype=torch.bool, device=device)
    iterations = torch.zeros(len(images), dtype=torch.long, device=device)
    for _ in range(max_iterations + 1):
        x = images[active].clone().requires_grad_(True)
        scores = model(x)
        done = scores.argmax(dim=1) == targets[active]
        idx = active.nonzero().squeeze(1)
        active[idx[done]] = False
        if not active.any() or _ == max_iterations:
            break
        target_scores = scores.gather(1, targets[idx].view(-1, 1)).squeeze(1)
        if objective == "margin":
            others = scores.scatter(1, targets[idx].view(-1, 1), float("-inf"))
            target_scores = target_scores - others.amax(dim=1)
        target_scores.sum().backward()
        with torch.no_grad():
            g = x.grad[~done]
            norms = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            images[idx[~done]] += learning_rate * g / norms
            iterations[idx[~done]] += 1
    with torch.no_grad():
        success = model(images).argmax(dim=1) == targets
    delta = (images - original).flatten(1)
    return FoolingResult(
        images=images,
        targets=targets.cpu(),
        success=success.cpu(),
        iterations=iterations.cpu(),
        l2=delta.norm(dim=1).cpu(),
        linf=delta.abs().amax(dim=1).cpu(),
    )


@leaves_model_unchanged
def class_visualization_update_step(img, model, target_y, l2_reg, learning_rate):
    """One normalised gradient-ascent step on ``score[target_y] - l2_reg * ||img||^2``, in
    place on ``img`` (which requires grad)."""
    weight = next(model.parameters())
    if img.dtype != weight.dtype or img.device != weight.device:  # it is updated in place
        raise ValueError(
            f"class_visualization_update_step: img is {img.dtype} on {img.device}, the model's "
            f"weights {weight.dtype} on {weight.device}: create img with that dtype and device"
        )
    score = model(img)[0, target_y] - l2_reg * img.pow(2).sum()
    (grad,) = torch.autograd.grad(score, img)
    with torch.no_grad():
        img += learning_rate * grad / grad.norm().clamp_min(1e-12)


def _pixel_bounds(device, dtype):
    lo = torch.tensor(-SQUEEZENET_MEAN / SQUEEZENET_STD, device=device, dtype=dtype)
    hi = torch.tensor((1.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD, device=device, dtype=dtype)
    return lo.view(1, 3, 1, 1), hi.view(1, 3, 1, 1)


@leaves_model_unchanged
def class_visualization(
    target_y,
    model,
    l2_reg=1e-3,
    learning_rate=25,
    num_iterations=100,
    blur_every=10,
    max_jitter=16,
    callback=None,
    generator=None,
    size=224,
):
    """Generate an image the model finds to be of class ``target_y`` (the course's recipe:
    random start, jitter, normalised gradient ascent with L2 regularisation, clamping to valid
    pixels, periodic blur). ``callback(t, img)`` is called every iteration.

    Returns ``(img, probability)``: the (1, 3, size, size) normalised image and the model's
    softmax probability of the target class for it.
    """
    func = "class_visualization"
    device = _device(model)
    target_y = int(
        class_indices(func, "target_y", target_y, 1, getattr(model, "num_classes", None))[0]
    )
    l2_reg, learning_rate, num_iterations, blur_every, max_jitter, size = (
        class_visualization_settings(
            l2_reg, learning_rate, num_iterations, blur_every, max_jitter, size
        )
    )
    dtype = next(model.parameters()).dtype
    rng = random.Random(None if generator is None else generator.initial_seed())
    img = torch.randn(1, 3, size, size, generator=generator).to(device=device, dtype=dtype)
    img.requires_grad_(True)
    lo, hi = _pixel_bounds(device, dtype)
    for t in range(num_iterations):
        ox, oy = rng.randint(0, max_jitter), rng.randint(0, max_jitter)
        with torch.no_grad():
            img.copy_(jitter(img, ox, oy))
        class_visualization_update_step(img, model, target_y, l2_reg, learning_rate)
        with torch.no_grad():
            img.copy_(jitter(img, -ox, -oy))
            img.copy_(torch.maximum(torch.minimum(img, hi), lo))
            if t % blur_every == 0:
                blur_image(img, sigma=0.5)
        if callback is not None:
            callback(t, img.detach())
    with torch.no_grad():
        probability = torch.softmax(model(img), dim=1)[0, target_y].item()
    return img.detach(), probability


def create_class_visualization(target_y, model, dtype, **kwargs):
    """The assignment's entry point: ``kwargs`` are l2_reg (1e-3), learning_rate (25),
    num_iterations (100), blur_every (10), max_jitter (16) and show_every (25: with matplotlib
    in a notebook, show the image every so many iterations). Returns a PIL image.

    ``dtype`` is a torch dtype or tensor type (``torch.FloatTensor``, ``torch.cuda.FloatTensor``).
    """
    if isinstance(dtype, torch.dtype):
        model.to(dtype=dtype)
    else:
        model.type(dtype)
    show_every = kwargs.pop("show_every", 25)
    num_iterations = kwargs.get("num_iterations", 100)
    unknown = set(kwargs) - {
        "l2_reg",
        "learning_rate",
        "num_iterations",
        "blur_every",
        "max_jitter",
    }
    if unknown:
        raise TypeError(f"create_class_visualization: unexpected arguments {sorted(unknown)}")

    def show(t, img):
        if t == 0 or (t + 1) % show_every == 0 or t == num_iterations - 1:
            import matplotlib

            if matplotlib.get_backend().lower() == "agg":
                return  # nowhere to show it
            import matplotlib.pyplot as plt

            plt.imshow(deprocess(img.clone().cpu()))
            plt.title(f"Iteration {t + 1} / {num_iterations}")
            plt.gcf().set_size_inches(4, 4)
            plt.axis("off")
            plt.show()

    img, _ = class_visualization(target_y, model, callback=show, **kwargs)
    return deprocess(img.cpu())
