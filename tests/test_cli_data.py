"""``cs231n data download | status`` against a local mirror on 127.0.0.1."""

import pytest
from test_data_assets import fake_mirror, isolated  # noqa: F401 (fixtures)

from cs231n.cli import main
from cs231n.data import assets
from cs231n.data.download import DownloadError


def test_download_all_then_status(fake_mirror, isolated, capsys):  # noqa: F811
    srv, expected = fake_mirror
    data = str(isolated)
    assert main(["data", "download", "all", "--mirror", srv.base, "--data-dir", data, "-q"]) == 0
    out = capsys.readouterr().out
    for name in expected:
        assert f"{name}: ready in " in out
    assert main(["data", "status", "--data-dir", data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Data directory: {isolated} (--data-dir; input only)"
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in lines[2:]}
    assert rows["squeezenet"] == ["present", str(isolated / assets.SQUEEZENET_FILE)]
    assert rows["mnist"] == ["present", str(isolated / "mnist")]
    assert rows["styles"] == ["present", str(isolated)]
    assert rows["coco"][0] == "missing"
    assert f"cs231n data download coco --data-dir {data}" in rows["coco"][1]
    assert not any(line.startswith("Everything missing") for line in lines)  # only COCO is
    # Again: nothing to do.
    assert main(["data", "download", "squeezenet", "styles", "--data-dir", data]) == 0
    assert capsys.readouterr().out.count("already present") == 2


def test_status_of_an_empty_data_directory(isolated, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CS231N_DATA", str(isolated))
    assert main(["data", "status"]) == 0
    out = capsys.readouterr().out
    assert "($CS231N_DATA; input only)" in out
    assert (
        "  styles         missing  get it with: cs231n data download styles  (3.9 MB archive)"
        in out
    )
    assert out.splitlines()[-1] == (
        "Everything missing but COCO, in one command: "
        "cs231n data download squeezenet imagenet-val styles mnist fashion-mnist text-embed"
    )


def test_url_is_for_one_asset(isolated, capsys):  # noqa: F811
    code = main(
        ["data", "download", "mnist", "styles", "--url", "http://x", "--data-dir", str(isolated)]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "cs231n: error: --url applies to one asset, not 2 (mnist, styles)"
    )


def test_failures_do_not_stop_the_other_assets(isolated, capsys, monkeypatch):  # noqa: F811
    def fetch(name, *args, **kwargs):
        if name in ("squeezenet", "mnist"):
            raise DownloadError(f"could not download {name}: offline")
        return isolated / name

    monkeypatch.setattr(assets, "fetch", fetch)
    code = main(["data", "download", "all", "--data-dir", str(isolated), "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert "squeezenet: failed: could not download squeezenet: offline" in captured.out
    assert f"styles: ready in {isolated / 'styles'}" in captured.out
    assert captured.err.strip() == (
        "cs231n: error: could not fetch squeezenet, mnist; run `cs231n data download squeezenet "
        f"mnist --data-dir {isolated}` again to resume"
    )


def test_unknown_asset_names_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "download", "imagenet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'imagenet'" in err and "'squeezenet'" in err and "'all'" in err


def test_path_and_status_list_the_same_assets(isolated, capsys):  # noqa: F811
    """`data path` lists the registry file by file, `data status` asset by asset: the same
    assets, and the same verdict on each (an asset is present when all its files are, or
    when it is found under another name)."""
    isolated.mkdir()
    (isolated / "imagenet_val_25.npz").write_bytes(b"")
    (isolated / "squeezenet1_1.pt").write_bytes(b"")  # the course's name for the weights
    (isolated / "styles").mkdir()
    (isolated / "styles" / "muse.jpg").write_bytes(b"")  # one of seven: styles is missing
    (isolated / "coco_captioning").mkdir()
    for name in assets.ASSETS["coco"].dataset.files:  # the optional files stay missing
        (isolated / "coco_captioning" / name).write_bytes(b"")
    data = str(isolated)

    assert main(["data", "status", "--data-dir", data]) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    status = {
        row[0]: row[1] == "present" for row in map(str.split, lines) if row[0] != "Everything"
    }

    assert main(["data", "path", "--data-dir", data]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    files = [line.split() for line in lines if line.startswith("  ")]
    path = {}
    for name, state, *rest in files:
        if rest[1:] != ["(optional)"]:
            path[name] = path.get(name, True) and state == "present"

    assert list(status) == list(path) == list(assets.ASSETS)
    assert status == path
    assert status == {
        "squeezenet": True,
        "imagenet-val": True,
        "styles": False,
        "mnist": False,
        "fashion-mnist": False,
        "coco": True,
        "cifar10": False,
        "text-embed": False,
        "emoji": False,
        "ddpm-model": False,
        "simclr-model": False,
    }
    assert ["squeezenet", "present", "squeezenet1_1.pt"] in files
    assert ["coco", "missing", "coco_captioning/train2014_vgg16_fc7.h5", "(optional)"] in files
    missing = [line for line in lines if line.startswith("Run ")]
    assert missing == [
        f"Run `cs231n data download {name} --data-dir {data}` to fetch the missing {name} files."
        for name in (
            "styles",
            "mnist",
            "fashion-mnist",
            "cifar10",
            "text-embed",
            "emoji",
            "ddpm-model",
            "simclr-model",
        )
    ]
