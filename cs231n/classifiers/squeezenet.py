"""SqueezeNet 1.1 in TensorFlow, as the course's TensorFlow notebooks use it: the 2020 Keras
model and the 2017/2018 TensorFlow 1 graph, under the one name ``SqueezeNet``.

Which one ``SqueezeNet(...)`` gives follows from how TensorFlow runs where it is called:

- **Eagerly** (TensorFlow 2's default; the 2019/2020 notebooks): ``SqueezeNet()`` or
  ``SqueezeNet(num_classes=...)`` is the Keras model below; load the weights with
  ``model.load_weights(SAVE_PATH)``.
- **In graph mode** (``import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()``, as the
  2017/2018 notebooks run today, or inside ``with tf.Graph().as_default():``):
  every call, ``SqueezeNet(save_path=None, sess=None)``, builds the course's 2017/2018 graph
  (:class:`SqueezeNetTF1`) in the default graph and, given ``save_path``, restores it into
  ``sess`` with a TF1 ``Saver``. ``SAVE_PATH = squeezenet_tf1_checkpoint()`` is the course's
  ``cs231n/datasets/squeezenet.ckpt`` (:func:`squeezenet_tf1_checkpoint`).
- The 2017/2018 arguments (``save_path``, ``sess``, or a path first) while TensorFlow runs
  eagerly raise ``RuntimeError`` saying how to switch to graph mode (a TF1 graph cannot be
  built eagerly). ``inspect.signature(SqueezeNet)`` is the 2020 one; ``SqueezeNet.course_forms``
  names the class of the editions whose signature differs (2017, 2018: :class:`SqueezeNetTF1`).

``fire_module(x, inp, sp, e11p, e33p)`` follows the same rule: in graph mode it is the 2017/2018
function (variables under ``fire/squeeze``, ``fire/e11``, ``fire/e33`` of the current variable
scope); eagerly, a new :class:`Fire` applied to ``x``.

The 2020 Keras model
--------------------

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

The 2017/2018 graph
-------------------

:class:`SqueezeNetTF1` builds what the course's ``SqueezeNet(object)`` built, with its names:
``image`` (float32 placeholder ``input_image``, [None, None, None, 3], preprocessed NHWC images),
``labels`` (int32 placeholder, [None]), ``layers`` (the 13 feature tensors, then the classifier's
4), ``features`` (the last feature map), ``classifier`` (2017) and its alias ``scores`` (2018):
(N, 1000) unnormalised scores, ``loss`` (mean softmax cross-entropy of ``classifier`` against
``labels``) and ``extract_features(input=None, reuse=True)``: the 13 feature tensors of
``input`` (default ``image``) under the variable scopes ``features/layer0`` ...
``features/layer12``. Its feature index ``i`` is PyTorch's ``features[i]``: layer 0 is the first
convolution *before* its ReLU (layer 1), so the 2017/2018 style-transfer layers (content 3,
style 1, 4, 6, 7) are the PyTorch notebook's. The 52 variables (``tf.compat.v1.get_variable``)
are named as in the course's checkpoint: ``features/layer0/weights``,
``features/layerK/fire/{squeeze,e11,e33}/{weights,bias}`` (K = 3, 4, 6, 7, 9 ... 12),
``classifier/layer1/{weights,bias}``.
``save_path`` may be that layout (:func:`squeezenet_tf1_checkpoint`, the course's own file) or
the 2020 one (:func:`squeezenet_checkpoint`); the Keras model's ``load_weights`` reads both too.
The same two deviations as the Keras model keep it equal to PyTorch at every image size (max
pools round their output size up; ``classifier/layer3`` averages the whole map, the course's
13x13 average pool at 224x224).
"""

from __future__ import annotations

import contextlib
import numbers
import os
from pathlib import Path

import numpy as np

from ..core.tf_utils import import_tensorflow, keras_is_legacy
from ..pretrained import squeezenet_tf
from ..pretrained.squeezenet_tf import VARIABLE_SUFFIX, arrays_from_torch, tf1_keys
from ..pretrained.squeezenet_tf import (
    squeezenet_checkpoint as squeezenet_checkpoint,  # the notebook's SAVE_PATH in one call
)

tf = import_tensorflow()

NUM_CLASSES = 1000
_KERAS_2 = keras_is_legacy(tf)  # TF_USE_LEGACY_KERAS with tf-keras (README, TensorFlow)


