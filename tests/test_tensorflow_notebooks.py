"""The course's TensorFlow notebook cells, written the course's way, against the package and the
pretrained SqueezeNet (converted from the shared PyTorch weights into a checkpoint).

The 2020 style-transfer driver cell: refused by Keras 3 as written, run with the README's
one-line change; with tf-keras installed (`./setup.sh --with-legacy-keras`), the three 2020
notebooks' cells run as written in a Keras 2 process (TF_USE_LEGACY_KERAS=1) and with the change
in a Keras 3 process, and must agree."""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from cs231n.core.config import data_path  # noqa: E402

pytestmark = pytest.mark.skipif(
    not data_path("squeezenet1_1.pt").exists() or not data_path("imagenet_val_25.npz").exists(),
    reason="needs squeezenet1_1.pt and imagenet_val_25.npz in CS231N_DATA",
)


@pytest.fixture(scope="module")
def model():
    from cs231n.classifiers.squeezenet import SqueezeNet, squeezenet_checkpoint

    SAVE_PATH = str(squeezenet_checkpoint())  # the course's cs231n/datasets/squeezenet.ckpt
    assert os.path.exists(SAVE_PATH + ".index")
    model = SqueezeNet()
    model.load_weights(SAVE_PATH)
    model.trainable = False
    return model


@pytest.fixture(scope="module")
def val():
    from cs231n.data_utils import load_imagenet_val
    from cs231n.image_utils import preprocess_image

    X_raw, y, class_names = load_imagenet_val(num=5)
    X = np.array([preprocess_image(img) for img in X_raw])
    return X, y, class_names


