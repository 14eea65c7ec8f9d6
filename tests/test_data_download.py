"""Downloads, and fetching COCO, against a local HTTP server on 127.0.0.1 (no internet needed).

The server (tests/local_server.py) serves an in-memory zip laid out like the course's
``coco_captioning.zip`` and can misbehave on demand: ignore Range headers, drop the connection
part-way, announce a wrong Content-Length, or stall. It records every request so tests can
check what was asked and sent.
"""

import hashlib
import io
import random
import re
import socket
import zipfile

import pytest
from local_server import FileServer, serving

from cs231n.cli import main
from cs231n.data import archives, assets
from cs231n.data import download as dl

COCO = assets.ASSETS["coco"]
FOLDER, ARCHIVE = COCO.dataset.folder, COCO.archive.path
COCO_NAMES = (*COCO.dataset.files, *COCO.dataset.optional)
ARCHIVE_PATH = "/coco_captioning.zip"
NOISE = random.Random(0).randbytes(300_000)


def make_coco_zip(flat=False, extra=()):
    """A small archive in the real one's layout: ``coco_captioning/<file>`` (or bare files).

    One member is incompressible random bytes so the archive is big enough (~300 KB) to be
    sent in several chunks; ``extra`` adds ``(ZipInfo or name, bytes)`` entries at the end.
    """
    buf = io.BytesIO()
    prefix = "" if flat else f"{FOLDER}/"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in COCO_NAMES:
            zf.writestr(prefix + name, f"placeholder {name}\n")
        # Stored, not deflated: the corruption test flips one of its bytes in place.
        zf.writestr(prefix + "noise.bin", NOISE, compress_type=zipfile.ZIP_STORED)
        for info, data in extra:
            zf.writestr(info, data)
    return buf.getvalue()


class CocoServer(FileServer):
    """The local server with the fake COCO archive at ``ARCHIVE_PATH`` (its default URL)."""

    def __init__(self):
        super().__init__({ARCHIVE_PATH: make_coco_zip()})

    def url(self, path=ARCHIVE_PATH):
        return super().url(path)

    @property
    def body(self):
        return self.files[ARCHIVE_PATH]


@pytest.fixture
def server():
    with serving(server_class=CocoServer) as srv:
        yield srv


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: a port the OS just handed out and took back."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/coco_captioning.zip"


def fetch(*args, **kwargs):
    return dl.download(*args, progress=False, timeout=5, **kwargs)


def assert_coco_extracted(folder):
    for name in COCO_NAMES:
        assert (folder / name).read_text() == f"placeholder {name}\n"


# --------------------------------------------------------------------------------------------
# download()


def test_download_verifies_and_renames(server, tmp_path):
    dest = tmp_path / "sub" / "a.zip"
    sha = hashlib.sha256(server.body).hexdigest()
    assert fetch(server.url(), dest, expected_size=len(server.body), sha256=sha) == dest
    assert dest.read_bytes() == server.body
    assert not dl.part_path(dest).exists()
    assert [(r["range"], r["status"]) for r in server.requests] == [(None, 200)]


def test_resume_sends_range_and_gets_only_the_rest(server, tmp_path):
    dest = tmp_path / "a.zip"
    have = len(server.body) // 3
    dl.part_path(dest).write_bytes(server.body[:have])
    fetch(server.url(), dest, chunk_size=4096)
    assert dest.read_bytes() == server.body
    [request] = server.requests
    assert request["range"] == f"bytes={have}-" and request["status"] == 206
    assert request["sent"] == len(server.body) - have


def test_server_ignoring_range_restarts_from_scratch(server, tmp_path):
    server.mode = "ignore-range"
    dest = tmp_path / "a.zip"
    dl.part_path(dest).write_bytes(server.body[:5000])
    fetch(server.url(), dest)
    assert dest.read_bytes() == server.body  # not the first 5000 bytes twice
    [request] = server.requests
    assert request["range"] == "bytes=5000-" and request["status"] == 200


def test_complete_part_file_answered_416_is_finished(server, tmp_path):
    dest = tmp_path / "a.zip"
    dl.part_path(dest).write_bytes(server.body)
    fetch(server.url(), dest, expected_size=len(server.body))
    assert dest.read_bytes() == server.body
    assert [r["status"] for r in server.requests] == [416]


