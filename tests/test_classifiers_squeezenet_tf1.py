"""The course's 2017/2018 TensorFlow 1 SqueezeNet (cs231n.classifiers.squeezenet in graph mode)
against its layout, the 2020 Keras model and the PyTorch twin.

Without data, in this process: each graph is built inside ``tf.Graph().as_default()``, so
TensorFlow stays eager for every other test in the worker. The dispatch (eager: Keras; graph
mode: the 2017/2018 graph); the graph's names, shapes and variables (the course's checkpoint
layout); a random PyTorch SqueezeNet converted to that layout, restored, and compared on logits,
all 13 features and input gradients, also at image sizes where the pooling conventions differ;
the cached checkpoint (both notebooks' existence checks, reuse, rebuilt when damaged, the V1
file on its own) and both layouts loading into both models.

With the shared data (CS231N_DATA): the seed's Q3 code (a student's 2017 notebook cells) and
the 2018 style-transfer cells, run as written in a subprocess under
``tensorflow.compat.v1`` with v2 behaviour disabled (that switch is process-wide), against the
2020 Keras model and PyTorch on the pretrained weights: logits, saliency maps, the fooling
image, class-visualization steps and the style-transfer losses.
"""

import fcntl
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="the TensorFlow half needs the tensorflow extra")
torch = pytest.importorskip("torch")

from cs231n.classifiers import squeezenet as sq  # noqa: E402
from cs231n.core.config import data_path  # noqa: E402
from cs231n.pretrained import squeezenet as models  # noqa: E402
from cs231n.pretrained import squeezenet_tf  # noqa: E402

try:  # one thread each, as tests/test_classifiers_squeezenet.py
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:
    pass

# Names and shapes read from the course's own squeezenet.ckpt.index (squeezenet_tf.zip, 2017).
COURSE_VARIABLES = {
    "features/layer0/weights": [3, 3, 3, 64],
    "features/layer0/bias": [64],
    "features/layer3/fire/squeeze/weights": [1, 1, 64, 16],
    "features/layer3/fire/e11/weights": [1, 1, 16, 64],
    "features/layer3/fire/e33/weights": [3, 3, 16, 64],
    "features/layer12/fire/e33/bias": [256],
    "classifier/layer1/weights": [1, 1, 512, 1000],
    "classifier/layer1/bias": [1000],
}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One PyTorch thread while these tests run (as under pytest-xdist, tests/conftest.py):
    with -n 0 on a busy two-core machine its default two threads run several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _session_config():
    return tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)


@pytest.fixture(scope="module")
def torch_net():
    """A PyTorch SqueezeNet 1.1 with random weights and random biases."""
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        net = models.SqueezeNet().eval()
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape))
    return net


@pytest.fixture(scope="module")
def keras_net(torch_net):
    return sq.squeezenet_from_torch(torch_net)


@pytest.fixture(scope="module")
def tf1_prefix(torch_net, tmp_path_factory):
    """torch_net's weights in the 2017/2018 layout (V2 files only)."""
    prefix = tmp_path_factory.mktemp("tf1") / "squeezenet.ckpt"
    arrays = squeezenet_tf.tf1_arrays_from_torch(torch_net.state_dict())
    return squeezenet_tf.write_tf1_checkpoint(arrays, prefix, v1_file=False)


@pytest.fixture
def source(tmp_path, torch_net):
    path = tmp_path / "data" / "squeezenet1_1.pt"
    path.parent.mkdir()
    torch.save(torch_net.state_dict(), path)
    return path


def _nchw(x):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))))


def _nhwc(x):
    return np.transpose(x.detach().numpy(), (0, 2, 3, 1))


def _torch_features(x, net):
    out = []
    with torch.no_grad():
        for module in net.features:
            x = module(x)
            out.append(_nhwc(x).copy())  # the next ReLU works in place
    return out


def _close(a, b, rtol):
    """Equal within ``rtol`` of the values' scale; returns the relative difference."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.abs(b).max(), 1e-12)
    diff = np.abs(a - b).max() / scale
    assert diff <= rtol, diff
    return diff


def _graph_model(save_path=None, **kwargs):
    """(graph, session, model) built the notebook's way in a fresh graph of their own."""
    graph = tf.Graph()
    with graph.as_default():
        sess = tf.compat.v1.Session(config=_session_config())
        model = sq.SqueezeNet(save_path=save_path, sess=sess, **kwargs)
    return graph, sess, model


