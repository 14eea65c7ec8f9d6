"""``cs231n saliency``, ``cs231n fool`` and ``cs231n visualize-class`` (in-process, through
``cs231n.cli.main``) and the cs231n.vision helpers they use, with a random-weight
SqueezeNet saved to a file and small synthetic images. ``real_*`` tests use the shared data."""

import functools
import re

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n.cli import main
from cs231n.core.config import data_path
from cs231n.image_utils import load_image, resize_shorter_side
from cs231n.net_visualization_pytorch import preprocess
from cs231n.pretrained import squeezenet as models
from cs231n.pretrained.squeezenet import load_model
from cs231n.vision import attribution
from cs231n.vision.classes import class_names, resolve_class
from cs231n.vision.frameworks import (
    fool_image,
    load_squeezenet,
    top_prediction,
    top_predictions,
    visualize_class,
)
from cs231n.vision.images import MIN_SIDE, load_images, load_inputs

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "random.pt"
    torch.save(models.squeezenet1_1(None).state_dict(), path)
    return path


def smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    channels = [np.sin(2 * np.pi * (rng.random() * 3 * x + rng.random() * 3 * y)) for _ in "rgb"]
    return ((np.stack(channels, axis=-1) + 1) * 127.5).astype(np.uint8)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    a, b = folder / "a.png", folder / "b.jpg"
    Image.fromarray(smooth_image(100, 80, seed=1)).save(a)  # 80 wide, 100 high
    Image.fromarray(smooth_image(80, 100, seed=2)).save(b, quality=95)
    return a, b