def test_stale_part_longer_than_the_file_restarts(server, tmp_path):
    dest = tmp_path / "a.zip"
    dl.part_path(dest).write_bytes(b"x" * (len(server.body) + 10))
    fetch(server.url(), dest)
    assert dest.read_bytes() == server.body
    assert [r["status"] for r in server.requests] == [416, 200]


def test_interrupted_download_keeps_part_and_next_call_resumes(server, tmp_path):
    server.drop_after = 100_000
    dest = tmp_path / "a.zip"
    with pytest.raises(dl.DownloadError, match="interrupted after 100000 of") as err:
        fetch(server.url(), dest, chunk_size=8192)
    assert "run again to resume" in str(err.value) and server.url() in str(err.value)
    assert not dest.exists()
    assert dl.part_path(dest).read_bytes() == server.body[:100_000]
    fetch(server.url(), dest)
    assert dest.read_bytes() == server.body
    assert [r["range"] for r in server.requests] == [None, "bytes=100000-"]


def test_stalled_server_times_out_and_keeps_part(server, tmp_path):
    server.mode = "stall"
    dest = tmp_path / "a.zip"
    with pytest.raises(dl.DownloadError, match="interrupted after 1000 of .*timed out"):
        dl.download(server.url(), dest, progress=False, timeout=0.3)
    assert dl.part_path(dest).stat().st_size == 1000


def test_a_trickling_server_is_a_stall_and_the_part_is_kept(server, tmp_path):
    """One byte every 50 ms never trips a socket timeout; less than STALL_BYTES within the
    stall timeout gives up, keeping what arrived for a resume (issue #19 c)."""
    server.mode = "trickle"
    dest = tmp_path / "a.zip"
    with pytest.raises(
        dl.DownloadError,
        match=r"stalled: \d+ bytes in the last 0 s .*stall timeout of 0.3 s.* is kept: run again to resume",
    ):
        dl.download(server.url(), dest, progress=False, timeout=0.3)
    kept = dl.part_path(dest).stat().st_size
    assert 0 < kept < 100
    server.mode = "normal"  # the next call resumes where it stopped
    assert fetch(server.url(), dest) == dest and dest.read_bytes() == server.body
    assert server.requests[-1]["range"] == f"bytes={kept}-"


def test_the_deadline_ends_a_slow_download(server, tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "STALL_BYTES", 1)  # steady progress: never a stall
    server.mode = "trickle"
    dest = tmp_path / "a.zip"
    with pytest.raises(dl.DownloadError, match="not done after the deadline of 0.4 s"):
        dl.download(server.url(), dest, progress=False, timeout=5, deadline=0.4)
    assert dl.part_path(dest).stat().st_size > 0


def test_limits_come_from_the_call_the_context_or_the_environment(monkeypatch):
    monkeypatch.delenv(dl.STALL_ENV_VAR, raising=False)
    monkeypatch.delenv(dl.DEADLINE_ENV_VAR, raising=False)
    assert dl.current_limits() == (dl.STALL_TIMEOUT, dl.DEADLINE)
    monkeypatch.setenv(dl.STALL_ENV_VAR, "7")
    monkeypatch.setenv(dl.DEADLINE_ENV_VAR, "90")
    assert dl.current_limits() == (7, 90)
    with dl.limits(stall_timeout=3):
        assert dl.current_limits() == (3, 90)
        with dl.limits(deadline=4):
            assert dl.current_limits() == (3, 4)
    assert dl.current_limits() == (7, 90)
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv(dl.DEADLINE_ENV_VAR, bad)
        with pytest.raises(
            ValueError,
            match=rf"\$CS231N_DOWNLOAD_DEADLINE must be a positive number of seconds, got '{bad}'",
        ):
            dl.current_limits()
    with pytest.raises(ValueError, match="the stall timeout must be a positive"):
        with dl.limits(stall_timeout=0):
            pass


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/coco_captioning.zip", "file:///etc/passwd"])
def test_a_redirect_to_another_scheme_is_refused_naming_both_urls(server, tmp_path, target):
    server.redirects["/moved.zip"] = target
    dest = tmp_path / "a.zip"
    with pytest.raises(dl.DownloadError) as err:
        fetch(server.url("/moved.zip"), dest)
    message = str(err.value)
    assert server.url("/moved.zip") in message and target in message
    assert "only http and https are followed" in message
    assert not dest.exists()