def test_network_visualization_notebook(model, val):
    from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, deprocess_image
    from cs231n.net_visualization_tensorflow import (
        blur_image,
        class_visualization_update_step,
        compute_saliency_maps,
        jitter,
        make_fooling_image,
    )

    X, y, class_names = val
    saliency = compute_saliency_maps(X[np.arange(5)], y[np.arange(5)], model)
    assert saliency.shape == (5, 224, 224) and (saliency >= 0).all()

    idx, target_y = 0, 6
    Xi = X[idx][None]
    X_fooling = make_fooling_image(Xi, target_y, model)
    scores = model(X_fooling)
    assert tf.math.argmax(scores[0]).numpy() == target_y, "The network is not fooled!"
    assert deprocess_image((Xi - X_fooling)[0]).shape == (224, 224, 3)

    # create_class_visualization's loop, as the notebook writes it, for a few iterations
    X = 255 * np.random.default_rng(0).random((224, 224, 3))
    from cs231n.image_utils import preprocess_image

    X = tf.Variable(preprocess_image(X)[None])
    for t in range(3):
        ox, oy = 3, 5
        X = jitter(X, ox, oy)
        X = class_visualization_update_step(X, model, 76, 1e-3, 25)
        X = jitter(X, -ox, -oy)
        X = tf.clip_by_value(
            X, -SQUEEZENET_MEAN / SQUEEZENET_STD, (1.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD
        )
        if t % 10 == 0:
            X = blur_image(X, sigma=0.5)
    assert deprocess_image(X[0]).shape == (224, 224, 3)


def test_style_transfer_notebook(model):
    from cs231n.image_utils import load_image, preprocess_image
    from cs231n.style_transfer_tensorflow import (
        content_loss,
        extract_features,
        gram_matrix,
        rel_error,
        style_loss,
        tv_loss,
    )

    styles = data_path("styles")
    if not (styles / "tubingen.jpg").exists():
        pytest.skip("needs styles/ in CS231N_DATA")
    content_img_test = preprocess_image(load_image(f"{styles}/tubingen.jpg", size=192))[None]
    style_img_test = preprocess_image(load_image(f"{styles}/starry_night.jpg", size=192))[None]
    c_feats = extract_features(content_img_test, model)[2]
    bad_img = tf.zeros(content_img_test.shape)
    feats = extract_features(bad_img, model)[2]
    assert float(content_loss(6e-2, c_feats, feats)) > 0
    gram = gram_matrix(extract_features(style_img_test, model)[4])
    assert gram.shape == (128, 128)
    c_all = extract_features(content_img_test, model)
    s_all = extract_features(style_img_test, model)
    targets = [gram_matrix(s_all[i]) for i in (0, 3, 5, 6)]
    assert float(style_loss(c_all, (0, 3, 5, 6), targets, [300000, 1000, 15, 3])) > 0
    # The course's check values (style-transfer-checks-tf.npz) come from its own TensorFlow
    # weights and an older resize, so they cannot be reproduced here; the PyTorch twin can.
    import torch

    from cs231n.style_transfer_pytorch import tv_loss as torch_tv

    torch_tv_value = torch_tv(torch.from_numpy(content_img_test).permute(0, 3, 1, 2), 2e-2)
    assert rel_error(float(tv_loss(content_img_test, 2e-2)), float(torch_tv_value)) < 1e-5


# --- StyleTransfer-TensorFlow.ipynb's driver cell -----------------------------------------------
# `style_transfer` as the course's 2020 notebook defines it: its statements in its order (the
# docstring, comments and figure titles left out). It evaluates a PiecewiseConstantDecay once, at
# step 0, and gives Adam the resulting tensor: Keras 2 took it (the learning rate stays 3.0 for
# all 200 iterations, as `step` never moves); Keras 3 refuses it. The README (TensorFlow) gives
# the one-line change for Keras 3, KERAS_3_CHANGE, and the other way: Keras 2 (tf-keras) with
# TF_USE_LEGACY_KERAS=1, which runs the cell as written.
STYLE_TRANSFER_CELL = """
def style_transfer(content_image, style_image, image_size, style_size, content_layer, content_weight,
                   style_layers, style_weights, tv_weight, init_random = False):
    content_img = preprocess_image(load_image(content_image, size=image_size))
    feats = extract_features(content_img[None], model)
    content_target = feats[content_layer]

    style_img = preprocess_image(load_image(style_image, size=style_size))
    s_feats = extract_features(style_img[None], model)
    style_targets = []
    for idx in style_layers:
        style_targets.append(gram_matrix(s_feats[idx]))

    initial_lr = 3.0
    decayed_lr = 0.1
    decay_lr_at = 180
    max_iter = 200

    step = tf.Variable(0, trainable=False)
    boundaries = [decay_lr_at]
    values = [initial_lr, decayed_lr]
    learning_rate_fn = tf.keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    learning_rate = learning_rate_fn(step)
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)

    f, axarr = plt.subplots(1,2)
    axarr[0].axis('off')
    axarr[1].axis('off')
    axarr[0].imshow(deprocess_image(content_img))
    axarr[1].imshow(deprocess_image(style_img))
    plt.show()
    plt.figure()

    if init_random:
        initializer = tf.random_uniform_initializer(0, 1)
        img = initializer(shape=content_img[None].shape)
        img_var = tf.Variable(img)
        print("Intializing randomly.")
    else:
        img_var = tf.Variable(content_img[None])
        print("Initializing with content image.")

    for t in range(max_iter):
        with tf.GradientTape() as tape:
            tape.watch(img_var)
            feats = extract_features(img_var, model)
            c_loss = content_loss(content_weight, feats[content_layer], content_target)
            s_loss = style_loss(feats, style_layers, style_targets, style_weights)
            t_loss = tv_loss(img_var, tv_weight)
            loss = c_loss + s_loss + t_loss
        grad = tape.gradient(loss, img_var)
        optimizer.apply_gradients([(grad, img_var)])

        img_var.assign(tf.clip_by_value(img_var, -1.5, 1.5))

        if t % 100 == 0:
            print('Iteration {}'.format(t))
            plt.imshow(deprocess_image(img_var[0].numpy(), rescale=True))
            plt.axis('off')
            plt.show()
    print('Iteration {}'.format(t))
    plt.imshow(deprocess_image(img_var[0].numpy(), rescale=True))
    plt.axis('off')
    plt.show()
"""

# What the README tells a Keras 3 user to change in that cell (the same learning rate, 3.0).
KERAS_3_CHANGE = (
    "optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)",
    "optimizer = tf.keras.optimizers.Adam(learning_rate=float(learning_rate))",
)


def _style_params(styles, size):
    """The notebook's "Starry Night + Tubingen" parameters (params3); ``size`` for both images
    (the notebook's is 192)."""
    return {
        "content_image": f"{styles}/tubingen.jpg",
        "style_image": f"{styles}/starry_night.jpg",
        "image_size": size,
        "style_size": size,
        "content_layer": 2,
        "content_weight": 6e-2,
        "style_layers": [0, 3, 5, 6],
        "style_weights": [300000, 1000, 15, 3],
        "tv_weight": 2e-2,
    }


def _style_transfer_namespace(model, cell):
    """The notebook's namespace after its setup cells, with ``cell`` run in it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cs231n.image_utils import deprocess_image, load_image, preprocess_image
    from cs231n.style_transfer_tensorflow import (
        content_loss,
        extract_features,
        gram_matrix,
        style_loss,
        tv_loss,
    )

    namespace = {
        "np": np,
        "plt": plt,
        "tf": tf,
        "model": model,
        "load_image": load_image,
        "preprocess_image": preprocess_image,
        "deprocess_image": deprocess_image,
        "extract_features": extract_features,
        "content_loss": content_loss,
        "gram_matrix": gram_matrix,
        "style_loss": style_loss,
        "tv_loss": tv_loss,
    }
    exec(cell, namespace)
    return namespace


def _styles():
    styles = data_path("styles")
    if not (styles / "tubingen.jpg").exists() or not (styles / "starry_night.jpg").exists():
        pytest.skip("needs styles/ in CS231N_DATA")
    return styles


def test_style_transfer_cell_as_written_is_refused_by_keras_3(model):
    from cs231n.core.tf_utils import keras_is_legacy

    if keras_is_legacy(tf):
        pytest.skip(
            "tf.keras is Keras 2 here (TF_USE_LEGACY_KERAS), which takes the cell as written"
        )
    import matplotlib.pyplot as plt

    ns = _style_transfer_namespace(model, STYLE_TRANSFER_CELL)
    try:
        with pytest.raises(ValueError, match="learning_rate` should be float"):
            ns["style_transfer"](**_style_params(_styles(), 64))
    finally:
        plt.close("all")


def test_style_transfer_cell_with_the_keras_3_change(model, capsys):
    """The README's one-line change, run in this process's Keras (Keras 3 unless
    TF_USE_LEGACY_KERAS): the course's 200 iterations at learning rate 3.0, 64-pixel images
    (the iterations' cost barely depends on the size on a CPU)."""
    import matplotlib.pyplot as plt

    old, new = KERAS_3_CHANGE
    assert STYLE_TRANSFER_CELL.count(old) == 1
    ns = _style_transfer_namespace(model, STYLE_TRANSFER_CELL.replace(old, new))
    from cs231n.image_utils import deprocess_image, load_image, preprocess_image

    params = _style_params(_styles(), 64)
    try:
        ns["style_transfer"](**params)
        shown = plt.gca().get_images()[-1].get_array()  # the cell's last figure
    finally:
        plt.close("all")
    out = capsys.readouterr().out
    assert "Initializing with content image." in out
    assert [line for line in out.splitlines() if line.startswith("Iteration")] == [
        "Iteration 0",
        "Iteration 100",
        "Iteration 199",
    ]
    content = preprocess_image(load_image(params["content_image"], size=64))
    assert shown.shape == content.shape and shown.dtype == np.uint8
    # Styled: far from the content image it started from (both stretched as the cell shows).
    start = deprocess_image(content, rescale=True)
    assert np.abs(shown.astype(float) - start).mean() > 20


# --- The three notebooks under Keras 2 (tf-keras, TF_USE_LEGACY_KERAS=1) --------------------------
# Their cells (the course's statements; data paths patched, loops shortened where the notebook
# passes a count), run in a fresh process whose Keras is chosen by the environment. Under
# Keras 2 the style-transfer cell runs as written; under Keras 3 with KERAS_3_CHANGE. Both must
# give the same numbers.
NOTEBOOKS_SCRIPT = """
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from cs231n.classifiers.squeezenet import SqueezeNet, squeezenet_checkpoint
from cs231n.core.config import data_path
from cs231n.data_utils import load_imagenet_val
from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD
from cs231n.image_utils import deprocess_image, load_image, preprocess_image

results = {"keras": np.array(tf.keras.__name__)}

# NetworkVisualization-TensorFlow.ipynb
SAVE_PATH = str(squeezenet_checkpoint())
if not os.path.exists(SAVE_PATH + ".index"):
    raise ValueError("You need to download SqueezeNet!")
model = SqueezeNet()
status = model.load_weights(SAVE_PATH)
model.trainable = False

X_raw, y, class_names = load_imagenet_val(num=5)
X = np.array([preprocess_image(img) for img in X_raw])

from cs231n.net_visualization_tensorflow import compute_saliency_maps
mask = np.arange(5)
results["saliency"] = compute_saliency_maps(X[mask], y[mask], model)

from cs231n.net_visualization_tensorflow import make_fooling_image
idx = 0
Xi = X[idx][None]
target_y = 6
X_fooling = make_fooling_image(Xi, target_y, model)
scores = model(X_fooling)
assert tf.math.argmax(scores[0]).numpy() == target_y, 'The network is not fooled!'
plt.imshow(deprocess_image(10 * (Xi - X_fooling)[0]))
results["fooling"] = np.asarray(X_fooling)

from cs231n.net_visualization_tensorflow import class_visualization_update_step, jitter, blur_image

def create_class_visualization(target_y, model, **kwargs):
    l2_reg = kwargs.pop('l2_reg', 1e-3)
    learning_rate = kwargs.pop('learning_rate', 25)
    num_iterations = kwargs.pop('num_iterations', 100)
    blur_every = kwargs.pop('blur_every', 10)
    max_jitter = kwargs.pop('max_jitter', 16)
    X = 255 * np.random.rand(224, 224, 3)
    X = preprocess_image(X)[None]
    X = tf.Variable(X)
    for t in range(num_iterations):
        ox, oy = np.random.randint(0, max_jitter, 2)
        X = jitter(X, ox, oy)
        X = class_visualization_update_step(X, model, target_y, l2_reg, learning_rate)
        X = jitter(X, -ox, -oy)
        X = tf.clip_by_value(X, -SQUEEZENET_MEAN/SQUEEZENET_STD, (1.0 - SQUEEZENET_MEAN)/SQUEEZENET_STD)
        if t % blur_every == 0:
            X = blur_image(X, sigma=0.5)
        plt.imshow(deprocess_image(X[0]))
    return X

np.random.seed(0)
results["class_visualization"] = np.asarray(create_class_visualization(76, model, num_iterations=3))

# StyleTransfer-TensorFlow.ipynb
STYLES_FOLDER = str(data_path("styles"))
model = SqueezeNet()
model.load_weights(SAVE_PATH)
model.trainable = False
content_img_test = preprocess_image(load_image('%s/tubingen.jpg' % (STYLES_FOLDER), size=192))[None]
style_img_test = preprocess_image(load_image('%s/starry_night.jpg' % (STYLES_FOLDER), size=192))[None]

from cs231n.style_transfer_tensorflow import content_loss, extract_features, rel_error
c_feats = extract_features(content_img_test, model)[2]
bad_img = tf.zeros(content_img_test.shape)
feats = extract_features(bad_img, model)[2]
results["content_loss"] = np.asarray(content_loss(6e-2, c_feats, feats))

from cs231n.style_transfer_tensorflow import gram_matrix
results["gram_matrix"] = np.asarray(gram_matrix(extract_features(style_img_test, model)[4]))

from cs231n.style_transfer_tensorflow import style_loss
c_feats = extract_features(content_img_test, model)
feats = extract_features(style_img_test, model)
style_targets = [gram_matrix(feats[idx]) for idx in [0, 3, 5, 6]]
s_loss = style_loss(c_feats, [0, 3, 5, 6], style_targets, [300000, 1000, 15, 3])
results["style_loss"] = np.asarray(s_loss)

from cs231n.style_transfer_tensorflow import tv_loss
results["tv_loss"] = np.asarray(tv_loss(content_img_test, 2e-2))

STYLE_TRANSFER_CELL

params3 = STYLE_PARAMS
style_transfer(**params3)
results["style_transfer"] = plt.gca().get_images()[-1].get_array()
plt.close("all")

# Generative_Adversarial_Networks_TF.ipynb (a few batches instead of MNIST's ten epochs)
from cs231n.gan_tf import preprocess_img, deprocess_img, rel_error, count_params, MNIST
answers = np.load(GAN_CHECKS)

from cs231n.gan_tf import leaky_relu
results["lrelu_error"] = np.array(rel_error(answers['lrelu_y'], leaky_relu(tf.constant(answers['lrelu_x']))))

from cs231n.gan_tf import sample_noise
z = sample_noise(3, 4)
assert z.get_shape().as_list() == [3, 4] and isinstance(z, tf.Tensor)

from cs231n.gan_tf import dc_discriminator, dc_generator, discriminator, generator
results["counts"] = np.array([count_params(discriminator()), count_params(generator(4)),
                              count_params(dc_discriminator()), count_params(dc_generator(4))])

from cs231n.gan_tf import discriminator_loss, generator_loss
from cs231n.gan_tf import ls_discriminator_loss, ls_generator_loss
d_loss = discriminator_loss(tf.constant(answers['logits_real']), tf.constant(answers['logits_fake']))
g_loss = generator_loss(tf.constant(answers['logits_fake']))
ls_d = ls_discriminator_loss(tf.constant(answers['logits_real']), tf.constant(answers['logits_fake']))
ls_g = ls_generator_loss(tf.constant(answers['logits_fake']))
results["loss_errors"] = np.array([
    rel_error(answers['d_loss_true'], d_loss), rel_error(answers['g_loss_true'], g_loss),
    rel_error(answers['d_loss_lsgan_true'], ls_d), rel_error(answers['g_loss_lsgan_true'], ls_g)])

from cs231n.gan_tf import get_solvers, run_a_gan
D = discriminator()
G = generator()
D_solver, G_solver = get_solvers()
rng = np.random.default_rng(0)
batches = [(rng.random((16, 784), dtype=np.float32), np.zeros(16)) for _ in range(2)]
images, final = run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss,
                          batch_size=16, num_epochs=1, loader_train=batches)
results["gan_shapes"] = np.array([len(images), *images[0].shape, *final.shape])

np.savez(sys.argv[1], **results)
"""


def _run_notebooks(folder, legacy_keras):
    """Start NOTEBOOKS_SCRIPT in a new process: Keras 2 and the style-transfer cell as written,
    or Keras 3 and the cell with KERAS_3_CHANGE. Returns (process, results file)."""
    import subprocess
    import sys
    from pathlib import Path

    import cs231n

    cell = STYLE_TRANSFER_CELL if legacy_keras else STYLE_TRANSFER_CELL.replace(*KERAS_3_CHANGE)
    script = (
        NOTEBOOKS_SCRIPT.replace("STYLE_TRANSFER_CELL", cell)
        .replace("STYLE_PARAMS", repr(_style_params(_styles(), 64)))
        .replace("GAN_CHECKS", repr(str(Path(__file__).parent / "data" / "gan-checks-tf.npz")))
    )
    name = "keras2" if legacy_keras else "keras3"
    (folder / f"{name}.py").write_text(script)
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(cs231n.__file__).parents[1]), env.get("PYTHONPATH", "")]
    )
    env.pop("TF_USE_LEGACY_KERAS", None)
    if legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"
    out = folder / f"{name}.npz"
    proc = subprocess.Popen(
        [sys.executable, str(folder / f"{name}.py"), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


def test_notebooks_run_as_written_under_legacy_keras(model, tmp_path):
    """With tf-keras and TF_USE_LEGACY_KERAS=1 (README, TensorFlow) the three notebooks' cells
    run as written, the style-transfer driver too, and give the numbers that Keras 3 gives
    with the README's change (bitwise equal when measured; last-bit slack allowed)."""
    import importlib.util

    if importlib.util.find_spec("tf_keras") is None:
        pytest.skip("needs tf-keras, the legacy Keras 2: ./setup.sh --with-legacy-keras")
    del model  # converted the checkpoint into the session's cache: the two runs share it
    runs = {legacy: _run_notebooks(tmp_path, legacy) for legacy in (True, False)}
    results = {}
    for legacy, (proc, out) in runs.items():
        try:
            log, _ = proc.communicate(timeout=540)
        except BaseException:
            for other, _ in runs.values():
                other.kill()
            raise
        assert proc.returncode == 0, f"{'Keras 2' if legacy else 'Keras 3'} run:\n{log[-4000:]}"
        assert "Iteration 199" in log and "Epoch: 0, Iter: 0" in log
        results[legacy] = dict(np.load(out))
    keras2, keras3 = results[True], results[False]
    assert str(keras2.pop("keras")).startswith("tf_keras")
    assert str(keras3.pop("keras")).startswith("keras")
    assert keras2.keys() == keras3.keys()
    np.testing.assert_array_equal(keras2["counts"], [267009, 1858320, 1102721, 6595521])
    assert (keras2["loss_errors"] < 1e-6).all() and keras2["lrelu_error"] < 1e-6
    np.testing.assert_array_equal(keras2["gan_shapes"], [1, 16, 784, 16, 784])  # show_every 250
    for key in keras2:
        if key == "style_transfer":  # uint8 as shown: one step of rounding apart at most
            diff = np.abs(keras2[key].astype(int) - keras3[key].astype(int))
            assert diff.max() <= 1 and (diff > 0).mean() < 1e-3, key
        else:
            np.testing.assert_allclose(keras2[key], keras3[key], rtol=1e-5, atol=1e-6, err_msg=key)
