"""validate_frame / validate_file: every problem of a row with its exact reason; typed values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from concord_etl.crm.fields import merge_fields
from concord_etl.errors import InputError
from concord_etl.mapping.loader import mapping_from_dict
from concord_etl.validate.chunk import ERROR_COLUMNS, ValidatedChunk, validate_frame
from concord_etl.validate.file import validate_file
from concord_etl.validate.schema import Validator, build_validator
from tests.helpers import read_results

TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
INTERESTS = ["Analytics", "Automation", "Integrations", "Reporting", "Support"]


def plan_for(columns: dict[str, Any], **extra: Any) -> Validator:
    resource = extra.pop("resource", "contacts")
    data = {"version": 1, "resource": resource, "columns": columns, **extra}
    return build_validator(mapping_from_dict(data))


def csv_frame(rows: list[dict[str, Any]], first_row: int = 2) -> pd.DataFrame:
    """Like a CSV chunk: str cells, NA for empty, ``_row`` from ``first_row``."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype="str") for c in columns})
    frame["_row"] = range(first_row, first_row + len(rows))
    return frame


def excel_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in columns.items()})
    frame["_row"] = range(2, 2 + len(frame))
    return frame


def reasons(chunk: ValidatedChunk) -> list[str]:
    return chunk.errors["reason"].tolist()


def one(column: dict[str, Any] | str, cell: Any, name: str = "Col") -> ValidatedChunk:
    plan = plan_for({name: column})
    return validate_frame(csv_frame([{name: cell}]), plan)


# -- every type: accepted values and their normalised form ---------------------------------

ACCEPTED = [
    ({"field": "nickname"}, "  Ada  ", "  Ada  "),
    ({"field": "cf_bio", "type": "Textarea"}, "x" * 5000, "x" * 5000),
    ({"field": "email"}, "Bob.Smith@Example.COM", "bob.smith@example.com"),
    ({"field": "cf_url", "type": "Url"}, "https://example.com/a?b=1", "https://example.com/a?b=1"),
    ({"field": "cf_score", "type": "Number"}, "42", 42),
    ({"field": "cf_score", "type": "Number"}, "-7", -7),
    ({"field": "cf_score", "type": "Number"}, "12.0", 12),
    ({"field": "cf_budget", "type": "Numeric"}, "1200.5", 1200.5),
    ({"field": "cf_budget", "type": "Numeric"}, "1,200.50", 1200.5),
    ({"field": "cf_budget", "type": "Numeric"}, "USD 1,200.50", 1200.5),
    ({"field": "cf_budget", "type": "Numeric"}, "€12", 12.0),
    ({"field": "cf_budget", "type": "Numeric"}, "1.2500", 1.25),
    ({"field": "amount", "type": "Decimal"}, "-5.5", -5.5),
    ({"field": "cf_d", "type": "Date", "format": "%d/%m/%Y"}, "01/02/2024", "2024-02-01"),
    ({"field": "cf_d", "type": "Date"}, "2024-05-01", "2024-05-01"),
    ({"field": "cf_d", "type": "Date"}, "2024-05-01 00:00:00", "2024-05-01"),
    ({"field": "cf_t", "type": "DateTime"}, "2024-05-01 10:00:00+02:00", "2024-05-01T08:00:00Z"),
    ({"field": "cf_t", "type": "DateTime"}, "2024-05-01T10:00", "2024-05-01T10:00:00Z"),
    ({"field": "cf_t", "type": "DateTime", "format": "%d.%m.%Y %H:%M"}, "01.05.2024 10:30",
     "2024-05-01T10:30:00Z"),
    ({"field": "cf_b", "type": "Boolean"}, "Yes", True),
    ({"field": "cf_b", "type": "Boolean"}, "0", False),
    ({"field": "cf_b", "type": "Boolean", "true_values": ["x"]}, "X", True),
    ({"field": "cf_tz", "type": "Timezone"}, "europe/london", "Europe/London"),
    ({"field": "cf_c", "type": "ColorSwatch"}, "#1A2b3C", "#1A2b3C"),
    ({"field": "cf_tier", "type": "Select", "options": TIERS}, " gold ", "Gold"),
    ({"field": "cf_ch", "type": "Radio", "options": ["Email", "SMS"]}, "sms", "SMS"),
    ({"field": "cf_tier", "type": "Select", "options": TIERS, "create_options": True}, "Diamond",
     "Diamond"),
    ({"field": "cf_i", "type": "MultiSelect", "options": INTERESTS, "split": ";"},
     "analytics; Support;Analytics", ["Analytics", "Support"]),
    ({"field": "cf_l", "type": "Checkbox", "options": ["Web", "Events"]}, "web,Events",
     ["Web", "Events"]),
    ({"field": "phones", "phone_type": "work"}, "+44 (0)20 7946-0000",
     [{"number": "+44 (0)20 7946-0000", "type": "work"}]),
    ({"field": "user_id", "lookup": {"resource": "users", "by": "email"}}, " sam@example.com ",
     "sam@example.com"),
    ({"field": "companies", "lookup": {"resource": "companies", "by": "name"}}, "Acme, Inc.",
     ["Acme, Inc."]),
    ({"field": "tags"}, "vip, web", ["vip", "web"]),
]


