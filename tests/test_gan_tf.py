"""cs231n.gan_tf: the course's checks, and the TensorFlow GAN as a twin of cs231n.gan_pytorch
(the same losses on the same logits, the same models given the same weights); a short training
run and the MNIST iterator.

Tolerances, float32 (the frameworks differ only in the order of float operations): losses
against PyTorch 1e-6 relative (measured: equal, but for 1 ulp, 6e-8 relative, on one), their
gradients 1e-7 (measured 1.1e-9); model outputs 1e-5 in inference mode (measured 4e-8 to 1.8e-6),
1e-4 for the DC generator's batch statistics (measured 1.4e-5).
"""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")

from cs231n import gan_pytorch as gp  # noqa: E402
from cs231n import gan_tf as gan  # noqa: E402

try:  # Two cores and other tests in the process: one TensorFlow thread is enough here.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:  # the runtime was already started by an earlier test
    pass

# The course's check file (2020, assignment 3); its PyTorch notebook reads the same file.
CHECKS = np.load(Path(__file__).parent / "data" / "gan-checks-tf.npz")


# --- The course's notebook checks ------------------------------------------------------------


@pytest.mark.parametrize(
    "build, count",
    [
        (gan.discriminator, 267009),
        (lambda: gan.generator(4), 1858320),
        (gan.dc_discriminator, 1102721),
        (lambda: gan.dc_generator(4), 6595521),
    ],
)
def test_parameter_counts_are_the_notebooks(build, count):
    model = build()
    assert isinstance(model, tf.keras.Sequential)
    assert gan.count_params(model) == count


def test_leaky_relu_check_file():
    y = gan.leaky_relu(tf.constant(CHECKS["lrelu_x"]))
    assert gan.rel_error(CHECKS["lrelu_y"], y) < 1e-10  # the notebook asks for < 1e-10
    assert gan.leaky_relu(tf.constant(-2.0), alpha=0.5).numpy() == -1.0


def _check_file_losses(module, real, fake):
    return {
        "d_loss_true": module.discriminator_loss(real, fake),
        "g_loss_true": module.generator_loss(fake),
        "d_loss_lsgan_true": module.ls_discriminator_loss(real, fake),
        "g_loss_lsgan_true": module.ls_generator_loss(fake),
    }


def test_losses_check_file():
    """The notebook asks for errors < 1e-8. float64 inputs (the file's): < 1e-15 (measured
    <= 7e-17), and the PyTorch twin's values on them too; float32 inputs: < 1e-7 (measured
    <= 3.4e-8)."""
    real, fake = CHECKS["logits_real"], CHECKS["logits_fake"]
    for dtype, tol in ((np.float64, 1e-15), (np.float32, 1e-7)):
        losses = _check_file_losses(
            gan, tf.constant(real.astype(dtype)), tf.constant(fake.astype(dtype))
        )
        for key, loss in losses.items():
            assert loss.shape == () and loss.dtype == dtype
            assert gan.rel_error(CHECKS[key], loss) < tol, (key, dtype)
    ours = _check_file_losses(gan, tf.constant(real), tf.constant(fake))
    twins = _check_file_losses(gp, torch.from_numpy(real), torch.from_numpy(fake))
    for key, ref in twins.items():
        assert gan.rel_error(ref.item(), ours[key]) < 1e-15, key


def test_sample_noise():
    z = gan.sample_noise(3, 4)
    assert isinstance(z, tf.Tensor) and z.shape == (3, 4) and z.dtype == tf.float32
    assert not np.array_equal(gan.sample_noise(3, 4), gan.sample_noise(3, 4))
    big = gan.sample_noise(1000, gan.NOISE_DIM).numpy()
    assert gan.NOISE_DIM == 96 and big.min() >= -1 and big.max() < 1
    assert big.min() < -0.99 and big.max() > 0.99  # the whole range, not [0, 1)
    np.testing.assert_array_equal(gan.sample_noise(5, 7, seed=3), gan.sample_noise(5, 7, seed=3))


