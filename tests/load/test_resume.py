"""Exactly-once imports: kill -9 at random moments, dropped answers, changed inputs.

Every scenario ends with the sandbox's own state: 0 duplicates and 0 lost rows.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

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

# Pacing has its own tests; here the CRM's limit would only make the kill cycles slow.
UNTHROTTLED = ("--rate-limit", "100000")
CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
  Tier: cf_customer_tier
"""
COMPANIES_BY_NAME = """\
version: 1
resource: companies
match: {on: [name]}
columns:
  Name: name
  Segment: cf_segment
"""
NO_KEY = """\
version: 1
resource: deals
columns:
  Deal: name
  Stage: {field: stage_id, lookup: {resource: pipeline-stages, by: name, scope: {pipeline: Sales Pipeline}}}
"""


def contacts_file(path: Path, n: int) -> Path:
    tiers = ["Gold", "Silver", "Bronze"]
    return write_csv(path, ["First Name", "Email", "Tier"],
                     [[f"P{i}", f"p{i}@example.com", tiers[i % 3]] for i in range(n)])


def companies_file(path: Path, n: int) -> Path:
    segments = ["SMB", "Mid-Market", "Enterprise"]
    # names with commas too: the server allows duplicate company names, so a blind re-send shows
    return write_csv(path, ["Name", "Segment"],
                     [[f"Firm {i}, Ltd" if i % 4 == 0 else f"Firm {i}", segments[i % 3]]
                      for i in range(n)])


def _writes_seen(url: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return sum(n for route, n in stats["by_route"].items() if route.split()[0] in ("POST", "PUT"))


def kill_cycles(url: str, args: list[str], *, seed: int, max_cycles: int = 8) -> tuple[int, dict]:
    """Run the import, kill -9 it after a random number of writes, rerun until it finishes."""
    rng = random.Random(seed)
    kills = 0
    for _cycle in range(max_cycles):
        before = _writes_seen(url)
        target = before + rng.randint(1, 40)
        proc = popen_cli(args, url=url, token=TOKEN)
        while proc.poll() is None and _writes_seen(url) < target:
            time.sleep(0.01)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 0.05))   # land anywhere: before, during, after a write
            proc.kill()
            proc.communicate()
            kills += 1
            continue
        out, err = proc.communicate()
        assert proc.returncode in (0, 1), err
        return kills, last_json(out)
    result = run_cli(args, url=url, token=TOKEN)
    assert result.returncode in (0, 1), result.stderr
    return kills, last_json(result.stdout)


@pytest.mark.slow
def test_kill9_at_random_moments_then_rerun_creates_every_contact_once(
    sandbox_process, tmp_path: Path
) -> None:
    sb = sandbox_process("--latency-ms", "25", "--drop-after-commit-rate", "0.05",
                         "--fault-rate", "0.05", "--fault-seed", "7", *UNTHROTTLED)
    data = contacts_file(tmp_path / "contacts.csv", 160)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    args = ["import", str(data), "-m", str(mapping), "--json", "--quiet"]
    kills, summary = kill_cycles(sb.url, args, seed=1)
    assert kills >= 1
    contacts = live(state(sb.url)["contacts"])
    emails = Counter(c["email"] for c in contacts if c["email"].startswith("p"))
    assert len(emails) == 160, "lost rows"
    assert max(emails.values()) == 1, "duplicates"
    results = read_results(Path(summary["results"]))
    assert len(results) == 160
    assert Counter(r["_action"] for r in results)["created"] + summary["unchanged"] >= 1
    assert all(r["_action"] in ("created", "updated", "unchanged") for r in results)


@pytest.mark.slow
def test_company_name_upsert_survives_kill9_without_duplicates(sandbox_process, tmp_path: Path) -> None:
    sb = sandbox_process("--latency-ms", "25", "--drop-after-commit-rate", "0.1", "--fault-seed", "3",
                         *UNTHROTTLED)
    data = companies_file(tmp_path / "companies.csv", 120)
    mapping = write_mapping(tmp_path / "m.yaml", COMPANIES_BY_NAME)
    args = ["import", str(data), "-m", str(mapping), "--json", "--quiet"]
    kills, _summary = kill_cycles(sb.url, args, seed=2)
    assert kills >= 1
    names = Counter(c["name"] for c in live(state(sb.url)["companies"]) if c["name"].startswith("Firm"))
    assert len(names) == 120
    assert max(names.values()) == 1


