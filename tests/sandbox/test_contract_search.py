"""Search contract: q, search_fields (=, like, in), search_match=and, q=field:value;..., /search.

Reference: docs/concord-api.md §4 (routes), §5, §6 (search), §21.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import api, create, js, ok, uniq


@pytest.fixture(scope="module")
def people(shared: Any) -> dict[str, Any]:
    tag = uniq("Srch").lower()
    rows = {
        "ann": create(shared, "contacts", {"first_name": "Ann", "last_name": f"{tag}alpha",
                                           "email": f"ann.{tag}@example.com"}),
        "bob": create(shared, "contacts", {"first_name": "Bob", "last_name": f"{tag}alpha",
                                           "email": f"bob.{tag}@example.com"}),
        "cat": create(shared, "contacts", {"first_name": "Ann", "last_name": f"{tag}beta",
                                           "email": f"cat.{tag}@example.com"}),
    }
    return {"tag": tag, **rows}


def ids_of(rows: list[dict[str, Any]]) -> set[int]:
    return {r["id"] for r in rows}


def listed(sb: Any, params: dict[str, Any]) -> set[int]:
    return ids_of(ok(api(sb, "GET", "/api/contacts", params={**params, "per_page": 100}))["data"])


def searched(sb: Any, params: dict[str, Any], resource: str = "contacts") -> list[dict[str, Any]]:
    rows = ok(api(sb, "GET", f"/api/{resource}/search", params=params))
    assert isinstance(rows, list)
    return rows


def test_q_searches_default_fields_with_like(shared: Any, people: dict[str, Any]) -> None:
    tag = people["tag"]
    assert listed(shared, {"q": tag}) == {people[k]["id"] for k in ("ann", "bob", "cat")}
    assert listed(shared, {"q": f"{tag}bet"}) == {people["cat"]["id"]}


def test_search_fields_equals_is_exact(shared: Any, people: dict[str, Any]) -> None:
    mail = people["ann"]["email"]
    assert listed(shared, {"q": mail, "search_fields": "email:="}) == {people["ann"]["id"]}
    assert listed(shared, {"q": mail[:-4], "search_fields": "email:="}) == set()


def test_search_fields_like_is_partial(shared: Any, people: dict[str, Any]) -> None:
    tag = people["tag"]
    assert listed(shared, {"q": f"bob.{tag}", "search_fields": "email:like"}) == {
        people["bob"]["id"]}


def test_search_fields_in_takes_a_comma_list(shared: Any, people: dict[str, Any]) -> None:
    q = ",".join([people["ann"]["email"], people["cat"]["email"], "nobody@example.com"])
    assert listed(shared, {"q": q, "search_fields": "email:in"}) == {
        people["ann"]["id"], people["cat"]["id"]}


def test_search_fields_restrict_the_fields(shared: Any, people: dict[str, Any]) -> None:
    # the tag is only in last_name/email: searching first_name alone finds nothing
    assert listed(shared, {"q": people["tag"], "search_fields": "first_name:like"}) == set()


def test_per_field_values_default_to_or(shared: Any, people: dict[str, Any]) -> None:
    tag = people["tag"]
    q = f"first_name:Ann;last_name:{tag}alpha"
    got = listed(shared, {"q": q, "search_fields": "first_name:=;last_name:="})
    assert {people["ann"]["id"], people["bob"]["id"], people["cat"]["id"]} <= got


def test_search_match_and(shared: Any, people: dict[str, Any]) -> None:
    tag = people["tag"]
    q = f"first_name:Ann;last_name:{tag}alpha"
    got = listed(shared, {"q": q, "search_fields": "first_name:=;last_name:=",
                          "search_match": "and"})
    assert got == {people["ann"]["id"]}


def test_search_route_is_a_bare_array(shared: Any, people: dict[str, Any]) -> None:
    rows = searched(shared, {"q": people["bob"]["email"], "search_fields": "email:="})
    assert [r["id"] for r in rows] == [people["bob"]["id"]]
    assert rows[0]["email"] == people["bob"]["email"]


@pytest.mark.parametrize("params", [{"q": ""}, {}])
def test_search_route_empty_q_is_empty_array(shared: Any, params: dict[str, str]) -> None:
    assert searched(shared, params) == []


def test_search_route_on_companies(shared: Any) -> None:
    name = uniq("FindCo")
    made = create(shared, "companies", {"name": name})
    rows = searched(shared, {"q": name, "search_fields": "name:="}, "companies")
    assert [r["id"] for r in rows] == [made["id"]]


def test_search_by_id(shared: Any, people: dict[str, Any]) -> None:
    rid = people["cat"]["id"]
    assert listed(shared, {"q": str(rid), "search_fields": "id:="}) == {rid}


def test_search_select_custom_field_by_option_name(shared: Any) -> None:
    first = uniq("Tier")
    made = create(shared, "contacts", {"first_name": first, "cf_customer_tier": "Platinum"})
    got = listed(shared, {"q": f"first_name:{first};cf_customer_tier:Platinum",
                          "search_fields": "first_name:=;cf_customer_tier:=",
                          "search_match": "and"})
    assert got == {made["id"]}


def test_search_fields_none_allowed_is_403(shared: Any) -> None:
    resp = api(shared, "GET", "/api/contacts", params={"q": "x", "search_fields": "bogus:="})
    assert resp.status_code == 403
    assert "message" in js(resp)


def test_pipelines_are_not_searchable(shared: Any) -> None:
    resp = api(shared, "GET", "/api/pipelines/search", params={"q": "Sales"})
    assert resp.status_code == 404
    js(resp)


def test_trashed_search(shared: Any) -> None:
    rows = searched(shared, {"q": "trashed@example.com", "search_fields": "email:="},
                    "trashed/contacts")
    assert len(rows) == 1
    assert rows[0]["email"] == "trashed@example.com"
    assert rows[0]["deleted_at"]
    live = searched(shared, {"q": "trashed@example.com", "search_fields": "email:="})
    assert live == []