@pytest.fixture
def env(monkeypatch, tmp_path):
    """An empty data directory and torch hub cache, no downloads."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("CS231N_DATA", str(data))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("CS231N_DEBUG", raising=False)

    def no_download():
        raise OSError("no network in tests")

    monkeypatch.setattr(models, "_download_pretrained", no_download)
    return data


@pytest.fixture
def fast_methods(monkeypatch):
    """SmoothGrad and Integrated Gradients with few samples/steps: the CLI runs them at 224 px."""
    monkeypatch.setitem(
        attribution.METHODS, "smoothgrad", functools.partial(attribution.smooth_grad, samples=2)
    )
    monkeypatch.setitem(
        attribution.METHODS,
        "integrated-gradients",
        functools.partial(attribution.integrated_gradients, steps=2),
    )


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---- helpers ----


def test_load_images_scales_and_centre_crops(image_files):
    a, b = image_files
    batch, crops = load_images([a, b])
    assert batch.shape == (2, 3, 224, 224) and batch.dtype == torch.float32
    assert crops.shape == (2, 224, 224, 3) and crops.dtype == np.uint8
    big = np.asarray(resize_shorter_side(load_image(a), 224))  # 224 wide, 280 high
    assert big.shape == (280, 224, 3)
    np.testing.assert_array_equal(crops[0], big[28 : 28 + 224])
    big = np.asarray(resize_shorter_side(load_image(b), 224))  # 280 wide
    np.testing.assert_array_equal(crops[1], big[:, 28 : 28 + 224])
    torch.testing.assert_close(batch[:1], preprocess(crops[0], size=None))


def test_load_images_size_limits(tmp_path):
    ok, small = tmp_path / "ok.png", tmp_path / "small.png"
    Image.fromarray(smooth_image(MIN_SIDE, 40)).save(ok)
    Image.fromarray(smooth_image(MIN_SIDE - 1, 40)).save(small)
    assert load_images([ok])[0].shape == (1, 3, 224, 224)
    with pytest.raises(ValueError, match="small.png.*too small"):
        load_images([ok, small])


def test_load_model_is_frozen_and_in_eval_mode(weights):
    model = load_model(weights, device="cpu")
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert next(model.parameters()).device == torch.device("cpu")


def test_top_prediction(weights, image_files):
    model = load_model(weights, device="cpu")
    X, _ = load_images(image_files)
    names = [f"class {i}" for i in range(1000)]
    preds = top_prediction(model, X, names)
    with torch.no_grad():
        probs = torch.softmax(model(X), dim=1)
    for (index, name, p), row in zip(preds, probs, strict=True):
        assert index == int(row.argmax()) and name == f"class {index}"
        assert p == pytest.approx(float(row.max()))


def test_load_inputs_of_files(image_files):
    X, crops, labels, shown = load_inputs([str(p) for p in image_files])
    assert X.shape == (2, 3, 224, 224) and crops.shape == (2, 224, 224, 3)
    assert labels == [None, None] and shown == ["a.png", "b.jpg"]


def test_the_work_without_the_cli(weights, image_files):
    """What the commands do, called from Python: fooling and class visualization."""
    model = load_squeezenet("pytorch", weights=weights, device="cpu")
    X, _ = load_images(image_files[:1])
    result = fool_image(model, X, "least-likely", max_iterations=1)
    assert isinstance(result.target, int) and result.iterations <= 1
    assert result.image.shape == (1, 3, 224, 224) and result.l2 >= result.linf >= 0
    img, probability = visualize_class(model, 3, num_iterations=1, size=64)
    assert img.shape == (1, 3, 64, 64) and 0 <= probability <= 1
    with pytest.raises(ValueError, match="framework must be one of"):
        top_predictions(model, X, NAMES, framework="jax")


def test_class_names_without_the_class_list(tmp_path):
    names = class_names(tmp_path)
    assert len(names) == 1000 and names[7] == "class 7"


NAMES = ["tench, Tinca tinca", "goldfish", "great white shark, white shark", "tiger shark"]
NAMES += ["crane", "crane, construction crane", "hammerhead, hammerhead shark"]


@pytest.mark.parametrize(
    "text, index",
    [
        ("3", 3),
        (" 0 ", 0),
        ("Goldfish", 1),  # exact, case-insensitive
        ("white shark", 2),  # exact on one of the comma-separated names
        ("tinca", 0),  # exact on an alias
        ("tiger", 3),  # unique substring
        ("hammer", 6),
    ],
)
def test_resolve_class(text, index):
    assert resolve_class(text, NAMES) == index


@pytest.mark.parametrize(
    "text, match",
    [
        ("shark", r"'shark' matches 3 classes \(2: great white.*3: tiger shark.*6: hammerhead"),
        ("crane", r"'crane' matches 2 classes \(4: crane; 5: crane, construction crane\)"),
        ("zebra", "no ImageNet class matches 'zebra'"),
        ("7", r"class index 7 outside \[0, 7\)"),
        ("-1", r"class index -1 outside"),
    ],
)
def test_resolve_class_errors(text, match):
    with pytest.raises(ValueError, match=match):
        resolve_class(text, NAMES)


def _real_names():
    path = data_path("imagenet_classes.txt")
    if not path.is_file():
        pytest.skip(f"{path} not present (set CS231N_DATA to the shared data)")
    return class_names()


@pytest.mark.parametrize(
    "text, index",
    [("tarantula", 76), ("stingray", 6), ("great white shark", 2), ("goldfish", 1), ("76", 76)],
)
def test_real_resolve_class(text, index):
    assert resolve_class(text, _real_names()) == index


def test_real_resolve_class_ambiguous():
    names = _real_names()
    with pytest.raises(ValueError, match=r"'crane' matches 2 classes \(134: crane; 517: crane\)"):
        resolve_class("crane", names)
    with pytest.raises(ValueError, match="'shark' matches"):
        resolve_class("shark", names)


# ---- the commands ----


def test_saliency_all_methods(env, weights, image_files, fast_methods, capsys, tmp_path):
    out = tmp_path / "out" / "sal.png"  # the folder is created
    code, stdout, err = run(
        capsys, "saliency", *image_files, "--method", "all", "--weights", weights, "-o", out
    )
    assert code == 0, err
    assert out.read_bytes()[:8] == PNG
    for method in ("gradient", "smoothgrad", "integrated-gradients", "grad-cam"):
        assert re.search(rf"^{method}: \d+\.\d\d s for 2 image\(s\)$", stdout, re.M), stdout
    model = load_model(weights, device="cpu")
    X, _ = load_images(image_files)
    with torch.no_grad():
        predicted = model(X).argmax(dim=1).tolist()
    for path, k in zip(image_files, predicted, strict=True):
        # no label for files: the map is for the predicted class
        assert f"{path.name}: predicted class {k} (" in stdout
        assert f"map for class {k} (class {k})" in stdout
    assert f"Figure saved to {out}" in stdout


def test_saliency_with_target(env, weights, image_files, capsys, tmp_path):
    out = tmp_path / "t.png"
    code, stdout, err = run(
        capsys, "saliency", image_files[0], "--target", "42", "--weights", weights, "-o", out
    )
    assert code == 0, err
    assert "map for class 42 (class 42)" in stdout and "gradient: " in stdout
    assert "grad-cam" not in stdout  # default method only
    assert out.read_bytes()[:8] == PNG


def second_choice(weights, path):
    model = load_model(weights, device="cpu")
    X, _ = load_images([path])
    with torch.no_grad():
        return model(X)[0].argsort(descending=True).tolist()


def check_fool_output(code, stdout):
    fooled = re.search(r"^fooled after (\d+) iterations", stdout, re.M)
    not_fooled = re.search(r"^NOT fooled after (\d+) iterations", stdout, re.M)
    assert bool(fooled) != bool(not_fooled), stdout
    assert code == (0 if fooled else 1)
    return int((fooled or not_fooled).group(1))


def test_fool_reaches_an_easy_target(env, weights, image_files, capsys, tmp_path):
    ranking = second_choice(weights, image_files[0])
    out = tmp_path / "f.png"
    code, stdout, err = run(
        capsys, "fool", image_files[0], "--target", ranking[1], "--weights", weights, "-o", out
    )
    iterations = check_fool_output(code, stdout)
    assert code == 0, stdout + err
    assert 0 < iterations <= 100
    assert f"target {ranking[1]} (class {ranking[1]})" in stdout
    assert f"now class {ranking[1]} (" in stdout
    assert out.read_bytes()[:8] == PNG


def test_fool_not_fooled_exits_1(env, weights, image_files, capsys, tmp_path):
    ranking = second_choice(weights, image_files[1])
    code, stdout, _ = run(
        capsys,
        "fool",
        image_files[1],
        "--target",
        ranking[500],
        "--max-iterations",
        "1",
        "--weights",
        weights,
        "-o",
        tmp_path / "f.png",
    )
    assert check_fool_output(code, stdout) == 1
    assert code == 1 and "NOT fooled" in stdout
    assert (tmp_path / "f.png").read_bytes()[:8] == PNG  # the figure is saved all the same


def test_fool_score_objective(env, weights, image_files, capsys, tmp_path):
    ranking = second_choice(weights, image_files[0])
    args = ["fool", image_files[0], "--target", ranking[1], "--weights", weights]
    # A few steps show the objective is taken (the score objective needs ~100 here, at 224 px).
    code, stdout, _ = run(
        capsys, *args, "--objective", "score", "--max-iterations", "3", "-o", tmp_path / "f.png"
    )
    assert 0 < check_fool_output(code, stdout) <= 3
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args] + ["--objective", "loss"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["random", "least-likely"])
def test_fool_target_modes(env, weights, image_files, capsys, tmp_path, mode):
    code, stdout, _ = run(
        capsys,
        "fool",
        image_files[0],
        "--target",
        mode,
        "--max-iterations",
        "1",
        "--weights",
        weights,
        "-o",
        tmp_path / "f.png",
    )
    check_fool_output(code, stdout)
    target = int(re.search(r"target (\d+) \(", stdout).group(1))
    assert target != second_choice(weights, image_files[0])[0]


def test_visualize_class(env, weights, capsys, tmp_path):
    out = tmp_path / "c.png"
    code, stdout, err = run(
        capsys, "visualize-class", "5", "--iterations", "3", "-q", "--weights", weights, "-o", out
    )
    assert code == 0, err
    match = re.search(
        r"^Class 5 \(class 5\): probability (\d+\.\d)% after 3 iterations$", stdout, re.M
    )
    assert match and 0 <= float(match.group(1)) <= 100
    assert out.read_bytes()[:8] == PNG


def test_visualize_class_by_name_with_a_class_list(env, weights, capsys, tmp_path):
    names = [f"thing {i}" for i in range(1000)]
    names[76] = "tarantula"
    (env / "imagenet_classes.txt").write_text("\n".join(names) + "\n")
    code, stdout, err = run(
        capsys,
        "visualize-class",
        "tarantula",
        "--iterations",
        "1",
        "-q",
        "--weights",
        weights,
        "-o",
        tmp_path / "c.png",
    )
    assert code == 0, err
    assert "Class 76 (tarantula): probability" in stdout
    code, _, err = run(
        capsys,
        "visualize-class",
        "hing 1",
        "--iterations",
        "1",
        "-q",
        "--weights",
        weights,
        "-o",
        tmp_path / "c.png",
    )
    # "thing 1", "thing 10".."thing 19", "thing 100".."thing 199"; the listing is cut at 8
    assert code == 2 and "'hing 1' matches 111 classes (1: thing 1; 10: thing 10;" in err
    assert "16: thing 16); give the index" in err and "thing 17" not in err


@pytest.mark.parametrize(
    "target, message",
    [("no such class", "no ImageNet class matches 'no such class'"), ("1000", "outside")],
)
def test_visualize_class_unknown_class(env, weights, capsys, tmp_path, target, message):
    code, _, err = run(
        capsys, "visualize-class", target, "--weights", weights, "-o", tmp_path / "c.png"
    )
    assert code == 2 and message in err and err.startswith("cs231n: error:")


def test_too_small_image(env, weights, capsys, tmp_path):
    small = tmp_path / "tiny.png"
    Image.fromarray(smooth_image(10, 10)).save(small)
    for command in (["saliency", small], ["fool", small, "--target", "3"]):
        code, _, err = run(capsys, *command, "--weights", weights, "-o", tmp_path / "o.png")
        assert code == 2 and "tiny.png" in err and "too small" in err


def test_unreadable_image(env, weights, capsys, tmp_path, image_files):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    code, _, err = run(
        capsys, "saliency", image_files[0], bad, "--weights", weights, "-o", tmp_path / "o.png"
    )
    assert code == 2 and "notes.jpg" in err and "not a readable image" in err
    code, _, err = run(
        capsys, "saliency", tmp_path / "absent.png", "--weights", weights, "-o", tmp_path / "o.png"
    )
    assert code == 2 and "absent.png" in err
    assert not (tmp_path / "o.png").exists()


def test_missing_weights_file(env, image_files, capsys, tmp_path):
    code, _, err = run(
        capsys,
        "saliency",
        image_files[0],
        "--weights",
        tmp_path / "nope.pt",
        "-o",
        tmp_path / "o.png",
    )
    assert code == 2 and "nope.pt" in err


def test_garbage_weights_file(env, image_files, capsys, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    code, _, err = run(capsys, "visualize-class", "1", "--weights", bad, "-o", tmp_path / "o.png")
    assert code == 2 and "bad.pt" in err


def test_no_weights_anywhere(env, image_files, capsys, tmp_path):
    code, _, err = run(capsys, "saliency", image_files[0], "-o", tmp_path / "o.png")
    assert code == 2
    assert "pretrained SqueezeNet 1.1 weights not found" in err
    assert "squeezenet1_1.pt" in err and str(env) in err


def test_unwritable_output_fails_before_any_work(env, image_files, capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run(
        capsys,
        "saliency",
        image_files[0],
        "--weights",
        tmp_path / "nope.pt",
        "-o",
        blocker / "o.png",
    )
    assert code == 2 and "cannot write" in err and "nope.pt" not in err


# Issue #11: a decompression bomb's header, a rotated photo, an output that is not a file.


@pytest.mark.parametrize("side", [20000, 65535])
def test_huge_image_is_refused_naming_it(env, weights, capsys, tmp_path, side):
    from test_image_decoding import forged_png

    huge = forged_png(tmp_path / "huge.png", side, side)
    for command in (["saliency", huge], ["fool", huge, "--target", "3"]):
        code, _, err = run(capsys, *command, "--weights", weights, "-o", tmp_path / "o.png")
        assert code == 2 and err.count("\n") == 1 and err.startswith("cs231n: error: ")
        assert f"huge.png: {side}x{side} pixels" in err and "limit is 89,478,485 pixels" in err
    assert not (tmp_path / "o.png").exists()


def test_exif_orientation_is_applied(tmp_path):
    from test_image_decoding import with_orientation

    stored = smooth_image(60, 100)  # 100 wide, 60 high, shown turned 90 degrees clockwise
    rotated, upright = tmp_path / "phone.png", tmp_path / "upright.png"
    Image.fromarray(stored).save(rotated, exif=with_orientation(stored, 6))
    Image.fromarray(np.rot90(stored, -1)).save(upright)
    batch, crops = load_images([rotated])
    batch_upright, crops_upright = load_images([upright])
    np.testing.assert_array_equal(crops, crops_upright)
    torch.testing.assert_close(batch, batch_upright)


@pytest.mark.parametrize(
    "output, message",
    [
        (".", "it is a folder"),
        ("figure", "no extension names no figure format"),
        ("figure.xyz", "extension '.xyz' names no figure format"),
    ],
)
def test_output_must_name_a_figure_file(env, image_files, capsys, tmp_path, output, message):
    """Refused before the model is loaded: `-o results/` used to fail after the work, with
    matplotlib's "Format 'ybdhkivf' is not supported"."""
    out = tmp_path / output
    commands = [
        ["saliency", image_files[0], "--weights", tmp_path / "nope.pt"],
        ["fool", image_files[0], "--target", "3", "--weights", tmp_path / "nope.pt"],
        ["visualize-class", "3", "--weights", tmp_path / "nope.pt"],
        ["caption", "overfit", "--data-dir", tmp_path / "nowhere"],
        ["gan", "sample", tmp_path / "no_run"],
    ]
    for command in commands:
        code, _, err = run(capsys, *command, "-o", out)
        assert code == 2 and message in err and str(out) in err, (command, err)
        assert err.count("\n") == 1 and "nope.pt" not in err and "no_run" not in err


