"""Downloading the course's data: resumable, verified downloads and safe zip extraction.

``cs231n data download coco`` is :func:`fetch_dataset`: it streams the archive into the data
directory (:func:`cs231n.core.config.data_dir`) as ``NAME.part``, resumes that file with an HTTP Range
request after an interruption, checks its size (and sha256 when known), renames it into place,
and unpacks it with :func:`extract_zip`, which refuses entries that would land outside the target
and never leaves a half-extracted folder behind.

Standard library and tqdm only: no PyTorch, so the download works before anything heavy is
installed or importable.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from ..coco_utils import COCO_FILES
from ..core.config import data_dir

USER_AGENT = "cs231n-a3 (python urllib)"

# The files each dataset must hold once extracted; `optional` ones are listed by
# `cs231n data path` but their absence does not trigger a download.
DATASETS: dict[str, dict] = {
    "coco": {
        "description": "COCO 2014 captions, vocabulary, image URLs and VGG-16 fc7 features",
        "url": "http://cs231n.stanford.edu/coco_captioning.zip",
        "archive": "coco_captioning.zip",
        "folder": "coco_captioning",
        "files": COCO_FILES,
        "optional": ("train2014_vgg16_fc7.h5", "val2014_vgg16_fc7.h5"),
        # Not known offline; set them to have every download verified.
        "sha256": None,
        "size": None,
    },
}

# Files the assignment looks up directly in the data directory (a trailing "/" marks a folder).
OTHER_ASSETS = ("squeezenet1_1.pt", "imagenet_val_25.npz", "imagenet_classes.txt", "styles/")


class DownloadError(OSError):
    """A download failed: network error, HTTP error, or a connection closed early."""


class IntegrityError(DownloadError):
    """A downloaded file has the wrong size or checksum (the partial file is deleted)."""


class ArchiveError(ValueError):
    """A zip archive is corrupt, unsafe to extract, or lacks the files it should hold."""


def part_path(dest) -> Path:
    """Where :func:`download` keeps the bytes received so far: ``dest`` + ``.part``."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


# --------------------------------------------------------------------------------------------
# Downloading