def test_a_redirect_within_http_is_followed_and_named_when_it_fails(server, tmp_path):
    server.redirects["/moved.zip"] = server.url()
    dest = tmp_path / "a.zip"
    assert fetch(server.url("/moved.zip"), dest).read_bytes() == server.body
    server.redirects["/gone.zip"] = server.url("/nowhere.zip")
    with pytest.raises(
        dl.DownloadError, match=r"gone.zip \(redirected to .*/nowhere.zip\) failed: HTTP 404"
    ):
        fetch(server.url("/gone.zip"), tmp_path / "b.zip")


def test_sha256_mismatch_deletes_the_part(server, tmp_path):
    dest = tmp_path / "a.zip"
    with pytest.raises(dl.IntegrityError) as err:
        fetch(server.url(), dest, sha256="0" * 64)
    message = str(err.value)
    assert server.url() in message and "0" * 64 in message
    assert hashlib.sha256(server.body).hexdigest() in message
    assert not dest.exists() and not dl.part_path(dest).exists()


def test_size_differing_from_expected_is_refused_before_downloading(server, tmp_path):
    dest = tmp_path / "a.zip"
    size = len(server.body)
    with pytest.raises(dl.IntegrityError, match=f"reports {size} bytes, expected {size + 1}"):
        fetch(server.url(), dest, expected_size=size + 1)
    assert not dest.exists() and not dl.part_path(dest).exists()


def test_wrong_content_length_is_a_size_mismatch(server, tmp_path):
    # The server announces (and the client reads) 1000 bytes fewer than the real file.
    server.mode = "short-length"
    dest = tmp_path / "a.zip"
    size = len(server.body)
    with pytest.raises(dl.IntegrityError, match=f"reports {size - 1000} bytes, expected {size}"):
        fetch(server.url(), dest, expected_size=size)
    assert not dest.exists() and not dl.part_path(dest).exists()
    # Without expected_size the short file is caught by its checksum instead.
    with pytest.raises(
        dl.IntegrityError, match=re.escape(str(dl.part_path(dest))) + " is [0-9a-f]{64}"
    ):
        fetch(server.url(), dest, sha256=hashlib.sha256(server.body).hexdigest())
    assert not dest.exists() and not dl.part_path(dest).exists()


def test_truncated_body_is_an_error_and_never_the_final_file(server, tmp_path):
    server.drop_after, server.drop_once = 5000, False  # every response is cut short
    dest = tmp_path / "a.zip"
    for _ in range(2):
        with pytest.raises(dl.DownloadError, match=f"of {len(server.body)} bytes"):
            fetch(server.url(), dest)
    assert not dest.exists()
    assert dl.part_path(dest).stat().st_size == 10_000  # two requests' worth, in order
    assert dl.part_path(dest).read_bytes() == server.body[:10_000]


def test_http_error_names_the_url(server, tmp_path):
    url = server.url("/missing.zip")
    with pytest.raises(dl.DownloadError, match=f"{url} failed: HTTP 404"):
        fetch(url, tmp_path / "a.zip")


def test_connection_refused_is_a_clear_download_error(tmp_path):
    url = closed_port_url()
    dest = tmp_path / "a.zip"
    with pytest.raises(dl.DownloadError) as err:
        fetch(url, dest)
    message = str(err.value)
    assert url in message and "offline" in message and str(dest) in message
    assert isinstance(err.value, OSError)
    assert not dest.exists() and not dl.part_path(dest).exists()


# --------------------------------------------------------------------------------------------
# fetch_dataset() and the CLI


