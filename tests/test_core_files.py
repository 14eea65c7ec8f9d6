import errno

import pytest

from cs231n.core.files import atomic_path


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".txt" and tmp.parent == target.parent
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_atomic_path_gives_the_usual_permissions(tmp_path):
    # Regression: outputs kept mkstemp's 0600 mode.
    import os

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.png") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------------------------
# Temp files of killed writers (issue #11, j4)


def _dead_pid():
    """The PID of a process that has exited."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path, seconds):
    import os
    import time

    old = time.time() - seconds
    os.utime(path, (old, old))


def test_atomic_path_names_its_temp_file_after_the_writer(tmp_path):
    import os

    with atomic_path(tmp_path / "ckpt.npz") as tmp:
        assert tmp.name.startswith(f".ckpt.{os.getpid()}-") and tmp.name.endswith(".npz")
        tmp.write_bytes(b"x")


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    from cs231n.core.files import STALE_TEMP_SECONDS

    dead = _dead_pid()
    stale = tmp_path / f".ckpt.{dead}-abcd1234.npz"  # killed mid-save, long ago
    recent = tmp_path / f".ckpt.{dead}-efgh5678.npz"  # killed a moment ago: may be in use
    alive = tmp_path / f".ckpt.{1}-ijkl9012.npz"  # PID 1 never exits: a live writer
    other = tmp_path / f".other.{dead}-mnop3456.npz"  # another target's
    stem_dot = tmp_path / f".ckpt.v2.{dead}-qrst7890.npz"  # target ckpt.v2.npz's
    for p in (stale, recent, alive, other, stem_dot):
        p.write_bytes(b"half a checkpoint")
    for p in (stale, alive, other, stem_dot):
        _age(p, STALE_TEMP_SECONDS + 60)

    with atomic_path(tmp_path / "ckpt.npz") as tmp:
        tmp.write_bytes(b"whole")
    assert not stale.exists()
    assert recent.exists() and alive.exists() and other.exists() and stem_dot.exists()
    assert (tmp_path / "ckpt.npz").read_bytes() == b"whole"


# ----------------------------------------------------------------------------------------------
# One run per output (issue #11, j3)

HOLDER = """
import sys
from cs231n.core.files import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_run_on_the_same_output_is_refused_with_the_first_ones_pid(tmp_path):
    import subprocess
    import sys

    from cs231n.core.files import OutputLockedError, output_lock

    name = tmp_path / "caption_lstm"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(name)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError) as caught, output_lock(name):
            pass
        message = str(caught.value)
        assert str(name) in message and f"PID {holder.pid}" in message
        assert caught.value.pid == holder.pid and isinstance(caught.value, OSError)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    with output_lock(name) as lock:  # released with its process: free again
        assert lock == tmp_path / "caption_lstm.lock"
    assert not lock.exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    from cs231n.core.files import lock_file, output_lock

    for left in (f"{_dead_pid()}\n", f"cs231n output lock, PID {_dead_pid()}\n"):  # old, new
        name = tmp_path / "out.png"
        lock_file(name).write_text(left)
        with output_lock(name) as lock:
            import os

            assert lock.read_text() == f"cs231n output lock, PID {os.getpid()}\n"
        assert not lock.exists()


@pytest.mark.parametrize(
    "content",
    [b"my notes\n", b"", b"\x89PNG\r\n\x1a\n", b"12 is not a pid line\n", b"7" * 200, "dir"],
)
def test_a_file_named_like_the_lock_is_never_replaced_or_removed(tmp_path, content):
    """An existing user file NAME.lock was overwritten with a PID and then deleted by a run
    writing NAME (issue #19 g): the run is refused instead, naming the file; it stays as it was."""
    from cs231n.core.files import OutputLockedError, lock_file, output_lock

    name = tmp_path / "caption_lstm"
    lock = lock_file(name)
    if content == "dir":
        lock.mkdir()
        (lock / "keep.txt").write_text("mine")
    else:
        lock.write_bytes(content)
    with pytest.raises(OutputLockedError, match="is not a lock file of this program") as caught:
        with output_lock(name):
            pass
    assert str(lock) in str(caught.value)
    if content == "dir":
        assert (lock / "keep.txt").read_text() == "mine"
    else:
        assert lock.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["caption_lstm.lock"]  # no leftovers


def test_output_lock_is_reentrant_within_a_process(tmp_path):
    from cs231n.core.files import output_lock

    with output_lock(tmp_path / "x") as outer, output_lock(tmp_path / "x") as inner:
        assert outer == inner and outer.exists()
    assert not outer.exists()


def test_require_memory_names_what_and_the_limit():
    from cs231n.core.files import memory_limit, require_memory

    assert memory_limit() > 10**8
    require_memory(1000, "a small thing")
    with pytest.raises(ValueError, match=r"--hidden-dim 9 needs about 2\.0 TB of memory, more "):
        require_memory(2 * 10**12, "--hidden-dim 9", limit=10**9)


# ---- a full disk ----


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("[enforce fail] unexpected pos 64"),
    ],
    ids=["ENOSPC", "torch.save"],
)
def test_a_full_disk_is_named_and_the_previous_file_kept(tmp_path, monkeypatch, failure):
    import shutil

    from cs231n.core import files as io_utils

    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"previous")
    monkeypatch.setattr(
        shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9, 1000)
    )
    with pytest.raises(
        io_utils.DiskFullError,
        match="no space left on the device to write .*checkpoint.pt .the previous file is kept",
    ):
        with io_utils.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise failure
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_other_errors_are_not_blamed_on_the_disk(tmp_path):
    from cs231n.core import files as io_utils

    with pytest.raises(RuntimeError, match="boom"):
        with io_utils.atomic_path(tmp_path / "x.bin"):
            raise RuntimeError("boom")


def test_writing_onto_a_folder_is_refused(tmp_path):
    from cs231n.core import files as io_utils

    with pytest.raises(IsADirectoryError, match="it is a folder"):
        with io_utils.atomic_path(tmp_path):
            pass
