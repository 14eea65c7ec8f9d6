"""The TensorFlow network-visualization functions against their definitions and against the
PyTorch twins on the same weights (a random SqueezeNet converted to TensorFlow)."""

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")

from cs231n import net_visualization_pytorch as tnv  # noqa: E402
from cs231n import net_visualization_tensorflow as nv  # noqa: E402
from cs231n.classifiers.squeezenet import squeezenet_from_torch  # noqa: E402
from cs231n.core.tf_utils import compiled_functions  # noqa: E402
from cs231n.pretrained.squeezenet import SqueezeNet  # noqa: E402


@pytest.fixture(scope="module")
def twins():
    torch.manual_seed(0)
    torch_model = SqueezeNet().eval()
    return torch_model, squeezenet_from_torch(torch_model)


def images(n, size=64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, size, size, 3)).astype(np.float32)


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(np.asarray(x), (0, 3, 1, 2))))


def nhwc(x):
    return np.transpose(x.detach().numpy(), (0, 2, 3, 1))


def close(a, b, rtol=1e-4):
    """Equal to float32 rounding relative to the values' scale (the frameworks sum in other
    orders)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() <= rtol * scale, np.abs(a - b).max() / scale


def test_saliency_maps_equal_the_pytorch_twin(twins):
    torch_model, model = twins
    X, y = images(2), np.array([3, 7])
    maps = nv.compute_saliency_maps(X, y, model)
    assert isinstance(maps, np.ndarray) and maps.shape == (2, 64, 64)
    close(maps, tnv.compute_saliency_maps(nchw(X), torch.tensor(y), torch_model).numpy())


def test_saliency_is_the_max_abs_gradient_of_the_class_score(twins):
    _, model = twins
    X = tf.constant(images(1))
    with tf.GradientTape() as tape:
        tape.watch(X)
        score = model(X)[0, 5]
    expected = tf.reduce_max(tf.abs(tape.gradient(score, X)), axis=3).numpy()
    close(nv.compute_saliency_maps(X.numpy(), [5], model), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "y", [np.array([3, 7], np.int16), np.array([3, 7], np.uint8), [3, 7], tf.constant([3, 7])]
)
def test_saliency_accepts_any_integer_labels(twins, y):
    _, model = twins
    X = images(2)
    np.testing.assert_array_equal(
        nv.compute_saliency_maps(X, y, model), nv.compute_saliency_maps(X, np.array([3, 7]), model)
    )


@pytest.mark.parametrize(
    "y, match",
    [([1, 2, 3], "3 class indices for 2 images"), ([1000, 0], "outside"), ([0.5, 1], "integer")],
)
def test_saliency_bad_labels(twins, y, match):
    with pytest.raises(ValueError, match=match):
        nv.compute_saliency_maps(images(2), y, twins[1])


def test_fooling_steps_equal_the_pytorch_twin(twins):
    torch_model, model = twins
    X = images(1, seed=3)
    target = int(np.argsort(model(X).numpy()[0])[-2])  # the runner-up: a few steps away
    fooled, steps, success = nv.fool(model, X, target, max_iterations=3)
    result = tnv.fool(torch_model, nchw(X), torch.tensor([target]), max_iterations=3)
    assert steps == int(result.iterations[0]) and success == bool(result.success[0])
    close(fooled, nhwc(result.images), rtol=1e-4)
    assert nv.make_fooling_image(X, target, model).shape == (1, 64, 64, 3)


def test_class_visualization_step_equals_the_pytorch_twin(twins):
    torch_model, model = twins
    X = images(1, seed=5)
    step = nv.class_visualization_update_step(tf.constant(X), model, 9, 1e-3, 25.0)
    img = nchw(X).clone().requires_grad_(True)
    tnv.class_visualization_update_step(img, torch_model, 9, 1e-3, 25.0)
    close(step, nhwc(img), rtol=1e-5)
    variable = tf.Variable(X)  # a variable is updated in place, as well as returned
    assert nv.class_visualization_update_step(variable, model, 9, 1e-3, 25.0) is variable
    close(variable.numpy(), step, rtol=1e-6)


@pytest.mark.parametrize("sigma", [0.5, 1, 2.5])
def test_blur_equals_the_pytorch_twin(sigma):
    X = images(2, size=9)
    out = nv.blur_image(X, sigma=sigma)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    expected = nhwc(tnv.blur_image(nchw(X).double(), sigma=sigma))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ox, oy", [(0, 0), (3, 1), (-2, 5), (70, -65)])
def test_jitter_equals_the_pytorch_twin(ox, oy):
    X = images(1, size=8)
    np.testing.assert_array_equal(nv.jitter(X, ox, oy).numpy(), nhwc(tnv.jitter(nchw(X), ox, oy)))


def test_class_visualization_loop(twins):
    _, model = twins
    X, p = nv.class_visualization(4, model, num_iterations=3, size=48, max_jitter=4, seed=1)
    again, _ = nv.class_visualization(4, model, num_iterations=3, size=48, max_jitter=4, seed=1)
    assert X.shape == (1, 48, 48, 3) and 0 <= p <= 1
    np.testing.assert_array_equal(X, again)  # seeded
    with pytest.raises(ValueError, match="l2_reg must be a finite number"):
        nv.class_visualization(4, model, l2_reg=float("nan"))


# The compiled drivers (what `cs231n saliency/fool/visualize-class --framework tensorflow` run):
# the same numbers as the eager ones, from one trace per model and image shape.


def tracing_counts(model):
    return {key: f.experimental_get_tracing_count() for key, f in compiled_functions(model).items()}


def test_compiled_saliency_equals_the_eager_one_and_traces_once(twins):
    _, model = twins
    X, y = images(2, seed=7), np.array([3, 7])
    eager = nv.compute_saliency_maps(X, y, model)
    for labels in (y, [1, 2], np.array([9, 9], np.int64)):  # new labels, no new trace
        maps = nv.saliency_maps(X, labels, model)
        assert isinstance(maps, np.ndarray) and maps.shape == (2, 64, 64)
    close(nv.saliency_maps(X, y, model), eager, rtol=1e-5)
    close(nv.saliency_maps(X, y, model, compiled=False), eager, rtol=0)
    assert tracing_counts(model)[("saliency", (2, 64, 64, 3))] == 1
    with pytest.raises(ValueError, match="outside"):
        nv.saliency_maps(X, [0, 1000], model)


@pytest.mark.parametrize("objective", ["score", "margin"])
def test_compiled_fooling_equals_the_eager_one_and_traces_once(twins, objective):
    _, model = twins
    X = images(1, size=56, seed=3)
    target = int(np.argsort(model(X).numpy()[0])[-2])
    eager = nv.fool(model, X, target, max_iterations=4, objective=objective, compiled=False)
    compiled = nv.fool(model, X, target, max_iterations=4, objective=objective)
    assert compiled[1:] == eager[1:] and compiled[1] > 0
    close(compiled[0], eager[0], rtol=1e-5)
    nv.fool(model, X, (target + 1) % 1000, max_iterations=2, objective=objective)  # new target
    assert tracing_counts(model)[(f"fool_{objective}", (1, 56, 56, 3))] == 1


def test_compiled_class_visualization_equals_the_eager_one_and_traces_once(twins):
    _, model = twins
    settings = dict(num_iterations=4, size=40, max_jitter=5, blur_every=2, seed=2)
    eager, p_eager = nv.class_visualization(6, model, compiled=False, **settings)
    seen = []
    compiled, p = nv.class_visualization(6, model, callback=lambda t, X: seen.append(t), **settings)
    assert seen == [0, 1, 2, 3] and compiled.shape == (1, 40, 40, 3)
    close(compiled, eager, rtol=1e-5)
    assert p == pytest.approx(p_eager, rel=1e-4)
    nv.class_visualization(8, model, l2_reg=1e-2, learning_rate=5, **settings)  # new settings
    assert tracing_counts(model)[("visualization", (1, 40, 40, 3))] == 1
