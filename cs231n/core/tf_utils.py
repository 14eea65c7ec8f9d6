"""TensorFlow for the TensorFlow half of the package, with one clear error when it is missing.

The TensorFlow modules (``classifiers.squeezenet``, ``net_visualization_tensorflow``,
``style_transfer_tensorflow``, ``gan_tf``) start with ``tf = import_tensorflow()``; the PyTorch
modules never import this one, so they work without TensorFlow installed.
"""

from __future__ import annotations

INSTALL_HINT = (
    "install the optional TensorFlow extra: `./setup.sh --with-tensorflow` "
    "(or `pip install -e '.[tensorflow]'`)"
)


def import_tensorflow():
    """The ``tensorflow`` module; ImportError naming the extra and the command when absent."""
    try:
        import tensorflow as tf
    except ImportError as e:
        raise ImportError(f"this part of cs231n needs TensorFlow ({e}); {INSTALL_HINT}") from None
    return tf


def tensorflow_available() -> bool:
    """Whether TensorFlow can be imported (without importing it when it is absent)."""
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None
