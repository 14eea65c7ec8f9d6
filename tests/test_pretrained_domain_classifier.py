"""The domain classifier (cs231n.pretrained.domain_classifier): the Fréchet distance and KID
against closed forms and a second computation, the classifier's cache, the scorer of images."""

import numpy as np
import pytest
import torch

from cs231n.pretrained import domain_classifier as dc
from cs231n.pretrained.domain_classifier import (
    DomainScorer,
    SmallCNN,
    feature_statistics,
    frechet_distance,
    kernel_distance,
)


def rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


def test_one_dimension():
    # (m1 - m2)^2 + (s1 - s2)^2 for N(m1, s1^2), N(m2, s2^2)
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)


def test_commuting_covariances_closed_form():
    d = 6
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    R = rotation(d, 1)  # jointly rotated: still commuting, no longer diagonal
    s1, s2 = R @ np.diag(a) @ R.T, R @ np.diag(b) @ R.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_general_properties():
    d = 5
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    s1, s2 = A @ A.T, B @ B.T  # non-commuting
    mu = rng.standard_normal(d)
    assert frechet_distance(mu, s1, mu, s1) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(
        frechet_distance(mu, s2, mu, s1), rel=1e-9
    )
    assert frechet_distance(mu, s1, mu, s2) > 0
    singular = np.diag([1.0, 0, 0, 0, 0])  # rank-deficient: the guard must keep it real
    assert np.isfinite(frechet_distance(mu, singular, mu, s2))
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(mu, s1, mu[:3], s2)


def test_estimated_from_samples():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (20000, 2))
    y = rng.normal([1, 0], [2, 1], (20000, 2))
    estimate = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert estimate == pytest.approx(1 + (2 - 1) ** 2, abs=0.1)


def test_small_cnn_features():
    model = SmallCNN()
    x = torch.rand(4, 1, 28, 28)
    assert model.features(x).shape == (4, 128) and model(x).shape == (4, 10)
    assert model.features(x.reshape(4, 784)).shape == (4, 128)


# ----------------------------------------------------------------------------------------------
# The scoring classifier: cached, keyed by its data, seed, settings and version

TINY = {"epochs": 1, "batch_size": 16, "channels": [2, 4], "hidden": 8}


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def idx_folder(folder, seed, n_train=40, n_test=20):
    """Tiny MNIST-format IDX files (random images and labels)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{stem}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return folder


def tree(folder):
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def scoring(tmp_path, monkeypatch):
    """Scoring a fixed set of images, with the cache in tmp_path/cache and a count of the
    classifier's trainings."""
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("CS231N_DATA", str(data_dir))
    trainings = []
    real_train = dc.train_classifier

    def counting(*args, **kwargs):
        trainings.append(len(args[0]))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(dc, "train_classifier", counting)
    fake = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def score(folder, seed=0, classifier=TINY):
        scorer = DomainScorer(
            str(folder), samples=10, seed=seed, classifier=classifier, log=lambda _: None
        )
        return scorer.score_images(fake)

    return score, trainings, tmp_path / "cache" / "gan_classifier", data_dir


def test_classifier_cache_is_keyed_by_the_training_data(tmp_path, scoring):
    score, trainings, cache, data_dir = scoring
    a, b = idx_folder(tmp_path / "a", seed=1), idx_folder(tmp_path / "b", seed=2)
    data_before, a_before = tree(data_dir), tree(a)

    first = score(a)
    assert trainings == [40] and len(list(cache.glob("*.pt"))) == 1
    assert first["classifier"]["kind"] == "custom" and first["classifier"]["train_images"] == 40
    assert np.isfinite(first["fid_generated_vs_test"]) and first["samples"] == 10

    second = score(b)  # another folder of the same shape: its own classifier
    assert trainings == [40, 40] and len(list(cache.glob("*.pt"))) == 2
    assert second["classifier"]["cache"] != first["classifier"]["cache"]

    again = score(a)  # same data, same settings: the cached classifier, not retrained
    assert trainings == [40, 40]
    assert again["classifier"]["cache"] == first["classifier"]["cache"]
    assert again["classifier_test_accuracy"] == first["classifier_test_accuracy"]
    assert again["fid_generated_vs_test"] == pytest.approx(first["fid_generated_vs_test"])

    assert tree(data_dir) == data_before and tree(a) == a_before  # inputs never written
    assert not [p for p in cache.iterdir() if not p.name.endswith(".pt")]  # no temp files