# ---- which model a call gives ----


def test_eager_calls_give_the_2020_keras_model():
    assert isinstance(sq.SqueezeNet(), tf.keras.Model)
    assert sq.SqueezeNet(num_classes=10).num_classes == 10
    assert sq.SqueezeNet(7).num_classes == 7
    assert str(inspect.signature(sq.SqueezeNet)) == "(num_classes=1000)"  # course_api.json
    params = list(inspect.signature(sq.SqueezeNetTF1).parameters.values())
    assert [(p.name, p.default) for p in params[:2]] == [("save_path", None), ("sess", None)]


@pytest.mark.parametrize(
    "args, kwargs",
    [((), {"save_path": "x.ckpt", "sess": None}), (("x.ckpt",), {}), ((), {"sess": None})],
)
def test_eager_calls_with_the_2017_arguments_say_how_to_switch(args, kwargs):
    with pytest.raises(RuntimeError, match="disable_v2_behavior"):
        sq.SqueezeNet(*args, **kwargs)
    assert tf.executing_eagerly()


def test_graph_mode_gives_the_course_graph():
    graph = tf.Graph()
    with graph.as_default():
        model = sq.SqueezeNet()
        assert isinstance(model, sq.SqueezeNetTF1) and not isinstance(model, sq.SqueezeNet)
        assert model.image.op.type == "Placeholder" and model.image.name == "input_image:0"
        assert model.image.dtype == tf.float32
        assert model.image.shape.as_list() == [None, None, None, 3]
        assert model.labels.dtype == tf.int32 and model.labels.shape.as_list() == [None]
        assert len(model.layers) == 17 and model.features is model.layers[12]
        assert model.scores is model.classifier
        assert model.classifier.shape.as_list() == [None, 1000]
        assert model.loss.shape.as_list() == []
        saved = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
        expected = {k: list(v) for k, v in squeezenet_tf.tf1_checkpoint_shapes().items()}
        assert saved == expected and len(saved) == 52
        assert set(model.variables) == set(saved)
        assert {k: saved[k] for k in COURSE_VARIABLES} == COURSE_VARIABLES
        for i, tensor in enumerate(model.layers[:13]):
            assert tensor.name.startswith(f"features/layer{i}/"), tensor.name
        for i, tensor in enumerate(model.layers[13:]):
            if i:
                assert tensor.name.startswith(f"classifier/layer{i}/"), tensor.name

        # extract_features reuses the variables: 13 tensors, no new variable
        feats = model.extract_features(tf.zeros((1, 192, 256, 3)))
        assert len(feats) == 13 and len(tf.compat.v1.global_variables()) == 52
        channels = [64, 64, 64, 128, 128, 128, 256, 256, 256, 384, 384, 512, 512]
        assert [f.shape[3] for f in feats] == channels
        assert feats[2].shape.as_list() == [1, 47, 63, 64]  # sizes stay known when given
        assert len(model.extract_features()) == 13
        with pytest.raises(ValueError, match="already exists"):
            model.extract_features(reuse=False)
    assert tf.executing_eagerly()


def test_fire_module_in_graph_mode_is_the_course_function():
    with tf.Graph().as_default():
        with tf.compat.v1.variable_scope("layer3"):
            out = sq.fire_module(tf.zeros((2, 5, 7, 8)), 8, 4, 5, 6)
        assert out.shape.as_list() == [2, 5, 7, 11]
        names = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
        assert names == {
            "layer3/fire/squeeze/weights": [1, 1, 8, 4],
            "layer3/fire/squeeze/bias": [4],
            "layer3/fire/e11/weights": [1, 1, 4, 5],
            "layer3/fire/e11/bias": [5],
            "layer3/fire/e33/weights": [3, 3, 4, 6],
            "layer3/fire/e33/bias": [6],
        }
    assert isinstance(sq.fire_module(tf.zeros((1, 3, 3, 8)), 8, 4, 5, 6), tf.Tensor)  # eager


# ---- the PyTorch twin and the Keras model, random weights ----


