"""Generative adversarial networks on MNIST-format images (the assignment's Q5), in TensorFlow 2.

The course's 2020 ``cs231n/gan_tf.py`` API, twin of :mod:`cs231n.gan_pytorch`: ``NOISE_DIM``,
:func:`leaky_relu`, :func:`sample_noise`, the fully connected :func:`discriminator` /
:func:`generator` and the convolutional :func:`dc_discriminator` / :func:`dc_generator` (all
``tf.keras.Sequential``), the vanilla (:func:`discriminator_loss`, :func:`generator_loss`) and
least-squares (:func:`ls_discriminator_loss`, :func:`ls_generator_loss`) losses,
:func:`get_solvers`, the training loop :func:`run_a_gan` and the batch iterator :class:`MNIST`.

Layouts are the course's TensorFlow ones: images are float32 (N, 784) vectors, [0, 1] from
:class:`MNIST`, scaled to [-1, 1] for the discriminators; generators output (N, 784) in
[-1, 1]; the convolutional models work in NHWC inside. TensorFlow is an optional extra; without
it, importing this module raises ImportError saying how to install it.
"""

from __future__ import annotations

import numpy as np

from .core.tf_utils import import_tensorflow
from .data.mnist import load_mnist
from .gradient_check import rel_error  # noqa: F401  (the notebook imports it from here)

tf = import_tensorflow()  # ImportError naming the extra and the command when it is missing

NOISE_DIM = 96

layers = tf.keras.layers


def leaky_relu(x, alpha=0.01):
    """Leaky ReLU, ``max(x, alpha * x)`` elementwise (0 <= alpha <= 1); a tensor of x's shape
    and dtype."""
    return tf.maximum(x, alpha * x)


def sample_noise(batch_size, dim, seed=None):
    """Uniform noise in [-1, 1): a float32 ``tf.Tensor`` of shape (batch_size, dim).

    A ``seed`` sets TensorFlow's global seed first (``tf.random.set_seed``, as the course does),
    so the same seed gives the same noise."""
    if seed is not None:
        tf.random.set_seed(seed)
    return tf.random.uniform([batch_size, dim], minval=-1, maxval=1)


def _initializers(seed):
    """Kernel initializers for a model's weighted layers, in order: Keras's default Glorot
    uniform (biases stay zeros). With a seed, each layer gets its own seed (``seed + i``),
    because Keras 3 layers ignore ``tf.random.set_seed``."""
    i = 0
    while True:
        yield tf.keras.initializers.GlorotUniform(seed=None if seed is None else seed + i)
        i += 1


def discriminator(seed=None):
    """The fully connected discriminator: (N, 784) images -> (N, 1) logits.

    Dense 784->256, LeakyReLU 0.01, Dense 256->256, LeakyReLU 0.01, Dense 256->1, with Keras's
    default initialisation (267009 parameters). The same ``seed`` gives the same weights."""
    if seed is not None:
        tf.random.set_seed(seed)  # the course's; seeds the TensorFlow ops that follow too
    init = _initializers(seed)
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(784,)),
            layers.Dense(256, kernel_initializer=next(init)),
            layers.LeakyReLU(0.01),  # positional: Keras 3's negative_slope, Keras 2's alpha
            layers.Dense(256, kernel_initializer=next(init)),
            layers.LeakyReLU(0.01),
            layers.Dense(1, kernel_initializer=next(init)),
        ]
    )


def generator(noise_dim=NOISE_DIM, seed=None):
    """The fully connected generator: (N, noise_dim) noise -> (N, 784) images in [-1, 1].

    Dense noise_dim->1024, ReLU, Dense 1024->1024, ReLU, Dense 1024->784, Tanh, with Keras's
    default initialisation (1858320 parameters for noise_dim=4). The same ``seed`` gives the
    same weights."""
    if seed is not None:
        tf.random.set_seed(seed)
    init = _initializers(seed)
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(noise_dim,)),
            layers.Dense(1024, kernel_initializer=next(init)),
            layers.ReLU(),
            layers.Dense(1024, kernel_initializer=next(init)),
            layers.ReLU(),
            layers.Dense(784, kernel_initializer=next(init)),
            layers.Activation("tanh"),
        ]
    )


