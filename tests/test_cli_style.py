"""``cs231n style`` and ``cs231n invert`` end to end (in-process), with a random-weight
SqueezeNet placed in a temporary data directory and small synthetic images."""

import numpy as np
import pytest
import torch
from PIL import Image

from cs231n.cli import main
from cs231n.pretrained import squeezenet as models


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    torch.manual_seed(0)
    torch.save(models.squeezenet1_1(None).state_dict(), data / "squeezenet1_1.pt")
    monkeypatch.setenv("CS231N_DATA", str(data))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return data


def write_image(path, h, w, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return str(path)


def test_style_blend_with_intermediates(data_dir, tmp_path, capsys):
    content = write_image(tmp_path / "c.png", 60, 80, 0)
    s1 = write_image(tmp_path / "s1.jpg", 50, 50, 1)
    s2 = write_image(tmp_path / "s2.png", 70, 40, 2)
    out = tmp_path / "out" / "styled.png"
    args = ["style", content, s1, s2, "--style-weights", "1", "3", "--size", "48",
            "--style-size", "48", "--iterations", "6", "--save-every", "3", "-q",
            "--preserve-colors", "-o", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "6 iterations" in text and "final losses: content" in text
    img = Image.open(out)
    assert min(img.size) == 48 and img.size == (64, 48)
    assert (tmp_path / "out" / "styled_0003.png").exists()
    assert (tmp_path / "out" / "styled_0006.png").exists()


def test_invert(data_dir, tmp_path, capsys):
    image = write_image(tmp_path / "k.png", 40, 40, 3)
    out = tmp_path / "inv.png"
    assert main(["invert", image, "--size", "40", "--iterations", "4", "-q", "-o", str(out)]) == 0
    assert "style 0" in capsys.readouterr().out
    assert Image.open(out).size == (40, 40)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--style-weights", "1", "2"], "--style-weights has 2 values for 1 style images"),
        (["--style-weights", "0"], "style blend weights must be >= 0 with a positive sum"),
    ],
)
def test_bad_settings(data_dir, tmp_path, capsys, extra, message):
    content = write_image(tmp_path / "c.png", 60, 60, 0)
    style = write_image(tmp_path / "s.png", 60, 60, 1)
    assert main(["style", content, style, "-q", "-o", str(tmp_path / "o.png"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_bad_images_are_named(data_dir, tmp_path, capsys):
    content = write_image(tmp_path / "c.png", 60, 60, 0)
    tiny = write_image(tmp_path / "tiny.png", 10, 10, 1)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    out = str(tmp_path / "o.png")
    assert main(["style", content, str(broken), "-q", "-o", out]) == 2
    assert "broken.jpg" in capsys.readouterr().err
    assert main(["style", content, str(tmp_path / "missing.png"), "-q", "-o", out]) == 2
    assert "missing.png" in capsys.readouterr().err
    assert main(["style", content, tiny, "--iterations", "1", "-q", "-o", out]) == 2
    assert "too small" in capsys.readouterr().err


# Issue #11: a rotated photo, a decompression bomb's header, an output that is not a file.


def test_exif_rotated_content_is_written_as_shown(data_dir, tmp_path):
    """Regression: a photo stored landscape with EXIF Orientation=6 was written landscape."""
    from test_image_decoding import with_orientation

    content = tmp_path / "phone.jpg"
    stored = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    Image.fromarray(stored).save(content, quality=95, exif=with_orientation(stored, 6))
    style = write_image(tmp_path / "s.png", 48, 48, 1)
    out = tmp_path / "o.png"
    args = ["style", content, style, "--size", "48", "--iterations", "1", "-q", "-o", out]
    assert main([str(a) for a in args]) == 0
    assert Image.open(out).size == (48, 80)  # portrait, as a viewer shows the photo


@pytest.mark.parametrize("side", [20000, 65535])
def test_huge_images_are_refused_naming_them(data_dir, tmp_path, capsys, side):
    from test_image_decoding import forged_png

    huge = str(forged_png(tmp_path / "huge.png", side, side))
    image = write_image(tmp_path / "c.png", 60, 60, 0)
    out = str(tmp_path / "o.png")
    for args in (["style", huge, image], ["style", image, huge], ["invert", huge]):
        assert main([*args, "-q", "-o", out]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cs231n: error: ") and err.count("\n") == 1
        assert f"huge.png: {side}x{side} pixels" in err and "limit is 89,478,485 pixels" in err


@pytest.mark.parametrize(
    "output, message",
    [
        (".", "it is a folder"),
        ("styled", "no extension names no image format"),
        ("styled.xyz", "extension '.xyz' names no image format"),
    ],
)
def test_output_must_name_an_image_file(tmp_path, capsys, monkeypatch, output, message):
    """Refused before any work: `-o results/` used to fail once the image was made."""
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "no_data"))  # no model: never reached
    image = write_image(tmp_path / "c.png", 60, 60, 0)
    out = tmp_path / output
    for args in (["style", image, image], ["invert", image]):
        assert main([*args, "-q", "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and str(out) in err and err.count("\n") == 1


def test_output_extension_picks_the_format(data_dir, tmp_path):
    image = write_image(tmp_path / "c.png", 40, 40, 0)
    out = tmp_path / "inv.JPG"
    assert main(["invert", image, "--size", "40", "--iterations", "1", "-q", "-o", str(out)]) == 0
    assert Image.open(out).format == "JPEG"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["style", "c.jpg", "s.jpg", "--size", "0"], "--size: must be an integer from 32 to 4096, got 0"),
        (["style", "c.jpg", "s.jpg", "--size", "5000"], "--size: must be an integer from 32 to 4096"),
        (["style", "c.jpg", "s.jpg", "--style-size", "0"], "--style-size: must be an integer from 32"),
        (["style", "c.jpg", "s.jpg", "--content-weight", "nan"], "--content-weight: must be a finite"),
        (["style", "c.jpg", "s.jpg", "--content-weight=-1"], "--content-weight: must be a finite number >= 0"),
        (["style", "c.jpg", "s.jpg", "--style-weights", "nan"], "--style-weights: must be a finite"),
        (["style", "c.jpg", "s.jpg", "--style-scale", "inf"], "--style-scale: must be a positive number"),
        (["style", "c.jpg", "s.jpg", "--scales", "50"], "--scales: must be an integer from 1 to 7"),
        (["style", "c.jpg", "s.jpg", "--iterations", str(10**12)], "--iterations: must be an integer from 1 to 100000"),
        (["invert", "c.jpg", "--layer", "-1"], "--layer: must be an integer from 0 to 12, got -1"),
        (["invert", "c.jpg", "--layer", "13"], "--layer: must be an integer from 0 to 12, got 13"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_any_work(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