class _CourseNamed:
    """Keeps a course layer name with ``/`` (``features/layer0``) under Keras 3.

    Keras 3 refuses ``/`` in names because it joins names with ``/`` into variable paths; it
    checks only where it opens a name scope (building variables, each call). There the layer
    shows Keras its name with ``_`` (``features_layer0``); everywhere else (``layer.name``,
    ``get_layer``, ``summary``) it is the course's.
    """

    def __init__(self, *args, name=None, **kwargs):
        if _KERAS_2:  # takes the course's names as they are (its ``name`` cannot be set)
            super().__init__(*args, name=name, **kwargs)
            return
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
        if _KERAS_2:
            return super().add_weight(*args, **kwargs)
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
    """The course's 2017/2018 (TensorFlow 1) function form of a Fire module: (N, H, W, inp) ->
    (N, H, W, e11p + e33p).

    In graph mode (see the module's docstring) it is the course's function: variables
    ``fire/squeeze``, ``fire/e11``, ``fire/e33`` (``weights``, ``bias``) in the current variable
    scope, made or reused by ``tf.compat.v1.get_variable``. Run eagerly it applies a new
    :class:`Fire` ``(inp, sp, e11p, e33p)`` (fresh weights) to ``x``, a tensor or a
    ``tf.keras.Input`` (Keras's functional API)."""
    if graph_mode():
        return _graph_fire_module(x, inp, sp, e11p, e33p)
    return Fire(inp, sp, e11p, e33p)(x)


def graph_mode() -> bool:
    """Whether TensorFlow builds a graph here instead of running eagerly: TF1 behaviour
    (``tf.compat.v1.disable_v2_behavior()`` or ``disable_eager_execution()``) or inside
    ``with tf.Graph().as_default():``. Inside a ``tf.function`` of eager code it is False."""
    return not tf.compat.v1.executing_eagerly_outside_functions()


class _ChooseEdition:
    """Makes ``SqueezeNet(...)`` the 2017/2018 graph model (:class:`SqueezeNetTF1`) in graph
    mode, and the 2020 Keras model when TensorFlow runs eagerly (the module's docstring).

    A base class rather than ``SqueezeNet.__new__`` itself, so that ``inspect.signature``
    still reports the Keras model's ``(num_classes=1000)``."""

    def __new__(cls, *args, **kwargs):
        if cls is SqueezeNet and (graph_mode() or _asks_for_the_graph(args, kwargs)):
            return SqueezeNetTF1(*args, **kwargs)  # not a SqueezeNet: __init__ is not called
        return super().__new__(cls, *args, **kwargs)


def _asks_for_the_graph(args, kwargs) -> bool:
    """Whether a call made eagerly has the 2017/2018 arguments (``save_path``, ``sess``, a path
    first), which only the graph model takes; it then refuses with a clear message."""
    if "save_path" in kwargs or "sess" in kwargs:
        return True
    return bool(args) and not isinstance(args[0], numbers.Integral)


class SqueezeNet(_ChooseEdition, tf.keras.Model):
    """SqueezeNet 1.1 (Iandola et al. 2016) with the course's layer structure and names.

    This is the 2020 Keras model; in graph mode ``SqueezeNet(save_path=None, sess=None)`` gives
    the 2017/2018 graph, :class:`SqueezeNetTF1` (see the module's docstring).

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

    def __call__(self, x, *args, **kwargs):
        # Checked before Keras's __call__, which would wrap the error in a page of context.
        check_image_size("SqueezeNet", x if hasattr(x, "shape") else np.asarray(x))
        return super().__call__(x, *args, **kwargs)

    def call(self, x, training=None):
        return tf.reshape(self.net(x, training=training), (-1, self.num_classes))

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Weights from a TensorFlow checkpoint prefix (``squeezenet.ckpt``, as the course's
        notebook passes) or from any file Keras 3 reads (``.weights.h5``, ``.keras``).

        A checkpoint must be in the course's 2020 layout (:func:`checkpoint_variables`) or its
        2017/2018 one (:func:`squeezenet_tf1_checkpoint`); a missing key or a wrong shape
        raises ValueError and leaves the weights unchanged, unless ``skip_mismatch`` (then
        those variables keep their values).
        """
        prefix = os.fspath(filepath)
        if not tf.io.gfile.exists(prefix + ".index"):
            if prefix.endswith((".weights.h5", ".keras", ".h5")) and os.path.isfile(prefix):
                return super().load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)
            # Keras would say "File format not supported", which names neither problem.
            if os.path.isfile(prefix):  # the checkpoint's data or index file named instead
                raise ValueError(
                    f"{prefix}: a TensorFlow checkpoint is named by its prefix, without the "
                    f"file's suffix ({prefix.split('.ckpt')[0]}.ckpt for squeezenet.ckpt.*), "
                    "or give a .weights.h5 or .keras file"
                )
            raise FileNotFoundError(
                f"{prefix}: no TensorFlow checkpoint there ({prefix}.index is missing) and no "
                "Keras weights file; the prefix is the path of squeezenet.ckpt, which "
                "cs231n.classifiers.squeezenet.squeezenet_checkpoint() returns"
            )
        try:
            reader = tf.train.load_checkpoint(prefix)
            shapes = reader.get_variable_to_shape_map()
        except (tf.errors.OpError, ValueError) as e:
            raise ValueError(f"{prefix}: not a readable TensorFlow checkpoint ({e})") from None
        variables = checkpoint_variables(self)
        names = {key: key for key in variables}  # {our key: its name in the file}
        tf1 = tf1_keys()
        if sum(tf1[key] in shapes for key in variables) > sum(key in shapes for key in variables):
            names = {key: tf1[key] for key in variables}  # the 2017/2018 layout
        values, problems = {}, []
        for key, variable in variables.items():
            name = names[key]
            if name not in shapes:
                problems.append(f"{name} missing")
            elif tuple(shapes[name]) != tuple(variable.shape):
                problems.append(f"{name} is {tuple(shapes[name])}, needs {tuple(variable.shape)}")
            else:
                try:
                    values[key] = reader.get_tensor(name)
                except (tf.errors.OpError, IndexError, ValueError) as e:  # a damaged file
                    raise ValueError(f"{prefix}: cannot read {name} ({e})") from None
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


