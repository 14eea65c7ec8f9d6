"""TensorFlow 1's MNIST reader, ``tensorflow.examples.tutorials.mnist.input_data``, over the
project's IDX reader (:mod:`cs231n.data.mnist`), for the course's 2017 GAN notebook.

TensorFlow 2 no longer ships ``tensorflow.examples``; the notebook's one import becomes
``from cs231n.data import input_data`` and the rest runs as written::

    mnist = input_data.read_data_sets('./cs231n/datasets/MNIST_data', one_hot=False)
    images, labels = mnist.train.next_batch(16)
    mnist.train.num_examples  # 55000

The interface and results are TensorFlow's: :func:`read_data_sets` returns ``Datasets(train,
validation, test)``; the first ``validation_size`` (5000) training images are the validation set;
images are (N, 784) float32 in [0, 1] (``reshape=False``: (N, 28, 28, 1); ``dtype=uint8``:
0..255), labels uint8 or, with ``one_hot``, (N, 10) float64; :meth:`DataSet.next_batch` shuffles
at the start of every epoch and fills the epoch's last batch from the next one.

Differences, on purpose: nothing is downloaded. The four IDX files (gzipped or not) are read from
``train_dir`` when it holds them, else from the project's MNIST folder (``$CS231N_DATA/mnist``,
which ``cs231n data download mnist`` fills from the official mirrors with pinned checksums); any
folder of MNIST-format files works, e.g. Fashion-MNIST's. Shuffling draws from NumPy's global
random state, as TensorFlow's did, but a ``seed`` gives the data set a generator of its own
instead of reseeding NumPy's.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np

from .mnist import FILES, _find, dataset_dir, read_idx

NUM_CLASSES = 10
DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # TensorFlow's

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


def dense_to_one_hot(labels_dense, num_classes=NUM_CLASSES):
    """Class indices (N,) -> one-hot rows (N, num_classes), float64 as TensorFlow's."""
    labels_dense = np.asarray(labels_dense).reshape(-1)
    one_hot = np.zeros((labels_dense.shape[0], num_classes))
    one_hot[np.arange(labels_dense.shape[0]), labels_dense] = 1
    return one_hot


def _numpy_dtype(dtype):
    """np.uint8 or np.float32 from a NumPy dtype, its name or a ``tf.DType``."""
    try:
        dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError:
        dtype = None
    if dtype not in (np.dtype(np.uint8), np.dtype(np.float32)):
        raise TypeError(f"Invalid image dtype {dtype!r}, expected uint8 or float32")
    return dtype


class DataSet:
    """One split: ``images``, ``labels``, ``num_examples``, ``epochs_completed`` and
    :meth:`next_batch`, as TensorFlow's ``DataSet``.

    images: (N, 28, 28, 1) (or (N, 28, 28)) uint8 from the IDX file; labels: (N,) or one-hot.
    ``dtype=float32`` scales the images to [0, 1] (``images * (1 / 255)``, as TensorFlow);
    ``reshape`` flattens them to (N, 784). ``fake_data`` makes a stand-in of 10000 examples
    whose batches are images of ones (TensorFlow's test aid).
    """

    def __init__(
        self,
        images,
        labels,
        fake_data=False,
        one_hot=False,
        dtype=np.float32,
        reshape=True,
        seed=None,
    ):
        dtype = _numpy_dtype(dtype)
        self._rng = np.random if seed is None else np.random.RandomState(seed)
        self.one_hot = one_hot
        if fake_data:
            self._num_examples = 10000
        else:
            images, labels = np.asarray(images), np.asarray(labels)
            if images.shape[0] != labels.shape[0]:
                raise ValueError(f"images.shape: {images.shape} labels.shape: {labels.shape}")
            self._num_examples = images.shape[0]
            if reshape:
                if images.ndim == 4 and images.shape[3] != 1:
                    raise ValueError(f"reshape needs one channel, images are {images.shape}")
                images = images.reshape(images.shape[0], int(np.prod(images.shape[1:])))
            if dtype == np.float32:
                images = images.astype(np.float32) * np.float32(1.0 / 255.0)
        self._images = images
        self._labels = labels
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @property
    def images(self):
        return self._images

    @property
    def labels(self):
        return self._labels

    @property
    def num_examples(self):
        return self._num_examples

    @property
    def epochs_completed(self):
        return self._epochs_completed

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """The next ``batch_size`` examples ``(images, labels)``. With ``shuffle``, the order is
        redrawn before the first batch and at every epoch's end; a batch that crosses the end
        of an epoch takes its last examples and the next epoch's first ones."""
        if fake_data:
            fake_image = [1] * 784
            fake_label = [1] + [0] * 9 if self.one_hot else 0
            return (
                [fake_image for _ in range(batch_size)],
                [fake_label for _ in range(batch_size)],
            )
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size > self._num_examples:
            self._epochs_completed += 1
            rest = self._num_examples - start
            images_rest = self._images[start : self._num_examples]
            labels_rest = self._labels[start : self._num_examples]
            if shuffle:
                self._shuffle()
            self._index_in_epoch = batch_size - rest
            end = self._index_in_epoch
            return (
                np.concatenate((images_rest, self._images[:end]), axis=0),
                np.concatenate((labels_rest, self._labels[:end]), axis=0),
            )
        self._index_in_epoch += batch_size
        end = self._index_in_epoch
        return self._images[start:end], self._labels[start:end]

    def _shuffle(self):
        perm = np.arange(self._num_examples)
        self._rng.shuffle(perm)
        self._images = self._images[perm]
        self._labels = self._labels[perm]


