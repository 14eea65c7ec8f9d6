"""``cs231n demo --quick`` end to end, and its report in a real browser when one is installed."""

import re
import shutil
import subprocess
import time

import pytest

from cs231n import demo
from cs231n.cli import main
from cs231n.config import data_path
from cs231n.demo import Section, write_report


@pytest.mark.slow
def test_quick_demo_writes_a_complete_report(tmp_path, capsys):
    start = time.perf_counter()
    code = main(["demo", "--quick", "-o", str(tmp_path / "report")])
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    assert code == 0 and "Report:" in out
    page = (tmp_path / "report" / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images and all((tmp_path / "report" / name).is_file() for name in images)
    if data_path("squeezenet1_1.pt").exists():  # all the real data is there (as in CI)
        assert "(ok," in page and "skipped" not in page and "failed" not in page
        assert seconds < 240  # the quick mode is a smoke test (~2 minutes on 2 cores)
    if shutil.which("chromium"):
        assert browser_title(tmp_path / "report" / "index.html") == f"images-ok {len(images)}"


def test_missing_data_is_reported_not_fatal(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(
        "cs231n.models._download_pretrained", lambda: (_ for _ in ()).throw(OSError("offline"))
    )
    monkeypatch.setattr(demo, "PARTS", [p for p in demo.PARTS if "Network" in p[0]])
    code = main(["demo", "--quick", "-o", str(tmp_path / "r")])
    page = (tmp_path / "r" / "index.html").read_text()
    assert code == 1 and "skipped" in page and "squeezenet1_1.pt" in page


def browser_title(path):
    """The page's title after load: the report's script sets it to images-ok N / images-broken."""
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={path.parent / '.chrome'}",
         "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    match = re.search(r"<title>(.*?)</title>", result.stdout)
    return match.group(1) if match else result.stderr[-500:]


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium not installed")
def test_browser_sees_broken_images(tmp_path):
    sec = Section("x")
    sec.image("missing.png", "an image that is not there")
    path = write_report(tmp_path, [sec], quick=True)
    assert browser_title(path).startswith("images-broken")
