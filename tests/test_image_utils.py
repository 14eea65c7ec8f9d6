import http.server
import io
import threading

import numpy as np
import pytest
from PIL import Image

from cs231n.image_utils import image_from_url


@pytest.fixture
def server():
    png = io.BytesIO()
    Image.fromarray(np.full((4, 5, 3), 200, np.uint8)).save(png, format="PNG")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/img.png": png.getvalue(), "/text": b"hello"}.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_image_from_url(server):
    img = image_from_url(f"{server}/img.png")
    assert img.shape == (4, 5, 3) and img.dtype == np.uint8 and (img == 200).all()


def test_image_from_url_http_error_prints_and_gives_none(server, capsys):
    # The course's behaviour (image_utils.py, every edition): the captioning notebooks skip
    # images whose URL is gone with `if img is not None`.
    assert image_from_url(f"{server}/missing") is None
    err = capsys.readouterr().err
    assert "HTTP Error: 404" in err and "/missing" in err


def test_image_from_url_not_an_image_raises(server):
    with pytest.raises(OSError, match="not a readable image"):
        image_from_url(f"{server}/text")


def test_image_from_url_offline_prints_and_gives_none(capsys):
    assert image_from_url("http://127.0.0.1:9/none.jpg", timeout=2) is None
    err = capsys.readouterr().err
    assert err.startswith("URL Error: ") and "may be offline" in err and "127.0.0.1:9" in err


# ---- blur_image (the course's regulariser) and resizing ----


def test_blur_image_is_the_courses_kernel():
    import torch

    from cs231n.image_utils import blur_image

    X = np.random.default_rng(0).standard_normal((2, 3, 7, 9)).astype(np.float32)
    kernel = torch.tensor([[1, 2, 1], [2, 188, 2], [1, 2, 1]], dtype=torch.float64) / 200
    weight = torch.zeros(3, 3, 3, 3, dtype=torch.float64)
    for c in range(3):
        weight[c, c] = kernel  # the course's w_blur: each channel blurred on its own
    expected = torch.nn.functional.conv2d(torch.from_numpy(X).double(), weight, padding=1)
    out = blur_image(X)
    assert out.shape == X.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        blur_image(X[0])


@pytest.mark.parametrize(
    "w, h, size, expected",
    [
        (300, 200, 224, (336, 224)),
        (200, 300, 224, (224, 336)),
        (301, 300, 224, (224, 224)),
        (100, 100, 37, (37, 37)),
        (1000, 7, 3, (428, 3)),
    ],
)
def test_resize_shorter_side_truncates_like_torchvision(w, h, size, expected):
    from cs231n.image_utils import resize_shorter_side

    out = resize_shorter_side(Image.new("RGB", (w, h)), size)
    assert out.size == expected  # (width, height); the longer side int(size * long / short)


def _course_2020_load_image(path, size):
    """The course's load_image of 2020-2026 (cs231n/image_utils.py), rebuilt: its (H', W') goes
    to PIL's resize, which reads (width, height); NEAREST (the 2020 code's PIL default then)."""
    img = np.asarray(Image.open(path).convert("RGB"))
    orig_shape = np.array(img.shape[:2])
    new_shape = (orig_shape * (float(size) / orig_shape.min())).astype(int)
    return np.array(Image.fromarray(img).resize(tuple(new_shape), resample=Image.NEAREST))


@pytest.mark.parametrize("edition", [2020, 2024, 2026])
def test_load_image_size_is_the_courses_from_2020(tmp_path, edition):
    """From 2020 the course's load_image turned a landscape image portrait (its TODO says so):
    the package does the same, pixel for pixel, because the notebooks' checks hold for it."""
    from cs231n.core.edition import using_edition
    from cs231n.image_utils import load_image

    path = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 120, 3), np.uint8)).save(path)
    with using_edition(edition):
        out = load_image(path, size=40)
    assert out.shape == (60, 40, 3)  # (40, 60) read as (width, height)
    np.testing.assert_array_equal(out, _course_2020_load_image(path, 40))


@pytest.mark.parametrize("edition", [2017, 2018, 2019])
def test_load_image_size_up_to_2019_is_scipy_imresize(tmp_path, edition):
    """scipy.misc.imresize(img, scale) (2017-2019): each side int(side * scale), PIL bilinear."""
    from cs231n.core.edition import using_edition
    from cs231n.image_utils import load_image

    path = tmp_path / "wide.png"
    img = np.random.default_rng(1).integers(0, 256, (80, 120, 3), np.uint8)
    Image.fromarray(img).save(path)
    with using_edition(edition):
        out = load_image(path, size=40)
    assert out.shape == (40, 60, 3)
    expected = np.asarray(Image.fromarray(img).resize((60, 40), Image.BILINEAR))
    np.testing.assert_array_equal(out, expected)


# The total-variation check of the TensorFlow style-transfer notebooks: tv_loss(content_img_test,
# 2e-2) on preprocess_image(load_image("styles/tubingen.jpg", size=192)), which depends on the
# pixels alone (no network). Reference values: `tv_out` of each edition's
# style-transfer-checks-tf.npz (StyleTransfer-TensorFlow.ipynb, 2017 / 2018 / 2020), with the
# bound each notebook prints ("Error is 0.000", three decimals; 2020: four). 2017's answers were
# computed with an older PIL bilinear: 4.1e-4 from today's, inside its printed bound.
TV_CHECKS = [
    (2017, 303.2230529785156, 1e-3),
    (2018, 303.4699401855469, 1e-6),
    (2020, 1704.19482421875, 1e-6),
]


@pytest.mark.parametrize("edition, tv_out, bound", TV_CHECKS)
def test_load_image_gives_the_notebooks_tv_check(edition, tv_out, bound):
    import os

    from cs231n.core.edition import using_edition
    from cs231n.image_utils import load_image, preprocess_image

    path = os.path.join(os.environ.get("CS231N_DATA", ""), "styles", "tubingen.jpg")
    if not os.path.isfile(path):
        pytest.skip("styles/tubingen.jpg not under CS231N_DATA")
    with using_edition(edition):
        x = preprocess_image(load_image(path, size=192))[None].astype(np.float64)
    tv = 2e-2 * (np.sum((x[:, 1:] - x[:, :-1]) ** 2) + np.sum((x[:, :, 1:] - x[:, :, :-1]) ** 2))
    # the notebooks' rel_error
    assert abs(tv - tv_out) / max(1e-8, abs(tv) + abs(tv_out)) < bound
