"""A local HTTP server on 127.0.0.1 for the download tests (no internet needed).

It serves ``files`` (URL path -> bytes), honours ``Range: bytes=N-`` requests, records every
request (path, range, status, bytes sent), and can misbehave on demand: ``mode`` "ignore-range"
(always the whole file), "short-length" (announces 1000 bytes fewer than the body), "stall"
(sends 1000 bytes, then waits), "trickle" (one byte every ``trickle_interval`` seconds);
``drop_after`` N sends N bytes of the body and closes the connection (once, unless
``drop_once`` is False); ``redirects`` maps a path to the URL a 302 sends the client to.
"""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold a handler thread for long

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        srv = self.server
        body = srv.files.get(self.path)
        record = {"path": self.path, "range": self.headers.get("Range"), "status": 0, "sent": 0}
        srv.requests.append(record)
        if self.path in srv.redirects:
            record["status"] = 302
            self.send_response(302)
            self.send_header("Location", srv.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if body is None:
            record["status"] = 404
            self.send_error(404)
            return
        start, mode = 0, srv.mode
        if record["range"] and mode != "ignore-range":
            start = int(record["range"].removeprefix("bytes=").removesuffix("-"))
            if start >= len(body):
                record["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            record["status"] = 206
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            record["status"] = 200
            self.send_response(200)
        payload = body[start:]
        announced = len(payload) - 1000 if mode == "short-length" else len(payload)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        if srv.drop_after is not None:
            # Send part of the body, then close the connection (HTTP/1.0: returning closes it).
            payload = payload[: srv.drop_after]
            if srv.drop_once:
                srv.drop_after = None
        # "sent" is recorded before writing: the client may finish reading, and the test check
        # it, before this thread runs again after the write.
        if mode == "stall":
            record["sent"] = 1000
            self.wfile.write(payload[:1000])
            self.wfile.flush()
            srv.stop.wait(5)  # until the client gives up or the test ends
            return
        if mode == "trickle":
            for i in range(len(payload)):
                record["sent"] = i + 1
                try:
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return
                if srv.stop.wait(srv.trickle_interval):
                    return
            return
        record["sent"] = min(len(payload), announced)
        self.wfile.write(payload[:announced])


class FileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = dict(files or {})
        self.requests = []
        self.mode = "normal"
        self.drop_after = None  # bytes of the body to send before closing the connection
        self.drop_once = True
        self.stop = threading.Event()
        self.redirects = {}
        self.trickle_interval = 0.05

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path) -> str:
        return self.base + path

    def handle_error(self, request, client_address):
        pass  # clients that hang up mid-response are part of the tests


@contextmanager
def serving(files=None, server_class=FileServer):
    """A running :class:`FileServer` (or ``server_class()``), shut down on exit."""
    srv = FileServer(files) if files is not None else server_class()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)
