"""Attribution methods (cs231n.vision.attribution) on a small random-weight SqueezeNet."""

import copy

import pytest
import torch
from torch import nn

from cs231n.net_visualization_pytorch import compute_saliency_maps
from cs231n.pretrained.squeezenet import squeezenet1_1
from cs231n.vision.attribution import (
    METHODS,
    attribute,
    grad_cam,
    integrated_gradients,
    smooth_grad,
    vanilla_gradient,
)

FAST = {"smoothgrad": {"samples": 3}, "integrated-gradients": {"steps": 4}}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return squeezenet1_1(None).eval()


@pytest.fixture(scope="module")
def frozen(model):
    net = copy.deepcopy(model)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def images(n, size=64, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def no_parameter_grads(model):
    return all(p.grad is None for p in model.parameters())


def test_methods_are_the_four():
    assert sorted(METHODS) == ["grad-cam", "gradient", "integrated-gradients", "smoothgrad"]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_one_call_shape_for_all_methods(model, name):
    X = images(2, size=48)
    before = X.clone()
    out = attribute(name, model, X, torch.tensor([3, 9]), **FAST.get(name, {}))
    assert out.shape == (2, 48, 64 - 16) and torch.isfinite(out).all()
    assert out.abs().sum() > 0
    assert torch.equal(X, before) and not X.requires_grad
    assert no_parameter_grads(model)  # autograd.grad only: nothing accumulates in .grad
    direct = METHODS[name](model, X, torch.tensor([3, 9]), **FAST.get(name, {}))
    if name != "smoothgrad":  # random noise
        torch.testing.assert_close(out, direct)


@pytest.mark.parametrize("target", [5, [5], torch.tensor(5), torch.tensor([5, 5])])
def test_a_single_target_is_broadcast(model, target):
    X = images(2, size=32, seed=1)
    expected = vanilla_gradient(model, X, torch.tensor([5, 5]))
    torch.testing.assert_close(vanilla_gradient(model, X, target), expected)


def test_vanilla_gradient_equals_compute_saliency_maps(model):
    X, y = images(2, seed=2), torch.tensor([1, 700])
    maps = vanilla_gradient(model, X, y)
    assert maps.shape == (2, 64, 64)
    torch.testing.assert_close(maps, compute_saliency_maps(X, y, copy.deepcopy(model)))


def test_vanilla_gradient_with_frozen_parameters(model, frozen):
    X, y = images(1, seed=3), torch.tensor([4])
    torch.testing.assert_close(vanilla_gradient(frozen, X, y), vanilla_gradient(model, X, y))


def test_integrated_gradients_completeness(model):
    X, y = images(1, seed=4), torch.tensor([2])
    with torch.no_grad():
        gap = (model(X)[0, 2] - model(torch.zeros_like(X))[0, 2]).item()
    assert abs(gap) > 0.1
    maps8, delta8 = integrated_gradients(model, X, y, steps=8, return_delta=True)
    maps64, delta64 = integrated_gradients(model, X, y, steps=64, return_delta=True)
    assert maps64.shape == (1, 64, 64) and delta64.shape == (1,)
    # delta is sum(attributions) - (score(x) - score(baseline))
    torch.testing.assert_close(maps64.sum(dim=(1, 2)) - gap, delta64, rtol=1e-4, atol=1e-4)
    assert abs(delta64.item()) < 0.02 * abs(gap)
    assert abs(delta64.item()) < abs(delta8.item())
    # without return_delta: the same map
    torch.testing.assert_close(integrated_gradients(model, X, y, steps=8), maps8)


def test_integrated_gradients_baseline(model):
    X = images(1, size=32, seed=5)
    with torch.no_grad():
        y = model(X).argmax(dim=1)
    maps, delta = integrated_gradients(model, X, y, baseline=X.clone(), steps=2, return_delta=True)
    assert not maps.any() and delta.abs().item() < 1e-6  # from x to x: nothing to attribute
    baseline = torch.full_like(X, 0.5)
    maps, delta = integrated_gradients(model, X, y, baseline=baseline, steps=32, return_delta=True)
    with torch.no_grad():
        gap = (model(X)[0, y] - model(baseline)[0, y]).item()
    assert abs(gap) > 0.1
    assert maps.sum().item() == pytest.approx(gap + delta.item(), abs=1e-4)
    assert abs(delta.item()) < 0.05 * abs(gap)


def test_smooth_grad_without_noise_is_vanilla(model):
    X, y = images(2, size=32, seed=6), torch.tensor([8, 9])
    torch.testing.assert_close(
        smooth_grad(model, X, y, samples=1, noise=0.0), vanilla_gradient(model, X, y)
    )


def test_smooth_grad_noise_and_generator(model):
    X, y = images(1, size=32, seed=7), torch.tensor([8])

    def run(seed):
        return smooth_grad(model, X, y, samples=3, generator=torch.Generator().manual_seed(seed))

    a, b, c = run(0), run(0), run(1)
    torch.testing.assert_close(a, b)  # same noise (multithreaded sums may differ in the last bit)
    assert not torch.allclose(a, c)
    assert (a >= 0).all()
    assert not torch.allclose(a, vanilla_gradient(model, X, y))


def check_cam(cam, n, size):
    assert cam.shape == (n, size, size)
    assert (cam >= 0).all() and (cam <= 1).all()
    torch.testing.assert_close(cam.flatten(1).max(dim=1).values, torch.ones(n))


@pytest.mark.parametrize(
    "layer",
    [
        None,  # the last Fire module
        lambda m: m.features[0],  # a conv followed by an in-place ReLU
        lambda m: m.features[1],  # the in-place ReLU itself
        lambda m: m.features[3].squeeze,  # a conv inside a Fire module
        lambda m: m.features[5],  # a max-pool
        lambda m: m.features[7],  # a Fire module
    ],
    ids=["default", "conv0", "relu1", "fire3-squeeze", "maxpool5", "fire7"],
)
def test_grad_cam_layers(model, frozen, layer):
    X, y = images(2, seed=8), torch.tensor([3, 417])
    cam = grad_cam(model, X, y, layer=None if layer is None else layer(model))
    check_cam(cam, 2, 64)
    # frozen parameters (requires_grad False) give the same map
    cam_frozen = grad_cam(frozen, X, y, layer=None if layer is None else layer(frozen))
    torch.testing.assert_close(cam_frozen, cam)
    # batch = one image at a time
    for i in range(2):
        single = grad_cam(
            model, X[i : i + 1], y[i : i + 1], layer=None if layer is None else layer(model)
        )
        torch.testing.assert_close(single[0], cam[i], rtol=1e-4, atol=1e-5)
    # the hook is removed
    for m in model.modules():
        assert not m._forward_hooks
    assert no_parameter_grads(model)


def manual_grad_cam(model, X, target, layer):
    """Grad-CAM computed on a copy of the model whose ReLUs are out of place."""
    net = copy.deepcopy(model)
    index = dict(model.named_modules())
    name = next(n for n, m in index.items() if m is layer)
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    captured = []
    handle = dict(net.named_modules())[name].register_forward_hook(
        lambda module, inputs, output: captured.append(output)
    )
    scores = net(X.clone().requires_grad_(True))[torch.arange(len(X)), target]
    handle.remove()
    (grad,) = torch.autograd.grad(scores.sum(), captured[0])
    cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * captured[0]).sum(dim=1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=X.shape[2:], mode="bilinear", align_corners=False)
    cam = cam[:, 0].detach()
    return cam / cam.flatten(1).max(dim=1).values.view(-1, 1, 1)


