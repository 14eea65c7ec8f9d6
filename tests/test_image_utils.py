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


@pytest.mark.parametrize(
    "path, match", [("/missing", "HTTP error 404"), ("/text", "not a readable image")]
)
def test_image_from_url_errors(server, path, match):
    with pytest.raises(OSError, match=match):
        image_from_url(f"{server}{path}")


def test_image_from_url_offline():
    with pytest.raises(OSError, match="may be offline"):
        image_from_url("http://127.0.0.1:9/none.jpg", timeout=2)


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


def test_load_image_size_keeps_the_orientation(tmp_path):
    """The course's 2020 load_image passed (H, W) to PIL's resize, which wants (W, H): a
    landscape image came back portrait. Its sizes otherwise (shorter side = size) are kept."""
    from cs231n.image_utils import load_image

    path = tmp_path / "wide.png"
    Image.new("RGB", (120, 80), (10, 20, 30)).save(path)
    orig_shape = np.array([80, 120])
    course_new_shape = tuple((orig_shape * (40 / orig_shape.min())).astype(int))  # (40, 60)
    course = np.asarray(Image.open(path).resize(course_new_shape))
    assert course.shape == (60, 40, 3)  # the defect: turned portrait
    assert load_image(path, size=40).shape == (40, 60, 3)
