"""Record checks of multi-record mappings: presence, per-record errors, activity dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from concord_etl.mapping import import_mapping_from_dict
from concord_etl.mapping.model import as_records
from concord_etl.validate.date_rules import DateRule
from concord_etl.validate.record_checks import build_checks, check_records
from concord_etl.validate.schema import fields_from_mapping


def test_an_activity_date_stays_a_date_or_keeps_its_time() -> None:
    rule = DateRule("DateOrDateTime")
    cells = pd.Series(["2024-06-03", "2024-06-03 14:30", "2024-06-03T14:30:00+02:00", "3 June",
                       dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2, 9, 30)], dtype=object)
    outcome = rule.evaluate(cells)
    assert outcome.ok.tolist() == [True, True, True, False, True, True]
    assert outcome.values.tolist()[:3] == ["2024-06-03", "2024-06-03T14:30:00Z",
                                           "2024-06-03T12:30:00Z"]
    assert outcome.values.tolist()[4:] == ["2024-01-02", "2024-01-02T09:30:00Z"]
    dated = DateRule("DateOrDateTime", "%d/%m/%Y").evaluate(pd.Series(["03/06/2024"]))
    assert dated.values.tolist() == ["2024-06-03"]
    assert "a date or a date and time" in rule.reason("3 June")


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
    assert [contact.present[i] for i in frame.index] == [True, False, True]   # owner alone: no
    assert sorted(contact.errors[4]) == ['Email: "bad@" is not a valid e-mail address',
                                         "First: a value is required"]
    assert [note.present[i] for i in frame.index] == [True, False, False]
    assert checks[0].label("Email: x") == "contact: Email: x"
