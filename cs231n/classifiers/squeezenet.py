"""SqueezeNet 1.1 in TensorFlow 2 / Keras, as the course's 2020 TensorFlow notebooks use it.

The course's API and conventions (``cs231n/classifiers/squeezenet.py`` of the 2019/2020 starter
code): ``NUM_CLASSES``, ``Fire`` and ``SqueezeNet(num_classes=NUM_CLASSES)``, a ``tf.keras.Model``
whose ``net`` is a ``Sequential`` of 14 layers named after torchvision's module indices::

    features/layer0        Conv 3x3 stride 2, 64, ReLU       features.0 (+ features.1, the ReLU)
    features/layer2        max pool 3x3 stride 2             features.2
    features/layer3/fire   Fire(64, 16, 64, 64)              features.3
    features/layer4/fire   Fire(128, 16, 64, 64)             features.4
    features/layer5        max pool                          features.5
    features/layer6/fire   Fire(128, 32, 128, 128)           features.6
    features/layer7/fire   Fire(256, 32, 128, 128)           features.7
    features/layer8        max pool                          features.8
    features/layer9/fire   Fire(256, 48, 192, 192)           features.9
    features/layer10/fire  Fire(384, 48, 192, 192)           features.10
    features/layer11/fire  Fire(384, 64, 256, 256)           features.11
    features/layer12/fire  Fire(512, 64, 256, 256)           features.12
    classifier/layer1      Conv 1x1 to 1000, ReLU            classifier.1 (+ classifier.2)
    classifier/layer3      average pool to 1x1               classifier.3

Inputs are NHWC float images, (N, 224, 224, 3) normalised with ``SQUEEZENET_MEAN`` /
``SQUEEZENET_STD`` (``cs231n.image_utils.preprocess_image``); ``model(X)`` gives (N, 1000)
unnormalised class scores. The course's style-transfer code walks ``model.net.layers[:-2]``
(the 12 feature layers above) one by one, on images of any size.

The notebook's way works: ``model = SqueezeNet(); model.load_weights(SAVE_PATH)`` with
``SAVE_PATH`` a TensorFlow checkpoint prefix (``squeezenet.ckpt``, next to
``squeezenet.ckpt.index``). The pretrained checkpoint is made from the project's PyTorch
SqueezeNet 1.1 weights (:mod:`cs231n.pretrained.squeezenet`) by :func:`squeezenet_checkpoint`
(:mod:`cs231n.pretrained.squeezenet_tf`), which writes it
in the layout of the course's own ``squeezenet.ckpt`` (a Keras 2 ``save_weights`` checkpoint:
keys ``net/layer_with_weights-{i}/[squeeze|expand1x1|expand3x3/]kernel|bias``), so either file
loads into either model. :func:`pretrained_squeezenet` returns the model with it loaded.

Deviations from the course's code, each so that the numbers equal the PyTorch twin's at every
image size (at 224x224 the course's model and this one compute the same thing):

- Max pooling rounds its output size up (PyTorch's ``MaxPool2d(3, 2, ceil_mode=True)``); the
  course's ``MaxPool2D(3, 2)`` rounds down. They agree whenever the pooled size is odd, as at
  224x224 and 192x192 inputs; elsewhere the course's drops the last row or column.
- ``classifier/layer3`` averages over the whole map (PyTorch's ``AdaptiveAvgPool2d(1)``); the
  course's ``AveragePooling2D(13, 13)`` does the same only for 224x224 inputs.
- The input is (None, None, 3) rather than the course's fixed ``input_shape=(224, 224, 3)``, so
  the whole model, not only the feature layers, runs on any image size.
- PyTorch's ``Dropout`` before the last convolution is absent, as in the course's model: it is
  the identity when the network is evaluated, which is all the assignment does with it.
- Keras 3 refuses ``/`` in layer names (the course's are Keras 2's); the layers keep the
  course's names and open their Keras name scopes (variable paths) with ``_`` instead.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..core.tf_utils import import_tensorflow
from ..pretrained import squeezenet_tf
from ..pretrained.squeezenet_tf import VARIABLE_SUFFIX, arrays_from_torch
from ..pretrained.squeezenet_tf import (
    squeezenet_checkpoint as squeezenet_checkpoint,  # the notebook's SAVE_PATH in one call
)

tf = import_tensorflow()

NUM_CLASSES = 1000


class _CourseNamed:
    """Keeps a course layer name with ``/`` (``features/layer0``) under Keras 3.

    Keras 3 refuses ``/`` in names because it joins names with ``/`` into variable paths; it
    checks only where it opens a name scope (building variables, each call). There the layer
    shows Keras its name with ``_`` (``features_layer0``); everywhere else (``layer.name``,
    ``get_layer``, ``summary``) it is the course's.
    """

    def __init__(self, *args, name=None, **kwargs):
        super().__init__(*args, name=None if name is None else _legal(name), **kwargs)
        if name is not None:
            self.name = name

    @contextlib.contextmanager
    def _legal_name(self):
        name = self.name
        self.name = _legal(name)
        try:
            yield
        finally:
            self.name = name

    def _open_name_scope(self):
        with self._legal_name():
            return super()._open_name_scope()

    def add_weight(self, *args, **kwargs):
        with self._legal_name():
            return super().add_weight(*args, **kwargs)


def _legal(name: str) -> str:
    return name.replace("/", "_")


class _Conv2D(_CourseNamed, tf.keras.layers.Conv2D):
    """``Conv2D`` that may carry a course name."""


class _MaxPool2D(_CourseNamed, tf.keras.layers.MaxPool2D):
    """Max pooling whose output size rounds up, as PyTorch's ``ceil_mode=True``.

    For an input of size H the output has ``ceil((H - k) / s) + 1`` rows (the course's
    ``MaxPool2D`` has ``floor(...)``): the input is padded at the bottom and right with -inf,
    just enough for one more window when the windows would otherwise miss the last rows or
    columns. A padded window always starts inside the input, so -inf never wins.
    """

    def call(self, inputs):
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        shape = tf.shape(inputs)
        pad_h = tf.math.floormod(-(shape[1] - kh), sh)
        pad_w = tf.math.floormod(-(shape[2] - kw), sw)
        padded = tf.pad(
            inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], constant_values=float("-inf")
        )
        return super().call(padded)

    def compute_output_shape(self, input_shape):
        def size(n, k, s):
            return None if n is None else -(-(n - k) // s) + 1

        n, h, w, c = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        return (n, size(h, kh, sh), size(w, kw, sw), c)


class _GlobalAveragePooling2D(_CourseNamed, tf.keras.layers.GlobalAveragePooling2D):
    """Mean over the whole map, keeping (N, 1, 1, C): PyTorch's ``AdaptiveAvgPool2d(1)``."""


