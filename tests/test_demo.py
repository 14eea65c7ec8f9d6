"""``cs231n demo --quick`` end to end, and its report in a real browser when one is installed."""

import dataclasses
import hashlib
import io
import re
import shutil
import subprocess
import zipfile

import numpy as np
import pytest
from local_server import serving

from cs231n.cli import main
from cs231n.core.config import cache_path, data_path
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
    assert_light(tmp_path / "report")
    if "GANs (Fashion-MNIST) <small>(ok," in page:
        runs = demo.default_runs_dir(tmp_path / "report", quick=True) / "gan"
        assert (runs / "fc_gan" / "checkpoint.pt").is_file()
        assert runs.resolve().as_uri() in page
    if files is not None:
        assert (
            "Fetching what the demo needs: squeezenet, imagenet-val, styles, fashion-mnist" in out
        )
        assert sorted(r["path"] for r in srv.requests) == sorted(files)  # each file once
        assert page.count("<small>(ok,") == len(demo.PARTS) and "Missing data" not in page
    if shutil.which("chromium"):
        assert browser_title(tmp_path / "report" / "index.html") == f"images-ok {len(images)}"


# Issue #23: "the report folder holds the page and its figures ... so report/ stays under a few
# MB". `cs231n demo --quick` on the shared data, measured with du: 143 MB in 32 files before the
# training runs moved out (99% GAN checkpoints), 1.9 MB in 17 files after.
REPORT_MAX_BYTES = 5 * 2**20
REPORT_MAX_FILES = 40
REPORT_SUFFIXES = {".html", ".png"}


