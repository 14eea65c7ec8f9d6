"""Loaders for the ImageNet data of the PyTorch parts (cs231n.data_utils), on tiny files in the
course's formats; the ``real_*`` tests use the shared data and are skipped without it."""

import numpy as np
import pytest

from cs231n.config import data_path
from cs231n.data_utils import load_imagenet_classes, load_imagenet_sample, load_imagenet_val


def write_val_npz(path, n=4, size=8, label_map=None):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    y = np.arange(n, dtype=np.int64) * 3
    if label_map is None:
        label_map = {i: f"label {i}" for i in range(1000) if i != 134}
    np.savez(path, X=X, y=y, label_map=np.array(label_map, dtype=object))
    return X, y


def write_classes(folder, n=1000, extra_blank=True):
    lines = [f"  name {i}, alias {i}  " for i in range(n)]
    text = "\n".join(lines) + ("\n\n" if extra_blank else "")
    (folder / "imagenet_classes.txt").write_text(text, encoding="utf-8")


def test_load_imagenet_val_from_data_root(tmp_path):
    X, y = write_val_npz(tmp_path / "imagenet_val_25.npz")
    X2, y2, names = load_imagenet_val(data_root=tmp_path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.uint8
    # no imagenet_classes.txt: the npz's own label map (which lacks 134)
    assert names[3] == "label 3" and 134 not in names and len(names) == 999


def test_load_imagenet_val_prefers_the_class_list(tmp_path):
    write_val_npz(tmp_path / "imagenet_val_25.npz")
    write_classes(tmp_path)
    _, _, names = load_imagenet_val(data_root=tmp_path)
    assert len(names) == 1000 and names[134] == "name 134, alias 134"
    assert names == {i: f"name {i}, alias {i}" for i in range(1000)}


def test_load_imagenet_val_num_and_explicit_path(tmp_path):
    path = tmp_path / "elsewhere.npz"
    X, y = write_val_npz(path, n=5)
    X2, y2, _ = load_imagenet_val(num=2, path=path, data_root=tmp_path)
    np.testing.assert_array_equal(X2, X[:2])
    np.testing.assert_array_equal(y2, y[:2])


def test_load_imagenet_val_uses_cs231n_data(monkeypatch, tmp_path):
    X, _ = write_val_npz(tmp_path / "imagenet_val_25.npz", n=2)
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    np.testing.assert_array_equal(load_imagenet_val()[0], X)


def test_load_imagenet_val_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_imagenet_val(data_root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "imagenet_val_25.npz") in message
    assert "imagenet_val_25.npz" in message and "http" in message


def test_load_imagenet_val_missing_array_names_file_and_key(tmp_path):
    path = tmp_path / "imagenet_val_25.npz"
    np.savez(path, X=np.zeros((1, 2, 2, 3), np.uint8), y=np.zeros(1, np.int64))
    with pytest.raises(KeyError, match="label_map") as info:
        load_imagenet_val(data_root=tmp_path)
    assert "imagenet_val_25.npz" in str(info.value)


def test_load_imagenet_classes(tmp_path):
    assert load_imagenet_classes(tmp_path) is None
    write_classes(tmp_path)
    names = load_imagenet_classes(tmp_path)
    assert (
        len(names) == 1000 and names[0] == "name 0, alias 0" and names[-1] == "name 999, alias 999"
    )


def test_load_imagenet_classes_wrong_count(tmp_path):
    write_classes(tmp_path, n=999)
    with pytest.raises(ValueError, match="999") as info:
        load_imagenet_classes(tmp_path)
    assert "imagenet_classes.txt" in str(info.value)


def test_load_imagenet_sample(tmp_path):
    folder = tmp_path / "imagenet_sample"
    folder.mkdir()
    rows = [
        "file\tlabel\twnid",
        "0000_a.jpg\t0\tn0",
        "0001_b.jpg\t7\tn7",
        "0002_c.jpg\t999\tn9",
        "",
    ]
    (folder / "labels.tsv").write_text("\n".join(rows))
    paths, labels = load_imagenet_sample(tmp_path)
    assert paths == [folder / "0000_a.jpg", folder / "0001_b.jpg", folder / "0002_c.jpg"]
    np.testing.assert_array_equal(labels, [0, 7, 999])
    paths, labels = load_imagenet_sample(tmp_path, num=2)
    assert len(paths) == 2 and labels.tolist() == [0, 7]


def test_load_imagenet_sample_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels.tsv"):
        load_imagenet_sample(tmp_path)


# ---- the shared data (skipped when absent) ----


def _real(name):
    path = data_path(name)
    if not path.exists():
        pytest.skip(f"{path} not present (set CS231N_DATA to the shared data)")
    return path


def test_real_imagenet_val_25():
    _real("imagenet_val_25.npz")
    _real("imagenet_classes.txt")
    X, y, names = load_imagenet_val()
    assert X.shape == (25, 224, 224, 3) and X.dtype == np.uint8
    assert y.shape == (25,) and 0 <= y.min() and y.max() < 1000
    assert len(names) == 1000
    assert names[int(y[0])] == "hay"


def test_real_imagenet_val_label_map_lacks_134(tmp_path):
    """Without imagenet_classes.txt the npz's own map is used; it has no class 134."""
    (tmp_path / "imagenet_val_25.npz").symlink_to(_real("imagenet_val_25.npz"))
    _, _, names = load_imagenet_val(num=1, data_root=tmp_path)
    assert len(names) == 999 and 134 not in names


def test_real_imagenet_classes():
    _real("imagenet_classes.txt")
    names = load_imagenet_classes()
    assert len(names) == 1000
    assert names[76] == "tarantula"
    assert names[6] == "stingray"
    assert names[0].startswith("tench")


def test_real_imagenet_sample():
    _real("imagenet_sample/labels.tsv")
    paths, labels = load_imagenet_sample()
    assert len(paths) == 1000 and labels.tolist() == list(range(1000))
    assert all(p.is_file() for p in paths[:20])
    paths, labels = load_imagenet_sample(num=3)
    assert len(paths) == 3


class _RunsCode:
    """An object whose unpickling would call os.system (the attack the loader must refuse)."""

    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_a_label_map_carrying_code_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "imagenet_val_25.npz"
    X = np.zeros((2, 4, 4, 3), np.uint8)
    np.savez(path, X=X, y=np.array([1, 2]), label_map=np.array({0: _RunsCode()}, dtype=object))
    with pytest.raises(ValueError, match="label_map .*may not refer to (posix|os).system"):
        load_imagenet_val(path=path, data_root=tmp_path)
    assert not (tmp_path / "pwned").exists()


def test_the_real_label_map_reads_without_pickle_risk():
    from cs231n.data_utils import read_label_map

    path = data_path("imagenet_val_25.npz")
    if not path.is_file():
        pytest.skip("needs the course's imagenet_val_25.npz")
    names = read_label_map(path)
    assert len(names) == 999 and 134 not in names and names[6] == "stingray"


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros((2, 4, 4), np.uint8), np.array([1, 2]), "X must be"),
        (np.zeros((2, 4, 4, 3), np.float32), np.array([1, 2]), "X must be"),
        (np.zeros((2, 4, 4, 3), np.uint8), np.array([1]), "y must be 2 integer"),
        (np.zeros((2, 4, 4, 3), np.uint8), np.array([1, 1000]), "from 1 to 1000"),
        (np.zeros((2, 4, 4, 3), np.uint8), np.array([1.0, 2.0]), "y must be"),
    ],
)
def test_inconsistent_arrays_are_named(tmp_path, X, y, message):
    path = tmp_path / "v.npz"
    np.savez(path, X=X, y=y, label_map=np.array({0: "a"}, dtype=object))
    with pytest.raises(ValueError, match=message):
        load_imagenet_val(path=path, data_root=tmp_path)


def test_a_truncated_file_is_named(tmp_path):
    path = tmp_path / "v.npz"
    write_val_npz(path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="v.npz: not a readable .npz file"):
        load_imagenet_val(path=path, data_root=tmp_path)