def dc_discriminator():
    """The DCGAN discriminator: (N, 784) images -> (N, 1) logits.

    Reshape to 28x28x1, Conv 32 5x5 (valid), LeakyReLU 0.01, MaxPool 2x2/2, Conv 64 5x5
    (valid), LeakyReLU 0.01, MaxPool 2x2/2, Flatten (4x4x64, NHWC order), Dense 1024,
    LeakyReLU 0.01, Dense 1 (1102721 parameters)."""
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(784,)),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(32, 5, strides=1, padding="valid"),
            layers.LeakyReLU(0.01),
            layers.MaxPool2D(pool_size=2, strides=2),
            layers.Conv2D(64, 5, strides=1, padding="valid"),
            layers.LeakyReLU(0.01),
            layers.MaxPool2D(pool_size=2, strides=2),
            layers.Flatten(),
            layers.Dense(4 * 4 * 64),
            layers.LeakyReLU(0.01),
            layers.Dense(1),
        ]
    )


def dc_generator(noise_dim=NOISE_DIM):
    """The DCGAN generator (InfoGAN's, appendix C.1): (N, noise_dim) -> (N, 784) in [-1, 1].

    Dense 1024, ReLU, BatchNorm, Dense 7*7*128, ReLU, BatchNorm, Reshape to 7x7x128 (NHWC),
    Conv2DTranspose 64 4x4/2 "same", ReLU, BatchNorm, Conv2DTranspose 1 4x4/2 "same", Tanh,
    Reshape to 784 (6595521 weights for noise_dim=4, counting the batch norms' moving
    statistics as ``count_params`` does). Batch norm uses Keras's defaults (epsilon 1e-3,
    momentum 0.99); call the model with ``training=True`` to normalise with batch statistics,
    as :func:`run_a_gan` does."""
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(noise_dim,)),
            layers.Dense(1024),
            layers.ReLU(),
            layers.BatchNormalization(),
            layers.Dense(7 * 7 * 128),
            layers.ReLU(),
            layers.BatchNormalization(),
            layers.Reshape((7, 7, 128)),
            layers.Conv2DTranspose(64, 4, strides=2, padding="same"),
            layers.ReLU(),
            layers.BatchNormalization(),
            layers.Conv2DTranspose(1, 4, strides=2, padding="same"),
            layers.Activation("tanh"),
            layers.Reshape((784,)),
        ]
    )


def _bce(logits, target):
    """Mean binary cross-entropy of ``logits`` against the constant ``target`` (0 or 1):
    ``max(x, 0) - x*t + log(1 + exp(-|x|))``, the stable form, averaged over all elements.
    ``tf.nn`` keeps the logits' dtype (Keras 3's BinaryCrossentropy would cast float64 to
    float32) and its gradient is sigmoid(x) - t everywhere, x = 0 included."""
    logits = tf.convert_to_tensor(logits)
    labels = tf.fill(tf.shape(logits), tf.constant(target, dtype=logits.dtype))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def discriminator_loss(logits_real, logits_fake):
    """Vanilla GAN discriminator loss, a scalar tensor: BCE(logits_real, 1) + BCE(logits_fake,
    0), each averaged over its batch; logits of shape (N, 1) (any shape works)."""
    return _bce(logits_real, 1.0) + _bce(logits_fake, 0.0)


def generator_loss(logits_fake):
    """Non-saturating generator loss, a scalar tensor: BCE(logits_fake, 1) = -mean log D(G(z))."""
    return _bce(logits_fake, 1.0)


