"""The one zip extractor (cs231n.data.archives.extract) and its three uses: a whole archive,
COCO's dataset archive (``assets.fetch_dataset``) and the style images taken from the course's
archive (``assets.extract_members``). Every use must refuse the same hostile archives."""

import dataclasses
import hashlib
import io
import random
import stat
import warnings
import zipfile

import pytest
from test_data_download import NOISE, assert_coco_extracted, make_coco_zip

from cs231n.data import archives, assets

COCO = assets.ASSETS["coco"]
STYLES = assets.ASSETS["styles"]


def symlink_entry(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("../evil", "'..' component"),
        ("coco_captioning/../../evil", "'..' component"),
        ("..\\evil", "'..' component"),
        ("/abs", "absolute path"),
        ("C:/evil", "drive letter"),
        (symlink_entry("coco_captioning/link"), "symbolic link"),
    ],
)
def test_unsafe_entries_are_refused_before_writing(tmp_path, entry, problem):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(make_coco_zip(extra=[(entry, b"/etc/passwd")]))
    dest = tmp_path / "out"
    name = entry if isinstance(entry, str) else entry.filename
    with pytest.raises(archives.ArchiveError, match="unsafe entry") as err:
        archives.extract(archive, dest)
    assert repr(name) in str(err.value) and problem in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]  # not even dest


def test_corrupt_archive_is_reported_and_leaves_nothing(tmp_path):
    data = bytearray(make_coco_zip())
    offset = data.index(NOISE[:64])
    data[offset + 1000] ^= 0xFF
    archive = tmp_path / "corrupt.zip"
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(
        archives.ArchiveError, match="is corrupt: entry 'coco_captioning/noise.bin'"
    ):
        archives.extract(archive, dest)
    assert list(dest.iterdir()) == []  # the good entries before it are not left behind either


def test_not_a_zip_is_reported(tmp_path):
    archive = tmp_path / "junk.zip"
    archive.write_bytes(b"<html>not found</html>")
    with pytest.raises(archives.ArchiveError, match="not a valid zip archive"):
        archives.extract(archive, tmp_path / "out")


def test_extract_returns_files_and_replaces_existing(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_coco_zip())
    (tmp_path / "coco_captioning").mkdir()
    (tmp_path / "coco_captioning" / "coco2014_vocab.json").write_text("old")
    files = archives.extract(archive, tmp_path)
    assert tmp_path / "coco_captioning" / "noise.bin" in files
    assert_coco_extracted(tmp_path / "coco_captioning")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "coco_captioning"]


# --------------------------------------------------------------------------------------------
# The same hostile archives, refused by each use through the one function

# The entries each use takes from an archive.
CHOSEN = {
    "whole": ["data/a.bin", "data/b.bin"],
    "coco": [f"{COCO.dataset.folder}/{name}" for name in COCO.dataset.files],
    "styles": [m.member for m in STYLES.members],
}
HOSTILE = {
    "unsafe": "unsafe entry '../evil' in .*: a '..' component",
    "duplicate": "holds two entries named",
    "bomb": r"more than 200 times: refused",
    "too big": "would expand to .* bytes, more than 1000 ",
    "corrupt": "is corrupt: entry",
}


def build(names, hostile=None):
    """(zip bytes, {entry: clean bytes}): an archive holding ``names``, made ``hostile``."""
    rng = random.Random(0)
    contents = {name: rng.randbytes(4000) for name in names}
    first = names[0]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns when a name is written twice
        with zipfile.ZipFile(buf, "w") as zf:  # stored: the corrupt case flips a byte in place
            for name, data in contents.items():
                if hostile == "bomb" and name == first:  # 20 MB of zeros: about 20 KB deflated
                    zf.writestr(name, bytes(20 << 20), compress_type=zipfile.ZIP_DEFLATED)
                else:
                    zf.writestr(name, data)
            if hostile == "unsafe":
                zf.writestr("../evil", b"x")
            if hostile == "duplicate":
                zf.writestr(first, b"a second copy")
    data = buf.getvalue()
    if hostile == "corrupt":
        data = bytearray(data)
        data[data.index(contents[first][:64]) + 1000] ^= 0xFF
        data = bytes(data)
    return data, contents