@pytest.mark.parametrize(("column", "cell", "expected"), ACCEPTED)
def test_accepted_cells_and_their_values(column: dict[str, Any], cell: str, expected: Any) -> None:
    chunk = one(column, cell)
    assert reasons(chunk) == []
    assert chunk.rejected == set()
    assert chunk.record(0)[column["field"]] == expected


def test_enum_choices_from_the_deal_status() -> None:
    plan = plan_for({"Status": "status"}, resource="deals")
    chunk = validate_frame(csv_frame([{"Status": "WON"}, {"Status": "pending"}]), plan)
    assert chunk.record(0)["status"] == "won"
    assert reasons(chunk) == ['Status: "pending" is not one of open, won, lost']


# -- every type: rejected values with their exact reason ------------------------------------

REJECTED = [
    ({"field": "nickname"}, "x" * 192, 'Col: "' + "x" * 29 + '…" is too long (192 characters, at most 191)'),
    ({"field": "email"}, "bob@@x", 'Col: "bob@@x" is not a valid e-mail address'),
    ({"field": "email"}, "two words@example.com",
     'Col: "two words@example.com" is not a valid e-mail address'),
    ({"field": "cf_url", "type": "Url"}, "www.example.com",
     'Col: "www.example.com" is not a valid URL (http:// or https:// followed by a host)'),
    ({"field": "cf_url", "type": "Url"}, "https://",
     'Col: "https://" is not a valid URL (http:// or https:// followed by a host)'),
    ({"field": "cf_score", "type": "Number"}, "12.5", 'Col: "12.5" is not a whole number'),
    ({"field": "cf_score", "type": "Number"}, "1,200",
     'Col: "1,200" is not a whole number (remove the thousands separator)'),
    ({"field": "cf_score", "type": "Number"}, "3000000000",
     'Col: "3000000000" is out of range for a whole number'),
    ({"field": "cf_budget", "type": "Numeric"}, "-5", 'Col: "-5" must not be negative'),
    ({"field": "cf_budget", "type": "Numeric"}, "1.2345", 'Col: "1.2345" has more than 3 decimals'),
    ({"field": "cf_budget", "type": "Numeric"}, "1200,5",
     'Col: "1200,5" is not a number (use a point as the decimal separator)'),
    ({"field": "cf_budget", "type": "Numeric"}, "lots", 'Col: "lots" is not a number'),
    ({"field": "cf_budget", "type": "Numeric"}, "1e15", 'Col: "1e15" is not a number'),
    ({"field": "cf_d", "type": "Date", "format": "%d/%m/%Y"}, "31/02/2024",
     'Col: "31/02/2024" is not a date in format %d/%m/%Y'),
    ({"field": "cf_d", "type": "Date"}, "31/12/2024",
     'Col: "31/12/2024" is not a date (for example 2024-05-01, or set `format:`)'),
    ({"field": "cf_d", "type": "Date"}, "2024-05",
     'Col: "2024-05" is not a date (for example 2024-05-01, or set `format:`)'),
    ({"field": "cf_t", "type": "DateTime"}, "tomorrow",
     'Col: "tomorrow" is not a date and time (for example 2024-05-01 14:30, or set `format:`)'),
    ({"field": "cf_b", "type": "Boolean"}, "maybe",
     'Col: "maybe" is not a yes/no value (true: true, 1, yes, on; false: false, 0, no, off)'),
    ({"field": "cf_tz", "type": "Timezone"}, "Mars/Base",
     'Col: "Mars/Base" is not an IANA time zone such as Europe/London'),
    ({"field": "cf_c", "type": "ColorSwatch"}, "red", 'Col: "red" is not a colour like #1a2b3c'),
    ({"field": "cf_tier", "type": "Select", "options": TIERS}, "Diamond",
     'Col: "Diamond" is not one of Bronze, Silver, Gold, Platinum'),
    ({"field": "cf_ch", "type": "Radio", "options": ["Email", "SMS"]}, "Fax",
     'Col: "Fax" is not one of Email, SMS'),
    ({"field": "cf_i", "type": "MultiSelect", "options": INTERESTS, "split": ";"},
     "Analytics;Foo", 'Col: "Foo" is not one of Analytics, Automation, Integrations, Reporting, Support'),
    ({"field": "cf_l", "type": "Checkbox", "options": ["Web", "Events"]}, "Foo, Web, Bar",
     'Col: "Foo", "Bar" are not one of Web, Events'),
    ({"field": "phones"}, "1" * 192,
     'Col: "' + "1" * 29 + '…" is too long for a phone number (192 characters, at most 191)'),
]