def test_seeded_models_are_reproducible():
    for build in (gan.discriminator, gan.generator):
        a, b, c = build(seed=3), build(seed=3), build(seed=4)
        for p, q in zip(a.weights, b.weights):
            np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert not np.array_equal(a.weights[0].numpy(), c.weights[0].numpy())
    # Each layer gets its own seed: no two kernels of the same shape are equal.
    g = gan.generator(seed=0)
    assert not np.array_equal(g.layers[0].kernel.numpy()[:96], g.layers[2].kernel.numpy()[:96])


def test_solvers_and_helpers():
    D_solver, G_solver = gan.get_solvers()
    assert D_solver is not G_solver
    for opt in (D_solver, G_solver):
        assert isinstance(opt, tf.keras.optimizers.Adam)
        assert np.isclose(float(opt.learning_rate), 1e-3) and opt.beta_1 == 0.5
    opt, _ = gan.get_solvers(learning_rate=2e-4, beta1=0.9)
    assert np.isclose(float(opt.learning_rate), 2e-4) and opt.beta_1 == 0.9
    x = np.linspace(0, 1, 5)
    np.testing.assert_allclose(gan.preprocess_img(x), 2 * x - 1)
    np.testing.assert_allclose(gan.deprocess_img(gan.preprocess_img(x)), x)


# --- Twins of cs231n.gan_pytorch -------------------------------------------------------------


def _logits(seed, n=64):
    """float32 (n, 1) logits: spread out, with exact zeros (the kink of the stable formula) and
    large values (where the naive formula overflows)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, 1)) * 4).astype(np.float32)
    x[:3, 0] = [0.0, 60.0, -60.0]
    return x


LOSSES = [
    (gan.discriminator_loss, gp.discriminator_loss, 2),
    (gan.generator_loss, gp.generator_loss, 1),
    (gan.ls_discriminator_loss, gp.ls_discriminator_loss, 2),
    (gan.ls_generator_loss, gp.ls_generator_loss, 1),
]


@pytest.mark.parametrize(
    "tf_loss, torch_loss, n_args", LOSSES, ids=lambda v: getattr(v, "__name__", "")
)
def test_losses_equal_the_pytorch_twins(tf_loss, torch_loss, n_args):
    """Values within 1e-6 relative, gradients within 1e-7 (measured: 0 but 1 ulp on the LS
    generator loss, 63.16; gradients, O(1/64), <= 1.1e-9)."""
    args = [_logits(seed) for seed in range(n_args)]
    tf_args = [tf.Variable(a) for a in args]
    with tf.GradientTape() as tape:
        ours = tf_loss(*tf_args)
    tf_grads = tape.gradient(ours, tf_args)
    torch_args = [torch.tensor(a, requires_grad=True) for a in args]
    ref = torch_loss(*torch_args)
    ref.backward()
    assert ours.dtype == tf.float32 and np.isfinite(ours.numpy())
    np.testing.assert_allclose(float(ours), ref.item(), rtol=1e-6, atol=1e-6)
    for g, t in zip(tf_grads, torch_args):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_bce_gradient_at_zero_is_analytic():
    """At logit 0 the gradient is (σ(0) - t)/N, as the PyTorch twin's: -0.125 (t=1), 0.125 (t=0)."""
    x = tf.Variable(tf.zeros((4, 1)))
    cases = [
        (gan.generator_loss, -0.125),  # target 1
        (lambda v: gan.discriminator_loss(v + 50, v), 0.125),  # target 0 (and σ(50) - 1 ~ 0)
    ]
    for loss, expected in cases:
        with tf.GradientTape() as tape:
            value = loss(x)
        np.testing.assert_allclose(tape.gradient(value, x).numpy(), expected, rtol=0, atol=1e-7)


