"""Custom-field values: all 15 types accept/reject, options by id / label / unknown label
(creates an option), null ignored on option fields, multi-option sync on update.

Reference: docs/concord-api.md §20 (custom fields), §10 (record JSON).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import (
    MIDNIGHT_RE,
    api,
    create,
    fields,
    invalid,
    option_ids,
    show,
    stage_id,
    uniq,
    update,
)


def contact(sb: Any, **values: Any) -> dict[str, Any]:
    return create(sb, "contacts", {"first_name": uniq("Cf"), **values})


def rejected(sb: Any, attribute: str, value: Any) -> None:
    payload = invalid(sb, "POST", "/api/contacts", {"first_name": uniq("Bad"), attribute: value})
    assert list(payload["errors"]) == [attribute], payload


ACCEPTED = [
    ("cf_external_id", "EXT-{u}", "EXT-{u}"),
    ("cf_bio", "line one\nline two " + "z" * 1000, "line one\nline two " + "z" * 1000),
    ("cf_alt_email", "alt.{u}@example.com", "alt.{u}@example.com"),
    ("cf_linkedin_url", "https://www.linkedin.com/in/{u}", "https://www.linkedin.com/in/{u}"),
    ("cf_lead_score", 42, 42),
    ("cf_lead_score", -7, -7),
    ("cf_budget", 1200.5, 1200.5),
    ("cf_budget", "1200.500", 1200.5),
    ("cf_budget", 0, 0),
    ("cf_signup_date", "2024-05-01", "2024-05-01T00:00:00.000000Z"),
    ("cf_last_seen_at", "2024-05-01 14:00:00", "2024-05-01T14:00:00.000000Z"),
    ("cf_last_seen_at", "2024-05-01T16:00:00+02:00", "2024-05-01T14:00:00.000000Z"),
    ("cf_newsletter", True, True),
    ("cf_newsletter", False, False),
    ("cf_newsletter", 1, True),
    ("cf_newsletter", 0, False),
    ("cf_newsletter", "true", True),
    ("cf_brand_color", "#1a2b3c", "#1a2b3c"),
    ("cf_home_timezone", "Europe/London", "Europe/London"),
]


@pytest.mark.parametrize(("attribute", "sent", "expected"), ACCEPTED)
def test_accepted_values(shared: Any, attribute: str, sent: Any, expected: Any) -> None:
    u = uniq("v")
    if isinstance(sent, str):
        sent = sent.format(u=u)
    if isinstance(expected, str):
        expected = expected.format(u=u)
    rec = contact(shared, **{attribute: sent})
    assert rec[attribute] == expected
    assert type(rec[attribute]) is type(expected) or (
        isinstance(expected, (int, float)) and isinstance(rec[attribute], (int, float))
        and not isinstance(rec[attribute], bool))
    assert show(shared, "contacts", rec["id"])[attribute] == expected


REJECTED = [
    ("cf_external_id", "e" * 192),
    ("cf_alt_email", "not-an-email"),
    ("cf_linkedin_url", "not a url"),
    ("cf_linkedin_url", "https://example.com/" + "p" * 191),
    ("cf_lead_score", "abc"),
    ("cf_lead_score", 1.5),
    ("cf_budget", -1),
    ("cf_budget", 1.2345),
    ("cf_budget", "lots"),
    ("cf_signup_date", "not a date"),
    ("cf_signup_date", "2024-13-45"),
    ("cf_last_seen_at", "not a datetime"),
    ("cf_newsletter", "maybe"),
    ("cf_brand_color", "blue"),
    ("cf_brand_color", "#12345"),
    ("cf_home_timezone", "Mars/Olympus"),
]


@pytest.mark.parametrize(("attribute", "sent"), REJECTED)
def test_rejected_values(shared: Any, attribute: str, sent: Any) -> None:
    rejected(shared, attribute, sent)


def test_numeric_accepts_a_currency_code(shared: Any) -> None:
    assert contact(shared, cf_budget="USD 1,200.50")["cf_budget"] == 1200.5


def test_numeric_is_a_json_number(shared: Any) -> None:
    resp = api(shared, "POST", "/api/contacts",
               json={"first_name": uniq("Num"), "cf_budget": 99.125})
    assert resp.status_code == 201
    assert '"cf_budget":99.125' in resp.text.replace(" ", "")


def test_date_custom_field_at_midnight(shared: Any) -> None:
    rec = contact(shared, cf_signup_date="2023-12-31")
    assert MIDNIGHT_RE.match(rec["cf_signup_date"])


def test_select_by_id(shared: Any) -> None:
    tiers = option_ids(shared, "contacts", "cf_customer_tier")
    rec = contact(shared, cf_customer_tier=tiers["Silver"])
    assert rec["cf_customer_tier"] == tiers["Silver"]


@pytest.mark.parametrize("label", ["Gold", "gold", "  GOLD  "])
def test_select_by_label_case_insensitive(shared: Any, label: str) -> None:
    tiers = option_ids(shared, "contacts", "cf_customer_tier")
    assert contact(shared, cf_customer_tier=label)["cf_customer_tier"] == tiers["Gold"]


def test_radio_by_label(shared: Any) -> None:
    channels = option_ids(shared, "contacts", "cf_preferred_channel")
    assert contact(shared, cf_preferred_channel="sms")["cf_preferred_channel"] == channels["SMS"]


def test_select_unknown_label_creates_an_option(shared: Any) -> None:
    label = uniq("Diamond")
    rec = contact(shared, cf_customer_tier=label)
    tiers = option_ids(shared, "contacts", "cf_customer_tier")
    assert label in tiers
    assert rec["cf_customer_tier"] == tiers[label]
    again = contact(shared, cf_customer_tier=label.upper())
    assert again["cf_customer_tier"] == tiers[label]
    assert option_ids(shared, "contacts", "cf_customer_tier") == tiers


def test_select_unknown_numeric_id_creates_an_option_named_by_it(shared: Any) -> None:
    rec = contact(shared, cf_preferred_channel=987654)
    channels = option_ids(shared, "contacts", "cf_preferred_channel")
    assert channels["987654"] == rec["cf_preferred_channel"]
    assert rec["cf_preferred_channel"] != 987654


def test_rejected_request_creates_no_option(shared: Any) -> None:
    label = uniq("Mythril")
    invalid(shared, "POST", "/api/contacts", {"cf_customer_tier": label})
    assert label not in option_ids(shared, "contacts", "cf_customer_tier")


def test_null_is_ignored_on_option_fields(shared: Any) -> None:
    rec = contact(shared, cf_customer_tier="Gold", cf_interests=["Analytics"])
    got = update(shared, "contacts", rec["id"],
                 {"cf_customer_tier": None, "cf_interests": None, "last_name": "Kept"})
    assert got["cf_customer_tier"] == rec["cf_customer_tier"]
    assert [o["name"] for o in got["cf_interests"]] == ["Analytics"]
    assert got["last_name"] == "Kept"
    created = contact(shared, cf_customer_tier=None)
    assert created["cf_customer_tier"] is None


def test_multiselect_forms(shared: Any) -> None:
    ids = option_ids(shared, "contacts", "cf_interests")
    rec = contact(shared, cf_interests=["Analytics", "reporting"])
    assert sorted(o["name"] for o in rec["cf_interests"]) == ["Analytics", "Reporting"]
    for item in rec["cf_interests"]:
        assert set(item) >= {"id", "name", "swatch_color"}
        assert item["id"] == ids[item["name"]]
    rec = contact(shared, cf_interests="Automation, Support")
    assert sorted(o["name"] for o in rec["cf_interests"]) == ["Automation", "Support"]
    rec = contact(shared, cf_interests=[ids["Integrations"], "Support"])
    assert sorted(o["id"] for o in rec["cf_interests"]) == sorted(
        [ids["Integrations"], ids["Support"]])
    rec = contact(shared, cf_interests=ids["Reporting"])
    assert [o["id"] for o in rec["cf_interests"]] == [ids["Reporting"]]


def test_checkbox_by_labels(shared: Any) -> None:
    rec = contact(shared, cf_lead_channels=["web", "Events"])
    assert sorted(o["name"] for o in rec["cf_lead_channels"]) == ["Events", "Web"]


def test_multi_unknown_label_creates_an_option(shared: Any) -> None:
    label = uniq("Webinars")
    rec = contact(shared, cf_lead_channels=["Web", label])
    ids = option_ids(shared, "contacts", "cf_lead_channels")
    assert label in ids
    assert sorted(o["id"] for o in rec["cf_lead_channels"]) == sorted([ids["Web"], ids[label]])


def test_multi_option_sync_on_update(shared: Any) -> None:
    rec = contact(shared, cf_interests=["Analytics", "Automation"])
    got = update(shared, "contacts", rec["id"], {"cf_interests": ["Support"]})
    assert [o["name"] for o in got["cf_interests"]] == ["Support"]
    got = update(shared, "contacts", rec["id"], {"cf_interests": []})
    assert got["cf_interests"] == []
    assert show(shared, "contacts", rec["id"])["cf_interests"] == []


def test_custom_fields_always_present_in_json(shared: Any) -> None:
    rec = contact(shared)
    for attribute, item in fields(shared, "contacts").items():
        if item["customField"]:
            assert attribute in rec, attribute
    assert rec["cf_interests"] == []
    assert rec["cf_customer_tier"] is None


def test_company_and_deal_option_fields(shared: Any) -> None:
    segments = option_ids(shared, "companies", "cf_segment")
    company = create(shared, "companies", {"name": uniq("Seg"), "cf_segment": "enterprise",
                                           "cf_regions": "EMEA,APAC"})
    assert company["cf_segment"] == segments["Enterprise"]
    assert sorted(o["name"] for o in company["cf_regions"]) == ["APAC", "EMEA"]
    kinds = option_ids(shared, "deals", "cf_deal_type")
    stage = stage_id(shared, "Sales Pipeline", "Proposal Made")
    deal = create(shared, "deals", {"name": uniq("Deal"), "stage_id": stage,
                                    "cf_deal_type": "Renewal"})
    assert deal["cf_deal_type"] == kinds["Renewal"]