@pytest.mark.parametrize(("column", "cell", "reason"), REJECTED)
def test_rejected_cells_get_one_exact_reason(column: dict[str, Any], cell: str, reason: str) -> None:
    chunk = one(column, cell)
    assert reasons(chunk) == [reason]
    assert chunk.rejected == {0}
    assert pd.isna(chunk.values["Col"].iloc[0])


def test_error_table_shape() -> None:
    plan = plan_for({"E-mail": "email", "Tier": {"field": "cf_tier", "type": "Select",
                                                 "options": TIERS}})
    frame = csv_frame([{"E-mail": "a@x.com", "Tier": "Gold"},
                       {"E-mail": "bob@@x", "Tier": "Diamond"}], first_row=10)
    chunk = validate_frame(frame, plan)
    assert list(chunk.errors.columns) == ERROR_COLUMNS
    assert chunk.errors.index.tolist() == [1, 1]
    assert chunk.errors[["_row", "column", "field", "value"]].values.tolist() == [
        [11, "E-mail", "email", "bob@@x"],
        [11, "Tier", "cf_tier", "Diamond"],
    ]
    assert chunk.rejected == {1}
    assert chunk.record(0)["email"] == "a@x.com"
    assert chunk.values.loc[1].isna().all()


def test_one_bad_date_among_many_is_found_alone() -> None:
    plan = plan_for({"Signed Up": {"field": "cf_d", "type": "Date", "format": "%d/%m/%Y"}})
    rows = [{"Signed Up": f"{d % 28 + 1:02d}/0{d % 9 + 1}/2023"} for d in range(3000)]
    rows[1234] = {"Signed Up": "31/02/2024"}
    chunk = validate_frame(csv_frame(rows), plan)
    assert reasons(chunk) == ['Signed Up: "31/02/2024" is not a date in format %d/%m/%Y']
    assert chunk.errors["_row"].tolist() == [1236]
    assert chunk.values["Signed Up"].notna().sum() == 2999


# -- required, defaults, absent columns ------------------------------------------------------


def test_required_after_transforms_and_blank_cells() -> None:
    plan = plan_for({"First Name": {"field": "first_name", "transform": ["digits"]}})
    frame = csv_frame([{"First Name": "Ada"}, {"First Name": "   "}, {"First Name": None}])
    chunk = validate_frame(frame, plan)
    assert reasons(chunk) == ["First Name: a value is required"] * 3


def test_defaults_fill_empty_cells_and_absent_columns() -> None:
    plan = plan_for(
        {"First Name": "first_name",
         "Tier": {"field": "cf_tier", "type": "Select", "options": TIERS}},
        defaults={"first_name": "Friend", "cf_tier": "silver", "tags": ["imported"]},
    )
    chunk = validate_frame(csv_frame([{"First Name": "Ada"}, {"First Name": None}]), plan)
    assert reasons(chunk) == []
    assert [chunk.record(i) for i in range(2)] == [
        {"first_name": "Ada", "cf_tier": "Silver", "tags": ["imported"]},
        {"first_name": "Friend", "cf_tier": "Silver", "tags": ["imported"]},
    ]
    assert chunk.defaulted(0) == {"cf_tier", "tags"}
    assert chunk.defaulted(1) == {"first_name", "cf_tier", "tags"}


