"""Accept what Concord accepts (warnings for the suspicious), and the real-world transforms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from concord_etl.validate.chunk import validate_frame
from tests.helpers import (
    TOKEN,
    last_json,
    live,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
)
from tests.validate.test_chunk import csv_frame, plan_for


def check(column: dict[str, Any], *cells: str | None) -> Any:
    plan = plan_for({"Col": column})
    return validate_frame(csv_frame([{"Col": c} for c in cells]), plan)


def problems(chunk: Any, severity: str) -> list[str]:
    rows = chunk.problems[chunk.problems["severity"] == severity]
    return rows["reason"].tolist()


WARNED = [
    ({"field": "phones"}, "12",
     'Col: "12" does not look like a phone number (fewer than 5 digits, or letters); '
     "Concord stores it as written", [{"number": "12", "type": "mobile"}]),
    ({"field": "phones"}, "call me",
     'Col: "call me" does not look like a phone number (fewer than 5 digits, or letters); '
     "Concord stores it as written", [{"number": "call me", "type": "mobile"}]),
    ({"field": "email"}, "bob@localhost",
     'Col: "bob@localhost" has no dot in its domain; Concord accepts it, but is it a typo?',
     "bob@localhost"),
    ({"field": "cf_d", "type": "Date"}, "03/04/2024",
     'Col: "03/04/2024" is read month first (4 March), as Concord reads it; add `format:` to '
     "the column to be sure", "2024-03-04"),
    ({"field": "cf_d", "type": "Date"}, "2024-05-01 14:30",
     'Col: "2024-05-01 14:30" has a time of day; a Date field keeps only the date',
     "2024-05-01"),
    ({"field": "cf_tier", "type": "Select", "options": ["Gold"], "create_options": True},
     "Diamond", 'Col: "Diamond" will be created as a new option (create_options: true)',
     "Diamond"),
]


@pytest.mark.parametrize(("column", "cell", "warning", "value"), WARNED)
def test_suspicious_but_valid_values_are_warned_not_rejected(
    column: dict[str, Any], cell: str, warning: str, value: Any
) -> None:
    chunk = check(column, cell)
    assert problems(chunk, "error") == []
    assert problems(chunk, "warning") == [warning]
    assert chunk.record(0)[column["field"]] == value


ACCEPTED = [
    ({"field": "phones"}, "001-672-799-2170x5610", [{"number": "001-672-799-2170x5610",
                                                     "type": "mobile"}]),
    ({"field": "phones"}, "+1 (555) 010-0100 ext. 12", [{"number": "+1 (555) 010-0100 ext. 12",
                                                          "type": "mobile"}]),
    ({"field": "phones", "transform": ["drop_extension"]}, "001-672-799-2170x5610",
     [{"number": "001-672-799-2170", "type": "mobile"}]),
    ({"field": "cf_url", "type": "Url"}, "ftp://files.example.com/a", "ftp://files.example.com/a"),
    ({"field": "cf_c", "type": "ColorSwatch"}, "#abc", "#abc"),
    ({"field": "cf_b", "type": "Boolean"}, "on", True),
    ({"field": "cf_b", "type": "Boolean"}, "OFF", False),
    ({"field": "cf_d", "type": "Date"}, "13/01/2024", None),     # no 13th month: refused
    ({"field": "cf_d", "type": "Date"}, "2024/05/01", "2024-05-01"),
    ({"field": "cf_d", "type": "Date"}, "01.05.2024", "2024-05-01"),
    ({"field": "cf_d", "type": "Date"}, "1 May 2024", "2024-05-01"),
    ({"field": "cf_d", "type": "Date"}, "May 1st, 2024", "2024-05-01"),
    ({"field": "cf_t", "type": "DateTime"}, "05/01/2024 14:30", "2024-05-01T14:30:00Z"),
]


@pytest.mark.parametrize(("column", "cell", "value"), ACCEPTED)
def test_what_concord_accepts_passes(column: dict[str, Any], cell: str, value: Any) -> None:
    chunk = check(column, cell)
    if value is None:
        assert len(problems(chunk, "error")) == 1
    else:
        assert problems(chunk, "error") == []
        assert chunk.record(0)[column["field"]] == value


def test_a_full_name_is_split_into_first_and_last_name() -> None:
    plan = plan_for({"Name": {"field": "first_name", "transform": ["strip", "split_name"]}})
    chunk = validate_frame(csv_frame([{"Name": " Ada Lovelace"}, {"Name": "Lovelace, Ada"},
                                      {"Name": "Maria de la Cruz"}, {"Name": "Cher"},
                                      {"Name": None}]), plan)
    assert [chunk.record(i) for i in range(4)] == [
        {"first_name": "Ada", "last_name": "Lovelace"},
        {"first_name": "Ada", "last_name": "Lovelace"},
        {"first_name": "Maria", "last_name": "de la Cruz"},
        {"first_name": "Cher"},
    ]
    assert problems(chunk, "error") == ["Name: a value is required"]


def test_several_email_columns_feed_one_field() -> None:
    plan = plan_for({"Email 1": "email", "Email 2": "email"})
    chunk = validate_frame(csv_frame([
        {"Email 1": "a@x.example", "Email 2": None},
        {"Email 1": None, "Email 2": "B@x.example"},
        {"Email 1": "a@x.example", "Email 2": "other@x.example"},
    ]), plan)
    assert [chunk.record(i)["email"] for i in range(3)] == [
        "a@x.example", "b@x.example", "a@x.example"]
    assert problems(chunk, "warning") == [
        "Email 1 / Email 2: several different values; email takes one, so the first non-empty "
        "column is used (Email 1, then Email 2)"]


def test_phone_extensions_reach_the_crm_as_written(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["Name", "Email", "Phone", "Office"], [
        ["Ada Lovelace", "ada@p.example", "001-672-799-2170x5610", "+1 555 0100 ext. 7"],
        ["Grace Hopper", "grace@p.example", "12", ""],
    ])
    mapping = write_mapping(tmp_path / "m.yaml", """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  Name: {field: first_name, transform: [split_name]}
  Email: email
  Phone: {field: phones, phone_type: mobile}
  Office: {field: phones, phone_type: work, transform: [drop_extension]}
""")
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    assert (summary["created"], summary["warnings"]) == (2, 1)
    contacts = {c["email"]: c for c in live(state(sandbox.url)["contacts"])}
    ada = contacts["ada@p.example"]
    assert (ada["first_name"], ada["last_name"]) == ("Ada", "Lovelace")
    assert sorted(p["number"] for p in ada["phones"]) == ["+1 555 0100", "001-672-799-2170x5610"]
    rows = read_results(Path(summary["results"]))
    assert "does not look like a phone number" in rows[1]["_warnings"]
    assert rows[1]["_action"] == "created"