def write_val_npz(folder, n=3):
    rng = np.random.default_rng(0)
    X = np.stack([smooth_image(224, 224, seed=s) for s in range(n)])
    y = rng.integers(0, 1000, n)
    label_map = {i: f"label {i}" for i in range(1000)}
    np.savez(folder / "imagenet_val_25.npz", X=X, y=y, label_map=np.array(label_map, dtype=object))
    return X, y


def test_saliency_val_images_use_the_true_label(env, weights, capsys, tmp_path):
    _, y = write_val_npz(env)
    code, stdout, err = run(
        capsys,
        "saliency",
        "val:1",
        "val:2",
        "--method",
        "grad-cam",
        "--weights",
        weights,
        "-o",
        tmp_path / "v.png",
    )
    assert code == 0, err
    assert "val:1: predicted class" in stdout
    assert f"map for class {y[1]} (class {y[1]})" in stdout
    assert f"map for class {y[2]} (class {y[2]})" in stdout


def test_val_image_errors(env, weights, capsys, tmp_path):
    code, _, err = run(capsys, "saliency", "val:0", "--weights", weights, "-o", tmp_path / "v.png")
    assert code == 2 and "imagenet_val_25.npz" in err
    write_val_npz(env)
    code, _, err = run(
        capsys, "fool", "val:3", "--target", "1", "--weights", weights, "-o", tmp_path / "v.png"
    )
    assert code == 2 and "val:3" in err and "0..2" in err