def test_absent_column_without_default_is_an_input_error() -> None:
    plan = plan_for({"First Name": "first_name", "E-mail": "email"})
    with pytest.raises(InputError, match="missing column\\(s\\) E-mail; the file has: First Name"):
        validate_frame(csv_frame([{"First Name": "Ada"}]), plan)


# -- Excel-typed cells ----------------------------------------------------------------------


def test_excel_typed_cells_mixed_with_text() -> None:
    plan = plan_for({
        "Signed Up": {"field": "cf_d", "type": "Date", "format": "%d/%m/%Y"},
        "Seen": {"field": "cf_t", "type": "DateTime"},
        "Score": {"field": "cf_score", "type": "Number"},
        "Budget": {"field": "cf_budget", "type": "Numeric"},
        "Zip": "postal_code",
        "Mobile": "phones",
        "News": {"field": "cf_b", "type": "Boolean"},
    })
    frame = excel_frame({
        "Signed Up": [dt.datetime(2024, 5, 1), "02/05/2024", dt.date(2024, 5, 3), 45000],
        "Seen": [dt.datetime(2024, 5, 1, 9, 30), "2024-05-01 10:00", None, None],
        "Score": [12, 13.0, "14", 12.5],
        "Budget": [1200.5, "1,000", 0, -1.0],
        "Zip": ["01234", 1234, None, None],
        "Mobile": [7700900123.0, "07700 900123", None, None],
        "News": [True, "yes", 1, False],
    })
    chunk = validate_frame(frame, plan)
    assert reasons(chunk) == [
        'Signed Up: "45000" is not a date in format %d/%m/%Y',
        'Score: "12.5" is not a whole number',
        'Budget: "-1" must not be negative',
    ]
    values = chunk.values
    assert values["Signed Up"].iloc[:3].tolist() == ["2024-05-01", "2024-05-02", "2024-05-03"]
    assert values["Seen"].iloc[:2].tolist() == ["2024-05-01T09:30:00Z", "2024-05-01T10:00:00Z"]
    assert values["Score"].iloc[:3].tolist() == [12, 13, 14]
    assert values["Budget"].iloc[:3].tolist() == [1200.5, 1000.0, 0.0]
    assert values["Zip"].iloc[:2].tolist() == ["01234", "1234"]
    assert chunk.record(0)["phones"] == [{"number": "7700900123", "type": "mobile"}]
    assert values["News"].iloc[:3].tolist() == [True, True, True]


def test_excel_booleans_are_not_numbers() -> None:
    chunk = validate_frame(excel_frame({"Score": [True]}),
                           plan_for({"Score": {"field": "cf_score", "type": "Number"}}))
    assert reasons(chunk) == ['Score: "true" is not a whole number']


# -- phones, multi-options ------------------------------------------------------------------


def test_phones_from_two_columns_are_merged() -> None:
    plan = plan_for({"Mobile": {"field": "phones", "phone_type": "mobile"},
                     "Work": {"field": "phones", "phone_type": "work"}})
    frame = csv_frame([{"Mobile": "07700 900123", "Work": "+44 20 7946 0000"},
                       {"Mobile": None, "Work": "020 7946 0001"},
                       {"Mobile": None, "Work": None}])
    chunk = validate_frame(frame, plan)
    assert chunk.record(0)["phones"] == [{"number": "07700 900123", "type": "mobile"},
                                         {"number": "+44 20 7946 0000", "type": "work"}]
    assert chunk.record(1)["phones"] == [{"number": "020 7946 0001", "type": "work"}]
    assert "phones" not in chunk.record(2)


def test_required_field_fed_by_two_columns() -> None:
    plan = plan_for({"Mobile": {"field": "phones", "required": True}, "Work": "phones"})
    frame = csv_frame([{"Mobile": None, "Work": "020 7946 0001"}, {"Mobile": None, "Work": None}])
    chunk = validate_frame(frame, plan)
    assert reasons(chunk) == ["Mobile / Work: a value is required"]
    assert chunk.errors["field"].tolist() == ["phones"]


