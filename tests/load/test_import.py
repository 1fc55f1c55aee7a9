"""End-to-end imports through the real CLI against a sandbox on a loopback port."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import (
    MAPPINGS,
    SAMPLE_DATA,
    TOKEN,
    last_json,
    live,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
    writes,
)

CONTACTS_MAPPING = """\
version: 1
resource: contacts
match: {on: [email], when_found: update}
columns:
  First Name: first_name
  Last Name: last_name
  Email: {field: email, transform: [strip, lower]}
  Mobile: {field: phones, phone_type: mobile}
  Tier: cf_customer_tier
  Interests: {field: cf_interests, split: ";"}
  Owner: {field: user_id, lookup: {resource: users, by: email}}
  Company: {field: companies, lookup: {resource: companies, by: name, create_missing: true}}
  Signed Up: {field: cf_signup_date, format: "%d/%m/%Y"}
defaults:
  tags: [imported]
"""
HEADER = ["First Name", "Last Name", "Email", "Mobile", "Tier", "Interests", "Owner", "Company",
          "Signed Up"]


def contact_rows(n: int, *, start: int = 0) -> list[list[str]]:
    tiers = ["Gold", "silver", " Bronze ", "Platinum"]
    return [
        [f"Name{i}", f"Last{i}", f" Person{i}@Example.com ", f"07700 9{i:05d}", tiers[i % 4],
         "Analytics;Reporting" if i % 2 else "Support", "sam@example.com",
         f"Company {i % 5}", f"{(i % 28) + 1:02d}/03/2024"]
        for i in range(start, start + n)
    ]


def options_count(url: str) -> int:
    import requests

    fields = requests.get(
        f"{url}/api/contacts/create-fields",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}, timeout=10,
    ).json()
    return sum(len(f.get("options") or []) for f in fields)


def test_import_creates_every_row_once_and_reports_bad_rows(sandbox, tmp_path: Path) -> None:
    rows = contact_rows(30)
    rows[3][2] = "not-an-email"                     # invalid e-mail
    rows[7][4] = "Diamond"                          # unknown option label
    rows[11][8] = "31/02/2024"                      # impossible date
    rows[15][6] = "ghost@example.com"               # owner that does not exist
    data = write_csv(tmp_path / "leads.csv", HEADER, rows)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    options_before = options_count(sandbox.url)

    result = run_cli(["import", str(data), "--mapping", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)

    assert result.returncode == 1, result.stderr
    summary = last_json(result.stdout)
    assert summary["rows"] == 30
    assert summary["created"] == 26
    assert summary["rejected"] == 4
    contacts = live(state(sandbox.url)["contacts"])
    emails = [c["email"] for c in contacts]
    assert len(emails) == len(set(emails))
    assert {f"person{i}@example.com" for i in range(30)} - {"person3@example.com"} - set(emails) == {
        "person7@example.com", "person11@example.com", "person15@example.com"
    }
    # no option created by accident, each new company created exactly once
    assert options_count(sandbox.url) == options_before
    companies = [c["name"] for c in live(state(sandbox.url)["companies"])]
    for i in range(5):
        assert companies.count(f"Company {i}") == 1
    results = read_results(Path(summary["results"]))
    assert [int(r["_row"]) for r in results] == list(range(2, 32))
    by_row = {int(r["_row"]): r for r in results}
    assert by_row[5]["_action"] == "rejected" and "e-mail" in by_row[5]["_errors"].lower()
    assert "Diamond" in by_row[9]["_errors"]
    assert "31/02/2024" in by_row[13]["_errors"]
    assert "ghost@example.com" in by_row[17]["_errors"]
    assert by_row[2]["_action"] == "created" and by_row[2]["_concord_id"]
    assert list(results[0])[:5] == ["_row", "_action", "_concord_id", "_errors", "_warnings"]
    assert list(results[0])[5:] == HEADER


def test_reimport_of_unchanged_rows_writes_nothing(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "a.csv", HEADER, contact_rows(12))
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    first = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert first.returncode == 0, first.stderr
    before = len(writes(sandbox.url))
    again = shutil.copy(data, tmp_path / "b.csv")   # new file: no journal, same content
    second = run_cli(["import", str(again), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert second.returncode == 0, second.stderr
    summary = last_json(second.stdout)
    assert summary["unchanged"] == 12 and summary["created"] == 0 and summary["updated"] == 0
    assert len(writes(sandbox.url)) == before


def test_update_sends_only_changed_fields(sandbox, tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    rows = contact_rows(3)
    run_cli(["import", str(write_csv(tmp_path / "a.csv", HEADER, rows)), "-m", str(mapping)],
            url=sandbox.url, token=TOKEN)
    rows[1][1] = "Changed"
    result = run_cli(["import", str(write_csv(tmp_path / "b.csv", HEADER, rows)), "-m", str(mapping),
                      "--json"], url=sandbox.url, token=TOKEN)
    summary = last_json(result.stdout)
    assert (summary["updated"], summary["unchanged"]) == (1, 2)
    puts = [w for w in writes(sandbox.url, "contacts") if w["method"] == "PUT"]
    assert len(puts) == 1
    contact = next(c for c in live(state(sandbox.url)["contacts"]) if c["email"] == "person1@example.com")
    assert contact["last_name"] == "Changed"


def test_dry_run_plans_without_writing(sandbox, tmp_path: Path) -> None:
    rows = contact_rows(5)
    rows[2][2] = "bad@"
    data = write_csv(tmp_path / "a.csv", HEADER, rows)
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    plan = tmp_path / "plan.jsonl"
    result = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(plan),
                      "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 1, result.stderr
    assert writes(sandbox.url) == []
    lines = [json.loads(line) for line in plan.read_text().splitlines()]
    assert [line["row"] for line in lines] == [2, 3, 4, 5, 6]
    assert [line["action"] for line in lines] == ["create", "create", "reject", "create", "create"]
    assert lines[0]["payload"]["email"] == "person0@example.com"
    assert lines[0]["payload"]["cf_customer_tier"] > 0      # an option id, not a label
    assert lines[2]["errors"]


def test_missing_mapped_column_is_an_input_error(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "a.csv", HEADER[:-1], [r[:-1] for r in contact_rows(2)])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    result = run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2
    assert "Signed Up" in result.stderr and "Traceback" not in result.stderr
    assert writes(sandbox.url) == []


def test_bad_token_aborts_with_exit_3_and_never_prints_the_token(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "a.csv", HEADER, contact_rows(2))
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    secret = "s3cr3t-wrong-token-value"
    result = run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token=secret)
    assert result.returncode == 3
    assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_no_api_access_user_gets_a_clear_message(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "a.csv", HEADER, contact_rows(2))
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS_MAPPING)
    result = run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token="noapi-token")
    assert result.returncode == 3
    assert "api access" in result.stderr.lower()


@pytest.mark.parametrize("sample", ["leads.csv", "leads.xlsx"])
def test_sample_leads_import_against_the_demo_seed(sandbox, tmp_path: Path, sample: str) -> None:
    data = shutil.copy(SAMPLE_DATA / sample, tmp_path / sample)
    mapping = MAPPINGS / "leads-contacts.yaml"
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 1, result.stderr      # the samples carry a few bad rows on purpose
    summary = last_json(result.stdout)
    assert summary["created"] > 0 and summary["rejected"] > 0
    assert summary["failed"] == 0 and summary["unverified"] == 0
    results = read_results(Path(summary["results"]))
    assert len(results) == summary["rows"]
    assert all(r["_errors"] for r in results if r["_action"] == "rejected")


def test_a_trashed_contact_with_the_same_email_is_restored_not_refused(
    sandbox, tmp_path: Path
) -> None:
    # the demo seed keeps trashed@example.com in the trash; Concord still holds its e-mail
    before = [c for c in state(sandbox.url)["contacts"] if c["email"] == "trashed@example.com"]
    assert len(before) == 1 and before[0].get("deleted_at")
    mapping = write_mapping(tmp_path / "m.yaml", """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
  Tier: cf_customer_tier
