"""A ``records:`` mapping is judged like a one-resource mapping: every problem of a row at once
(one reason per line), warnings apart, phones as Concord takes them, lookups with defaults and
``when_not_found``, and ``create_missing`` only for rows that pass everything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
)

HEADERS = ["Company", "First", "Email", "Phone", "Owner", "Source", "Notes"]
MAPPING = """\
version: 1
records:
  company:
    resource: companies
    match: {on: [name]}
    columns:
      Company: name
      Source: {field: source_id, lookup: {resource: sources, by: name, create_missing: true}}
  contact:
    resource: contacts
    match: {on: [email]}
    columns:
      First: first_name
      Email: email
      Phone: {field: phones, phone_type: work}
      Owner: {field: user_id, lookup: {resource: users, by: email, when_not_found: blank}}
    link: {companies: company}
  note:
    resource: notes
    columns:
      Notes: body
    link: {contacts: contact}
"""


def _run(sb: Any, data: Path, mapping: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(["import", str(data), "-m", str(mapping), "--json", *extra],
                     url=sb.url, token=TOKEN)
    return result.returncode, last_json(result.stdout), result.stderr


def test_every_problem_of_a_row_at_once_and_warnings_apart(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADERS, [
        ["Acme", "", "not-an-email", "+1 555 0100", "nobody@example.com", "Fairs", "hello"],
        ["Brightwave", "Tom", "tom@bw.example", "001-672-799-2170x5610", "sam@example.com",
         "Referrals", "call back"],
        ["Kestrel", "Kim", "kim@kestrel.example", "call me maybe", "ghost@example.com",
         "Referrals", ""],
    ])
    mapping = write_mapping(tmp_path / "fair.yaml", MAPPING)
    code, summary, err = _run(sandbox, data, mapping)
    assert code == 1, err
    rows = read_results(Path(summary["results"]))
    # row 2: both problems of the contact, one reason per line, each naming record and column
    # (a value a contact needs is looked for on every row of that contact: listed last)
    first = rows[0]
    assert first["_contact_action"] == "rejected"
    assert first["_errors"].split("\n") == [
        'contact: Email: "not-an-email" is not a valid e-mail address',
        "contact: First: a value is required",
        "note: not written: the contact of this row was rejected",
    ]
    assert "contact: Owner: user 'nobody@example.com' not found" in first["_warnings"]
    # a phone with an extension is what Concord accepts: kept as written
    assert rows[1]["_contact_action"] == "created" and rows[1]["_warnings"] == ""
    crm = state(sandbox.url)
    tom = next(c for c in live(crm["contacts"]) if c["email"] == "tom@bw.example")
    assert [p["number"] for p in tom["phones"]] == ["001-672-799-2170x5610"]
    assert tom["user_id"] == 2
    # an odd phone and an unknown owner (when_not_found: blank) are warnings, not rejections
    third = rows[2]
    assert third["_contact_action"] == "created"
    assert third["_warnings"].split("\n") == [
        'contact: Phone: "call me maybe" does not look like a phone number (fewer than 5 '
        "digits, or letters); Concord stores it as written",
        "contact: Owner: user 'ghost@example.com' not found (looked up by email); the field "
        "is left empty",
    ]
    kim = next(c for c in live(crm["contacts"]) if c["email"] == "kim@kestrel.example")
    assert kim["user_id"] is None
    assert summary["warnings"] == 2                  # rows 2 and 4
    # the company of row 2 is fine (its contact is not): create_missing made its source, once
    assert [s["name"] for s in live(crm["sources"]) if s["name"] == "Fairs"] == ["Fairs"]
    assert summary["created_related"] == [f"sources: Fairs (id {acme_source(crm)})"]


def acme_source(crm: dict[str, Any]) -> int:
    return next(int(c["source_id"]) for c in live(crm["companies"]) if c["name"] == "Acme")


def test_create_missing_waits_for_rows_that_pass_every_check(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", ["Company", "Source", "Industry"], [
        ["Acme", "Trade fair 2031", "not an industry"],
        ["Brightwave", "Booth visitors 2031", "Retail"],
    ])
    mapping = write_mapping(tmp_path / "companies.yaml", """\
version: 1
records:
  company:
    resource: companies
    match: {on: [name]}
    columns:
      Company: name
      Source: {field: source_id, lookup: {resource: sources, by: name, create_missing: true}}
      Industry: {field: industry_id, lookup: {resource: industries, by: name}}
""")
    code, summary, err = _run(sandbox, data, mapping)
    assert code == 1, err
    rows = read_results(Path(summary["results"]))
    assert rows[0]["_company_action"] == "rejected"
    assert "Industry: industry 'not an industry' not found" in rows[0]["_errors"]
    names = {s["name"] for s in live(state(sandbox.url)["sources"])}
    assert "Booth visitors 2031" in names and "Trade fair 2031" not in names


def test_a_default_that_is_not_found_stops_before_anything_is_written(
        sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", ["Company"], [["Acme"], ["Brightwave"]])
    mapping = write_mapping(tmp_path / "companies.yaml", """\
version: 1
records:
  company:
    resource: companies
    match: {on: [name]}
    columns:
      Company: name
    defaults:
      user_id: nobody@example.com
""")
    before = len(request_log(sandbox.url))
    result = run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nobody@example.com" in result.stderr and "defaults.user_id" in result.stderr
    assert [r for r in request_log(sandbox.url)[before:] if r["method"] != "GET"] == []
    assert not list(tmp_path.glob("*.journal.sqlite"))
    # found: every company gets the owner's id
    mapping.write_text(mapping.read_text().replace("nobody@", "sam@"), encoding="utf-8")
    code, _summary, err = _run(sandbox, data, mapping)
    assert code == 0, err
    owners = {c["name"]: c["user_id"] for c in live(state(sandbox.url)["companies"])}
    assert owners["Acme"] == owners["Brightwave"] == 2


def test_validate_of_a_records_mapping_lists_every_problem(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADERS, [
        ["Acme", "", "not-an-email", "+1 555 0100", "nobody@example.com", "Referrals", "hi"],
        ["Kestrel", "Kim", "kim@kestrel.example", "call me maybe", "sam@example.com",
         "Referrals", ""],
    ])
    mapping = write_mapping(tmp_path / "fair.yaml", MAPPING)
    out = tmp_path / "checked.csv"
    result = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json",
                      "--results", str(out)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 1, result.stderr
    summary = last_json(result.stdout)
    assert (summary["rows"], summary["rejected"], summary["warnings"]) == (2, 1, 1)
    rows = {r["_row"]: r for r in read_results(out)}
    assert rows["2"]["_action"] == "rejected"
    assert rows["2"]["_errors"].split("\n") == [
        'contact: Email: "not-an-email" is not a valid e-mail address',
        "contact: First: a value is required"]
    assert "contact: Owner:" in rows["2"]["_warnings"]
    assert rows["3"]["_action"] == "valid" and "contact: Phone:" in rows["3"]["_warnings"]
