"""The one extractor: every archive the project unpacks goes through :func:`extract` (zip, and
tar, plain or compressed, such as CIFAR-10's ``cifar-10-python.tar.gz``).

It is written for archives from the network, which may be corrupt or hostile. Before anything
is written, every entry's path is checked (nothing absolute, no ``..``, no symbolic link), no
chosen file may come twice, and what the chosen files would expand to is bounded (per entry
against its compressed size, and in total), all from the archive's directory. The files are
then unpacked into a fresh hidden folder beside their destination, CRC-checked (and
SHA-256-checked where a checksum is pinned) as they are read, and renamed into place only once
all of them are good: a refused archive leaves the destination as it was.

Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

# Limits on what the chosen files may expand to: in total (the course's coco_captioning.zip
# expands to about 2 GB), and each entry against its compressed size (HDF5 features and JPEGs
# hardly compress; a ratio like 1000:1 is a decompression bomb).
MAX_BYTES = 16 * 2**30
MAX_COMPRESSION_RATIO = 200

# The errors zipfile raises for unreadable entry data (BadZipFile for a bad header or CRC,
# zlib.error for bad deflate data, EOFError for a truncated archive, NotImplementedError for
# an unknown compression method, RuntimeError for an encrypted entry).
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


class ArchiveError(ValueError):
    """A zip archive is corrupt, unsafe to extract, or lacks the files it should hold."""


def extract(archive, dest_dir, select=None, *, sha256=None, max_bytes=None) -> list[Path]:
    """Extract files of ``archive`` into ``dest_dir``; returns the paths written.

    ``select(paths)`` gets the archive's file entries (safe relative paths, in archive order)
    and returns ``{entry path: destination relative to dest_dir}`` for the files to extract
    (default: every file, at its own path). ``sha256``: ``{destination: hex digest}`` for files
    that must match a pinned checksum. ``max_bytes``: what the chosen files may expand to, in
    all (default: :data:`MAX_BYTES`). Files already at a destination are replaced.

    Raises :class:`ArchiveError` and writes nothing when the archive is neither a zip nor a
    tar, when any entry is unsafe (for tar also a link or special file), when two chosen entries land on the same destination (an archive holding
    a name twice included), when a chosen entry expands more than
    :data:`MAX_COMPRESSION_RATIO` times its compressed size, when the chosen files would expand
    beyond the limit, or when a chosen entry is corrupt or fails its checksum.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    sha256 = sha256 or {}
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if archive.is_file() and not zipfile.is_zipfile(archive) and _is_tar(archive):
        return _extract_tar(archive, dest_dir, select, sha256, max_bytes)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise ArchiveError(f"{archive} is not a valid zip archive ({e})") from None
    with zf:
        # Every entry is checked, not only the chosen ones: an archive with a hostile entry
        # is not one to trust with the others.
        entries = [(info, _safe_entry_path(archive, info)) for info in zf.infolist()]
        entries = [(info, rel) for info, rel in entries if not info.is_dir()]
        chosen = _check_sizes(archive, _choose(archive, entries, _plan(entries, select)), max_bytes)
        return _unpack(
            archive,
            dest_dir,
            chosen,
            sha256,
            lambda info, target: _copy_entry(archive, zf, info, target),
        )


def _choose(archive, entries, plan) -> dict[str, zipfile.ZipInfo]:
    """``{destination: entry}`` for the planned entries; a destination planned twice (two
    entries of the same name, or two mapped onto one file) is refused: which one would win
    is up to the archive's maker."""
    chosen = {}
    for info, rel in entries:
        dest = plan.get(rel)
        if dest is None:
            continue
        if dest in chosen:
            raise ArchiveError(f"{archive} holds two entries named {dest!r} (refused)")
        chosen[dest] = info
    return chosen


def _plan(entries, select) -> dict:
    """Which entries to extract, and where: every file at its own path, or ``select``'s choice."""
    if select is None:
        return {rel: rel.as_posix() for _, rel in entries}
    return select([rel for _, rel in entries])


