"""Bounded HTTP exchanges: a total deadline per request and a maximum answer size.

``requests`` only knows per-operation timeouts: a server that sends one byte every few seconds
resets the read timeout forever, and a body that never ends is read into memory until the
machine runs out. Here every request runs under a :class:`Deadline` (connect + headers + the
whole body): when it passes, a watchdog thread shuts the request's socket down, which ends any
blocked read at once. :func:`read_body` streams the body and stops at ``max_bytes`` (decoded
bytes, so a compressed bomb stops too).

The socket is found through a connection-pool subclass that tells the current thread's
deadline which connection the request got (:class:`WatchedAdapter`, mounted on each session).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Answer", "BodyTooLarge", "Deadline", "DeadlinePassed", "WatchedAdapter", "read_body"]

_current = threading.local()
_RETRY_CUT = 0.2          # while connecting (no socket yet), try the cut again this often


class DeadlinePassed(Exception):
    """The request's total deadline passed before the whole answer arrived."""


class BodyTooLarge(Exception):
    """The answer is larger than the client accepts."""

    def __init__(self, size: int, limit: int, declared: bool) -> None:
        self.size, self.limit, self.declared = size, limit, declared
        super().__init__(f"{size} bytes > {limit}")


class Deadline:
    """``with Deadline(120): session.request(...)`` — the request is cut off after 120 s."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.expired = False
        self._done = False
        self._conn: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._arm(self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()
        _current.deadline = None

    def check(self) -> None:
        if self.expired:
            raise DeadlinePassed

    def attach(self, conn: Any) -> None:
        """The connection this request uses (called from the pool, in the request's thread)."""
        with self._lock:
            self._conn = conn

    def _arm(self, delay: float) -> None:
        timer = threading.Timer(delay, self._expire)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = getattr(self._conn, "sock", None)
            if sock is None:                    # still connecting: the cut is retried
                self._arm(_RETRY_CUT)
                return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)     # ends a blocked recv() in the request thread


class _WatchedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.attach(conn)
        return conn


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.attach(conn)
        return conn


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections a :class:`Deadline` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer: status, headers (case-insensitive) and the body bytes."""

    status_code: int
    headers: Any
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def read_body(response: requests.Response, max_bytes: int, deadline: Deadline) -> bytes:
    """The whole body of a streamed ``response``; raises :class:`BodyTooLarge` past
    ``max_bytes`` (announced or read) and :class:`DeadlinePassed` when the deadline cut it."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(int(declared), max_bytes, declared=True)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in _chunks(response):
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(size, max_bytes, declared=False)
            deadline.check()
            chunks.append(chunk)
    except requests.RequestException:
        deadline.check()
        raise
    deadline.check()
    return b"".join(chunks)


def _chunks(response: requests.Response) -> Iterator[bytes]:
    yield from response.iter_content(chunk_size=1 << 16)