def ls_discriminator_loss(scores_real, scores_fake):
    """Least-squares GAN discriminator loss (Mao et al., eq. 9), a scalar tensor:
    ½ mean((scores_real - 1)²) + ½ mean(scores_fake²)."""
    return 0.5 * tf.reduce_mean(tf.square(scores_real - 1)) + 0.5 * tf.reduce_mean(
        tf.square(scores_fake)
    )


def ls_generator_loss(scores_fake):
    """Least-squares GAN generator loss, a scalar tensor: ½ mean((scores_fake - 1)²)."""
    return 0.5 * tf.reduce_mean(tf.square(scores_fake - 1))


def get_solvers(learning_rate=1e-3, beta1=0.5):
    """``(D_solver, G_solver)``: two ``tf.keras.optimizers.Adam`` with this learning rate and
    beta_1 (beta_2 0.999), one per network, as the course asks."""
    return (
        tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta1),
        tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta1),
    )


def run_a_gan(
    D,
    G,
    D_solver,
    G_solver,
    discriminator_loss,
    generator_loss,
    show_every=250,
    print_every=20,
    batch_size=128,
    num_epochs=10,
    noise_size=96,
    loader_train=None,
    verbose=True,
):
    """Train a GAN the course's way: per batch of real images, one discriminator step on them
    (scaled to [-1, 1]) and on ``batch_size`` generated images, then one generator step on
    fresh noise; models are called with ``training=True`` (the course: "assume we are always in
    training mode"), so batch norm uses batch statistics.

    ``loader_train`` (the package's addition) is an iterable of ``(x, y)`` batches, iterated
    once per epoch, x float in [0, 1] with 784 values per image (any shape (B, ...)); by default
    ``MNIST(batch_size, shuffle=True)``, as the course. Like the course's loop, every batch is
    used, the last shorter one too. ``print_every`` is accepted and unused, as in the course
    (losses print every ``show_every`` iterations unless ``verbose=False``). The two steps run
    as one ``tf.function`` (about 9 times faster than eager on a CPU), traced once per call
    (the solvers' moments are made before it), so the losses must be TensorFlow operations, as
    they must be for the gradients anyway.

    Returns ``(images, final)``: a list with the first 16 generated images (numpy (16, 784) in
    [-1, 1]) every ``show_every`` iterations, and 16 images generated after training (a
    (16, 784) tensor, batch norm in inference mode). Raises ValueError if ``loader_train``
    gives no batch in an epoch (nothing would be trained)."""
    del print_every  # part of the course's signature only
    if loader_train is None:
        loader_train = MNIST(batch_size=batch_size, shuffle=True)

    # Adam's moments made now, not on the step's first call: a tf.function that creates
    # variables is traced twice.
    _build_solver(D_solver, D.trainable_variables)
    _build_solver(G_solver, G.trainable_variables)

    # One trace for any number of real images (the last batch of an epoch is shorter).
    @tf.function(input_signature=[tf.TensorSpec([None, 784], tf.float32)])
    def train_step(real_data):
        with tf.GradientTape() as tape:
            logits_real = D(preprocess_img(real_data), training=True)
            fake_images = G(sample_noise(batch_size, noise_size), training=True)
            logits_fake = D(tf.reshape(fake_images, [batch_size, 784]), training=True)
            d_total_error = discriminator_loss(logits_real, logits_fake)
        d_gradients = tape.gradient(d_total_error, D.trainable_variables)
        D_solver.apply_gradients(zip(d_gradients, D.trainable_variables, strict=True))

        with tf.GradientTape() as tape:
            fake_images = G(sample_noise(batch_size, noise_size), training=True)
            gen_logits_fake = D(tf.reshape(fake_images, [batch_size, 784]), training=True)
            g_error = generator_loss(gen_logits_fake)
        g_gradients = tape.gradient(g_error, G.trainable_variables)
        G_solver.apply_gradients(zip(g_gradients, G.trainable_variables, strict=True))
        return d_total_error, g_error, tf.reshape(fake_images, [batch_size, 784])

    iter_count = 0
    images = []
    for epoch in range(num_epochs):
        trained = 0
        for x, _ in loader_train:
            real_data = np.asarray(x, dtype=np.float32).reshape(-1, 784)
            d_total_error, g_error, fake_images = train_step(real_data)
            if iter_count % show_every == 0:
                if verbose:
                    print(
                        f"Epoch: {epoch}, Iter: {iter_count}, D: {float(d_total_error):.4}, "
                        f"G:{float(g_error):.4}"
                    )
                images.append(fake_images.numpy()[0:16])
            iter_count += 1
            trained += 1
        if trained == 0:
            raise ValueError(
                f"run_a_gan: loader_train gave no batch in epoch {epoch}, so nothing was "
                "trained; give it an iterable of (images, labels) batches that can be "
                "iterated once per epoch (not a one-shot iterator)"
            )
    final = tf.reshape(G(sample_noise(batch_size, noise_size), training=False), [-1, 784])
    return images, final[:16]


