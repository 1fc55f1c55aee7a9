"""Building a validation plan: offline fields, CRM cross-checks, defaults, required, keys."""

from __future__ import annotations

from typing import Any

import pytest

from concord_etl.crm.fields import parse_create_fields
from concord_etl.errors import MappingError
from concord_etl.mapping.loader import mapping_from_dict
from concord_etl.validate.schema import (
    DUPLICATE_COLUMN,
    build_checks,
    build_validator,
    fields_from_mapping,
)


def mapping(columns: dict[str, Any], **extra: Any) -> Any:
    return mapping_from_dict({"version": 1, "resource": "contacts", "columns": columns, **extra})


# Descriptors with Concord's own keys (no ``type``: the client derives it).
CRM_FIELDS = [
    {"attribute": "first_name", "label": "First Name", "component": "text-field",
     "inputType": "text", "customField": None, "isRequired": True},
    {"attribute": "email", "label": "E-Mail Address", "component": "email-field",
     "customField": None},
    {"attribute": "cf_customer_tier", "label": "Customer Tier", "component": "select-field",
     "customField": {"id": 1, "field_type": "Select", "field_id": "cf_customer_tier"},
     "acceptLabelAsValue": True, "valueKey": "id", "labelKey": "name",
     "optionsViaResource": None,
     "options": [{"id": 11, "name": "Bronze"}, {"id": 12, "name": "Gold"}]},
]


def test_offline_types_come_from_declarations_and_well_known_attributes() -> None:
    m = mapping({
        "First Name": "first_name",
        "E-mail": "email",
        "Mobile": "phones",
        "Owner": {"field": "user_id", "lookup": {"resource": "users", "by": "email"}},
        "Company": {"field": "companies", "lookup": {"resource": "companies", "by": "name"}},
        "Tier": {"field": "cf_customer_tier", "type": "Select", "options": ["Gold", "Silver"]},
        "Nickname": "nickname",
    }, defaults={"tags": ["imported"]})
    fields = fields_from_mapping(m)
    types = {f.attribute: f.type for f in fields}
    assert types == {
        "first_name": "Text", "email": "Email", "phones": "Phone", "user_id": "BelongsTo",
        "companies": "Association", "cf_customer_tier": "Select", "nickname": "Text",
        "tags": "Tags",
    }
    assert fields.online is False
    assert fields.get("first_name").required is True
    assert fields.get("user_id").related == "users"
    assert [o.name for o in fields.get("cf_customer_tier").options] == ["Gold", "Silver"]


def test_offline_deal_fields() -> None:
    m = mapping_from_dict({"version": 1, "resource": "deals", "columns": {
        "Deal": "name", "Amount": "amount", "Status": "status", "Close": "expected_close_date",
    }})
    fields = fields_from_mapping(m)
    assert fields.get("amount").type == "Decimal"
    assert fields.get("status").type == "Enum"
    assert fields.get("status").choices == ("open", "won", "lost")
    assert fields.get("expected_close_date").type == "Date"
    assert fields.get("name").required is True


def test_column_required_flag_overrides_the_default() -> None:
    m = mapping({"First Name": {"field": "first_name", "required": False},
                 "City": {"field": "city", "required": True}})
    plan = build_validator(m)
    assert plan.column("First Name").required is False
    assert plan.column("City").required is True


def test_a_default_satisfies_required() -> None:
    plan = build_validator(mapping({"First Name": "first_name"}, defaults={"first_name": "Unknown"}))
    assert plan.column("First Name").required is False
    assert plan.defaults == {"first_name": "Unknown"}


def test_declared_type_contradicting_the_crm_is_a_mapping_error() -> None:
    m = mapping({"Tier": {"field": "cf_customer_tier", "type": "MultiSelect"}})
    fields = parse_create_fields("contacts", CRM_FIELDS)
    with pytest.raises(MappingError) as caught:
        build_validator(m, fields)
    message = str(caught.value)
    assert 'columns."Tier".type' in message
    assert "MultiSelect" in message and "Select" in message


def test_field_unknown_to_the_crm_is_a_mapping_error_with_a_suggestion() -> None:
    m = mapping({"Mail": "emial"})
    with pytest.raises(MappingError, match="did you mean 'email'"):
        build_validator(m, parse_create_fields("contacts", CRM_FIELDS))


def test_online_option_rule_maps_labels_to_ids() -> None:
    m = mapping({"Tier": "cf_customer_tier"})
    plan = build_validator(m, parse_create_fields("contacts", CRM_FIELDS))
    rule = plan.column("Tier").rule
    assert rule.table == {"bronze": 11, "gold": 12}


def test_defaults_are_normalised_like_cells() -> None:
    m = mapping(
        {"Tier": {"field": "cf_customer_tier", "type": "Select", "options": ["Gold", "Silver"]},
         "News": {"field": "cf_newsletter", "type": "Boolean"}},
        defaults={"cf_customer_tier": "gold", "cf_newsletter": "yes", "tags": ["imported", "web"]},
    )
    plan = build_validator(m)
    assert plan.defaults == {
        "cf_customer_tier": "Gold", "cf_newsletter": True, "tags": ["imported", "web"],
    }


def test_an_invalid_default_is_a_mapping_error() -> None:
    m = mapping(
        {"Tier": {"field": "cf_customer_tier", "type": "Select", "options": ["Gold", "Silver"]}},
        defaults={"cf_customer_tier": "Diamond"},
    )
    with pytest.raises(MappingError) as caught:
        build_validator(m)
    assert str(caught.value) == 'defaults.cf_customer_tier: "Diamond" is not one of Gold, Silver'


def test_match_key_adds_the_duplicate_check() -> None:
    plan = build_validator(mapping({"E-mail": "email"}, match={"on": ["email"]}))
    assert plan.key_columns == ("E-mail",)
    assert DUPLICATE_COLUMN in plan.schema.columns
    no_key = build_validator(mapping({"E-mail": "email"}, match={"on": ["id"]}))
    assert no_key.key_columns == ()


def test_schema_keeps_every_column_untyped_and_uncoerced() -> None:
    plan = build_checks(mapping({
        "Signed Up": {"field": "cf_signup_date", "type": "Date", "format": "%d/%m/%Y"},
        "Score": {"field": "cf_lead_score", "type": "Number"},
    }))
    assert plan.schema.coerce is False
    for column in plan.schema.columns.values():
        assert column.dtype is None
        assert column.coerce is False
    assert [c.name for c in plan.schema.columns["Signed Up"].checks] == ["Date"]
