"""``cs231n demo --quick`` end to end, and its report in a real browser when one is installed."""

import dataclasses
import hashlib
import io
import re
import shutil
import subprocess
import zipfile

import pytest
from local_server import serving

from cs231n.cli import main
from cs231n.core.config import data_path
from cs231n.report import demo
from cs231n.report.demo import Section, write_report


def mirror_of_the_real_data(monkeypatch):
    """URL path -> bytes of a mirror (``MIRROR/NAME/FILE``) holding the real files this machine
    has (the shared data and Debian's Fashion-MNIST), or None where they are missing. Where a
    local copy is not the official file (the shared SqueezeNet weights, Debian's recompressed
    Fashion-MNIST, the rebuilt styles archive) the registry's pin is patched to it; the
    ImageNet images and each style image keep their real pins."""
    from cs231n.data import assets

    shared = data_path("squeezenet1_1.pt").parent
    debian = assets.DEBIAN_FASHION_MNIST
    if not (shared / "squeezenet1_1.pt").is_file() or not debian.is_dir():
        return None
    files = {}

    def serve(name, remote, data):
        files[f"/{name}/{remote.urls[0].rsplit('/', 1)[-1]}"] = data
        return dataclasses.replace(remote, sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    spec = assets.ASSETS["squeezenet"]
    pinned = serve("squeezenet", spec.files[0], (shared / "squeezenet1_1.pt").read_bytes())
    monkeypatch.setitem(assets.ASSETS, "squeezenet", dataclasses.replace(spec, files=(pinned,)))
    spec = assets.ASSETS["imagenet-val"]
    serve("imagenet-val", spec.files[0], (shared / "imagenet_val_25.npz").read_bytes())
    spec = assets.ASSETS["styles"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for m in spec.members:
            zf.writestr(m.member, (shared / m.path).read_bytes())
    archive = serve("styles", spec.archive, buf.getvalue())
    monkeypatch.setitem(assets.ASSETS, "styles", dataclasses.replace(spec, archive=archive))
    spec = assets.ASSETS["fashion-mnist"]
    pins = tuple(
        serve("fashion-mnist", f, (debian / f.path.rsplit("/", 1)[-1]).read_bytes())
        for f in spec.files
    )
    monkeypatch.setitem(assets.ASSETS, "fashion-mnist", dataclasses.replace(spec, files=pins))
    return files


@pytest.mark.slow
def test_quick_demo_writes_a_complete_report(tmp_path, capsys, monkeypatch):
    """A newcomer's first run: with the real data on this machine (as in CI), an empty data
    directory and torch hub; the demo fetches everything it needs from a mirror on 127.0.0.1,
    verified, then runs all four parts. Without the real data: whatever parts can run."""
    from cs231n.data import assets

    args = ["demo", "--quick", "-o", str(tmp_path / "report")]
    files = mirror_of_the_real_data(monkeypatch)
    with serving(files or {}) as srv:
        if files is not None:
            monkeypatch.setenv("CS231N_DATA", str(tmp_path / "data"))
            monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
            monkeypatch.setattr(assets, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
            args += ["--mirror", srv.base]
        code = main(args)
    out = capsys.readouterr().out
    assert code == 0 and "Report:" in out
    page = (tmp_path / "report" / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images and all((tmp_path / "report" / name).is_file() for name in images)
    if files is not None:
        assert (
            "Fetching what the demo needs: squeezenet, imagenet-val, styles, fashion-mnist" in out
        )
        assert sorted(r["path"] for r in srv.requests) == sorted(files)  # each file once
        assert page.count("<small>(ok,") == 4 and "Missing data" not in page
    if shutil.which("chromium"):
        assert browser_title(tmp_path / "report" / "index.html") == f"images-ok {len(images)}"


@pytest.fixture
def nothing_present(tmp_path, monkeypatch):
    """An empty data directory, cache and torch hub; no Debian Fashion-MNIST; no mirror."""
    from cs231n.data import assets

    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.MIRROR_ENV_VAR, raising=False)
    monkeypatch.setattr(assets, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    ran = []
    parts = [(title, lambda *a, t=title: ran.append(t), needs) for title, _, needs in demo.PARTS]
    monkeypatch.setattr(demo, "PARTS", parts)
    return ran


def test_offline_with_nothing_names_every_missing_asset_and_one_command(
    nothing_present, tmp_path, capsys
):
    code = main(["demo", "--offline", "-o", str(tmp_path / "r")])
    out = capsys.readouterr().out
    block = out[out.index("Missing data") :]
    for name in demo.DEMO_ASSETS:
        assert f"  {name}  " in block or f"  {name} " in block
    command = "cs231n data download squeezenet imagenet-val styles fashion-mnist"
    assert command in block
    assert nothing_present == [demo.PARTS[0][0]]  # captioning: the one part without data
    assert demo.PARTS[0][0] == "Image captioning (RNN and LSTM in NumPy, Transformer in PyTorch)"
    page = (tmp_path / "r" / "index.html").read_text()
    assert command in page and page.count("<small>(skipped,") == 3
    assert code == 0  # captioning ran


def test_the_demo_fetches_what_is_missing_first(nothing_present, tmp_path, monkeypatch):
    from cs231n.data import assets

    fetched = []

    def fake_fetch(name, data_root=None, mirror=None, progress=True, log=None, url=None):
        fetched.append((name, mirror))
        (tmp_path / "data" / name).mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(assets, "fetch", fake_fetch)
    monkeypatch.setattr(
        assets,
        "locate",
        lambda n, root=None: (tmp_path / "data" / n) if (tmp_path / "data" / n).exists() else None,
    )
    path, sections = demo.run_demo(
        tmp_path / "r", fetch=True, mirror="http://m", log=lambda m: None
    )
    assert fetched == [(n, "http://m") for n in demo.DEMO_ASSETS]
    assert [s.status for s in sections] == ["ok"] * 4
    assert len(nothing_present) == 4 and "Missing data" not in path.read_text()


def test_a_failed_fetch_stops_fetching_and_is_reported(nothing_present, tmp_path, monkeypatch):
    from cs231n.data import assets
    from cs231n.data.download import DownloadError

    calls = []

    def offline(name, *args, **kwargs):
        calls.append(name)
        raise DownloadError(f"could not download {name}: Name or service not known")

    monkeypatch.setattr(assets, "fetch", offline)
    logged = []
    path, sections = demo.run_demo(tmp_path / "r", fetch=True, log=logged.append)
    assert calls == ["squeezenet"]  # the first failure stops the others (each would wait too)
    text = "\n".join(logged)
    assert "squeezenet: could not download squeezenet" in text and "Missing data" in text
    assert [s.status for s in sections] == ["ok", "skipped", "skipped", "skipped"]


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


def test_the_captioning_part_has_a_transformer_row(tmp_path, monkeypatch):
    """The captioning table: LSTM, RNN and Transformer, greedy and beam 3 each (quick mode, on
    a small Shapes set built in memory)."""
    import torch

    from cs231n.captioning import shapes as shapes_captioning

    data = shapes_captioning.generate(num_train=40, num_val=10, seed=0)
    monkeypatch.setattr(
        "cs231n.captioning.data.load_caption_data", lambda *a, **k: (data, "builtin")
    )
    assert demo.caption_hyper("transformer", quick=False) == {
        "cell_type": "transformer",
        "num_epochs": demo.FULL_TRANSFORMER_EPOCHS,
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sec = Section("captioning")
        demo.captioning(tmp_path, sec, True, None, lambda m: None)
    finally:
        torch.set_num_threads(threads)
    table = sec.blocks[-1]
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td>", table)
    assert rows == [
        (model, decoding)
        for model in ("LSTM", "RNN", "Transformer")
        for decoding in ("greedy", "beam3")
    ]
    assert (tmp_path / "caption_transformer_loss.png").is_file()