# The smallest image SqueezeNet 1.1 takes: below it, its third max pool has nothing left to
# pool, and TensorFlow's CPU kernels stop the process with SIGFPE rather than raise.
MIN_IMAGE_SIZE = 17


def check_image_size(func, x):
    """``x`` (N, H, W, C) when H and W are at least :data:`MIN_IMAGE_SIZE`; a ValueError naming
    ``func`` and the size otherwise, before TensorFlow sees it. Sizes unknown until run time
    (a graph's placeholder) get an assertion in the graph, which fails first."""
    height, width = (x.shape[1], x.shape[2]) if len(x.shape) == 4 else (None, None)
    known = [d for d in (height, width) if d is not None]
    if any(d < MIN_IMAGE_SIZE for d in known):
        raise ValueError(
            f"{func}: images of {height}x{width} pixels are too small for SqueezeNet (at least "
            f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE})"
        )
    if len(known) == 2 or tf.executing_eagerly():
        return x
    size = tf.shape(x)[1:3]
    check = tf.debugging.assert_greater_equal(
        size, MIN_IMAGE_SIZE, message=f"{func}: images too small for SqueezeNet (at least "
        f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}); height, width"
    )  # fmt: skip
    with tf.control_dependencies([check]):
        return tf.identity(x)


# ---- the 2017/2018 TensorFlow 1 graph ----


def squeezenet_tf1_checkpoint(data_root=None, weights=None) -> str:
    """The course's 2017/2018 ``SAVE_PATH`` (``cs231n/datasets/squeezenet.ckpt``) in one call:
    the prefix, as a string, of the pretrained SqueezeNet checkpoint in the layout of the
    course's ``squeezenet_tf.zip``, converted exactly from the project's PyTorch weights once
    into the cache (:func:`cs231n.pretrained.squeezenet_tf.squeezenet_tf1_checkpoint`).

    Both notebooks' checks pass on it: ``os.path.exists(SAVE_PATH)`` (2017: a V1 checkpoint
    file) and ``os.path.exists(SAVE_PATH + ".index")`` (2018: the V2 files), and
    ``SqueezeNet(save_path=SAVE_PATH, sess=sess)`` restores it.
    """
    return str(squeezenet_tf.squeezenet_tf1_checkpoint(data_root, weights))


def _require_graph_mode(what: str):
    if not graph_mode():
        raise RuntimeError(
            f"{what} is the course's 2017/2018 TensorFlow 1 graph model, and TensorFlow runs "
            "eagerly here: run the notebook in graph mode (`import tensorflow.compat.v1 as tf` "
            "then `tf.disable_v2_behavior()`, before building the model), or build it inside "
            "`with tf.Graph().as_default():`; in eager TensorFlow 2 use the 2020 model, "
            "`model = SqueezeNet()` then `model.load_weights(SAVE_PATH)`"
        )


def _get_conv_variables(kh, cin, cout):
    v1 = tf.compat.v1
    return (
        v1.get_variable("weights", shape=[kh, kh, cin, cout], dtype=tf.float32),
        v1.get_variable("bias", shape=[cout], dtype=tf.float32),
    )