def _build_solver(solver, variables):
    """``solver.build(variables)`` unless it is built already (Keras 3 ``built``, Keras 2
    ``_built``; building twice would add a second set of moments)."""
    built = getattr(solver, "built", False) or getattr(solver, "_built", False)
    if not built and callable(getattr(solver, "build", None)):
        solver.build(variables)


class MNIST:
    """Minibatches of MNIST-format training images, the course's iterator.

    ``X``: float32 (N, 784) in [0, 1]; ``y``: uint8 (N,) labels. Iterating yields
    ``(X[idx], y[idx])`` batches of ``batch_size`` (the last one shorter if N is not a multiple),
    in a fresh order from NumPy's global generator each time when ``shuffle`` (so
    ``np.random.seed`` makes it reproducible).

    The images come from the package's IDX loader, :func:`cs231n.data.mnist.load_mnist`, not
    from a ``tf.keras.datasets`` download: ``dataset`` is "fashion-mnist" (the default;
    ``$CS231N_DATA/fashion-mnist`` or Debian's dataset-fashion-mnist), "mnist"
    (``$CS231N_DATA/mnist``) or a folder of IDX files; ``split`` "train-all" is the 60000
    training images the course uses. Raises FileNotFoundError (saying how to get the data) or
    ValueError as ``load_mnist`` does, and ValueError for a batch_size below 1."""

    def __init__(
        self, batch_size, shuffle=False, dataset="fashion-mnist", split="train-all", data_root=None
    ):
        if int(batch_size) < 1:
            raise ValueError(f"MNIST: batch_size must be at least 1, got {batch_size}")
        images, labels = load_mnist(dataset, split, data_root)
        self.X = images.reshape(len(images), -1).astype(np.float32) / 255
        self.y = labels
        self.batch_size, self.shuffle = int(batch_size), shuffle

    def __iter__(self):
        N, B = self.X.shape[0], self.batch_size
        # The course's class draws a permutation but then slices in order; this one uses it.
        idxs = np.random.permutation(N) if self.shuffle else np.arange(N)
        return iter((self.X[idxs[i : i + B]], self.y[idxs[i : i + B]]) for i in range(0, N, B))


def preprocess_img(x):
    """[0, 1] -> [-1, 1] (``2x - 1``), for any array or tensor."""
    return 2 * x - 1.0


def deprocess_img(x):
    """[-1, 1] -> [0, 1] (``(x + 1) / 2``), for any array or tensor."""
    return (x + 1.0) / 2.0


def count_params(model):
    """The number of values in ``model.weights`` (an int), as the course's notebook counts:
    trainable weights plus non-trainable ones such as batch norm's moving mean and variance.
    The model must be built (these models are, by their ``Input``)."""
    return int(sum(np.prod(w.shape) for w in model.weights))
