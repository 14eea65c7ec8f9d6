"""The loaders of cs231n.data_utils (ImageNet samples, CIFAR-10, Tiny ImageNet, saved models,
the restricted unpickler), on tiny files in the course's formats; the ``real_*`` tests use the
shared data and are skipped without it."""

import io
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest
from PIL import Image

from cs231n.core.config import data_path
from cs231n.data_utils import (
    UnsafePickleError,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
    load_imagenet_classes,
    load_imagenet_sample,
    load_imagenet_val,
    load_models,
    load_pickle,
    load_tiny_imagenet,
)


def write_val_npz(path, n=4, size=32, label_map=None):
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
    (tmp_path / "imagenet_val_25.npz").symlink_to(
        _real("imagenet_val_25.npz").resolve()
    )  # CS231N_DATA may be relative
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


# ---- the restricted unpickler ----


def test_load_pickle_reads_plain_data_and_arrays_of_every_protocol(tmp_path):
    value = {
        "a": np.arange(6, dtype=np.uint8).reshape(2, 3),
        b"f": np.asfortranarray(np.ones((2, 3), np.float32)),
        "o": np.array([{1: "x"}, None], dtype=object),
        "scalar": np.float32(1.5),
        "rest": [1, 2.5, 3j, None, True, (b"b", "s"), {1, 2}, frozenset([3]), bytearray(b"z")],
    }
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        got = load_pickle(io.BytesIO(pickle.dumps(value, protocol=protocol)))
        np.testing.assert_array_equal(got["a"], value["a"])
        assert got["a"].dtype == np.uint8 and got[b"f"].dtype == np.float32
        assert got["o"][0] == {1: "x"} and got["scalar"] == np.float32(1.5)
        assert got["rest"] == value["rest"]
    path = tmp_path / "v.pkl"
    path.write_bytes(pickle.dumps(value))
    assert load_pickle(path)["rest"] == value["rest"]  # a path works too


def test_load_pickle_refuses_code_and_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"data": _RunsCode()}, protocol=2))
    with open(path, "rb") as f, pytest.raises(UnsafePickleError) as info:
        load_pickle(f)
    message = str(info.value)
    assert str(path) in message and ("posix.system" in message or "os.system" in message)
    assert "refused" in message
    with pytest.raises(pickle.UnpicklingError, match="evil.pkl: refused"):
        load_pickle(path)  # a path, and caught as the course's pickle.UnpicklingError
    # A class instance is refused as well: only plain data and numpy arrays are admitted.
    with pytest.raises(UnsafePickleError, match="collections.OrderedDict"):
        load_pickle(io.BytesIO(pickle.dumps(OrderedDict(a=1))))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x80\x02}q\x00(X",
        b"not a pickle at all",
        b"\x80\x02K",
        # Length fields claiming 2**60 bytes (BINBYTES8, BINUNICODE8, BYTEARRAY8): a bare
        # MemoryError before (issue #19 d).
        b"\x80\x04\x8e" + (2**60).to_bytes(8, "little") + b"abc",
        b"\x80\x04\x8d" + (2**60).to_bytes(8, "little") + b"abc",
        b"\x80\x05\x96" + (2**60).to_bytes(8, "little") + b"abc",
    ],
)
def test_load_pickle_unreadable_names_the_file(tmp_path, content):
    path = tmp_path / "broken.pkl"
    path.write_bytes(content)
    with open(path, "rb") as f, pytest.raises(pickle.UnpicklingError) as info:
        load_pickle(f)
    assert str(path) in str(info.value) and "not a readable pickle" in str(info.value)
    assert not isinstance(info.value, UnsafePickleError)


# ---- CIFAR-10 ----


