"""Auth contract: 401, 403 (no API access), 419 (Origin/Referer on writes), /api/me.

Reference: docs/concord-api.md §2 (headers, 419), §3 (401/403, check order), §7 (counting), §8.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import NOAPI, RATE_HEADERS, SAM, TOKEN, api, base, email, js, ok

UNAUTH = {"message": "Unauthenticated."}
NO_API = {"error": "Your account is not authorized to perform API requests."}
CSRF = {"message": "CSRF token mismatch."}


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_missing_or_bad_token_is_401_without_rate_headers(shared: Any, token: str | None) -> None:
    resp = api(shared, "GET", "/api/contacts", token)
    assert resp.status_code == 401
    assert js(resp) == UNAUTH
    for name in RATE_HEADERS:
        assert name not in resp.headers


def test_bad_token_on_write_is_401_and_creates_nothing(shared: Any) -> None:
    mail = email("unauth")
    resp = api(shared, "POST", "/api/contacts", "nope", json={"first_name": "X", "email": mail})
    assert resp.status_code == 401
    assert js(resp) == UNAUTH
    found = ok(api(shared, "GET", "/api/contacts/search",
                   params={"q": mail, "search_fields": "email:="}))
    assert found == []


def test_basic_auth_scheme_is_not_accepted(shared: Any) -> None:
    resp = api(shared, "GET", "/api/me", None, headers={"Authorization": f"Basic {TOKEN}"})
    assert resp.status_code == 401
    assert js(resp) == UNAUTH


def test_user_without_api_access_gets_403_error_key(shared: Any) -> None:
    for method, path, body in (("GET", "/api/contacts", None),
                               ("GET", "/api/me", None),
                               ("POST", "/api/contacts", {"first_name": "Blocked"})):
        resp = api(shared, method, path, NOAPI, json=body)
        assert resp.status_code == 403, (method, path)
        assert js(resp) == NO_API


def test_no_api_403_passed_the_limiter(shared: Any) -> None:
    # docs/concord-api.md §3: throttle runs before Concord's API-access middleware: 403 counted.
    resp = api(shared, "GET", "/api/me", NOAPI)
    assert resp.status_code == 403
    for name in RATE_HEADERS:
        assert name in resp.headers


@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_post_with_origin_or_referer_is_419(shared: Any, header: str) -> None:
    mail = email("csrf")
    value = base(shared) if header == "Origin" else base(shared) + "/contacts"
    resp = api(shared, "POST", "/api/contacts", headers={header: value},
               json={"first_name": "Csrf", "email": mail})
    assert resp.status_code == 419
    assert js(resp) == CSRF
    for name in RATE_HEADERS:
        assert name not in resp.headers
    found = ok(api(shared, "GET", "/api/contacts/search",
                   params={"q": mail, "search_fields": "email:="}))
    assert found == []


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_writes_with_origin_are_419(shared: Any, method: str) -> None:
    resp = api(shared, method, "/api/contacts/1", headers={"Origin": base(shared)},
               json={"last_name": "Nope"})
    assert resp.status_code == 419
    assert js(resp) == CSRF


def test_csrf_check_runs_before_authentication(shared: Any) -> None:
    resp = api(shared, "POST", "/api/contacts", None, headers={"Origin": base(shared)},
               json={"first_name": "X"})
    assert resp.status_code == 419
    assert js(resp) == CSRF


def test_get_with_origin_works(shared: Any) -> None:
    resp = api(shared, "GET", "/api/contacts", headers={"Origin": base(shared)})
    assert resp.status_code == 200
    assert "data" in js(resp)


def test_me_returns_the_token_owner(shared: Any) -> None:
    me = ok(api(shared, "GET", "/api/me"))
    assert me["id"] == 1
    assert me["name"] == "Admin User"
    assert me["email"] == "admin@example.com"
    assert me["super_admin"] is True
    sam = ok(api(shared, "GET", "/api/me", SAM))
    assert (sam["id"], sam["name"], sam["email"]) == (2, "Sam Seller", "sam@example.com")
    assert sam["super_admin"] is False


def test_seed_users_authenticate_with_their_own_tokens(shared: Any) -> None:
    for token, uid in (("alex-token", 3), ("chris-token", 4), ("chris2-token", 5)):
        assert ok(api(shared, "GET", "/api/me", token))["id"] == uid


def test_user_json_never_carries_a_token(shared: Any) -> None:
    me = api(shared, "GET", "/api/me")
    users = api(shared, "GET", "/api/users", params={"per_page": 100})
    for resp in (me, users):
        assert resp.status_code == 200
        assert TOKEN not in resp.text
        assert "sam-token" not in resp.text


def test_api_responses_carry_app_version(shared: Any) -> None:
    resp = api(shared, "GET", "/api/me")
    assert resp.headers.get("X-App-Version"), dict(resp.headers)