def run_use(use, archive_bytes, contents, out):
    """Extract as ``use`` does, into the data directory ``out``; returns the paths written."""
    out.mkdir()
    if use == "whole":
        (out.parent / "a.zip").write_bytes(archive_bytes)
        return archives.extract(out.parent / "a.zip", out)
    if use == "coco":
        # An archive copied into the data directory by hand: unpacked, the URL never asked.
        (out / COCO.archive.path).write_bytes(archive_bytes)
        folder = assets.fetch_dataset("coco", out, url="http://127.0.0.1:9/x.zip", progress=False)
        return sorted(folder.iterdir())
    (out.parent / "a.zip").write_bytes(archive_bytes)
    pins = [
        dataclasses.replace(m, sha256=hashlib.sha256(contents[m.member]).hexdigest())
        for m in STYLES.members
    ]
    return assets.extract_members(out.parent / "a.zip", pins, out)


@pytest.fixture
def extractions(monkeypatch):
    """The ArchiveErrors the one extractor raised, recorded by a spy in its place."""
    real = archives.extract
    assert assets.extract is real  # what assets calls is the one function
    raised = []

    def spy(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        except archives.ArchiveError as e:
            raised.append(str(e))
            raise

    monkeypatch.setattr(archives, "extract", spy)
    monkeypatch.setattr(assets, "extract", spy)
    return raised


@pytest.mark.parametrize("use", CHOSEN)
def test_each_use_takes_its_files_from_a_clean_archive(tmp_path, use, extractions):
    data, contents = build(CHOSEN[use])
    written = run_use(use, data, contents, tmp_path / "data")
    assert len(written) == len(CHOSEN[use]) and not extractions
    assert sorted(p.read_bytes() for p in written) == sorted(contents.values())


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("use", CHOSEN)
def test_each_use_refuses_the_same_hostile_archives(
    tmp_path, monkeypatch, use, hostile, extractions
):
    if hostile == "too big":  # each use's cap on what its files expand to, in all
        monkeypatch.setattr(archives, "MAX_BYTES", 1000)
        monkeypatch.setattr(assets, "MAX_MEMBERS_BYTES", 1000)
    data, contents = build(CHOSEN[use], hostile)
    out = tmp_path / "data"
    with pytest.raises(archives.ArchiveError, match=HOSTILE[hostile]) as err:
        run_use(use, data, contents, out)
    # Refused by the one extractor (COCO's message adds what to do with the archive) ...
    assert len(extractions) == 1 and extractions[0] in str(err.value)
    # ... and nothing was written: no file in the data directory but a hand-copied archive.
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert files == ([COCO.archive.path] if use == "coco" else [])


# --------------------------------------------------------------------------------------------
# tar archives (CIFAR-10's cifar-10-python.tar.gz): the same rules


def tar_gz(entries) -> bytes:
    """A .tar.gz of (TarInfo, bytes or None) members."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _tar_member(name, kind=None, target=""):
    import tarfile

    info = tarfile.TarInfo(name)
    if kind is not None:
        info.type, info.linkname = kind, target
    return info


def test_tar_extracts_like_zip(tmp_path):
    data = tar_gz([(_tar_member("d/a.txt"), b"alpha"), (_tar_member("d/b/c.txt"), b"gamma")])
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(data)
    written = archives.extract(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "d/a.txt",
        "d/b/c.txt",
    ]
    assert (tmp_path / "out" / "d" / "b" / "c.txt").read_bytes() == b"gamma"
    sha = {"d/a.txt": hashlib.sha256(b"other").hexdigest()}
    with pytest.raises(archives.ArchiveError, match="sha256"):
        archives.extract(archive, tmp_path / "again", sha256=sha)
    assert not (tmp_path / "again" / "d").exists()


@pytest.mark.parametrize(
    "member, problem",
    [
        (lambda: (_tar_member("../evil.txt"), b"x"), "'..'"),
        (lambda: (_tar_member("/etc/evil"), b"x"), "absolute"),
        (lambda: (_tar_member("link", b"2", "/etc/passwd"), None), "link"),  # SYMTYPE
        (lambda: (_tar_member("hard", b"1", "good.txt"), None), "link"),  # LNKTYPE
        (lambda: (_tar_member("fifo", b"6"), None), "special"),  # FIFOTYPE
    ],
)
def test_tar_hostile_members_are_refused_and_nothing_written(tmp_path, member, problem):
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(tar_gz([(_tar_member("good.txt"), b"fine"), member()]))
    with pytest.raises(archives.ArchiveError, match=problem):
        archives.extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not (tmp_path / "evil.txt").exists()


def test_tar_truncated_or_oversized_is_refused(tmp_path):
    data = tar_gz([(_tar_member("a.bin"), random.Random(0).randbytes(50_000))])
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(archives.ArchiveError, match="corrupt|not a readable"):
        archives.extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "a.bin").exists()
    archive.write_bytes(data)
    with pytest.raises(archives.ArchiveError, match="expand to 50000 bytes"):
        archives.extract(archive, tmp_path / "out", max_bytes=10_000)
