"""``cs231n data download | status`` against a local mirror on 127.0.0.1."""

import pytest
from test_assets import fake_mirror, isolated  # noqa: F401 (fixtures)

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
        "cs231n data download squeezenet imagenet-val styles mnist fashion-mnist"
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
