"""Neural style transfer (the assignment's Q4; Gatys et al. 2016) on the pretrained SqueezeNet.

The assignment's API: :func:`extract_features`, :func:`content_loss`, :func:`gram_matrix`,
:func:`style_loss`, :func:`tv_loss`, :func:`style_transfer` (Adam on the pixels, learning rate
3.0 then 0.1 from iteration 180, 200 iterations, pixels clamped to [-1.5, 1.5]) and the
course's presets (:data:`PRESETS`). Beyond it, :func:`transfer` adds L-BFGS, several style
images blended with weights, colour preservation, texture synthesis (content weight 0), any
output size by multi-scale refinement, intermediate images and a per-term progress callback.

Images are (1, 3, H, W) tensors normalised like SqueezeNet's inputs
(:func:`cs231n.net_visualization_pytorch.preprocess`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import PIL  # noqa: F401  (the course's module imports it: its star-import gives it)
import torch
from torch import nn  # noqa: F401  (the course's module imports it: its star-import gives it)

from .core.checks import number, style_transfer_settings, whole_number
from .gradient_check import rel_error as rel_error  # the course's name, re-exported
from .image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, as_rgb_array, decode_image, load_image
from .net_visualization_pytorch import deprocess as _deprocess
from .net_visualization_pytorch import preprocess as _preprocess
from .net_visualization_pytorch import rescale as rescale  # the course's name, re-exported

# The course's module constant; the functions here run on the CNN's own device and dtype.
dtype = torch.FloatTensor

# The course's settings (StyleTransfer-PyTorch notebook); layers index SqueezeNet's features.
PRESETS = {
    "composition_vii": dict(
        style_image="composition_vii.jpg",
        style_size=512,
        content_layer=3,
        content_weight=5e-2,
        style_layers=(1, 4, 6, 7),
        style_weights=(20000, 500, 12, 1),
        tv_weight=5e-2,
    ),
    "the_scream": dict(
        style_image="the_scream.jpg",
        style_size=224,
        content_layer=3,
        content_weight=3e-2,
        style_layers=(1, 4, 6, 7),
        style_weights=(200000, 800, 12, 1),
        tv_weight=2e-2,
    ),
    "starry_night": dict(
        style_image="starry_night.jpg",
        style_size=192,
        content_layer=3,
        content_weight=6e-2,
        style_layers=(1, 4, 6, 7),
        style_weights=(300000, 1000, 15, 3),
        tv_weight=2e-2,
    ),
}
PRESETS["feature_inversion"] = {
    **PRESETS["starry_night"],
    "style_weights": (0, 0, 0, 0),
    "init_random": True,
}
CONTENT_IMAGE = "tubingen.jpg"
IMAGE_SIZE = 192
MIN_SIDE = 32  # smaller images vanish in SqueezeNet's pooling
MAX_PIXELS = 16_000_000


# ----------------------------------------------------------------------------------------------
# The assignment's losses


def preprocess(img, size=512):
    """A PIL image or (H, W, 3) uint8 array -> (1, 3, H', W') float32 tensor normalised for
    SqueezeNet, shorter side ``size`` (the course's style-transfer default, 512)."""
    return _preprocess(img, size=size)


def deprocess(img, should_rescale=True):
    """A (1, 3, H, W) normalised tensor -> a PIL image, stretched to [0, 1] first as the
    course's style-transfer ``deprocess`` always does (``should_rescale=False`` only clamps)."""
    return _deprocess(img, should_rescale=should_rescale)


def features_from_img(imgpath, imgsize, cnn):
    """The course's helper: load ``imgpath`` (EXIF orientation applied), preprocess it with its
    shorter side ``imgsize``, and run it through ``cnn``.

    Returns ``(features, img)``: the list of :func:`extract_features` and the (1, 3, H, W)
    float32 image tensor, on the CNN's device. Raises FileNotFoundError / OSError naming the
    file when it is missing or not an image.
    """
    parameter = next(cnn.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    img = preprocess(load_image(imgpath), size=imgsize).to(device)
    return extract_features(img, cnn), img


def extract_features(x, cnn):
    """The outputs of every module of ``cnn`` (a Sequential, e.g. SqueezeNet's ``features``)
    applied in turn to ``x``: a list, one tensor per module, in module order."""
    features = []
    for module in cnn.children():
        x = module(x)
        features.append(x)
    return features


def content_loss(content_weight, content_current, content_original):
    """``content_weight`` times the sum of squared differences of two feature maps (1, C, H, W)."""
    return content_weight * torch.sum((content_current - content_original) ** 2)


def gram_matrix(features, normalize=True):
    """Gram matrices (N, C, C) of feature maps (N, C, H, W); divided by H * W * C when
    ``normalize``."""
    N, C, H, W = features.shape
    flat = features.reshape(N, C, H * W)
    gram = flat @ flat.transpose(1, 2)
    return gram / (H * W * C) if normalize else gram


def style_loss(feats, style_layers, style_targets, style_weights):
    """Sum over the style layers l of ``style_weights[l] * sum((G_l - A_l)^2)``, G from the
    current features ``feats`` (every layer's), A the target Gram matrices."""
    loss = 0
    for layer, target, weight in zip(style_layers, style_targets, style_weights, strict=True):
        loss = loss + weight * torch.sum((gram_matrix(feats[layer]) - target) ** 2)
    return loss


def tv_loss(img, tv_weight):
    """Total variation: ``tv_weight`` times the sum of squared differences of vertically and of
    horizontally adjacent pixels, over all channels."""
    vertical = torch.sum((img[:, :, 1:, :] - img[:, :, :-1, :]) ** 2)
    horizontal = torch.sum((img[:, :, :, 1:] - img[:, :, :, :-1]) ** 2)
    return tv_weight * (vertical + horizontal)


# ----------------------------------------------------------------------------------------------
# The driver


_DEFAULT_CNN = {}


def default_cnn(device=None, data_root=None):
    """The pretrained SqueezeNet's ``features``, frozen, on ``device`` (loaded once per device
    and weights file)."""
    from .core.torch_utils import resolve_device
    from .pretrained.squeezenet import find_pretrained_weights, load_model

    device = resolve_device(device)
    key = (str(device), str(find_pretrained_weights(data_root)))
    if key not in _DEFAULT_CNN:
        _DEFAULT_CNN[key] = load_model("DEFAULT", data_root, device).features
    return _DEFAULT_CNN[key]


def _as_image_tensor(image, size, device, dtype):
    """A file path, PIL image, image array or normalised tensor -> (1, 3, H, W) normalised,
    shorter side ``size`` (None keeps the size). Files and PIL images are decoded as a viewer
    shows them (``decode_image``); arrays follow ``as_rgb_array``'s rule (uint8, floats within
    [0, 1], ...), as in ``preprocess``."""
    from PIL import Image

    if torch.is_tensor(image):
        x = image if image.ndim == 4 else image[None]
        if x.ndim != 4 or x.shape[:2] != (1, 3) or not x.is_floating_point():
            raise ValueError(
                f"an image tensor must be (1, 3, H, W) or (3, H, W) floats, got "
                f"{tuple(image.shape)} {image.dtype}"
            )
        if not torch.isfinite(x).all():
            raise ValueError("the image tensor holds NaN or infinite values")
        if size is not None and min(x.shape[2:]) != size:
            scale = size / min(x.shape[2:])
            new = [size if s == min(x.shape[2:]) else max(1, int(s * scale)) for s in x.shape[2:]]
            x = torch.nn.functional.interpolate(x, size=new, mode="bilinear", align_corners=False)
    else:
        name = image if isinstance(image, str | os.PathLike) else "image"
        if isinstance(image, np.ndarray):
            image = as_rgb_array(image)  # bad dtypes, ranges and shapes refused first
        else:
            image = decode_image(image) if isinstance(image, Image.Image) else load_image(image)
        h, w = image.shape[:2]
        if min(h, w) < MIN_SIDE:  # upscaling would only invent the missing pixels
            raise ValueError(f"{name}: {w}x{h} pixels is too small (at least {MIN_SIDE})")
        x = preprocess(image, size=size)
    if min(x.shape[2:]) < MIN_SIDE:
        raise ValueError(
            f"image of {x.shape[3]}x{x.shape[2]} pixels is too small (at least {MIN_SIDE})"
        )
    if x.shape[2] * x.shape[3] > MAX_PIXELS:
        raise ValueError(f"image of {x.shape[3]}x{x.shape[2]} pixels is too large")
    return x.to(device=device, dtype=dtype)


@dataclass
class StyleResult:
    """The stylised image and how the optimisation went."""

    image: torch.Tensor  # (1, 3, H, W) normalised
    feature_scale: float = 1.0  # what the features were divided by
    losses: list = field(default_factory=list)  # per iteration: {"content", "style", "tv", "total"}
    intermediates: list = field(default_factory=list)  # (iteration, image) every save_every

    def pil(self):
        return deprocess(self.image.cpu(), should_rescale=False)


# RMS of SqueezeNet's first ReLU output that the course's loss weights were tuned for (at most).
REFERENCE_RMS = 5.0


def auto_feature_scale(cnn, content):
    """How much larger than a torchvision-trained SqueezeNet's this network's activations are:
    ``max(1, rms(first ReLU output on the content image) / 5)``.

    The course's loss weights were tuned on torchvision's SqueezeNet. The shared weights are a
    Caffe conversion trained on 0-255 pixels: their first-layer activations have an RMS of ~32
    on tubingen.jpg, and with them the style terms (4th power of the scale) swamp the content
    (2nd power). Dividing the features by ~6 gives results like the course's (chosen by eye on
    the three presets); torchvision's own weights get 1, i.e. the course's losses unchanged.
    """
    with torch.no_grad():
        first = extract_features(content, cnn)[1]
    return max(1.0, float(first.pow(2).mean().sqrt()) / REFERENCE_RMS)


def _scaled_features(x, cnn, scale):
    feats = extract_features(x, cnn)
    return feats if scale == 1 else [f / scale for f in feats]


def _style_targets(cnn, style_images, style_size, style_layers, blend, device, dtype, scale):
    """Gram matrices of the style layers, averaged over the style images with ``blend``."""
    targets = None
    for image, weight in zip(style_images, blend, strict=True):
        x = _as_image_tensor(image, style_size, device, dtype)
        with torch.no_grad():
            feats = _scaled_features(x, cnn, scale)
        grams = [weight * gram_matrix(feats[i]) for i in style_layers]
        targets = grams if targets is None else [t + g for t, g in zip(targets, grams, strict=True)]
    return targets


def transfer(
    content_image,
    style_images,
    image_size=IMAGE_SIZE,
    style_size=512,
    content_layer=3,
    content_weight=5e-2,
    style_layers=(1, 4, 6, 7),
    style_weights=(20000, 500, 12, 1),
    tv_weight=5e-2,
    init_random=False,
    iterations=200,
    optimizer="adam",
    style_blend=None,
    preserve_colors=False,
    scales=1,
    save_every=None,
    callback=None,
    cnn=None,
    device=None,
    seed=0,
    feature_scale="auto",
):
    """Style transfer with the course's losses and schedule, plus the extras.

    style_images: one image or a list (files, PIL images, arrays or tensors), blended with the
    weights ``style_blend`` (default equal). optimizer: "adam" (the course's schedule, scaled to
    ``iterations``) or "lbfgs". scales > 1: optimise at sizes doubling up to ``image_size``,
    each scale starting from the previous result (large outputs). preserve_colors: keep the
    content image's colours (the result's luminance with the content's chrominance).
    callback(iteration, losses) sees every iteration's loss terms. feature_scale divides every
    feature map before the losses; "auto" (see :func:`auto_feature_scale`) keeps the course's
    loss weights balanced for weight files whose activations are larger than torchvision's.
    Returns a StyleResult.
    """
    if cnn is None:
        cnn = default_cnn(device)
    device = next(cnn.parameters()).device
    dtype = next(cnn.parameters()).dtype
    if not isinstance(style_images, list | tuple):
        style_images = [style_images]
    if not style_images:
        raise ValueError("transfer: at least one style image is needed")
    blend = style_blend if style_blend is not None else [1.0] * len(style_images)
    if len(blend) != len(style_images):
        raise ValueError(
            f"transfer: {len(blend)} blend weights for {len(style_images)} style images"
        )
    if any(w < 0 for w in blend) or sum(blend) <= 0:
        raise ValueError(
            f"transfer: style blend weights must be >= 0 with a positive sum, got {blend}"
        )
    if int(scales) != scales or scales < 1:
        raise ValueError(f"transfer: scales must be a positive integer, got {scales!r}")
    if image_size is None or int(image_size) != image_size or image_size < MIN_SIDE:
        raise ValueError(
            f"transfer: image_size must be an integer of at least {MIN_SIDE}, got {image_size!r}"
        )
    blend = [float(w) / sum(blend) for w in blend]
    settings = style_transfer_settings(
        len(list(cnn.children())),
        content_layer,
        style_layers,
        style_weights,
        content_weight,
        tv_weight,
        iterations,
    )
    content_layer, style_layers, style_weights, content_weight, tv_weight, iterations = settings
    if style_size is not None:
        style_size = whole_number("transfer", "style_size", style_size, MIN_SIDE)
    if feature_scale != "auto":
        feature_scale = number("transfer", "feature_scale", feature_scale, 0, low_inclusive=False)
    if optimizer not in ("adam", "lbfgs"):
        raise ValueError(f'optimizer must be "adam" or "lbfgs", got {optimizer!r}')
    for p in cnn.parameters():
        p.requires_grad_(False)
    cnn.eval()

    if feature_scale == "auto":
        feature_scale = auto_feature_scale(
            cnn, _as_image_tensor(content_image, image_size, device, dtype)
        )
    style_targets = _style_targets(
        cnn, style_images, style_size, style_layers, blend, device, dtype, feature_scale
    )
    generator = torch.Generator().manual_seed(seed)
    sizes = [max(MIN_SIDE, round(image_size / 2 ** (scales - 1 - k))) for k in range(scales)]
    result = StyleResult(image=None, feature_scale=feature_scale)
    img = None
    for size in sizes:
        content = _as_image_tensor(content_image, size, device, dtype)
        with torch.no_grad():
            content_target = _scaled_features(content, cnn, feature_scale)[content_layer]
        if img is None:
            if init_random:
                img = torch.rand(content.shape, generator=generator).to(device, dtype)
            else:
                img = content.clone(memory_format=torch.contiguous_format)  # L-BFGS views grads
        else:  # refine the previous scale's result at the new size
            img = torch.nn.functional.interpolate(
                img, size=content.shape[2:], mode="bilinear", align_corners=False
            )
        img = img.detach().requires_grad_(True)
        steps = iterations if size == sizes[-1] else max(1, iterations // 2)

        def losses_of(x, content_target=content_target):
            feats = _scaled_features(x, cnn, feature_scale)
            c = content_loss(content_weight, feats[content_layer], content_target)
            s = style_loss(feats, style_layers, style_targets, style_weights)
            t = tv_loss(x, tv_weight)
            return c, s, t

        def record(t, c, s, tv, img=img):
            terms = {"content": float(c), "style": float(s), "tv": float(tv)}
            terms["total"] = sum(terms.values())
            result.losses.append(terms)
            if callback is not None:
                callback(t, terms)
            if save_every and (t + 1) % save_every == 0:
                result.intermediates.append((t + 1, img.detach().clone()))

        if optimizer == "adam":
            _run_adam(img, losses_of, record, steps)
        else:
            _run_lbfgs(img, losses_of, record, steps)
    result.image = img.detach()
    if preserve_colors:
        result.image = _keep_colors(
            result.image, _as_image_tensor(content_image, image_size, device, dtype)
        )
    return result


def _run_adam(img, losses_of, record, steps):
    """The course's schedule: Adam lr 3.0, then 0.1 from 90% of the way (iteration 180 of 200);
    pixels clamped to [-1.5, 1.5] except in the last 5% (the course: iterations 190-199)."""
    decay_at = round(0.9 * steps)
    stop_clamp = max(round(0.95 * steps), decay_at + 1)  # never an unclamped step at lr 3
    optimizer = torch.optim.Adam([img], lr=3.0)
    for t in range(steps):
        if t < stop_clamp:
            with torch.no_grad():
                img.clamp_(-1.5, 1.5)
        optimizer.zero_grad()
        c, s, tv = losses_of(img)
        (c + s + tv).backward()
        if t == decay_at:
            optimizer = torch.optim.Adam([img], lr=0.1)
        optimizer.step()
        record(t, c.detach(), s.detach() if torch.is_tensor(s) else s, tv.detach())


def _run_lbfgs(img, losses_of, record, steps):
    """L-BFGS (strong Wolfe line search), one function evaluation per counted iteration."""
    optimizer = torch.optim.LBFGS(
        [img],
        lr=1,
        max_iter=steps,
        max_eval=steps,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=0,
        tolerance_change=0,
    )
    count = [0]

    def closure():
        optimizer.zero_grad()
        c, s, tv = losses_of(img)
        total = c + s + tv
        total.backward()
        record(count[0], c.detach(), s.detach() if torch.is_tensor(s) else s, tv.detach())
        count[0] += 1
        return total

    optimizer.step(closure)
    with torch.no_grad():
        img.clamp_(-1.5, 1.5)


def _to_yiq(rgb):
    m = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
        dtype=rgb.dtype,
        device=rgb.device,
    )
    return torch.einsum("ij,njhw->nihw", m, rgb)


def _from_yiq(yiq):
    m = torch.tensor(
        [[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]],
        dtype=yiq.dtype,
        device=yiq.device,
    )
    return torch.einsum("ij,njhw->nihw", m, yiq)


def _keep_colors(stylised, content):
    """The stylised image's luminance (Y) with the content image's chrominance (I, Q)."""

    mean = torch.tensor(SQUEEZENET_MEAN, dtype=stylised.dtype, device=stylised.device).view(
        1, 3, 1, 1
    )
    std = torch.tensor(SQUEEZENET_STD, dtype=stylised.dtype, device=stylised.device).view(
        1, 3, 1, 1
    )
    if content.shape != stylised.shape:
        content = torch.nn.functional.interpolate(
            content, size=stylised.shape[2:], mode="bilinear", align_corners=False
        )
    y = _to_yiq(stylised * std + mean)
    c = _to_yiq(content * std + mean)
    mixed = _from_yiq(torch.cat([y[:, :1], c[:, 1:]], dim=1)).clamp(0, 1)
    return (mixed - mean) / std


def style_transfer(
    content_image,
    style_image,
    image_size,
    style_size,
    content_layer,
    content_weight,
    style_layers,
    style_weights,
    tv_weight,
    init_random=False,
    cnn=None,
    device=None,
    show_every=100,
):
    """The assignment's driver: returns the final image as a (1, 3, H, W) normalised tensor.

    In a notebook with an interactive matplotlib backend it shows the content and style images
    and the image every ``show_every`` iterations, as the course's version does.
    """
    result = transfer(
        content_image,
        [style_image],
        image_size=image_size,
        style_size=style_size,
        content_layer=content_layer,
        content_weight=content_weight,
        style_layers=style_layers,
        style_weights=style_weights,
        tv_weight=tv_weight,
        init_random=init_random,
        iterations=200,
        cnn=cnn,
        device=device,
        save_every=show_every,
    )
    _maybe_show(result)
    return result.image


def _maybe_show(result):
    import matplotlib

    if matplotlib.get_backend().lower() == "agg":
        return
    import matplotlib.pyplot as plt

    for t, img in result.intermediates:
        plt.imshow(deprocess(img.cpu(), should_rescale=False))
        plt.title(f"Iteration {t}")
        plt.axis("off")
        plt.show()


def preset_arguments(name):
    """The course's settings for preset ``name`` as keyword arguments of :func:`transfer`
    (without the image paths)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    args = {k: v for k, v in PRESETS[name].items() if k != "style_image"}
    return args
