"""The TensorFlow SqueezeNet (cs231n.classifiers.squeezenet) against the course's layout and its
PyTorch twin (cs231n.core.torch_utils).

Without data: the course's layer names and the parameter count; random PyTorch weights converted
and compared layer by layer and on the logits (also at image sizes where the two pooling
conventions differ) and on input gradients; the cached checkpoint (written, reused, rebuilt
when damaged, loaded the notebook's way). With the shared data (CS231N_DATA): the pretrained
weights on the course's 25 validation images. Skipped whole without TensorFlow.
"""

import ast
import os
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="the TensorFlow half needs the tensorflow extra")
torch = pytest.importorskip("torch")

from helpers import norm_rel_error  # noqa: E402

from cs231n.classifiers import squeezenet as sq  # noqa: E402
from cs231n.core.config import data_path  # noqa: E402
from cs231n.core.tf_utils import keras_is_legacy  # noqa: E402
from cs231n.pretrained import squeezenet as models  # noqa: E402
from cs231n.pretrained import squeezenet_tf  # noqa: E402

# One thread each: TensorFlow would otherwise start a pool per core beside torch's.
try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:  # TensorFlow already started in this process: keep its setting
    pass

COURSE_LAYER_NAMES = [
    "features/layer0",
    "features/layer2",
    "features/layer3/fire",
    "features/layer4/fire",
    "features/layer5",
    "features/layer6/fire",
    "features/layer7/fire",
    "features/layer8",
    "features/layer9/fire",
    "features/layer10/fire",
    "features/layer11/fire",
    "features/layer12/fire",
    "classifier/layer1",
    "classifier/layer3",
]


@pytest.fixture(scope="module")
def torch_net():
    """A PyTorch SqueezeNet 1.1 with random weights and (unlike torchvision's zero
    initialisation) random biases, so that the bias conversion is tested too."""
    with torch.random.fork_rng(), torch.no_grad():  # the same weights whatever ran before
        torch.manual_seed(0)
        net = models.SqueezeNet().eval()
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape))
    return net


@pytest.fixture(scope="module")
def tf_net(torch_net):
    return sq.squeezenet_from_torch(torch_net)


def _extract_features(x, cnn):
    """The course's style_transfer_tensorflow.extract_features: each of
    ``cnn.net.layers[:-2]`` applied in turn, every output kept."""
    features = []
    for layer in cnn.net.layers[:-2]:
        x = layer(x)
        features.append(x)
    return features


def _torch_features(x, net):
    """PyTorch's ``features`` children outputs, NHWC, matched to the TensorFlow layers: the
    course's ``features/layer0`` includes the ReLU that is PyTorch's ``features.1``."""
    outputs = []
    with torch.no_grad():
        for module in net.features:
            x = module(x)
            outputs.append(x.permute(0, 2, 3, 1).numpy())
    return [outputs[1]] + outputs[2:]


def _nchw(x_nhwc):
    return torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))


# ---- the course's structure ----


def test_course_layer_names_and_parameter_count():
    model = sq.SqueezeNet()
    assert sq.NUM_CLASSES == 1000
    assert [layer.name for layer in model.net.layers] == COURSE_LAYER_NAMES
    fire = model.net.get_layer("features/layer3/fire")
    assert isinstance(fire, sq.Fire) and fire.inplanes == 64
    assert [fire.squeeze.name, fire.expand1x1.name, fire.expand3x3.name] == [
        "squeeze",
        "e11",
        "e33",
    ]
    assert model.count_params() == models.NUM_PARAMETERS == 1_235_496
    assert sum(p.numel() for p in models.SqueezeNet().parameters()) == models.NUM_PARAMETERS
    assert len(sq.checkpoint_variables(model)) == 52
    assert "net/layer_with_weights-1/squeeze/kernel/.ATTRIBUTES/VARIABLE_VALUE" in (
        sq.checkpoint_variables(model)
    )
    # Keras 3 needs '/'-free variable paths; the layers' names keep the course's.
    if not keras_is_legacy(tf):  # Keras 2 (tf-keras) has no variable paths
        assert model.net.layers[0].kernel.path.endswith("/features_layer0/kernel")
    assert sq.SqueezeNet(num_classes=10)(np.zeros((2, 224, 224, 3), np.float32)).shape == (2, 10)


