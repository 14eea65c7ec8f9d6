"""The asset registry: fetching every asset from a local mirror on 127.0.0.1, verified.

Fake files stand in for the real ones (their pins are patched to match); where the real files
are on this machine (``CS231N_DATA`` = the shared data), they are served with the real pins, so
the pinned SHA-256 values themselves are checked against the real files.
"""

import dataclasses
import hashlib
import io
import os
import random
import zipfile
from pathlib import Path

import pytest
from local_server import serving

from cs231n.data import assets
from cs231n.data.archives import ArchiveError
from cs231n.data.download import DownloadError

SHARED = Path(os.environ.get("CS231N_DATA", "/nonexistent"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bytes(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """Empty data, cache and torch-hub folders; no Debian Fashion-MNIST; no mirror setting."""
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.MIRROR_ENV_VAR, raising=False)
    monkeypatch.setattr(assets, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    return tmp_path / "data"


@pytest.fixture
def fake_mirror(monkeypatch, isolated):
    """Every asset but COCO as fake bytes on a local mirror (``MIRROR/NAME/FILE``), with the
    registry's pins patched to match. Yields (server, {asset: {data-dir path: bytes}})."""
    rng = random.Random(0)
    served, expected = {}, {}
    for name in assets.expand(["all"]):
        spec = assets.ASSETS[name]
        expected[name] = {}
        files = []
        for remote in spec.files:
            data = rng.randbytes(3000)
            files.append(dataclasses.replace(remote, sha256=sha(data), size=len(data)))
            served[f"/{name}/{remote.urls[0].rsplit('/', 1)[-1]}"] = data
            expected[name][remote.path] = data
        changes = {"files": tuple(files)}
        if spec.archive is not None:
            contents = {m.member: rng.randbytes(2000) for m in spec.members}
            archive = zip_bytes({**contents, "assignment3/other.py": b"print()\n"})
            served[f"/{name}/{spec.archive.path}"] = archive
            changes["archive"] = dataclasses.replace(
                spec.archive, sha256=sha(archive), size=len(archive)
            )
            changes["members"] = tuple(
                dataclasses.replace(m, sha256=sha(contents[m.member])) for m in spec.members
            )
            expected[name].update({m.path: contents[m.member] for m in spec.members})
        monkeypatch.setitem(assets.ASSETS, name, dataclasses.replace(spec, **changes))
    with serving(served) as srv:
        yield srv, expected


def test_all_fetches_and_verifies_every_asset_but_coco(fake_mirror, isolated):
    srv, expected = fake_mirror
    for name in assets.expand(["all"]):
        where = assets.fetch(name, isolated, mirror=srv.base, progress=False)
        assert where is not None and where.exists()
        for path, data in expected[name].items():
            assert (isolated / path).read_bytes() == data
    assert set(expected) == {
        "squeezenet",
        "imagenet-val",
        "styles",
        "mnist",
        "fashion-mnist",
        "text-embed",
    }
    assert all(s.present for s in assets.status(isolated) if s.name in expected)
    # The styles archive went through the cache and was deleted once extracted.
    assert not list((Path(os.environ["CS231N_CACHE"]) / "downloads").iterdir())
    # Only the asset files are in the data directory: no archive, no part files.
    written = {p.relative_to(isolated).as_posix() for p in isolated.rglob("*") if p.is_file()}
    assert written == {p for files in expected.values() for p in files}
    # A second fetch asks the server for nothing.
    count = len(srv.requests)
    for name in expected:
        assets.fetch(name, isolated, mirror=srv.base, progress=False)
    assert len(srv.requests) == count


def test_the_mirror_setting_comes_from_the_environment(fake_mirror, isolated, monkeypatch):
    srv, expected = fake_mirror
    monkeypatch.setenv(assets.MIRROR_ENV_VAR, srv.base + "/")
    assets.fetch("imagenet-val", isolated, progress=False)
    assert srv.requests[-1]["path"] == "/imagenet-val/imagenet_val_25.npz"
    assert (isolated / "imagenet_val_25.npz").read_bytes() == expected["imagenet-val"][
        "imagenet_val_25.npz"
    ]


def test_an_interrupted_download_resumes(fake_mirror, isolated):
    srv, expected = fake_mirror
    srv.drop_after = 1000
    with pytest.raises(DownloadError, match="interrupted"):
        assets.fetch("squeezenet", isolated, mirror=srv.base, progress=False)
    part = isolated / (assets.SQUEEZENET_FILE + ".part")
    assert part.stat().st_size == 1000 and not (isolated / assets.SQUEEZENET_FILE).exists()
    assets.fetch("squeezenet", isolated, mirror=srv.base, progress=False)
    assert srv.requests[-1]["range"] == "bytes=1000-" and srv.requests[-1]["status"] == 206
    assert (isolated / assets.SQUEEZENET_FILE).read_bytes() == expected["squeezenet"][
        assets.SQUEEZENET_FILE
    ]


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(fake_mirror, isolated):
    srv, _ = fake_mirror
    path = "/imagenet-val/imagenet_val_25.npz"
    srv.files[path] = bytes(len(srv.files[path]))  # right size, wrong bytes
    with pytest.raises(DownloadError, match="sha256 of .* is .*expected"):
        assets.fetch("imagenet-val", isolated, mirror=srv.base, progress=False)
    assert not list(isolated.glob("imagenet_val_25.npz*"))


def test_the_next_official_source_is_tried_when_one_fails(fake_mirror, isolated, monkeypatch):
    srv, expected = fake_mirror
    spec = assets.ASSETS["mnist"]
    # First source: a server that has nothing; second: the mirror.
    files = tuple(
        dataclasses.replace(
            f,
            urls=(
                srv.url("/gone/" + f.urls[0].rsplit("/", 1)[-1]),
                srv.url("/mnist/" + f.urls[0].rsplit("/", 1)[-1]),
            ),
        )
        for f in spec.files
    )
    monkeypatch.setitem(assets.ASSETS, "mnist", dataclasses.replace(spec, files=files))
    where = assets.fetch("mnist", isolated, progress=False)
    assert where == isolated / "mnist"
    assert [r["status"] for r in srv.requests] == [404, 200] * 4


def test_a_file_with_the_assets_name_but_wrong_bytes_is_replaced(fake_mirror, isolated):
    srv, expected = fake_mirror
    target = isolated / "imagenet_val_25.npz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the course's file")
    messages = []
    assets.fetch("imagenet-val", isolated, mirror=srv.base, progress=False, log=messages.append)
    assert target.read_bytes() == expected["imagenet-val"]["imagenet_val_25.npz"]
    assert messages == [f"{target}: checksum mismatch, downloading it again"]


def test_archive_members_are_checked_and_a_bad_one_stops_extraction(fake_mirror, isolated):
    srv, _ = fake_mirror
    spec = assets.ASSETS["styles"]
    contents = {m.member: b"x" for m in spec.members}  # every member has the wrong bytes
    archive = zip_bytes(contents)
    srv.files["/styles/assignment3_jupyter.zip"] = archive
    patched = dataclasses.replace(
        spec, archive=dataclasses.replace(spec.archive, sha256=sha(archive), size=len(archive))
    )
    assets.ASSETS["styles"] = patched  # restored by monkeypatch.setitem in the fixture
    with pytest.raises(ArchiveError, match="has sha256 .* expected"):
        assets.fetch("styles", isolated, mirror=srv.base, progress=False)
    assert not (isolated / "styles").exists() and not (isolated / "images").exists()
    assert not list((Path(os.environ["CS231N_CACHE"]) / "downloads").iterdir())


def test_extract_members_writes_only_the_fixed_paths(tmp_path):
    other = {"dir/escape.jpg": b"a", "elsewhere/kitten.jpg": b"k", "dir/sky.jpg": b"s"}
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes(other))
    members = [
        assets.Member("assignment3/kitten.jpg", "images/kitten.jpg", sha(b"k")),  # by file name
        assets.Member("assignment3/sky.jpg", "images/sky.jpg", sha(b"s")),
    ]
    out = tmp_path / "out"
    written = assets.extract_members(archive, members, out)
    assert written == [out / "images/kitten.jpg", out / "images/sky.jpg"]
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()} == {
        "a.zip",
        "out/images/kitten.jpg",
        "out/images/sky.jpg",
    }


