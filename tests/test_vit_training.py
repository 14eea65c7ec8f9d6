"""cs231n.vit.training: the Vision Transformer on MNIST-format images (28x28x1), trained by
ClassificationSolverViT, with checkpoints that resume exactly."""

import json

import numpy as np
import pytest
import torch
from test_data_mnist import write_idx
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)

from cs231n.vit.training import (
    MODEL_DEFAULTS,
    TRAIN_DEFAULTS,
    build_vit,
    check_config,
    load_vit_checkpoint,
    load_vit_data,
    output_paths,
    train_vit,
    vit_parameter_count,
)

SMALL = dict(embed_dim=16, num_layers=1, num_heads=2, dim_feedforward=32, dropout=0.1)


def striped_mnist(folder, n_train=256, n_test=64, seed=0):
    """An MNIST-format folder whose class is easy to see: images of class k have a bright band
    at rows 2k..2k+4 over noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 100, (n, 28, 28))
        for i, k in enumerate(labels):
            images[i, 2 * k : 2 * k + 5] = 255
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    striped_mnist(root / "fashion-mnist")
    return root


def test_the_courses_settings():
    assert TRAIN_DEFAULTS == {
        "num_epochs": 2,
        "batch_size": 64,
        "learning_rate": 1e-4,
        "weight_decay": 0.0,
    }
    model = build_vit(MODEL_DEFAULTS, seed=0)
    assert model.patch_embed.num_patches == 16 and len(model.transformer.layers) == 6
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert vit_parameter_count(**MODEL_DEFAULTS) == model.get_num_params()
    assert model.get_num_params() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(patch_size=5), "patch_size 5 does not divide the 28x28 images"),
        (dict(embed_dim=10, num_heads=3), "embed_dim 10 is not divisible by num_heads 3"),
        (dict(num_layers=0), "num_layers must be a positive integer"),
        (dict(dropout=1.0), r"dropout must be a number in \[0, 1\)"),
    ],
)
def test_bad_configs_are_refused(change, match):
    with pytest.raises(ValueError, match=match):
        check_config({**MODEL_DEFAULTS, **change})


def test_load_vit_data(data_root):
    train, test = load_vit_data("fashion-mnist", data_root)
    assert len(train) == 256 and len(test) == 64
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1 and 0 <= int(label) < 10
    train, test = load_vit_data("fashion-mnist", data_root, max_images=100)
    assert len(train) == 100 and len(test) == 64


def test_training_learns_writes_its_files_and_resumes_exactly(data_root, tmp_path):
    train, test = load_vit_data("fashion-mnist", data_root)
    settings = dict(
        config=SMALL, seed=3, device="cpu", verbose=False, learning_rate=1e-2, batch_size=16
    )
    _, straight = train_vit(train, test, num_epochs=3, **settings)
    assert straight.results["best_test_acc"] > 0.3  # chance: 0.1

    name = tmp_path / "out" / "v"
    train_vit(train, test, checkpoint=name, num_epochs=2, extra={"note": 1}, **settings)
    pt, json_path, curve = output_paths(name)
    assert sorted(p.name for p in pt.parent.iterdir()) == ["v.json", "v.pt", "v_curve.png"]
    summary = json.loads(json_path.read_text())
    assert summary["epoch"] == 2 and summary["config"]["embed_dim"] == 16
    assert summary["extra"] == {"note": 1} and len(summary["results"]["test_acc@1"]) == 2
    assert curve.read_bytes()[:4] == b"\x89PNG"

    torch.manual_seed(999)  # resuming restores the random states: this must not matter
    model, resumed = train_vit(train, test, checkpoint=name, resume=True, num_epochs=3, **settings)
    assert resumed.results == straight.results
    assert json.loads(json_path.read_text())["epoch"] == 3
    assert load_vit_checkpoint(name)["epoch"] == 3


def test_resume_refuses_other_settings(data_root, tmp_path):
    train, test = load_vit_data("fashion-mnist", data_root, max_images=64)
    settings = dict(seed=0, device="cpu", verbose=False, num_epochs=1)
    train_vit(train, test, SMALL, checkpoint=tmp_path / "v", **settings)
    with pytest.raises(ValueError, match=r"v.pt: cannot resume, settings differ .*embed_dim"):
        train_vit(
            train, test, {**SMALL, "embed_dim": 32}, checkpoint=tmp_path / "v", resume=True,
            **settings,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"settings differ .*batch_size"):
        train_vit(
            train, test, SMALL, checkpoint=tmp_path / "v", resume=True, batch_size=8, **settings
        )


def _rewrite(path, change):
    saved = torch.load(path, weights_only=True)
    change(saved)
    torch.save(saved, path)


def _nan(saved):
    saved["model_state"]["head.weight"][0, 0] = float("nan")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s: s.update(format="x"), r"v.pt: not a ViT checkpoint"),
        (lambda s: s.pop("optimizer"), r"v.pt: missing key 'optimizer'"),
        (lambda s: s["config"].update(num_heads=3), r"v.pt: embed_dim 16 is not divisible"),
        (lambda s: s.update(epoch=5), r"v.pt: epoch and results do not agree"),
        (_nan, r"v.pt: weight 'head.weight' holds NaN"),
        (
            lambda s: s["model_state"].pop("head.bias"),
            r"v.pt: weight 'head.bias' is missing",
        ),
        (lambda s: s.update(torch_rng_state=torch.zeros(3)), r"torch_rng_state is not a torch"),
    ],
)
def test_damaged_checkpoints_are_one_clear_error(data_root, tmp_path, change, match):
    train, test = load_vit_data("fashion-mnist", data_root, max_images=64)
    train_vit(train, test, SMALL, checkpoint=tmp_path / "v", num_epochs=1, verbose=False)
    _rewrite(tmp_path / "v.pt", change)
    with pytest.raises(ValueError, match=match):
        load_vit_checkpoint(tmp_path / "v")
    (tmp_path / "v.pt").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match=r"v.pt: not a readable ViT checkpoint"):
        load_vit_checkpoint(tmp_path / "v.json")


def test_a_resume_on_another_data_set_is_refused(data_root, tmp_path):
    """vit train --resume accepted another --dataset (issue #19 b)."""
    train, test = load_vit_data("fashion-mnist", data_root, max_images=64)
    settings = dict(seed=0, device="cpu", verbose=False, num_epochs=1)
    extra = {"dataset": "fashion-mnist", "max_images": 64}
    train_vit(train, test, SMALL, checkpoint=tmp_path / "v", extra=extra, **settings)
    for other, named in (
        ({"dataset": "mnist", "max_images": 64}, "dataset 'fashion-mnist' saved, 'mnist' asked"),
        ({"dataset": "fashion-mnist", "max_images": 32}, "max_images 64 saved, 32 asked"),
    ):
        with pytest.raises(
            ValueError, match=rf"cannot resume, settings differ from the saved run: {named}"
        ):
            train_vit(
                train, test, SMALL, checkpoint=tmp_path / "v", resume=True, extra=other,
                **{**settings, "num_epochs": 2},
            )  # fmt: skip
    # The same data with more epochs continues.
    train_vit(
        train, test, SMALL, checkpoint=tmp_path / "v", resume=True, extra=extra,
        **{**settings, "num_epochs": 2},
    )  # fmt: skip


def test_a_vit_keeps_the_editions_choices_it_was_built_with(data_root, tmp_path):
    """Patches flattened (row, column, channel) under the first 2025 release stay so when the
    checkpoint is read under another edition; a resume under another edition is refused."""
    import torch

    from cs231n.core.edition import using_edition

    train, test = load_vit_data("fashion-mnist", data_root, max_images=32)
    settings = dict(seed=0, device="cpu", verbose=False, num_epochs=1)
    with using_edition(2025):
        model, _ = train_vit(train, test, SMALL, checkpoint=tmp_path / "v", **settings)
    assert model.patch_embed.flatten_order == "hwc"
    saved = load_vit_checkpoint(tmp_path / "v")
    assert saved["layers"] == {"activation": "gelu", "flatten_order": "hwc"}
    with pytest.raises(ValueError, match="flatten_order 'hwc' saved, 'chw' asked"):
        train_vit(
            train,
            test,
            SMALL,
            checkpoint=tmp_path / "v",
            resume=True,
            **{**settings, "num_epochs": 2},
        )
    # Read under the newest edition, the weights go into a model built as it was trained.
    from cs231n.vit.training import build_vit

    rebuilt = build_vit(saved["config"], choices=saved["layers"])
    rebuilt.load_state_dict(saved["model_state"])
    x = torch.rand(2, 1, 28, 28)
    model.eval(), rebuilt.eval()
    torch.testing.assert_close(rebuilt(x), model.cpu()(x))


# ----------------------------------------------------------------------------------------------
# Checkpoints that load but cannot be used (issue #19 a): refused before any work, in one line
# naming the file; NAME.pt, NAME.json and the curve left as they were


@pytest.fixture(scope="module")
def trained_vit(data_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("vit")
    train, test = load_vit_data("fashion-mnist", data_root, max_images=32)
    train_vit(
        train, test, SMALL, checkpoint=folder / "v", num_epochs=1, batch_size=16, verbose=False
    )
    return folder


def _flip_a_weight_bit(path):
    """One bit of the largest tensor's bytes (not of the ZIP's headers)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    h = info.header_offset
    start = h + 30 + int.from_bytes(data[h + 26 : h + 28], "little")
    start += int.from_bytes(data[h + 28 : h + 30], "little")
    data[start + 3] ^= 0x40
    path.write_bytes(bytes(data))


def _moment(index, key, value):
    def change(saved):
        state = saved["optimizer"]["state"][index]
        state[key] = value(state[key])

    return change


VIT_DEFECTS = [
    (
        lambda s: s["config"].update(embed_dim=10**6, num_heads=2),  # the allocator's error
        r"v.pt: the model it describes \([\d,]+ parameters\) needs about .* of memory, more than",
    ),
    (
        _moment(3, "exp_avg_sq", lambda v: v * float("nan")),  # resumed, NaN weights saved
        r"v.pt: optimiser state exp_avg_sq of parameter 3 \(.*\) holds NaN or infinite values",
    ),
    (
        _moment(0, "exp_avg", lambda v: v.flatten()[:5]),
        r"v.pt: optimiser state exp_avg of parameter 0 \(.*\) has shape \(5,\), the model needs",
    ),
    (
        _moment(1, "step", lambda v: v + 1),
        r"v.pt: optimiser state step counts differ between parameters \(2 for parameter 0",
    ),
    (
        lambda s: s["model_state"].update({"head.weight": s["model_state"]["head.weight"].long()}),
        r"v.pt: weight 'head.weight' must hold floats, got int64",
    ),
    (
        lambda s: s.update(generator_state=s["generator_state"] * 0 + 255),
        r"v.pt: generator_state is not a valid torch random state",
    ),
    (
        lambda s: s.update(cuda_rng_states=[torch.zeros(16)]),
        r"v.pt: cuda_rng_states must be a list of CUDA random states",
    ),
    (
        lambda s: s["results"]["test_loss"].__setitem__(0, "x"),
        r"v.pt: epoch and results do not agree \(one result per epoch, each a number\)",
    ),
    (None, r"v.pt: member .* is damaged \(CRC mismatch"),  # a flipped bit: resumed from
]


@pytest.mark.parametrize("change, match", VIT_DEFECTS)
def test_a_vit_checkpoint_that_cannot_be_used_is_refused(
    data_root, trained_vit, tmp_path, change, match
):
    import shutil

    for p in trained_vit.iterdir():
        shutil.copy(p, tmp_path / p.name)
    if change is None:
        _flip_a_weight_bit(tmp_path / "v.pt")
    else:
        _rewrite(tmp_path / "v.pt", change)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ValueError, match=match) as caught:
        load_vit_checkpoint(tmp_path / "v")
    assert "\n" not in str(caught.value)
    train, test = load_vit_data("fashion-mnist", data_root, max_images=32)
    with pytest.raises(ValueError, match=match):
        train_vit(
            train, test, SMALL, checkpoint=tmp_path / "v", resume=True, num_epochs=2,
            batch_size=16, verbose=False,
        )  # fmt: skip
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_huge_model_is_refused_before_it_is_built(trained_vit, tmp_path, monkeypatch):
    import shutil

    import cs231n.vit.training as vit_training

    shutil.copy(trained_vit / "v.pt", tmp_path / "v.pt")
    _rewrite(tmp_path / "v.pt", lambda s: s["config"].update(embed_dim=10**5, num_heads=2))
    monkeypatch.setattr(vit_training, "build_vit", lambda *a, **k: pytest.fail("built"))
    with pytest.raises(ValueError, match=r"v.pt: the model it describes \([\d,]+ parameters\)"):
        load_vit_checkpoint(tmp_path / "v")