def py2_pickle(obj) -> bytes:
    """``obj`` as Python 2's cPickle writes it with protocol 2 (the CIFAR-10 batches): str and
    bytes as 8-bit BINSTRINGs, arrays through numpy.core.multiarray._reconstruct."""
    out = [b"\x80\x02"]

    def emit(o):
        if o is None:
            out.append(b"N")
        elif isinstance(o, bool):
            out.append(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            out.append(b"J" + struct.pack("<i", o))
        elif isinstance(o, str | bytes):
            raw = o.encode("latin1") if isinstance(o, str) else o
            out.append(b"T" + struct.pack("<I", len(raw)) + raw)
        elif isinstance(o, tuple | list):
            out.append(b"(")
            for item in o:
                emit(item)
            out.append(b"t" if isinstance(o, tuple) else b"l")
        elif isinstance(o, dict):
            out.append(b"}")
            for key, item in o.items():
                emit(key)
                emit(item)
                out.append(b"s")
        elif isinstance(o, type):
            out.append(f"c{o.__module__}\n{o.__name__}\n".encode())
        elif isinstance(o, np.ndarray | np.dtype):
            func, args, state = o.__reduce__()
            module = func.__module__.replace("numpy._core", "numpy.core")
            out.append(f"c{module}\n{func.__name__}\n".encode())
            emit(args)
            out.append(b"R")
            emit(state)
            out.append(b"b")
        else:
            raise TypeError(type(o))

    emit(obj)
    return b"".join(out) + b"."


def cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    return data, labels


def write_cifar_batch(path, data, labels, style="py3"):
    """A batch file as the real ones: a dict with data, labels, batch_label and filenames;
    "py3" pickles it with protocol 2 and bytes keys, "py2" as Python 2 wrote it."""
    names = [f"img_{i}.png" for i in range(len(labels))]
    if style == "py2":
        batch = {"batch_label": "batch", "labels": labels, "data": data, "filenames": names}
        path.write_bytes(py2_pickle(batch))
    else:
        batch = {b"batch_label": b"batch", b"labels": labels, b"data": data, b"filenames": names}
        path.write_bytes(pickle.dumps(batch, protocol=2))


def write_cifar_folder(root, n=4, style="py3"):
    """data_batch_1..5 and test_batch with n images each; returns {name: (data, labels)}."""
    root.mkdir(parents=True)
    batches = {}
    for seed, name in enumerate([f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]):
        batches[name] = cifar_batch(n, seed)
        write_cifar_batch(root / name, *batches[name], style=style)
    return batches


def as_images(data):
    """The course's layout: rows of red, green, blue 32x32 planes -> (N, 32, 32, 3)."""
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


@pytest.mark.parametrize("style", ["py3", "py2"])
def test_load_CIFAR_batch(tmp_path, style):
    data, labels = cifar_batch(5, seed=1)
    data[0, 0], data[0, 1024], data[0, 2048 + 32 * 2 + 3] = 10, 20, 30
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, data, labels, style=style)
    if style == "py2":
        assert b"_codecs" not in path.read_bytes() and b"numpy.core.multiarray" in path.read_bytes()
    X, Y = load_CIFAR_batch(path)
    assert X.shape == (5, 32, 32, 3) and X.dtype == np.float64
    assert Y.shape == (5,) and Y.dtype == np.int64 and Y.tolist() == labels
    assert X[0, 0, 0].tolist()[:2] == [10.0, 20.0] and X[0, 2, 3, 2] == 30.0
    np.testing.assert_array_equal(X, as_images(data))
    X2, _ = load_CIFAR_batch(str(path))  # the course passes str paths
    np.testing.assert_array_equal(X2, X)


def test_load_CIFAR10_concatenates_the_five_batches(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    batches = write_cifar_folder(root, n=3)
    Xtr, Ytr, Xte, Yte = load_CIFAR10(str(root))
    assert Xtr.shape == (15, 32, 32, 3) and Ytr.shape == (15,) and Xte.shape == (3, 32, 32, 3)
    train = [batches[f"data_batch_{b}"] for b in range(1, 6)]
    np.testing.assert_array_equal(Xtr, as_images(np.concatenate([d for d, _ in train])))
    assert Ytr.tolist() == sum((labels for _, labels in train), [])
    np.testing.assert_array_equal(Xte, as_images(batches["test_batch"][0]))
    assert Yte.tolist() == batches["test_batch"][1] and Ytr.dtype == Yte.dtype == np.int64


def test_get_CIFAR10_data_splits_and_subtracts_the_mean(tmp_path, monkeypatch):
    batches = write_cifar_folder(tmp_path / "cifar-10-batches-py", n=4)
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    data = get_CIFAR10_data(num_training=15, num_validation=3, num_test=2)
    assert set(data) == {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}
    shapes = {k: v.shape for k, v in data.items()}
    assert shapes == {
        "X_train": (15, 3, 32, 32), "y_train": (15,), "X_val": (3, 3, 32, 32), "y_val": (3,),
        "X_test": (2, 3, 32, 32), "y_test": (2,),
    }  # fmt: skip
    assert all(v.flags.c_contiguous for v in data.values())
    assert data["X_train"].dtype == np.float64 and data["y_train"].dtype == np.int64

    raw = np.concatenate([batches[f"data_batch_{b}"][0] for b in range(1, 6)]).astype(float)
    raw = raw.reshape(-1, 3, 32, 32)  # channels first, as returned
    labels = sum((batches[f"data_batch_{b}"][1] for b in range(1, 6)), [])
    mean = raw[:15].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], raw[:15] - mean)
    np.testing.assert_allclose(data["X_val"], raw[15:18] - mean)
    test = batches["test_batch"][0].astype(float).reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(data["X_test"], test[:2] - mean)
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-9)
    assert data["y_train"].tolist() == labels[:15] and data["y_val"].tolist() == labels[15:18]
    assert data["y_test"].tolist() == batches["test_batch"][1][:2]

    plain = get_CIFAR10_data(10, 2, 3, False, data_root=tmp_path)  # by position, as the course
    np.testing.assert_array_equal(plain["X_train"], raw[:10])
    np.testing.assert_array_equal(plain["X_test"], test[:3])