def _chw_to_hwc(c, h, w):
    """perm[j]: the PyTorch (C, H, W) flat index of TensorFlow's (H, W, C) flat index j."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


def _copy_weights(torch_model, tf_model, in_perm=None, out_perm=None):
    """Copy a PyTorch Sequential's weights into its TensorFlow twin, layer by layer in order.

    Dense kernels are the transposed Linear weights; Conv2D kernels (out, in, kh, kw) ->
    (kh, kw, in, out); Conv2DTranspose kernels (in, out, kh, kw) -> (kh, kw, out, in) (both
    frameworks' transposed convolutions are the gradient of the same cross-correlation, so no
    flip). Batch norms take gamma, beta, running mean and variance, and PyTorch's epsilon.
    ``in_perm`` / ``out_perm`` ({torch index: perm}) reorder a Linear's inputs / outputs (and a
    following BatchNorm1d's features) where PyTorch flattens NCHW and TensorFlow NHWC."""
    in_perm, out_perm = in_perm or {}, out_perm or {}
    torch_layers = [(i, m) for i, m in enumerate(torch_model) if list(m.parameters())]
    tf_layers = [layer for layer in tf_model.layers if layer.weights]
    assert len(torch_layers) == len(tf_layers)
    features = None  # the output order of the last Linear, for the batch norm after it
    for (i, m), layer in zip(torch_layers, tf_layers):
        if isinstance(m, torch.nn.Linear):
            kernel, bias = m.weight.detach().numpy().T, m.bias.detach().numpy()
            if i in in_perm:
                kernel = kernel[in_perm[i]]
            features = out_perm.get(i, slice(None))
            weights = [kernel[:, features], bias[features]]
        elif isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            # Conv2d (out, in, kh, kw) and ConvTranspose2d (in, out, kh, kw) both go to
            # Keras's (kh, kw, <its kernel's last two>) by the same permutation.
            weights = [m.weight.detach().numpy().transpose(2, 3, 1, 0), m.bias.detach().numpy()]
        else:
            assert isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d)
            order = features if isinstance(m, torch.nn.BatchNorm1d) else slice(None)
            stats = (m.weight, m.bias, m.running_mean, m.running_var)
            weights = [s.detach().numpy()[order] for s in stats]
            layer.epsilon = m.eps  # Keras's default is 1e-3, PyTorch's 1e-5
        assert [w.shape for w in weights] == [tuple(w.shape) for w in layer.weights], layer.name
        layer.set_weights(weights)


def _randomise_batch_norms(torch_model, seed):
    """Non-trivial batch norm parameters and statistics, so that the twins test them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in torch_model.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.5 * torch.randn(n, generator=g))
                m.bias.copy_(0.5 * torch.randn(n, generator=g))
                m.running_mean.copy_(torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))


def _twin(name):
    torch.manual_seed(0)
    if name == "discriminator":
        return gp.discriminator(), gan.discriminator(), {}, {}
    if name == "generator":
        return gp.generator(), gan.generator(), {}, {}
    if name == "dc_discriminator":
        # Flatten after the convolutions feeds the Linear at index 8: (64, 4, 4) vs (4, 4, 64).
        return gp.build_dc_classifier(16), gan.dc_discriminator(), {8: _chw_to_hwc(64, 4, 4)}, {}
    # Unflatten after the Linear at index 3 reads its outputs as (128, 7, 7) vs (7, 7, 128).
    model = gp.build_dc_generator()
    _randomise_batch_norms(model, seed=1)
    return model, gan.dc_generator(), {}, {3: _chw_to_hwc(128, 7, 7)}


@pytest.mark.parametrize("name", ["discriminator", "generator", "dc_discriminator", "dc_generator"])
def test_models_equal_the_pytorch_twins(name):
    """The same weights give the same outputs: within 1e-5 in inference mode (measured: FC
    4e-8 and 8e-8, DC discriminator 9e-8, DC generator 1.8e-6 on outputs up to 1), within 1e-4
    with the DC generator's batch statistics (measured 1.4e-5)."""
    torch_model, tf_model, in_perm, out_perm = _twin(name)
    _copy_weights(torch_model, tf_model, in_perm, out_perm)
    rng = np.random.default_rng(2)
    if name.endswith("generator"):
        x = rng.uniform(-1, 1, (16, gan.NOISE_DIM)).astype(np.float32)
    else:
        x = rng.uniform(-1, 1, (16, 784)).astype(np.float32)
    modes = [False, True] if name == "dc_generator" else [False]  # batch statistics too
    for training in modes:
        torch_model.train(training)
        with torch.no_grad():
            ref = torch_model(torch.from_numpy(x)).numpy()
        ours = tf_model(x, training=training).numpy()
        assert ours.shape == ref.shape == (16, 784 if name.endswith("generator") else 1)
        atol = 1e-4 if training else 1e-5
        np.testing.assert_allclose(ours, ref, rtol=0, atol=atol, err_msg=f"training={training}")


