"""Downloading over HTTP: resumable, verified, with progress.

:func:`download` streams a URL into ``NAME.part`` beside its destination, resumes that file with
an HTTP Range request after an interruption, checks its size (and SHA-256 when known) and only
then renames it into place. What is downloaded, and where it goes, is the registry's business
(:mod:`cs231n.data.assets`); unpacking archives is :mod:`cs231n.data.archives`'.

Standard library and tqdm only: no PyTorch, so the download works before anything heavy is
installed or importable.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

USER_AGENT = "cs231n-a3 (python urllib)"


class DownloadError(OSError):
    """A download failed: network error, HTTP error, or a connection closed early."""


class IntegrityError(DownloadError):
    """A downloaded file has the wrong size or checksum (the partial file is deleted)."""


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