@pytest.mark.parametrize("num_classes", [1000, 10])
def test_the_conversion_table_is_the_built_models_layout(num_classes):
    """cs231n.pretrained.squeezenet_tf writes its checkpoints from a table, without the
    model: the table's keys and shapes are the course model's variables, in order, and its
    torchvision names are the PyTorch model's keys."""
    model = sq.SqueezeNet(num_classes=num_classes)
    built = {key: tuple(v.shape) for key, v in sq.checkpoint_variables(model).items()}
    assert list(squeezenet_tf.checkpoint_shapes(num_classes).items()) == list(built.items())
    assert set(squeezenet_tf.torch_names()) == set(squeezenet_tf.checkpoint_shapes())
    assert set(squeezenet_tf.torch_names().values()) == set(models.SqueezeNet().state_dict())


def test_fire_and_fire_module():
    fire = sq.Fire(8, 4, 5, 6, name="features/layer3")
    assert fire.name == "features/layer3/fire"
    assert fire(tf.zeros((2, 7, 9, 8))).shape == (2, 7, 9, 11)
    assert sq.Fire(8, 4, 5, 6)(tf.zeros((1, 3, 3, 8))).shape == (1, 3, 3, 11)
    inputs = tf.keras.Input((None, None, 8))
    assert tuple(sq.fire_module(inputs, 8, 4, 5, 6).shape) == (None, None, None, 11)


def test_module_imports_no_torch_at_import_time():
    """Only the conversion functions import PyTorch (inside them), so TensorFlow-only code
    never pays for it: no top-level import of torch or of the PyTorch modules."""
    tree = ast.parse(Path(sq.__file__).read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any(name.split(".")[0] == "torch" or name == "models" for name in imported)


def test_missing_tensorflow_names_the_extra_and_the_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    for name in ("cs231n.classifiers.squeezenet", "cs231n.core.tf_utils"):
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError) as info:
        import cs231n.classifiers.squeezenet  # noqa: F401
    message = str(info.value)
    assert "TensorFlow" in message
    assert "pip install -e '.[tensorflow]'" in message
    assert "./setup.sh --with-tensorflow" in message


# ---- the PyTorch twin, random weights ----


@pytest.mark.parametrize("size", [(224, 224), (113, 90)])
def test_logits_and_features_equal_pytorch(torch_net, tf_net, size):
    """224x224 is the course's input; 113x90 gives even map sizes (56x44) before the first
    pool, where rounding the pooled size up (PyTorch, and this model: 28x22) and down (the
    course's Keras pool: 27x21) differ: the shapes and values still match PyTorch's."""
    x = np.random.default_rng(1).standard_normal((2, *size, 3)).astype(np.float32)
    with torch.no_grad():
        expected = torch_net(_nchw(x)).numpy()
    logits = tf_net(x).numpy()
    assert logits.shape == expected.shape == (2, 1000)
    assert np.abs(logits - expected).max() < 1e-4
    assert np.abs(expected).max() > 0.1  # the comparison is not of zeros

    ours = _extract_features(tf.constant(x), tf_net)
    theirs = _torch_features(_nchw(x), torch_net)
    assert len(ours) == len(theirs) == 12
    if size == (113, 90):
        assert ours[1].shape == (2, 28, 22, 64)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.shape == b.shape, f"layer {i}: {a.shape} vs {b.shape}"
        scale = max(1.0, float(np.abs(b).max()))
        assert np.abs(a.numpy() - b).max() < 1e-4 * scale, f"layer {i}"


def test_input_gradients_equal_pytorch(torch_net, tf_net):
    """The gradient a saliency map or a fooling step takes, through the padded pools too.

    Compared normwise: with some random weights a pre-activation lands within rounding of 0,
    so one framework's ReLU passes what the other's blocks, which changes a few gradient
    entries by a few percent (normwise error ~2e-3); with these weights (seed 0) none does and
    the error is ~3e-7."""
    x = np.random.default_rng(2).standard_normal((1, 113, 90, 3)).astype(np.float32)
    xt = _nchw(x).requires_grad_(True)
    torch_net(xt)[0, 7].backward()
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        score = tf_net(xv)[0, 7]
    grad = tape.gradient(score, xv).numpy()
    expected = xt.grad.permute(0, 2, 3, 1).numpy()
    assert np.abs(expected).max() > 0
    assert norm_rel_error(grad, expected) < 1e-5