# --- Training ---------------------------------------------------------------------------------


def _batches(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.random((n, 784), dtype=np.float32), np.zeros(n, np.uint8)) for n in sizes]


@pytest.mark.parametrize("arch, losses", [("fc", "lsgan"), ("dc", "gan")])  # ~5 s each
def test_run_a_gan_smoke(arch, losses, capsys):
    tf.keras.utils.set_random_seed(0)
    D, G = (
        (gan.discriminator(), gan.generator())
        if arch == "fc"
        else (gan.dc_discriminator(), gan.dc_generator())
    )
    d_loss, g_loss = (
        (gan.discriminator_loss, gan.generator_loss)
        if losses == "gan"
        else (gan.ls_discriminator_loss, gan.ls_generator_loss)
    )
    before = [w.numpy().copy() for w in G.weights]
    # Two full batches and a shorter last one, which the course's loop trains on too.
    data = _batches([16, 16, 8])
    images, final = gan.run_a_gan(
        D,
        G,
        *gan.get_solvers(),
        d_loss,
        g_loss,
        show_every=2,
        batch_size=16,
        num_epochs=1,
        loader_train=data,
    )
    out = capsys.readouterr().out
    assert "Epoch: 0, Iter: 0, D:" in out and "Iter: 2," in out and "Iter: 1," not in out
    assert len(images) == 2 and all(i.shape == (16, 784) for i in images)
    assert isinstance(final, tf.Tensor) and final.shape == (16, 784)
    for a in [*images, final.numpy()]:
        assert np.isfinite(a).all() and np.abs(a).max() <= 1
    changed = [not np.array_equal(a, w.numpy()) for a, w in zip(before, G.weights)]
    assert all(changed)  # the batch norms' moving statistics too (training=True)


def test_run_a_gan_traces_its_step_once():
    """The step's Python body runs only when TensorFlow traces it: two epochs of batches of
    16, 16 and 8 images (a shorter last one) call the loss once. Before the solvers were built
    ahead of the step, the first call traced it twice (it made Adam's moments)."""
    calls = []

    def counting_loss(logits_real, logits_fake):
        calls.append(1)
        return gan.discriminator_loss(logits_real, logits_fake)

    D = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(1)])
    G = tf.keras.Sequential([tf.keras.Input((96,)), tf.keras.layers.Dense(784)])
    D_solver, G_solver = gan.get_solvers()
    args = (D, G, D_solver, G_solver, counting_loss, gan.generator_loss)
    gan.run_a_gan(*args, batch_size=16, num_epochs=2, loader_train=_batches([16, 16, 8]))
    assert len(calls) == 1
    assert int(D_solver.iterations) == int(G_solver.iterations) == 6  # every batch trained
    gan.run_a_gan(*args, batch_size=16, num_epochs=1, loader_train=_batches([16]))
    assert len(calls) == 2  # each call compiles its own step; the built solvers are reused
    assert int(D_solver.iterations) == 7


