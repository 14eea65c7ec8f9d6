"""TensorFlow for the TensorFlow half of the package, with one clear error when it is missing.

The TensorFlow modules (``classifiers.squeezenet``, ``net_visualization_tensorflow``,
``style_transfer_tensorflow``, ``gan_tf``) start with ``tf = import_tensorflow()``; the PyTorch
modules never import this one, so they work without TensorFlow installed.

``tf.keras`` is Keras 3 unless ``TF_USE_LEGACY_KERAS`` is set (to ``1``, ``true`` or ``True``,
TensorFlow's own rule) before ``tf.keras`` is first used: then TensorFlow routes it to Keras 2,
the ``tf-keras`` package, which must be installed and match TensorFlow's version
(``./setup.sh --with-legacy-keras``). :func:`import_tensorflow` checks both, so that the mode
fails with one clear error instead of TensorFlow's "Keras cannot be imported".
"""

from __future__ import annotations

import os
import weakref

INSTALL_HINT = (
    "install the optional TensorFlow extra: `./setup.sh --with-tensorflow` "
    "(or `pip install -e '.[tensorflow]'`)"
)


def import_tensorflow():
    """The ``tensorflow`` module; ImportError naming the extra and the command when absent, or
    naming tf-keras when ``TF_USE_LEGACY_KERAS`` asks for Keras 2 and it is missing or of
    another version than TensorFlow."""
    try:
        import tensorflow as tf
    except ImportError as e:
        raise ImportError(f"this part of cs231n needs TensorFlow ({e}); {INSTALL_HINT}") from None
    if legacy_keras_requested():
        _check_tf_keras(tf.__version__)
    return tf


def tensorflow_available() -> bool:
    """Whether TensorFlow can be imported (without importing it when it is absent)."""
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def legacy_keras_requested() -> bool:
    """Whether the environment asks TensorFlow for Keras 2 (``TF_USE_LEGACY_KERAS``)."""
    return os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True")


def keras_is_legacy(tf) -> bool:
    """Whether ``tf.keras`` (of the ``tensorflow`` module ``tf``) is Keras 2 from tf-keras
    rather than Keras 3."""
    return tf.keras.__name__.partition(".")[0] == "tf_keras"


def legacy_keras_hint(tf_version: str) -> str:
    """How to install the tf-keras that matches TensorFlow ``tf_version``."""
    major_minor = ".".join(tf_version.split(".")[:2])
    return (
        "`./setup.sh --with-legacy-keras`, or `pip install --no-deps "
        f"'tf-keras=={major_minor}.*'` (--no-deps: tf-keras requires the `tensorflow` "
        "distribution, which would install a second TensorFlow over tensorflow-cpu)"
    )


def _check_tf_keras(tf_version: str) -> None:
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec("tf_keras") is None:
        raise ImportError(
            "TF_USE_LEGACY_KERAS is set, which makes tf.keras Keras 2 from the tf-keras "
            f"package, but tf-keras is not installed: {legacy_keras_hint(tf_version)}; or "
            "unset TF_USE_LEGACY_KERAS to use Keras 3"
        )
    try:
        version = importlib.metadata.version("tf-keras")
    except importlib.metadata.PackageNotFoundError:  # importable without metadata
        return
    if version.split(".")[:2] != tf_version.split(".")[:2]:
        raise ImportError(
            f"TF_USE_LEGACY_KERAS is set, but tf-keras {version} does not match TensorFlow "
            f"{tf_version}: {legacy_keras_hint(tf_version)}"
        )


# Compiled functions of a model, dropped with it (a tf.function holds its graphs and variables).
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_for(owner, key, build):
    """The function ``build(owner)`` made for ``owner`` (a model) and ``key`` (a hashable
    description of everything the trace depends on: shapes, layer indices, options), built on
    first use and kept as long as ``owner`` lives. A ``tf.function`` traces once per new graph,
    so keeping it is what keeps later calls from tracing again. ``build`` gets a weak proxy of
    ``owner``: a function that held the model itself would keep it, and its entry here, alive
    for ever."""
    functions = _COMPILED.setdefault(owner, {})
    if key not in functions:
        functions[key] = build(weakref.proxy(owner))
    return functions[key]


def compiled_functions(owner) -> dict:
    """``{key: function}`` of everything :func:`compiled_for` built for ``owner`` (a copy): what a
    test reads the tracing counts from (``function.experimental_get_tracing_count()``)."""
    return dict(_COMPILED.get(owner, {}))
