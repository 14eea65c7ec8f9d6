"""The TensorFlow style-transfer losses and driver against their definitions and against the
PyTorch twins on the same weights (a random SqueezeNet converted to TensorFlow)."""

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")

from cs231n import style_transfer_pytorch as tst  # noqa: E402
from cs231n import style_transfer_tensorflow as st  # noqa: E402
from cs231n.classifiers.squeezenet import squeezenet_from_torch  # noqa: E402
from cs231n.core.tf_utils import compiled_functions  # noqa: E402
from cs231n.pretrained.squeezenet import SqueezeNet  # noqa: E402


@pytest.fixture(scope="module")
def twins():
    torch.manual_seed(0)
    torch_model = SqueezeNet().eval()
    for p in torch_model.parameters():
        p.requires_grad_(False)
    return torch_model.features, squeezenet_from_torch(torch_model)


def nhwc(x):
    return np.transpose(x.detach().numpy(), (0, 2, 3, 1))


def image(size=48, seed=0):
    return np.random.default_rng(seed).standard_normal((1, size, size, 3)).astype(np.float32)


def close(a, b, rtol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= rtol * max(np.abs(b).max(), 1e-12), np.abs(a - b).max()


def test_features_are_pytorchs_shifted_by_the_fused_relu(twins):
    cnn, model = twins
    x = image()
    feats = st.extract_features(x, model)
    torch_feats = tst.extract_features(torch.from_numpy(x).permute(0, 3, 1, 2), cnn)
    assert len(feats) == 12 and len(torch_feats) == 13
    for i, f in enumerate(feats):  # TensorFlow layer i is PyTorch layer i + 1
        close(f.numpy(), nhwc(torch_feats[i + 1]), rtol=1e-4)


def test_losses_equal_the_pytorch_twins(twins):
    cnn, model = twins
    a, b = image(seed=1), image(seed=2)
    fa, fb = st.extract_features(a, model), st.extract_features(b, model)
    ta = tst.extract_features(torch.from_numpy(a).permute(0, 3, 1, 2), cnn)
    tb = tst.extract_features(torch.from_numpy(b).permute(0, 3, 1, 2), cnn)
    close(st.content_loss(0.06, fa[2], fb[2]), tst.content_loss(0.06, ta[3], tb[3]), 1e-4)
    for normalize in (True, False):
        close(st.gram_matrix(fa[4], normalize), tst.gram_matrix(ta[5], normalize)[0], 1e-4)
    layers, weights = (0, 3, 5, 6), (300000, 1000, 15, 3)
    targets = [st.gram_matrix(fb[i]) for i in layers]
    torch_targets = [tst.gram_matrix(tb[i + 1]) for i in layers]
    close(
        st.style_loss(fa, layers, targets, weights),
        tst.style_loss(ta, [i + 1 for i in layers], torch_targets, weights),
        1e-4,
    )
    close(st.tv_loss(a, 0.02), tst.tv_loss(torch.from_numpy(a).permute(0, 3, 1, 2), 0.02))


def test_losses_by_definition():
    x = np.random.default_rng(3).standard_normal((1, 5, 4, 3)).astype(np.float32)
    flat = x[0].reshape(-1, 3).astype(np.float64)
    close(st.gram_matrix(x), flat.T @ flat / (5 * 4 * 3))
    tv = ((x[:, 1:] - x[:, :-1]) ** 2).sum() + ((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum()
    close(st.tv_loss(x, 0.5), 0.5 * tv)
    close(st.content_loss(2.0, x, 0 * x), 2.0 * (x.astype(np.float64) ** 2).sum())
    assert st.rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)


def test_presets_are_the_tensorflow_notebooks():
    assert st.PRESETS["starry_night"]["content_layer"] == 2
    assert st.PRESETS["starry_night"]["style_layers"] == (0, 3, 5, 6)
    assert st.PRESETS["composition_vii"]["style_weights"] == (20000, 500, 12, 1)


def test_transfer_follows_the_pytorch_driver(twins):
    cnn, model = twins
    content = (np.random.default_rng(4).random((48, 64, 3)) * 255).astype(np.uint8)
    style = (np.random.default_rng(5).random((40, 40, 3)) * 255).astype(np.uint8)
    settings = dict(image_size=48, style_size=40, iterations=6, feature_scale=1.0)
    tf_preset = {k: v for k, v in st.PRESETS["starry_night"].items() if k != "style_image"}
    result = st.transfer(content, style, cnn=model, **{**tf_preset, **settings})
    torch_preset = {k: v for k, v in tst.PRESETS["starry_night"].items() if k != "style_image"}
    expected = tst.transfer(content, style, cnn=cnn, **{**torch_preset, **settings})
    assert result.image.shape == (1, 48, 64, 3) and len(result.losses) == 6
    for ours, theirs in zip(result.losses, expected.losses, strict=True):
        assert ours["total"] == pytest.approx(theirs["total"], rel=1e-3)
    # Adam divides by the gradient's magnitude, so a pixel whose gradient is float noise can step
    # differently in the two frameworks; the image agrees on the whole.
    diff = np.abs(result.image - nhwc(expected.image))
    assert diff.mean() < 1e-3 and np.percentile(diff, 99) < 1e-2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"content_layer": 12}, "content_layer must be at least 0, at most 11"),
        ({"style_layers": (0, 20, 5, 6)}, "style_layers must be at least 0, at most 11"),
        ({"style_weights": (1, 2, 3)}, "4 style_layers but 3 style_weights"),
        ({"tv_weight": float("nan")}, "tv_weight must be a finite number"),
    ],
)
def test_transfer_bad_arguments(twins, kwargs, match):
    content = np.zeros((48, 48, 3), np.uint8)
    with pytest.raises(ValueError, match=match):
        st.transfer(content, content, cnn=twins[1], image_size=48, iterations=1, **kwargs)