def test_the_cli_training_step_traces_once(tmp_path, monkeypatch):
    """``cs231n gan train --framework tensorflow``'s step: 2 epochs of 2 batches, one trace."""
    from cs231n.gan import training as gan_training

    monkeypatch.setattr(gan_training, "save_grid", _no_grid)
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    run = gan_training.TFGANTrainer(tmp_path / "run", x, epochs=2, batch_size=8)
    run.train()
    assert len(run.history) == 4
    assert run._step.experimental_get_tracing_count() == 1


def test_run_a_gan_without_batches_raises():
    """Regression: an empty loader, or a one-shot iterator in its second epoch, must not
    silently train nothing."""
    # One-layer models: tracing the training step is most of the cost of a run.
    D = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(1)])
    G = tf.keras.Sequential([tf.keras.Input((96,)), tf.keras.layers.Dense(784)])
    args = (D, G, *gan.get_solvers(), gan.discriminator_loss, gan.generator_loss)
    with pytest.raises(ValueError, match="gave no batch in epoch 0"):
        gan.run_a_gan(*args, batch_size=16, loader_train=[], verbose=False)
    with pytest.raises(ValueError, match="gave no batch in epoch 1.*one-shot"):
        gan.run_a_gan(
            *args, batch_size=16, num_epochs=2, loader_train=iter(_batches([16])), verbose=False
        )


# --- MNIST ------------------------------------------------------------------------------------


def _write_idx(path, array):
    dims = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(bytes([0, 0, 0x08, array.ndim]) + dims + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (10, 28, 28)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(10))
    return tmp_path


def test_mnist_batches(idx_folder):
    data = gan.MNIST(batch_size=4, dataset=str(idx_folder))
    assert data.X.shape == (10, 784) and data.X.dtype == np.float32 and data.y.shape == (10,)
    raw = np.frombuffer((idx_folder / "train-images-idx3-ubyte").read_bytes()[16:], np.uint8)
    np.testing.assert_array_equal(data.X, raw.reshape(10, 784) / np.float32(255))
    batches = list(data)
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    assert all(x.shape[1:] == (784,) and x.dtype == np.float32 for x, _ in batches)
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), np.arange(10))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        gan.MNIST(batch_size=0, dataset=str(idx_folder))


def test_mnist_shuffle(idx_folder):
    data = gan.MNIST(batch_size=3, shuffle=True, dataset=str(idx_folder))

    def order():
        batches = list(data)
        for x, y in batches:  # images stay with their labels
            np.testing.assert_array_equal(x, data.X[y])
        return np.concatenate([y for _, y in batches])

    np.random.seed(0)
    first, second = order(), order()
    assert sorted(first) == list(range(10)) and not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(10))  # the course's class never shuffled
    np.random.seed(0)
    np.testing.assert_array_equal(order(), first)


def test_mnist_reads_the_projects_data(monkeypatch, tmp_path):
    from cs231n.data.mnist import DEBIAN_DIRS

    if not DEBIAN_DIRS["fashion-mnist"].is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))  # nothing there: the Debian copy is used
    data = gan.MNIST(batch_size=128)
    assert data.X.shape == (60000, 784) and 0 <= data.X.min() and data.X.max() == 1
    assert len(list(data)) == 469  # 468 full batches and one of 96, as the course's


def test_without_tensorflow_the_import_error_says_how_to_install(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    monkeypatch.delitem(sys.modules, "cs231n.gan_tf")
    with pytest.raises(ImportError, match=r"setup\.sh --with-tensorflow.*\[tensorflow\]"):
        importlib.import_module("cs231n.gan_tf")


# --- Keras weights that load but cannot be used (issue #19 a) ------------------------------------


def _no_grid(images, path, title=None):
    path.write_bytes(b"")


@pytest.fixture(scope="module")
def tf_runs(tmp_path_factory):
    """A short "fc" and a "dc" TensorFlow run (D.weights.h5, G.weights.h5, state.json)."""
    from cs231n.gan import training as gan_training

    folder = tmp_path_factory.mktemp("tf-gan")
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gan_training, "save_grid", _no_grid)
        for arch in ("fc", "dc"):
            gan_training.train_tensorflow(folder / arch, x, arch=arch, epochs=1, batch_size=8)
    return folder


