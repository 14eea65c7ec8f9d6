"""Network visualization in TensorFlow 2 (the assignment's Q3, TensorFlow edition): saliency
maps, fooling images and class visualization on the pretrained SqueezeNet of
:mod:`cs231n.classifiers.squeezenet`.

The twin of :mod:`cs231n.net_visualization_pytorch`, with the course's TensorFlow conventions:
images are NHWC, (N, H, W, 3) float arrays normalised with ``SQUEEZENET_MEAN`` /
``SQUEEZENET_STD`` (``cs231n.image_utils.preprocess_image``); functions take NumPy arrays or
tensors and return NumPy arrays where the course's notebook expects them. Gradients come from
``tf.GradientTape``. The same updates as the PyTorch twin, so both give the same results on the
same weights (tests/test_net_visualization_tensorflow.py).

The course's functions run eagerly, as its notebook writes them. The package's drivers, which the
command line runs (:func:`saliency_maps`, :func:`fool`, :func:`class_visualization`), run the same
computations as ``tf.function`` graphs, one per model and image shape, traced once and reused:
eager TensorFlow pays its per-operation overhead on every one of SqueezeNet's operations, several
times PyTorch's time for the same step on a CPU. ``compiled=False`` gives their eager versions.
"""

from __future__ import annotations

import numpy as np

from .core.checks import class_visualization_settings
from .core.tf_utils import compiled_for, import_tensorflow
from .image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, preprocess_image

tf = import_tensorflow()


def _scores(model, X):
    return model(X, training=False)


def _as_images(func, X):
    """X as a float32 (N, H, W, 3) tensor; a clear error for anything else."""
    X = tf.convert_to_tensor(X)
    if X.shape.rank != 4 or X.shape[-1] != 3:
        raise ValueError(f"{func}: X must be (N, H, W, 3) images (NHWC), got {tuple(X.shape)}")
    if not X.dtype.is_floating:
        raise ValueError(f"{func}: X must hold preprocessed floats, got {X.dtype.name}")
    return tf.cast(X, tf.float32)


def _class_indices(func, name, y, n, num_classes=1000):
    """y as an (n,) int32 array of class indices (one index is used for every image)."""
    y = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
    if y.dtype == np.bool_ or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise ValueError(f"{func}: {name} must hold integer class indices, got {y.dtype}")
    y = y.reshape(-1)
    if y.size == 1 and n > 1:
        y = np.repeat(y, n)
    if y.size != n:
        raise ValueError(f"{func}: {name} has {y.size} class indices for {n} images")
    if n and (y.min() < 0 or y.max() >= num_classes):
        bad = y.min() if y.min() < 0 else y.max()
        raise ValueError(f"{func}: {name} has class index {bad} outside [0, {num_classes})")
    return y.astype(np.int32)


def compute_saliency_maps(X, y, model):
    """Saliency maps (Simonyan et al. 2014): for each image, the largest absolute gradient over
    the colour channels of the unnormalised score of its class.

    X: (N, H, W, 3) preprocessed images; y: (N,) class indices (any integer type; one index is
    used for every image). Returns a float32 NumPy array (N, H, W).
    """
    X = _as_images("compute_saliency_maps", X)
    y = _class_indices("compute_saliency_maps", "y", y, X.shape[0])
    return _saliency(model, X, y).numpy()


def _saliency(model, X, y):
    with tf.GradientTape() as tape:
        tape.watch(X)
        scores = _scores(model, X)
        correct = tf.gather(scores, y, axis=1, batch_dims=1)
    grad = tape.gradient(correct, X)  # each image's score depends on that image only
    return tf.reduce_max(tf.abs(grad), axis=3)


def _compiled(model, name, shape, function, *specs):
    """``function(model, X, *args)`` as a ``tf.function`` for images of exactly ``shape``
    (a graph specialised to one shape runs faster than a shape-generic one) and arguments
    ``specs``, kept with ``model`` (:func:`cs231n.core.tf_utils.compiled_for`): traced once."""

    def build(model):
        signature = [tf.TensorSpec(shape, tf.float32), *specs]
        return tf.function(lambda X, *args: function(model, X, *args), input_signature=signature)

    return compiled_for(model, (name, tuple(shape)), build)


def saliency_maps(X, y, model, compiled=True):
    """:func:`compute_saliency_maps` (the same arguments, the same result) run as one
    ``tf.function`` per model and batch shape, traced on the first call; ``compiled=False``
    runs it eagerly. What ``cs231n saliency --framework tensorflow`` runs."""
    X = _as_images("saliency_maps", X)
    y = _class_indices("saliency_maps", "y", y, X.shape[0])
    if not compiled:
        return _saliency(model, X, y).numpy()
    spec = tf.TensorSpec([X.shape[0]], tf.int32)
    return _compiled(model, "saliency", X.shape, _saliency, spec)(X, y).numpy()


