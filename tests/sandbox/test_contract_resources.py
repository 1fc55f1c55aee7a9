"""Resources exist, demo seed, custom fields in create-fields, custom-fields admin API.

Reference: docs/concord-api.md §4, §18, §20.1, docs/field-descriptors.md; DESIGN.md "Sandbox contract".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import SAM, api, create, fields, js, ok, uniq

PAGINATED = ["contacts", "companies", "deals", "products", "activities", "notes", "pipelines",
             "pipeline-stages", "sources", "industries", "users"]
ADMIN_ONLY = {"message": "Your account is not authorized to perform this action."}

CONTACT_CUSTOM = {
    "cf_customer_tier": "Select", "cf_interests": "MultiSelect", "cf_preferred_channel": "Radio",
    "cf_lead_channels": "Checkbox", "cf_signup_date": "Date", "cf_last_seen_at": "DateTime",
    "cf_newsletter": "Boolean", "cf_lead_score": "Number", "cf_budget": "Numeric",
    "cf_linkedin_url": "Url", "cf_alt_email": "Email", "cf_external_id": "Text",
    "cf_bio": "Textarea", "cf_home_timezone": "Timezone", "cf_brand_color": "ColorSwatch",
}


@pytest.mark.parametrize("resource", PAGINATED)
def test_list_routes_exist_and_are_paginated(shared: Any, resource: str) -> None:
    page = ok(api(shared, "GET", f"/api/{resource}"))
    assert set(page) == {"data", "links", "meta"}
    assert isinstance(page["data"], list)


def test_demo_users(shared: Any) -> None:
    users = ok(api(shared, "GET", "/api/users", params={"per_page": 100}))["data"]
    by_id = {u["id"]: (u["name"], u["email"]) for u in users}
    assert by_id == {
        1: ("Admin User", "admin@example.com"),
        2: ("Sam Seller", "sam@example.com"),
        3: ("Alex Manager", "alex@example.com"),
        4: ("Chris Lee", "chris.lee@example.com"),
        5: ("Chris Lee", "chris.lee2@example.com"),
        6: ("No Api User", "noapi@example.com"),
    }


def test_demo_pipelines_and_stages(shared: Any) -> None:
    pipes = ok(api(shared, "GET", "/api/pipelines", params={"per_page": 100}))["data"]
    names = {p["name"]: p for p in pipes}
    assert {"Sales Pipeline", "Partner Pipeline"} <= set(names)
    assert names["Sales Pipeline"]["flag"] == "default"
    stages = ok(api(shared, "GET", "/api/pipeline-stages", params={"per_page": 100}))["data"]
    sales = [s["name"] for s in stages if s["pipeline_id"] == names["Sales Pipeline"]["id"]]
    partner = [s["name"] for s in stages if s["pipeline_id"] == names["Partner Pipeline"]["id"]]
    assert set(sales) == {"Qualified To Buy", "Contact Made", "Presentation Scheduled",
                          "Proposal Made", "Appointment Scheduled", "Closed"}
    assert set(partner) == {"Qualified To Buy", "Contact Made", "Negotiation", "Closed"}


def test_demo_sources_and_industries(shared: Any) -> None:
    sources = ok(api(shared, "GET", "/api/sources", params={"per_page": 100}))["data"]
    assert {"Organic search", "Paid search", "Email marketing", "Social media", "Referrals",
            "Other campaigns", "Direct traffic", "Offline Source", "Paid social",
            "Web Form"} <= {s["name"] for s in sources}
    industries = ok(api(shared, "GET", "/api/industries", params={"per_page": 100}))["data"]
    assert {"Software", "Retail", "Manufacturing", "Healthcare"} <= {i["name"] for i in industries}


def test_countries_is_a_plain_array_with_iso_codes(shared: Any) -> None:
    countries = ok(api(shared, "GET", "/api/countries"))
    assert isinstance(countries, list)
    by_iso = {c["iso_3166_2"]: c for c in countries}
    assert {"GB", "US", "DE", "FR", "JP", "CA"} <= set(by_iso)
    assert by_iso["GB"]["id"] == 826
    assert by_iso["GB"]["name"] == "United Kingdom"
    assert by_iso["GB"]["iso_3166_3"] == "GBR"
    assert by_iso["US"]["id"] == 840


def test_timezones_is_an_array_of_names(shared: Any) -> None:
    zones = ok(api(shared, "GET", "/api/timezones"))
    assert isinstance(zones, list)
    assert "Europe/London" in zones
    assert "UTC" in zones or "Etc/UTC" in zones
    assert all(isinstance(z, str) for z in zones)


def test_demo_records_exist(shared: Any) -> None:
    for resource, least in (("companies", 3), ("contacts", 5), ("deals", 2)):
        total = ok(api(shared, "GET", f"/api/{resource}"))["meta"]["total"]
        assert total >= least, resource


def test_contacts_custom_fields_all_fifteen_types(shared: Any) -> None:
    by = fields(shared, "contacts")
    for field_id, ftype in CONTACT_CUSTOM.items():
        item = by[field_id]
        definition = item["customField"]
        assert definition["field_id"] == field_id
        assert definition["field_type"] == ftype
        assert definition["resource_name"] == "contacts"
        assert isinstance(definition["id"], int)
        if field_id == "cf_external_id":
            assert definition["is_unique"] in (True, 1)
        else:
            assert not definition["is_unique"], field_id
    assert by["cf_external_id"]["isUnique"] is True
    tiers = by["cf_customer_tier"]["options"]
    assert [o["name"] for o in tiers] == ["Bronze", "Silver", "Gold", "Platinum"]
    assert all(isinstance(o["id"], int) and "swatch_color" in o for o in tiers)
    assert len({o["id"] for o in tiers}) == 4
    assert by["cf_customer_tier"]["valueKey"] == "id"
    assert by["cf_customer_tier"]["labelKey"] == "name"
    assert [o["name"] for o in by["cf_interests"]["options"]] == [
        "Analytics", "Automation", "Integrations", "Reporting", "Support"]
    assert "options" not in by["cf_newsletter"]
    assert "options" not in by["cf_newsletter"]["customField"]


def test_option_ids_are_global_not_per_field(shared: Any) -> None:
    by = fields(shared, "contacts")
    ids = [o["id"] for f in by.values() for o in f.get("options", ()) if f["customField"]]
    assert len(ids) == len(set(ids))


def test_deals_and_companies_custom_fields(shared: Any) -> None:
    deals = fields(shared, "deals")
    assert deals["cf_deal_type"]["customField"]["field_type"] == "Select"
    assert not any(f["isUnique"] for f in deals.values() if f["customField"])
    companies = fields(shared, "companies")
    assert companies["cf_account_number"]["isUnique"] is True
    assert [o["name"] for o in companies["cf_segment"]["options"]] == [
        "SMB", "Mid-Market", "Enterprise"]


def test_update_fields_route_exists(shared: Any) -> None:
    contact = create(shared, "contacts", {"first_name": uniq("Upd")})
    items = ok(api(shared, "GET", f"/api/contacts/{contact['id']}/update-fields"))
    assert "cf_customer_tier" in {i["attribute"] for i in items}


def test_custom_fields_admin_list_is_paginated(shared: Any) -> None:
    page = ok(api(shared, "GET", "/api/custom-fields", params={"per_page": 100}))
    assert set(page) == {"data", "links", "meta"}
    ids = {(f["resource_name"], f["field_id"]) for f in page["data"]}
    assert ("contacts", "cf_customer_tier") in ids
    assert page["meta"]["total"] >= 45


def test_custom_fields_admin_only(shared: Any) -> None:
    resp = api(shared, "GET", "/api/custom-fields", SAM)
    assert resp.status_code == 403
    assert js(resp) == ADMIN_ONLY
    body = {"resource_name": "contacts", "label": "Sneaky", "field_type": "Text",
            "field_id": "cf_sneaky"}
    resp = api(shared, "POST", "/api/custom-fields", SAM, json=body)
    assert resp.status_code == 403
    assert js(resp) == ADMIN_ONLY
    assert "cf_sneaky" not in fields(shared, "contacts")


def test_non_admin_can_read_create_fields(shared: Any) -> None:
    assert "cf_customer_tier" in fields(shared, "contacts", SAM)


def test_admin_creates_a_custom_field_and_uses_it(shared: Any) -> None:
    body = {"resource_name": "contacts", "label": "Region", "field_type": "Select",
            "field_id": "cf_region", "options": [{"name": "North"}, {"name": "South"}]}
    made = ok(api(shared, "POST", "/api/custom-fields", json=body), 201)
    assert made["field_id"] == "cf_region"
    assert [o["name"] for o in made["options"]] == ["North", "South"]
    north = next(o["id"] for o in made["options"] if o["name"] == "North")
    described = fields(shared, "contacts")["cf_region"]
    assert described["customField"]["field_type"] == "Select"
    assert {o["name"]: o["id"] for o in described["options"]}["North"] == north
    contact = create(shared, "contacts", {"first_name": uniq("Reg"), "cf_region": "north"})
    assert contact["cf_region"] == north


@pytest.mark.parametrize("field_id", ["region", "cf_ab1", "cf_Abc", "cf_"])
def test_custom_field_id_rules(shared: Any, field_id: str) -> None:
    body = {"resource_name": "contacts", "label": "Bad", "field_type": "Text",
            "field_id": field_id}
    payload = ok(api(shared, "POST", "/api/custom-fields", json=body), 422)
    assert "field_id" in payload["errors"]


def test_custom_field_options_required_for_option_types(shared: Any) -> None:
    body = {"resource_name": "contacts", "label": "No opts", "field_type": "Select",
            "field_id": "cf_no_options"}
    payload = ok(api(shared, "POST", "/api/custom-fields", json=body), 422)
    assert "options" in payload["errors"]


def test_deals_refuse_unique_custom_fields(shared: Any) -> None:
    body = {"resource_name": "deals", "label": "Deal ref", "field_type": "Text",
            "field_id": "cf_deal_ref", "is_unique": True}
    payload = ok(api(shared, "POST", "/api/custom-fields", json=body), 422)
    assert "is_unique" in payload["errors"]
