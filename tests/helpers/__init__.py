"""The shared helpers of the test suite (the one place for them; conftest.py only has fixtures).

Paths and the sandbox token, running the real CLI, and reading the sandbox's own view of the
CRM. ``tests.helpers.contract`` has the raw-HTTP helpers of the sandbox contract suite.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "sample_data"
MAPPINGS = REPO / "mappings"
DATA = REPO / "tests" / "data"
TOKEN = "test-token"          # user 1 of every sandbox the fixtures start


def cli_env(url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env.update(CONCORD_URL=url, CONCORD_TOKEN=token, PYTHONUNBUFFERED="1")
    return env


def run_cli(args: list[str], *, url: str, token: str, cwd: Path | None = None,
            timeout: float = 300, env: dict[str, str] | None = None,
            preexec_fn: Any = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess; ``env`` adds variables (e.g. CONCORD_REQUEST_DEADLINE)."""
    return subprocess.run(
        [sys.executable, "-m", "concord_etl", *args],
        env={**cli_env(url, token), **(env or {})}, cwd=cwd or REPO, capture_output=True,
        text=True, timeout=timeout, preexec_fn=preexec_fn,
    )


def _default_sigint() -> None:
    # A parent started in the background may ignore SIGINT, and children inherit that;
    # the CLI under test must see Ctrl-C like a user's terminal would send it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_cli(args: list[str], *, url: str, token: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "concord_etl", *args],
        env=cli_env(url, token), cwd=cwd or REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
    )


def state(url: str) -> dict[str, Any]:
    return requests.get(f"{url}/_sandbox/state", timeout=30).json()


def request_log(url: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/_sandbox/requests", timeout=30).json()


def writes(url: str, resource: str | None = None) -> list[dict[str, Any]]:
    """Write requests (POST/PUT/DELETE) the sandbox saw under /api, optionally for one resource."""
    out = []
    for entry in request_log(url):
        is_write = entry["method"] in ("POST", "PUT", "DELETE") and entry["path"].startswith("/api/")
        if is_write and (resource is None or entry["path"].rstrip("/").split("/")[2] == resource):
            out.append(entry)
    return out


def live(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not r.get("deleted_at")]


def read_results(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        header = [str(h) for h in rows[0]]
        return [dict(zip(header, r, strict=False)) for r in rows[1:]]
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = fh.readline()
        fh.seek(0)
        delimiter = csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
        return list(csv.DictReader(fh, delimiter=delimiter))


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_mapping(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON summary in output: {stdout!r}")
