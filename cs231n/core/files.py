"""Writing outputs safely: every file appears whole or not at all (temp file, then rename), the
temp files of killed writers do not pile up, and two runs cannot write the same output at once
(:func:`output_lock`). Also the memory this machine has, to refuse a job that cannot fit before
it starts (:func:`require_memory`)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

# A temp file of a writer that is gone (killed mid-save) is removed by the next write of the
# same target once it is this old: a live writer's temp file is never touched (its PID is in
# the name), and the age guards against a PID reused by another machine sharing the folder.
STALE_TEMP_SECONDS = 10 * 60


def _temp_prefix(path: Path) -> str:
    return f".{path.stem}.{os.getpid()}-"


def _stale_temp_pattern(path: Path) -> re.Pattern:
    # What mkstemp(prefix=_temp_prefix(path), suffix=path.suffix) makes: 8 random characters.
    return re.compile(rf"\.{re.escape(path.stem)}\.(\d+)-[a-z0-9_]{{8}}{re.escape(path.suffix)}")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process, or no way to tell: alive
        return True
    return True


def remove_stale_temp_files(path, min_age=STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temp files that :func:`atomic_path` left beside ``path`` when its writer was
    killed: those whose writing process is gone and that are older than ``min_age`` seconds.
    Returns the paths removed. Temp files of other targets are never touched."""
    path = Path(path)
    pattern = _stale_temp_pattern(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                continue
            if _pid_alive(int(match.group(1))):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    The temporary file keeps ``path``'s suffix so that writers that pick a format from the
    extension (matplotlib, PIL) still work, and is named ``.STEM.PID-XXXXXXXX.SUFFIX`` after
    the writing process. On error the temporary file is removed and any existing ``path`` is
    left untouched; the temp files of earlier writers of ``path`` that were killed (their
    process is gone) are removed once they are :data:`STALE_TEMP_SECONDS` old.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder; name a file inside it")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _disk_full(e, path.parent):
            kept = " (the previous file is kept)" if path.exists() else ""
            raise DiskFullError(
                errno.ENOSPC, f"no space left on the device to write {path}{kept}"
            ) from None
        raise


def clear_cache_entry(path) -> None:
    """Remove whatever is at ``path`` (a folder, a file or a link) so that the entry can be
    built again. Only for the cache, which holds nothing but what the project generates: an
    entry replaced by something of another kind (a file where a folder belongs) would
    otherwise fail every rebuild with "Not a directory"."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def read_text(path, what="text file") -> str:
    """The UTF-8 text of ``path``. A file that is not UTF-8 raises ValueError naming the file,
    the offset of the first bad byte and ``what`` it should be (Python's own message names
    neither); a missing file raises FileNotFoundError."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path}: not a UTF-8 {what} (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None


class DiskFullError(OSError):
    """A write ran out of disk space (or quota); the target was left as it was."""


# Below this many free bytes a failed write is blamed on a full disk: writers such as
# torch.save report it in their own words ("unexpected pos ...").
DISK_FULL_MARGIN = 1 << 20


def _disk_full(error, folder) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(error, OSError | RuntimeError):
        return False
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_MARGIN
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_figure(fig, path, **kwargs) -> Path:
    """Save a matplotlib figure atomically; returns the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)
    return Path(path)


# ----------------------------------------------------------------------------------------------
# One writer per output


class OutputLockedError(OSError):
    """Another run holds the output (:func:`output_lock`). ``path``: the output; ``pid``: the
    other run's process id (None if unknown)."""

    def __init__(self, message, path=None, pid=None):
        super().__init__(message)
        self.path, self.pid = path, pid

    def __str__(self):
        return self.args[0]


def lock_file(name) -> Path:
    """The lock file of output ``name``: ``NAME.lock`` beside it."""
    name = Path(name)
    return name.with_name(name.name + ".lock")


_held: dict[str, list] = {}  # lock file -> [fd, count] for the locks this process holds
_held_guard = threading.Lock()


# What a lock file of this program says; an earlier release wrote the PID alone.
LOCK_TEXT = "cs231n output lock, PID {pid}\n"
_LOCK_LINE = re.compile(r"^(?:cs231n output lock, PID )?(\d+)\n?$")


def _read_lock(path: Path) -> tuple[bool, int | None]:
    """(whether ``path`` is a lock file of this program, its PID). Anything else under that
    name (a user's file, a folder) is never taken over, rewritten or removed."""
    try:
        if not path.is_file() or path.stat().st_size > 100:
            return False, None
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return False, None
    match = _LOCK_LINE.match(text)
    return (True, int(match.group(1))) if match else (False, None)


def _read_pid(path: Path) -> int | None:
    return _read_lock(path)[1]


def _not_a_lock(name, lock):
    return OutputLockedError(
        f"{lock} exists and is not a lock file of this program, so it cannot mark {name} as "
        "being written; move it away or choose another output name (nothing was changed)",
        path=Path(name),
    )


def _locked(name, lock, pid):
    other = f"PID {pid}" if pid is not None else "another process"
    return OutputLockedError(
        f"{name} is being written by another run ({other}, lock file {lock}); wait for it to "
        "finish or choose another output name",
        path=Path(name),
        pid=pid,
    )


def _create_lock(lock: Path) -> bool:
    """Create ``lock`` holding this process's lock text, only if nothing has that name: the
    text is written to a private file first, then hard-linked into place (a link never
    replaces a file), so no other process ever sees the lock empty. False if the name is taken."""
    text = LOCK_TEXT.format(pid=os.getpid()).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{lock.name}.", suffix=".new", dir=lock.parent)
    try:
        os.write(fd, text)
        os.close(fd)
        try:
            os.link(tmp, lock)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive create, then write
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                return False
            os.write(fd, text)
            os.close(fd)
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _acquire_flock(lock: Path, name):
    import fcntl

    while True:
        created = _create_lock(lock)
        if not created and not _read_lock(lock)[0]:
            if not os.path.lexists(lock):  # its holder removed it as it let go: try again
                continue
            raise _not_a_lock(name, lock)
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _locked(name, lock, _read_pid(lock)) from None
        except BaseException:
            os.close(fd)
            raise
        # The holder we waited on may have removed the file as it released it: then this lock
        # is on a file nobody else will open; start again on the current one.
        try:
            current = os.stat(lock)
        except FileNotFoundError:
            os.close(fd)
            continue
        mine = os.fstat(fd)
        if (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)
            continue
        if not created:  # a lock left by a killed run of this program: take it over
            os.ftruncate(fd, 0)
            os.write(fd, LOCK_TEXT.format(pid=os.getpid()).encode())
        return fd


def _acquire_exclusive(lock: Path, name):
    """Where there is no flock (Windows): create the file exclusively; a lock file of this
    program whose process is gone is taken over."""
    for _ in range(3):
        if _create_lock(lock):
            return os.open(lock, os.O_RDWR)
        ours, pid = _read_lock(lock)
        if not ours:
            raise _not_a_lock(name, lock)
        if pid is not None and not _pid_alive(pid):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            continue
        raise _locked(name, lock, pid)
    raise _locked(name, lock, _read_pid(lock))


@contextlib.contextmanager
def output_lock(name):
    """Hold output ``name`` (a file, a folder or a stem such as a checkpoint's NAME) for this
    run: the lock file ``NAME.lock`` holds the PID, and a second run that asks for the same
    output while this one holds it gets :class:`OutputLockedError` naming the output and this
    run's PID. The lock goes with the process (``flock``), so a killed run leaves none that
    counts: a lock file of this program left behind is taken over. A file named ``NAME.lock``
    that this program did not write is never overwritten or removed: the run is refused
    (:class:`OutputLockedError` naming it). Re-entrant within a process.
    """
    name = Path(name)
    lock = lock_file(name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(lock)
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
        else:
            try:
                import fcntl  # noqa: F401

                fd = _acquire_flock(lock, name)
            except ImportError:
                fd = _acquire_exclusive(lock, name)
            _held[key] = [fd, 1]
    try:
        yield lock
    finally:
        with _held_guard:
            _held[key][1] -= 1
            if _held[key][1] == 0:
                fd = _held.pop(key)[0]
                # Remove the file while still holding the lock (see _acquire_flock), then let go.
                with contextlib.suppress(OSError):
                    os.unlink(lock)
                os.close(fd)


# ----------------------------------------------------------------------------------------------
# Memory


def memory_limit() -> int:
    """Bytes of memory this process can use at most: the machine's physical memory, or the
    container's limit (cgroup) when lower. A job estimated to need more is refused."""
    try:
        limit = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        limit = 1 << 62
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            text = Path(cgroup).read_text().strip()
            if text.isdigit():
                limit = min(limit, int(text))
    return limit


def format_bytes(n) -> str:
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # unreachable


def require_memory(nbytes, what, limit=None) -> None:
    """Raise ValueError when ``what`` (e.g. "--hidden-dim 10000000") is estimated to need more
    than ``limit`` bytes (default: :func:`memory_limit`)."""
    limit = memory_limit() if limit is None else limit
    if nbytes > limit:
        raise ValueError(
            f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
            f"{format_bytes(limit)} this machine has"
        )
