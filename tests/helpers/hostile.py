"""A misbehaving CRM for the hostile tests: a stdlib proxy in front of a real sandbox.

Every request is forwarded to the sandbox unless a :class:`Rule` matches it; a rule answers
instead, in one of the ways a broken, overloaded or hostile server does: a 429 with some
``Retry-After``, JSON of the wrong shape, HTML, a redirect, a body dripped one byte at a time,
a body that never ends, an error message that echoes the caller's token. The proxy logs what
it saw (method, path, time, the answer given) so a test can assert what the client did.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Action = Callable[["_Handler", "Seen"], None]


@dataclass
class Seen:
    """One request as the proxy received it."""

    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answer: str = "forwarded"
    peer: tuple[str, int] | None = None      # the client's address: one per connection


@dataclass
class Rule:
    """Answer requests of ``method`` whose path starts with ``path`` with ``action``.

    ``times`` limits how often the rule fires (None: always); ``skip`` lets the first N
    matching requests through to the sandbox before the rule starts to fire.
    """

    method: str
    path: str
    action: Action
    times: int | None = None
    skip: int = 0
    name: str = ""
    fired: int = 0
    _matched: int = field(default=0, repr=False)

    def take(self, method: str, path: str) -> bool:
        if method != self.method and self.method != "*":
            return False
        if not path.split("?", 1)[0].startswith(self.path):
            return False
        self._matched += 1
        if self._matched <= self.skip:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


# -- actions ----------------------------------------------------------------------------------
def reply(status: int, body: Any = None, *, headers: dict[str, str] | None = None,
          content_type: str = "application/json") -> Action:
    """A complete answer: ``body`` as JSON (dict/list), or bytes/str sent as they are."""
    if isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif body is None:
        data = b""
    else:
        data = json.dumps(body).encode("utf-8")

    def act(handler: _Handler, seen: Seen) -> None:
        seen.answer = f"{status}"
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return act


def echo_token(status: int = 422) -> Action:
    """An error whose message and field errors repeat the request's Authorization header."""

    def act(handler: _Handler, seen: Seen) -> None:
        auth = seen.headers.get("Authorization", "")
        token = auth.split(" ", 1)[-1]
        body = {"message": f"Invalid request for {auth} (token {token})",
                "errors": {"email": [f"The email is taken; your key {token} was logged"]}}
        reply(status, body)(handler, seen)

    return act


def drip(interval: float = 2.0, declared: int = 1_000_000) -> Action:
    """A 200 that announces ``declared`` bytes, then sends one byte every ``interval`` s."""

    def act(handler: _Handler, seen: Seen) -> None:
        seen.answer = "drip"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(b"[")
        handler.wfile.flush()
        with contextlib.suppress(OSError):
            while not handler.server.stopping.wait(interval):
                handler.wfile.write(b" ")
                handler.wfile.flush()

    return act


def drip_headers(interval: float = 1.0) -> Action:
    """A status line, then one byte of an endless header every ``interval`` s."""

    def act(handler: _Handler, seen: Seen) -> None:
        seen.answer = "drip-headers"
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            handler.wfile.flush()
            while not handler.server.stopping.wait(interval):
                handler.wfile.write(b"a")
                handler.wfile.flush()

    return act


def endless(chunk: int = 1 << 16) -> Action:
    """A 200 with a chunked JSON body that never ends (as fast as the client reads)."""

    def act(handler: _Handler, seen: Seen) -> None:
        seen.answer = "endless"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        piece = b"[" + b"1," * (chunk // 2)
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        with contextlib.suppress(OSError):
            while not handler.server.stopping.is_set():
                handler.wfile.write(frame)
        handler.close_connection = True

    return act


def hang_up() -> Action:
    """Close the connection without any answer."""

    def act(handler: _Handler, seen: Seen) -> None:
        seen.answer = "hang-up"
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    return act


# -- the server -------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: HostileServer
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(time.monotonic(), self.command, self.path,
                    {k: v for k, v in self.headers.items()}, body, peer=self.client_address)
        proxy = self.server.proxy
        with proxy.lock:
            proxy.seen.append(seen)
            rule = next((r for r in proxy.rules if r.take(self.command, self.path)), None)
        if rule is not None:
            rule.action(self, seen)
            return
        if proxy.upstream is None:
            reply(404, {"message": "Not found."})(self, seen)
            return
        self._forward(seen, proxy.upstream)

    def _forward(self, seen: Seen, upstream: str) -> None:
        parts = urlsplit(upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        headers = {k: v for k, v in seen.headers.items()
                   if k.lower() not in ("host", "connection", "keep-alive")}
        try:
            conn.request(seen.method, seen.path, body=seen.body or None, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        seen.answer = str(answer.status)
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length",
                                    "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class HostileServer:
    """``with HostileServer(sandbox.url, [Rule(...)]) as crm: ... crm.url ...``."""

    def __init__(self, upstream: str | None, rules: list[Rule] | None = None) -> None:
        self.upstream = upstream
        self.rules = list(rules or [])
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._server.stopping = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self, method: str | None = None, path: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.seen
                    if (method is None or s.method == method) and s.path.startswith(path)]