@pytest.mark.parametrize(
    "layer", [lambda m: m.features[5], lambda m: m.features[12]], ids=["maxpool5", "fire12"]
)
def test_grad_cam_matches_manual_computation(model, layer):
    X, y = images(2, seed=9), torch.tensor([3, 417])
    expected = manual_grad_cam(model, X, y, layer(model))
    torch.testing.assert_close(grad_cam(model, X, y, layer=layer(model)), expected)


# Regression test for a fixed bug.
@pytest.mark.parametrize(
    "layer", [lambda m: m.features[0], lambda m: m.features[3].squeeze], ids=["conv0", "squeeze"]
)
def test_grad_cam_of_a_conv_before_an_inplace_relu(model, layer):
    X, y = images(1, seed=10), torch.tensor([3])
    expected = manual_grad_cam(model, X, y, layer(model))
    torch.testing.assert_close(grad_cam(model, X, y, layer=layer(model)), expected)


def test_grad_cam_requires_a_layer_without_features():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(10))
    X = images(1, size=8)
    with pytest.raises(ValueError, match="layer="):
        grad_cam(net, X, 0)
    cam = grad_cam(net, X, 0, layer=net[0])
    assert cam.shape == (1, 8, 8)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_wrong_number_of_targets(model, name):
    with pytest.raises(ValueError, match="target has 3 class indices for 2 images"):
        attribute(name, model, images(2, size=32), torch.tensor([1, 2, 3]))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_x_must_be_a_batch(model, name):
    with pytest.raises(ValueError, match="X must be"):
        attribute(name, model, torch.zeros(3, 32, 32), 1)


def test_unknown_method(model):
    with pytest.raises(ValueError, match="unknown attribution method") as info:
        attribute("lime", model, images(1, size=32), 1)
    for name in METHODS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    "baseline",
    [torch.zeros(1, 3, 32, 32), torch.zeros(3, 32, 32), torch.zeros(2, 3, 32, 32), None],
    ids=["one-batched", "one-image", "per-image", "default"],
)
def test_integrated_gradients_broadcasts_one_baseline(model, baseline):
    X = images(2, size=32)
    target = torch.tensor([1, 2], dtype=torch.int16)
    maps, delta = integrated_gradients(
        model, X, target, baseline=baseline, steps=4, return_delta=True
    )
    ref, ref_delta = integrated_gradients(model, X, [1, 2], steps=4, return_delta=True)
    torch.testing.assert_close(maps, ref)
    torch.testing.assert_close(delta, ref_delta)


def test_integrated_gradients_bad_baseline(model):
    with pytest.raises(ValueError, match=r"baseline has shape \(3, 3, 32, 32\)"):
        integrated_gradients(model, images(2, size=32), 1, baseline=torch.zeros(3, 3, 32, 32))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_takes_float64_images_and_refuses_nan(model, name):
    X = images(2)
    torch.manual_seed(0)  # smoothgrad's noise
    expected = attribute(name, model, X, [1, 2])
    torch.manual_seed(0)
    torch.testing.assert_close(attribute(name, model, X.double(), [1, 2]), expected)
    X[0, 1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match="X holds NaN or infinite values"):
        attribute(name, model, X, [1, 2])