def _unpack(archive, dest_dir: Path, chosen: dict, sha256: dict, copy) -> list[Path]:
    """Write each chosen entry (``copy(entry, target)`` returns its SHA-256) into a staging
    folder beside the destinations, check it against ``sha256``, then rename every file into
    place; the staging folder is removed whatever happens, so a failure leaves ``dest_dir`` as
    it was. Shared by the zip and tar readers."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    # Same filesystem as the destinations, so moving the files into place is a rename.
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_dir))
    try:
        for dest, entry in chosen.items():
            target = staging / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            actual = copy(entry, target)
            expected = sha256.get(dest)
            if expected is not None and actual != expected:
                name = getattr(entry, "filename", None) or entry.name
                raise ArchiveError(f"{archive}: {name!r} has sha256 {actual}, expected {expected}")
        for dest in chosen:
            final = dest_dir / dest
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / dest, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [dest_dir / dest for dest in chosen]


def _check_sizes(archive, chosen, max_bytes) -> dict[str, zipfile.ZipInfo]:
    """``chosen`` unchanged, or ArchiveError when the sizes the archive declares exceed the
    limits. Declared sizes can be trusted: zipfile reads no more than an entry's declared size
    and the CRC check then fails on an entry that lied."""
    total = 0
    for info in chosen.values():
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1 << 16):
            raise ArchiveError(
                f"{archive}: entry {info.filename!r} expands {info.compress_size} bytes to "
                f"{info.file_size} (more than {MAX_COMPRESSION_RATIO} times: refused)"
            )
        total += info.file_size
    if total > max_bytes:
        raise ArchiveError(
            f"{archive}: the files to extract would expand to {total} bytes, more than "
            f"{max_bytes} (refused)"
        )
    return chosen


def _copy_entry(archive, zf, info, target: Path) -> str:
    """Write the entry to ``target``; returns its SHA-256. ZipExtFile stops at the entry's
    declared size and checks its CRC-32 at the end (what testzip() checks, in the same pass)."""
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        try:
            with zf.open(info) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except _READ_ERRORS as e:
            raise ArchiveError(
                f"{archive} is corrupt: entry {info.filename!r} cannot be read ({e})"
            ) from None
    return digest.hexdigest()


def _parts(name: str) -> list[str]:
    """An entry name's path components; backslashes are separators for archives made on
    Windows, so they are treated so everywhere."""
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def _path_problem(name: str, parts: list[str]) -> str | None:
    """Why an entry's path could escape the target (zip and tar alike), or None."""
    if name.startswith(("/", "\\")):
        return "an absolute path"
    if re.match(r"[A-Za-z]:", name):
        return "a path with a drive letter"
    if ".." in parts:
        return "a '..' component"
    return None


def _safe_entry_path(archive, info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path relative to the target, or ArchiveError if it could escape it."""
    name = info.filename
    parts = _parts(name)
    problem = _path_problem(name, parts)
    if problem is None and stat.S_ISLNK(info.external_attr >> 16):
        problem = "a symbolic link"
    elif problem is None and (not parts or "\0" in name):
        problem = "an empty or invalid name"
    if problem is None:
        return PurePosixPath(*parts)
    raise ArchiveError(f"unsafe entry {name!r} in {archive}: {problem}; nothing was extracted")


# --------------------------------------------------------------------------------------------
# tar archives (plain, gzip, bz2, xz), under the same rules as zip


def _is_tar(archive: Path) -> bool:
    try:
        return tarfile.is_tarfile(archive)
    except (OSError, tarfile.TarError, EOFError):
        return False


def _safe_tar_path(archive, member: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's path relative to the target (None for a folder), or ArchiveError when it
    could escape it or is not a plain file: links, devices and FIFOs are refused outright."""
    name = member.name
    parts = _parts(name)
    if member.issym() or member.islnk():
        problem = "a link"
    elif not (member.isfile() or member.isdir()):
        problem = "a device, FIFO or other special file"
    else:
        problem = _path_problem(name, parts)
        if problem is None and ("\0" in name or (not parts and not member.isdir())):
            problem = "an empty or invalid name"
    if problem is not None:
        raise ArchiveError(f"unsafe entry {name!r} in {archive}: {problem}; nothing was extracted")
    return None if member.isdir() else PurePosixPath(*parts)


def _extract_tar(archive, dest_dir, select, sha256, max_bytes) -> list[Path]:
    """:func:`extract` for a tar archive: every member checked (plain files and folders only,
    safe paths), the chosen ones bounded in total size, unpacked into a staging folder with
    their SHA-256 checked, then renamed into place; corrupt data (a truncated or damaged gzip
    stream) is an ArchiveError and leaves the destination as it was."""
    try:
        tf = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ArchiveError(f"{archive} is not a readable tar archive ({e})") from None
    with tf:
        try:
            members = tf.getmembers()  # reads the whole stream: a damaged one fails here
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise ArchiveError(f"{archive} is corrupt ({e}); nothing was extracted") from None
        entries = [(m, _safe_tar_path(archive, m)) for m in members]
        entries = [(m, rel) for m, rel in entries if rel is not None]
        chosen = _choose(archive, entries, _plan(entries, select))
        total = sum(m.size for m in chosen.values())
        if total > max_bytes:
            raise ArchiveError(
                f"{archive}: the files to extract would expand to {total} bytes, more than "
                f"{max_bytes} (refused)"
            )

        def copy(member, target) -> str:
            digest = hashlib.sha256()
            try:
                with tf.extractfile(member) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                raise ArchiveError(
                    f"{archive} is corrupt: entry {member.name!r} cannot be read ({e})"
                ) from None
            return digest.hexdigest()

        return _unpack(archive, dest_dir, chosen, sha256, copy)


__all__ = ["ArchiveError", "MAX_BYTES", "MAX_COMPRESSION_RATIO", "extract"]
