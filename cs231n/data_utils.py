"""Loaders for the course's data sets: ImageNet samples for the PyTorch parts, and the course's
CIFAR-10, Tiny ImageNet and saved-model loaders (found through the data directory).

Every pickle is read by one restricted unpickler that admits plain data and numpy arrays only,
so a file from the internet cannot run code when it is loaded.
"""

from __future__ import annotations

import os
import pickle
import platform  # noqa: F401  (the course's module imports it: its star-import gives it)
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .core.config import data_path
from .core.files import read_text


def load_imagenet_classes(data_root=None) -> list[str] | None:
    """The 1000 ImageNet class names in index order from ``imagenet_classes.txt``, or None."""
    path = data_path("imagenet_classes.txt", data_root=data_root)
    if not path.is_file():
        return None
    names = [line.strip() for line in read_text(path, "list of class names").splitlines()]
    names = [name for name in names if name]
    if len(names) != 1000:
        raise ValueError(f"{path}: expected 1000 class names, found {len(names)}")
    return names


def load_imagenet_val(num=None, path=None, data_root=None):
    """``(X, y, class_names)`` from the course's ``imagenet_val_25.npz``.

    X: (N, 224, 224, 3) uint8, y: (N,) int, class_names: {index: name} for all 1000 classes
    (from ``imagenet_classes.txt`` when present: the file's own label map lacks index 134).
    """
    path = Path(path) if path is not None else data_path("imagenet_val_25.npz", data_root=data_root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: it is the course's imagenet_val_25.npz "
            "(http://cs231n.stanford.edu/imagenet_val_25.npz); put it in the data directory"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            for key in ("X", "y", "label_map"):
                if key not in f.files:
                    raise KeyError(f"{path}: missing array {key!r}")
            X, y = f["X"], f["y"]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    if X.ndim != 4 or X.shape[-1] != 3 or X.dtype != np.uint8 or min(X.shape[1:3], default=0) < 1:
        raise ValueError(f"{path}: X must be (N, H, W, 3) uint8 images, got {X.shape} {X.dtype}")
    if (
        y.shape != (len(X),)
        or y.dtype.kind not in "iu"
        or (y.size and not 0 <= y.min() <= y.max() < 1000)
    ):
        raise ValueError(
            f"{path}: y must be {len(X)} integer ImageNet labels in [0, 1000), got shape {y.shape} "
            f"{y.dtype}"
            + (f" from {y.min()} to {y.max()}" if y.size and y.dtype.kind in "iu" else "")
        )
    label_map = read_label_map(path)
    if min(X.shape[1:3]) < 32:  # SqueezeNet's pooling leaves nothing of smaller images
        raise ValueError(
            f"{path}: its images are {X.shape[2]}x{X.shape[1]} pixels, too small for SqueezeNet "
            "(at least 32; the course's are 224x224)"
        )
    if num is not None:
        X, y = X[:num], y[:num]
    names = load_imagenet_classes(data_root)
    class_names = dict(enumerate(names)) if names else dict(label_map)
    return X, y, class_names


# ---- pickles: plain data and numpy arrays only ----

_NUMPY_ARRAY_GLOBALS = {
    (module, name)
    for package in ("numpy.core", "numpy._core")  # numpy 1 writes numpy.core, numpy 2 numpy._core
    for module, name in (
        (f"{package}.multiarray", "_reconstruct"),
        (f"{package}.multiarray", "scalar"),
        (f"{package}.numeric", "_frombuffer"),  # arrays pickled with protocol 5
    )
} | {("numpy", "ndarray"), ("numpy", "dtype")}

# Protocol 2 names the builtins module as Python 2 did (__builtin__).
_CONTAINER_GLOBALS = {
    (module, name)
    for module in ("builtins", "__builtin__")
    for name in ("set", "frozenset", "bytearray", "complex")
}

# _codecs.encode: how protocols 0-2 written by Python 3 store bytes (a pure conversion).
SAFE_PICKLE_GLOBALS = frozenset(_NUMPY_ARRAY_GLOBALS | _CONTAINER_GLOBALS | {("_codecs", "encode")})


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle refers to something other than plain data or numpy arrays; nothing of it ran."""


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, tuples, sets, str, bytes, numbers and numpy arrays, and nothing
    else: every other global a pickle names (a function to call, a class to build) is refused
    before it is looked up, so a crafted file cannot run code.

    ``encoding="latin1"`` reads Python 2 pickles (the CIFAR-10 batches) as the course does: their
    8-bit strings become str, which numpy accepts for its array data.
    """

    def __init__(self, file, source=None):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module, name):
        if (module, name) not in SAFE_PICKLE_GLOBALS:
            where = f"{self.source}: " if self.source else ""
            raise UnsafePickleError(
                f"{where}refused to unpickle: the pickle may not refer to {module}.{name} (only "
                "plain containers, str, bytes, numbers and numpy arrays are admitted, so that a "
                "file cannot run code)"
            )
        return super().find_class(module, name)