# ---- with the shared data (skipped when absent) ----


def test_real_saliency_val_0_is_hay(monkeypatch, capsys, tmp_path):
    for name in ("squeezenet1_1.pt", "imagenet_val_25.npz", "imagenet_classes.txt"):
        if not data_path(name).is_file():
            pytest.skip(f"{data_path(name)} not present (set CS231N_DATA to the shared data)")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_download_pretrained", lambda: pytest.fail("tried to download"))
    code, stdout, err = run(
        capsys,
        "saliency",
        "val:0",
        "--method",
        "gradient",
        "--device",
        "cpu",
        "-o",
        tmp_path / "h.png",
    )
    assert code == 0, err
    assert re.search(r"^val:0: predicted .*; map for class 958 \(hay\)$", stdout, re.M), stdout
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    "argv, message",
    [
        (["visualize-class", "3", "--l2-reg", "nan"], "--l2-reg: must be a finite number >= 0"),
        (["visualize-class", "3", "--l2-reg=-1e9"], "--l2-reg: must be a finite number >= 0"),
        (["visualize-class", "3", "--learning-rate", "inf"], "--learning-rate: must be a positive"),
        (["visualize-class", "3", "--iterations", str(10**12)], "--iterations: must be an integer from 1 to 100000"),
        (["fool", "val:0", "--target", "3", "--max-iterations", "0"], "--max-iterations: must be an integer from 1"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_any_work(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