def test_classifier_cache_is_keyed_by_seed_settings_and_slice(tmp_path, scoring):
    score, trainings, cache, _ = scoring
    a = idx_folder(tmp_path / "a", seed=1)
    score(a)
    score(a, seed=1)
    score(a, classifier={**TINY, "epochs": 2})
    sliced = score(a, classifier={**TINY, "train_images": 24})
    assert trainings == [40, 40, 40, 24]
    assert sliced["classifier"]["train_images"] == 24
    assert len(list(cache.glob("*.pt"))) == 4
    score(a, classifier={**TINY, "train_images": 24})
    assert len(trainings) == 4


def test_classifier_key_covers_data_and_version(monkeypatch):
    images = np.zeros((5, 28, 28), np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    settings = dc.classifier_settings("quick")
    key = dc.classifier_key(images, labels, 0, settings)
    assert key == dc.classifier_key(images.copy(), labels.copy(), 0, settings)
    changed = images.copy()
    changed[3, 10, 10] = 1
    assert key != dc.classifier_key(changed, labels, 0, settings)
    assert key != dc.classifier_key(images, labels[::-1].copy(), 0, settings)
    assert key != dc.classifier_key(images, labels, 1, settings)
    for change in ({"lr": 1e-4}, {"channels": [8, 8]}, {"hidden": 32}, {"batch_size": 7}):
        assert key != dc.classifier_key(images, labels, 0, {**settings, **change})
    assert key != dc.classifier_key(images, labels, 0, dc.CLASSIFIERS["full"])
    monkeypatch.setattr(dc, "CLASSIFIER_VERSION", dc.CLASSIFIER_VERSION + 1)
    assert key != dc.classifier_key(images, labels, 0, settings)


def test_classifier_settings():
    from cs231n.pretrained.domain_classifier import CLASSIFIERS, classifier_settings

    # The full classifier is the README's (88.0% on Fashion-MNIST): its recipe stays put.
    assert classifier_settings("full") == {
        "epochs": 2,
        "batch_size": 128,
        "lr": 1e-3,
        "channels": [32, 64],
        "hidden": 128,
        "train_images": None,
    }
    assert classifier_settings({"epochs": 1}) == {**CLASSIFIERS["full"], "epochs": 1}
    with pytest.raises(ValueError, match="classifier must be"):
        classifier_settings("medium")
    with pytest.raises(ValueError, match="unknown classifier settings"):
        classifier_settings({"epoch": 1})
    model = SmallCNN(channels=(4, 8), hidden=16)
    assert model.features(torch.rand(2, 1, 28, 28)).shape == (2, 16)


def _flip_last_member_bit(data):
    """A bit of the bytes of the ZIP's largest member (a weight), not of its headers."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data, h = bytearray(data), info.header_offset
    start = h + 30 + int.from_bytes(data[h + 26 : h + 28], "little")
    data[start + int.from_bytes(data[h + 28 : h + 30], "little") + 3] ^= 0x40
    return bytes(data)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: p.write_bytes(p.read_bytes()[:100]),  # truncated
        lambda p: p.write_bytes(b""),  # empty
        lambda p: p.write_text("hello"),  # text
        lambda p: torch.save({"w": torch.zeros(2)}, p),  # another architecture
        lambda p: torch.save({k: v * float("nan") for k, v in torch.load(p).items()}, p),
        # Integers where the classifier has floats were cast silently (issue #19 a).
        lambda p: torch.save({k: (v * 100).long() for k, v in torch.load(p).items()}, p),
        lambda p: torch.save({k: v[:1] for k, v in torch.load(p).items()}, p),  # other shapes
        lambda p: p.write_bytes(_flip_last_member_bit(p.read_bytes())),  # its CRC fails
    ],
    ids=["truncated", "empty", "text", "foreign", "nan", "integers", "shapes", "bit-flip"],
)
def test_a_corrupt_classifier_cache_is_rebuilt(tmp_path, scoring, corrupt):
    score, trainings, cache, _ = scoring
    a = idx_folder(tmp_path / "a", seed=1)
    first = score(a)
    (path,) = cache.glob("*.pt")
    corrupt(path)
    again = score(a)
    assert trainings == [40, 40]  # trained again, not fatal
    assert again["classifier_test_accuracy"] == first["classifier_test_accuracy"]
    torch.load(path, weights_only=True)  # the rebuilt cache is whole


@pytest.mark.parametrize(
    "samples, match",
    [
        (21, "samples=21 is more than .* 20 test images.*at most 20"),
        (1, "samples must be at least 2"),
        (2.5, "samples must be an integer"),
    ],
)
def test_more_samples_than_the_data_holds_is_refused_before_training(
    tmp_path, scoring, samples, match
):
    """NumPy's "Cannot take a larger sample than population" came after training the
    classifier (issue #19 d)."""
    score, trainings, cache, _ = scoring
    folder = idx_folder(tmp_path / "small", seed=1)  # 40 training, 20 test images
    with pytest.raises(ValueError, match=match):
        DomainScorer(str(folder), samples=samples, classifier=TINY)
    assert trainings == [] and not cache.exists()


def test_a_classifier_cache_replaced_by_a_folder_is_rebuilt(tmp_path, scoring):
    score, trainings, cache, _ = scoring
    folder = idx_folder(tmp_path / "a", seed=1)
    score(folder)
    (entry,) = cache.iterdir()
    entry.unlink()
    entry.mkdir()  # something of another kind where the cached weights belong
    (entry / "x").write_text("?")
    score(folder)
    assert entry.is_file() and len(trainings) == 2


# ----------------------------------------------------------------------------------------------
# KID: the unbiased MMD² with the cubic polynomial kernel (Bińkowski et al. 2018, Eq. 5)


def test_kernel_distance_is_the_unbiased_mmd_of_a_pairwise_loop():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)) + 0.3

    def k(x, y):
        return (x @ y / 3 + 1) ** 3

    m, n = len(a), len(b)
    within_a = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_b = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    across = sum(k(x, y) for x in a for y in b) / (m * n)
    assert kernel_distance(a, b) == pytest.approx(within_a + within_b - 2 * across, rel=1e-12)
    assert kernel_distance(a, b) == pytest.approx(kernel_distance(b, a), rel=1e-12)