def test_get_CIFAR10_data_refuses_more_images_than_there_are(tmp_path):
    write_cifar_folder(tmp_path / "cifar-10-batches-py", n=2)
    with pytest.raises(ValueError, match="exceeds the 10 training images"):
        get_CIFAR10_data(data_root=tmp_path)  # the defaults ask for 49000 + 1000
    with pytest.raises(ValueError, match="num_test = 3 exceeds the 2 test images"):
        get_CIFAR10_data(8, 2, 3, data_root=tmp_path)
    with pytest.raises(ValueError, match="num_validation must be an int >= 0"):
        get_CIFAR10_data(8, -1, 1, data_root=tmp_path)


def test_missing_cifar_says_where_to_get_it(tmp_path):
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    with pytest.raises(FileNotFoundError) as info:
        get_CIFAR10_data(data_root=tmp_path)
    assert str(tmp_path / "cifar-10-batches-py") in str(info.value) and url in str(info.value)
    root = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(root, n=1)
    (root / "data_batch_3").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"missing CIFAR-10 batch file\(s\) \['data_batch_3'\]"
    ):
        load_CIFAR10(root)
    with pytest.raises(FileNotFoundError, match=f"{root / 'data_batch_3'}.*cifar-10-python"):
        load_CIFAR_batch(root / "data_batch_3")


def test_a_cifar_batch_carrying_code_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _RunsCode(), b"labels": [0]}, protocol=2))
    with pytest.raises(UnsafePickleError, match=f"{path}: refused .*(posix|os).system"):
        load_CIFAR_batch(path)
    assert not (tmp_path / "pwned").exists()


def test_a_truncated_cifar_batch_is_named(tmp_path):
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, *cifar_batch(3, seed=0))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(pickle.UnpicklingError, match=f"{path}: not a readable pickle"):
        load_CIFAR_batch(path)


@pytest.mark.parametrize(
    "batch, message",
    [
        ([1, 2], "not a CIFAR-10 batch .*got list"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "not a CIFAR-10 batch .*keys"),
        ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, r"\(N, 3072\) uint8"),
        ({b"data": np.zeros(3072, np.uint8), b"labels": [0]}, r"\(N, 3072\) uint8"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, r"got \(2, 3072\) float32"),
        ({b"data": np.full((1, 3072), 300, np.int16), b"labels": [0]}, "values must be in 0..255"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "must be 2 ints"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]}, "must be 2 ints"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"in 0..9, found 0..10"),
    ],
)
def test_a_malformed_cifar_batch_is_named(tmp_path, batch, message):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=message) as info:
        load_CIFAR_batch(path)
    assert str(path) in str(info.value)


def test_real_cifar10():
    root = _real("cifar-10-batches-py")
    X, Y = load_CIFAR_batch(root / "test_batch")
    assert X.shape == (10000, 32, 32, 3) and Y.shape == (10000,)
    assert 0 <= X.min() and X.max() <= 255 and set(Y.tolist()) == set(range(10))


# ---- Tiny ImageNet ----