def _edit_h5(path, name, change):
    """Replace dataset ``name`` of an HDF5 file by ``change(its values)``."""
    import h5py

    with h5py.File(path, "r+") as f:
        value = change(f[name][()])
        del f[name]
        f[name] = value


KERAS_DEFECTS = [
    (
        "G.weights.h5",
        lambda a: np.where(np.arange(a.size).reshape(a.shape) == 5, np.nan, a),  # drew a grid
        r"G.weights.h5: G weight 'layers/dense/vars/0' holds NaN or infinite values",
    ),
    (
        "D.weights.h5",
        lambda a: a * np.inf,
        r"D.weights.h5: D weight 'layers/dense/vars/0' holds NaN or infinite values",
    ),
    (
        "G.weights.h5",
        lambda a: (a * 100).astype(np.int32),
        r"G.weights.h5: G weight 'layers/dense/vars/0' must hold floats, got int32",
    ),
    (
        "G.weights.h5",
        lambda a: a[:, :7],
        r"G.weights.h5: its G weights do not fit the model: 6 arrays of [\d,]+ numbers, the "
        r"model has 6 of 1,952,528 \(an array of shape \(96, 7\) the model has not\)",
    ),
]


@pytest.mark.parametrize("file, change, match", KERAS_DEFECTS)
def test_keras_weights_that_cannot_be_used_are_refused(
    tf_runs, tmp_path, capsys, file, change, match
):
    import shutil

    from cs231n.cli import main
    from cs231n.gan import training as gan_training

    run = tmp_path / "run"
    shutil.copytree(tf_runs / "fc", run)
    _edit_h5(run / file, "layers/dense/vars/0", change)
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    if file == "G.weights.h5":  # gan sample reads G only
        assert main(["gan", "sample", str(run), "-n", "4", "-o", str(tmp_path / "g.png")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cs231n: error: ") and err.count("\n") == 1, err
        assert re.search(match, err) and not (tmp_path / "g.png").exists()
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=match):
        gan_training.train_tensorflow(run, x, epochs=2, batch_size=8)
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_negative_moving_variance_is_refused(tf_runs, tmp_path):
    import shutil

    from cs231n.gan import training as gan_training

    run = tmp_path / "run"
    shutil.copytree(tf_runs / "dc", run)
    _edit_h5(run / "G.weights.h5", "layers/batch_normalization/vars/3", lambda a: -a - 1)
    with pytest.raises(ValueError, match=r"G.weights.h5: G weight '.*moving_variance' has neg"):
        gan_training.load_tf_generator(run)


def test_a_weights_file_that_is_not_hdf5_is_one_line(tf_runs, tmp_path):
    import shutil

    from cs231n.gan import training as gan_training

    run = tmp_path / "run"
    shutil.copytree(tf_runs / "fc", run)
    (run / "G.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    with pytest.raises(ValueError, match=r"G.weights.h5: not a readable Keras weights file \("):
        gan_training.load_tf_generator(run)


def test_a_state_json_whose_history_disagrees_is_refused(tf_runs, tmp_path):
    import json
    import shutil

    from cs231n.gan import training as gan_training

    run = tmp_path / "run"
    shutil.copytree(tf_runs / "fc", run)
    state = json.loads((run / "state.json").read_text())
    state["iteration"] += 5  # the same check as a PyTorch run's progress
    (run / "state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"state.json: training state is malformed \(needs epoch"):
        gan_training.load_tf_generator(run)
