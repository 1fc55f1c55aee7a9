"""Rows of one file that repeat a match key or a unique value, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import (
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

COMPANIES = """\
version: 1
resource: companies
match: {on: [name]}
columns:
  Company: {field: name, transform: [strip]}
  Company Phone: {field: phones, phone_type: work}
"""
CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: {field: email, transform: [strip, lower]}
  Phone: {field: phones, phone_type: mobile}
"""


def lead_sheet(tmp_path: Path) -> Path:
    """Three leads at Nordlys A/S (same name, same phone), one at Fjord Ltd."""
    return write_csv(tmp_path / "leads.csv", ["Name", "Email", "Company", "Company Phone"], [
        ["Ada", "ada@nordlys.example", "Nordlys A/S", "+45 3312 0000"],
        ["Bo", "bo@nordlys.example", " Nordlys A/S", "+45 3312 0000"],
        ["Cy", "cy@fjord.example", "Fjord Ltd", ""],
        ["Di", "di@nordlys.example", "Nordlys A/S ", "+45 3312 0000"],
    ])


def test_a_company_named_on_several_rows_is_created_once(sandbox, tmp_path: Path) -> None:
    data = lead_sheet(tmp_path)
    mapping = write_mapping(tmp_path / "companies.yaml", COMPANIES)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    assert (summary["created"], summary["duplicates"], summary["rejected"]) == (2, 2, 0)
    names = [c["name"] for c in live(state(sandbox.url)["companies"])]
    assert names.count("Nordlys A/S") == 1 and names.count("Fjord Ltd") == 1
    rows = {int(r["_row"]): r for r in read_results(Path(summary["results"]))}
    assert rows[2]["_action"] == "created"
    assert [rows[n]["_action"] for n in (3, 5)] == ["duplicate", "duplicate"]
    assert rows[3]["_concord_id"] == rows[5]["_concord_id"] == rows[2]["_concord_id"]
    posts = [w for w in writes(sandbox.url, "companies") if w["method"] == "POST"]
    assert len(posts) == 2

    again = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                    url=sandbox.url, token=TOKEN)          # finished: all from the journal
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["duplicates"] == 2
    assert len([w for w in writes(sandbox.url, "companies") if w["method"] == "POST"]) == 2


def test_the_dry_run_and_validate_show_the_fold(sandbox, tmp_path: Path) -> None:
    data = lead_sheet(tmp_path)
    mapping = write_mapping(tmp_path / "companies.yaml", COMPANIES)
    plan = tmp_path / "plan.jsonl"
    result = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(plan),
                      "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    lines = {line["row"]: line for line in map(json.loads, plan.read_text().splitlines())}
    assert [lines[n]["action"] for n in (2, 3, 4, 5)] == [
        "create", "duplicate", "create", "duplicate"]
    assert lines[3]["duplicate_of"] == 2 and lines[5]["payload"] is None
    checked = run_cli(["validate", str(data), "-m", str(mapping), "--json"],
                      url=sandbox.url, token=TOKEN)
    assert checked.returncode == 0
    assert last_json(checked.stdout)["duplicates"] == 2
    assert writes(sandbox.url) == []


def test_rows_sharing_a_key_but_disagreeing_are_rejected_naming_each_other(
    sandbox, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email", "Phone"], [
        ["Ada", "ada@x.example", "+44 20 7946 0001"],
        ["Bea", "bea@x.example", "+44 20 7946 0002"],
        ["Adeline", "ADA@x.example", "+44 20 7946 0001"],
    ])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 1
    rows = {int(r["_row"]): r for r in read_results(Path(last_json(result.stdout)["results"]))}
    assert rows[2]["_action"] == rows[4]["_action"] == "rejected"
    assert "also on row 4" in rows[2]["_errors"] and "also on row 2" in rows[4]["_errors"]
    assert "First Name" in rows[2]["_errors"]
    emails = [c["email"] for c in live(state(sandbox.url)["contacts"])]
    assert "bea@x.example" in emails and "ada@x.example" not in emails


def test_a_phone_on_two_contacts_is_caught_before_sending(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email", "Phone"], [
        ["Ada", "ada@y.example", "+44 20 7946 0100"],
        ["Bea", "bea@y.example", "+44 20 7946 0100"],
    ])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    checked = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json"],
                      url=sandbox.url, token=TOKEN)
    assert checked.returncode == 1
    reasons = [e["reason"] for e in last_json(checked.stdout)["errors"]]
    assert reasons == ['Phone: "+44 20 7946 0100" is also on row 2; phone numbers are unique '
                       "in Concord, so the CRM would refuse this row"]
    dry = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--json"],
                  url=sandbox.url, token=TOKEN)
    assert (last_json(dry.stdout)["created"], last_json(dry.stdout)["rejected"]) == (1, 1)
    before = len(request_log(sandbox.url))
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 1
    sent = [r for r in request_log(sandbox.url)[before:] if r["method"] == "POST"]
    assert len(sent) == 1 and sent[0]["status"] == 201       # the refused row never left


def test_a_resumed_run_gives_a_late_duplicate_its_first_rows_id(sandbox, tmp_path: Path) -> None:
    data = lead_sheet(tmp_path)
    mapping = write_mapping(tmp_path / "companies.yaml", COMPANIES)
    first = run_cli(["import", str(data), "-m", str(mapping), "--limit", "1", "--json"],
                    url=sandbox.url, token=TOKEN)
    assert first.returncode == 0, first.stderr
    rest = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                   url=sandbox.url, token=TOKEN)
    assert rest.returncode == 0, rest.stderr
    rows = {int(r["_row"]): r for r in read_results(Path(last_json(rest.stdout)["results"]))}
    assert rows[5]["_action"] == "duplicate" and rows[5]["_concord_id"] == rows[2]["_concord_id"]
    names = [c["name"] for c in live(state(sandbox.url)["companies"])]
    assert names.count("Nordlys A/S") == 1
