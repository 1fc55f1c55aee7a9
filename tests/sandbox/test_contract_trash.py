"""Trash: delete -> trash, trashed -> 404 with the model message, /api/trashed routes
(list, search, show, restore, force delete, empty).

Reference: docs/concord-api.md §4 (routes), §8 (404 variants), §21.2 (trash).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers.contract import api, create, email, js, ok, show, stage_id, uniq

CONTACT_MODEL = "Modules\\Contacts\\Models\\Contact"


def not_found(resp: Any, model: str, rid: int) -> None:
    assert resp.status_code == 404
    assert js(resp) == {"message": f"No query results for model [{model}] {rid}"}


def test_missing_contact_message(shared: Any) -> None:
    not_found(api(shared, "GET", "/api/contacts/987654"), CONTACT_MODEL, 987654)


@pytest.mark.parametrize(("resource", "model"), [
    ("companies", "Company"), ("deals", "Deal"), ("products", "Product")])
def test_missing_record_message_names_the_model(shared: Any, resource: str, model: str) -> None:
    resp = api(shared, "GET", f"/api/{resource}/987654")
    assert resp.status_code == 404
    message = js(resp)["message"]
    assert re.fullmatch(rf"No query results for model \[Modules\\\w+\\Models\\{model}\] 987654",
                        message), message


def test_trashed_contact_is_404_on_normal_routes(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Trash"), "email": email("trash")})
    rid = rec["id"]
    assert api(shared, "DELETE", f"/api/contacts/{rid}").status_code == 204
    not_found(api(shared, "GET", f"/api/contacts/{rid}"), CONTACT_MODEL, rid)
    not_found(api(shared, "PUT", f"/api/contacts/{rid}", json={"last_name": "x"}),
              CONTACT_MODEL, rid)
    not_found(api(shared, "DELETE", f"/api/contacts/{rid}"), CONTACT_MODEL, rid)
    listed = ok(api(shared, "GET", "/api/contacts", params={"q": rec["first_name"]}))
    assert listed["data"] == []


def test_trashed_routes(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Bin")})
    rid = rec["id"]
    api(shared, "DELETE", f"/api/contacts/{rid}")
    trashed = ok(api(shared, "GET", f"/api/trashed/contacts/{rid}"))
    assert trashed["id"] == rid
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z", trashed["deleted_at"])
    page = ok(api(shared, "GET", "/api/trashed/contacts", params={"per_page": 100}))
    assert set(page) == {"data", "links", "meta"}
    assert rid in {r["id"] for r in page["data"]}
    assert "trashed@example.com" in {r.get("email") for r in page["data"]}
    live = ok(api(shared, "GET", "/api/contacts", params={"per_page": 100}))
    assert rid not in {r["id"] for r in live["data"]}


def test_restore(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Back"), "email": email("back")})
    rid = rec["id"]
    api(shared, "DELETE", f"/api/contacts/{rid}")
    restored = ok(api(shared, "POST", f"/api/trashed/contacts/{rid}"))
    assert restored["id"] == rid
    assert restored.get("deleted_at") is None
    assert show(shared, "contacts", rid)["email"] == rec["email"]
    assert api(shared, "GET", f"/api/trashed/contacts/{rid}").status_code == 404


def test_force_delete(shared: Any) -> None:
    mail = email("force")
    rec = create(shared, "contacts", {"first_name": uniq("Force"), "email": mail})
    rid = rec["id"]
    api(shared, "DELETE", f"/api/contacts/{rid}")
    resp = api(shared, "DELETE", f"/api/trashed/contacts/{rid}")
    assert resp.status_code == 204
    assert resp.content == b""
    assert api(shared, "GET", f"/api/trashed/contacts/{rid}").status_code == 404
    assert api(shared, "GET", f"/api/contacts/{rid}").status_code == 404
    # gone for good: the email is free again
    create(shared, "contacts", {"first_name": "Reuse", "email": mail})


def test_trash_for_companies_deals_products(shared: Any) -> None:
    stage = stage_id(shared, "Sales Pipeline", "Closed")
    made = {
        "companies": create(shared, "companies", {"name": uniq("BinCo")}),
        "deals": create(shared, "deals", {"name": uniq("BinDeal"), "stage_id": stage}),
        "products": create(shared, "products", {"name": uniq("BinProd"), "unit_price": 5}),
    }
    for resource, rec in made.items():
        assert api(shared, "DELETE", f"/api/{resource}/{rec['id']}").status_code == 204
        assert api(shared, "GET", f"/api/{resource}/{rec['id']}").status_code == 404
        assert ok(api(shared, "GET", f"/api/trashed/{resource}/{rec['id']}"))["id"] == rec["id"]


def test_trashed_product_name_still_unique(shared: Any) -> None:
    name = uniq("GhostProd")
    rec = create(shared, "products", {"name": name, "unit_price": 1})
    api(shared, "DELETE", f"/api/products/{rec['id']}")
    resp = api(shared, "POST", "/api/products", json={"name": name, "unit_price": 1})
    assert resp.status_code == 422
    assert list(js(resp)["errors"]) == ["name"]


def test_notes_are_deleted_not_trashed(shared: Any) -> None:
    person = create(shared, "contacts", {"first_name": uniq("Noted")})
    note = create(shared, "notes", {"body": "bye", "via_resource": "contacts",
                                    "via_resource_id": person["id"], "contacts": [person["id"]]})
    assert api(shared, "DELETE", f"/api/notes/{note['id']}").status_code == 204
    assert api(shared, "GET", f"/api/notes/{note['id']}").status_code == 404
    assert api(shared, "GET", f"/api/trashed/notes/{note['id']}").status_code == 404


def test_empty_trash(sandbox: Any) -> None:
    for _ in range(3):
        rec = create(sandbox, "companies", {"name": uniq("Empty")})
        api(sandbox, "DELETE", f"/api/companies/{rec['id']}")
    resp = ok(api(sandbox, "DELETE", "/api/trashed/companies", params={"limit": 500}))
    assert resp["deleted"] >= 3
    assert ok(api(sandbox, "GET", "/api/trashed/companies"))["meta"]["total"] == 0