def download(
    url: str,
    dest,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    progress: bool = True,
    chunk_size: int = 1 << 20,
    timeout: float = 60,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download; returns ``dest``.

    Bytes go to ``dest.part``; an existing part file is continued with a Range request (a server
    that ignores Range gets the download restarted from scratch). The result must match the
    size the server announced, ``expected_size`` and ``sha256`` when given; only then is it
    renamed to ``dest`` (atomically), so ``dest`` is always complete. A size or checksum mismatch
    deletes the part file and raises :class:`IntegrityError`; a network failure raises
    :class:`DownloadError` and keeps the part file, so the next call resumes.
    """
    dest = Path(dest)
    part = part_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if expected_size is not None and part.is_file() and part.stat().st_size > expected_size:
        part.unlink()  # longer than the whole file: not a prefix of it
    total = _fetch_into(url, part, dest, expected_size, progress, chunk_size, timeout)
    _verify(url, part, total, expected_size, sha256)
    os.replace(part, dest)
    return dest


def _fetch_into(url, part, dest, expected_size, progress, chunk_size, timeout, *, retry=True):
    """Append the rest of ``url`` to ``part``; returns the file's total size if the server said."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        request = urllib.request.Request(url, headers=headers)
    except ValueError as e:
        raise ValueError(f"invalid download URL {url!r}: {e}") from None
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        with e:
            if e.code == 416 and offset:
                # Nothing left to send: either the part file is already complete, or it is
                # longer than the file (a stale part from another file), which a restart fixes.
                total = _content_range_total(e.headers.get("Content-Range"))
                if total is None:
                    total = expected_size
                if total == offset:
                    return total
                if retry:
                    part.unlink()
                    return _fetch_into(
                        url, part, dest, expected_size, progress, chunk_size, timeout, retry=False
                    )
            raise DownloadError(
                f"download of {url} failed: HTTP {e.code} {e.reason} (alternatively download "
                f"the file elsewhere and copy it to {dest})"
            ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise DownloadError(_unreachable_message(url, dest, e)) from e

    with response:
        if response.status == 206:
            start, total = _parse_content_range(url, response.headers.get("Content-Range"))
            if start != offset:
                raise DownloadError(
                    f"download of {url} failed: asked for bytes from {offset}, "
                    f"the server sent bytes from {start}"
                )
            mode = "ab"
        else:
            # The whole file: either we asked for it, or the server ignored our Range header,
            # in which case the bytes already on disk are overwritten rather than duplicated.
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if expected_size is not None and total is not None and total != expected_size:
            part.unlink(missing_ok=True)
            raise IntegrityError(
                f"download of {url} failed: the server reports {total} bytes, "
                f"expected {expected_size} ({dest} was not written)"
            )
        with (
            open(part, mode) as f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=dest.name,
                disable=not progress,
            ) as bar,
        ):
            # read1 returns what has arrived (up to chunk_size) instead of waiting for a full
            # chunk: the bar moves smoothly and a timeout loses no bytes already received.
            read = getattr(response, "read1", response.read)
            try:
                while chunk := read(chunk_size):
                    f.write(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as e:  # reset, timeout, bad chunking
                f.flush()
                raise DownloadError(_interrupted_message(url, dest, f.tell(), total, e)) from e

    # http.client ends a body cut short by a closed connection without an error, so compare.
    size = part.stat().st_size
    if total is not None and size < total:
        raise DownloadError(_interrupted_message(url, dest, size, total, None))
    return total


def _verify(url, part, total, expected_size, sha256):
    """Check the finished part file; on a mismatch delete it (resuming cannot fix it)."""
    size = part.stat().st_size
    for what, expected in (("size announced by the server", total), ("size", expected_size)):
        if expected is not None and size != expected:
            part.unlink()
            raise IntegrityError(
                f"download of {url} failed: {part} has {size} bytes, {what} is {expected} "
                "(the partial file was deleted; run again to download it afresh)"
            )
    if sha256 is not None:
        actual = file_sha256(part)
        if actual != sha256.lower():
            part.unlink()
            raise IntegrityError(
                f"download of {url} failed: sha256 of {part} is {actual}, expected "
                f"{sha256.lower()} (the partial file was deleted)"
            )


def file_sha256(path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _parse_content_range(url, value) -> tuple[int, int | None]:
    """``bytes START-END/TOTAL`` -> (START, TOTAL or None when the server sent ``*``)."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not match:
        raise DownloadError(f"download of {url} failed: bad Content-Range header {value!r}")
    total = match[3]
    return int(match[1]), None if total == "*" else int(total)


def _content_range_total(value) -> int | None:
    """TOTAL from a 416 response's ``bytes */TOTAL``, if present."""
    match = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", value or "")
    return int(match[1]) if match else None


def _unreachable_message(url, dest, error) -> str:
    reason = getattr(error, "reason", None) or error
    return (
        f"could not download {url}: {reason}. This machine may be offline or the server "
        f"unreachable; alternatively download the file elsewhere and copy it to {dest}"
    )


def _interrupted_message(url, dest, size, total, error) -> str:
    got = f"{size} of {total} bytes" if total is not None else f"{size} bytes"
    why = f": {error}" if error is not None else ""
    return (
        f"download of {url} was interrupted after {got}{why}. The partial file "
        f"{part_path(dest)} is kept: run again to resume (if this machine is offline, download "
        f"the file elsewhere and copy it to {dest})"
    )


# --------------------------------------------------------------------------------------------
# Extracting


def extract_zip(archive, dest_dir) -> list[Path]:
    """Extract ``archive`` into ``dest_dir``; returns the extracted files' paths.

    Every entry is checked before anything is written: absolute paths, drive letters, ``..``
    components and symlinks raise :class:`ArchiveError` naming the entry. The entries are
    unpacked into a hidden temporary folder inside ``dest_dir`` (same filesystem, so the final
    moves are renames) and moved into place only once all of them have been read and their
    CRC-32 checked, so a corrupt or unsafe archive leaves ``dest_dir`` as it was. Existing files
    of the same name are replaced.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise ArchiveError(f"{archive} is not a valid zip archive ({e})") from None
    with zf:
        entries = [(info, _safe_entry_path(archive, info)) for info in zf.infolist()]
        dest_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_dir))
        try:
            files = []
            for info, rel in entries:
                target = staging.joinpath(*rel.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    # ZipExtFile checks the CRC-32 when it reaches the end of the entry, which
                    # is the same check testzip() makes, without a second pass over the data.
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                    raise ArchiveError(
                        f"{archive} is corrupt: entry {info.filename!r} cannot be read ({e})"
                    ) from None
                files.append(rel)
            files = list(dict.fromkeys(files))  # a name listed twice is extracted once (the last)
            for rel in files:
                final = dest_dir.joinpath(*rel.parts)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging.joinpath(*rel.parts), final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [dest_dir.joinpath(*rel.parts) for rel in files]


def _safe_entry_path(archive, info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path relative to the target, or ArchiveError if it could escape it."""
    name = info.filename
    # Backslashes are separators for archives made on Windows; treat them so everywhere.
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith(("/", "\\")):
        problem = "an absolute path"
    elif re.match(r"[A-Za-z]:", name):
        problem = "a path with a drive letter"
    elif ".." in parts:
        problem = "a '..' component"
    elif stat.S_ISLNK(info.external_attr >> 16):
        problem = "a symbolic link"
    elif not parts or "\0" in name:
        problem = "an empty or invalid name"
    else:
        return PurePosixPath(*parts)
    raise ArchiveError(f"unsafe entry {name!r} in {archive}: {problem}; nothing was extracted")


# --------------------------------------------------------------------------------------------
# Datasets


def _dataset(name) -> dict:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r} (known: {', '.join(sorted(DATASETS))})"
        ) from None


def missing_files(name: str, data_root=None) -> list[Path]:
    """The dataset's required files that are not in the data directory."""
    spec = _dataset(name)
    folder = data_dir(data_root) / spec["folder"]
    return [folder / f for f in spec["files"] if not (folder / f).is_file()]


def fetch_dataset(
    name: str, data_root=None, url: str | None = None, progress: bool = True, keep_archive=False
) -> Path:
    """Download and unpack a dataset into the data directory; returns its folder.

    Does nothing when every required file is already there. An archive already in the data
    directory (e.g. copied there by hand from another machine) is used instead of downloading;
    an interrupted download resumes on the next call. ``url`` overrides the registry's URL. The
    archive is deleted after a successful extraction unless ``keep_archive``.
    """
    spec = _dataset(name)
    root = data_dir(data_root)
    folder = root / spec["folder"]
    if not missing_files(name, root):
        return folder
    archive = root / spec["archive"]
    downloaded = not archive.is_file()
    if downloaded:
        download(
            url or spec["url"],
            archive,
            expected_size=spec["size"],
            sha256=spec["sha256"],
            progress=progress,
        )
    try:
        extract_expected(archive, folder, (*spec["files"], *spec["optional"]))
    except ArchiveError as e:
        if downloaded:
            # Its bytes came from the network and cannot be used; a rerun fetches a new copy.
            archive.unlink()
            raise ArchiveError(f"{e} (the download was deleted; run again to retry)") from None
        raise ArchiveError(f"{e} (delete it and run again to download a fresh copy)") from None
    missing = missing_files(name, root)
    if missing:
        raise ArchiveError(
            f"{archive} did not provide {', '.join(p.name for p in missing)} in {folder}"
        )
    if not keep_archive:
        archive.unlink()
    return folder


# Limits on what a dataset archive may expand to: the whole (the course's coco_captioning.zip
# expands to about 2 GB) and each entry's ratio to its compressed size (HDF5 features hardly
# compress; a ratio like 1000:1 is a decompression bomb).
MAX_DATASET_BYTES = 16 * 2**30
MAX_COMPRESSION_RATIO = 200


def extract_expected(archive, folder, names, max_bytes=MAX_DATASET_BYTES) -> list[Path]:
    """Extract the files ``names`` of a dataset from ``archive`` into ``folder``.

    An entry counts when its path is ``FOLDER/NAME`` (the course's layout) or ``NAME``; every
    other entry is ignored, so an archive can never replace other files of the data directory.
    The archive is refused (:class:`ArchiveError`, nothing written) when any entry is unsafe
    (absolute, ``..``, symlink...), when one of ``names`` appears twice, when the expected
    entries would expand beyond ``max_bytes`` or an entry expands more than
    :data:`MAX_COMPRESSION_RATIO` times its compressed size. The files are unpacked into a fresh
    hidden folder inside ``folder`` and renamed into place once all are read and CRC-checked.
    Returns the paths written.
    """
    archive, folder = Path(archive), Path(folder)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise ArchiveError(f"{archive} is not a valid zip archive ({e})") from None
    wanted = set(names)
    with zf:
        chosen = {}
        for info in zf.infolist():
            rel = _safe_entry_path(archive, info)
            if info.is_dir() or rel.name not in wanted:
                continue
            if rel.parts not in ((rel.name,), (folder.name, rel.name)):
                continue
            if rel.name in chosen:
                raise ArchiveError(f"{archive} holds two entries named {rel.name!r} (refused)")
            if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1 << 16):
                raise ArchiveError(
                    f"{archive}: entry {info.filename!r} expands {info.compress_size} bytes to "
                    f"{info.file_size} (more than {MAX_COMPRESSION_RATIO} times: refused)"
                )
            chosen[rel.name] = info
        total = sum(info.file_size for info in chosen.values())
        if total > max_bytes:
            raise ArchiveError(
                f"{archive}: the dataset's files would expand to {total} bytes, more than "
                f"{max_bytes} (refused)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
        try:
            for name, info in chosen.items():
                try:
                    # ZipExtFile stops at the entry's declared size and checks its CRC-32.
                    with zf.open(info) as src, open(staging / name, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                    raise ArchiveError(
                        f"{archive} is corrupt: entry {info.filename!r} cannot be read ({e})"
                    ) from None
            for name in chosen:
                os.replace(staging / name, folder / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [folder / name for name in chosen]


def asset_status(data_root=None) -> list[tuple[str, bool, bool]]:
    """``(path relative to the data directory, present, optional)`` for every known data file
    or folder (a trailing ``/`` marks a folder)."""
    root = data_dir(data_root)
    assets = [(name, False) for name in OTHER_ASSETS]
    for spec in DATASETS.values():
        assets += [(f"{spec['folder']}/{f}", False) for f in spec["files"]]
        assets += [(f"{spec['folder']}/{f}", True) for f in spec["optional"]]
    return [
        (name, (root / name).is_dir() if name.endswith("/") else (root / name).is_file(), optional)
        for name, optional in assets
    ]