@pytest.mark.parametrize("size", [(224, 224), (113, 90)])
def test_logits_and_features_equal_pytorch_and_keras(torch_net, keras_net, tf1_prefix, size):
    """113x90 gives even map sizes before the pools, where rounding up (PyTorch, both
    TensorFlow models) and down (the course's pools) differ."""
    x = np.random.default_rng(1).standard_normal((2, *size, 3)).astype(np.float32)
    graph, sess, model = _graph_model(str(tf1_prefix))
    with graph.as_default(), sess:
        logits, *feats = sess.run([model.classifier, *model.layers[:13]], {model.image: x})
    with torch.no_grad():
        expected = torch_net(_nchw(x)).numpy()
    assert np.abs(expected).max() > 0.1
    _close(logits, expected, 1e-5)
    _close(logits, keras_net(x).numpy(), 1e-5)
    theirs = _torch_features(_nchw(x), torch_net)
    for i, (a, b) in enumerate(zip(feats, theirs, strict=True)):  # TF1 layer i = features[i]
        assert a.shape == b.shape, f"layer {i}: {a.shape} vs {b.shape}"
        _close(a, b, 1e-5)


def test_input_gradients_and_loss_equal_pytorch(torch_net, tf1_prefix):
    x = np.random.default_rng(2).standard_normal((2, 113, 90, 3)).astype(np.float32)
    labels = np.array([7, 300])
    graph, sess, model = _graph_model(str(tf1_prefix))
    with graph.as_default(), sess:
        score = tf.gather_nd(model.classifier, tf.stack((tf.range(2), model.labels), axis=1))
        (grad,) = tf.gradients(score, model.image)
        grad, loss = sess.run([grad, model.loss], {model.image: x, model.labels: labels})
    xt = _nchw(x).requires_grad_(True)
    scores = torch_net(xt)
    scores.gather(1, torch.from_numpy(labels).view(-1, 1)).sum().backward()
    expected_loss = torch.nn.functional.cross_entropy(scores, torch.from_numpy(labels))
    assert abs(loss - expected_loss.item()) < 1e-5 * max(1.0, abs(expected_loss.item()))
    _close(grad, _nhwc(xt.grad), 1e-4)


# ---- the checkpoint ----


