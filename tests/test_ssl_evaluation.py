"""The evaluation of a SimCLR run (cs231n/ssl/evaluation.py): its measures against the course's
kNN and a known-separable probe, and a whole evaluation of a tiny run."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_simclr_utils import Identity
from test_ssl_training import TINY, grey_data
from torch.utils.data import DataLoader, TensorDataset

from cs231n.simclr.utils import test as course_knn
from cs231n.ssl.evaluation import evaluate, knn_accuracy, linear_probe, pca_2d
from cs231n.ssl.training import train_ssl


def test_knn_is_the_courses():
    g = torch.Generator().manual_seed(0)
    bank, queries = torch.randn(50, 6, generator=g), torch.randn(20, 6, generator=g)
    yb, yq = torch.randint(0, 5, (50,), generator=g), torch.randint(0, 5, (20,), generator=g)
    ours = knn_accuracy(bank, yb, queries, yq, 5, k=10, temperature=0.5)
    memory = DataLoader(TensorDataset(bank, bank, yb), batch_size=16)
    tests = DataLoader(TensorDataset(queries, queries, yq), batch_size=16)
    theirs = course_knn(Identity(), memory, tests, 1, 1, 5, 0.5, 10, progress=False)
    assert ours == pytest.approx(theirs)


def test_linear_probe_learns_a_separable_problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    assert linear_probe(x[:300], y[:300], x[300:], y[300:], 2, iterations=100) > 90
    noise = torch.randn(400, 5, generator=g)  # features unrelated to the labels
    assert linear_probe(noise[:300], y[:300], noise[300:], y[300:], 2, iterations=100) < 75


def test_pca_keeps_the_main_direction():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 1, generator=g) * torch.tensor([[3.0, 0.0, 0.0]])
    x = x + 0.01 * torch.randn(200, 3, generator=g)
    xy = pca_2d(x)
    assert xy.shape == (200, 2)
    assert abs(np.corrcoef(xy[:, 0], x[:, 0].numpy())[0, 1]) > 0.99


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "tiny"
    data = grey_data()
    train_ssl(folder, TINY, seed=0, data=data)
    return folder, data


def test_evaluate_a_run(tiny_run):
    folder, data = tiny_run
    results = evaluate(folder, data=data, test_images=20, supervised_steps=2, probe_iterations=20)
    assert set(results["encoders"]) == {"simclr", "random", "pixels", "supervised"}
    for r in results["encoders"].values():
        assert 0 <= r["knn_top1"] <= r["knn_top5"] <= 100
        assert 0 <= r["linear_probe_top1"] <= 100
    assert results["labelled_images"] == 10 and results["test_images"] == 20
    assert results["knn"]["k"] == 96  # k 200 capped at the bank's 96 images
    assert results["encoders"]["supervised"]["training"]["steps"] == 2
    assert json.loads((folder / "evaluation.json").read_text()) == results
    assert (folder / "neighbours.png").stat().st_size > 0
    assert (folder / "embedding.png").stat().st_size > 0
    # Separable toy data: the pixels alone classify it.
    assert results["encoders"]["pixels"]["knn_top1"] > 90


@pytest.mark.parametrize(
    "option, message",
    [
        ({"k": 0}, "k must be at least 1"),
        ({"temperature": 0}, "temperature must be in \\(0"),
        ({"label_fraction": 0}, "label_fraction must be in \\(0, 1\\]"),
        ({"test_images": 0}, "test_images must be at least 1"),
    ],
)
def test_bad_options_before_any_work(tiny_run, option, message):
    folder, _ = tiny_run
    with pytest.raises(ValueError, match=message):
        evaluate(folder, **option)


def test_not_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint.pt"):
        evaluate(tmp_path)


def test_features_are_unit_length(tiny_run):
    from cs231n.ssl.evaluation import encode
    from cs231n.ssl.training import eval_transform, load_checkpoint

    folder, data = tiny_run
    model = load_checkpoint(folder / "checkpoint.pt")["model"]
    f = encode(model, data[0][0][:5], eval_transform(1), torch.device("cpu"))
    assert torch.allclose(f.norm(dim=1), torch.ones(5), atol=1e-5)
    assert torch.allclose(f, F.normalize(f, dim=1))


# ---- the course's pretrained network (asset simclr-model) ------------------------------------


def _fake_course_checkpoint():
    """Some of the course's Model keys, at their shapes: its pretrained_simclr_model.pth is
    Model().state_dict() (keys f.* and g.*), loaded with strict=False by
    self_supervised_learning.ipynb (2021-2026)."""
    import io

    g = torch.Generator().manual_seed(0)
    state = {
        "f.0.weight": torch.randn(64, 3, 3, 3, generator=g),
        "g.3.weight": torch.randn(128, 512, generator=g),
        "g.3.bias": torch.randn(128, generator=g),
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    return state, buf.getvalue()


def _fake_cifar10(folder, n=8):
    import pickle

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [int(x) for x in rng.integers(0, 10, n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))


def test_course_pretrained_model_is_fetched_and_loaded_the_notebooks_way(tmp_path, capsys):
    from local_server import serving

    from cs231n.cli import main
    from cs231n.data import assets
    from cs231n.ssl.evaluation import load_course_pretrained

    data = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="cs231n data download simclr-model"):
        load_course_pretrained(data_root=data)
    state, payload = _fake_course_checkpoint()
    # Served as a mirror serves it (MIRROR/NAME/FILE); unpinned: only being whole is checked.
    with serving({"/simclr-model/pretrained_simclr_model.pth": payload}) as srv:
        assets.fetch("simclr-model", data, mirror=srv.base, progress=False)
    path = data / "pretrained_model" / "pretrained_simclr_model.pth"
    assert path.read_bytes() == payload
    model = load_course_pretrained(data_root=data)
    assert not model.training
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value)

    # `cs231n ssl evaluate --pretrained-course`: the same weights on (fake) CIFAR-10.
    _fake_cifar10(data / "cifar-10-batches-py")
    argv = ["ssl", "evaluate", "--pretrained-course", "--data-dir", str(data), "--k", "3"]
    assert main([*argv, "--max-images", "8", "--test-images", "4", "--label-fraction", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "course" in out and "pixels" in out and "8 training images (bank), 4 test" in out
    assert main([*argv, "some_run"]) == 2
    assert "give a RUN folder or --pretrained-course" in capsys.readouterr().err

    # A file that would load nothing with strict=False, or a weight of another shape: named.
    torch.save({"encoder.weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="none of its 1 weights is the course's Model's"):
        load_course_pretrained(data_root=data)
    torch.save({"g.3.bias": torch.zeros(7)}, path)
    with pytest.raises(ValueError, match=r"g.3.bias has shape \(7,\).*\(128,\)"):
        load_course_pretrained(data_root=data)


def test_evaluate_without_the_supervised_baseline(tiny_run):
    """supervised=False (the demo's short run): the other three rows, the same numbers."""
    folder, data = tiny_run
    kwargs = dict(data=data, test_images=20, probe_iterations=20, figures=False)
    without = evaluate(folder, supervised=False, **kwargs)
    assert list(without["encoders"]) == ["simclr", "random", "pixels"]
    full = evaluate(folder, supervised_steps=2, **kwargs)
    for name, r in without["encoders"].items():
        for key in ("knn_top1", "knn_top5", "linear_probe_top1"):
            assert r[key] == full["encoders"][name][key]