def test_dropped_answers_are_reconciled_not_resent(sandbox_factory, tmp_path: Path) -> None:
    sb = sandbox_factory(drop_after_commit_rate=0.3, fault_seed=11)
    data = contacts_file(tmp_path / "contacts.csv", 40)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    assert summary["created"] == 40
    emails = Counter(c["email"] for c in live(state(sb.url)["contacts"]))
    assert all(emails[f"p{i}@example.com"] == 1 for i in range(40))


def test_server_errors_before_commit_are_retried(sandbox_factory, tmp_path: Path) -> None:
    sb = sandbox_factory(fault_rate=0.3, fault_seed=5)
    data = contacts_file(tmp_path / "contacts.csv", 30)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url, token=TOKEN)
    summary = last_json(result.stdout)
    emails = Counter(c["email"] for c in live(state(sb.url)["contacts"]))
    created = [e for e in emails if e.startswith("p")]
    assert max(emails.values()) == 1
    # every row is either created, or reported failed (to be retried by the next run)
    assert len(created) + summary["failed"] == 30
    if summary["failed"]:
        again = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url, token=TOKEN)
        assert last_json(again.stdout)["failed"] <= summary["failed"]


def test_rows_without_a_key_are_reported_unverified_never_recreated(
    sandbox_factory, tmp_path: Path
) -> None:
    sb = sandbox_factory(drop_after_commit_rate=1.0, fault_seed=1)
    data = write_csv(tmp_path / "deals.csv", ["Deal", "Stage"], [["Big one", "Contact Made"]])
    mapping = write_mapping(tmp_path / "m.yaml", NO_KEY)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url, token=TOKEN)
    summary = last_json(result.stdout)
    assert result.returncode == 1
    assert summary["unverified"] == 1
    deals = [d for d in live(state(sb.url)["deals"]) if d["name"] == "Big one"]
    assert len(deals) == 1
    again = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url, token=TOKEN)
    assert last_json(again.stdout)["unverified"] == 1
    assert len([d for d in live(state(sb.url)["deals"]) if d["name"] == "Big one"]) == 1


def test_changed_input_is_refused_until_restart(sandbox, tmp_path: Path) -> None:
    data = contacts_file(tmp_path / "contacts.csv", 5)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    first = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert first.returncode == 0, first.stderr
    contacts_file(data, 6)
    refused = run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token=TOKEN)
    assert refused.returncode == 2
    assert "--restart" in refused.stderr
    restarted = run_cli(["import", str(data), "-m", str(mapping), "--restart", "--json"],
                        url=sandbox.url, token=TOKEN)
    assert restarted.returncode == 0, restarted.stderr
    summary = last_json(restarted.stdout)
    assert (summary["created"], summary["unchanged"]) == (1, 5)


def test_rerun_after_completion_sends_nothing(sandbox, tmp_path: Path) -> None:
    data = contacts_file(tmp_path / "contacts.csv", 8)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token=TOKEN)
    from tests.helpers import request_log

    before = len(request_log(sandbox.url))
    again = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert again.returncode == 0
    summary = last_json(again.stdout)
    assert summary["created"] == 8  # reported from the journal
    new = request_log(sandbox.url)[before:]
    assert [r for r in new if r["method"] != "GET"] == []


def test_ctrl_c_stops_cleanly_with_exit_3_and_the_rerun_finishes(
    sandbox_process, tmp_path: Path
) -> None:
    import signal

    sb = sandbox_process("--latency-ms", "150", *UNTHROTTLED)   # slow enough to interrupt
    data = contacts_file(tmp_path / "contacts.csv", 400)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    args = ["import", str(data), "-m", str(mapping), "--json", "--quiet", "--concurrency", "4"]
    proc = popen_cli(args, url=sb.url, token=TOKEN)
    while proc.poll() is None and _writes_seen(sb.url) < 5:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "rerun" in err and "Traceback" not in err
    results = read_results(tmp_path / "contacts.m.results.csv")
    assert len(results) == 400                      # every row is in the results, even now
    assert {r["_action"] for r in results} == {"created", "pending"}
    again = run_cli(args, url=sb.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["created"] == 400
    emails = Counter(c["email"] for c in live(state(sb.url)["contacts"]) if c["email"].startswith("p"))
    assert len(emails) == 400 and max(emails.values()) == 1
