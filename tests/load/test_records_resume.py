"""Multi-record imports are exactly-once for every record kind: kill -9 at random moments,
dropped answers and server errors, then rerun until done — no duplicate, nothing missing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import MAPPINGS, live, state, write_csv
from tests.load.test_resume import UNTHROTTLED, kill_cycles

HEADERS = ["Company", "Website", "First Name", "Last Name", "Email", "Phone", "Job Title",
           "Deal", "Stage", "Product SKU", "Qty", "Discount %", "Notes", "Follow-up",
           "Follow-up Date"]
SKUS = ("CC-SEAT", "ONB-1", "SUP-PREM", "ANA-ADD")


def lead_sheet(path: Path, companies: int) -> Path:
    """Three people per company; the first two share the company's deal (one line each)."""
    rows = []
    for c in range(companies):
        for p in range(3):
            deal = f"Deal {c}" if p < 2 else ""
            rows.append([
                f"Firm {c}", f"firm{c}.example" if p == 0 else "", f"P{c}x{p}", "Lead",
                f"p{c}x{p}@firm{c}.example", f"+1 555 {c:03d} {p:04d}", "Buyer", deal,
                "Proposal Made" if deal else "", SKUS[(c + p) % 4] if deal else "",
                str(p + 1) if deal else "", "", f"Note {c}/{p}", f"Follow up {c}/{p}",
                f"2025-05-{(c % 28) + 1:02d}" if p % 2 == 0 else f"2025-05-{(c % 28) + 1:02d} 10:00",
            ])
    return write_csv(path, HEADERS, rows)


def _check(crm: dict[str, Any], companies: int) -> None:
    firms = Counter(c["name"] for c in live(crm["companies"]) if c["name"].startswith("Firm "))
    assert len(firms) == companies and max(firms.values()) == 1, "companies"
    people = {c["email"]: c for c in live(crm["contacts"]) if c["email"].startswith("p")}
    assert len(people) == companies * 3, "contacts missing"
    assert Counter(c["email"] for c in live(crm["contacts"]))["p0x0@firm0.example"] == 1
    deals = [d for d in live(crm["deals"]) if d["name"].startswith("Deal ")]
    assert Counter(d["name"] for d in deals) == Counter(f"Deal {c}" for c in range(companies))
    for deal in deals:
        lines = crm["billables"][str(deal["id"])]["products"]
        assert len(lines) == 2, (deal["name"], lines)                    # no doubled line
        assert len({c["id"] for c in deal["contacts"]}) == 2
    notes = Counter(n["body"] for n in crm["notes"] if n["body"].startswith("Note "))
    assert len(notes) == companies * 3 and max(notes.values()) == 1, "notes"
    tasks = Counter(a["title"] for a in live(crm["activities"])
                    if a["title"].startswith("Follow up"))
    assert len(tasks) == companies * 3 and max(tasks.values()) == 1, "tasks"
    for note in crm["notes"]:
        if note["body"].startswith("Note "):
            c, p = note["body"][5:].split("/")
            assert [x["email"] for x in note["contacts"]] == [f"p{c}x{p}@firm{c}.example"]


@pytest.mark.slow
def test_kill9_during_a_records_import_then_rerun_writes_every_record_once(
    sandbox_process, tmp_path: Path
) -> None:
    sb = sandbox_process("--seed", "demo", "--latency-ms", "20", "--drop-after-commit-rate",
                         "0.05", "--fault-rate", "0.03", "--fault-seed", "13", *UNTHROTTLED)
    data = lead_sheet(tmp_path / "fair.csv", 20)
    args = ["import", str(data), "-m", str(MAPPINGS / "trade-fair.yaml"), "--json", "--quiet"]
    kills, summary = kill_cycles(sb.url, args, seed=4, max_cycles=10)
    assert kills >= 1
    assert summary["rejected"] == 0 and summary["unverified"] == 0, summary
    _check(state(sb.url), 20)
    again = kill_cycles(sb.url, args, seed=5, max_cycles=1)[1]
    assert again["records"] == summary["records"]
    _check(state(sb.url), 20)


def test_ctrl_c_stops_a_records_import_cleanly_and_the_rerun_finishes(
    sandbox_process, tmp_path: Path
) -> None:
    import signal
    import time

    from tests.helpers import TOKEN, last_json, popen_cli, read_results, run_cli
    from tests.load.test_resume import _writes_seen

    sb = sandbox_process("--seed", "demo", "--latency-ms", "120", *UNTHROTTLED)
    data = lead_sheet(tmp_path / "fair.csv", 8)
    args = ["import", str(data), "-m", str(MAPPINGS / "trade-fair.yaml"), "--json", "--quiet",
            "--concurrency", "2"]
    proc = popen_cli(args, url=sb.url, token=TOKEN)
    while proc.poll() is None and _writes_seen(sb.url) < 6:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    rows = read_results(tmp_path / "fair.trade-fair.results.csv")
    assert len(rows) == 24                                 # every row, even now
    assert any(r["_task_action"] == "pending" for r in rows)
    again = run_cli(args, url=sb.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["rejected"] == 0
    _check(state(sb.url), 8)