class Fire(_CourseNamed, tf.keras.Model):
    """SqueezeNet's Fire module: a 1x1 "squeeze" convolution, then 1x1 and 3x3 "expand"
    convolutions whose outputs are concatenated; every convolution is followed by a ReLU.

    (N, H, W, inplanes) -> (N, H, W, expand1x1_planes + expand3x3_planes); the 3x3 convolution
    pads by one pixel ("same"), as PyTorch's ``padding=1``. As in the course, the model is named
    ``{name}/fire`` and its convolutions ``squeeze``, ``e11`` and ``e33`` (attributes
    ``squeeze``, ``expand1x1``, ``expand3x3``, the names in the checkpoint).
    """

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes, name=None):
        super().__init__(name=None if name is None else f"{name}/fire")
        self.inplanes = inplanes
        self.squeeze = tf.keras.layers.Conv2D(
            squeeze_planes, kernel_size=1, activation="relu", name="squeeze"
        )
        self.expand1x1 = tf.keras.layers.Conv2D(
            expand1x1_planes, kernel_size=1, activation="relu", name="e11"
        )
        self.expand3x3 = tf.keras.layers.Conv2D(
            expand3x3_planes, kernel_size=3, padding="same", activation="relu", name="e33"
        )

    def call(self, x):
        x = self.squeeze(x)
        return tf.concat([self.expand1x1(x), self.expand3x3(x)], axis=3)

    def build(self, input_shape):
        # Built from shapes, so that Keras need not trace ``call`` to build the model.
        self.squeeze.build(input_shape)
        squeezed = self.squeeze.compute_output_shape(input_shape)
        self.expand1x1.build(squeezed)
        self.expand3x3.build(squeezed)

    def compute_output_shape(self, input_shape):
        *rest, _ = input_shape
        return (*rest, self.expand1x1.filters + self.expand3x3.filters)


