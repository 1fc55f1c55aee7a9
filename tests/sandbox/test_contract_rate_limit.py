"""Rate limiting: fixed window per user; headers on every counted response; 429 shape;
refused requests not counted; window reset; per-user windows; runtime config.

Reference: docs/concord-api.md §7 (rate limiting).
Tiny windows (limit 5 / 2 s): tests sleep for the window to end but assert nothing about speed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.helpers.contract import RATE_HEADERS, SAM, admin, api, js, ok

LIMIT = 5
WINDOW = 2.0
TOO_MANY = {"message": "Too Many Attempts."}


@pytest.fixture
def limited(sandbox_factory: Any) -> Any:
    return sandbox_factory(rate_limit=LIMIT, rate_window=WINDOW)


def limit_headers(resp: requests.Response) -> tuple[int, int]:
    return int(resp.headers["X-RateLimit-Limit"]), int(resp.headers["X-RateLimit-Remaining"])


def exhaust(sb: Any, token: str | None = None) -> float:
    """Spend one whole window for ``token``'s user; returns when the window started."""
    kw = {} if token is None else {"token": token}
    started = time.monotonic()
    for _ in range(LIMIT):
        assert api(sb, "GET", "/api/me", **kw).status_code == 200
    return started


def wait_for_window_end(started: float) -> None:
    time.sleep(max(0.0, started + WINDOW + 0.4 - time.monotonic()))


def test_headers_count_down_on_every_counted_response(limited: Any) -> None:
    responses = [
        api(limited, "GET", "/api/contacts"),                       # 200
        api(limited, "GET", "/api/contacts/987654"),                # 404
        api(limited, "POST", "/api/contacts", json={}),             # 422
        api(limited, "GET", "/api/bogus"),                          # 404 unknown resource
        api(limited, "GET", "/api/me"),                             # 200
    ]
    assert [r.status_code for r in responses] == [200, 404, 422, 404, 200]
    assert [limit_headers(r) for r in responses] == [(LIMIT, LIMIT - 1 - i) for i in range(LIMIT)]
    for resp in responses:
        assert "Retry-After" not in resp.headers
        assert "X-RateLimit-Reset" not in resp.headers


def test_sixth_request_is_429(limited: Any) -> None:
    exhaust(limited)
    before = time.time()
    resp = api(limited, "GET", "/api/contacts")
    assert resp.status_code == 429
    assert js(resp) == TOO_MANY
    assert limit_headers(resp) == (LIMIT, 0)
    retry_after = int(resp.headers["Retry-After"])
    assert 0 <= retry_after <= WINDOW
    reset = int(resp.headers["X-RateLimit-Reset"])
    assert before - 2 <= reset <= before + WINDOW + 2
    assert abs(reset - (before + retry_after)) <= 2


def test_429_on_writes_creates_nothing(limited: Any) -> None:
    exhaust(limited)
    resp = api(limited, "POST", "/api/contacts",
               json={"first_name": "Throttled", "email": "throttled@example.com"})
    assert resp.status_code == 429
    contacts = ok(admin(limited, "GET", "/_sandbox/state"))["contacts"]
    assert "throttled@example.com" not in {c.get("email") for c in contacts}


def test_refused_requests_are_not_counted(limited: Any) -> None:
    last = ok(admin(limited, "GET", "/_sandbox/requests"))
    since = max((r["id"] for r in last), default=0)
    exhaust(limited)
    refused = [api(limited, "GET", "/api/me") for _ in range(3)]
    assert [r.status_code for r in refused] == [429, 429, 429]
    log = ok(admin(limited, "GET", "/_sandbox/requests", params={"since": since}))
    log = [r for r in log if r["id"] > since and r["path"].startswith("/api/")]
    assert [(r["status"], r["counted"]) for r in log] == [(200, True)] * LIMIT + [(429, False)] * 3
    stats = ok(admin(limited, "GET", "/_sandbox/stats"))
    assert stats["rate_limited"] == 3


def test_window_resets_after_it_ends(limited: Any) -> None:
    started = exhaust(limited)
    assert api(limited, "GET", "/api/me").status_code == 429
    assert api(limited, "GET", "/api/me").status_code == 429
    wait_for_window_end(started)
    resp = api(limited, "GET", "/api/me")
    assert resp.status_code == 200
    assert limit_headers(resp) == (LIMIT, LIMIT - 1)


def test_per_user_windows_are_independent(limited: Any) -> None:
    exhaust(limited)
    assert api(limited, "GET", "/api/me").status_code == 429
    resp = api(limited, "GET", "/api/me", SAM)
    assert resp.status_code == 200
    assert limit_headers(resp) == (LIMIT, LIMIT - 1)


def test_401_and_419_are_not_counted_and_carry_no_headers(limited: Any) -> None:
    for _ in range(LIMIT + 2):
        resp = api(limited, "GET", "/api/me", None)
        assert resp.status_code == 401
        for name in RATE_HEADERS:
            assert name not in resp.headers
    for _ in range(3):
        resp = api(limited, "POST", "/api/contacts", headers={"Origin": limited.url},
                   json={"first_name": "x"})
        assert resp.status_code == 419
        for name in RATE_HEADERS:
            assert name not in resp.headers
    assert limit_headers(api(limited, "GET", "/api/me")) == (LIMIT, LIMIT - 1)


def test_admin_surface_is_not_rate_limited(limited: Any) -> None:
    exhaust(limited)
    for _ in range(LIMIT + 2):
        resp = admin(limited, "GET", "/_sandbox/stats")
        assert resp.status_code == 200
        assert "X-RateLimit-Remaining" not in resp.headers


def test_runtime_config_changes_the_limit(limited: Any) -> None:
    exhaust(limited)
    config = ok(admin(limited, "POST", "/_sandbox/config", json={"rate_limit": 3}))
    assert config["rate_limit"] == 3
    first = api(limited, "GET", "/api/me")
    assert first.status_code == 200
    assert limit_headers(first) == (3, 2)
    assert [api(limited, "GET", "/api/me").status_code for _ in range(3)] == [200, 200, 429]


def test_default_limit_is_90() -> None:
    from concord_etl.sandbox import Sandbox

    sb = Sandbox(port=0, token="x-token", state_dir=None).start()
    try:
        resp = api(sb, "GET", "/api/me", "x-token")
        assert limit_headers(resp) == (90, 89)
    finally:
        sb.stop()