def _graph_fire_module(x, inp, sp, e11p, e33p):
    """The course's 2017/2018 ``fire_module``: variables under ``fire/{squeeze,e11,e33}``."""
    v1 = tf.compat.v1
    with v1.variable_scope("fire"):
        with v1.variable_scope("squeeze"):
            w, b = _get_conv_variables(1, inp, sp)
            s = tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID") + b)
        with v1.variable_scope("e11"):
            w, b = _get_conv_variables(1, sp, e11p)
            e11 = tf.nn.relu(tf.nn.conv2d(s, w, 1, "VALID") + b)
        with v1.variable_scope("e33"):
            w, b = _get_conv_variables(3, sp, e33p)
            e33 = tf.nn.relu(tf.nn.conv2d(s, w, 1, "SAME") + b)
        return tf.concat([e11, e33], 3)


def _graph_max_pool(x, k=3, s=2):
    """k x k, stride s max pooling whose output size rounds up (PyTorch's ``ceil_mode=True``,
    as the Keras model's :class:`_MaxPool2D`): -inf padding at the bottom and right, just
    enough for one more window. Sizes known when the graph is built stay known (then a pool
    that needs no padding is the course's plain ``max_pool``)."""
    pads, out = [], []
    shape = x.shape.as_list()  # ints or None (TF1 behaviour indexes shapes as Dimensions)
    for axis in (1, 2):
        n = shape[axis]
        if n is None:
            pads.append(tf.math.floormod(-(tf.shape(x)[axis] - k), s))
            out.append(None)
        else:
            pads.append(-(n - k) % s)
            out.append(-(-(n - k) // s) + 1)
    if not all(isinstance(p, int) and p == 0 for p in pads):
        x = tf.pad(x, [[0, 0], [0, pads[0]], [0, pads[1]], [0, 0]], constant_values=float("-inf"))
    y = tf.nn.max_pool2d(x, k, s, "VALID")
    y.set_shape([shape[0], *out, shape[3]])
    return y


# (scope, Fire sizes or None for a max pool) of features/layer2 .. features/layer12
_GRAPH_FEATURES = (
    ("layer2", None),
    ("layer3", (64, 16, 64, 64)),
    ("layer4", (128, 16, 64, 64)),
    ("layer5", None),
    ("layer6", (128, 32, 128, 128)),
    ("layer7", (256, 32, 128, 128)),
    ("layer8", None),
    ("layer9", (256, 48, 192, 192)),
    ("layer10", (384, 48, 192, 192)),
    ("layer11", (384, 64, 256, 256)),
    ("layer12", (512, 64, 256, 256)),
)


class SqueezeNetTF1:
    """The course's 2017/2018 TensorFlow 1 SqueezeNet 1.1, built in the default graph.

    ``SqueezeNet(save_path=None, sess=None)`` gives this class in graph mode (the module's
    docstring); it can be built directly too. Attributes (the course's): ``image``, ``labels``,
    ``layers``, ``features``, ``classifier`` (also ``scores``), ``loss``; see the module's
    docstring for what each is. Given ``save_path``, the 52 variables are restored into
    ``sess`` (a ``tf.compat.v1.Session`` on the default graph) with a TF1 ``Saver``; without
    it they are left uninitialised, as the course's were. ``num_classes`` (beyond the course)
    sizes the classifier.

    Errors: ``RuntimeError`` when TensorFlow runs eagerly; ``ValueError`` for ``save_path``
    without ``sess``, a session on another graph, or a checkpoint that is not SqueezeNet 1.1's
    in either layout (naming what is missing or of the wrong shape).
    """

    def __init__(self, save_path=None, sess=None, num_classes=NUM_CLASSES):
        _require_graph_mode("SqueezeNet(save_path=..., sess=...)")
        if save_path is not None and not isinstance(save_path, str | os.PathLike):
            raise TypeError(
                f"save_path must be a checkpoint path (the course's SAVE_PATH), got "
                f"{type(save_path).__name__}; SqueezeNet(num_classes) is the 2020 Keras model, "
                "which runs eagerly"
            )
        if save_path is not None:
            self._check_session(sess)
        v1 = tf.compat.v1
        self.num_classes = num_classes
        before = {id(v) for v in v1.global_variables()}
        outer = v1.get_variable_scope().name
        self.image = v1.placeholder(tf.float32, shape=[None, None, None, 3], name="input_image")
        self.labels = v1.placeholder(tf.int32, shape=[None], name="labels")
        self.layers = self.extract_features(self.image, reuse=False)
        self.features = self.layers[-1]
        with v1.variable_scope("classifier"):
            with v1.variable_scope("layer0"):
                x = self.features
                self.layers.append(x)
            with v1.variable_scope("layer1"):
                w, b = _get_conv_variables(1, 512, num_classes)
                x = tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "VALID"), b)
                self.layers.append(x)
            with v1.variable_scope("layer2"):
                x = tf.nn.relu(x)
                self.layers.append(x)
            with v1.variable_scope("layer3"):
                x = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
                self.layers.append(x)
        self.classifier = tf.reshape(x, [-1, num_classes])
        self.scores = self.classifier  # the 2018 notebooks' name
        start = len(outer) + 1 if outer else 0
        self.variables = {  # {name in the course's checkpoint: variable}
            v.op.name[start:]: v for v in v1.global_variables() if id(v) not in before
        }
        if save_path is not None:
            self.restore(sess, save_path)
        self.loss = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(
                labels=tf.one_hot(self.labels, num_classes), logits=self.classifier
            )
        )

    def extract_features(self, input=None, reuse=True):
        """The 13 feature tensors of ``input`` ((N, H, W, 3) preprocessed images; default
        ``self.image``) under ``features/layer0`` ... ``features/layer12``: layer 0 the first
        convolution before its ReLU, 1 the ReLU, 2/5/8 max pools, the rest Fire modules (PyTorch's
        ``features[i]`` for every ``i``). ``reuse=True`` shares the model's variables (the
        constructor makes them with ``reuse=False``)."""
        v1 = tf.compat.v1
        x = self.image if input is None else input
        x = check_image_size("SqueezeNet.extract_features", x)
        layers = []
        with v1.variable_scope("features", reuse=reuse):
            with v1.variable_scope("layer0"):
                w, b = _get_conv_variables(3, 3, 64)
                x = tf.nn.bias_add(tf.nn.conv2d(x, w, 2, "VALID"), b)
                layers.append(x)
            with v1.variable_scope("layer1"):
                x = tf.nn.relu(x)
                layers.append(x)
            for scope, fire in _GRAPH_FEATURES:
                with v1.variable_scope(scope):
                    x = _graph_max_pool(x) if fire is None else _graph_fire_module(x, *fire)
                    layers.append(x)
        return layers

    def restore(self, sess, save_path):
        """Restore the model's variables from the checkpoint ``save_path`` into ``sess`` with a
        TF1 ``Saver``. The checkpoint may be in the course's 2017/2018 layout (its
        ``squeezenet.ckpt``, :func:`squeezenet_tf1_checkpoint`, V1 or V2 files) or in the 2020
        one (:func:`squeezenet_checkpoint`)."""
        self._check_session(sess)
        save_path = os.fspath(save_path)
        try:
            shapes = dict(tf.train.list_variables(save_path))
        except (tf.errors.OpError, ValueError) as e:
            raise ValueError(f"{save_path}: not a readable TensorFlow checkpoint ({e})") from None
        names = {name: name for name in self.variables}  # {our name: its name in the file}
        keras_names = {tf1: keras for keras, tf1 in tf1_keys().items()}
        if sum(keras_names.get(n) in shapes for n in names) > sum(n in shapes for n in names):
            names = {name: keras_names.get(name, name) for name in names}  # the 2020 layout
        problems = []
        for name, variable in self.variables.items():
            key = names[name]
            if key not in shapes:
                problems.append(f"{key} missing")
            elif tuple(shapes[key]) != tuple(variable.shape.as_list()):
                needs = tuple(variable.shape.as_list())
                problems.append(f"{key} is {tuple(shapes[key])}, needs {needs}")
        if problems:
            raise ValueError(
                f"{save_path}: not a SqueezeNet checkpoint for this model ({len(problems)} "
                f"problems: {'; '.join(problems[:3])})"
            )
        var_list = {names[name]: variable for name, variable in self.variables.items()}
        tf.compat.v1.train.Saver(var_list=var_list).restore(sess, save_path)

    @staticmethod
    def _check_session(sess):
        if sess is None:
            raise ValueError(
                "save_path needs sess, the tf.compat.v1.Session to restore the weights into "
                "(the course's `SqueezeNet(save_path=SAVE_PATH, sess=sess)`)"
            )
        if sess.graph is not tf.compat.v1.get_default_graph():
            raise ValueError(
                "sess runs another graph than the default one, where the model is built: make "
                "the session after tf.reset_default_graph(), as the notebook does"
            )


# The class each edition's ``SqueezeNet`` is built as where it is not the 2020 Keras model
# (its signature differs: ``(save_path=None, sess=None)``), for tools that check the course's
# API edition by edition.
SqueezeNet.course_forms = {2017: SqueezeNetTF1, 2018: SqueezeNetTF1}