def test_multi_option_cells_split_on_the_column_separator() -> None:
    plan = plan_for({"Interests": {"field": "cf_i", "type": "MultiSelect", "split": "|",
                                   "options": INTERESTS}})
    chunk = validate_frame(csv_frame([{"Interests": "Support | reporting"}]), plan)
    assert chunk.record(0)["cf_i"] == ["Support", "Reporting"]


# -- online: option ids from the CRM ---------------------------------------------------------


def crm_fields(sandbox: Any, resource: str) -> Any:
    answer = requests.get(
        f"{sandbox.url}/api/{resource}/create-fields",
        headers={"Authorization": "Bearer test-token", "Accept": "application/json"},
        timeout=10,
    )
    answer.raise_for_status()
    return merge_fields(resource, answer.json())


def test_option_ids_online_and_labels_offline(sandbox: Any) -> None:
    data = {"version": 1, "resource": "contacts", "columns": {
        "Tier": "cf_customer_tier",
        "Interests": {"field": "cf_interests", "split": ";"},
    }}
    mapping = mapping_from_dict(data)
    fields = crm_fields(sandbox, "contacts")
    gold = fields.get("cf_customer_tier").option_by_label("Gold")
    support = fields.get("cf_interests").option_by_label("Support")
    frame = csv_frame([{"Tier": "gold", "Interests": "support"}, {"Tier": "Diamond"}])

    online = validate_frame(frame, build_validator(mapping, fields))
    assert online.record(0)["cf_customer_tier"] == gold.id
    assert online.record(0)["cf_interests"] == [support.id]
    assert reasons(online) == ['Tier: "Diamond" is not one of Bronze, Silver, Gold, Platinum']

    declared = {"version": 1, "resource": "contacts", "columns": {
        "Tier": {"field": "cf_customer_tier", "type": "Select", "options": TIERS},
        "Interests": {"field": "cf_interests", "type": "MultiSelect", "split": ";",
                      "options": INTERESTS},
    }}
    offline = validate_frame(frame, build_validator(mapping_from_dict(declared)))
    assert offline.record(0)["cf_customer_tier"] == "Gold"
    assert offline.record(0)["cf_interests"] == ["Support"]


# -- whole tables ---------------------------------------------------------------------------


def test_validate_file_streams_chunks_and_keeps_errors(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    lines = ["First Name,E-mail"] + [f"P{i},p{i}@x.com" for i in range(10)]
    lines[8] = "P7,p1@x.com"
    lines.append(",bad@@x")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = mapping_from_dict({
        "version": 1, "resource": "contacts", "match": {"on": ["email"]},
        "columns": {"First Name": "first_name", "E-mail": "email"},
    })
    results = tmp_path / "rejects.csv"
    summary = validate_file(path, mapping, results_path=results, chunk_rows=4)
    assert (summary.rows, summary.rejected) == (11, 3)
    assert summary.sample_errors == [
        "row 12: First Name: a value is required",
        'row 12: E-mail: "bad@@x" is not a valid e-mail address',
        'row 3: E-mail: duplicate "p1@x.com", also on row 9 with a different First Name; '
        "keep one of these rows, or make them agree",
        'row 9: E-mail: duplicate "p1@x.com", also on row 3 with a different First Name; '
        "keep one of these rows, or make them agree",
    ]
    assert [r["_row"] for r in read_results(results)] == ["3", "9", "12"]


def test_a_phone_cell_is_read_as_concord_reads_it() -> None:
    """Commas separate numbers and ``|type`` names the type, as in Concord's own parsing; so an
    exported "a, b" cell re-imports as the two numbers it came from."""
    plan = plan_for({"Phone": {"field": "phones", "phone_type": "mobile"}})
    chunk = validate_frame(csv_frame([
        {"Phone": "001-672-799-2170x5610, +1-887-577-1205x5686"},
        {"Phone": "+44 20 7946 0000|work, 07700 900123|fax"},
        {"Phone": "+1 555 0100"},
    ]), plan)
    assert chunk.errors.empty and chunk.record(0)["phones"] == [
        {"number": "001-672-799-2170x5610", "type": "mobile"},
        {"number": "+1-887-577-1205x5686", "type": "mobile"},
    ]
    assert chunk.record(1)["phones"] == [{"number": "+44 20 7946 0000", "type": "work"},
                                          {"number": "07700 900123", "type": "mobile"}]
    assert chunk.record(2)["phones"] == [{"number": "+1 555 0100", "type": "mobile"}]