def test_kernel_distance_against_its_closed_form():
    # In one dimension k(x, y) = (xy + 1)³ = x³y³ + 3x²y² + 3xy + 1, so the MMD² of two
    # distributions is (m3x - m3y)² + 3 (m2x - m2y)² + 3 (m1x - m1y)² (raw moments m1, m2, m3).
    # N(0, 1) vs N(0, 1.5²): 3 (1 - 2.25)² = 4.6875; the estimator is unbiased.
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (3000, 1))
    y = rng.normal(0, 1.5, (3000, 1))
    assert kernel_distance(x, y) == pytest.approx(3 * (1 - 2.25) ** 2, rel=0.1)
    assert abs(kernel_distance(x, rng.normal(0, 1, (3000, 1)))) < 0.05


def test_kernel_distance_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"kernel_distance: .*\(3, 2\) and \(3, 4\)"):
        kernel_distance(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="N, M >= 2"):
        kernel_distance(np.zeros((1, 2)), np.zeros((3, 2)))


# ----------------------------------------------------------------------------------------------
# DomainScorer.score_images


@pytest.fixture
def scorer(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    folder = idx_folder(tmp_path / "a", seed=1)
    return DomainScorer(str(folder), samples=10, classifier=TINY, log=lambda _: None), folder


def test_the_real_test_images_score_zero(scorer):
    """The very test images the scorer drew (seed 0), on the real images' [-1, 1] scale: a
    Fréchet distance of 0; the same images on [0, 1] are far."""
    from cs231n.data.mnist import load_mnist

    scorer, folder = scorer
    test_images, test_labels = load_mnist(str(folder), "test")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(test_images), 10, replace=False)
    real = torch.from_numpy(test_images[idx]).float().div(255)[:, None]
    scores = scorer.score_images(real * 2 - 1, test_labels[idx])
    assert scores["fid_generated_vs_test"] == pytest.approx(0, abs=1e-6)
    assert scores["generated_class_accuracy"] == pytest.approx(
        dc.accuracy(scorer.model, real * 2 - 1, torch.from_numpy(test_labels[idx]))
    )
    assert scorer.score_images(real)["fid_generated_vs_test"] > 1e-3
    assert set(scores) >= {"kid_generated_vs_test", "kid_train_vs_test_floor"}


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (torch.zeros(10, 1, 32, 32), None, r"\(N, 1, 28, 28\) or \(N, 784\).*\(10, 1, 32, 32\)"),
        (torch.zeros(1, 784), None, "N >= 2"),
        (torch.full((4, 784), float("nan")), None, "NaN or infinite"),
        (torch.zeros(4, 784), [0, 1, 2], "3 labels for 4 images"),
    ],
)
def test_score_images_refuses_bad_input(scorer, images, labels, match):
    with pytest.raises(ValueError, match=match):
        scorer[0].score_images(images, labels)