""")
    data = write_csv(tmp_path / "a.csv", ["First Name", "Email", "Tier"],
                     [["Back", "trashed@example.com", "Gold"]])
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["updated"] == 1
    after = [c for c in state(sandbox.url)["contacts"] if c["email"] == "trashed@example.com"]
    assert len(after) == 1 and not after[0].get("deleted_at")
    assert after[0]["first_name"] == "Back"


def test_a_crm_refusal_names_the_columns_the_field_came_from(sandbox, tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path / "people.yaml", """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First: first_name
  Email: email
  Phone 1: {field: phones, phone_type: mobile}
  Phone 2: {field: phones, phone_type: work}
""")
    first = write_csv(tmp_path / "first.csv", ["First", "Email", "Phone 1", "Phone 2"],
                      [["Ada", "ada.phone@example.com", "+44 20 7946 0001", ""]])
    assert run_cli(["import", str(first), "--mapping", str(mapping)],
                   url=sandbox.url, token=TOKEN).returncode == 0
    second = write_csv(tmp_path / "second.csv", ["First", "Email", "Phone 1", "Phone 2"],
                       [["Bea", "bea.phone@example.com", "+44 20 7946 0001", ""]])
    done = run_cli(["import", str(second), "--mapping", str(mapping)],
                   url=sandbox.url, token=TOKEN)
    assert done.returncode == 1, done.stderr
    row = read_results(tmp_path / "second.people.results.csv")[0]
    assert row["_action"] == "rejected"
    assert row["_errors"] == ("Phone 1 / Phone 2 (phones.0.number): A contact with this phone "
                              "number already exist.")


def test_a_results_file_reimported_does_not_create_its_keyless_rows_twice(
    sandbox, tmp_path: Path
) -> None:
    """Fix-and-reimport: a lead without an e-mail (the match key) was created by the first run;
    importing the results file again (after fixing another row) must not create it again."""
    mapping = write_mapping(tmp_path / "leads.yaml", """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First: first_name
  Last: last_name
  Email: email
""")
    source = write_csv(tmp_path / "leads.csv", ["First", "Last", "Email"], [
        ["Jordan", "Gay", ""],                       # no key: created, cannot be found again
        ["", "Crawford", "pat.crawford@example.com"],   # rejected: first name missing
        ["Ada", "King", "ada.king@example.com"],
    ])
    first = run_cli(["import", str(source), "--mapping", str(mapping)], url=sandbox.url,
                    token=TOKEN)
    assert first.returncode == 1, first.stderr
    results = tmp_path / "leads.results.csv"
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(results.read_text(encoding="utf-8-sig").replace(",,Crawford,", ",Pat,Crawford,"),
                     encoding="utf-8")
    before = len(writes(sandbox.url, "contacts"))
    again = run_cli(["import", str(fixed), "--mapping", str(mapping), "--json", "--quiet"],
                    url=sandbox.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    summary = last_json(again.stdout)
    assert (summary["created"], summary["unchanged"], summary["skipped"]) == (1, 1, 1)
    assert len(writes(sandbox.url, "contacts")) == before + 1          # only Pat
    jordans = [c for c in live(state(sandbox.url)["contacts"]) if c["first_name"] == "Jordan"]
    assert len(jordans) == 1
    rows = {r["Last"]: r for r in read_results(tmp_path / "fixed.leads.results.csv")}
    assert rows["Gay"]["_action"] == "skipped" and "not sent again" in rows["Gay"]["_warnings"]
