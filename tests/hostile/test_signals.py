"""SIGTERM and SIGHUP (cron, systemd, docker, CI, a closed terminal) stop like Ctrl-C.

Before: exit 143, no message, no results file; 15 of 19 rows then reported `unverified` had in
fact landed. Now: exit 3, one line, a complete results file, and the rerun finishes exactly once.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import (
    TOKEN,
    last_json,
    live,
    popen_cli,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
)

UNTHROTTLED = ("--rate-limit", "100000")
SIGNALS = [s for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s)]
CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
"""
DEALS_NO_KEY = """\
version: 1
resource: deals
columns:
  Deal: name
  Stage: {field: stage_id, lookup: {resource: pipeline-stages, by: name, scope: {pipeline: Sales Pipeline}}}
"""


def _writes_seen(url: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return sum(n for route, n in stats["by_route"].items() if route.split()[0] in ("POST", "PUT"))


def _stop_after(proc: Any, url: str, writes: int, sig: int) -> tuple[str, str]:
    while proc.poll() is None and _writes_seen(url) < writes:
        time.sleep(0.01)
    assert proc.poll() is None, "the import ended before it could be stopped"
    proc.send_signal(sig)
    return proc.communicate(timeout=120)


@pytest.mark.parametrize("name", SIGNALS)
def test_a_stop_signal_mid_import_finishes_cleanly_and_the_rerun_resumes(
    sandbox_process: Any, tmp_path: Path, name: str
) -> None:
    sb = sandbox_process("--latency-ms", "150", *UNTHROTTLED)
    data = write_csv(tmp_path / "contacts.csv", ["First Name", "Email"],
                     [[f"S{i}", f"s{i}@example.com"] for i in range(120)])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    args = ["import", str(data), "-m", str(mapping), "--json", "--quiet", "--concurrency", "4"]
    proc = popen_cli(args, url=sb.url, token=TOKEN)
    out, err = _stop_after(proc, sb.url, 5, getattr(signal, name))
    assert proc.returncode == 3, err
    assert err.startswith(f"error: interrupted by {name}: stopped after the requests in flight")
    assert len(err.strip().splitlines()) == 1 and "rerun the same command" in err
    summary = json.loads(out.strip().splitlines()[-1])          # --json still says what happened
    assert summary["aborted"] == f"interrupted by {name}"
    results = read_results(next(tmp_path.glob("contacts*.results.csv")))
    assert len(results) == 120                                   # complete, even now
    assert {r["_action"] for r in results} <= {"created", "pending"}
    again = run_cli(args, url=sb.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["created"] == 120
    emails = Counter(c["email"] for c in live(state(sb.url)["contacts"])
                     if c["email"].startswith("s"))
    assert len(emails) == 120 and max(emails.values()) == 1


def test_sigterm_on_rows_without_a_key_leaves_nothing_unverified(
    sandbox_process: Any, tmp_path: Path
) -> None:
    """The probe of the issue: rows without a match key, a SIGTERM while writes are in flight."""
    sb = sandbox_process("--latency-ms", "300", *UNTHROTTLED)
    data = write_csv(tmp_path / "deals.csv", ["Deal", "Stage"],
                     [[f"Deal {i}", "Contact Made"] for i in range(40)])
    mapping = write_mapping(tmp_path / "deals.yaml", DEALS_NO_KEY)
    args = ["import", str(data), "-m", str(mapping), "--json", "--quiet", "--concurrency", "8"]
    proc = popen_cli(args, url=sb.url, token=TOKEN)
    _out, err = _stop_after(proc, sb.url, 6, signal.SIGTERM)
    assert proc.returncode == 3, err
    results = read_results(next(tmp_path.glob("deals*.results.csv")))
    assert len(results) == 40
    landed = len([d for d in state(sb.url)["deals"] if d["name"].startswith("Deal ")])
    assert sum(r["_action"] == "created" for r in results) == landed   # none left unknown
    again = run_cli(args, url=sb.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    summary = last_json(again.stdout)
    assert summary["created"] == 40 and summary["unverified"] == 0
    names = Counter(d["name"] for d in state(sb.url)["deals"] if d["name"].startswith("Deal "))
    assert len(names) == 40 and max(names.values()) == 1


def test_sigterm_during_an_export_leaves_no_file_and_exits_3(
    sandbox_process: Any, tmp_path: Path
) -> None:
    sb = sandbox_process("--latency-ms", "400", *UNTHROTTLED)
    out = tmp_path / "out" / "contacts.xlsx"
    proc = popen_cli(["export", "contacts", "-o", str(out), "--quiet"], url=sb.url, token=TOKEN)
    before = len(requests.get(f"{sb.url}/_sandbox/requests", timeout=10).json())
    while proc.poll() is None and len(
            requests.get(f"{sb.url}/_sandbox/requests", timeout=10).json()) <= before:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert err.startswith("error: interrupted by SIGTERM")
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []   # no temp file either


def test_a_signal_that_was_ignored_stays_ignored() -> None:
    from concord_etl.cli.stopping import stop_signals

    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with stop_signals():
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
