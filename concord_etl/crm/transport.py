"""Bounded HTTP exchanges: a total deadline per request and a maximum answer size.

``requests`` only knows per-operation timeouts: a server that sends one byte every few seconds
resets the read timeout forever, and a body that never ends is read into memory until the
machine runs out. Here every request runs under a :class:`Deadline` (connect + headers + the
whole body): when it passes, the watchdog (one thread for the whole process) shuts the
request's socket down, which ends any blocked read at once. :func:`read_body` streams the body and stops at ``max_bytes`` (decoded
bytes, so a compressed bomb stops too).

The socket is found through a connection-pool subclass that tells the current thread's
deadline which connection the request got (:class:`WatchedAdapter`, mounted on each session).
"""

from __future__ import annotations

import contextlib
import heapq
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
        self.due = self.started + seconds
        self.expired = False
        self.done = False
        self._conn: Any = None
        self._lock = threading.Lock()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _WATCHDOG.watch(self, self.due)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.done = True
        _WATCHDOG.forget()
        _current.deadline = None

    def check(self) -> None:
        if self.expired:
            raise DeadlinePassed

    def attach(self, conn: Any) -> None:
        """The connection this request uses (called from the pool, in the request's thread)."""
        with self._lock:
            self._conn = conn

    def expire(self) -> bool:
        """Cut the request's connection (watchdog thread); False while it has no socket yet
        (still connecting: the watchdog tries again a moment later)."""
        with self._lock:
            if self.done:
                return True
            self.expired = True
            sock = getattr(self._conn, "sock", None)
            if sock is None:
                return False
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)     # ends a blocked recv() in the request thread
        return True


class _Watchdog:
    """One daemon thread for every deadline of the process (a heap ordered by due time)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = 0
        self._finished = 0
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline, due: float) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (due, self._seq, deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="concord-deadlines",
                                                daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def forget(self) -> None:
        """A deadline is done; drop finished ones now and then so the heap stays small."""
        with self._cond:
            self._finished += 1
            if self._finished > 1024 and self._finished * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    if self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                        continue
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                _due, _seq, deadline = heapq.heappop(self._heap)
            if not deadline.expire():
                self.watch(deadline, time.monotonic() + _RETRY_CUT)


_WATCHDOG = _Watchdog()


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