def test_extract_members_refuses_ambiguous_missing_and_oversized(tmp_path, monkeypatch):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"a/x.jpg": b"1", "b/x.jpg": b"2", "big.bin": b"0" * 5000}))
    with pytest.raises(ArchiveError, match="2 entries named 'x.jpg'"):
        assets.extract_members(archive, [assets.Member("c/x.jpg", "x.jpg", sha(b"1"))], tmp_path)
    with pytest.raises(ArchiveError, match="no entry named 'y.jpg'"):
        assets.extract_members(archive, [assets.Member("y.jpg", "y.jpg", sha(b"1"))], tmp_path)
    monkeypatch.setattr(assets, "MAX_MEMBERS_BYTES", 1000)
    with pytest.raises(ArchiveError, match="would expand to 5000 bytes, more than 1000 "):
        assets.extract_members(archive, [assets.Member("big.bin", "big", sha(b""))], tmp_path)
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        assets.extract_members(tmp_path / "bad.zip", [], tmp_path)


def test_a_read_only_data_directory_gets_a_clear_error(fake_mirror, isolated):
    srv, _ = fake_mirror
    isolated.mkdir()
    isolated.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="data directory .* is not writable"):
            assets.fetch("imagenet-val", isolated, mirror=srv.base, progress=False)
    finally:
        isolated.chmod(0o755)
    assert srv.requests == []