def _step_direction(grad):
    """The course's normalised step: the gradient divided by its L2 norm (never by zero)."""
    return grad / tf.maximum(tf.norm(grad), 1e-12)


def _fool_step(model, X, target, learning_rate, margin):
    """(the class the model predicts for X, X after one normalised step up the objective)."""
    with tf.GradientTape() as tape:
        tape.watch(X)
        scores = _scores(model, X)
        target_score = scores[0, target]
        if margin:
            others = tf.tensor_scatter_nd_update(scores[0], [[target]], [-np.inf])
            target_score = target_score - tf.reduce_max(others)
    grad = tape.gradient(target_score, X)
    predicted = tf.argmax(scores[0], output_type=tf.int32)
    return predicted, X + learning_rate * _step_direction(grad)


def fool(
    model, X, target_y, max_iterations=100, learning_rate=1.0, objective="score", compiled=True
):
    """Normalised gradient ascent on one image until ``model`` predicts ``target_y``.

    X: (1, H, W, 3). objective: "score" (the assignment's: the target's unnormalised score) or
    "margin" (the target's score minus the best other class's). Each step runs as a
    ``tf.function`` (one per model, image shape and objective, traced once) unless
    ``compiled=False``. Returns ``(X_fooling, iterations, fooled)``: a float32 NumPy array
    like X, the steps taken, and whether the model predicts the target for it.
    """
    if objective not in ("score", "margin"):
        raise ValueError(f'objective must be "score" or "margin", got {objective!r}')
    X = _as_images("fool", X)
    if X.shape[0] != 1:
        raise ValueError(f"fool: X must hold one image, got {X.shape[0]}")
    (target,) = _class_indices("fool", "target_y", target_y, 1)
    margin = objective == "margin"
    if compiled:
        scalar = [tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)]
        function = _compiled(
            model,
            f"fool_{objective}",
            X.shape,
            lambda model, X, t, lr: _fool_step(model, X, t, lr, margin),
            *scalar,
        )
        target_t, rate = tf.constant(target, tf.int32), tf.constant(learning_rate, tf.float32)

        def step(X):
            return function(X, target_t, rate)
    else:

        def step(X):
            return _fool_step(model, X, int(target), learning_rate, margin)

    X_fooling = tf.identity(X)
    for iteration in range(max_iterations + 1):
        predicted, stepped = step(X_fooling)
        if int(predicted) == target:
            return X_fooling.numpy(), iteration, True
        if iteration == max_iterations:
            break
        X_fooling = stepped
    return X_fooling.numpy(), max_iterations, False


def make_fooling_image(X, target_y, model):
    """The assignment's fooling image: normalised gradient ascent (learning rate 1) on the score
    of ``target_y`` until the model predicts it (at most 100 steps).

    X: (1, H, W, 3) preprocessed image. Returns the fooling image, a float32 NumPy array.
    """
    return fool(model, X, target_y, max_iterations=100, compiled=False)[0]


def class_visualization_update_step(X, model, target_y, l2_reg, learning_rate):
    """One step of gradient ascent on ``score[target_y] - l2_reg * ||X||^2``, normalised by the
    gradient's L2 norm: ``X + learning_rate * g / ||g||``.

    X: (1, H, W, 3) image as a tensor, variable or array. A ``tf.Variable`` is updated in place
    and returned; anything else gives a new tensor (the course's notebook passes the tensor
    that ``jitter`` returns).
    """
    image = _as_images("class_visualization_update_step", X)
    step = _ascent_step(model, image, int(target_y), l2_reg, learning_rate)
    if isinstance(X, tf.Variable):
        X.assign_add(tf.cast(step, X.dtype))
        return X
    return image + step


def _ascent_step(model, image, target, l2_reg, learning_rate):
    with tf.GradientTape() as tape:
        tape.watch(image)
        objective = _scores(model, image)[0, target] - l2_reg * tf.reduce_sum(image**2)
    return learning_rate * _step_direction(tape.gradient(objective, image))


