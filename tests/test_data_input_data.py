"""cs231n.data.input_data: TensorFlow 1's ``read_data_sets`` interface over the IDX reader (the
2017 GAN notebook's MNIST), on small IDX files; on Debian's Fashion-MNIST when installed."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from cs231n.data import input_data
from cs231n.data.mnist import DEBIAN_DIRS, load_mnist


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = header + np.asarray(array, np.uint8).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def fake_mnist(folder, n_train=30, n_test=7, gz=True):
    """The four MNIST files with random pixels; returns {split: (images, labels)}."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    arrays = {}
    for stem, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{stem}-images-idx3-ubyte{ext}", images)
        write_idx(folder / f"{stem}-labels-idx1-ubyte{ext}", labels)
        arrays[stem] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_splits_dtypes_and_shapes_are_tensorflows(tmp_path, gz):
    arrays = fake_mnist(tmp_path / "MNIST_data", gz=gz)
    train_images, train_labels = arrays["train"]
    mnist = input_data.read_data_sets(str(tmp_path / "MNIST_data"), validation_size=5)
    assert isinstance(mnist, input_data.Datasets)
    assert (mnist.train.num_examples, mnist.validation.num_examples) == (25, 5)
    assert mnist.test.num_examples == 7
    assert mnist.train.images.shape == (25, 784) and mnist.train.images.dtype == np.float32
    expected = train_images[5:].reshape(25, 784).astype(np.float32) * np.float32(1 / 255)
    np.testing.assert_array_equal(mnist.train.images, expected)  # TensorFlow's scaling
    np.testing.assert_array_equal(mnist.validation.labels, train_labels[:5])  # the first ones
    assert mnist.train.labels.dtype == np.uint8 and mnist.train.epochs_completed == 0

    raw = input_data.read_data_sets(
        tmp_path / "MNIST_data", dtype=np.uint8, reshape=False, validation_size=5
    )
    assert raw.train.images.shape == (25, 28, 28, 1) and raw.train.images.dtype == np.uint8
    np.testing.assert_array_equal(raw.test.images[..., 0], arrays["t10k"][0])

    hot = input_data.read_data_sets(tmp_path / "MNIST_data", one_hot=True, validation_size=0)
    assert hot.train.labels.shape == (30, 10) and hot.train.labels.dtype == np.float64
    np.testing.assert_array_equal(hot.train.labels.argmax(1), train_labels)
    assert (hot.train.labels.sum(1) == 1).all() and hot.validation.num_examples == 0


def test_next_batch_walks_epochs_as_tensorflow(tmp_path):
    fake_mnist(tmp_path)
    train = input_data.read_data_sets(tmp_path, validation_size=20, dtype="uint8").train
    labels = train.labels.copy()
    batches = [train.next_batch(4, shuffle=False) for _ in range(3)]  # 10 examples: 4, 4, 2+2
    np.testing.assert_array_equal(batches[0][1], labels[:4])
    np.testing.assert_array_equal(batches[2][1], np.concatenate([labels[8:], labels[:2]]))
    assert batches[2][0].shape == (4, 784) and train.epochs_completed == 1

    def epoch_order(seed):
        data = input_data.read_data_sets(tmp_path, validation_size=20, dtype="uint8", seed=seed)
        data = data.train
        images = np.concatenate([data.next_batch(5)[0] for _ in range(4)])
        return images, data.epochs_completed

    (first, epochs), (again, _) = epoch_order(3), epoch_order(3)
    np.testing.assert_array_equal(first, again)  # a seed: the same order
    assert epochs == 1
    order = [np.flatnonzero((train.images == row).all(1))[0] for row in first[:10]]
    assert sorted(order) == list(range(10)) != order  # shuffled: every example once an epoch


def test_shuffling_follows_numpys_global_seed(tmp_path):
    fake_mnist(tmp_path)

    def first_batch():
        np.random.seed(0)
        return input_data.read_data_sets(tmp_path, validation_size=0).train.next_batch(8)[1]

    np.testing.assert_array_equal(first_batch(), first_batch())


def test_reads_the_projects_mnist_folder_when_train_dir_is_empty(tmp_path, monkeypatch):
    fake_mnist(tmp_path / "data" / "mnist")
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "data"))
    mnist = input_data.read_data_sets("./cs231n/datasets/MNIST_data", validation_size=5)
    assert mnist.train.num_examples == 25


def test_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="cs231n data download mnist"):
        input_data.read_data_sets(tmp_path / "MNIST_data")
    fake_mnist(tmp_path / "MNIST_data")
    with pytest.raises(ValueError, match="Validation size should be between 0 and 30"):
        input_data.read_data_sets(tmp_path / "MNIST_data", validation_size=31)
    with pytest.raises(TypeError, match="expected uint8 or float32"):
        input_data.read_data_sets(tmp_path / "MNIST_data", dtype=np.float64, validation_size=5)


def test_tensorflow_dtypes_and_fake_data(tmp_path):
    class FakeTFDType:  # what tf.float32 offers read_data_sets
        as_numpy_dtype = np.float32

    fake_mnist(tmp_path)
    mnist = input_data.read_data_sets(tmp_path, dtype=FakeTFDType(), validation_size=5)
    assert mnist.train.images.dtype == np.float32 and mnist.train.images.max() <= 1
    fake = input_data.read_data_sets("unused", fake_data=True, one_hot=True)
    images, labels = fake.train.next_batch(3, fake_data=True)
    assert len(images) == 3 and len(images[0]) == 784 and labels[0] == [1] + [0] * 9
    assert fake.test.num_examples == 10000


@pytest.mark.skipif(
    not Path(DEBIAN_DIRS["fashion-mnist"]).is_dir(), reason="needs dataset-fashion-mnist"
)
def test_fashion_mnist_as_tensorflow_splits_it():
    folder = DEBIAN_DIRS["fashion-mnist"]
    mnist = input_data.read_data_sets(str(folder), dtype=np.uint8)
    assert [d.num_examples for d in mnist] == [55000, 5000, 10000]
    images, labels = load_mnist(str(folder), "train-all")
    np.testing.assert_array_equal(mnist.train.images, images[5000:].reshape(-1, 784))
    np.testing.assert_array_equal(mnist.validation.labels, labels[:5000])
