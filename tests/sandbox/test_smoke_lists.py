"""Smoke tests of lists: envelope, paging, order, search forms, trash routes, errors."""

from __future__ import annotations

from typing import Any

import requests

TOKEN = "test-token"


def api(sb: Any) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.trust_env = False
    s.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    return s, sb.url + "/api"


def test_envelope_and_paging(sandbox: Any) -> None:
    s, u = api(sandbox)
    body = s.get(u + "/contacts", params={"per_page": 3, "page": 2, "order": "id|asc"}).json()
    assert [d["id"] for d in body["data"]] == [4, 5, 6]
    meta = body["meta"]
    assert (meta["from"], meta["to"], meta["total"], meta["last_page"]) == (4, 6, 7, 3)
    assert body["links"]["next"].endswith("/api/contacts?page=3")
    assert [x["label"] for x in meta["links"]] == ["Previous", "1", "2", "3", "Next"]
    empty = s.get(u + "/contacts", params={"page": 9}).json()
    assert empty["data"] == [] and empty["meta"]["from"] is None and empty["meta"]["to"] is None
    assert s.get(u + "/contacts", params={"page": "x", "per_page": 0}).json()["meta"]["per_page"] == 15
    assert s.get(u + "/contacts", params={"per_page": 1000}).json()["meta"]["per_page"] == 100
    names = [d["first_name"] for d in s.get(u + "/contacts").json()["data"]]
    assert names == sorted(names, key=str.casefold)                 # default first_name asc


def test_search_forms(sandbox: Any) -> None:
    s, u = api(sandbox)
    found = s.get(u + "/contacts/search", params={
        "q": "ada@example.com, grace@example.com,zzz@x.com", "search_fields": "email:in"}).json()
    assert sorted(d["email"] for d in found) == ["ada@example.com", "grace@example.com"]
    found = s.get(u + "/contacts/search", params={
        "q": "email:ada@example.com;first_name:Grace", "search_fields": "email:=;first_name:=",
        "search_match": "and"}).json()
    assert found == []
    assert s.get(u + "/contacts/search", params={"q": ""}).json() == []
    r = s.get(u + "/contacts", params={"q": "x", "search_fields": "nope:="})
    assert r.status_code == 403
    r = s.get(u + "/contacts", params={"q": "abc", "search_fields": "id:="})
    assert (r.status_code, r.json()) == (500, {"message": "Invalid search fields."})
    assert s.get(u + "/pipelines/search", params={"q": "x"}).status_code == 404


def test_trash_routes(sandbox: Any) -> None:
    s, u = api(sandbox)
    r = s.get(u + "/contacts/8")
    assert r.json() == {"message": "No query results for model [Modules\\Contacts\\Models\\Contact] 8"}
    trashed = s.get(u + "/trashed/contacts").json()["data"]
    assert [t["email"] for t in trashed] == ["trashed@example.com"]
    assert trashed[0]["deleted_at"].endswith(".000000Z")
    assert s.delete(u + "/contacts/7").status_code == 204
    assert s.post(u + "/trashed/contacts/7").json()["id"] == 7
    assert s.delete(u + "/trashed/contacts/8").status_code == 204
    assert s.get(u + "/trashed/contacts/8").status_code == 404
    assert s.delete(u + "/sources/1").status_code == 204           # hard delete
    assert s.get(u + "/trashed/sources").json() == {"message": ""}


def test_route_errors(sandbox: Any) -> None:
    s, u = api(sandbox)
    assert s.get(u + "/nothing").json() == {"message": ""}
    assert s.get(u + "/a/b/c/d").json() == {"message": "The route api/a/b/c/d could not be found."}
    assert s.get(u + "/contacts/abc").status_code == 404
    r = s.patch(u + "/contacts/1", json={})
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, PUT, DELETE"
    r = s.post(u + "/contacts", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "message" in r.json()
    r = s.post(u + "/contacts", json={"first_name": "A", "associations": {"users": [1]}})
    assert r.status_code == 400
    assert isinstance(s.get(u + "/countries").json(), list)
    assert "Europe/London" in s.get(u + "/timezones").json()