def _visualization_step(model, X, target, l2_reg, learning_rate, ox, oy):
    """One iteration of :func:`class_visualization` but the blur: jitter by (ox, oy), one
    update step, jitter back, clip to valid pixels. ``tf.roll`` moves the pixels as
    :func:`jitter` does."""
    X = tf.roll(X, shift=[oy, ox], axis=[1, 2])
    X = X + _ascent_step(model, X, target, l2_reg, learning_rate)
    X = tf.roll(X, shift=[-oy, -ox], axis=[1, 2])
    low = tf.constant(-SQUEEZENET_MEAN / SQUEEZENET_STD, tf.float32)
    high = tf.constant((1.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD, tf.float32)
    return tf.clip_by_value(X, low, high)


def _gaussian_kernel(sigma):
    radius = int(4.0 * sigma + 0.5)  # scipy.ndimage.gaussian_filter1d's truncation
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum(), radius


def _blur_axis(X, kernel, radius, axis):
    # scipy's 'reflect' mode is NumPy's 'symmetric' padding (d c b a | a b c d | d c b a).
    pad = [(0, 0)] * X.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(X, pad, mode="symmetric")
    n = X.shape[axis]
    out = np.zeros_like(X)
    for k, weight in enumerate(kernel):
        out += weight * np.take(padded, np.arange(k, k + n), axis=axis)
    return out


def blur_image(X, sigma=1):
    """Gaussian blur over the spatial axes of X (N, H, W, C): the course's
    ``scipy.ndimage.gaussian_filter1d`` on axes 1 and 2 (mode 'reflect', truncated at 4 sigma),
    in NumPy. Returns a NumPy array of X's dtype (as the course's does)."""
    X = np.asarray(X.numpy() if hasattr(X, "numpy") else X)
    if sigma <= 0:
        return X.copy()
    kernel, radius = _gaussian_kernel(sigma)
    out = _blur_axis(X.astype(np.float64), kernel, radius, 1)
    return _blur_axis(out, kernel, radius, 2).astype(X.dtype)


def jitter(X, ox, oy):
    """Roll X (N, H, W, C) by ``ox`` pixels along the width and ``oy`` along the height; a new
    tensor (the course's helper)."""
    X = tf.convert_to_tensor(X)
    ox, oy = int(ox) % X.shape[2], int(oy) % X.shape[1]  # offsets beyond the image wrap round
    if ox != 0:
        X = tf.concat([X[:, :, -ox:], X[:, :, :-ox]], axis=2)
    if oy != 0:
        X = tf.concat([X[:, -oy:], X[:, :-oy]], axis=1)
    return X


def class_visualization(
    target_y,
    model,
    l2_reg=1e-3,
    learning_rate=25,
    num_iterations=100,
    blur_every=10,
    max_jitter=16,
    callback=None,
    seed=None,
    size=224,
    compiled=True,
):
    """The course's class-visualization loop (its notebook's ``create_class_visualization``):
    from noise, jitter, one update step, clip to valid pixels, blur every ``blur_every`` steps.
    ``callback(t, X)`` sees every iteration's image. All but the blur (NumPy, as the course's
    SciPy) runs as one ``tf.function`` per model and size, traced once, unless
    ``compiled=False`` (then the course's eager functions run, step by step).

    Returns ``(X, probability)``: the (1, size, size, 3) float32 image and the model's softmax
    probability of ``target_y`` for it.
    """

    func = "class_visualization"
    (target,) = _class_indices(func, "target_y", target_y, 1)
    l2_reg, learning_rate, num_iterations, blur_every, max_jitter, size = (
        class_visualization_settings(
            l2_reg, learning_rate, num_iterations, blur_every, max_jitter, size
        )
    )
    rng = np.random.default_rng(seed)
    X = tf.convert_to_tensor(preprocess_image(255 * rng.random((size, size, 3)))[None])
    low = tf.constant(-SQUEEZENET_MEAN / SQUEEZENET_STD)
    high = tf.constant((1.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD)
    if compiled:
        int32, float32 = tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)
        function = _compiled(
            model, "visualization", X.shape, _visualization_step,
            int32, float32, float32, int32, int32,
        )  # fmt: skip
        settings = (
            tf.constant(target, tf.int32),
            tf.constant(l2_reg, tf.float32),
            tf.constant(learning_rate, tf.float32),
        )
    for t in range(num_iterations):
        ox, oy = rng.integers(0, max_jitter + 1, 2)
        if compiled:
            X = function(X, *settings, tf.constant(ox, tf.int32), tf.constant(oy, tf.int32))
        else:
            X = jitter(X, ox, oy)
            X = class_visualization_update_step(X, model, int(target), l2_reg, learning_rate)
            X = jitter(X, -ox, -oy)
            X = tf.clip_by_value(X, low, high)
        if t % blur_every == 0:
            X = tf.convert_to_tensor(blur_image(X, sigma=0.5))
        if callback is not None:
            callback(t, X)
    if compiled:  # an eager forward pass costs several compiled ones
        X = tf.convert_to_tensor(X)
        scores = _compiled(model, "scores", X.shape, _scores)(X)
    else:
        scores = _scores(model, X)
    probability = float(tf.nn.softmax(scores)[0, int(target)])
    return X.numpy(), probability
