"""Export value formatting: Concord record JSON → cell values people read (and re-import)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from concord_etl.crm.fields import FieldOption, FieldSpec
from concord_etl.export.cell_values import (
    belongs_to_value,
    cell_kind,
    cell_value,
    column_def,
    parse_date,
    parse_datetime,
    parse_phone_token,
    phones_text,
    relation_key,
)

TIER = FieldSpec(
    "cf_customer_tier", "Customer Tier", "Select", custom=True,
    options=(FieldOption(11, "Bronze"), FieldOption(12, "Silver"), FieldOption(13, "Gold")),
)
INTERESTS = FieldSpec(
    "cf_interests", "Interests", "MultiSelect", custom=True,
    options=(FieldOption(21, "Analytics"), FieldOption(22, "Automation"), FieldOption(23, "Support")),
)

RECORD: dict[str, Any] = {
    "id": 7,
    "display_name": "Ada Lovelace",
    "first_name": "Ada",
    "email": "ada@example.com",
    "created_at": "2024-05-01T10:00:00.000000Z",
    "cf_customer_tier": 13,
    "cf_preferred_channel": 99,
    "cf_interests": [
        {"id": 21, "name": "Analytics", "swatch_color": None},
        {"id": 23, "name": "Old name", "swatch_color": None},
        {"id": 29, "name": "Retired option", "swatch_color": None},
    ],
    "cf_signup_date": "2024-03-05T00:00:00.000000Z",
    "cf_last_seen_at": "2024-05-01T10:15:30.000000Z",
    "cf_budget": "1500.000",
    "cf_lead_score": 42,
    "cf_newsletter": True,
    "cf_bio": "",
    "user_id": 2,
    "user": {"id": 2, "name": "Sam Seller", "email": "sam@example.com"},
    "source_id": 5,
    "source": None,
    "parent_company_id": 3,
    "parent": {"id": 3, "name": "Acme Ltd"},
    "phones": [
        {"id": 1, "number": "+15550100", "type": "mobile"},
        {"id": 2, "number": "+15550101", "type": "work"},
    ],
    "tags": [{"id": 1, "name": "VIP", "swatch_color": "#fff", "display_order": 1, "type": "contacts"},
             {"id": 2, "name": "imported"}],
    "companies": [{"id": 3, "display_name": "Acme Ltd", "name": "Acme Ltd"},
                  {"id": 4, "display_name": "Globex", "name": "Globex"}],
    "contacts": [{"id": 9, "display_name": "Bob Byte", "email": "bob@example.com"}],
    "amount": 1250,
    "status": "open",
}


def spec(attribute: str, ftype: str, **kw: Any) -> FieldSpec:
    return FieldSpec(attribute, attribute, ftype, **kw)


def test_select_id_becomes_its_label() -> None:
    assert cell_value(RECORD, TIER) == "Gold"


def test_unknown_option_id_is_shown_as_text() -> None:
    radio = spec("cf_preferred_channel", "Radio", options=(FieldOption(31, "Email"),))
    assert cell_value(RECORD, radio) == "99"


def test_multi_options_use_current_labels_joined_with_split() -> None:
    assert cell_value(RECORD, INTERESTS) == "Analytics, Support, Retired option"
    assert cell_value(RECORD, INTERESTS, split=";") == "Analytics;Support;Retired option"


def test_multi_options_accept_plain_ids() -> None:
    record = {"cf_interests": [22, "21"]}
    assert cell_value(record, INTERESTS, split="|") == "Automation|Analytics"


def test_empty_multi_option_is_empty_cell() -> None:
    assert cell_value({"cf_interests": []}, INTERESTS) is None


def test_belongs_to_uses_related_object() -> None:
    owner = spec("user_id", "BelongsTo", related="users")
    assert cell_value(RECORD, owner) == "Sam Seller"
    assert cell_value(RECORD, owner, key="email") == "sam@example.com"
    assert cell_value(RECORD, spec("parent_company_id", "BelongsTo")) == "Acme Ltd"


def test_belongs_to_without_object_uses_related_map_then_id() -> None:
    source = spec("source_id", "BelongsTo", related="sources")
    assert cell_value(RECORD, source, related={5: "Referrals"}) == "Referrals"
    assert cell_value(RECORD, source) == 5
    assert belongs_to_value({"stage_id": None}, "stage_id") is None


def test_relation_key() -> None:
    assert relation_key("user_id") == "user"
    assert relation_key("stage_id") == "stage"
    assert relation_key("parent_company_id") == "parent"


def test_dates_and_datetimes() -> None:
    assert cell_value(RECORD, spec("cf_signup_date", "Date")) == dt.date(2024, 3, 5)
    assert cell_value(RECORD, spec("cf_last_seen_at", "DateTime")) == dt.datetime(
        2024, 5, 1, 10, 15, 30
    )
    assert parse_datetime("2024-05-01T12:00:00+02:00") == dt.datetime(2024, 5, 1, 10, 0)
    assert parse_datetime("2024-05-01 10:00:00") == dt.datetime(2024, 5, 1, 10, 0)
    assert parse_date("2024-05-01") == dt.date(2024, 5, 1)
    assert parse_datetime("not a date") == "not a date"
    assert parse_datetime("") is None
    value = parse_datetime("2024-05-01T10:00:00.000000Z")
    assert isinstance(value, dt.datetime) and value.tzinfo is None


def test_numbers_and_booleans() -> None:
    assert cell_value(RECORD, spec("cf_budget", "Numeric")) == 1500.0
    assert isinstance(cell_value(RECORD, spec("amount", "Decimal")), float)
    assert cell_value(RECORD, spec("cf_lead_score", "Number")) == 42
    assert cell_value({"n": "17"}, spec("n", "Number")) == 17
    assert cell_value({"n": 17.0}, spec("n", "Number")) == 17
    assert cell_value({"n": "n/a"}, spec("n", "Numeric")) == "n/a"
    assert cell_value(RECORD, spec("cf_newsletter", "Boolean")) is True
    assert cell_value({"b": 0}, spec("b", "Boolean")) is False
    assert cell_value({"b": "true"}, spec("b", "Boolean")) is True


def test_text_and_empty_values() -> None:
    assert cell_value(RECORD, spec("email", "Email")) == "ada@example.com"
    assert cell_value(RECORD, spec("cf_bio", "Textarea")) is None
    assert cell_value(RECORD, spec("missing", "Text")) is None
    assert cell_value(RECORD, spec("status", "Enum")) == "open"


def test_phones_are_bare_numbers_by_default() -> None:
    phones = spec("phones", "Phone")
    assert cell_value(RECORD, phones) == "+15550100, +15550101"
    assert cell_value(RECORD, phones, phone_type="work") == "+15550101"
    assert cell_value(RECORD, phones, split=";", show_phone_type=True) == (
        "+15550100 (mobile);+15550101 (work)"
    )
    assert phones_text([]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+15550100 (mobile)", ("+15550100", "mobile")), ("+1 555 0101|Work", ("+1 555 0101", "work")),
     (" 0123 456 ", ("0123 456", None))],
)
def test_parse_phone_token(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_phone_token(text) == expected


def test_tags_and_associations() -> None:
    assert cell_value(RECORD, spec("tags", "Tags")) == "VIP, imported"
    assert cell_value(RECORD, spec("companies", "Association"), split=";") == "Acme Ltd;Globex"
    assert cell_value(RECORD, spec("contacts", "Association"), key="email") == "bob@example.com"
    assert cell_value({"companies": [3, 4]}, spec("companies", "Association"),
                      related={3: "Acme Ltd"}) == "Acme Ltd, 4"


@pytest.mark.parametrize(
    ("ftype", "kind"),
    [("Number", "integer"), ("Id", "integer"), ("Numeric", "number"), ("Decimal", "number"),
     ("Date", "date"), ("DateTime", "datetime"), ("Boolean", "bool"), ("Select", "text"),
     ("MultiSelect", "text"), ("BelongsTo", "text"), ("Phone", "text"), ("Text", "text")],
)
def test_cell_kind(ftype: str, kind: str) -> None:
    assert cell_kind(spec("x", ftype)) == kind
    assert column_def(spec("x", ftype)).kind == kind


def test_column_def_names() -> None:
    assert column_def(TIER).name == "Customer Tier"
    assert column_def(TIER, "Tier").name == "Tier"


# -- against the sandbox's real record JSON ------------------------------------------------------


def _sandbox_ready() -> bool:
    try:
        from concord_etl.sandbox import Sandbox  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _sandbox_ready(), reason="concord_etl.sandbox.Sandbox not available yet")
def test_values_of_a_record_served_by_the_sandbox(sandbox: Any) -> None:
    import requests

    from concord_etl.crm.fields import parse_create_fields

    session = requests.Session()
    session.trust_env = False
    session.headers.update({"Authorization": "Bearer test-token", "Accept": "application/json"})
    body = {
        "first_name": "Values", "last_name": "Check", "email": "values.check@example.com",
        "phones": [{"number": "+447700900123", "type": "work"}],
        "user_id": 2, "source_id": "Referrals", "tags": ["VIP"], "companies": ["Acme Ltd"],
        "cf_customer_tier": "Gold", "cf_interests": ["Analytics", "Support"],
        "cf_preferred_channel": "Phone", "cf_signup_date": "2024-03-05",
        "cf_last_seen_at": "2024-05-01 10:15:00", "cf_newsletter": True,
        "cf_lead_score": 42, "cf_budget": 1500.5,
    }
    created = session.post(f"{sandbox.url}/api/contacts", json=body, timeout=10)
    assert created.status_code == 201, created.text
    record = session.get(f"{sandbox.url}/api/contacts/{created.json()['id']}", timeout=10).json()
    fields_json = session.get(f"{sandbox.url}/api/contacts/create-fields", timeout=10).json()
    fields = parse_create_fields("contacts", fields_json)

    def value(attribute: str, **kw: Any) -> Any:
        found = fields.get(attribute)
        assert found is not None, attribute
        return cell_value(record, found, **kw)

    assert value("cf_customer_tier") == "Gold"
    assert value("cf_interests", split=";") == "Analytics;Support"
    assert value("cf_preferred_channel") == "Phone"
    assert value("cf_signup_date") == dt.date(2024, 3, 5)
    assert value("cf_last_seen_at") == dt.datetime(2024, 5, 1, 10, 15)
    assert value("cf_newsletter") is True
    assert value("cf_lead_score") == 42
    assert value("cf_budget") == 1500.5
    assert value("phones") == "+447700900123"
    assert value("user_id") == "Sam Seller"
    assert value("user_id", key="email") == "sam@example.com"
    assert value("source_id") == "Referrals"
    assert value("tags") == "VIP"
    assert value("companies") == "Acme Ltd"
    for spec_ in fields:
        cell = cell_value(record, spec_)
        kind = cell_kind(spec_)
        if cell is None:
            continue
        expected = {"integer": int, "number": float, "date": dt.date, "datetime": dt.datetime,
                    "bool": bool}.get(kind)
        if expected is not None:
            assert isinstance(cell, expected), (spec_.attribute, cell)