def load_pickle(f):
    """The object pickled in ``f``, read without running any code the file may carry.

    f: a binary file object (as in the course), or a path. Python 2 pickles are read with
    ``encoding="latin1"``, as the course does. Only plain containers (dict, list, tuple, set),
    str, bytes, numbers and numpy arrays are admitted.

    Raises UnsafePickleError (a pickle.UnpicklingError) naming the file when the pickle refers
    to anything else (a function such as os.system, a class), and pickle.UnpicklingError naming
    the file when it is not a readable pickle (truncated, corrupt, not a pickle).

    Course: ``data_utils.load_pickle`` (2018-2020), there an unrestricted ``pickle.load``.
    """
    if isinstance(f, str | os.PathLike):
        with open(f, "rb") as file:
            return load_pickle(file)
    source = getattr(f, "name", None) or "the pickle"
    try:
        return _SafeUnpickler(f, source).load()
    except UnsafePickleError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OverflowError,
    ) as e:
        raise pickle.UnpicklingError(
            f"{source}: not a readable pickle ({type(e).__name__}: {e})"
        ) from None
    except MemoryError:  # a length field claiming more than memory holds (2**60 bytes...)
        raise pickle.UnpicklingError(
            f"{source}: not a readable pickle (it claims an object larger than this machine's "
            "memory: corrupt or hostile)"
        ) from None


