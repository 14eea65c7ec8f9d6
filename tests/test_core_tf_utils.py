"""cs231n.core.tf_utils's cache of compiled functions: one per model and key, built once, and
gone with its model (the functions must not keep the model alive)."""

import gc
import weakref

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from cs231n.core.tf_utils import compiled_for, compiled_functions  # noqa: E402


def small_model():
    return tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])


def forward(model):
    spec = [tf.TensorSpec([4, 3], tf.float32)]
    return tf.function(lambda x: model(x), input_signature=spec)


def test_one_function_per_model_and_key_traced_once():
    model, other = small_model(), small_model()
    f = compiled_for(model, ("forward", 4), forward)
    x = np.ones((4, 3), np.float32)
    for _ in range(3):
        np.testing.assert_allclose(compiled_for(model, ("forward", 4), forward)(x), model(x))
    assert compiled_for(model, ("forward", 4), forward) is f
    assert compiled_for(other, ("forward", 4), forward) is not f
    assert compiled_for(model, ("other key",), forward) is not f
    assert set(compiled_functions(model)) == {("forward", 4), ("other key",)}
    assert f.experimental_get_tracing_count() == 1


def test_the_functions_go_with_their_model():
    model = small_model()
    compiled_for(model, "forward", forward)(np.ones((4, 3), np.float32))
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None  # the function held a weak proxy, not the model
