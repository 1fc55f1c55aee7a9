"""Phones (all forms, replace on update), tags by name (sync), association keys by id or name
(unknown ignored, attach on create, sync on update), `associations` object (bad key -> 400).

Reference: docs/concord-api.md §11, §12, §13.1 (field tables), §19.2-19.4 (associations, phones,
tags), §8 (400).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import api, create, email, js, phone, show, stage_id, uniq, update


def contact(sb: Any, **values: Any) -> dict[str, Any]:
    return create(sb, "contacts", {"first_name": uniq("Rel"), **values})


def pairs(rec: dict[str, Any]) -> list[tuple[str, str]]:
    for item in rec["phones"]:
        assert isinstance(item["id"], int)
    return sorted((p["number"], p["type"]) for p in rec["phones"])


def ids(items: list[dict[str, Any]]) -> list[int]:
    return sorted(i["id"] for i in items)


def test_phone_plain_string(shared: Any) -> None:
    n = phone()
    assert pairs(contact(shared, phones=n)) == [(n, "mobile")]


def test_phone_string_with_type(shared: Any) -> None:
    n = phone()
    assert pairs(contact(shared, phones=f"{n}|work")) == [(n, "work")]


def test_phone_comma_list(shared: Any) -> None:
    a, b, c = phone(), phone(), phone()
    rec = contact(shared, phones=f"{a}, {b}|other,{c}|work")
    assert pairs(rec) == sorted([(a, "mobile"), (b, "other"), (c, "work")])


def test_phone_array_of_strings(shared: Any) -> None:
    a, b = phone(), phone()
    assert pairs(contact(shared, phones=[a, b])) == sorted([(a, "mobile"), (b, "mobile")])


def test_phone_objects(shared: Any) -> None:
    a, b = phone(), phone()
    rec = contact(shared, phones=[{"number": a, "type": "work"}, {"number": b, "type": "other"}])
    assert pairs(rec) == sorted([(a, "work"), (b, "other")])


@pytest.mark.parametrize("form", ["object", "pipe", "numeric"])
def test_phone_unknown_type_is_mobile(shared: Any, form: str) -> None:
    n = phone()
    value: Any = {"object": [{"number": n, "type": "fax"}], "pipe": f"{n}|fax",
                  "numeric": [{"number": n, "type": 2}]}[form]
    assert pairs(contact(shared, phones=value)) == [(n, "mobile")]


def test_phone_empty_numbers_dropped(shared: Any) -> None:
    n = phone()
    rec = contact(shared, phones=[{"number": n, "type": "work"}, {"number": "", "type": "work"}])
    assert pairs(rec) == [(n, "work")]


def test_phones_replaced_on_update(shared: Any) -> None:
    a, b, c = phone(), phone(), phone()
    rec = contact(shared, phones=[a, f"{b}|work"])
    got = update(shared, "contacts", rec["id"], {"phones": [{"number": c, "type": "other"}]})
    assert pairs(got) == [(c, "other")]
    got = update(shared, "contacts", rec["id"], {"phones": [{"number": c, "type": "work"}, a]})
    assert pairs(got) == sorted([(c, "work"), (a, "mobile")])
    got = update(shared, "contacts", rec["id"], {"phones": []})
    assert got["phones"] == []
    assert show(shared, "contacts", rec["id"])["phones"] == []


def test_phones_untouched_when_absent_from_put(shared: Any) -> None:
    n = phone()
    rec = contact(shared, phones=n)
    assert pairs(update(shared, "contacts", rec["id"], {"job_title": "CEO"})) == [(n, "mobile")]


def test_freed_phone_number_can_be_reused(shared: Any) -> None:
    n = phone()
    rec = contact(shared, phones=n)
    update(shared, "contacts", rec["id"], {"phones": []})
    assert pairs(contact(shared, phones=n)) == [(n, "mobile")]


def test_tags_by_name(shared: Any) -> None:
    vip, new = uniq("VIP"), uniq("Lead")
    rec = contact(shared, tags=[vip, new])
    assert sorted(t["name"] for t in rec["tags"]) == sorted([vip, new])
    for tag in rec["tags"]:
        assert {"id", "name", "swatch_color", "display_order", "type"} <= set(tag)
        assert tag["type"] == "contacts"
    other = contact(shared, tags=vip.lower())
    assert [t["id"] for t in other["tags"]] == [
        t["id"] for t in rec["tags"] if t["name"] == vip]


def test_tags_comma_string(shared: Any) -> None:
    a, b = uniq("TagA"), uniq("TagB")
    rec = contact(shared, tags=f"{a}, {b}")
    assert sorted(t["name"] for t in rec["tags"]) == sorted([a, b])


def test_tags_sync_on_update(shared: Any) -> None:
    a, b = uniq("TagA"), uniq("TagB")
    rec = contact(shared, tags=[a])
    got = update(shared, "contacts", rec["id"], {"tags": [b]})
    assert [t["name"] for t in got["tags"]] == [b]
    got = update(shared, "contacts", rec["id"], {"tags": []})
    assert got["tags"] == []


def test_contacts_and_companies_share_tags_deals_do_not(shared: Any) -> None:
    name = uniq("Shared")
    person = contact(shared, tags=[name])
    company = create(shared, "companies", {"name": uniq("TagCo"), "tags": [name]})
    assert company["tags"][0]["id"] == person["tags"][0]["id"]
    deal = create(shared, "deals", {"name": uniq("TagDeal"), "tags": [name],
                                    "stage_id": stage_id(shared, "Sales Pipeline", "Closed")})
    assert deal["tags"][0]["type"] == "deals"
    assert deal["tags"][0]["id"] != person["tags"][0]["id"]


def test_companies_by_id_and_by_name(shared: Any) -> None:
    one = create(shared, "companies", {"name": uniq("AssocCo")})
    two = create(shared, "companies", {"name": uniq("AssocCo")})
    rec = contact(shared, companies=[one["id"], two["name"]])
    assert ids(rec["companies"]) == sorted([one["id"], two["id"]])
    shown = show(shared, "contacts", rec["id"])
    assert ids(shown["companies"]) == sorted([one["id"], two["id"]])


def test_companies_comma_string(shared: Any) -> None:
    one = create(shared, "companies", {"name": uniq("AssocCo")})
    two = create(shared, "companies", {"name": uniq("AssocCo")})
    rec = contact(shared, companies=f"{one['name']},{two['name']}")
    assert ids(rec["companies"]) == sorted([one["id"], two["id"]])


def test_unknown_association_keys_are_ignored(shared: Any) -> None:
    one = create(shared, "companies", {"name": uniq("AssocCo")})
    ghost = uniq("NoSuchCo")
    rec = contact(shared, companies=[one["id"], ghost, 98765432])
    assert ids(rec["companies"]) == [one["id"]]
    found = api(shared, "GET", "/api/companies/search", params={"q": ghost,
                                                               "search_fields": "name:="})
    assert js(found) == []


def test_association_sync_on_update(shared: Any) -> None:
    one = create(shared, "companies", {"name": uniq("AssocCo")})
    two = create(shared, "companies", {"name": uniq("AssocCo")})
    rec = contact(shared, companies=[one["id"]])
    got = update(shared, "contacts", rec["id"], {"companies": [two["id"]]})
    assert ids(got["companies"]) == [two["id"]]
    got = update(shared, "contacts", rec["id"], {"companies": []})
    assert got["companies"] == []
    kept = update(shared, "contacts", rec["id"], {"companies": [one["id"]]})
    got = update(shared, "contacts", rec["id"], {"job_title": "x"})
    assert ids(got["companies"]) == ids(kept["companies"]) == [one["id"]]


def test_association_is_visible_from_both_sides(shared: Any) -> None:
    company = create(shared, "companies", {"name": uniq("BothCo")})
    person = contact(shared, companies=[company["id"]])
    assert person["id"] in ids(show(shared, "companies", company["id"])["contacts"])


def test_company_contacts_by_email_or_name(shared: Any) -> None:
    mail = email("assoc")
    first = uniq("Named")
    a = create(shared, "contacts", {"first_name": "Mail", "email": mail})
    b = create(shared, "contacts", {"first_name": first, "last_name": "Person"})
    company = create(shared, "companies", {"name": uniq("Co"),
                                           "contacts": [mail, f"{first} Person"]})
    assert ids(company["contacts"]) == sorted([a["id"], b["id"]])


def test_deal_contacts_and_companies(shared: Any) -> None:
    person = contact(shared)
    company = create(shared, "companies", {"name": uniq("DealCo")})
    deal = create(shared, "deals", {"name": uniq("AssocDeal"),
                                    "stage_id": stage_id(shared, "Sales Pipeline", "Closed"),
                                    "contacts": [person["id"]], "companies": [company["name"]]})
    assert ids(deal["contacts"]) == [person["id"]]
    assert ids(deal["companies"]) == [company["id"]]
    assert deal["id"] in ids(show(shared, "contacts", person["id"])["deals"])


def test_associations_object(shared: Any) -> None:
    company = create(shared, "companies", {"name": uniq("ObjCo")})
    rec = contact(shared, associations={"companies": [company["id"]]})
    assert ids(rec["companies"]) == [company["id"]]


def test_associations_bad_key_is_400(shared: Any) -> None:
    first = uniq("BadAssoc")
    resp = api(shared, "POST", "/api/contacts",
               json={"first_name": first, "associations": {"bogus": [1]}})
    assert resp.status_code == 400
    assert js(resp) == {
        "message": 'The provided resource name "bogus" cannot be associated to the Contact'}