def read_label_map(path) -> dict[int, str]:
    """``label_map`` of an ``imagenet_val_25.npz`` (a pickled dict in an object array) as
    {int: str}, read without running any code the file might carry (np.load's
    ``allow_pickle=True`` would run it). ValueError when it is anything else."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf, zf.open("label_map.npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            _, _, dtype = read_header(f)
            if dtype.kind != "O":
                raise ValueError(f"dtype {dtype}, expected a pickled dict")
            value = _SafeUnpickler(f).load()
    except (pickle.UnpicklingError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: label_map is not a dict of class names ({e})") from None
    value = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    if not isinstance(value, dict) or not all(
        isinstance(k, int | np.integer) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{path}: label_map is not a dict of int -> str")
    return {int(k): str(v) for k, v in value.items()}


def load_imagenet_sample(data_root=None, num=None):
    """``(paths, labels)`` of the 1000-image ImageNet sample (``imagenet_sample/labels.tsv``)."""
    folder = data_path("imagenet_sample", data_root=data_root)
    table = folder / "labels.tsv"
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found (the ImageNet sample images)")
    rows = [line.split("\t") for line in read_text(table, "table").splitlines()[1:] if line.strip()]
    rows = rows[:num] if num is not None else rows
    return [folder / r[0] for r in rows], np.array([int(r[1]) for r in rows])


# ---- CIFAR-10 (the python version of the data set) ----

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_FILES = tuple(f"data_batch_{b}" for b in range(1, 6)) + ("test_batch",)
_CIFAR10_HINT = f"download {CIFAR10_URL} and unpack it: it holds cifar-10-batches-py/"


def _entry(mapping, key):
    """``mapping[key]``, also under the bytes key: Python 2 pickles give str keys when read as
    latin1, dicts pickled by Python 3 with bytes keys give bytes. TypeError for a non-dict."""
    if not isinstance(mapping, dict):
        raise TypeError(f"expected a dict, got {type(mapping).__name__}")
    for k in (key, key.encode()):
        if k in mapping:
            return mapping[k]
    raise KeyError(key)


def load_CIFAR_batch(filename):
    """One CIFAR-10 batch file (``data_batch_1`` ... ``data_batch_5``, ``test_batch``).

    The file is a pickled dict whose ``data`` is an (N, 3072) uint8 array (each row the red,
    green then blue 32x32 planes; N is 10000 in the real batches) and whose ``labels`` are N
    ints in 0..9.

    Returns ``(X, Y)``: X (N, 32, 32, 3) float64 pixel values in 0..255, Y (N,) int64 labels.
    Raises FileNotFoundError (naming the path and where to get CIFAR-10) when the file is
    missing, pickle.UnpicklingError naming it when it is corrupt or refers to code, and
    ValueError naming it when its content is not a CIFAR-10 batch.

    Course: ``data_utils.load_CIFAR_batch`` (2018-2020).
    """
    path = Path(filename)
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 batch not found: {path} ({_CIFAR10_HINT})")
    with open(path, "rb") as f:
        batch = load_pickle(f)
    try:
        data, labels = _entry(batch, "data"), _entry(batch, "labels")
    except (KeyError, TypeError):
        raise ValueError(
            f"{path}: not a CIFAR-10 batch (expected a dict with 'data' and 'labels', "
            f"got {type(batch).__name__}"
            + (f" with keys {sorted(map(str, batch))}" if isinstance(batch, dict) else "")
            + ")"
        ) from None
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] < 1 or data.dtype.kind not in "iu":
        raise ValueError(
            f"{path}: CIFAR-10 data must be (N, 3072) uint8 (N=10000 in the real batches), "
            f"got {data.shape} {data.dtype}"
        )
    if data.min() < 0 or data.max() > 255:
        raise ValueError(f"{path}: CIFAR-10 pixel values must be in 0..255")
    try:
        labels = np.asarray(labels)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: CIFAR-10 labels are not a list of ints ({e})") from None
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{path}: CIFAR-10 labels must be {len(data)} ints (one per image), "
            f"got shape {labels.shape} {labels.dtype}"
        )
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(
            f"{path}: CIFAR-10 labels must be in 0..9, found {labels.min()}..{labels.max()}"
        )
    X = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    return X, labels.astype(np.int64)


def load_CIFAR10(ROOT):
    """All of CIFAR-10 from the folder ``ROOT`` (``cifar-10-batches-py``).

    Returns ``(Xtr, Ytr, Xte, Yte)``: the five training batches concatenated, Xtr (50000, 32,
    32, 3) float64 and Ytr (50000,) int64, and ``test_batch``, Xte (10000, 32, 32, 3) float64
    and Yte (10000,) int64 (N images per batch file in general). Raises FileNotFoundError
    naming the folder or the missing batch files and where to get CIFAR-10; errors from
    :func:`load_CIFAR_batch` for a bad batch.

    Course: ``data_utils.load_CIFAR10`` (2018-2020).
    """
    root = Path(ROOT)
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR-10 folder not found: {root} ({_CIFAR10_HINT})")
    missing = [name for name in CIFAR10_FILES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{root}: missing CIFAR-10 batch file(s) {missing} ({_CIFAR10_HINT})"
        )
    train = [load_CIFAR_batch(root / name) for name in CIFAR10_FILES[:5]]
    Xtr = np.concatenate([X for X, _ in train])
    Ytr = np.concatenate([Y for _, Y in train])
    del train
    Xte, Yte = load_CIFAR_batch(root / "test_batch")
    return Xtr, Ytr, Xte, Yte


def get_CIFAR10_data(
    num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True, data_root=None
):
    """CIFAR-10 split and preprocessed for the classifiers, as the course prepares it.

    Reads ``cifar-10-batches-py`` in the data directory (``data_root``, else ``CS231N_DATA``,
    see cs231n.core.config). The first ``num_training`` training images train, the next
    ``num_validation`` validate, the first ``num_test`` test images test; with
    ``subtract_mean`` the mean training image is subtracted from all three.

    Returns a dict: ``X_train`` (num_training, 3, 32, 32), ``X_val`` (num_validation, 3, 32,
    32), ``X_test`` (num_test, 3, 32, 32), all float64, and ``y_train``, ``y_val``, ``y_test``
    int64 labels in 0..9. Raises ValueError when more images are asked for than the data holds,
    and the errors of :func:`load_CIFAR10`.

    Course: ``data_utils.get_CIFAR10_data`` (2018-2020), which read
    ``cs231n/datasets/cifar-10-batches-py``.
    """
    counts = {"num_training": num_training, "num_validation": num_validation, "num_test": num_test}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"get_CIFAR10_data: {name} must be an int >= 0, got {value!r}")
    if subtract_mean and num_training == 0:
        raise ValueError("get_CIFAR10_data: subtract_mean needs num_training >= 1")
    X_train, y_train, X_test, y_test = load_CIFAR10(
        data_path("cifar-10-batches-py", data_root=data_root)
    )
    if num_training + num_validation > len(X_train):
        raise ValueError(
            f"get_CIFAR10_data: num_training + num_validation = "
            f"{num_training + num_validation} exceeds the {len(X_train)} training images"
        )
    if num_test > len(X_test):
        raise ValueError(
            f"get_CIFAR10_data: num_test = {num_test} exceeds the {len(X_test)} test images"
        )

    end = num_training + num_validation
    X_val, y_val = X_train[num_training:end], y_train[num_training:end]
    X_train, y_train = X_train[:num_training], y_train[:num_training]
    X_test, y_test = X_test[:num_test], y_test[:num_test]

    if subtract_mean:
        mean_image = X_train.mean(axis=0)
        X_train = X_train - mean_image
        X_val = X_val - mean_image
        X_test = X_test - mean_image

    # Channels first, as the course's layers expect; copies make the arrays contiguous.
    return {
        "X_train": X_train.transpose(0, 3, 1, 2).copy(),
        "y_train": y_train.copy(),
        "X_val": X_val.transpose(0, 3, 1, 2).copy(),
        "y_val": y_val.copy(),
        "X_test": X_test.transpose(0, 3, 1, 2).copy(),
        "y_test": y_test.copy(),
    }


# ---- Tiny ImageNet ----

TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
_TINY_HINT = (
    "a Tiny ImageNet folder holds wnids.txt, words.txt, train/, val/ and test/; "
    f"download {TINY_IMAGENET_URL} and unpack it"
)


def _text_lines(path) -> list[str]:
    """The non-blank lines of a Tiny ImageNet text file, without their line endings."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"Tiny ImageNet file not found: {path} ({_TINY_HINT})") from None
    return [line.rstrip("\r\n") for line in text.splitlines() if line.strip()]


