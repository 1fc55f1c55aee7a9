"""The unauthenticated /_sandbox/ surface: stats, requests log, state dump, reset, config.

Reference: DESIGN.md "Sandbox contract" → "Admin surface", "Seed file format".
"""

from __future__ import annotations

from typing import Any

from tests.helpers.contract import admin, api, create, email, js, ok, uniq

STATS_KEYS = {"requests", "by_status", "by_route", "rate_limited", "faults", "dropped", "records"}
LOG_KEYS = {"id", "ts", "method", "path", "query", "status", "user_id", "resource", "record_id",
            "counted"}


def stats(sb: Any) -> dict[str, Any]:
    return ok(admin(sb, "GET", "/_sandbox/stats"))


def log_since(sb: Any, since: int) -> list[dict[str, Any]]:
    rows = ok(admin(sb, "GET", "/_sandbox/requests", params={"since": since}))
    assert isinstance(rows, list)
    return [r for r in rows if r["id"] > since and r["path"].startswith("/api/")]


def last_id(sb: Any) -> int:
    rows = ok(admin(sb, "GET", "/_sandbox/requests"))
    return max((r["id"] for r in rows), default=0)


def test_admin_needs_no_token(shared: Any) -> None:
    for path in ("/_sandbox/stats", "/_sandbox/requests", "/_sandbox/state"):
        resp = admin(shared, "GET", path)
        assert resp.status_code == 200, path
        js(resp)


def test_stats_shape_and_counts(shared: Any) -> None:
    before = stats(shared)
    assert set(before) >= STATS_KEYS
    create(shared, "contacts", {"first_name": uniq("Stat")})
    api(shared, "GET", "/api/contacts/987654")
    after = stats(shared)
    assert after["requests"] >= before["requests"] + 2
    assert after["by_route"].get("POST /api/contacts", 0) == \
        before["by_route"].get("POST /api/contacts", 0) + 1
    assert after["by_status"]["201"] == before["by_status"].get("201", 0) + 1
    assert after["by_status"]["404"] >= before["by_status"].get("404", 0) + 1
    assert after["records"]["contacts"] == before["records"]["contacts"] + 1
    assert {"companies", "deals"} <= set(after["records"])


def test_requests_log_entries(shared: Any) -> None:
    since = last_id(shared)
    rec = create(shared, "contacts", {"first_name": uniq("Log")})
    api(shared, "PUT", f"/api/contacts/{rec['id']}", json={"last_name": "L"})
    api(shared, "GET", "/api/contacts", params={"per_page": 3})
    api(shared, "DELETE", f"/api/contacts/{rec['id']}", "sam-token")
    rows = log_since(shared, since)
    assert [(r["method"], r["status"]) for r in rows] == [
        ("POST", 201), ("PUT", 200), ("GET", 200), ("DELETE", 204)]
    for row in rows:
        assert set(row) >= LOG_KEYS
        assert row["counted"] is True
        assert row["resource"] == "contacts"
    post, put, get, delete = rows
    assert (post["path"], post["user_id"], post["record_id"]) == ("/api/contacts", 1, rec["id"])
    assert (put["path"], put["record_id"]) == (f"/api/contacts/{rec['id']}", rec["id"])
    assert "per_page" in str(get["query"]) and "3" in str(get["query"])
    assert (delete["user_id"], delete["record_id"]) == (2, rec["id"])
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids)


def test_requests_log_since_filters(shared: Any) -> None:
    since = last_id(shared)
    api(shared, "GET", "/api/me")
    rows = ok(admin(shared, "GET", "/_sandbox/requests", params={"since": since}))
    assert rows
    assert all(r["id"] > since for r in rows)


def test_rejected_write_logged_without_record(shared: Any) -> None:
    since = last_id(shared)
    api(shared, "POST", "/api/contacts", json={})
    (row,) = log_since(shared, since)
    assert (row["status"], row["record_id"]) == (422, None)


