"""Neural style transfer in TensorFlow 2 (the assignment's Q4, TensorFlow edition; Gatys et al.
2016) on the pretrained SqueezeNet of :mod:`cs231n.classifiers.squeezenet`.

The twin of :mod:`cs231n.style_transfer_pytorch`: the course's losses (:func:`content_loss`,
:func:`gram_matrix`, :func:`style_loss`, :func:`tv_loss`), :func:`extract_features` and
:func:`rel_error`, on NHWC tensors; and :func:`transfer`, the driver the command line runs, with
the PyTorch driver's schedule (Adam, learning rate 3.0 then 0.1 from 90% of the iterations,
pixels clamped to [-1.5, 1.5] but for the last 5%).

Layer indices are the TensorFlow model's: its convolutions include their ReLU, so index ``i``
here is index ``i + 1`` of PyTorch's ``features`` (the TensorFlow notebook's content layer 2 and
style layers 0, 3, 5, 6 are the PyTorch notebook's 3 and 1, 4, 6, 7): :data:`PRESETS`.

:func:`transfer` runs each iteration (losses, gradient, Adam update) as one ``tf.function``, kept
with the model and traced once per image size and layer choice, so that later calls and
iterations run the graph without TensorFlow's per-operation eager overhead (``compiled=False``
runs the same iteration eagerly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .classifiers.squeezenet import check_image_size
from .core.checks import style_transfer_settings, whole_number
from .core.tf_utils import compiled_for, import_tensorflow
from .gradient_check import rel_error as rel_error  # the course's name, re-exported
from .image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD

tf = import_tensorflow()

MIN_SIDE = 32  # smaller images vanish in SqueezeNet's pooling
REFERENCE_RMS = 5.0  # see style_transfer_pytorch.auto_feature_scale


def _to_tensorflow_layers(preset):
    """A PyTorch preset with the TensorFlow model's layer indices (one less: fused ReLUs)."""
    return {
        **preset,
        "content_layer": preset["content_layer"] - 1,
        "style_layers": tuple(i - 1 for i in preset["style_layers"]),
    }


def _presets():
    from .style_transfer_pytorch import PRESETS as TORCH_PRESETS

    return {name: _to_tensorflow_layers(p) for name, p in TORCH_PRESETS.items()}


# The course's TensorFlow notebook settings (the PyTorch notebook's, with TensorFlow indices).
PRESETS = _presets()


# ----------------------------------------------------------------------------------------------
# The assignment's losses


def content_loss(content_weight, content_current, content_original):
    """``content_weight`` times the sum of squared differences of two feature maps
    (1, H, W, C)."""
    return content_weight * tf.reduce_sum((content_current - content_original) ** 2)


def gram_matrix(features, normalize=True):
    """The Gram matrix (C, C) of the feature maps of one image, (1, H, W, C) or (H, W, C),
    divided by H * W * C when ``normalize`` (the course's TensorFlow shape: no batch axis)."""
    shape = tf.shape(features)
    H, W, C = shape[-3], shape[-2], shape[-1]
    flat = tf.reshape(features, (-1, C))  # (H * W, C)
    gram = tf.matmul(flat, flat, transpose_a=True)
    return gram / tf.cast(H * W * C, gram.dtype) if normalize else gram


def style_loss(feats, style_layers, style_targets, style_weights):
    """Sum over the style layers l of ``style_weights[l] * sum((G_l - A_l)^2)``, G from the
    current features ``feats`` (every layer's), A the target Gram matrices."""
    loss = tf.constant(0.0)
    for layer, target, weight in zip(style_layers, style_targets, style_weights, strict=True):
        loss += weight * tf.reduce_sum((gram_matrix(feats[layer]) - target) ** 2)
    return loss


def tv_loss(img, tv_weight):
    """Total variation of img (1, H, W, 3): ``tv_weight`` times the sum of squared differences of
    vertically and of horizontally adjacent pixels, over all channels (no loops)."""
    vertical = tf.reduce_sum((img[:, 1:, :, :] - img[:, :-1, :, :]) ** 2)
    horizontal = tf.reduce_sum((img[:, :, 1:, :] - img[:, :, :-1, :]) ** 2)
    return tv_weight * (vertical + horizontal)


