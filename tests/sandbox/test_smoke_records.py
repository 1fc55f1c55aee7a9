"""Smoke tests of record writes: validation, uniqueness, custom fields, relations, deals."""

from __future__ import annotations

from typing import Any

import requests

TOKEN = "test-token"


def api(sb: Any) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.trust_env = False
    s.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    return s, sb.url + "/api"


def test_create_normalises_and_resolves_everything(sandbox: Any) -> None:
    s, u = api(sandbox)
    body = {"first_name": "  Bob ", "last_name": "", "email": "bob@example.org",
            "phones": "+15551234|work,+442000000", "tags": "Lead, VIP",
            "companies": "Acme Ltd, Nobody Inc", "source_id": "Trade Show 2024",
            "user_id": "sam seller", "country_id": "DEU", "cf_customer_tier": " gold ",
            "cf_interests": ["Analytics", 999], "cf_budget": "USD 1,200.50",
            "cf_signup_date": "2024-05-01", "cf_last_seen_at": "2024-05-01T10:00:00+02:00",
            "cf_newsletter": "1"}
    r = s.post(u + "/contacts", json=body)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["was_recently_created"] is True
    assert (rec["first_name"], rec["last_name"]) == ("Bob", None)
    assert rec["phones"][0]["number"] == "+15551234" and rec["phones"][0]["type"] == "work"
    assert rec["phones"][1]["type"] == "mobile"
    assert [t["name"] for t in rec["tags"]] == ["Lead", "VIP"]
    assert [c["name"] for c in rec["companies"]] == ["Acme Ltd"]
    assert rec["source"]["name"] == "Trade Show 2024"            # created on demand
    assert (rec["user_id"], rec["country_id"]) == (2, 276)
    fields = {f["attribute"]: f for f in s.get(u + "/contacts/create-fields").json()}
    gold = [o["id"] for o in fields["cf_customer_tier"]["options"] if o["name"] == "Gold"]
    assert rec["cf_customer_tier"] == gold[0]
    assert [o["name"] for o in rec["cf_interests"]] == ["Analytics", "999"]   # auto-created
    assert rec["cf_budget"] == 1200.5
    assert rec["cf_signup_date"] == "2024-05-01T00:00:00.000000Z"
    assert rec["cf_last_seen_at"] == "2024-05-01T08:00:00.000000Z"
    assert rec["cf_newsletter"] is True


def test_422_shape_and_messages(sandbox: Any) -> None:
    s, u = api(sandbox)
    r = s.post(u + "/contacts", json={"email": "ADA@example.com", "cf_external_id": "EXT-0002",
                                      "user_id": "Nobody", "cf_lead_score": "x"})
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == "The First Name field is required. (and 4 more errors)"
    assert body["errors"]["email"] == ["A contact or team member with this email already exist."]
    assert body["errors"]["cf_external_id"] == ["The External ID has already been taken."]
    assert body["errors"]["user_id"] == [
        "You provided a user that don't exists. You must add the user ID or the user full name."]
    # nothing was created as a side effect of the failed request
    assert s.get(u + "/contacts/search", params={"q": "Nobody", "search_fields": "user.name"}).json() == []
    r = s.post(u + "/companies", json={"name": "Dup", "email": "info@acme.example"})
    assert r.json()["message"] == "A company with this email already exist."
    r = s.post(u + "/contacts", json={"first_name": "P", "phones": ["+15550100"]})
    assert r.json()["errors"] == {"phones.0.number": ["A contact with this phone number already exist."]}


def test_update_is_partial_and_syncs(sandbox: Any) -> None:
    s, u = api(sandbox)
    before = s.get(u + "/contacts/1").json()
    r = s.put(u + "/contacts/1", json={"last_name": "Byron", "tags": ["New"], "companies": [2],
                                       "cf_interests": [], "cf_customer_tier": None})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["first_name"] == before["first_name"] and rec["last_name"] == "Byron"
    assert [t["name"] for t in rec["tags"]] == ["New"]
    assert [c["id"] for c in rec["companies"]] == [2]
    assert rec["cf_interests"] == [] and rec["cf_customer_tier"] == before["cf_customer_tier"]
    r = s.put(u + "/contacts/1", json={"first_name": ""})
    assert r.json()["errors"] == {"first_name": ["The First Name field must have a value."]}


def test_deal_stage_status_rules(sandbox: Any) -> None:
    s, u = api(sandbox)
    r = s.post(u + "/deals", json={"name": "D", "stage_id": "Negotiation", "amount": -10.25})
    deal = r.json()
    assert (deal["stage_id"], deal["pipeline_id"], deal["amount"], deal["status"]) == (9, 2, -10.25, "open")
    r = s.put(f"{u}/deals/{deal['id']}", json={"status": "won", "stage_id": 1})
    assert r.json()["won_date"] is not None and r.json()["pipeline_id"] == 1
    r = s.put(f"{u}/deals/{deal['id']}", json={"status": "lost"})
    assert r.status_code == 409
    assert r.json()["message"] == ('The deal first must be marked as open in order to apply '
                                   'the "lost" status.')
    r = s.post(u + "/deals", json={"name": "D2", "stage_id": "No Such Stage"})
    assert r.json()["errors"] == {"stage_id": ["The selected Stage is invalid."]}


def test_custom_field_admin_api(sandbox: Any) -> None:
    s, u = api(sandbox)
    r = s.post(u + "/custom-fields", json={"resource_name": "contacts", "label": "Region",
                                           "field_type": "Select", "field_id": "cf_region",
                                           "options": [{"name": "North"}, {"name": "South"}]})
    assert r.status_code == 201
    cf = r.json()
    north = cf["options"][0]["id"]
    rec = s.post(u + "/contacts", json={"first_name": "R", "cf_region": "north"}).json()
    assert rec["cf_region"] == north
    r = s.put(f"{u}/custom-fields/{cf['id']}", json={"label": "Region",
                                                   "options": [{"name": "South"}]})
    assert [o["name"] for o in r.json()["options"]] == ["South"]
    assert s.get(f"{u}/contacts/{rec['id']}").json()["cf_region"] is None
    r = s.post(u + "/custom-fields", json={"resource_name": "deals", "label": "X",
                                           "field_type": "Text", "field_id": "cf_bad1",
                                           "is_unique": True})
    assert r.status_code == 422 and set(r.json()["errors"]) == {"field_id", "is_unique"}
