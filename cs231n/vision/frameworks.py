"""The network-visualization work in either framework: the PyTorch code
(cs231n.net_visualization_pytorch, cs231n.vision.attribution) or its TensorFlow twin
(cs231n.net_visualization_tensorflow, the course's TensorFlow SqueezeNet on the same weights),
behind one call with ``framework="pytorch"`` or ``"tensorflow"``.

Images go in and come out as PyTorch's (N, 3, H, W) normalised batches whatever the framework,
so that the figures are drawn the same way. TensorFlow is imported only when asked for, and runs
its compiled drivers (``tf.function`` graphs traced once per model and image shape), not the
course's eager functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import net_visualization_pytorch as pytorch_code
from ..pretrained.squeezenet import load_model
from .attribution import attribute

FRAMEWORKS = ("pytorch", "tensorflow")
TARGET_MODES = ("random", "least-likely")  # the fooling targets that are not a class


def _is_tensorflow(framework):
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    return framework == "tensorflow"


def load_squeezenet(framework="pytorch", data_root=None, weights=None, device=None):
    """The pretrained SqueezeNet: PyTorch's (on ``device``), or the course's TensorFlow model on
    the same weights. ``weights``: a SqueezeNet 1.1 state dict file (default: the pretrained
    weights from the data directory, the torch hub cache, or torchvision's URL)."""
    if _is_tensorflow(framework):
        from ..classifiers.squeezenet import pretrained_squeezenet

        return pretrained_squeezenet(data_root, weights=weights)
    return load_model(weights or "DEFAULT", data_root, device)


def to_nhwc(X):
    """A (N, 3, H, W) torch batch as the (N, H, W, 3) float32 array the TensorFlow model takes."""
    return X.permute(0, 2, 3, 1).contiguous().numpy()


def to_nchw(X):
    """A (N, H, W, 3) array back as a (N, 3, H, W) torch batch."""
    return torch.from_numpy(np.ascontiguousarray(np.transpose(X, (0, 3, 1, 2))))


def _tf_scores(model, X):
    """The TensorFlow model's class scores for NHWC images, a NumPy array."""
    return model(X, training=False).numpy()


def top_prediction(model, x, names):
    """The PyTorch model's most probable class of each image in the batch ``x``:
    ``[(index, name, probability), ...]``."""
    with torch.no_grad():
        probs = torch.softmax(model(x.to(next(model.parameters()).device)), dim=1).cpu()
    p, idx = probs.max(dim=1)
    return [(int(i), names[int(i)], float(q)) for i, q in zip(idx, p, strict=True)]


def top_predictions(model, X, names, framework="pytorch"):
    """:func:`top_prediction` of either framework's model for the (N, 3, H, W) batch X."""
    if not _is_tensorflow(framework):
        return top_prediction(model, X, names)
    scores = _tf_scores(model, to_nhwc(X))
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    idx = probs.argmax(axis=1)
    return [(int(i), names[int(i)], float(probs[k, i])) for k, i in enumerate(idx)]


def saliency_maps(method, model, X, targets, framework="pytorch"):
    """The attribution maps (N, H, W) of ``method`` for the batch X (N, 3, H, W, normalised)
    and class indices ``targets``, as a NumPy array: what ``cs231n saliency`` draws. With
    ``framework="tensorflow"``, ``model`` is the TensorFlow SqueezeNet and the method the
    assignment's vanilla gradient (``compute_saliency_maps``, compiled)."""
    if _is_tensorflow(framework):
        from ..net_visualization_tensorflow import saliency_maps as tf_saliency_maps

        if method != "gradient":
            raise ValueError(f"{method} is PyTorch-only; TensorFlow has the gradient method")
        return tf_saliency_maps(to_nhwc(X), targets, model)
    return attribute(method, model, X, torch.tensor(targets)).cpu().numpy()


@dataclass
class Fooling:
    """One image's fooling image and how it was reached."""

    target: int  # the class the model was pushed to
    image: torch.Tensor  # (1, 3, H, W) normalised, on the CPU
    fooled: bool  # the model predicts the target for it
    iterations: int  # gradient steps taken
    l2: float  # size of the change, in normalised pixels
    linf: float  # largest change of one pixel value


def _pick_target(scores, mode, seed):
    """:func:`cs231n.net_visualization_pytorch.pick_targets` for one image's class scores
    (a (1, C) NumPy array), the same draw from the same seed."""
    scores = torch.from_numpy(scores)
    if mode == "least-likely":
        return int(scores.argmin(dim=1)[0])
    generator = torch.Generator().manual_seed(seed)
    offset = torch.randint(1, scores.shape[1], (1,), generator=generator)
    return int((scores.argmax(dim=1) + offset)[0] % scores.shape[1])


def fool_image(
    model, X, target, framework="pytorch", max_iterations=100, objective="margin", seed=0
):
    """Normalised gradient ascent (step 1) on the one image of X (1, 3, H, W) until the model
    predicts ``target``: a class index, "random" (any class but the predicted one, drawn from
    ``seed``, the same in both frameworks) or "least-likely". Returns a :class:`Fooling`."""
    if _is_tensorflow(framework):
        return _fool_tensorflow(model, X, target, max_iterations, objective, seed)
    if target in TARGET_MODES:
        targets = pytorch_code.pick_targets(model, X, target, torch.Generator().manual_seed(seed))
    else:
        targets = torch.tensor([target])
    result = pytorch_code.fool(
        model, X, targets, max_iterations=max_iterations, objective=objective
    )
    return Fooling(
        int(result.targets[0]),
        result.images[:1].cpu(),
        bool(result.success[0]),
        int(result.iterations[0]),
        float(result.l2[0]),
        float(result.linf[0]),
    )


def _fool_tensorflow(model, X, target, max_iterations, objective, seed):
    from ..net_visualization_tensorflow import fool

    x = to_nhwc(X)
    if target in TARGET_MODES:
        target = _pick_target(_tf_scores(model, x), target, seed)
    fooled_image, iterations, fooled = fool(
        model, x, [target], max_iterations=max_iterations, objective=objective, compiled=True
    )
    delta = (fooled_image - x).ravel()
    l2, linf = float(np.linalg.norm(delta)), float(np.abs(delta).max())
    return Fooling(target, to_nchw(fooled_image), bool(fooled), int(iterations), l2, linf)


def visualize_class(model, target, framework="pytorch", seed=0, **settings):
    """An image the model sees as class ``target`` (the assignment's class visualization;
    ``settings``: its ``l2_reg``, ``learning_rate``, ``num_iterations``, ``callback``...).
    Returns ``(image, probability)``: the (1, 3, H, W) normalised image and the model's
    probability of the target for it."""
    if _is_tensorflow(framework):
        from ..net_visualization_tensorflow import class_visualization

        img, probability = class_visualization(target, model, seed=seed, compiled=True, **settings)
        return to_nchw(img), probability
    generator = torch.Generator().manual_seed(seed)
    return pytorch_code.class_visualization(target, model, generator=generator, **settings)