def test_state_dump(shared: Any) -> None:
    mail = email("dump")
    rec = create(shared, "contacts", {"first_name": "Dumped", "email": mail,
                                      "cf_customer_tier": "Gold"})
    dump = ok(admin(shared, "GET", "/_sandbox/state"))
    assert {"contacts", "companies", "deals", "custom_fields", "options", "users"} <= set(dump)
    by_email = {c.get("email"): c for c in dump["contacts"]}
    assert by_email[mail]["id"] == rec["id"]
    assert by_email[mail]["cf_customer_tier"] == rec["cf_customer_tier"]
    assert by_email["trashed@example.com"]["deleted_at"]
    assert not by_email[mail].get("deleted_at")
    assert {u["id"] for u in dump["users"]} == {1, 2, 3, 4, 5, 6}
    assert any(f["field_id"] == "cf_customer_tier" for f in dump["custom_fields"])


def test_reset_to_demo_and_empty(sandbox: Any) -> None:
    mail = email("reset")
    create(sandbox, "contacts", {"first_name": "Temp", "email": mail})
    assert admin(sandbox, "POST", "/_sandbox/reset").status_code == 200
    emails = {c.get("email") for c in ok(admin(sandbox, "GET", "/_sandbox/state"))["contacts"]}
    assert mail not in emails
    assert "trashed@example.com" in emails
    resp = admin(sandbox, "POST", "/_sandbox/reset", json={"seed": "empty"})
    assert resp.status_code == 200
    assert ok(api(sandbox, "GET", "/api/contacts"))["meta"]["total"] == 0
    assert ok(api(sandbox, "GET", "/api/me"))["id"] == 1


def test_reset_with_a_seed_object(sandbox: Any) -> None:
    seed = {
        "users": [{"id": 1, "name": "Admin User", "email": "admin@example.com",
                   "super_admin": True, "access_api": True, "timezone": "UTC"},
                  {"id": 2, "name": "Pat Seed", "email": "pat@example.com",
                   "access_api": True, "token": "pat-token", "timezone": "UTC"}],
        "pipelines": [{"id": 1, "name": "Only Pipeline", "flag": "default",
                       "stages": [{"id": 1, "name": "Start", "win_probability": 10}]}],
        "sources": [{"name": "Seeded Source"}],
        "industries": [{"name": "Seeded Industry"}],
        "countries": [{"id": 826, "name": "United Kingdom", "iso_3166_2": "GB",
                       "iso_3166_3": "GBR"}],
        "custom_fields": [{"resource_name": "contacts", "field_id": "cf_colour_pref",
                           "label": "Colour", "field_type": "Select", "is_unique": False,
                           "options": [{"name": "Red"}, {"name": "Blue"}]}],
        "settings": {"contact_phone_unique": True},
        "records": {
            "companies": [{"name": "Seed Co", "email": "info@seed.example"}],
            "contacts": [{"first_name": "Seedy", "email": "seedy@example.com",
                          "companies": ["Seed Co"], "cf_colour_pref": "Blue"}],
            "deals": [{"name": "Seed deal", "stage_id": 1, "amount": 1200}],
        },
    }
    assert admin(sandbox, "POST", "/_sandbox/reset", json={"seed": seed}).status_code == 200
    contacts = ok(api(sandbox, "GET", "/api/contacts", params={"with": "companies"}))["data"]
    assert [c["email"] for c in contacts] == ["seedy@example.com"]
    assert [c["name"] for c in contacts[0]["companies"]] == ["Seed Co"]
    assert ok(api(sandbox, "GET", "/api/me", "pat-token"))["name"] == "Pat Seed"
    deals = ok(api(sandbox, "GET", "/api/deals"))["data"]
    assert [(d["name"], d["amount"], d["stage_id"]) for d in deals] == [("Seed deal", 1200, 1)]
    fields = ok(api(sandbox, "GET", "/api/contacts/create-fields"))
    colour = next(f for f in fields if f["attribute"] == "cf_colour_pref")
    blue = next(o["id"] for o in colour["options"] if o["name"] == "Blue")
    assert contacts[0]["cf_colour_pref"] == blue


def test_config_reports_and_changes_settings(sandbox: Any) -> None:
    config = ok(admin(sandbox, "POST", "/_sandbox/config",
                      json={"rate_limit": 42, "latency_ms": 0}))
    assert config["rate_limit"] == 42
    assert config["latency_ms"] == 0
    for key in ("rate_window", "fault_rate", "drop_after_commit_rate"):
        assert key in config
    assert api(sandbox, "GET", "/api/me").headers["X-RateLimit-Limit"] == "42"


def test_admin_not_under_api(sandbox: Any) -> None:
    assert api(sandbox, "GET", "/api/_sandbox/stats").status_code == 404
