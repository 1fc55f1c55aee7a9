"""Sandbox throughput on loopback with keep-alive (goal: ≥ 1,000 requests/s).

Starts ``python -m concord_etl.sandbox --port 0 --quiet --rate-limit 100000000`` as a
subprocess and times N keep-alive requests per route (``GET /api/me``, ``GET /api/contacts/1``,
``POST /api/contacts``) from this process with
  (a) ``http.client.HTTPConnection`` — a lean client: the server's own capacity;
  (b) ``requests.Session(trust_env=False)`` — what concord-etl's client uses.
Baseline: the same lean client against a trivial stdlib ``http.server`` (HTTP/1.1 keep-alive,
answers ``{}``) started the same way, so the ratio shows the sandbox's own cost per request.

    python benchmarks/bench_sandbox.py [--quick] [--requests N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "sandbox-token"
GOAL = "≥ 1000 req/s"
ROUTES = (("GET", "/api/me"), ("GET", "/api/contacts/1"), ("POST", "/api/contacts"))

TRIVIAL_SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)   # one write: no Nagle/delayed-ACK stall
        self.flush_headers()
    do_GET = do_POST = _answer
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"Trivial server running at http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
"""


@contextmanager
def serving(args: list[str]) -> Iterator[tuple[str, int]]:
    """Run a server subprocess whose first stdout line ends with its URL; yield (host, port)."""
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if " at http://" not in line:
            message = f"server did not start: {line!r}"
            raise RuntimeError(message)
        host, port = line.rsplit("http://", 1)[1].rstrip("/").split(":")
        yield host, int(port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _bodies() -> Iterator[bytes]:
    serial = 0
    while True:
        serial += 1
        yield json.dumps({"first_name": "Bench", "last_name": f"Row {serial}",
                          "email": f"bench{serial}-{time.time_ns()}@example.com"}).encode()


def time_lean(host: str, port: int, method: str, path: str, n: int) -> float:
    """Requests/s of one keep-alive ``http.client`` connection."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
               "Content-Type": "application/json"}
    bodies = _bodies()
    started = time.perf_counter()
    for _ in range(n):
        conn.request(method, path, body=next(bodies) if method == "POST" else None,
                     headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status >= 400:
            message = f"{method} {path}: HTTP {response.status}"
            raise RuntimeError(message)
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


def time_requests(host: str, port: int, method: str, path: str, n: int) -> float:
    """Requests/s of one ``requests.Session`` (keep-alive, ``trust_env=False``)."""
    url = f"http://{host}:{port}{path}"
    bodies = _bodies()
    with requests.Session() as session:
        session.trust_env = False
        session.headers.update({"Authorization": f"Bearer {TOKEN}",
                                "Accept": "application/json",
                                "Content-Type": "application/json"})
        started = time.perf_counter()
        for _ in range(n):
            response = session.request(method, url, timeout=30,
                                       data=next(bodies) if method == "POST" else None)
            response.raise_for_status()
        elapsed = time.perf_counter() - started
    return n / elapsed


def _best(measure: Callable[[], float], repeats: int) -> float:
    return max(measure() for _ in range(repeats))


def run(quick: bool = False, n: int | None = None) -> list[dict[str, Any]]:
    count = n or (600 if quick else 3000)
    repeats = 1 if quick else 3
    sandbox_args = ["-m", "concord_etl.sandbox", "--port", "0", "--quiet",
                    "--rate-limit", "100000000"]
    baseline: dict[tuple[str, str], float] = {}
    with serving(["-c", TRIVIAL_SERVER]) as (host, port):
        for method, path in ROUTES:
            baseline[method, path] = _best(lambda m=method, p=path: time_lean(host, port, m, p,
                                                                            count), repeats)
    rows: list[dict[str, Any]] = []
    with serving(sandbox_args) as (host, port):
        for method, path in ROUTES:
            base = baseline[method, path]
            for client, timer in (("http.client", time_lean), ("requests", time_requests)):
                rate = _best(lambda m=method, p=path, t=timer: t(host, port, m, p, count),
                             repeats)
                rows.append({"metric": f"sandbox {method} {path} req/s ({client})",
                             "value": round(rate), "baseline": round(base),
                             "ratio": round(rate / base, 3), "goal": GOAL})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=None, help="requests per route")
    args = parser.parse_args()
    for row in run(args.quick, args.requests):
        print(f"{row['metric']:<52} value={row['value']!s:<8} baseline={row['baseline']!s:<8} "
              f"ratio={row['ratio']!s:<7} goal {row['goal']}")


if __name__ == "__main__":
    main()