def _folder(train_dir) -> Path:
    """``train_dir`` when it holds the four IDX files, else the project's MNIST folder."""
    folder = Path(train_dir)
    stems = [stem for pair in FILES.values() for stem in pair]
    try:
        for stem in stems:
            _find(folder, stem)
        return folder
    except FileNotFoundError:
        pass
    try:
        fallback = dataset_dir("mnist")
        for stem in stems:
            _find(fallback, stem)
        return fallback
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no MNIST IDX files ({', '.join(stems)}, gzipped or not) in {folder} or in the "
            "project's MNIST folder; TensorFlow's reader downloaded them, this one does not: "
            f"run `cs231n data download mnist`, or put the four files in {folder}"
        ) from None


def read_data_sets(
    train_dir,
    fake_data=False,
    one_hot=False,
    dtype=np.float32,
    reshape=True,
    validation_size=5000,
    seed=None,
    source_url=DEFAULT_SOURCE_URL,
):
    """``Datasets(train, validation, test)`` of MNIST-format data, TensorFlow 1's way.

    train_dir: a folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each may end in ``.gz``); when it
    lacks them, the project's MNIST folder is read (see the module's docstring). The first
    ``validation_size`` training examples are the validation set, the rest the training set
    (55000 and 5000 for MNIST). ``source_url`` is accepted for compatibility; nothing is
    downloaded. Raises FileNotFoundError naming the command that fetches MNIST, ValueError for
    a ``validation_size`` outside [0, number of training images] or a damaged file.
    """
    del source_url  # nothing is downloaded (the module's docstring)
    options = dict(one_hot=one_hot, dtype=dtype, reshape=reshape, seed=seed)
    if fake_data:

        def fake():
            return DataSet([], [], fake_data=True, **options)

        return Datasets(train=fake(), validation=fake(), test=fake())

    folder = _folder(train_dir)
    splits = {}
    for split, (images_stem, labels_stem) in FILES.items():
        images = read_idx(_find(folder, images_stem))
        labels = read_idx(_find(folder, labels_stem))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{folder}: {split} images {images.shape} and labels {labels.shape} do not match"
            )
        if one_hot:
            labels = dense_to_one_hot(labels, NUM_CLASSES)
        splits[split] = (images[..., None], labels)  # (N, 28, 28, 1), as TensorFlow's reader
    train_images, train_labels = splits["train"]
    if not 0 <= validation_size <= len(train_images):
        raise ValueError(
            f"Validation size should be between 0 and {len(train_images)}. Received: "
            f"{validation_size}."
        )
    return Datasets(
        train=DataSet(train_images[validation_size:], train_labels[validation_size:], **options),
        validation=DataSet(
            train_images[:validation_size], train_labels[:validation_size], **options
        ),
        test=DataSet(*splits["test"], **options),
    )
