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