def _tab_fields(path, minimum) -> list[list[str]]:
    """Each line of a tab-separated file split into fields; at least ``minimum`` per line."""
    rows = [line.split("\t") for line in _text_lines(path)]
    for number, row in enumerate(rows, 1):
        if len(row) < minimum:
            raise ValueError(
                f"{path}: line {number} has {len(row)} tab-separated field(s), "
                f"expected at least {minimum}"
            )
    return rows


def _read_tiny_images(paths, dtype) -> np.ndarray:
    """(N, 3, 64, 64) ``dtype`` pixels of 64x64 image files; grayscale ones repeated into the
    three channels, as the course does."""
    from PIL import Image

    X = np.empty((len(paths), 3, 64, 64), dtype=dtype)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
        except FileNotFoundError:
            raise FileNotFoundError(f"Tiny ImageNet image not found: {path}") from None
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise ValueError(f"{path}: not a readable image ({e})") from None
        if pixels.shape != (64, 64, 3):
            raise ValueError(
                f"{path}: Tiny ImageNet images are 64x64, got {pixels.shape[1]}x{pixels.shape[0]}"
            )
        X[i] = pixels.transpose(2, 0, 1)
    return X


def load_tiny_imagenet(path, dtype=np.float32, subtract_mean=True):
    """Tiny ImageNet (TinyImageNet-100-A, -100-B or -200: they share one layout).

    path: the folder holding ``wnids.txt`` (the classes' WordNet ids, one a line, in label
    order), ``words.txt`` (``wnid<TAB>name, name, ...``), ``train/<wnid>/<wnid>_boxes.txt``
    (image file names in the first column) with ``train/<wnid>/images/``,
    ``val/val_annotations.txt`` (``file<TAB>wnid...``) with ``val/images/``, and
    ``test/images/`` with, optionally, ``test/test_annotations.txt``.
    dtype: the dtype of the image arrays. subtract_mean: subtract the mean training image from
    all three splits (needs a floating dtype).

    Returns a dict: ``class_names`` (list: class_names[i] the list of names of class i),
    ``X_train`` (N_tr, 3, 64, 64), ``X_val`` (N_val, 3, 64, 64), ``X_test`` (N_test, 3, 64,
    64) in ``dtype`` (grayscale images repeated into the three channels), ``y_train``,
    ``y_val`` (int64 labels), ``y_test`` (int64, or None without test annotations; test images
    in file-name order), ``mean_image`` (3, 64, 64). Raises FileNotFoundError naming a missing
    file or folder, and ValueError naming a file that is malformed, names an unknown wnid, or
    is not a 64x64 image.

    Course: ``data_utils.load_tiny_imagenet`` (2018-2020).
    """
    root = Path(path)
    dtype = np.dtype(dtype)
    if subtract_mean and dtype.kind != "f":
        raise ValueError(f"load_tiny_imagenet: subtract_mean needs a floating dtype, got {dtype}")
    if not root.is_dir():
        raise FileNotFoundError(f"Tiny ImageNet folder not found: {root} ({_TINY_HINT})")

    wnids = [line.strip() for line in _text_lines(root / "wnids.txt")]
    if not wnids:
        raise ValueError(f"{root / 'wnids.txt'}: no class ids")
    wnid_to_label = {wnid: i for i, wnid in enumerate(wnids)}

    words_file = root / "words.txt"
    wnid_to_words = {
        row[0].strip(): [w.strip() for w in "\t".join(row[1:]).split(",")]
        for row in _tab_fields(words_file, 2)
    }
    unnamed = [wnid for wnid in wnids if wnid not in wnid_to_words]
    if unnamed:
        raise ValueError(f"{words_file}: no names for class(es) {unnamed[:5]}")
    class_names = [wnid_to_words[wnid] for wnid in wnids]

    def labels_of(wnids_seen, where):
        unknown = sorted(set(wnids_seen) - set(wnid_to_label))
        if unknown:
            raise ValueError(f"{where}: class id(s) {unknown[:5]} not in {root / 'wnids.txt'}")
        return np.array([wnid_to_label[w] for w in wnids_seen], dtype=np.int64)

    train_files, train_wnids = [], []
    for wnid in wnids:
        folder = root / "train" / wnid
        names = [row[0] for row in _tab_fields(folder / f"{wnid}_boxes.txt", 1)]
        train_files += [folder / "images" / name for name in names]
        train_wnids += [wnid] * len(names)
    if not train_files:
        raise ValueError(f"{root / 'train'}: no training images listed")
    X_train = _read_tiny_images(train_files, dtype)
    y_train = labels_of(train_wnids, root / "train")

    val_file = root / "val" / "val_annotations.txt"
    val_rows = _tab_fields(val_file, 2)
    X_val = _read_tiny_images([root / "val" / "images" / row[0] for row in val_rows], dtype)
    y_val = labels_of([row[1] for row in val_rows], val_file)

    test_folder = root / "test" / "images"
    if not test_folder.is_dir():
        raise FileNotFoundError(f"Tiny ImageNet folder not found: {test_folder} ({_TINY_HINT})")
    # Sorted, unlike the course's os.listdir order, so that the order is reproducible.
    test_names = sorted(p.name for p in test_folder.iterdir() if p.is_file())
    X_test = _read_tiny_images([test_folder / name for name in test_names], dtype)
    y_test = None
    test_file = root / "test" / "test_annotations.txt"
    if test_file.is_file():
        test_wnid = {row[0]: row[1] for row in _tab_fields(test_file, 2)}
        unlabelled = [name for name in test_names if name not in test_wnid]
        if unlabelled:
            raise ValueError(f"{test_file}: no label for test image(s) {unlabelled[:5]}")
        y_test = labels_of([test_wnid[name] for name in test_names], test_file)

    mean_image = X_train.mean(axis=0)
    if subtract_mean:
        X_train -= mean_image
        X_val -= mean_image
        X_test -= mean_image

    return {
        "class_names": class_names,
        "X_train": X_train,
        "y_train": y_train,
        "X_val": X_val,
        "y_val": y_val,
        "X_test": X_test,
        "y_test": y_test,
        "mean_image": mean_image,
    }


# ---- saved models ----


def load_models(models_dir):
    """The models saved in a folder: ``{file name: the file's 'model' entry}``.

    Every file in ``models_dir`` is read with :func:`load_pickle` (plain data and numpy arrays
    only); each is a pickled dict with a ``'model'`` entry. Files that are not pickles (a
    README.txt) are skipped, as in the course; a pickle that refers to code is skipped too,
    with a warning naming it (it is refused, nothing of it runs). Raises FileNotFoundError
    naming a missing folder and ValueError naming a pickle that is not such a dict.

    Course: ``data_utils.load_models`` (2018-2020).
    """
    folder = Path(models_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"models folder not found: {folder}")
    models = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        try:
            with open(path, "rb") as f:
                value = load_pickle(f)
        except UnsafePickleError as e:
            # Warn rather than raise: a text file starting with "c" or "i" parses as a
            # reference too, and must not stop the other models from loading.
            warnings.warn(f"load_models: skipped {e}", stacklevel=2)
            continue
        except pickle.UnpicklingError:
            continue
        try:
            models[path.name] = _entry(value, "model")
        except (KeyError, TypeError):
            raise ValueError(
                f"{path}: expected a pickled dict with a 'model' entry, got {type(value).__name__}"
            ) from None
    return models