def test_adam_is_keras_adam():
    """The driver's Adam, written out to run inside the compiled iteration, against
    ``tf.keras.optimizers.Adam`` with the driver's settings (the optimizer it replaced)."""
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((2, 3)).astype(np.float32)
    variable = tf.Variable(x0)
    optimizer = tf.keras.optimizers.Adam(learning_rate=3.0, epsilon=1e-8)
    x, m, v = tf.constant(x0), tf.zeros_like(x0), tf.zeros_like(x0)
    for step in range(1, 5):
        grad = tf.constant(rng.standard_normal((2, 3)).astype(np.float32))
        optimizer.apply_gradients([(grad, variable)])
        x, m, v = st._adam(x, grad, m, v, tf.constant(step, tf.float32), tf.constant(3.0))
        close(x.numpy(), variable.numpy(), rtol=1e-6)


def test_compiled_transfer_equals_the_eager_one_and_traces_once(twins):
    _, model = twins
    content = (np.random.default_rng(7).random((44, 40, 3)) * 255).astype(np.uint8)
    style = (np.random.default_rng(8).random((36, 36, 3)) * 255).astype(np.uint8)
    tf_preset = {k: v for k, v in st.PRESETS["starry_night"].items() if k != "style_image"}
    # 20 iterations: the clamp, the learning-rate decay (at 18) and the unclamped end (from 19).
    settings = {**tf_preset, "image_size": 40, "style_size": 36, "iterations": 20, "cnn": model}
    eager = st.transfer(content, style, compiled=False, **settings)
    compiled = st.transfer(content, style, **settings)
    for ours, theirs in zip(compiled.losses, eager.losses, strict=True):
        assert ours["total"] == pytest.approx(theirs["total"], rel=1e-4)
    close(compiled.image, eager.image, rtol=1e-4)
    again = st.transfer(content, style, **{**settings, "style_weights": (1, 2, 3, 4)})
    assert again.losses[0]["style"] != pytest.approx(compiled.losses[0]["style"])
    counts = [
        f.experimental_get_tracing_count()
        for key, f in compiled_functions(model).items()
        if key[:2] == ("style", compiled.image.shape)
    ]
    assert counts == [1]  # 40 iterations, two settings: one trace