# ---- the checkpoint: written once, reused, rebuilt when damaged ----


@pytest.fixture
def source(tmp_path, torch_net):
    path = tmp_path / "data" / "squeezenet1_1.pt"
    path.parent.mkdir()
    torch.save(torch_net.state_dict(), path)
    return path


def _same_weights(a, b):
    return all(
        np.array_equal(v.numpy(), w.numpy()) for v, w in zip(a.weights, b.weights, strict=True)
    )


def test_checkpoint_round_trip_the_notebooks_way(source, tf_net, tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    prefix = sq.squeezenet_checkpoint(data_root=source.parent)
    assert prefix.name == "squeezenet.ckpt"
    assert prefix.parent.parent == tmp_path / "cache" / "squeezenet_tf"
    assert Path(f"{prefix}.index").is_file()
    assert not [p for p in prefix.parent.parent.iterdir() if p.name.startswith(".")]

    model = sq.SqueezeNet()  # the course's notebook: SqueezeNet(), then load_weights(SAVE_PATH)
    model.load_weights(str(prefix))
    assert _same_weights(model, tf_net)
    model.trainable = False
    x = np.random.default_rng(3).standard_normal((1, 224, 224, 3)).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), tf_net(x).numpy())

    # Reused as it is; another source file gives another entry.
    stamp = os.stat(f"{prefix}.index").st_mtime_ns
    assert sq.squeezenet_checkpoint(weights=source) == prefix
    assert os.stat(f"{prefix}.index").st_mtime_ns == stamp
    other = tmp_path / "other.pt"
    state = {k: v + 1 for k, v in torch.load(source, weights_only=True).items()}
    torch.save(state, other)
    assert sq.squeezenet_checkpoint(weights=other) != prefix


def test_damaged_checkpoint_is_rebuilt(source, tf_net, tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    prefix = sq.squeezenet_checkpoint(weights=source)
    data = prefix.parent / "squeezenet.ckpt.data-00000-of-00001"
    index = Path(f"{prefix}.index")
    for damage in ("truncated data", "garbage index"):
        if damage == "truncated data":
            data.write_bytes(data.read_bytes()[:1000])
        else:
            index.write_bytes(b"not a checkpoint")
        assert sq.squeezenet_checkpoint(weights=source) == prefix, damage
        model = sq.SqueezeNet()
        model.load_weights(str(prefix))
        assert _same_weights(model, tf_net), damage


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # Keras's h5
def test_load_weights_refuses_a_foreign_checkpoint(tf_net, tmp_path):
    prefix = sq.write_checkpoint(tf_net, tmp_path / "ckpt" / "squeezenet.ckpt")
    small = sq.SqueezeNet(num_classes=10)
    before = [v.numpy() for v in small.weights]
    with pytest.raises(ValueError, match="layer_with_weights-9/kernel"):
        small.load_weights(str(prefix))
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, small.weights, strict=True))
    small.load_weights(str(prefix), skip_mismatch=True)  # all but the 1000-class layer
    np.testing.assert_array_equal(small.net.layers[0].kernel.numpy(), tf_net.net.layers[0].kernel)

    # Keras's own formats still go to Keras.
    h5 = tmp_path / "twin.weights.h5"
    tf_net.save_weights(h5)
    again = sq.SqueezeNet()
    again.load_weights(h5)
    assert _same_weights(again, tf_net)


# ---- the real pretrained weights (skipped when absent) ----


