"""Small HTTP helpers for the sandbox contract suite (real requests, never mocks)."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

import requests

from tests.helpers import TOKEN

SAM = "sam-token"             # user 2, regular user with API access
NOAPI = "noapi-token"         # user 6, access_api = false

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$")
MIDNIGHT_RE = re.compile(r"^\d{4}-\d\d-\d\dT00:00:00\.000000Z$")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining")

_counter = itertools.count(1)


def base(sb: Any) -> str:
    return str(sb.url).rstrip("/")


def api(
    sb: Any,
    method: str,
    path: str,
    token: str | None = TOKEN,
    *,
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> requests.Response:
    """One request to ``sb`` as a well-behaved API client (Accept JSON, Bearer, no Origin)."""
    sent = {"Accept": "application/json", "Content-Type": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    kw.setdefault("timeout", 30)
    return requests.request(method, base(sb) + path, headers=sent, **kw)


def admin(sb: Any, method: str, path: str, **kw: Any) -> requests.Response:
    """Request to the unauthenticated ``/_sandbox/`` surface."""
    kw.setdefault("timeout", 30)
    return requests.request(method, base(sb) + path, **kw)


def js(resp: requests.Response) -> Any:
    """The JSON body, after checking the response says it is JSON."""
    ctype = resp.headers.get("Content-Type", "")
    assert "application/json" in ctype, (resp.status_code, ctype, resp.text[:300])
    return resp.json()


def ok(resp: requests.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    return js(resp)


def create(sb: Any, resource: str, body: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
    return ok(api(sb, "POST", f"/api/{resource}", token, json=body), 201)


def update(sb: Any, resource: str, rid: int, body: dict[str, Any]) -> dict[str, Any]:
    return ok(api(sb, "PUT", f"/api/{resource}/{rid}", json=body))


def show(sb: Any, resource: str, rid: int) -> dict[str, Any]:
    return ok(api(sb, "GET", f"/api/{resource}/{rid}"))


def invalid(sb: Any, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Send ``body``, expect a Laravel 422 and return its JSON."""
    payload = ok(api(sb, method, path, json=body), 422)
    assert set(payload) == {"message", "errors"}, payload
    return payload


def uniq(prefix: str = "t") -> str:
    """A value unique within the test session, letters and digits only."""
    return f"{prefix}{next(_counter)}x{uuid.uuid4().hex[:6]}"


def email(prefix: str = "u") -> str:
    return f"{uniq(prefix)}@example.com"


def phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


def fields(sb: Any, resource: str, token: str = TOKEN) -> dict[str, dict[str, Any]]:
    items = ok(api(sb, "GET", f"/api/{resource}/create-fields", token))
    assert isinstance(items, list)
    return {item["attribute"]: item for item in items}


def option_ids(sb: Any, resource: str, attribute: str) -> dict[str, int]:
    """Option name -> id for an option custom field, from create-fields."""
    return {o["name"]: o["id"] for o in fields(sb, resource)[attribute]["options"]}


def all_messages(payload: dict[str, Any]) -> list[str]:
    return [msg for msgs in payload["errors"].values() for msg in msgs]


def state(sb: Any) -> dict[str, Any]:
    return ok(admin(sb, "GET", "/_sandbox/state"))


def lookup_id(sb: Any, resource: str, name: str) -> int:
    """Id of the lookup record (sources, pipelines, ...) named exactly ``name``."""
    page = ok(api(sb, "GET", f"/api/{resource}", params={"per_page": 100}))
    ids = [r["id"] for r in page["data"] if r.get("name") == name]
    assert len(ids) == 1, (resource, name, [r.get("name") for r in page["data"]])
    return ids[0]


def stage_id(sb: Any, pipeline: str, stage: str) -> int:
    pid = lookup_id(sb, "pipelines", pipeline)
    page = ok(api(sb, "GET", "/api/pipeline-stages", params={"per_page": 100}))
    ids = [s["id"] for s in page["data"] if s["name"] == stage and s["pipeline_id"] == pid]
    assert len(ids) == 1, (pipeline, stage, page["data"])
    return ids[0]
