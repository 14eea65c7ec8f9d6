"""The course's SimCLR data (cs231n/simclr/data_utils.py): the augmentations, and CIFAR-10 pairs
read from batch files in the official format (tiny ones written here)."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n.simclr import data_utils
from cs231n.simclr.data_utils import (
    CIFAR10,
    CIFAR10Pair,
    compute_test_transform,
    compute_train_transform,
)

# The course's normalisation (cs231n/simclr/data_utils.py, 2021-2026).
MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
STD = torch.tensor([0.2023, 0.1994, 0.2010]).view(3, 1, 1)


def write_cifar(root, per_batch=4, test=3, seed=0):
    """CIFAR-10's python layout: pickled dicts with bytes keys b"data" (N, 3072) uint8 (red,
    green, blue planes) and b"labels" (N ints), as in cifar-10-python.tar.gz."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    images = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = test if name == "test_batch" else per_batch
        hwc = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        data = hwc.transpose(0, 3, 1, 2).reshape(n, 3072)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
        images[name] = (hwc, labels)
    return images


def test_train_transform_is_the_courses():
    t = compute_train_transform()
    names = [type(s).__name__ for s in t.transforms]
    assert names == [
        "RandomResizedCrop",
        "RandomHorizontalFlip",
        "RandomApply",
        "RandomGrayscale",
        "ToTensor",
        "Normalize",
    ]
    jitter = t.transforms[2].transforms[0]
    assert t.transforms[2].p == 0.8 and t.transforms[3].p == 0.2 and t.transforms[1].p == 0.5
    assert tuple(jitter.brightness) == (0.6, 1.4) and tuple(jitter.hue) == (-0.1, 0.1)


def test_train_transform_seeded_views():
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8))
    first = compute_train_transform(seed=2147483647)
    a = [first(img) for _ in range(3)]
    second = compute_train_transform(seed=2147483647)
    b = [second(img) for _ in range(3)]
    assert all(x.shape == (3, 32, 32) for x in a)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1])


def test_test_transform_normalises():
    hwc = np.random.default_rng(1).integers(0, 256, (32, 32, 3), np.uint8)
    x = compute_test_transform()(Image.fromarray(hwc))
    expected = (torch.from_numpy(hwc).permute(2, 0, 1).float() / 255 - MEAN) / STD
    assert torch.allclose(x, expected, atol=1e-6)


@pytest.mark.skipif(data_utils._TorchvisionCIFAR10 is not None, reason="torchvision's CIFAR10")
def test_cifar10_reads_the_official_layout(tmp_path):
    images = write_cifar(tmp_path)
    train = CIFAR10(tmp_path, train=True)
    test = CIFAR10(root=str(tmp_path), train=False, transform=compute_test_transform())
    assert len(train) == 20 and len(test) == 3
    assert train.data.shape == (20, 32, 32, 3) and train.data.dtype == np.uint8
    assert np.array_equal(train.data[4:8], images["data_batch_2"][0])
    assert train.targets[:4] == images["data_batch_1"][1]
    assert train.classes[0] == "airplane" and len(train.classes) == 10
    img, label = train[5]
    assert isinstance(img, Image.Image) and np.array_equal(np.asarray(img), train.data[5])
    x, y = test[0]
    assert x.shape == (3, 32, 32) and y == images["test_batch"][1][0]


def test_cifar10_pair_gives_two_views(tmp_path):
    if data_utils._TorchvisionCIFAR10 is not None:
        pytest.skip("torchvision's CIFAR10 would check the real archive's MD5")
    write_cifar(tmp_path)
    pairs = CIFAR10Pair(tmp_path, train=True, transform=compute_train_transform())
    x_i, x_j, target = pairs[0]
    assert x_i.shape == x_j.shape == (3, 32, 32)
    assert not torch.equal(x_i, x_j)
    assert target == pairs.targets[0]
    loader = torch.utils.data.DataLoader(pairs, batch_size=4, shuffle=False)
    a, b, t = next(iter(loader))
    assert a.shape == b.shape == (4, 3, 32, 32) and t.shape == (4,)
    assert CIFAR10Pair(tmp_path, train=True)[0][:2] == (None, None)


@pytest.mark.skipif(data_utils._TorchvisionCIFAR10 is not None, reason="torchvision's CIFAR10")
def test_cifar10_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        CIFAR10(tmp_path, train=True)
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    CIFAR10(tmp_path, train=True)  # the training batches are all there
    with pytest.raises(FileNotFoundError, match="test_batch"):
        CIFAR10(tmp_path, train=False)


@pytest.mark.skipif(data_utils._TorchvisionCIFAR10 is not None, reason="torchvision's CIFAR10")
def test_cifar10_download_fetches_the_asset(tmp_path, monkeypatch):
    import dataclasses
    import hashlib

    from local_server import serving
    from test_data_assets import cifar_tar_gz

    from cs231n.data import assets

    data = cifar_tar_gz(per_batch=2)
    spec = assets.ASSETS["cifar10"]
    archive = dataclasses.replace(spec.archive, md5=hashlib.md5(data).hexdigest(), size=len(data))
    monkeypatch.setitem(assets.ASSETS, "cifar10", dataclasses.replace(spec, archive=archive))
    with serving({"/cifar10/cifar-10-python.tar.gz": data}) as srv:
        monkeypatch.setenv(assets.MIRROR_ENV_VAR, srv.base)
        pairs = CIFAR10Pair(tmp_path, train=False, download=True)
    assert len(pairs) == 2 and (tmp_path / "cifar-10-batches-py" / "data_batch_5").is_file()
