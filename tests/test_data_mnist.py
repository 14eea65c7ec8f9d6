"""The IDX reader and MNIST-format loaders."""

import gzip

import numpy as np
import pytest

from cs231n.data.mnist import DEBIAN_DIRS, load_mnist, read_idx, torch_dataset


def write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def fake_mnist(folder, n_train=12, n_test=5, gz=True):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{stem}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{stem}-labels-idx1-ubyte{ext}", rng.integers(0, 10, n))
    return folder


@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_read_idx_round_trip(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / name, array)), array)


def test_read_idx_errors_name_the_file(tmp_path):
    good = write_idx(tmp_path / "good", np.zeros((3, 4), np.uint8))
    truncated = tmp_path / "truncated"
    truncated.write_bytes(good.read_bytes()[:-2])
    with pytest.raises(
        ValueError,
        match=r"truncated: .* declares shape \(3, 4\) \(12 bytes\) but the file holds 10",
    ):
        read_idx(truncated)
    bad_magic = tmp_path / "bad_magic"
    bad_magic.write_bytes(b"\x01\x02\x08\x01" + good.read_bytes()[4:])
    with pytest.raises(ValueError, match="bad_magic: not an IDX file"):
        read_idx(bad_magic)
    with pytest.raises(ValueError, match="not unsigned bytes"):
        read_idx(write_idx(tmp_path / "int32", np.zeros(2, np.uint8), magic_type=0x0C))
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(ValueError, match="corrupt.gz: not a readable IDX file"):
        read_idx(corrupt)
    with pytest.raises(FileNotFoundError, match="missing"):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_a_folder(tmp_path, gz):
    folder = fake_mnist(tmp_path / "data", gz=gz)
    images, labels = load_mnist(str(folder), "train-all")
    assert images.shape == (12, 28, 28) and labels.shape == (12,) and images.dtype == np.uint8
    assert load_mnist(str(folder), "test")[0].shape == (5, 28, 28)
    dataset = torch_dataset(images, labels)
    x, y = dataset[0]
    assert x.shape == (1, 28, 28) and 0 <= x.min() and x.max() <= 1 and int(y) == labels[0]


def test_data_dir_setting_is_used(tmp_path, monkeypatch):
    fake_mnist(tmp_path / "fashion-mnist")
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    assert load_mnist("fashion-mnist", "test")[0].shape == (5, 28, 28)


def test_mismatched_images_and_labels(tmp_path):
    folder = fake_mnist(tmp_path / "d")
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"images \(5, 28, 28\) and labels \(4,\) do not match"):
        load_mnist(str(folder), "test")


def test_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="download the four IDX files"):
        load_mnist("mnist")
    with pytest.raises(ValueError, match="split must be"):
        load_mnist(str(fake_mnist(tmp_path / "x")), "validation")


@pytest.mark.skipif(
    not DEBIAN_DIRS["fashion-mnist"].is_dir(), reason="dataset-fashion-mnist not installed"
)
def test_real_fashion_mnist_split(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))  # nothing there: Debian's copy is used
    train, train_labels = load_mnist("fashion-mnist", "train")
    val, _ = load_mnist("fashion-mnist", "val")
    all_images, _ = load_mnist("fashion-mnist", "train-all")
    assert train.shape == (50000, 28, 28) and val.shape == (5000, 28, 28)
    np.testing.assert_array_equal(val, all_images[50000:55000])
    assert set(np.unique(train_labels)) == set(range(10))
    assert load_mnist("fashion-mnist", "test")[0].shape == (10000, 28, 28)


def test_fetch_mnist_from_a_local_mirror(tmp_path, monkeypatch):
    import dataclasses
    import hashlib

    from local_server import serving

    from cs231n.cli import main
    from cs231n.data import assets
    from cs231n.data import mnist as mnist_data

    served = fake_mnist(tmp_path / "mirror")
    files = {f"/{p.name}": p.read_bytes() for p in served.iterdir()}
    spec = assets.ASSETS["mnist"]
    pins = [
        dataclasses.replace(
            f, sha256=hashlib.sha256(files["/" + f.path.rsplit("/", 1)[-1]]).hexdigest(), size=None
        )
        for f in spec.files
    ]
    monkeypatch.setitem(assets.ASSETS, "mnist", dataclasses.replace(spec, files=tuple(pins)))
    with serving(files) as srv:
        data = tmp_path / "data"
        code = main(["data", "download", "mnist", "--url", srv.base, "--data-dir", str(data), "-q"])
        assert code == 0
        monkeypatch.setenv("CS231N_DATA", str(data))
        assert load_mnist("mnist", "train-all")[0].shape == (12, 28, 28)
        # A corrupted mirror: the SHA-256 check refuses it and nothing is kept.
        srv.files["/t10k-labels-idx1-ubyte.gz"] = b"tampered"
        (data / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
        with pytest.raises(OSError, match="sha256 of .* expected"):
            mnist_data.fetch_mnist("mnist", data, progress=False, mirrors=[srv.base + "/"])
        assert not list((data / "mnist").glob("t10k-labels-idx1-ubyte.gz*"))


def test_foreign_idx_folders_are_named(tmp_path):
    from cs231n.data.mnist import load_mnist

    folder = tmp_path / "idx32"
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (4, 32, 32)))
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, 4))
    with pytest.raises(ValueError, match="images are 32x32; the MNIST-format models need 28x28"):
        load_mnist(str(folder), "train-all")
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte", np.array([0, 3, 12, 1]))
    with pytest.raises(ValueError, match="label 12 is outside 0..9"):
        load_mnist(str(folder), "train-all")


def test_a_gz_that_is_not_gzip_and_a_gzip_bomb(tmp_path, monkeypatch):
    import gzip

    from cs231n.data import mnist as mnist_data

    fake = tmp_path / "train-images-idx3-ubyte.gz"
    fake.write_bytes(b"\x00\x00\x08\x03 not gzip at all")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz: not a readable IDX file"):
        read_idx(fake)
    # A gzip header followed by a body that does not inflate: zlib.error before (issue #19 d).
    garbage = tmp_path / "t10k-labels-idx1-ubyte.gz"
    garbage.write_bytes(gzip.compress(b"\0\0\x08\x01" + b"\0" * 100)[:10] + b"\xff" * 64)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: not a readable IDX file"):
        read_idx(garbage)
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 2000))
    monkeypatch.setattr(mnist_data, "MAX_IDX_BYTES", 1000)
    with pytest.raises(ValueError, match="bomb.gz: more than 1000 bytes"):
        read_idx(bomb)