def extract_features(x, cnn):
    """The outputs of every feature layer of ``cnn`` (the course's SqueezeNet: the layers of
    ``cnn.net`` but the classifier's last two) applied in turn to x (N, H, W, 3): a list of
    (N, H_i, W_i, C_i) tensors, in layer order."""
    check_image_size("extract_features", x)
    features = []
    for layer in cnn.net.layers[:-2]:
        x = layer(x)
        features.append(x)
    return features


# ----------------------------------------------------------------------------------------------
# The driver


@dataclass
class StyleResult:
    """What :func:`transfer` produced: the image (1, H, W, 3), normalised like SqueezeNet's
    inputs, the loss terms of every iteration, and the feature scale used."""

    image: np.ndarray
    losses: list = field(default_factory=list)
    feature_scale: float = 1.0

    def pil(self):
        """The image as a PIL image (clamped to valid pixels, not stretched)."""
        from PIL import Image

        pixels = np.clip(self.image[0] * SQUEEZENET_STD + SQUEEZENET_MEAN, 0, 1)
        return Image.fromarray((pixels * 255).astype(np.uint8))  # truncation, as ToPILImage


def _as_image(image, size):
    """A file, PIL image, image array (uint8, or floats in [0, 1]) or a normalised (1, H, W, 3)
    array/tensor -> (1, H, W, 3) float32 normalised tensor with shorter side ``size``: the
    pixels of the PyTorch driver (the same decoding and resizing code)."""
    import torch

    from .style_transfer_pytorch import _as_image_tensor

    if hasattr(image, "shape") and len(image.shape) == 4:  # already normalised, NHWC
        image = torch.from_numpy(np.transpose(np.asarray(image, dtype=np.float32), (0, 3, 1, 2)))
    x = _as_image_tensor(image, size, "cpu", torch.float32)
    return tf.convert_to_tensor(np.transpose(x.numpy(), (0, 2, 3, 1)))


def auto_feature_scale(cnn, content):
    """``max(1, rms(first layer's output on the content image) / 5)``: the same rule as
    :func:`cs231n.style_transfer_pytorch.auto_feature_scale` (the shared SqueezeNet weights
    have activations ~6 times torchvision's, for which the course's loss weights were tuned)."""
    first = extract_features(content, cnn)[0]
    return max(1.0, float(tf.sqrt(tf.reduce_mean(first**2))) / REFERENCE_RMS)


def _scaled_features(x, cnn, scale):
    feats = extract_features(x, cnn)
    return feats if scale == 1 else [f / scale for f in feats]


_ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}  # Keras's betas, torch's epsilon


def _adam(x, grad, m, v, step, learning_rate):
    """One Adam update of x, Keras's formula (``keras.optimizers.Adam.update_step``) written
    out so that it runs inside the compiled iteration with its state as tensors: ``step`` is
    the optimizer's update count, 1 for its first. Returns (x, m, v) updated."""
    beta_1, beta_2, epsilon = _ADAM["beta_1"], _ADAM["beta_2"], _ADAM["epsilon"]
    alpha = learning_rate * tf.sqrt(1 - beta_2**step) / (1 - beta_1**step)
    m = m + (grad - m) * (1 - beta_1)
    v = v + (tf.square(grad) - v) * (1 - beta_2)
    return x - (m * alpha) / (tf.sqrt(v) + epsilon), m, v


def _iteration(cnn, content_layer, style_layers):
    """One iteration of :func:`transfer`: clamp (when ``clamp``), the loss terms and their
    gradient, one Adam update. Returns (img, m, v, content, style, tv)."""

    def iteration(img, m, v, step, learning_rate, clamp, content_target, style_targets, weights):
        style_weights, content_weight, tv_weight, scale = weights
        img = tf.where(clamp, tf.clip_by_value(img, -1.5, 1.5), img)
        with tf.GradientTape() as tape:
            tape.watch(img)
            feats = [f / scale for f in extract_features(img, cnn)]
            c = content_loss(content_weight, feats[content_layer], content_target)
            s = style_loss(feats, style_layers, style_targets, tf.unstack(style_weights))
            tv = tv_loss(img, tv_weight)
            loss = c + s + tv
        grad = tape.gradient(loss, img)
        return (*_adam(img, grad, m, v, step, learning_rate), c, s, tv)

    return iteration