def save_image(path, value, size=64, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size), value).save(path, format="JPEG", quality=100)


TINY_TRAIN = {  # wnid: [(file, colour)], one grayscale image (Tiny ImageNet has some)
    "n01": [("n01_0.JPEG", (200, 10, 10)), ("n01_1.JPEG", 100)],
    "n02": [("n02_0.JPEG", (10, 10, 200))],
}


def write_tiny_imagenet(root, test_labels=False):
    root.mkdir()
    (root / "wnids.txt").write_text("n02\nn01\n")  # label order: n02 is 0
    (root / "words.txt").write_text("n00\tentity\nn01\tcat, kitty\nn02\tship\nn03\tother\n")
    for wnid, images in TINY_TRAIN.items():
        rows = [f"{name}\t0\t0\t63\t63\n" for name, _ in images]
        (root / "train" / wnid).mkdir(parents=True)
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(rows))
        for name, colour in images:
            mode = "L" if isinstance(colour, int) else "RGB"
            save_image(root / "train" / wnid / "images" / name, colour, mode=mode)
    save_image(root / "val" / "images" / "val_0.JPEG", (0, 250, 0))
    save_image(root / "val" / "images" / "val_1.JPEG", 30, mode="L")
    (root / "val" / "val_annotations.txt").write_text(
        "val_0.JPEG\tn01\t1\t2\t3\t4\nval_1.JPEG\tn02\t1\t2\t3\t4\n"
    )
    save_image(root / "test" / "images" / "test_1.JPEG", (50, 60, 70))
    save_image(root / "test" / "images" / "test_0.JPEG", (70, 60, 50))
    if test_labels:
        (root / "test" / "test_annotations.txt").write_text(
            "test_0.JPEG\tn01\t0\t0\t1\t1\ntest_1.JPEG\tn02\t0\t0\t1\t1\n"
        )
    return root


def test_load_tiny_imagenet_without_mean_subtraction(tmp_path):
    root = write_tiny_imagenet(tmp_path / "tiny-imagenet-200")
    data = load_tiny_imagenet(str(root), subtract_mean=False)
    assert set(data) == {
        "class_names", "X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "mean_image",
    }  # fmt: skip
    assert data["class_names"] == [["ship"], ["cat", "kitty"]]
    assert data["X_train"].shape == (3, 3, 64, 64) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (2, 3, 64, 64) and data["X_test"].shape == (2, 3, 64, 64)
    assert data["y_train"].tolist() == [0, 1, 1] and data["y_train"].dtype == np.int64
    assert data["y_val"].tolist() == [1, 0] and data["y_test"] is None
    # wnids.txt order: n02 (blue) first, then n01's red and grayscale images.
    centre = data["X_train"][:, :, 32, 32]
    np.testing.assert_allclose(centre, [[10, 10, 200], [200, 10, 10], [100, 100, 100]], atol=3)
    gray = data["X_train"][2]
    assert (gray[0] == gray[1]).all() and (gray[1] == gray[2]).all()  # repeated channels
    assert (data["X_val"][1] == data["X_val"][1][0]).all()
    # Test images in file-name order: test_0 then test_1.
    np.testing.assert_allclose(data["X_test"][:, :, 5, 5], [[70, 60, 50], [50, 60, 70]], atol=3)
    np.testing.assert_allclose(data["mean_image"], data["X_train"].mean(axis=0), rtol=1e-6)
    assert data["mean_image"].shape == (3, 64, 64)


def test_load_tiny_imagenet_subtracts_the_mean_and_reads_test_labels(tmp_path):
    root = write_tiny_imagenet(tmp_path / "tiny", test_labels=True)
    raw = load_tiny_imagenet(root, dtype=np.float64, subtract_mean=False)
    data = load_tiny_imagenet(root, np.float64, True)
    assert data["X_train"].dtype == np.float64 and data["y_test"].tolist() == [1, 0]
    np.testing.assert_allclose(data["mean_image"], raw["X_train"].mean(axis=0))
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-9)
    for key in ("X_train", "X_val", "X_test"):
        np.testing.assert_allclose(data[key], raw[key] - raw["mean_image"])
    pixels = load_tiny_imagenet(root, dtype=np.uint8, subtract_mean=False)
    assert pixels["X_train"].dtype == np.uint8
    with pytest.raises(ValueError, match="subtract_mean needs a floating dtype"):
        load_tiny_imagenet(root, dtype=np.uint8)