@pytest.mark.parametrize("flat", [False, True])
def test_fetch_dataset_downloads_extracts_and_cleans_up(server, tmp_path, flat):
    server.files[ARCHIVE_PATH] = make_coco_zip(flat=flat)
    folder = assets.fetch_dataset("coco", tmp_path, url=server.url(), progress=False)
    assert folder == tmp_path / "coco_captioning"
    assert_coco_extracted(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coco_captioning"]  # archive removed
    assert assets.missing_files("coco", tmp_path) == []


def test_fetch_dataset_keep_archive_and_noop_when_present(server, tmp_path):
    assets.fetch_dataset("coco", tmp_path, url=server.url(), progress=False, keep_archive=True)
    assert (tmp_path / ARCHIVE).read_bytes() == server.body
    server.requests.clear()
    assert assets.fetch_dataset("coco", tmp_path, url=server.url()) == tmp_path / "coco_captioning"
    assert server.requests == []


def test_fetch_dataset_uses_an_archive_copied_by_hand(tmp_path):
    (tmp_path / ARCHIVE).write_bytes(make_coco_zip())
    # Nothing listens at the URL: the archive is used without contacting it.
    assets.fetch_dataset("coco", tmp_path, url=closed_port_url(), progress=False)
    assert_coco_extracted(tmp_path / "coco_captioning")


def _lacking_archive():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("coco_captioning/coco2014_vocab.json", "{}")
    return buf.getvalue()


def test_an_earlier_archive_lacking_files_says_how_to_replace_it(tmp_path):
    (tmp_path / ARCHIVE).write_bytes(_lacking_archive())
    with pytest.raises(archives.ArchiveError, match="did not provide .*; delete it, or give --url"):
        assets.fetch_dataset("coco", tmp_path, url=closed_port_url(), progress=False)


def test_a_url_given_replaces_an_earlier_archive_and_says_so(server, tmp_path, capsys):
    """An earlier archive that lacked files was reused, without a word, when a new --url was
    given (issue #19 c): the URL the user names is downloaded."""
    (tmp_path / ARCHIVE).write_bytes(_lacking_archive())
    args = ["data", "download", "coco", "--url", server.url(), "--data-dir", str(tmp_path), "-q"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"note: {tmp_path / ARCHIVE} is already here; it is replaced by the download from" in out
    assert_coco_extracted(tmp_path / "coco_captioning")
    assert [r["status"] for r in server.requests] == [200]


def test_cli_download_limits(server, tmp_path, capsys):
    server.mode = "trickle"
    args = ["data", "download", "coco", "--url", server.url(), "--data-dir", str(tmp_path)]
    assert main([*args, "-q", "--stall-timeout", "0.3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cs231n: error: download of") and "stalled" in err
    assert err.count("\n") == 1
    assert dl.part_path(tmp_path / ARCHIVE).stat().st_size > 0  # kept, to resume
    for bad in ("0", "-5", "later", "nan"):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--deadline", bad])
        assert exit_.value.code == 2
        assert "must be a positive number of seconds" in capsys.readouterr().err


def test_fetch_dataset_deletes_a_corrupt_download(server, tmp_path):
    server.files[ARCHIVE_PATH] = b"<html>this is not a zip</html>"
    with pytest.raises(archives.ArchiveError, match="the download was deleted"):
        assets.fetch_dataset("coco", tmp_path, url=server.url(), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fetch_dataset_reports_missing_files(server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("coco_captioning/coco2014_vocab.json", "{}")
    server.files[ARCHIVE_PATH] = buf.getvalue()
    with pytest.raises(archives.ArchiveError, match="did not provide coco2014_captions.h5"):
        assets.fetch_dataset("coco", tmp_path, url=server.url(), progress=False)


def test_unknown_dataset(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet' \\(known: cifar10, coco\\)"):
        assets.fetch_dataset("imagenet", tmp_path)


def test_cli_download_then_path(server, tmp_path, capsys):
    args = ["data", "download", "coco", "--url", server.url(), "--data-dir", str(tmp_path)]
    assert main([*args, "-q"]) == 0
    assert f"coco: ready in {tmp_path / 'coco_captioning'}" in capsys.readouterr().out
    assert_coco_extracted(tmp_path / "coco_captioning")
    assert main(args) == 0  # second run: nothing to do, no request
    assert "already present" in capsys.readouterr().out
    assert len(server.requests) == 1

    assert main(["data", "path", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(tmp_path)
    rows = [line.split() for line in lines[1:]]
    assert ["coco", "present", "coco_captioning/coco2014_vocab.json"] in rows
    assert ["imagenet-val", "missing", "imagenet_val_25.npz"] in rows
    assert not any(line.startswith("Run `cs231n data download coco") for line in lines)


def test_cli_data_path_follows_the_environment(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "muse.jpg").write_bytes(b"")
    assert main(["data", "path"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[1:]]
    assert lines[0] == str(tmp_path) and ["styles", "present", "styles/muse.jpg"] in rows
    assert ["styles", "missing", "styles/tubingen.jpg"] in rows
    assert "Run `cs231n data download styles` to fetch the missing styles files." in lines
    # every asset has its hint, in the registry's order (the big ones, out of `all`, too)
    hints = [line for line in lines if line.startswith("Run `cs231n data download ")]
    assert "Run `cs231n data download coco` to fetch the missing coco files." in hints
    assert (
        hints[-1]
        == f"Run `cs231n data download {list(assets.ASSETS)[-1]}` to fetch the missing {list(assets.ASSETS)[-1]} files."
    )


def test_cli_download_failure_is_one_line(tmp_path, capsys):
    url = closed_port_url()
    code = main(["data", "download", "coco", "--url", url, "--data-dir", str(tmp_path), "-q"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"cs231n: error: could not download {url}") and "\n" not in err


# ---- a dataset archive only ever writes the dataset's own files ----


def test_dataset_archive_cannot_replace_other_data_files(tmp_path):
    (tmp_path / "imagenet_classes.txt").write_text("the real classes\n")
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "tubingen.jpg").write_bytes(b"real jpeg")
    extra = [("imagenet_classes.txt", b"replaced"), ("styles/tubingen.jpg", b"replaced"),
             ("coco_captioning/extra.py", b"print('not extracted')")]  # fmt: skip
    (tmp_path / ARCHIVE).write_bytes(make_coco_zip(extra=extra))
    assets.fetch_dataset("coco", tmp_path, url=closed_port_url(), progress=False)
    assert (tmp_path / "imagenet_classes.txt").read_text() == "the real classes\n"
    assert (tmp_path / "styles" / "tubingen.jpg").read_bytes() == b"real jpeg"
    assert not (tmp_path / "coco_captioning" / "extra.py").exists()
    assert not (tmp_path / "coco_captioning" / "noise.bin").exists()
    assert_coco_extracted(tmp_path / "coco_captioning")


def test_dataset_archive_with_a_file_twice_is_refused(tmp_path):
    name = f"{FOLDER}/{COCO.dataset.files[0]}"
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile allows it, with a warning
        archive = make_coco_zip(extra=[(name, b"broken second")])
    (tmp_path / ARCHIVE).write_bytes(archive)
    with pytest.raises(archives.ArchiveError, match=f"two entries named '{COCO.dataset.files[0]}'"):
        assets.fetch_dataset("coco", tmp_path, url=closed_port_url(), progress=False)
    assert not (tmp_path / "coco_captioning").exists() or not any(
        (tmp_path / "coco_captioning").iterdir()
    )


def test_dataset_archive_bomb_is_refused_before_writing(tmp_path):
    name = f"{FOLDER}/{COCO.dataset.files[0]}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, b"\0" * (50 * 2**20))  # 50 MB of zeros: about 50 KB compressed
    (tmp_path / ARCHIVE).write_bytes(buf.getvalue())
    with pytest.raises(archives.ArchiveError, match="more than 200 times: refused"):
        assets.fetch_dataset("coco", tmp_path, url=closed_port_url(), progress=False)
    folder = tmp_path / "coco_captioning"
    assert not folder.exists() or not any(folder.iterdir())


def test_dataset_archive_total_size_is_capped(tmp_path, monkeypatch):
    (tmp_path / ARCHIVE).write_bytes(make_coco_zip())
    monkeypatch.setattr(archives, "MAX_BYTES", 10)
    with pytest.raises(archives.ArchiveError, match="would expand to .* bytes, more than 10 "):
        assets.fetch_dataset("coco", tmp_path, url=closed_port_url(), progress=False)
    assert not (tmp_path / FOLDER).exists()
