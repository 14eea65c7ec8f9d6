"""Downloading over HTTP: resumable, verified, with progress.

:func:`download` streams a URL into ``NAME.part`` beside its destination, resumes that file with
an HTTP Range request after an interruption, checks its size (and SHA-256 when known) and only
then renames it into place. What is downloaded, and where it goes, is the registry's business
(:mod:`cs231n.data.assets`); unpacking archives is :mod:`cs231n.data.archives`'.

Standard library and tqdm only: no PyTorch, so the download works before anything heavy is
installed or importable.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..core.progress import progress_bar

USER_AGENT = "cs231n-a3 (python urllib)"

# A download is given up (its partial file kept, to resume) when it stalls: less than
# STALL_BYTES arrive in STALL_TIMEOUT seconds (a server that trickles a byte every few seconds
# counts), or when it is not done after DEADLINE seconds in all. Both can be set per call, with
# :func:`limits`, or with the environment variables below (seconds).
STALL_TIMEOUT = 60.0
STALL_BYTES = 1024
DEADLINE = 6 * 3600.0
STALL_ENV_VAR = "CS231N_DOWNLOAD_STALL_TIMEOUT"
DEADLINE_ENV_VAR = "CS231N_DOWNLOAD_DEADLINE"
_limits: dict[str, float] = {}  # set by limits()
ALLOWED_SCHEMES = ("http", "https")


class DownloadError(OSError):
    """A download failed: network error, HTTP error, or a connection closed early."""


class IntegrityError(DownloadError):
    """A downloaded file has the wrong size or checksum (the partial file is deleted)."""


def _seconds(value, what) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{what} must be a positive number of seconds, got {value!r}")
    return seconds


def current_limits() -> tuple[float, float]:
    """(stall timeout, deadline) in seconds: those of :func:`limits`, else the environment's
    (``CS231N_DOWNLOAD_STALL_TIMEOUT``, ``CS231N_DOWNLOAD_DEADLINE``), else the defaults."""
    result = []
    for key, env, default in (
        ("stall_timeout", STALL_ENV_VAR, STALL_TIMEOUT),
        ("deadline", DEADLINE_ENV_VAR, DEADLINE),
    ):
        if key in _limits:
            result.append(_limits[key])
        elif os.environ.get(env):
            result.append(_seconds(os.environ[env], f"${env}"))
        else:
            result.append(default)
    return result[0], result[1]


@contextlib.contextmanager
def limits(stall_timeout=None, deadline=None):
    """Every download inside gives up after ``stall_timeout`` seconds of (almost) nothing
    arriving or ``deadline`` seconds in all (None: keep the current value)."""
    saved = dict(_limits)
    if stall_timeout is not None:
        _limits["stall_timeout"] = _seconds(stall_timeout, "the stall timeout")
    if deadline is not None:
        _limits["deadline"] = _seconds(deadline, "the deadline")
    try:
        yield
    finally:
        _limits.clear()
        _limits.update(saved)


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http and https only; urllib's own would follow ftp:// too, and
    blame the failure that follows on the first URL."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = headers.get("location") or headers.get("uri")
        if target:
            target = urllib.parse.urljoin(req.full_url, target)
            if urllib.parse.urlsplit(target).scheme.lower() not in ALLOWED_SCHEMES:
                fp.close()
                raise DownloadError(
                    f"download of {req.full_url} failed: the server redirects to {target}, and "
                    f"only {' and '.join(ALLOWED_SCHEMES)} are followed"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


_opener = urllib.request.build_opener(_SafeRedirects)


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
    timeout: float | None = None,
    deadline: float | None = None,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download; returns ``dest``.

    Bytes go to ``dest.part``; an existing part file is continued with a Range request (a server
    that ignores Range gets the download restarted from scratch). The result must match the
    size the server announced, ``expected_size`` and ``sha256`` when given; only then is it
    renamed to ``dest`` (atomically), so ``dest`` is always complete. A size or checksum mismatch
    deletes the part file and raises :class:`IntegrityError`; a network failure raises
    :class:`DownloadError` and keeps the part file, so the next call resumes.

    ``timeout``: the stall timeout, seconds: the download fails when less than
    :data:`STALL_BYTES` arrive in that time; ``deadline``: seconds for the whole download (None:
    :func:`current_limits`). Redirects are followed to http and https URLs only.
    """
    stall, total_time = current_limits()
    timeout = stall if timeout is None else _seconds(timeout, "timeout")
    deadline = total_time if deadline is None else _seconds(deadline, "deadline")
    timeout = (timeout, time.monotonic() + deadline, deadline)
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
    # timeout: (stall timeout, monotonic end, deadline) in seconds
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
        response = _opener.open(request, timeout=timeout[0])
    except DownloadError:
        raise
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
            where = url if e.url in (None, url) else f"{url} (redirected to {e.url})"
            raise DownloadError(
                f"download of {where} failed: HTTP {e.code} {e.reason} (alternatively download "
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
            progress_bar(
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
            stall, end, deadline = timeout
            window_start, window_bytes = time.monotonic(), 0
            try:
                while chunk := read(chunk_size):
                    f.write(chunk)
                    bar.update(len(chunk))
                    now = time.monotonic()
                    window_bytes += len(chunk)
                    if now > end:
                        raise TimeoutError(f"not done after the deadline of {deadline:g} s")
                    if now - window_start >= stall:
                        if window_bytes < STALL_BYTES:
                            raise TimeoutError(
                                f"stalled: {window_bytes} bytes in the last {now - window_start:.0f} "
                                f"s (less than {STALL_BYTES} in the stall timeout of {stall:g} s)"
                            )
                        window_start, window_bytes = now, 0
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