def test_status_says_where_each_asset_was_found(isolated, monkeypatch, tmp_path):
    assert not any(s.present for s in assets.status(isolated))
    (isolated / "styles").mkdir(parents=True)
    (isolated / "squeezenet1_1.pt").write_bytes(b"the course's copy")  # an alternative name
    debian = tmp_path / "debian"
    debian.mkdir()
    for stem in assets.IDX_FILES:
        (debian / f"{stem}.gz").write_bytes(b"")
    monkeypatch.setattr(assets, "DEBIAN_FASHION_MNIST", debian)
    where = {s.name: s.where for s in assets.status(isolated)}
    assert where["squeezenet"] == isolated / "squeezenet1_1.pt"
    assert where["fashion-mnist"] == debian
    assert where["styles"] is None and where["coco"] is None and where["mnist"] is None
    hub = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints" / assets.SQUEEZENET_FILE
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"")
    (isolated / "squeezenet1_1.pt").unlink()
    assert assets.locate("squeezenet", isolated) == hub


def test_names_and_the_download_command():
    assert assets.expand(["styles", "all", "coco", "styles"]) == [
        "styles",
        "squeezenet",
        "imagenet-val",
        "mnist",
        "fashion-mnist",
        "text-embed",
        "coco",
    ]
    with pytest.raises(ValueError, match="unknown asset 'imagenet' \\(known: squeezenet, "):
        assets.expand(["imagenet"])
    assert assets.download_command(["styles", "mnist"]) == "cs231n data download styles mnist"
    assert assets.download_command(["styles"], "/d") == "cs231n data download styles --data-dir /d"
    assert assets.mirror_url("http://m/", "styles", "https://x/y/a.zip") == "http://m/styles/a.zip"


def test_every_pin_is_a_full_sha256():
    for spec in assets.ASSETS.values():
        # emoji_data.npz and model-70000.pt: no published checksum, not fetched to pin one.
        unpinned = spec.name in ("emoji", "ddpm-model", "simclr-model")
        pins = [] if unpinned else [f.sha256 for f in spec.files] + [m.sha256 for m in spec.members]
        # COCO publishes no checksum, CIFAR-10 an MD5 only (test_cifar10_is_pinned_by_md5).
        pins += (
            [spec.archive.sha256] if spec.archive and spec.name not in ("coco", "cifar10") else []
        )
        for pin in pins:
            assert len(pin) == 64 and int(pin, 16) >= 0, (spec.name, pin)
    # COCO's archive is the exception: no checksum is published (its size is checked).
    assert assets.ASSETS["coco"].archive.sha256 is None
    assert assets.ASSETS["emoji"].files[0].sha256 is None
    assert assets.ASSETS["ddpm-model"].files[0].sha256 is None
    assert assets.ASSETS["simclr-model"].files[0].sha256 is None
    assert not assets.ASSETS["simclr-model"].in_all
    # torchvision's own check: the file name carries the hash's first 8 digits.
    assert assets.ASSETS["squeezenet"].files[0].sha256.startswith("b8a52dc0")


@pytest.mark.skipif(
    not (SHARED / "styles" / "tubingen.jpg").is_file(), reason="needs the real style images"
)
def test_the_real_files_match_the_pins(isolated, monkeypatch):
    """The shared copies of the course's files, served in the course's archive layout, pass
    the registry's real pinned checksums (only the rebuilt archive's own pin is patched)."""
    spec = assets.ASSETS["styles"]
    source = {m.member: (SHARED / m.path).read_bytes() for m in spec.members}
    archive = zip_bytes(source)
    monkeypatch.setitem(
        assets.ASSETS,
        "styles",
        dataclasses.replace(
            spec, archive=dataclasses.replace(spec.archive, sha256=sha(archive), size=len(archive))
        ),
    )
    npz = (SHARED / "imagenet_val_25.npz").read_bytes()
    files = {"/styles/assignment3_jupyter.zip": archive, "/imagenet-val/imagenet_val_25.npz": npz}
    with serving(files) as srv:
        assets.fetch("styles", isolated, mirror=srv.base, progress=False)
        assets.fetch("imagenet-val", isolated, mirror=srv.base, progress=False)
    for m in spec.members:
        assert (isolated / m.path).read_bytes() == source[m.member]
    assert (isolated / "imagenet_val_25.npz").read_bytes() == npz


