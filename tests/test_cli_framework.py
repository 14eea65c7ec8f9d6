"""``--framework tensorflow`` of the network-visualization, style and GAN commands (in-process,
through ``cs231n.cli.main``): each command on tiny inputs with a random-weight SqueezeNet (its
TensorFlow conversion made once, in the session's cache), the options that are PyTorch-only,
TensorFlow missing (simulated), the PyTorch paths never importing TensorFlow, one run per GAN
folder, and, with the shared data, the same saliency maps from both frameworks."""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n.cli import main
from cs231n.core import tf_utils
from cs231n.core.config import data_path
from cs231n.gan import training as gan_training
from cs231n.pretrained import squeezenet as models

PNG = b"\x89PNG\r\n\x1a\n"
needs_tensorflow = pytest.mark.skipif(
    not tf_utils.tensorflow_available(), reason="TensorFlow is not installed"
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data folder with random SqueezeNet weights (found as the pretrained ones) and two
    small images."""
    folder = tmp_path_factory.mktemp("data")
    torch.manual_seed(0)
    torch.save(models.squeezenet1_1(None).state_dict(), folder / "squeezenet1_1.pt")
    rng = np.random.default_rng(0)
    for name, (h, w) in {"a.png": (60, 80), "b.png": (50, 50)}.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / name)
    return folder


@pytest.fixture
def env(data, monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(data))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("CS231N_DEBUG", raising=False)
    monkeypatch.setattr(models, "_download_pretrained", lambda: pytest.fail("tried to download"))
    return data


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def no_grid(images, path, title=None):
    """Stands in for gan_training.save_grid where no test looks at the picture (matplotlib
    takes a second or more per grid)."""
    path.write_bytes(b"")


def mnist_folder(tmp_path, n_train=256):
    from test_data_mnist import fake_mnist

    return fake_mnist(tmp_path / "idx", n_train=n_train, n_test=20)


# ---- network visualization ----


@needs_tensorflow
def test_saliency(env, capsys, tmp_path):
    out = tmp_path / "sal.png"
    code, stdout, err = run(
        capsys, "saliency", env / "a.png", env / "b.png", "--framework", "tensorflow", "-o", out
    )
    assert code == 0, err
    assert re.search(r"^gradient: [\d.]+ s for 2 image\(s\)$", stdout, re.M), stdout
    assert len(re.findall(r"^[ab]\.png: predicted .* map for class \d+", stdout, re.M)) == 2
    assert out.read_bytes()[:8] == PNG


@needs_tensorflow
def test_fool(env, capsys, tmp_path):
    out = tmp_path / "fool.png"
    code, stdout, err = run(
        capsys, "fool", env / "a.png", "--target", "random", "--max-iterations", "3",
        "--framework", "tensorflow", "-o", out,
    )  # fmt: skip
    assert code in (0, 1), err
    status = "fooled" if code == 0 else "NOT fooled"
    assert re.search(rf"^{status} after \d+ iterations: now .*perturbation L2 [\d.]+", stdout, re.M)
    assert out.read_bytes()[:8] == PNG
    # The random target is drawn as PyTorch's is: the same class from the same seed.
    code_pt, stdout_pt, err_pt = run(
        capsys, "fool", env / "a.png", "--target", "random", "--max-iterations", "1", "-o", out
    )
    target = re.compile(r"; target (\d+) ")
    assert target.search(stdout).group(1) == target.search(stdout_pt).group(1)


@needs_tensorflow
def test_fool_not_fooled_exits_1(env, capsys, tmp_path):
    code, stdout, err = run(
        capsys, "fool", env / "a.png", "--target", "least-likely", "--max-iterations", "1",
        "--objective", "score", "--framework", "tensorflow", "-o", tmp_path / "f.png",
    )  # fmt: skip
    assert code == 1, err
    assert "NOT fooled after 1 iterations" in stdout


@needs_tensorflow
def test_visualize_class(env, capsys, tmp_path):
    out = tmp_path / "class.png"
    code, stdout, err = run(
        capsys, "visualize-class", "3", "--iterations", "2", "-q", "--framework", "tensorflow",
        "-o", out,
    )  # fmt: skip
    assert code == 0, err
    assert re.search(r"^Class 3 \(class 3\): probability [\d.]+% after 2 iterations$", stdout, re.M)
    assert out.read_bytes()[:8] == PNG


@pytest.mark.parametrize("method", ["smoothgrad", "integrated-gradients", "grad-cam", "all"])
def test_saliency_methods_other_than_the_gradient_are_pytorch_only(capsys, tmp_path, method):
    out = tmp_path / "sal.png"
    code, _, err = run(
        capsys, "saliency", "val:0", "--method", method, "--framework", "tensorflow", "-o", out
    )
    assert code == 2
    assert err.strip() == (
        f"cs231n: error: --method {method} is PyTorch-only: drop it or use --framework pytorch "
        "(cs231n saliency --framework tensorflow does not support it)"
    )
    assert not out.exists()


# ---- style transfer ----


@needs_tensorflow
def test_style_and_its_losses_equal_pytorch(env, capsys, tmp_path):
    common = ["style", env / "a.png", env / "b.png", "--size", "32", "--style-size", "32", "-q"]
    code, stdout, err = run(
        capsys, *common, "--iterations", "3", "--framework", "tensorflow", "-o", tmp_path / "s.png"
    )
    assert code == 0, err
    assert "3 iterations in" in stdout
    assert Image.open(tmp_path / "s.png").size == (42, 32)  # 80x60 content, shorter side 32
    # One iteration's losses (the content image's, before any step) are PyTorch's.
    totals = []
    for framework in ("tensorflow", "pytorch"):
        code, stdout, err = run(
            capsys, *common, "--iterations", "1", "--framework", framework, "-o", tmp_path / "t.png"
        )
        assert code == 0, err
        totals.append(float(re.search(r"total ([\d.e+-]+)", stdout).group(1)))
    assert totals[0] == pytest.approx(totals[1], rel=1e-3)


@needs_tensorflow
def test_invert(env, capsys, tmp_path):
    out = tmp_path / "inv.jpg"
    code, stdout, err = run(
        capsys, "invert", env / "a.png", "--layer", "3", "--size", "32", "--iterations", "2",
        "-q", "--framework", "tensorflow", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    assert "from SqueezeNet layer 3 features" in stdout and "style 0" in stdout
    assert out.read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    "argv, option",
    [
        (["style", "c.png", "s.png", "--optimizer", "lbfgs"], "--optimizer lbfgs"),
        (["style", "c.png", "s.png", "--scales", "2"], "--scales 2"),
        (["style", "c.png", "s1.png", "s2.png"], "blending 2 style images"),
        (["style", "c.png", "s.png", "--style-weights", "1"], "--style-weights"),
        (["style", "c.png", "s.png", "--preserve-colors"], "--preserve-colors"),
        (["style", "c.png", "s.png", "--save-every", "5"], "--save-every"),
        (["style", "c.png", "s.png", "--device", "cpu"], "--device"),
        (["invert", "c.png", "--layer", "0"], "--layer 0"),
        (["invert", "c.png", "--optimizer", "lbfgs"], "--optimizer lbfgs"),
        (["fool", "val:0", "--target", "3", "--device", "cpu"], "--device"),
        (["gan", "train", "--loss", "wgan-gp"], "--loss wgan-gp"),
        (["gan", "train", "--spectral-norm"], "--spectral-norm"),
    ],
)
def test_pytorch_only_options_are_refused_before_any_work(capsys, tmp_path, argv, option):
    """The images named here do not exist: the option is refused before anything is read."""
    out = tmp_path / "out" / "x.png"
    code, _, err = run(capsys, *argv, "--framework", "tensorflow", "-o", out)
    assert code == 2
    command = " ".join(argv[:2] if argv[0] == "gan" else argv[:1])
    assert err.strip() == (
        f"cs231n: error: {option} is PyTorch-only: drop it or use --framework pytorch "
        f"(cs231n {command} --framework tensorflow does not support it)"
    )
    assert not (tmp_path / "out").exists()


# ---- GANs ----


@needs_tensorflow
def test_gan_train_sample_score_and_resume(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("CS231N_DEBUG", raising=False)
    folder = mnist_folder(tmp_path)
    run_dir = tmp_path / "run"

    def train(epochs):
        with pytest.MonkeyPatch.context() as patch:  # `gan sample` below draws a real grid
            patch.setattr(gan_training, "save_grid", no_grid)
            return run(capsys, "gan", "train", "--framework", "tensorflow", "--dataset", folder,
                       "--batch-size", "64", "--sample-every", "3", "--epochs", epochs, "-q",
                       "-o", run_dir)  # fmt: skip

    code, stdout, err = train(1)
    assert code == 0, err
    assert "(TensorFlow)" in stdout and "weights: D.weights.h5, G.weights.h5" in stdout
    config = json.loads((run_dir / "config.json").read_text())
    assert config["framework"] == "tensorflow" and config["arch"] == "fc"
    names = sorted(p.name for p in (run_dir / "samples").iterdir())
    assert names == ["final.png", "iter_000000.png", "iter_000003.png"]
    assert len(json.loads((run_dir / "losses.json").read_text())) == 4  # 256 / 64 batches
    assert (run_dir / "D.weights.h5").is_file() and (run_dir / "G.weights.h5").is_file()
    assert not (run_dir / "checkpoint.pt").exists()
    assert not list(run_dir.glob(".*"))  # no temporary files left

    # `gan sample` and `gan score` read the framework from config.json.
    code, stdout, err = run(capsys, "gan", "sample", run_dir, "-n", "8", "-o", tmp_path / "g.png")
    assert code == 0, err
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG
    code, stdout, err = run(capsys, "gan", "score", run_dir, "--dataset", folder, "--samples", "10")
    assert code == 0, err
    assert "gan / fc: classifier test accuracy" in stdout
    assert json.loads((run_dir / "scores.json").read_text())["samples"] == 10

    # More epochs continue the run: the history grows from where it was.
    before = json.loads((run_dir / "losses.json").read_text())
    code, stdout, err = train(2)
    assert code == 0, err
    after = json.loads((run_dir / "losses.json").read_text())
    assert len(after) == 8 and after[:4] == before
    state = json.loads((run_dir / "state.json").read_text())
    assert (state["epoch"], state["iteration"]) == (2, 8)


def test_a_run_is_continued_by_its_own_framework(capsys, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"framework": "tensorflow", "arch": "fc"}))
    code, _, err = run(capsys, "gan", "train", "-o", run_dir)
    assert code == 2
    assert err == (
        f"cs231n: error: {run_dir} holds a tensorflow run: continue it with --framework "
        "tensorflow, or start over with --restart\n"
    )


def test_the_same_gan_command_continues_the_run_and_restart_starts_over(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setattr(gan_training, "save_grid", no_grid)
    run_dir = tmp_path / "run"
    argv = ["--threads", "1", "gan", "train", "--dataset", mnist_folder(tmp_path, n_train=64)]
    argv += ["--epochs", "1", "--batch-size", "64", "--sample-every", "100", "-q", "-o", run_dir]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "continuing" not in out
    checkpoint = (run_dir / "checkpoint.pt").read_bytes()

    # Run again: the run is finished, so nothing is trained and nothing is lost.
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert (
        f"continuing {run_dir} from epoch 1 of 1 (already done: a larger total trains more); --restart starts over\n"
        in out
    )
    assert (run_dir / "checkpoint.pt").read_bytes() == checkpoint
    assert len(json.loads((run_dir / "losses.json").read_text())) == 1

    # Other settings are refused, saying how to start over; --restart does.
    code, _, err = run(capsys, *argv, "--loss", "lsgan")
    assert code == 2 and "loss 'gan' saved, 'lsgan' asked" in err
    assert err.endswith("(use --restart to start over, or choose another -o)\n")
    code, out, err = run(capsys, *argv, "--loss", "lsgan", "--restart")
    assert code == 0, err
    assert "continuing" not in out
    assert json.loads((run_dir / "config.json").read_text())["loss"] == "lsgan"
    assert len(json.loads((run_dir / "losses.json").read_text())) == 1


@needs_tensorflow
def test_gan_train_dc_lsgan(tmp_path, monkeypatch):
    monkeypatch.setattr(gan_training, "save_grid", no_grid)
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    history = gan_training.train_tensorflow(
        tmp_path / "r", x, loss="lsgan", arch="dc", epochs=1, batch_size=8
    )
    assert len(history) == 2 and np.isfinite(history).all()
    G, config = gan_training.load_run_generator(tmp_path / "r")
    assert config["arch"] == "dc"
    assert gan_training.generate(G, 3).shape == (3, 784)


@needs_tensorflow
def test_tensorflow_runs_are_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(gan_training, "save_grid", no_grid)
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    a, b = (gan_training.train_tensorflow(tmp_path / r, x, epochs=1, batch_size=16) for r in "ab")
    assert a == b


@needs_tensorflow
def test_generate_feeds_a_keras_generator_pytorchs_noise():
    from cs231n import gan_pytorch

    _, G = gan_training.build_tf_models("fc", seed=0)
    images = gan_training.generate(G, 5, seed=3, batch_size=2)
    noise = gan_pytorch.sample_noise(5, gan_pytorch.NOISE_DIM, seed=3).numpy()
    assert torch.is_tensor(images) and images.shape == (5, 784)
    np.testing.assert_allclose(images.numpy(), G(noise).numpy(), atol=1e-6)


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_two_runs_on_one_folder(capsys, tmp_path, framework):
    """A run holds its folder (cs231n.core.files.output_lock): a second one is refused."""
    if framework == "tensorflow" and not tf_utils.tensorflow_available():
        pytest.skip("TensorFlow is not installed")
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from cs231n.core.files import output_lock
            with output_lock({str(run_dir)!r}):
                print("held", flush=True)
                sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = run(capsys, "gan", "train", "--framework", framework, "-o", run_dir)
    finally:
        holder.communicate("")
    assert code == 2
    assert re.fullmatch(
        rf"cs231n: error: {re.escape(str(run_dir))} is being written by another run "
        rf"\(PID {holder.pid}, .*\n",
        err,
    ), err


# ---- without TensorFlow ----

TF_COMMANDS = [
    ["saliency", "val:0"],
    ["fool", "val:0", "--target", "3"],
    ["visualize-class", "3"],
    ["style", "c.png", "s.png"],
    ["invert", "c.png"],
    ["gan", "train"],
]


@pytest.mark.parametrize("argv", TF_COMMANDS)
@pytest.mark.parametrize("how", ["not installed", "broken"])
def test_tensorflow_missing_is_one_clear_line(monkeypatch, capsys, tmp_path, argv, how):
    monkeypatch.delenv("CS231N_DEBUG", raising=False)
    if how == "not installed":
        monkeypatch.setattr(tf_utils, "tensorflow_available", lambda: False)
    else:
        monkeypatch.setattr(tf_utils, "tensorflow_available", lambda: True)

        def broken():
            raise ImportError(f"this part of cs231n needs TensorFlow (no); {tf_utils.INSTALL_HINT}")

        monkeypatch.setattr(tf_utils, "import_tensorflow", broken)
    out = tmp_path / "out" / "x.png"
    code, stdout, err = run(capsys, *argv, "--framework", "tensorflow", "-o", out)
    assert code == 2 and stdout == ""
    command = " ".join(argv[:2] if argv[0] == "gan" else argv[:1])
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"cs231n: error: cs231n {command} --framework tensorflow")
    assert "./setup.sh --with-tensorflow" in err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_sampling_a_tensorflow_run_without_tensorflow(monkeypatch, capsys, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"framework": "tensorflow"}))
    monkeypatch.setattr(tf_utils, "tensorflow_available", lambda: False)
    code, _, err = run(capsys, "gan", "sample", run_dir, "-o", tmp_path / "g.png")
    assert code == 2
    assert err.startswith(f"cs231n: error: cs231n gan sample of a TensorFlow run ({run_dir})")
    assert "./setup.sh --with-tensorflow" in err and err.count("\n") == 1


def test_pytorch_commands_never_import_tensorflow(env, tmp_path):
    """Every command of the PyTorch path, in a fresh interpreter: TensorFlow stays unloaded."""
    folder = mnist_folder(tmp_path, n_train=64)
    image, out = env / "a.png", tmp_path / "out"
    script = textwrap.dedent(f"""
        import sys
        from cs231n.cli import main
        image, out, folder = {str(image)!r}, {str(out)!r}, {str(folder)!r}
        commands = [
            ["saliency", image, "-o", out + "/sal.png"],
            ["fool", image, "--target", "least-likely", "--max-iterations", "1", "-o", out + "/f.png"],
            ["visualize-class", "3", "--iterations", "1", "-q", "-o", out + "/c.png"],
            ["style", image, image, "--size", "32", "--style-size", "32", "--iterations", "1",
             "-q", "-o", out + "/s.png"],
            ["invert", image, "--size", "32", "--iterations", "1", "-q", "-o", out + "/i.png"],
            ["gan", "train", "--dataset", folder, "--epochs", "1", "--batch-size", "64",
             "--sample-every", "100", "-q", "-o", out + "/run"],
            ["gan", "sample", out + "/run", "-n", "4", "-o", out + "/g.png"],
        ]
        for argv in commands:
            code = main(argv)
            assert code in (0, 1), (argv, code)
        print("tensorflow" in sys.modules)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


# ---- the same figures either way (the shared data; skipped when absent) ----


@pytest.fixture(scope="module")
def real_models():
    """The pretrained SqueezeNet in both frameworks (the TensorFlow one converted once per
    session, in the session's cache)."""
    if not tf_utils.tensorflow_available():
        pytest.skip("TensorFlow is not installed")
    for name in ("squeezenet1_1.pt", "imagenet_val_25.npz"):
        if not data_path(name).is_file():
            pytest.skip(f"{data_path(name)} not present (set CS231N_DATA to the shared data)")
    from cs231n.classifiers.squeezenet import pretrained_squeezenet
    from cs231n.pretrained.squeezenet import load_model

    return load_model(device="cpu"), pretrained_squeezenet()


def _relative_difference(real_models, X, targets):
    """|TensorFlow map - PyTorch map| / max |PyTorch map|, pixel by pixel, from the functions
    ``cs231n saliency`` calls."""
    from cs231n.vision.frameworks import saliency_maps

    maps = [
        saliency_maps("gradient", model, X, targets, framework)
        for framework, model in zip(("pytorch", "tensorflow"), real_models, strict=True)
    ]
    assert maps[0].shape == maps[1].shape == (len(X), 224, 224)
    return np.abs(maps[1] - maps[0]) / np.abs(maps[0]).max()


def test_real_saliency_maps_are_the_same_in_both_frameworks(real_models):
    """val:0, as ``cs231n saliency val:0`` computes it. The image's flat sky gives hundreds of
    max-pooling windows whose largest inputs tie exactly; the two frameworks send such a
    window's gradient to different (equally valid) inputs, so a few dozen of the 50176 pixels
    differ by up to ~2% of the map's maximum. All the others agree to float rounding."""
    from cs231n.vision.images import load_inputs

    X, _, labels, _ = load_inputs(["val:0"], None)
    relative = _relative_difference(real_models, X, labels)
    assert np.quantile(relative, 0.999) < 1e-3  # all but 50 pixels
    assert relative.max() < 0.05


def test_real_saliency_maps_without_ties_agree_everywhere(real_models):
    """An image without tied activations (noise): the maps agree everywhere."""
    X = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    assert _relative_difference(real_models, X, [1]).max() < 1e-3