def test_pretrained_logits_equal_pytorch_on_imagenet_val(tmp_path, monkeypatch):
    """Measured with the shared squeezenet1_1.pt on the 25 images: max |logit difference|
    1.1e-5 (logits up to 46), top-1 agreement 25/25."""
    for path in (data_path(models.COURSE_FILE), data_path("imagenet_val_25.npz")):
        if not path.is_file():
            pytest.skip(f"{path} not present (set CS231N_DATA to the shared data)")
    from cs231n.data_utils import load_imagenet_val
    from cs231n.image_utils import preprocess_image

    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    X_raw, y, _ = load_imagenet_val(num=25)
    X = preprocess_image(X_raw)
    model = sq.pretrained_squeezenet()
    net = models.squeezenet1_1(data_path(models.COURSE_FILE)).eval()
    with torch.no_grad():
        expected = net(_nchw(X)).numpy()
    logits = model(X).numpy()
    diff = float(np.abs(logits - expected).max())
    agree = int((logits.argmax(1) == expected.argmax(1)).sum())
    print(f"max |logit difference| {diff:.2e}, top-1 agreement {agree}/25")
    assert diff < 1e-3
    assert agree == 25


SMALL_IMAGES = r"""
import json, sys
import numpy as np
import tensorflow as tf
from cs231n.classifiers.squeezenet import SqueezeNet, SqueezeNetTF1
from cs231n import net_visualization_tensorflow as nv, style_transfer_tensorflow as st

model = SqueezeNet()
outcomes = {}
for size in map(int, sys.argv[1:]):
  x = np.zeros((1, size, size, 3), np.float32)
  outcome = outcomes[size] = {}
  for name, call in {
    "model": lambda: model(x),
    "saliency": lambda: nv.compute_saliency_maps(x, np.array([1]), model),
    "style features": lambda: st.extract_features(x, model),
  }.items():
    try:
        call()
        outcome[name] = "ran"
    except ValueError as e:
        outcome[name] = str(e)
  with tf.Graph().as_default():
    graph_model = SqueezeNetTF1()
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        try:
            sess.run(graph_model.classifier, {graph_model.image: x})
            outcome["graph"] = "ran"
        except tf.errors.InvalidArgumentError as e:
            outcome["graph"] = e.message
print(json.dumps(outcomes))
"""


def test_images_too_small_are_refused_before_tensorflow_kills_the_process():
    """TensorFlow's CPU pooling stopped Python with SIGFPE on images of 16 px or less (issue
    #19 e): every way a network gets an image checks its size first (a subprocess, so that a
    regression fails this test rather than killing the test run)."""
    import json
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", SMALL_IMAGES, "16", "17"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(outcomes["17"].values()) == {"ran"}  # the smallest size that works
    for size in ("16",):
        outcome = outcomes[size]
        too_small = f"images of {size}x{size} pixels are too small for SqueezeNet (at least 17x17)"
        for name in ("model", "saliency", "style features"):
            assert too_small in outcome[name], (name, outcome[name])
        assert "images too small for SqueezeNet (at least 17x17)" in outcome["graph"]


def test_a_cache_entry_replaced_by_a_file_is_rebuilt(source, tf_net, tmp_path, monkeypatch):
    """The TensorFlow cache entry replaced by a file gave "Not a directory", and no rebuild
    (issue #19 d); the cache holds only what the project generates, so it is rebuilt."""
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    prefix = sq.squeezenet_checkpoint(weights=source)
    folder = prefix.parent
    import shutil

    shutil.rmtree(folder)
    folder.write_text("not a folder")
    assert sq.squeezenet_checkpoint(weights=source) == prefix
    model = sq.SqueezeNet()
    model.load_weights(str(prefix))
    assert _same_weights(model, tf_net)


def test_a_missing_or_misnamed_checkpoint_prefix_says_so(source, tmp_path, monkeypatch):
    """Keras answered a missing prefix with "File format not supported ... Keras 3 only
    supports ..." (issue #19 l)."""
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    model = sq.SqueezeNet()
    with pytest.raises(FileNotFoundError, match=r"nowhere.ckpt: no TensorFlow checkpoint there"):
        model.load_weights(str(tmp_path / "nowhere.ckpt"))
    prefix = sq.squeezenet_checkpoint(weights=source)
    for named in (f"{prefix}.index", f"{prefix}.data-00000-of-00001"):
        with pytest.raises(ValueError, match="is named by its prefix, without the file's suffix"):
            model.load_weights(named)
    model.load_weights(str(prefix))  # the prefix itself works
