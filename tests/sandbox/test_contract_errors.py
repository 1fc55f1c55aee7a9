"""Bad requests always get JSON errors: malformed JSON, unknown resources and routes, wrong
methods (405 + Allow), bad ids, odd query values. Never HTML or a traceback.

Reference: docs/concord-api.md §8 (status table), §2, §4 (routes).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.helpers.contract import api, base, create, js, ok, uniq


def assert_clean_json(resp: requests.Response) -> dict[str, Any]:
    body = js(resp)
    assert isinstance(body, dict)
    assert "message" in body or "error" in body, body
    text = resp.text
    assert "Traceback" not in text
    assert "<html" not in text.lower()
    assert 'File "' not in text
    return body


@pytest.mark.parametrize("raw", [b"{bad json", b"[1, 2", b"\xff\xfe\x00garbage", b'"just a string"'])
def test_malformed_json_body(shared: Any, raw: bytes) -> None:
    resp = api(shared, "POST", "/api/contacts", data=raw)
    assert 400 <= resp.status_code < 500, resp.status_code
    assert_clean_json(resp)


def test_malformed_json_on_update(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Mal")})
    resp = api(shared, "PUT", f"/api/contacts/{rec['id']}", data=b"{nope")
    assert 400 <= resp.status_code < 500
    assert_clean_json(resp)


def test_unknown_resource_is_empty_404(shared: Any) -> None:
    for method, path in (("GET", "/api/bogus"), ("GET", "/api/bogus/1"),
                         ("POST", "/api/bogus")):
        resp = api(shared, method, path, json={})
        assert resp.status_code == 404, (method, path)
        assert js(resp) == {"message": ""}


def test_unknown_route_message(shared: Any) -> None:
    resp = api(shared, "GET", "/api/x/y/z/w/v")
    assert resp.status_code == 404
    assert js(resp) == {"message": "The route api/x/y/z/w/v could not be found."}


@pytest.mark.parametrize("path", ["/nope", "/api", "/contacts/1"])
def test_paths_outside_the_api_are_json_404(shared: Any, path: str) -> None:
    resp = api(shared, "GET", path)
    assert resp.status_code == 404
    assert_clean_json(resp)


def test_patch_is_405_with_allow(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Patch")})
    resp = api(shared, "PATCH", f"/api/contacts/{rec['id']}", json={"last_name": "x"})
    assert resp.status_code == 405
    allow = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= allow
    assert "PATCH" not in allow
    message = assert_clean_json(resp)["message"]
    assert message.startswith(
        f"The PATCH method is not supported for route api/contacts/{rec['id']}. "
        "Supported methods: ")
    assert show_last_name(shared, rec["id"]) is None


def show_last_name(sb: Any, rid: int) -> Any:
    return ok(api(sb, "GET", f"/api/contacts/{rid}"))["last_name"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/api/contacts", {"GET", "POST"}),
    ("DELETE", "/api/contacts", {"GET", "POST"}),
    ("POST", "/api/contacts/1", {"GET", "PUT", "DELETE"}),
    ("POST", "/api/contacts/search", {"GET"}),
])
def test_wrong_method_is_405(shared: Any, method: str, path: str, allowed: set[str]) -> None:
    resp = api(shared, method, path, json={})
    assert resp.status_code == 405, (method, path, resp.status_code)
    allow = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert allowed <= allow
    assert method not in allow
    message = assert_clean_json(resp)["message"]
    assert message.startswith(f"The {method} method is not supported for route {path[1:]}.")


@pytest.mark.parametrize("rid", ["abc", "-1", "0", "1.5", "99999999999999999999999999",
                                 "1%20OR%201=1", "%27"])
def test_bad_ids_are_json_404(shared: Any, rid: str) -> None:
    resp = api(shared, "GET", f"/api/contacts/{rid}")
    assert resp.status_code == 404, (rid, resp.status_code)
    assert_clean_json(resp)


def test_bad_id_on_update_and_delete(shared: Any) -> None:
    for method in ("PUT", "DELETE"):
        resp = api(shared, method, "/api/contacts/99999999999999999999999999", json={})
        assert resp.status_code == 404
        assert_clean_json(resp)


@pytest.mark.parametrize("params", [
    {"search_match": "xor", "q": "a"},
    {"q": "%"},
    {"q": "_"},
    {"q": "'; DROP TABLE contacts; --"},
])
def test_odd_search_values_are_plain_searches(shared: Any, params: dict[str, str]) -> None:
    resp = api(shared, "GET", "/api/contacts", params=params)
    assert resp.status_code == 200, (params, resp.status_code, resp.text[:300])
    assert "data" in js(resp)
    assert ok(api(shared, "GET", "/api/contacts"))["meta"]["total"] >= 1


@pytest.mark.parametrize("params", [
    {"order": "no_such_column|sideways"},
    {"order": "id|sideways"},
    {"with": "nonsense"},
    {"select": "nope;id"},
    {"page": "99999999999999999999999"},
])
def test_odd_query_values_answer_json(shared: Any, params: dict[str, str]) -> None:
    resp = api(shared, "GET", "/api/contacts", params=params)
    if resp.status_code != 200:
        assert_clean_json(resp)
    else:
        assert "data" in js(resp)
    assert ok(api(shared, "GET", "/api/contacts"))["meta"]["total"] >= 1


def test_wrong_json_types_are_422_not_500(shared: Any) -> None:
    for body in ({"first_name": ["a", "b"]}, {"first_name": {"x": 1}}, {"first_name": 123},
                 {"first_name": "Ok", "phones": {"x": 1}}, {"first_name": "Ok", "tags": 7},
                 {"first_name": "Ok", "email": 42}):
        resp = api(shared, "POST", "/api/contacts", json=body)
        assert resp.status_code in (201, 422), (body, resp.status_code, resp.text[:300])
        js(resp)


def test_body_must_be_an_object(shared: Any) -> None:
    resp = api(shared, "POST", "/api/contacts", json=[{"first_name": "List"}])
    assert 400 <= resp.status_code < 500
    assert_clean_json(resp)


def test_keep_alive_survives_errors(shared: Any) -> None:
    with requests.Session() as session:
        session.headers.update({"Accept": "application/json", "Authorization": "Bearer test-token",
                                "Content-Type": "application/json"})
        for _ in range(3):
            assert session.get(base(shared) + "/api/contacts/abc").status_code == 404
            assert session.post(base(shared) + "/api/contacts", data=b"{x").status_code < 500
            assert session.get(base(shared) + "/api/me").status_code == 200