def fire_module(x, inp, sp, e11p, e33p):
    """The course's 2018 (TensorFlow 1) function form of a Fire module, for Keras's functional
    API: applies a new :class:`Fire` ``(inp, sp, e11p, e33p)`` (fresh weights) to ``x``, an
    (N, H, W, inp) tensor or ``tf.keras.Input``, and returns its (N, H, W, e11p + e33p) output."""
    return Fire(inp, sp, e11p, e33p)(x)


class SqueezeNet(tf.keras.Model):
    """SqueezeNet 1.1 (Iandola et al. 2016) with the course's layer structure and names.

    ``model(X)``: (N, H, W, 3) preprocessed float images (224x224 for ImageNet, any size >= 17
    works) -> (N, num_classes) class scores. ``model.net.layers`` are the 14 layers listed in
    the module's docstring; the weights start random (Keras's initialisation): load them with
    ``model.load_weights(prefix)`` or use :func:`pretrained_squeezenet`.
    """

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        pool = dict(pool_size=3, strides=2)
        self.net = tf.keras.Sequential(
            [
                tf.keras.Input(shape=(None, None, 3)),
                _Conv2D(64, 3, strides=2, activation="relu", name="features/layer0"),
                _MaxPool2D(**pool, name="features/layer2"),
                Fire(64, 16, 64, 64, name="features/layer3"),
                Fire(128, 16, 64, 64, name="features/layer4"),
                _MaxPool2D(**pool, name="features/layer5"),
                Fire(128, 32, 128, 128, name="features/layer6"),
                Fire(256, 32, 128, 128, name="features/layer7"),
                _MaxPool2D(**pool, name="features/layer8"),
                Fire(256, 48, 192, 192, name="features/layer9"),
                Fire(384, 48, 192, 192, name="features/layer10"),
                Fire(384, 64, 256, 256, name="features/layer11"),
                Fire(512, 64, 256, 256, name="features/layer12"),
                _Conv2D(num_classes, 1, activation="relu", name="classifier/layer1"),
                _GlobalAveragePooling2D(keepdims=True, name="classifier/layer3"),
            ]
        )
        self.built = True  # every variable exists already (the Sequential has its input)

    def call(self, x, training=None):
        return tf.reshape(self.net(x, training=training), (-1, self.num_classes))

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Weights from a TensorFlow checkpoint prefix (``squeezenet.ckpt``, as the course's
        notebook passes) or from any file Keras 3 reads (``.weights.h5``, ``.keras``).

        A checkpoint must be in the course's layout (:func:`checkpoint_variables`); a missing
        key or a wrong shape raises ValueError and leaves the weights unchanged, unless
        ``skip_mismatch`` (then those variables keep their values).
        """
        prefix = os.fspath(filepath)
        if not tf.io.gfile.exists(prefix + ".index"):
            return super().load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)
        try:
            reader = tf.train.load_checkpoint(prefix)
            shapes = reader.get_variable_to_shape_map()
        except (tf.errors.OpError, ValueError) as e:
            raise ValueError(f"{prefix}: not a readable TensorFlow checkpoint ({e})") from None
        variables = checkpoint_variables(self)
        values, problems = {}, []
        for key, variable in variables.items():
            if key not in shapes:
                problems.append(f"{key} missing")
            elif tuple(shapes[key]) != tuple(variable.shape):
                problems.append(f"{key} is {tuple(shapes[key])}, needs {tuple(variable.shape)}")
            else:
                try:
                    values[key] = reader.get_tensor(key)
                except (tf.errors.OpError, IndexError, ValueError) as e:  # a damaged file
                    raise ValueError(f"{prefix}: cannot read {key} ({e})") from None
        if problems and not skip_mismatch:
            raise ValueError(
                f"{prefix}: not a SqueezeNet checkpoint for this model ({len(problems)} "
                f"problems: {'; '.join(problems[:3])})"
            )
        for key, value in values.items():
            variables[key].assign(value)


def checkpoint_variables(model: SqueezeNet) -> dict:
    """{checkpoint key: variable} of ``model`` in the layout of the course's ``squeezenet.ckpt``
    (:mod:`cs231n.pretrained.squeezenet_tf` describes it): the i-th layer with weights in
    ``model.net`` is ``net/layer_with_weights-{i}``, a Fire module's convolutions are under
    their attribute names, so e.g.
    ``net/layer_with_weights-1/squeeze/kernel/.ATTRIBUTES/VARIABLE_VALUE``. Kernels are
    (kh, kw, in, out), biases (out,). Ten layers, 52 variables for SqueezeNet 1.1.
    """
    variables = {}
    weighted = [layer for layer in model.net.layers if layer.weights]
    for i, layer in enumerate(weighted):
        if isinstance(layer, Fire):
            convs = {
                f"{part}/": getattr(layer, part) for part in ("squeeze", "expand1x1", "expand3x3")
            }
        else:
            convs = {"": layer}
        for path, conv in convs.items():
            for attr in ("kernel", "bias"):
                key = f"net/layer_with_weights-{i}/{path}{attr}{VARIABLE_SUFFIX}"
                variables[key] = getattr(conv, attr)
    return variables


def squeezenet_from_torch(source) -> SqueezeNet:
    """A :class:`SqueezeNet` holding the weights of a PyTorch SqueezeNet 1.1.

    source: a ``cs231n.pretrained.squeezenet.SqueezeNet`` (or any module with torchvision's
    state-dict keys) or its state dict. Convolution weights (out, in, kh, kw) become kernels
    (kh, kw, in, out); biases are copied as they are; everything is float32. With the same
    weights both networks give the same scores, to float rounding
    (tests/test_classifiers_squeezenet.py).
    """
    state = source.state_dict() if hasattr(source, "state_dict") else source
    model = SqueezeNet(num_classes=int(state["classifier.1.bias"].shape[0]))
    variables = checkpoint_variables(model)
    for key, value in arrays_from_torch(state).items():
        variables[key].assign(value)
    return model


def write_checkpoint(weights, prefix) -> Path:
    """Write SqueezeNet weights as a TensorFlow checkpoint at ``prefix`` in the course's layout.

    weights: a :class:`SqueezeNet`, or {checkpoint key: array} as :func:`checkpoint_variables`
    keys them (see :func:`cs231n.pretrained.squeezenet_tf.write_checkpoint`).
    """
    if isinstance(weights, SqueezeNet):
        weights = {key: v.numpy() for key, v in checkpoint_variables(weights).items()}
    return squeezenet_tf.write_checkpoint(weights, prefix)


def pretrained_squeezenet(data_root=None, weights=None) -> SqueezeNet:
    """:class:`SqueezeNet` with the pretrained weights, loaded the course's way
    (``model.load_weights(squeezenet_checkpoint(...))``); see :func:`squeezenet_checkpoint`."""
    model = SqueezeNet()
    model.load_weights(str(squeezenet_checkpoint(data_root, weights)))
    return model