def _compiled_iteration(cnn, shape, content_layer, style_layers, target_shapes):
    """:func:`_iteration` as a ``tf.function`` for images of exactly ``shape``, kept with
    ``cnn``: traced on its first call only (the settings that change go in as tensors)."""

    def build(cnn):
        image = tf.TensorSpec(shape, tf.float32)
        scalar = tf.TensorSpec([], tf.float32)
        signature = [
            image, image, image, scalar, scalar, tf.TensorSpec([], tf.bool),
            tf.TensorSpec(target_shapes[0], tf.float32),
            [tf.TensorSpec(s, tf.float32) for s in target_shapes[1:]],
            (tf.TensorSpec([len(style_layers)], tf.float32), scalar, scalar, scalar),
        ]  # fmt: skip
        return tf.function(_iteration(cnn, content_layer, style_layers), input_signature=signature)

    key = ("style", tuple(shape), content_layer, style_layers, target_shapes)
    return compiled_for(cnn, key, build)


def transfer(
    content_image,
    style_image,
    image_size=192,
    style_size=512,
    content_layer=2,
    content_weight=5e-2,
    style_layers=(0, 3, 5, 6),
    style_weights=(20000, 500, 12, 1),
    tv_weight=5e-2,
    init_random=False,
    iterations=200,
    cnn=None,
    seed=0,
    feature_scale="auto",
    callback=None,
    compiled=True,
):
    """Style transfer with the course's losses and the PyTorch driver's schedule.

    content_image, style_image: files, PIL images or arrays. Layer indices are the TensorFlow
    model's (see the module's docstring). ``cnn``: a SqueezeNet (default: the pretrained one,
    :func:`cs231n.classifiers.squeezenet.pretrained_squeezenet`). ``callback(t, losses)`` sees
    every iteration's loss terms. ``compiled``: run each iteration as a ``tf.function`` (traced
    once per model, image size and layers) rather than eagerly. Returns a :class:`StyleResult`.
    """

    if cnn is None:
        from .classifiers.squeezenet import pretrained_squeezenet

        cnn = pretrained_squeezenet()
    settings = style_transfer_settings(
        len(cnn.net.layers) - 2,  # the feature layers (extract_features')
        content_layer,
        style_layers,
        style_weights,
        content_weight,
        tv_weight,
        iterations,
    )
    content_layer, style_layers, style_weights, content_weight, tv_weight, iterations = settings
    image_size = whole_number("transfer", "image_size", image_size, MIN_SIDE)

    content = _as_image(content_image, image_size)
    if feature_scale == "auto":
        feature_scale = auto_feature_scale(cnn, content)
    content_target = _scaled_features(content, cnn, feature_scale)[content_layer]
    style_feats = _scaled_features(_as_image(style_image, style_size), cnn, feature_scale)
    style_targets = [gram_matrix(style_feats[i]) for i in style_layers]

    if init_random:
        img = tf.random.stateless_uniform(content.shape, seed=(seed, 0))
    else:
        img = content
    style_layers = tuple(style_layers)
    if compiled:
        targets = [content_target, *style_targets]
        step_function = _compiled_iteration(
            cnn, img.shape, content_layer, style_layers, tuple(tuple(t.shape) for t in targets)
        )
    else:
        step_function = _iteration(cnn, content_layer, style_layers)
    weights = (
        tf.constant(style_weights, tf.float32),
        *(tf.constant(w, tf.float32) for w in (content_weight, tv_weight, feature_scale)),
    )
    decay_at = round(0.9 * iterations)
    stop_clamp = max(round(0.95 * iterations), decay_at + 1)
    result = StyleResult(image=None, feature_scale=feature_scale)
    for t in range(iterations):
        if t == 0 or t == decay_at:  # a fresh Adam: learning rate 3.0, then 0.1 (PyTorch's)
            m, v, updates = tf.zeros_like(img), tf.zeros_like(img), 0
            learning_rate = tf.constant(3.0 if t == 0 else 0.1, tf.float32)
        updates += 1
        img, m, v, c, s, tv = step_function(
            img, m, v, tf.constant(updates, tf.float32), learning_rate,
            tf.constant(t < stop_clamp), content_target, style_targets, weights,
        )  # fmt: skip
        terms = {"content": float(c), "style": float(s), "tv": float(tv)}
        terms["total"] = sum(terms.values())
        result.losses.append(terms)
        if callback is not None:
            callback(t, terms)
    result.image = img.numpy()
    return result