# --------------------------------------------------------------------------------------------
# CIFAR-10: the official tar.gz, MD5-checked, unpacked into cifar-10-batches-py/


def cifar_tar_gz(per_batch=3, seed=0, extra=()):
    """A small archive in the official cifar-10-python.tar.gz layout: cifar-10-batches-py/
    holding data_batch_1..5 and test_batch (pickled dicts, bytes keys, (N, 3072) uint8 data),
    batches.meta and readme.html. ``extra``: more TarInfo members, e.g. hostile ones."""
    import pickle
    import tarfile

    import numpy as np

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:

        def add(name, data):
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        for name in assets.CIFAR10_FILES:
            batch = {
                b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                b"labels": rng.integers(0, 10, per_batch).tolist(),
            }
            add(name, pickle.dumps(batch))
        add("batches.meta", pickle.dumps({b"label_names": [b"airplane"] * 10}))
        add("readme.html", b"<html></html>")
        for info, data in extra:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


@pytest.fixture
def cifar_mirror(monkeypatch, isolated):
    """The tiny archive on a local mirror, the registry's MD5 and size patched to match."""
    data = cifar_tar_gz()
    spec = assets.ASSETS["cifar10"]
    patched = dataclasses.replace(spec.archive, md5=hashlib.md5(data).hexdigest(), size=len(data))
    monkeypatch.setitem(assets.ASSETS, "cifar10", dataclasses.replace(spec, archive=patched))
    with serving({"/cifar10/cifar-10-python.tar.gz": data}) as srv:
        yield srv, data


def test_cifar10_is_pinned_by_md5():
    # https://www.cs.toronto.edu/~kriz/cifar.html: the python version's MD5 and size.
    spec = assets.ASSETS["cifar10"]
    assert spec.archive.urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
    assert spec.archive.md5 == "c58f30108f718f92721af3b95e74349a"
    assert spec.archive.size == 170_498_071
    assert not spec.in_all  # 163 MB: asked for by name


def test_cifar10_fetch_unpacks_what_load_cifar10_reads(cifar_mirror, isolated):
    from cs231n.data_utils import load_CIFAR10

    srv, _ = cifar_mirror
    folder = assets.fetch("cifar10", isolated, mirror=srv.base, progress=False)
    assert folder == isolated / "cifar-10-batches-py"
    Xtr, Ytr, Xte, Yte = load_CIFAR10(folder)
    assert Xtr.shape == (15, 32, 32, 3) and Xte.shape == (3, 32, 32, 3)
    assert (folder / "batches.meta").is_file()
    assert not (isolated / "cifar-10-python.tar.gz").exists()  # deleted once unpacked
    count = len(srv.requests)
    assets.fetch("cifar10", isolated, mirror=srv.base, progress=False)
    assert len(srv.requests) == count


def test_cifar10_interrupted_download_resumes(cifar_mirror, isolated):
    srv, data = cifar_mirror
    srv.drop_after = 500
    with pytest.raises(DownloadError, match="interrupted"):
        assets.fetch("cifar10", isolated, mirror=srv.base, progress=False)
    assert not (isolated / "cifar-10-batches-py").exists()
    assets.fetch("cifar10", isolated, mirror=srv.base, progress=False)
    assert srv.requests[-1]["range"] == "bytes=500-" and srv.requests[-1]["status"] == 206
    assert (isolated / "cifar-10-batches-py" / "test_batch").is_file()


def test_cifar10_wrong_md5_is_refused_and_deleted(cifar_mirror, isolated):
    srv, data = cifar_mirror
    srv.files["/cifar10/cifar-10-python.tar.gz"] = bytes(len(data))  # right size, wrong bytes
    with pytest.raises(DownloadError, match="MD5 .* expected"):
        assets.fetch("cifar10", isolated, mirror=srv.base, progress=False)
    assert not (isolated / "cifar-10-python.tar.gz").exists()
    assert not (isolated / "cifar-10-batches-py").exists()


def test_cifar10_archive_by_hand_with_wrong_md5_is_kept_and_named(cifar_mirror, isolated):
    srv, data = cifar_mirror
    isolated.mkdir(parents=True)
    (isolated / "cifar-10-python.tar.gz").write_bytes(cifar_tar_gz(seed=1))
    with pytest.raises(ArchiveError, match="not the official archive"):
        assets.fetch("cifar10", isolated, mirror=srv.base, progress=False)
    assert (isolated / "cifar-10-python.tar.gz").is_file()
    assert not srv.requests
