"""Lookups joined per chunk: every problem at once, defaults, fallbacks, and the cheaper fetch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import (
    REPO,
    TOKEN,
    last_json,
    live,
    read_results,
    request_log,
    run_cli,
    state,
    write_csv,
    write_mapping,
    writes,
)

LEADS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: {field: email, transform: [strip, lower]}
  Score: cf_lead_score
  Owner: {field: user_id, lookup: {resource: users, by: email}}
  Source: source_id
  Company: {field: companies, lookup: {resource: companies, by: name, create_missing: true}}
"""
HEADER = ["First Name", "Email", "Score", "Owner", "Source", "Company"]


def good(i: int, **changes: str) -> list[str]:
    row = {"First Name": f"Lead{i}", "Email": f"lead{i}@l.example", "Score": str(i),
           "Owner": "sam@example.com", "Source": "Referrals", "Company": "Acme Ltd"}
    row.update({k.replace("_", " "): v for k, v in changes.items()})
    return [row[h] for h in HEADER]


def test_every_problem_of_a_row_at_once(sandbox, tmp_path: Path) -> None:
    bad = good(1)
    bad[1], bad[2], bad[3], bad[4] = "bad@@x", "12.5", "ghost@example.com", "Carrier pigeon"
    data = write_csv(tmp_path / "l.csv", HEADER, [good(0), bad])
    mapping = write_mapping(tmp_path / "m.yaml", LEADS)
    expected = [
        'Email: "bad@@x" is not a valid e-mail address',
        'Score: "12.5" is not a whole number',
        "Owner: user 'ghost@example.com' not found (looked up by email)",
        "Source: source 'Carrier pigeon' not found (looked up by name)",
    ]
    checked = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json",
                       "--results", str(tmp_path / "v.csv")], url=sandbox.url, token=TOKEN)
    assert [e["reason"] for e in last_json(checked.stdout)["errors"]] == expected
    assert read_results(tmp_path / "v.csv")[0]["_errors"].split("\n") == expected
    plan = tmp_path / "plan.jsonl"
    run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(plan)],
            url=sandbox.url, token=TOKEN)
    assert json.loads(plan.read_text().splitlines()[1])["errors"] == expected
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    rows = read_results(Path(last_json(result.stdout)["results"]))
    assert rows[1]["_errors"].split("\n") == expected


def test_a_lookup_default_is_resolved_and_checked_before_any_row(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "l.csv", HEADER, [good(0, Owner=""), good(1)])
    mapping = write_mapping(tmp_path / "m.yaml", LEADS + "defaults:\n  user_id: alex@example.com\n")
    plan = tmp_path / "plan.jsonl"
    result = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(plan)],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    owners = [json.loads(line)["payload"]["user_id"] for line in plan.read_text().splitlines()]
    assert owners == [3, 2]                                  # alex (default), sam (the cell)

    broken = write_mapping(tmp_path / "b.yaml", LEADS + "defaults:\n  user_id: nobody@example.com\n")
    for command in (["validate", "--online"], ["import", "--dry-run"], ["import"]):
        result = run_cli([command[0], str(data), "-m", str(broken), *command[1:]],
                         url=sandbox.url, token=TOKEN)
        assert result.returncode == 2, (command, result.stderr)
        assert "defaults.user_id" in result.stderr
        assert "user 'nobody@example.com' not found (looked up by email)" in result.stderr
    assert writes(sandbox.url) == []


def test_when_not_found_blank_or_default(sandbox, tmp_path: Path) -> None:
    text = LEADS.replace(
        "  Source: source_id\n",
        "  Source: {field: source_id, lookup: {resource: sources, when_not_found: blank}}\n",
    ).replace(
        "lookup: {resource: users, by: email}",
        "lookup: {resource: users, by: email, when_not_found: default}",
    ) + "defaults:\n  user_id: alex@example.com\n"
    data = write_csv(tmp_path / "l.csv", HEADER,
                     [good(0, Owner="ghost@example.com", Source="Carrier pigeon")])
    plan = tmp_path / "plan.jsonl"
    result = run_cli(["import", str(data), "-m", str(write_mapping(tmp_path / "m.yaml", text)),
                      "--dry-run", "--plan", str(plan), "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    line = json.loads(plan.read_text())
    assert line["action"] == "create"
    assert line["payload"]["user_id"] == 3 and "source_id" not in line["payload"]
    assert line["warnings"] == [
        "Owner: user 'ghost@example.com' not found (looked up by email); the default is used",
        "Source: source 'Carrier pigeon' not found (looked up by name); the field is left empty",
    ]
    assert last_json(result.stdout)["warnings"] == 1


def test_create_missing_only_for_rows_that_pass_every_other_check(
    sandbox, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "l.csv", HEADER, [
        good(0, Company="Brand New Co"),
        good(1, Company="Doomed Co", Email="not-an-email"),
        good(2, Company="Doomed Co", Owner="ghost@example.com"),
        good(3, Company="Brand New Co"),
    ])
    mapping = write_mapping(tmp_path / "m.yaml", LEADS)
    dry = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--json"],
                  url=sandbox.url, token=TOKEN)
    assert last_json(dry.stdout)["would_create_related"] == ["companies: Brand New Co"]
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    summary = last_json(result.stdout)
    assert (summary["created"], summary["rejected"]) == (2, 2)
    names = [c["name"] for c in live(state(sandbox.url)["companies"])]
    assert names.count("Brand New Co") == 1 and "Doomed Co" not in names


def seeded(count: int) -> dict[str, Any]:
    seed = json.loads((REPO / "concord_etl/sandbox/seeds/demo.json").read_text())
    seed["records"]["contacts"] = [
        {"first_name": f"Known{i}", "email": f"known{i}@k.example"} for i in range(count)
    ]
    return seed


def searches(url: str) -> list[dict[str, Any]]:
    return [r for r in request_log(url) if "email%3Ain" in str(r.get("query"))
            or "email:in" in str(r.get("query"))]


def test_existing_records_are_read_whole_when_that_costs_fewer_requests(
    sandbox_factory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(seed=seeded(250))           # 3 list pages
    rows = [[f"Known{i}", f"known{i}@k.example"] for i in range(400)]   # 4 searches
    data = write_csv(tmp_path / "k.csv", ["First Name", "Email"], rows)
    mapping = write_mapping(tmp_path / "m.yaml", "version: 1\nresource: contacts\n"
                            "match: {on: [email]}\ncolumns:\n  First Name: first_name\n"
                            "  Email: email\n")
    before = len(request_log(sandbox.url))
    result = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--json"],
                     url=sandbox.url, token=TOKEN)
    summary = last_json(result.stdout)
    assert summary["unchanged"] == 250 and summary["created"] == 150
    assert summary["lookups"] == [
        "contacts by email: read all 250 records (3 requests) instead of searching 400 keys "
        "(4 requests)"]
    # the fields (create-fields; an update may happen, so one record's update-fields too),
    # then 3 list pages
    assert summary["requests"] == 3 + 3
    assert searches(sandbox.url)[before:] == []

    few = write_csv(tmp_path / "few.csv", ["First Name", "Email"], rows[:5])
    result = run_cli(["import", str(few), "-m", str(mapping), "--dry-run", "--json"],
                     url=sandbox.url, token=TOKEN)
    summary = last_json(result.stdout)
    assert summary["lookups"] == ["contacts by email: searched 5 keys (1 request)"]
    assert summary["requests"] == 3 + 1
