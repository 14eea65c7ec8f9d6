"""Attribution methods with one call shape: ``method(model, X, target, **options) -> (N, H, W)``.

- :func:`vanilla_gradient`: max over channels of |d score / d pixel| (the assignment's saliency);
- :func:`smooth_grad`: the same, averaged over noisy copies of the image (Smilkov et al. 2017);
- :func:`integrated_gradients`: path integral of gradients from a baseline (Sundararajan et al.
  2017), with the completeness check ``sum(attributions) == score(x) - score(baseline)``;
- :func:`grad_cam`: class activation map of a convolutional layer (Selvaraju et al. 2017),
  upsampled to the image.

Gradients are taken with ``torch.autograd.grad`` on the input (and, for Grad-CAM, on a layer
output captured by a forward hook), never with module backward hooks, so the in-place ReLUs of
SqueezeNet cannot break them. ``attribute(name, ...)`` dispatches by name.
"""

from __future__ import annotations

import torch

from ..core.torch_utils import class_indices, leaves_model_unchanged, model_input


def _prepare(model, X, target, func="attribution"):
    X = model_input(func, "X", X, model)
    num_classes = getattr(model, "num_classes", None)
    target = class_indices(func, "target", target, X.shape[0], num_classes, X.device)
    return X, target


def _baseline(baseline, x):
    """``baseline`` as a tensor shaped like x: one (C, H, W) or (1, C, H, W) image is used for
    every image in the batch."""
    if baseline is None:
        return torch.zeros_like(x)
    b = torch.as_tensor(baseline).to(x.device, x.dtype)
    if b.ndim == 3:
        b = b[None]
    if b.ndim != 4 or b.shape[1:] != x.shape[1:] or b.shape[0] not in (1, x.shape[0]):
        raise ValueError(
            f"integrated_gradients: baseline has shape {tuple(b.shape)}; it must be "
            f"{tuple(x.shape[1:])}, (1, *that) or {tuple(x.shape)} like X"
        )
    return b.expand_as(x)


def _target_scores(model, x, target):
    return model(x).gather(1, target.view(-1, 1)).squeeze(1)


def _input_gradient(model, x, target):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_target_scores(model, x, target).sum(), x)
    return grad


@leaves_model_unchanged
def vanilla_gradient(model, X, target):
    """The assignment's saliency map: max over channels of the absolute input gradient."""
    x, target = _prepare(model, X, target)
    return _input_gradient(model, x, target).abs().amax(dim=1)


@leaves_model_unchanged
def smooth_grad(model, X, target, samples=25, noise=0.15, generator=None):
    """Vanilla gradients averaged over ``samples`` copies of the image with Gaussian noise of
    standard deviation ``noise`` times the image's value range."""
    if int(samples) != samples or samples < 1:
        raise ValueError(f"smooth_grad: samples must be a positive integer, got {samples!r}")
    x, target = _prepare(model, X, target)
    sigma = noise * (x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3))).view(-1, 1, 1, 1)
    total = torch.zeros_like(x)
    for _ in range(samples):
        eps = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
        total += _input_gradient(model, x + sigma * eps, target).abs()
    return (total / samples).amax(dim=1)


@leaves_model_unchanged
def integrated_gradients(model, X, target, baseline=None, steps=50, return_delta=False):
    """Integrated gradients from ``baseline`` (default: zeros, i.e. the mean image in normalised
    pixels), by the trapezoidal rule with ``steps`` intervals.

    Returns the attribution map (N, H, W): the sum over channels of
    ``(x - baseline) * average gradient``. With ``return_delta``, also the completeness error
    per image: ``sum(attributions) - (score(x) - score(baseline))``, which tends to 0 as
    ``steps`` grows.
    """
    if int(steps) != steps or steps < 1:
        raise ValueError(f"integrated_gradients: steps must be a positive integer, got {steps!r}")
    x, target = _prepare(model, X, target, "integrated_gradients")
    baseline = _baseline(baseline, x)
    alphas = torch.linspace(0, 1, steps + 1, device=x.device, dtype=x.dtype)
    weights = torch.full_like(alphas, 1.0 / steps)
    weights[0] = weights[-1] = 0.5 / steps
    avg_grad = torch.zeros_like(x)
    for alpha, weight in zip(alphas, weights, strict=True):
        avg_grad += weight * _input_gradient(model, baseline + alpha * (x - baseline), target)
    attributions = (x - baseline) * avg_grad
    maps = attributions.sum(dim=1)
    if not return_delta:
        return maps
    with torch.no_grad():
        gap = _target_scores(model, x, target) - _target_scores(model, baseline, target)
    return maps, attributions.sum(dim=(1, 2, 3)) - gap


def _default_layer(model):
    features = getattr(model, "features", None)
    if features is None:
        raise ValueError("grad_cam: pass layer= (the model has no .features)")
    return features[-1]


@leaves_model_unchanged
def grad_cam(model, X, target, layer=None):
    """Grad-CAM: ReLU of the layer's channels weighted by their average gradient, upsampled
    (bilinear) to the image size and scaled to [0, 1] per image. ``layer`` defaults to the
    last module of ``model.features`` (SqueezeNet's last Fire module, 13x13 at 224 px)."""
    x, target = _prepare(model, X, target)
    layer = _default_layer(model) if layer is None else layer
    captured = {}

    def keep(module, inputs, output):
        # Keep the layer's own output and pass a copy on: an in-place ReLU after the layer
        # would otherwise overwrite the activation the map is made of.
        captured["a"] = output
        return output.clone()

    handle = layer.register_forward_hook(keep)
    try:  # the input requires grad so that the graph exists even with frozen parameters
        scores = _target_scores(model, x.clone().requires_grad_(True), target)
    finally:
        handle.remove()
    activation = captured["a"]
    (grad,) = torch.autograd.grad(scores.sum(), activation)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    cam = torch.nn.functional.interpolate(
        cam, size=x.shape[2:], mode="bilinear", align_corners=False
    )[:, 0]
    peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return cam / peak


METHODS = {
    "gradient": vanilla_gradient,
    "smoothgrad": smooth_grad,
    "integrated-gradients": integrated_gradients,
    "grad-cam": grad_cam,
}


def attribute(method, model, X, target, **options):
    """``METHODS[method](model, X, target, **options)``."""
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {sorted(METHODS)}")
    return METHODS[method](model, X, target, **options)