def test_tiny_imagenet_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="tiny-imagenet-200.zip"):
        load_tiny_imagenet(tmp_path / "absent")
    root = write_tiny_imagenet(tmp_path / "tiny")
    image = root / "train" / "n01" / "images" / "n01_0.JPEG"

    image.write_bytes(image.read_bytes()[:100])  # truncated JPEG
    with pytest.raises(ValueError, match=f"{image}: not a readable image"):
        load_tiny_imagenet(root)
    save_image(image, (1, 2, 3), size=32)
    with pytest.raises(ValueError, match=f"{image}: Tiny ImageNet images are 64x64, got 32x32"):
        load_tiny_imagenet(root)
    image.unlink()
    with pytest.raises(FileNotFoundError, match=str(image)):
        load_tiny_imagenet(root)
    save_image(image, (1, 2, 3))

    annotations = root / "val" / "val_annotations.txt"
    annotations.write_text("val_0.JPEG\tn09\t0\t0\t1\t1\n")
    with pytest.raises(ValueError, match=r"val_annotations.txt: class id\(s\) \['n09'\]"):
        load_tiny_imagenet(root)
    annotations.write_text("val_0.JPEG n01\n")
    with pytest.raises(ValueError, match="val_annotations.txt: line 1 has 1 tab-separated"):
        load_tiny_imagenet(root)
    annotations.write_text("val_0.JPEG\tn01\n")

    (root / "words.txt").write_text("n01\tcat\n")
    with pytest.raises(ValueError, match=r"words.txt: no names for class\(es\) \['n02'\]"):
        load_tiny_imagenet(root)
    (root / "train" / "n02" / "n02_boxes.txt").unlink()
    (root / "words.txt").write_text("n01\tcat\nn02\tship\n")
    with pytest.raises(FileNotFoundError, match="n02_boxes.txt"):
        load_tiny_imagenet(root)


# ---- saved models ----


def test_load_models_reads_every_model_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "models"
    folder.mkdir()
    W = np.arange(4.0).reshape(2, 2)
    (folder / "a.pkl").write_bytes(pickle.dumps({"model": {"W1": W}, "acc": 0.5}))
    (folder / "b").write_bytes(py2_pickle({"model": {"W1": W * 2}}))
    (folder / "README.txt").write_text("These files are models.\n")
    (folder / "sub").mkdir()
    (folder / "evil.pkl").write_bytes(pickle.dumps({"model": _RunsCode()}))
    with pytest.warns(UserWarning, match="evil.pkl: refused .*system"):
        models = load_models(str(folder))
    assert sorted(models) == ["a.pkl", "b"]
    np.testing.assert_array_equal(models["a.pkl"]["W1"], W)
    np.testing.assert_array_equal(models["b"]["W1"], W * 2)
    assert not (tmp_path / "pwned").exists()


def test_load_models_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent"):
        load_models(tmp_path / "absent")
    (tmp_path / "w.pkl").write_bytes(pickle.dumps({"weights": 1}))
    with pytest.raises(ValueError, match="w.pkl: expected a pickled dict with a 'model' entry"):
        load_models(tmp_path)


def test_load_imagenet_val_refuses_images_too_small_for_squeezenet(tmp_path):
    write_val_npz(tmp_path / "imagenet_val_25.npz", size=8)
    with pytest.raises(ValueError, match="its images are 8x8 pixels, too small for SqueezeNet"):
        load_imagenet_val(data_root=tmp_path)


def test_class_names_and_sample_table_that_are_not_utf8_are_named(tmp_path):
    from cs231n.data_utils import load_imagenet_classes, load_imagenet_sample

    (tmp_path / "imagenet_classes.txt").write_bytes(b"tench\n\x80goldfish\n")
    with pytest.raises(ValueError, match="imagenet_classes.txt: not a UTF-8 list of class names"):
        load_imagenet_classes(data_root=tmp_path)
    (tmp_path / "imagenet_sample").mkdir()
    (tmp_path / "imagenet_sample" / "labels.tsv").write_bytes(b"file\tlabel\n\xe9.jpg\t1\n")
    with pytest.raises(ValueError, match="labels.tsv: not a UTF-8 table"):
        load_imagenet_sample(data_root=tmp_path)
