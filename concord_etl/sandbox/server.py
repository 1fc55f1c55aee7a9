"""HTTP plumbing (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive) and the ``Sandbox`` handle."""

from __future__ import annotations

import contextlib
import email.utils
import shutil
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import seeds
from .app import APP_VERSION, App, Config
from .exchange import Request, Response
from .store import Store


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ConcordSandbox/1.0"
    sys_version = ""
    timeout = 300
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the app writes its own request log."""

    def parse_request(self) -> bool:
        """Request line + headers into a plain lower-cased dict (faster than email.parser)."""
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")  # type: ignore[attr-defined]
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.send_error(400, f"Bad request line {self.requestline!r}")
            return False
        self.command, self.path, self.request_version = words
        headers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(65537)
            if len(line) > 65536 or len(headers) > 100:
                self.send_error(431, "Request header fields too large")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("iso-8859-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("connection", "").lower()
        if self.request_version == "HTTP/1.1":
            self.close_connection = connection == "close"
        else:
            self.close_connection = connection != "keep-alive"
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, ...) as JSON, never HTML."""
        self._write(Response(code, {"message": message or self.responses.get(code, ("",))[0]}))

    def _serve(self) -> None:
        started = time.perf_counter()
        app = self.server.app
        request = None
        try:
            request = self._request()
            response = app.handle(request)
        except Exception:
            response = Response(500, {"message": "Server Error"})
        try:
            if request is not None:
                app.log(request, response, time.perf_counter() - started)
        except Exception:  # the log must never break an answer
            pass
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(response)

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        body = self._body()
        headers = dict(self.headers.items())
        host = headers.get("host") or "{}:{}".format(*self.server.server_address[:2])
        return Request(
            method=self.command, path=unquote(parts.path) or "/",
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            query_string=parts.query, headers=headers, body=body, base_url=f"http://{host}",
        )

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response) -> None:
        payload = response.encode()
        reason = self.responses.get(response.status, ("",))[0]
        lines = [f"HTTP/1.1 {response.status} {reason}", f"Date: {_http_date()}"]
        if payload or response.status != 204:
            lines.append("Content-Type: application/json")
        lines += [f"Content-Length: {len(payload)}", "Cache-Control: no-cache, private",
                  f"X-App-Version: {APP_VERSION}"]
        lines += [f"{name}: {value}" for name, value in response.headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        data = head + payload if self.command != "HEAD" else head
        with contextlib.suppress(OSError):
            self.wfile.write(data)   # one write per answer: no Nagle/delayed-ACK stalls


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


class Sandbox:
    """A Concord emulator on a loopback port, served from a background thread.

    ``with Sandbox(seed="demo").start() as sb: requests.get(sb.url + "/api/me", ...)``
    """

    def __init__(self, state_dir: str | Path | None = None, token: str = "sandbox-token",
                 seed: Any = "demo", rate_limit: int = 90, rate_window: float = 60.0,
                 latency_ms: float = 0, fault_rate: float = 0.0,
                 drop_after_commit_rate: float = 0.0, fault_seed: int | None = None,
                 port: int = 0, max_per_page: int = 100, host: str = "127.0.0.1",
                 quiet: bool = True) -> None:
        self.config = Config(token=token, seed=seed, rate_limit=rate_limit,
                             rate_window=float(rate_window), latency_ms=float(latency_ms),
                             fault_rate=fault_rate, drop_after_commit_rate=drop_after_commit_rate,
                             fault_seed=fault_seed, max_per_page=max_per_page, quiet=quiet)
        self._temp = state_dir is None
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.host = host
        self.port = port
        self.token = token
        self.app: App | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="concord-sandbox-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        store = Store(self.state_dir / "sandbox.sqlite3")
        try:
            if store.is_new:
                seeds.apply(store, seeds.load(self.config.seed))
        except BaseException:
            store.close()
            raise
        self.app = App(store, self.config)
        self._server = _Server((self.host, self.port), self.app)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="concord-sandbox",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        self._stopping = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="concord-sandbox-log",
                                         daemon=True)
        self._flusher.start()
        return self

    def _flush_loop(self) -> None:
        """Write the buffered request log a few times a second."""
        while not self._stopping.wait(0.25):
            with contextlib.suppress(Exception):
                if self.app is not None:
                    self.app.store.flush_log()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        for thread in (self._thread, self._flusher):
            if thread is not None:
                thread.join(timeout=5)
        if self.app is not None:
            with self.app.store.lock:
                self.app.store.close()
        if self._temp and self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