def test_checkpoint_passes_both_notebooks_checks_and_is_cached(source, tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    SAVE_PATH = sq.squeezenet_tf1_checkpoint(data_root=source.parent)
    assert isinstance(SAVE_PATH, str) and SAVE_PATH.endswith("squeezenet.ckpt")
    assert os.path.exists(SAVE_PATH)  # the 2017 notebook's check
    assert os.path.exists(SAVE_PATH + ".index")  # the 2018 notebook's check
    folder = Path(SAVE_PATH).parent
    assert folder.parent == tmp_path / "cache" / "squeezenet_tf1"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    info = json.loads((folder / "source.json").read_text())
    assert info["source_sha256"] == squeezenet_tf.file_sha256(source)

    stamp = os.stat(SAVE_PATH + ".index").st_mtime_ns
    assert sq.squeezenet_tf1_checkpoint(weights=source) == SAVE_PATH
    assert os.stat(SAVE_PATH + ".index").st_mtime_ns == stamp

    # The V1 file holds the same tensors, and restores on its own.
    alone = tmp_path / "alone" / "squeezenet.ckpt"
    alone.parent.mkdir()
    shutil.copyfile(SAVE_PATH, alone)
    v2, v1 = tf.train.load_checkpoint(SAVE_PATH), tf.train.load_checkpoint(str(alone))
    for name in squeezenet_tf.tf1_checkpoint_shapes():
        np.testing.assert_array_equal(v1.get_tensor(name), v2.get_tensor(name))
    graph, sess, model = _graph_model(str(alone))
    with graph.as_default(), sess:
        value = sess.run(model.variables["features/layer3/fire/e33/weights"])
    np.testing.assert_array_equal(value, v2.get_tensor("features/layer3/fire/e33/weights"))


@pytest.mark.parametrize("damage", ["index", "data", "v1", "source.json"])
def test_damaged_checkpoint_is_rebuilt(source, tmp_path, monkeypatch, damage):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    prefix = Path(sq.squeezenet_tf1_checkpoint(weights=source))
    files = {
        "index": Path(f"{prefix}.index"),
        "data": Path(f"{prefix}.data-00000-of-00001"),
        "v1": prefix,
        "source.json": prefix.parent / "source.json",
    }
    good = {name: path.read_bytes() for name, path in files.items()}
    path = files[damage]
    path.write_bytes(path.read_bytes()[: len(good[damage]) // 2])
    assert not squeezenet_tf.tf1_checkpoint_is_sound(prefix)
    assert sq.squeezenet_tf1_checkpoint(weights=source) == str(prefix)
    assert all(files[name].read_bytes() == good[name] for name in ("index", "data", "v1"))


def test_either_layout_loads_into_either_model(source, keras_net, tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    tf1 = sq.squeezenet_tf1_checkpoint(weights=source)
    keras_layout = str(sq.squeezenet_checkpoint(weights=source))

    model = sq.SqueezeNet()
    model.load_weights(tf1)  # the Keras model reads the 2017/2018 layout
    for a, b in zip(model.weights, keras_net.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    graph, sess, model = _graph_model(keras_layout)  # the graph reads the 2020 layout
    with graph.as_default(), sess:
        values = sess.run(model.variables)
    reader = tf.train.load_checkpoint(tf1)
    for name, value in values.items():
        np.testing.assert_array_equal(value, reader.get_tensor(name))


def test_restore_errors(tf1_prefix, tmp_path):
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="needs sess"):
            sq.SqueezeNet(save_path=str(tf1_prefix))
    with tf.Graph().as_default():
        other = tf.compat.v1.Session(graph=tf.Graph())
        with pytest.raises(ValueError, match="another graph"):
            sq.SqueezeNet(save_path=str(tf1_prefix), sess=other)
    with pytest.raises(ValueError, match="not a readable TensorFlow checkpoint"):
        _graph_model(str(tmp_path / "missing.ckpt"))
    with pytest.raises(ValueError, match=r"classifier/layer1/weights is \(1, 1, 512, 1000\)"):
        _graph_model(str(tf1_prefix), num_classes=10)
    with tf.Graph().as_default(), pytest.raises(TypeError, match="save_path must be"):
        sq.SqueezeNet(10)


# ---- the seed's code, as written, on the pretrained weights (subprocess) ----

NEEDS_DATA = pytest.mark.skipif(
    not all(data_path(n).exists() for n in ("squeezenet1_1.pt", "imagenet_val_25.npz", "styles")),
    reason="needs squeezenet1_1.pt, imagenet_val_25.npz and styles/ in CS231N_DATA",
)
SEED = 231  # np.random.seed before the class visualization (the notebook draws its noise)
CLASS_VIS = dict(target_y=76, num_iterations=3, l2_reg=1e-3, learning_rate=25, max_jitter=16)


def _gaussian_filter1d(x, sigma, axis):
    """scipy.ndimage.gaussian_filter1d (mode "reflect", truncate 4) in NumPy: the seed's blur
    cell imports SciPy's, which the package does not depend on (see HARNESS)."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    x = np.moveaxis(np.asarray(x), axis, -1)
    pad = [(0, 0)] * (x.ndim - 1) + [(radius, radius)]
    padded = np.pad(x, pad, mode="symmetric")
    n = x.shape[-1]
    out = sum(w * padded[..., k : k + n] for k, w in enumerate(taps))
    return np.moveaxis(out, -1, axis)


# Before the seed: where to write what it computes, and SciPy's gaussian_filter1d when SciPy is
# not installed (the one thing the notebook imports that the package does not bring).
HARNESS = textwrap.dedent(
    """
        import importlib.util, sys, types
        import numpy as np
        OUT = sys.argv[1]
        results = {}
        if importlib.util.find_spec("scipy") is None:
            filters = types.ModuleType("scipy.ndimage.filters")
            filters.gaussian_filter1d = lambda X, sigma, axis: _gaussian_filter1d(X, sigma, axis)
            sys.modules.update({"scipy": types.ModuleType("scipy"),
                                "scipy.ndimage": types.ModuleType("scipy.ndimage"),
                                "scipy.ndimage.filters": filters})
        """
) + inspect.getsource(_gaussian_filter1d)

# The seed's Q3: the 2017 NetworkVisualization-TensorFlow cells (setup, saliency, fooling,
# class visualization) with a student's answers written the way the notes quoted in issue 18
# write them (tf.gather_nd on model.classifier, tf.gradients, sess.run with feed_dict,
# tf.constant(l2_reg) and tf.norm(model.image)). Changes from the notebook: the compat.v1
# import, and SAVE_PATH (and the data) found by the package instead of under cs231n/datasets/.
SEED_Q3 = """
import time, os, json
import numpy as np
import matplotlib.pyplot as plt
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()

from cs231n.classifiers.squeezenet import SqueezeNet, squeezenet_tf1_checkpoint
from cs231n.data_utils import load_tiny_imagenet
from cs231n.image_utils import preprocess_image, deprocess_image
from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD

plt.rcParams['figure.figsize'] = (10.0, 8.0) # set default size of plots
plt.rcParams['image.interpolation'] = 'nearest'
plt.rcParams['image.cmap'] = 'gray'

def get_session():
    \"\"\"Create a session that dynamically allocates memory.\"\"\"
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    session = tf.Session(config=config)
    return session

tf.reset_default_graph()
sess = get_session()

SAVE_PATH = squeezenet_tf1_checkpoint()
if not os.path.exists(SAVE_PATH):
    raise ValueError("You need to download SqueezeNet!")
model = SqueezeNet(save_path=SAVE_PATH, sess=sess)

from cs231n.data_utils import load_imagenet_val
X_raw, y, class_names = load_imagenet_val(num=5)
X = np.array([preprocess_image(img) for img in X_raw])

def compute_saliency_maps(X, y, model):
    saliency = None
    N = X.shape[0]
    correct_scores = tf.gather_nd(model.classifier,
                                  tf.stack((tf.range(N), model.labels), axis=1))
    dX = tf.gradients(correct_scores, model.image)[0]
    saliency = tf.reduce_max(tf.abs(dX), axis=3)
    saliency = sess.run(saliency, feed_dict={model.image: X, model.labels: y})
    return saliency

def make_fooling_image(X, target_y, model):
    X_fooling = X.copy()
    learning_rate = 1
    N = X.shape[0]
    score = tf.gather_nd(model.classifier, tf.stack((tf.range(N), model.labels), axis=1))
    g = tf.gradients(score, model.image)[0]
    dX = learning_rate * g / tf.norm(g)
    for i in range(100):
        scores = sess.run(model.classifier, feed_dict={model.image: X_fooling})
        if scores[0].argmax() == target_y:
            print('fooled after %d iterations' % i)
            break
        X_fooling += sess.run(dX, feed_dict={model.image: X_fooling, model.labels: [target_y]})
    return X_fooling

from scipy.ndimage.filters import gaussian_filter1d
def blur_image(X, sigma=1):
    X = gaussian_filter1d(X, sigma, axis=1)
    X = gaussian_filter1d(X, sigma, axis=2)
    return X

def create_class_visualization(target_y, model, **kwargs):
    l2_reg = kwargs.pop('l2_reg', 1e-3)
    learning_rate = kwargs.pop('learning_rate', 25)
    num_iterations = kwargs.pop('num_iterations', 100)
    blur_every = kwargs.pop('blur_every', 10)
    max_jitter = kwargs.pop('max_jitter', 16)
    show_every = kwargs.pop('show_every', 25)

    X = 255 * np.random.rand(224, 224, 3)
    X = preprocess_image(X)[None]

    loss = model.classifier[0, target_y] - tf.constant(l2_reg) * tf.norm(model.image) ** 2
    grad = tf.gradients(loss, model.image)[0]

    for t in range(num_iterations):
        ox, oy = np.random.randint(-max_jitter, max_jitter+1, 2)
        X = np.roll(np.roll(X, ox, 1), oy, 2)

        dX = sess.run(grad, feed_dict={model.image: X})
        X += learning_rate * dX / np.linalg.norm(dX)

        X = np.roll(np.roll(X, -ox, 1), -oy, 2)
        X = np.clip(X, -SQUEEZENET_MEAN/SQUEEZENET_STD, (1.0 - SQUEEZENET_MEAN)/SQUEEZENET_STD)
        if t % blur_every == 0:
            X = blur_image(X, sigma=0.5)

        if t == 0 or (t + 1) % show_every == 0 or t == num_iterations - 1:
            plt.imshow(deprocess_image(X[0]))
            class_name = class_names[target_y]
            plt.title('%s\\nIteration %d / %d' % (class_name, t + 1, num_iterations))
            plt.gcf().set_size_inches(4, 4)
            plt.axis('off')
            plt.show()
    return X

results["X"] = X
results["y"] = y
results["logits"] = sess.run(model.classifier, {model.image: X})
results["saliency"] = compute_saliency_maps(X, y, model)

idx = 0
Xi = X[idx][None]
target_y = 6
X_fooling = make_fooling_image(Xi, target_y, model)
scores = sess.run(model.classifier, {model.image: X_fooling})
assert scores[0].argmax() == target_y, 'The network is not fooled!'
results["X_fooling"] = X_fooling
results["fooling_scores"] = scores

np.random.seed(SEED)
results["class_vis"] = create_class_visualization(
    CLASS_VIS["target_y"], model, num_iterations=CLASS_VIS["num_iterations"])
"""

# The 2018 StyleTransfer-TensorFlow cells (the 2018 check on SAVE_PATH + ".index") with a
# student's losses, and the notebook's test cells' computations.
SEED_STYLE = """
tf.reset_default_graph()
sess = get_session()

SAVE_PATH = squeezenet_tf1_checkpoint()
if not os.path.exists(SAVE_PATH + ".index"):
    raise ValueError("You need to download SqueezeNet!")
model = SqueezeNet(save_path=SAVE_PATH, sess=sess)
assert model.scores is model.classifier

from cs231n.image_utils import load_image
content_img_test = preprocess_image(load_image(STYLES + '/tubingen.jpg', size=192))[None]
style_img_test = preprocess_image(load_image(STYLES + '/starry_night.jpg', size=192))[None]

def content_loss(content_weight, content_current, content_original):
    return content_weight * tf.reduce_sum(tf.squared_difference(content_current, content_original))

def gram_matrix(features, normalize=True):
    shape = tf.shape(features)
    H, W, C = shape[1], shape[2], shape[3]
    F = tf.reshape(features, (H * W, C))
    gram = tf.matmul(F, F, transpose_a=True)
    if normalize:
        gram /= tf.cast(H * W * C, tf.float32)
    return gram

def style_loss(feats, style_layers, style_targets, style_weights):
    loss = 0
    for i, layer in enumerate(style_layers):
        loss += style_weights[i] * tf.reduce_sum(tf.square(gram_matrix(feats[layer]) - style_targets[i]))
    return loss

def tv_loss(img, tv_weight):
    return tv_weight * (tf.reduce_sum(tf.square(img[:, 1:, :, :] - img[:, :-1, :, :]))
                        + tf.reduce_sum(tf.square(img[:, :, 1:, :] - img[:, :, :-1, :])))

content_layer = 3
content_weight = 6e-2
c_feats = sess.run(model.extract_features()[content_layer], {model.image: content_img_test})
bad_img = tf.zeros(content_img_test.shape)
feats = model.extract_features(bad_img)[content_layer]
results["content_loss"] = sess.run(content_loss(content_weight, c_feats, feats))

gram = gram_matrix(model.extract_features()[5])
results["gram"] = sess.run(gram, {model.image: style_img_test})

style_layers = [1, 4, 6, 7]
style_weights = [300000, 1000, 15, 3]
feats = model.extract_features()
style_target_vars = []
for idx in style_layers:
    style_target_vars.append(gram_matrix(feats[idx]))
style_targets = sess.run(style_target_vars, {model.image: style_img_test})
s_loss = style_loss(feats, style_layers, style_targets, style_weights)
results["style_loss"] = sess.run(s_loss, {model.image: content_img_test})

tv_weight = 2e-2
t_loss = tv_loss(model.image, tv_weight)
results["tv_loss"] = sess.run(t_loss, {model.image: content_img_test})
results["content_img"] = content_img_test
results["style_img"] = style_img_test

np.savez(OUT, **results)
"""


def _run_seed(folder: Path) -> Path:
    """Run the seed's code as a script in its own (graph mode) process; its results' path."""
    sq.squeezenet_tf1_checkpoint()  # converted here (torch is loaded): the script finds it cached
    constants = f"SEED = {SEED}\nCLASS_VIS = {CLASS_VIS!r}\nSTYLES = {str(data_path('styles'))!r}\n"
    script = folder / "seed.py"
    script.write_text(HARNESS + constants + SEED_Q3 + SEED_STYLE)
    partial, out = folder / "results.partial.npz", folder / "results.npz"
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(sq.__file__).parents[2]), env.get("PYTHONPATH", "")]
    )
    proc = subprocess.run(
        [sys.executable, str(script), str(partial)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "fooled after" in proc.stdout
    os.replace(partial, out)  # complete, for another worker waiting on the lock
    return out


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """What the seed's code computed, run as written in a TF1 (graph mode) process: once per
    test run, also when pytest-xdist sends these tests to several workers (they share the run's
    temporary folder, and the first to take the lock runs it)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return dict(np.load(_run_seed(tmp_path_factory.mktemp("seed"))))
    folder = tmp_path_factory.getbasetemp().parent / "squeezenet_tf1_seed"
    folder.mkdir(exist_ok=True)
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / "results.npz").exists():
            _run_seed(folder)
    return dict(np.load(folder / "results.npz"))


@pytest.fixture(scope="module")
def pretrained():
    """(Keras model, PyTorch model) with the same pretrained weights."""
    keras = sq.pretrained_squeezenet()
    keras.trainable = False
    return keras, models.load_model(device="cpu")


@NEEDS_DATA
def test_seed_logits_equal_keras_and_pytorch(seed_run, pretrained):
    keras, net = pretrained
    X, logits = seed_run["X"], seed_run["logits"]
    with torch.no_grad():
        expected = net(_nchw(X)).numpy()
    _close(logits, keras(X).numpy(), 1e-6)
    _close(logits, expected, 1e-6)
    assert (logits.argmax(1) == seed_run["y"]).all()


@NEEDS_DATA
def test_seed_saliency_equals_both_twins(seed_run, pretrained):
    from cs231n import net_visualization_pytorch as tnv
    from cs231n import net_visualization_tensorflow as nv

    keras, net = pretrained
    X, y, saliency = seed_run["X"], seed_run["y"], seed_run["saliency"]
    assert saliency.shape == (5, 224, 224)
    _close(saliency, nv.compute_saliency_maps(X, y, keras), 1e-5)
    theirs = tnv.compute_saliency_maps(_nchw(X), torch.from_numpy(y), net).numpy()
    # PyTorch sends a max pool's gradient to another of equal maxima (flat sky in image 0, see
    # the README): a handful of pixels differ there; every other pixel is equal.
    diff = np.abs(saliency - theirs) / np.abs(theirs).max()
    assert (diff > 1e-4).mean() < 1e-3 and diff.max() < 0.05
    _close(np.delete(saliency, 0, axis=0), np.delete(theirs, 0, axis=0), 1e-4)


@NEEDS_DATA
def test_seed_fooling_image_fools_and_equals_the_tensorflow_twin(seed_run, pretrained):
    """The seed's fooling image fools all three models, and the TensorFlow twin takes the same
    steps to the same image. PyTorch's own run ends within a step of it (16 steps here, PyTorch
    15) but elsewhere: its max pools send the gradient to another of tied maxima (see the
    README), and over a dozen normalised steps those pixels drift apart (~6% of the pixel
    range), so only the outcome is compared."""
    from cs231n import net_visualization_pytorch as tnv
    from cs231n import net_visualization_tensorflow as nv

    keras, net = pretrained
    Xi, fooled = seed_run["X"][:1], seed_run["X_fooling"]
    assert seed_run["fooling_scores"][0].argmax() == 6  # checked in the seed too
    assert np.abs(fooled - Xi).max() > 0
    assert int(tf.argmax(keras(fooled)[0])) == 6
    with torch.no_grad():
        assert net(_nchw(fooled)).argmax().item() == 6

    ours, iterations, success = nv.fool(keras, Xi, 6)
    assert success and iterations > 0
    _close(fooled, ours, 1e-5)
    result = tnv.fool(net, _nchw(Xi), torch.tensor([6]), max_iterations=iterations)
    assert result.success.item() and abs(result.iterations.item() - iterations) <= 1


def _class_visualization(step):
    """The seed's create_class_visualization loop with its random draws, the gradient step
    taken by ``step(X) -> X``."""
    from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, preprocess_image

    rng_state = np.random.get_state()
    np.random.seed(SEED)
    try:
        X = preprocess_image(255 * np.random.rand(224, 224, 3))[None]
        jitter = CLASS_VIS["max_jitter"]
        for t in range(CLASS_VIS["num_iterations"]):
            ox, oy = np.random.randint(-jitter, jitter + 1, 2)
            X = np.roll(np.roll(X, ox, 1), oy, 2)
            X = step(X)
            X = np.roll(np.roll(X, -ox, 1), -oy, 2)
            X = np.clip(
                X, -SQUEEZENET_MEAN / SQUEEZENET_STD, (1 - SQUEEZENET_MEAN) / SQUEEZENET_STD
            )
            if t % 10 == 0:
                X = _gaussian_filter1d(_gaussian_filter1d(X, 0.5, 1), 0.5, 2)
    finally:
        np.random.set_state(rng_state)
    return X


@NEEDS_DATA
def test_seed_class_visualization_steps_equal_both_twins(seed_run, pretrained):
    from cs231n import net_visualization_pytorch as tnv
    from cs231n import net_visualization_tensorflow as nv

    keras, net = pretrained
    target, l2_reg, lr = CLASS_VIS["target_y"], CLASS_VIS["l2_reg"], CLASS_VIS["learning_rate"]

    def tf2_step(X):
        return np.asarray(nv.class_visualization_update_step(X, keras, target, l2_reg, lr))

    def torch_step(X):
        img = _nchw(np.asarray(X, np.float32)).requires_grad_(True)
        tnv.class_visualization_update_step(img, net, target, l2_reg, lr)
        return _nhwc(img)

    ours = seed_run["class_vis"]
    start = _class_visualization(lambda X: X)  # the same loop without the steps
    assert np.abs(ours - start).max() > 0.1  # the steps moved the image
    _close(ours, _class_visualization(tf2_step), 1e-4)
    _close(ours, _class_visualization(torch_step), 1e-4)


@NEEDS_DATA
def test_seed_style_losses_equal_both_twins(seed_run, pretrained):
    """The 2017/2018 graph's feature i is PyTorch's i and the 2020 Keras model's i - 1."""
    from cs231n import style_transfer_pytorch as tst
    from cs231n import style_transfer_tensorflow as st

    keras, net = pretrained
    content, style = seed_run["content_img"], seed_run["style_img"]
    style_layers, style_weights = [1, 4, 6, 7], [300000, 1000, 15, 3]

    tf2 = st.extract_features(content, keras)
    tf2_style = st.extract_features(style, keras)
    zeros = st.extract_features(tf.zeros(content.shape), keras)
    with torch.no_grad():
        pt = tst.extract_features(_nchw(content), net.features)
        pt_style = tst.extract_features(_nchw(style), net.features)
        pt_zeros = tst.extract_features(torch.zeros(_nchw(content).shape), net.features)
    expected = {
        "content_loss": [
            st.content_loss(6e-2, tf2[2], zeros[2]),
            tst.content_loss(6e-2, pt[3], pt_zeros[3]),
        ],
        "gram": [st.gram_matrix(tf2_style[4]), tst.gram_matrix(pt_style[5])[0]],
        "style_loss": [
            st.style_loss(
                tf2,
                [i - 1 for i in style_layers],
                [st.gram_matrix(tf2_style[i - 1]) for i in style_layers],
                style_weights,
            ),
            tst.style_loss(
                pt,
                style_layers,
                [tst.gram_matrix(pt_style[i]) for i in style_layers],
                style_weights,
            ),
        ],
        "tv_loss": [st.tv_loss(content, 2e-2), tst.tv_loss(_nchw(content), 2e-2)],
    }
    for name, (tf2_value, torch_value) in expected.items():
        ours = seed_run[name]
        assert np.abs(ours).max() > 0, name
        _close(ours, np.asarray(tf2_value), 1e-5)
        _close(ours, torch_value.numpy(), 1e-5)