def assert_light(report):
    """The report folder: the page, the captions page and figures, nothing else; a few MB."""
    files = [p for p in report.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= REPORT_SUFFIXES, sorted(map(str, files))
    assert len(files) <= REPORT_MAX_FILES, len(files)
    size = sum(p.stat().st_size for p in files)
    assert size <= REPORT_MAX_BYTES, f"{report}: {size} bytes"


def test_the_gan_runs_go_outside_the_report_and_are_linked(tmp_path, monkeypatch):
    """The GAN part with its training, scoring and data replaced: what it writes where."""
    from cs231n.gan import metrics, training

    def fake_train(run, x, **kwargs):
        (run / "samples").mkdir(parents=True)
        (run / "samples" / "final.png").write_bytes(b"png")
        (run / "checkpoint.pt").write_bytes(bytes(REPORT_MAX_BYTES))  # a checkpoint's weight

    class Scorer:
        info = dict(kind="quick", channels=(8, 16), hidden=64, epochs=1, train_images=512,
                    test_accuracy=0.8)  # fmt: skip

        def __init__(self, *args, **kwargs):
            pass

        def score(self, generator):
            return dict(fid_generated_vs_test=1.0, fid_train_vs_test_floor=0.1,
                        classifier_test_accuracy=0.8)  # fmt: skip

    monkeypatch.setattr(demo, "load_mnist", lambda *a: (np.zeros((4, 28, 28), np.uint8), None))
    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(training, "load_generator", lambda run: (None, None))
    monkeypatch.setattr(metrics, "GeneratorScorer", Scorer)
    for runs in (None, tmp_path / "my runs"):
        out = tmp_path / ("report" if runs is None else "report2")
        out.mkdir()  # as run_demo makes it
        sec = Section("GANs")
        demo.gans(out, sec, True, None, lambda m: None, runs)
        expected = (demo.default_runs_dir(out, True) if runs is None else runs) / "gan"
        assert sorted(p.name for p in expected.iterdir()) == ["dc_gan", "fc_gan", "fc_lsgan"]
        assert sorted(p.name for p in out.iterdir()) == [
            "gan_dc_gan.png",
            "gan_fc_gan.png",
            "gan_fc_lsgan.png",
        ]
        page = "".join(sec.blocks)
        for name in ("fc_gan", "fc_lsgan", "dc_gan"):
            assert f'href="{(expected / name).resolve().as_uri()}"' in page
    # one runs folder per report folder and mode, in the cache
    assert demo.default_runs_dir(tmp_path / "report", True) != demo.default_runs_dir(
        tmp_path / "report2", True
    )
    assert demo.default_runs_dir("r", True) != demo.default_runs_dir("r", False)
    assert demo.default_runs_dir("r", True).parent == cache_path("demo_runs")


def test_the_diffusion_part_trains_samples_and_scores_outside_the_report(tmp_path, monkeypatch):
    """The diffusion part in quick mode, for real, on striped MNIST-format data (64 training
    images, so 20 scored samples): its figures in the report, its run outside, linked."""
    from test_vit_training import striped_mnist

    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    striped_mnist(tmp_path / "data" / "fashion-mnist", n_train=64, n_test=20)
    monkeypatch.setitem(demo.QUICK_DIFFUSION, "samples", 20)
    out, runs = tmp_path / "report", tmp_path / "runs"
    out.mkdir()
    sec = Section("Diffusion")
    demo.diffusion(out, sec, True, tmp_path / "data", lambda m: None, runs)
    assert sorted(p.name for p in out.iterdir()) == [
        "diffusion_guided.png",
        "diffusion_plain.png",
        "diffusion_trajectory.png",
    ]
    run = runs / "diffusion" / "fashion_mnist"
    assert (run / "model.pt").is_file() and (run / "config.json").is_file()
    page = "".join(sec.blocks)
    assert f'href="{run.resolve().as_uri()}"' in page
    assert page.count("<tr>") == 1 + len(demo.QUICK_DIFFUSION["rows"])  # header and rows
    assert "on 20 class-balanced samples" in page


def test_the_ssl_part_trains_and_evaluates_outside_the_report(tmp_path):
    """The self-supervised part in quick mode, for real, on striped MNIST-format data (256
    training images, as many as the quick plan takes; 64 test images): SimCLR trained in the
    run folder, evaluated there without the supervised baseline; the report gets the table (the
    evaluation's own numbers), the three figures and a link to the run."""
    import json

    from test_vit_training import striped_mnist

    striped_mnist(tmp_path / "data" / "fashion-mnist", n_train=256, n_test=64)
    out, runs = tmp_path / "report", tmp_path / "runs"
    out.mkdir()
    sec = Section("SSL")
    demo.self_supervised(out, sec, True, tmp_path / "data", lambda m: None, runs)
    assert sorted(p.name for p in out.iterdir()) == [
        "ssl_embedding.png",
        "ssl_loss.png",
        "ssl_neighbours.png",
    ]
    run = runs / "ssl" / "fashion_mnist"
    assert (run / "checkpoint.pt").is_file()
    results = json.loads((run / "evaluation.json").read_text())
    assert list(results["encoders"]) == ["simclr", "random", "pixels"]  # no supervised
    assert results["train_images"] == 256 and results["test_images"] == 64
    assert results["epochs_trained"] == demo.QUICK_SSL["train"]["epochs"]
    page = "".join(sec.blocks)
    assert f'href="{run.resolve().as_uri()}"' in page
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>[^<]+</td><td>([^<]+)</td>", page)
    # the evaluation's numbers, as the table shows them (4 significant digits)
    assert [(name, float(knn), float(probe)) for name, knn, probe in rows] == [
        (
            name,
            pytest.approx(r["knn_top1"], abs=6e-3),
            pytest.approx(r["linear_probe_top1"], abs=6e-3),
        )
        for name, r in zip(
            ("SimCLR", "random init", "raw pixels"), results["encoders"].values(), strict=True
        )
    ]
    assert "`cs231n ssl evaluate RUN` measures it" in page  # where the supervised baseline is
    assert "on the first 256 Fashion-MNIST training images: 2 epochs of 64 pairs" in page


def test_the_ssl_part_follows_the_gans_and_needs_fashion_mnist():
    """Placed in the course's order (2021-2024 assignment 3: Q4 GANs, Q5 self-supervised
    learning; 2025: Q2 self-supervised learning, Q3 DDPM), and skipped like the GANs when
    Fashion-MNIST is missing (its needs)."""
    titles = [title for title, *_ in demo.PARTS]
    ssl = titles.index("Self-supervised learning (SimCLR, Fashion-MNIST)")
    assert titles[ssl - 1] == "GANs (Fashion-MNIST)"
    assert titles[ssl + 1] == "Diffusion (DDPM, Fashion-MNIST)"
    assert demo.PARTS[ssl][1:] == (demo.self_supervised, ("fashion-mnist",))


def test_runs_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["demo", "--offline", "-o", str(tmp_path / "r"), "--runs", str(tmp_path / "file")])
    assert code != 0 and "--runs" in capsys.readouterr().err


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
    assert command in page and page.count("<small>(skipped,") == len(demo.PARTS) - 1
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
    assert [s.status for s in sections] == ["ok"] * len(demo.PARTS)
    assert len(nothing_present) == len(demo.PARTS) and "Missing data" not in path.read_text()


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
    assert [s.status for s in sections] == ["ok"] + ["skipped"] * (len(demo.PARTS) - 1)


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
