"""Record checks of multi-record mappings: presence, per-record errors, activity dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from concord_etl.mapping import import_mapping_from_dict
from concord_etl.mapping.model import as_records
from concord_etl.validate.date_types import date_type
from concord_etl.validate.record_checks import build_checks, check_records
from concord_etl.validate.schema import fields_from_mapping


def judge(kind, cells: pd.Series) -> tuple[list[bool], list[object]]:
    """(passes the date check, converted value) per cell, as validation sees them."""
    text = pd.Series([kind.cell_text(c) for c in cells], dtype="str")
    parsed = kind.parse(text)
    ok = kind.checks[0].test(parsed).tolist()
    return ok, kind.convert(parsed).astype(object).where(lambda s: s.notna(), None).tolist()


def test_an_activity_date_stays_a_date_or_keeps_its_time() -> None:
    kind = date_type("DateOrDateTime")
    cells = pd.Series(["2024-06-03", "2024-06-03 14:30", "2024-06-03T14:30:00+02:00", "3 June",
                       dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2, 9, 30), "03.06.2024",
                       "1 May 2024 09:15"], dtype=object)
    ok, values = judge(kind, cells)
    assert ok == [True, True, True, False, True, True, True, True]
    assert values[:3] == ["2024-06-03", "2024-06-03T14:30:00Z", "2024-06-03T12:30:00Z"]
    assert values[4:] == ["2024-01-02", "2024-01-02T09:30:00Z", "2024-06-03",
                          "2024-05-01T09:15:00Z"]
    dated = date_type("DateOrDateTime", "%d/%m/%Y")
    assert judge(dated, pd.Series(["03/06/2024"]))[1] == ["2024-06-03"]
    timed = date_type("DateOrDateTime", "%d/%m/%Y %H:%M")
    assert judge(timed, pd.Series(["03/06/2024 08:00"]))[1] == ["2024-06-03T08:00:00Z"]
    assert "a date or a date and time" in kind.checks[0].reason("3 June")


MAPPING = {
    "version": 1,
    "records": {
        "contact": {"resource": "contacts", "columns": {
            "First": "first_name", "Email": {"field": "email", "type": "Email"},
            "Owner": {"field": "user_id", "lookup": {"resource": "users", "by": "email"}}}},
        "note": {"resource": "notes", "columns": {"Notes": "body"},
                 "link": {"contacts": "contact"}},
    },
}


def test_a_record_is_present_when_a_value_column_is_filled() -> None:
    records = as_records(import_mapping_from_dict(MAPPING))
    checks = build_checks(records, fields_from_mapping)
    frame = pd.DataFrame({
        "_row": [2, 3, 4],
        "First": ["Ada", None, ""],
        "Email": ["ada@example.com", None, "bad@"],
        "Owner": ["sam@example.com", "sam@example.com", None],
        "Notes": ["hello", "", None],
    })
    checked = check_records(frame, checks)
    contact, note = checked["contact"], checked["note"]
    assert contact.present.tolist() == [True, False, True]   # an owner alone: no contact
    assert contact.errors(2) == ["First: a value is required",
                                 'Email: "bad@" is not a valid e-mail address']
    assert contact.warnings(0) == []
    assert note.present.tolist() == [True, False, False]
    assert checks[0].label("Email: x") == "contact: Email: x"
