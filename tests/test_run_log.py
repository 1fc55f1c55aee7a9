"""The run log: JSON lines, redaction, rotation, and a log that cannot be written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concord_etl.crm.request_event import RequestEvent
from concord_etl.crm.wait_clock import WaitClock
from concord_etl.errors import ConfigError
from concord_etl.run_log import RunLog
from concord_etl.settings import Secret


def event(path: str = "/api/contacts?page=1", status: int | None = 200) -> RequestEvent:
    return RequestEvent(method="GET", path=path, status=status, error=None, duration_s=0.01234,
                        attempt=2, waited_s=1.5, limit=60, remaining=12, retry_after=None)


def test_one_json_line_per_request_and_event(tmp_path: Path) -> None:
    shown: list[str] = []
    with RunLog(tmp_path / "run.log", echo=shown.append, run_id="r1") as log:
        log.event("run.start", command="concord-etl export")
        log.request(event())
    lines = [json.loads(line) for line in (tmp_path / "run.log").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["run.start", "request"]
    assert {line["run"] for line in lines} == {"r1"} and lines[0]["ts"].endswith("Z")
    request = lines[1]
    assert (request["method"], request["path"], request["status"], request["attempt"]) == \
        ("GET", "/api/contacts?page=1", 200, 2)
    assert request["rate_limit"] == {"limit": 60, "remaining": 12, "retry_after": None}
    assert shown[1] == ("GET /api/contacts?page=1 -> 200 in 0.012 s, attempt 2, "
                        "waited 1.5 s for the rate limit, rate limit 12/60 left")


def test_secrets_never_reach_the_file_or_the_screen(tmp_path: Path) -> None:
    shown: list[str] = []
    with RunLog(tmp_path / "run.log", echo=shown.append, secrets=[Secret("tok-one-1")]) as log:
        log.add_secret("tok-two-2")
        log.event("oops", message="sent tok-one-1 and tok-two-2",
                  headers={"Authorization": "Bearer 5|AbCdEfGhIjKlMnOpQrStUvWxYz"},
                  token=Secret("hidden-3"))
        log.request(event(path="/api/me?note=tok-two-2"))
    text = (tmp_path / "run.log").read_text() + "\n".join(shown)
    for secret in ("tok-one-1", "tok-two-2", "AbCdEfGhIjKl", "hidden-3"):
        assert secret not in text
    assert text.count("***") >= 5


def test_the_log_is_rotated_by_size(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    with RunLog(path, max_bytes=2_000, backups=2) as log:
        for _ in range(100):
            log.request(event())
    assert path.exists() and (tmp_path / "run.log.1").exists() and (tmp_path / "run.log.2").exists()
    assert not (tmp_path / "run.log.3").exists()
    assert all(p.stat().st_size <= 2_000 for p in tmp_path.iterdir())


def test_an_unopenable_log_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot open the log file"):
        RunLog(blocker / "run.log")


def test_wait_clock_counts_overlapping_waits_once() -> None:
    clock = WaitClock()
    clock.begin(0.0)       # thread A waits 0..5
    clock.begin(1.0)       # thread B waits 1..6
    assert clock.total(3.0) == 3.0
    clock.end(5.0)
    clock.end(6.0)
    clock.begin(10.0)      # thread A again, 10..12
    clock.end(12.0)
    assert clock.total(20.0) == 8.0     # summed per thread it would be 5 + 5 + 2 = 12
