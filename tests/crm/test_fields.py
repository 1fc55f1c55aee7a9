"""Typing fields from the keys Concord really sends (fixtures written from its field classes).

The descriptors under tests/data/descriptors/ were written by hand from Concord 1.5.1's
``jsonSerialize`` of each field class (not copied from the sandbox): no ``type`` naming a field
type, no ``relatedResource``. Every field of all six resources must get its logical type and
related resource from ``component``, ``customField`` and the relation keys alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from concord_etl.crm.fields import (
    field_kind,
    known_fields,
    merge_fields,
    parse_create_fields,
    related_resource,
)
from concord_etl.crm.known_fields import KNOWN, never_described, update_only
from concord_etl.mapping.model import FIELD_TYPES
from tests.helpers import DATA

RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes")


def fixture(resource: str) -> dict[str, Any]:
    return json.loads((DATA / "descriptors" / f"{resource}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_described_field_gets_its_type_and_related_resource(resource: str) -> None:
    data = fixture(resource)
    fields = merge_fields(resource, data["create"], data["update"], known=False)
    got = {f.attribute: [f.type, f.related] for f in fields}
    assert got == data["expected"]
    assert all(f.type in FIELD_TYPES for f in fields)


@pytest.mark.parametrize("resource", RESOURCES)
def test_fields_no_form_describes_are_added_typed_the_same_way(resource: str) -> None:
    data = fixture(resource)
    fields = merge_fields(resource, data["create"], data["update"])
    for attribute, (ftype, related) in data.get("accepted", {}).items():
        spec = fields.get(attribute)
        assert spec is not None, attribute
        assert (spec.type, spec.related, spec.origin) == (ftype, related, "accepted")
        assert spec.required is False


def test_update_only_fields_come_from_update_fields_or_the_known_table() -> None:
    data = fixture("contacts")
    with_record = merge_fields("contacts", data["create"], data["update"])
    assert with_record.get("job_title").origin == "update"
    assert with_record.get("country_id").related == "countries"
    without_record = merge_fields("contacts", data["create"])      # a CRM with no contact yet
    for attribute in ("job_title", "street", "city", "state", "postal_code", "country_id"):
        spec = without_record.get(attribute)
        assert spec is not None and spec.origin == "accepted", attribute
    assert without_record.get("country_id").type == "BelongsTo"
    assert update_only("contacts") == ("job_title", "street", "city", "state", "postal_code",
                                       "country_id")
    assert never_described("companies") == ("industry_id",)


def test_create_form_flags_win_and_update_only_fields_are_never_required() -> None:
    data = fixture("contacts")
    fields = merge_fields("contacts", data["create"], data["update"])
    assert fields.get("first_name").required is True
    assert fields.get("first_name").origin == "create"
    assert fields.get("email").unique is True
    assert not any(f.required for f in fields if f.origin != "create")


def test_phone_and_tags_type_keys_are_ignored() -> None:
    data = fixture("contacts")
    by = {d["attribute"]: d for d in data["create"]}
    assert by["phones"]["type"] == "mobile" and by["tags"]["type"] == "contacts"
    assert field_kind(by["phones"]) == ("Phone", None)
    assert field_kind(by["tags"]) == ("Tags", None)


def test_options_of_option_fields_keep_ids_and_labels() -> None:
    fields = parse_create_fields("contacts", fixture("contacts")["create"])
    tier = fields.get("cf_tier")
    assert [(o.id, o.name) for o in tier.options] == [(7, "Gold"), (8, "Silver")]
    assert tier.custom is True and tier.component == "select-field"
    assert fields.get("user_id").options == ()          # lookups resolve BelongsTo, not options


def test_related_resource_order_of_evidence() -> None:
    base = {"component": "belongs-to-field", "customField": None}
    assert related_resource({**base, "optionsViaResource": "industries",
                             "belongsToRelation": "industry"}) == "industries"
    assert related_resource({**base, "onOptionClick": {"resourceName": "companies"},
                             "belongsToRelation": "parent"}) == "companies"
    assert related_resource({**base, "lazyLoad": {"url": "/deals"}}) == "deals"
    assert related_resource({**base, "asyncUrl": "/api/companies/search"}) == "companies"
    assert related_resource({**base, "indexComponent": "index-user-field",
                             "belongsToRelation": "creator"}) == "users"
    assert related_resource({**base, "belongsToRelation": "creator"}) == "users"
    assert related_resource({**base, "belongsToRelation": "stage"}) == "pipeline-stages"
    assert related_resource({**base, "belongsToRelation": "something-new"}) is None


def test_component_variants_and_unknown_components() -> None:
    assert field_kind({"formComponent": "form-email-field", "attribute": "x"}) == ("Email", None)
    assert field_kind({"component": "numeric-field", "onlyProducts": True}) == ("Decimal", None)
    assert field_kind({"component": "numeric-field", "attributes": {"minus": True}}) == (
        "Decimal", None)
    assert field_kind({"component": "numeric-field", "currency": None}) == ("Numeric", None)
    assert field_kind({"component": "heading-field", "attribute": None}) is None
    assert field_kind({"component": None, "attribute": "contacts_count"}) is None
    assert field_kind({"component": "shiny-new-field", "attribute": "x"}) == ("Text", None)
    # a BelongsToMany (users' roles) shares the component but is optionable
    roles = {"component": "select-multiple-field", "acceptLabelAsValue": True,
             "optionsViaResource": None, "attribute": "roles", "customField": None}
    assert field_kind(roles) == ("MultiSelect", None)


def test_headings_and_descriptors_without_attribute_are_skipped() -> None:
    fields = parse_create_fields("activities", fixture("activities")["create"])
    assert None not in fields.fields and "" not in fields.fields
    assert len(fields.fields) == 12


def test_known_table_uses_only_keys_concord_sends() -> None:
    sent = {"component", "attribute", "label", "showOnCreation", "showOnUpdate", "customField",
            "inputType", "acceptLabelAsValue", "valueKey", "labelKey", "optionsViaResource",
            "options", "belongsToRelation", "dependsOn", "indexComponent", "asyncUrl",
            "lazyLoad", "onOptionClick", "types", "type", "callingPrefix", "attributes",
            "currency", "prependText", "appendText", "onlyProducts", "dateable", "cancelable",
            "trueValue", "falseValue", "displayOptionViewActionFromPath"}
    for resource, items in KNOWN.items():
        for item in items:
            assert set(item) <= sent, (resource, item["attribute"], set(item) - sent)


@pytest.mark.parametrize("resource", RESOURCES)
def test_offline_known_types_agree_with_the_online_typing(resource: str) -> None:
    data = fixture(resource)
    online = merge_fields(resource, data["create"], data["update"])
    for spec in known_fields(resource):
        live = online.get(spec.attribute)
        assert live is not None, spec.attribute
        assert (spec.type, spec.related) == (live.type, live.related), spec.attribute


def test_a_deal_pipeline_is_not_required_where_the_api_derives_it_from_the_stage() -> None:
    data = fixture("deals")
    pipeline = data["create"][1]
    assert pipeline["attribute"] == "pipeline_id" and pipeline["isRequired"] is True
    fields = merge_fields("deals", data["create"], data["update"])
    assert fields.get("pipeline_id").required is False
    assert fields.get("stage_id").required is True
