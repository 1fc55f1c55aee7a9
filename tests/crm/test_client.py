"""ConcordClient against the sandbox (real HTTP) and a tiny header-echo server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from concord_etl import __version__
from concord_etl.crm.client import (
    ConcordClient,
    RetryPolicy,
    classify_status,
    display_url,
    encode_json,
    search_plan,
)
from concord_etl.errors import (
    AuthError,
    OutcomeUnknown,
    RateLimited,
    RecordRejected,
    UnexpectedAnswer,
    Unreachable,
)
from concord_etl.settings import Secret
from tests.helpers import TOKEN

NO_SLEEP = {"sleep": lambda _s: None}


def make_client(url: str, token: str = TOKEN, **kw: Any) -> ConcordClient:
    kw.setdefault("sleep", lambda _s: None)
    return ConcordClient(url, token, **kw)


def log(sandbox: Any, since: int = 0) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.url}/_sandbox/requests", params={"since": since},
                        timeout=10).json()


def configure(sandbox: Any, **changes: Any) -> None:
    requests.post(f"{sandbox.url}/_sandbox/config", json=changes, timeout=10).raise_for_status()


# -- headers on the wire ----------------------------------------------------------------------
class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        _Echo.seen.append({**{k.lower(): v for k, v in self.headers.items()},
                           "_body": body.decode()})
        payload = b'{"id": 1}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_headers_sent(echo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")       # ignored: trust_env=False
    with make_client(echo_url, token=Secret("42|s3cret")) as client:
        assert client.create("contacts", {"first_name": "Ada", "amount": 1.5}) == {"id": 1}
    (seen,) = _Echo.seen
    assert seen["authorization"] == "Bearer 42|s3cret"
    assert seen["accept"] == "application/json"
    assert seen["content-type"] == "application/json"
    assert seen["user-agent"] == f"concord-etl/{__version__}"
    assert "origin" not in seen and "referer" not in seen
    assert json.loads(seen["_body"]) == {"first_name": "Ada", "amount": 1.5}
    assert "s3cret" not in repr(client)


def test_writes_pass_the_csrf_check_and_an_origin_header_would_not(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    created = client.create("sources", {"name": "Trade show 2026"})
    assert created["name"] == "Trade show 2026"

    def browserish() -> requests.Session:
        session = requests.Session()
        session.headers["Origin"] = sandbox.url
        return session

    # the client strips Origin/Referer even from a session that carries them
    sneaky = make_client(sandbox.url, session_factory=browserish)
    assert sneaky.create("sources", {"name": "Webinar"})["name"] == "Webinar"
    raw = requests.post(f"{sandbox.url}/api/sources", json={"name": "x"}, timeout=10,
                        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
                                 "Origin": sandbox.url})
    assert raw.status_code == 419                                  # the sandbox would notice


# -- resource API -----------------------------------------------------------------------------
def test_crud_round_trip(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    assert client.me()["id"] == 1
    created = client.create("companies", {"name": "Globex", "email": "hq@globex.example"})
    company_id = created["id"]
    assert client.show("companies", company_id)["name"] == "Globex"
    assert client.update("companies", company_id, {"name": "Globex Corp"})["name"] == "Globex Corp"
    assert client.delete("companies", company_id) is None
    with pytest.raises(RecordRejected) as info:
        client.show("companies", company_id)
    assert info.value.status == 404
    assert info.value.method == "GET" and info.value.url.endswith(f"/api/companies/{company_id}")
    fields = client.create_fields("contacts")
    assert any(f["attribute"] == "email" for f in fields)
    assert client.resource_fields("contacts").get("cf_customer_tier") is not None
    # create-fields twice, one record's id, its update-fields
    assert client.stats.requests == 10 and client.stats.retries == 0


def test_422_carries_laravel_errors(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    with pytest.raises(RecordRejected) as info:
        client.create("contacts", {"email": "not-an-email"})
    error = info.value
    assert error.status == 422
    assert "first_name" in error.errors or "email" in error.errors
    assert "POST" in str(error) and "/api/contacts" in str(error)
    assert error.body and TOKEN not in str(error) and TOKEN not in error.body


def test_iter_records_builds_its_own_page_urls(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    for n in range(7):
        client.create("sources", {"name": f"Source {n:02d}"})
    total = client.page("sources", 1, per_page=4)["meta"]["total"]
    since = max(e["id"] for e in log(sandbox))
    records = list(client.iter_records("sources", per_page=4))
    ids = [r["id"] for r in records]
    assert len(ids) == total == len(set(ids))
    assert ids == sorted(ids)
    pages = [e for e in log(sandbox, since) if e["path"] == "/api/sources"]
    assert len(pages) == -(-total // 4)
    assert all("per_page=4" in e["query"] and "order=id" in e["query"] for e in pages)


def test_search_in_batches_values(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    emails = [f"lead{n:03d}@example.com" for n in range(130)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda e: client.create("contacts", {"first_name": "L", "email": e}),
                      emails))
    since = max(e["id"] for e in log(sandbox))
    wanted = [*emails[:120], "nobody@example.com", "LEAD125@example.com"]
    found = client.search_in("contacts", "email", wanted)
    assert sorted(r["email"] for r in found) == sorted([*emails[:120], emails[125]])
    searches = [e for e in log(sandbox, since) if e["path"] == "/api/contacts"]
    assert len(searches) == 2                                      # 122 values: 100 + 22
    assert all("search_fields=email%3Ain" in e["query"] for e in searches)


def test_search_in_values_with_separators(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    odd = ["Acme, Inc.", "Ratio: 3;1 Ltd", "Plain Co"]
    for name in odd:
        client.create("companies", {"name": name})
    client.create("companies", {"name": "Ratio: 3;1 Ltd (old)"})   # like-match, filtered out
    found = client.search_in("companies", "name", odd)
    assert sorted(r["name"] for r in found) == sorted(odd)


def test_search_in_users(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    found = client.search_in("users", "email", ["sam@example.com", "alex@example.com"])
    assert sorted(u["name"] for u in found) == ["Alex Manager", "Sam Seller"]


# -- error mapping ----------------------------------------------------------------------------
def test_bad_token_is_an_auth_error_without_the_token(sandbox: Any) -> None:
    client = make_client(sandbox.url, token="99|wrong-secret")
    with pytest.raises(AuthError) as info:
        client.me()
    assert info.value.status == 401
    assert "refused the token" in str(info.value)
    assert "wrong-secret" not in str(info.value) + repr(info.value.__dict__)


def test_user_without_api_access(sandbox: Any) -> None:
    with pytest.raises(AuthError) as info:
        make_client(sandbox.url, token="noapi-token").me()
    assert info.value.status == 403
    assert "enable API access" in str(info.value)


def test_429_is_retried_for_writes_and_never_committed(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=3, rate_window=0.5)
    client = make_client(sandbox.url)
    names = [f"Paced {n}" for n in range(8)]
    for name in names:
        client.create("industries", {"name": name})
    posts = [e for e in log(sandbox) if e["method"] == "POST"]
    assert sum(1 for e in posts if e["status"] == 201) == 8
    assert client.stats.rate_limited == sum(1 for e in posts if e["status"] == 429)
    assert client.stats.rate_limited <= 3                           # <= one per window
    created = [r["name"] for r in client.iter_records("industries") if r["name"] in names]
    assert sorted(created) == sorted(names)


def test_rate_limited_gives_up_eventually(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=1, rate_window=30)
    client = make_client(sandbox.url, retry=RetryPolicy(max_rate_limited=0))
    client.me()
    with pytest.raises(RateLimited) as info:
        client.me()
    assert info.value.status == 429 and info.value.retry_after is not None


def test_server_errors_on_reads_are_retried(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(fault_rate=0.5, fault_seed=7)
    client = make_client(sandbox.url)
    for _ in range(10):
        assert client.me()["id"] == 1
    assert client.stats.retries == sum(1 for e in log(sandbox) if e["status"] == 500) > 0


def test_server_errors_exhaust_into_an_unexpected_answer(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(fault_rate=1.0)
    delays: list[float] = []
    client = ConcordClient(sandbox.url, TOKEN, sleep=delays.append, random=lambda: 0.5,
                           retry=RetryPolicy(max_retries=3, backoff=0.5))
    with pytest.raises(UnexpectedAnswer) as info:
        client.me()
    assert info.value.status == 500
    assert delays == [0.5, 1.0, 2.0]                               # exponential, jitter x1
    assert client.stats.requests == 4


def test_server_error_on_a_write_is_outcome_unknown_at_once(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(fault_rate=1.0)
    client = make_client(sandbox.url)
    with pytest.raises(OutcomeUnknown) as info:
        client.create("sources", {"name": "Maybe"})
    assert info.value.status == 500 and info.value.method == "POST"
    assert client.stats.requests == 1


def test_dropped_connection_after_commit_is_outcome_unknown(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(drop_after_commit_rate=1.0)
    client = make_client(sandbox.url)
    with pytest.raises(OutcomeUnknown, match="reconcile"):
        client.create("sources", {"name": "Committed but unanswered"})
    posts = [e for e in log(sandbox) if e["method"] == "POST"]
    assert len(posts) == 1                                         # sent once, never re-sent
    assert requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()["dropped"] == 1
    configure(sandbox, drop_after_commit_rate=0)
    assert client.search_in("sources", "name", ["Committed but unanswered"])


def test_read_timeout_on_write_is_outcome_unknown_and_on_read_retried(
    sandbox_factory: Any,
) -> None:
    sandbox = sandbox_factory(latency_ms=400)
    client = make_client(sandbox.url, timeout=(2.0, 0.1), retry=RetryPolicy(max_retries=2))
    with pytest.raises(OutcomeUnknown):
        client.create("sources", {"name": "Slow"})
    assert client.stats.requests == 1
    with pytest.raises(Unreachable, match="3 attempts"):
        client.me()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_even_for_writes() -> None:
    client = make_client(f"http://127.0.0.1:{_closed_port()}", retry=RetryPolicy(max_retries=2))
    with pytest.raises(Unreachable, match="could not be reached"):
        client.create("sources", {"name": "never sent"})             # safe: nothing left
    assert client.stats.requests == 3 and client.stats.retries == 2


def test_threads_share_one_client(sandbox: Any) -> None:
    client = make_client(sandbox.url)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: client.me()["id"], range(60)))
    assert results == [1] * 60
    assert 1 <= len(client._sessions) <= 6
    client.close()
    assert client._sessions == []


# -- pure helpers -----------------------------------------------------------------------------
def test_search_plan_batches_and_fallbacks() -> None:
    values = [f"v{n}" for n in range(250)] + ["v1", " v2 ", None, "", "A, B", "x:y", ":;,"]
    plan = list(search_plan("name", values))
    batches = [q for q in plan if q.params["search_fields"] == "name:in"]
    assert [len(q.params["q"].split(",")) for q in batches] == [100, 100, 50]
    assert plan[3].params == {"q": "A, B", "search_fields": "name:="}
    assert plan[4].params == {"q": "x", "search_fields": "name:like"}
    assert plan[4].accepts({"name": "X:Y"}) and not plan[4].accepts({"name": "x:yz"})
    assert len(plan) == 5                                          # ":;," has nothing to search


def test_search_plan_limits_query_length() -> None:
    long_values = [f"{'x' * 60}{n}@example.com" for n in range(100)]
    plan = list(search_plan("email", long_values))
    assert len(plan) > 1 and all(len(q.params["q"]) <= 2000 for q in plan)


def test_display_url_hides_secret_params() -> None:
    shown = display_url("https://crm/api/contacts", {"q": "a@b.c,d@e.f", "api_token": "t0k"})
    assert "t0k" not in shown and "api_token=***" in shown and "q=a@b.c,d@e.f" in shown


def test_classify_status() -> None:
    assert classify_status(401, {"message": "Unauthenticated."}, "GET")[0] is AuthError
    assert classify_status(419, {"message": "CSRF token mismatch."}, "POST")[0] is AuthError
    assert classify_status(409, {"message": "locked"}, "PUT")[0] is RecordRejected
    assert classify_status(503, None, "GET")[0] is UnexpectedAnswer
    assert classify_status(502, None, "DELETE")[0] is OutcomeUnknown
    searching = {"message": "The provided search fields are not allowed."}
    assert classify_status(403, searching, "GET")[0] is UnexpectedAnswer
    assert classify_status(302, None, "GET")[0] is UnexpectedAnswer


def test_encode_json_accepts_everyday_python_values() -> None:
    from datetime import date, datetime
    from decimal import Decimal

    body = {"amount": Decimal("12.50"), "on": date(2026, 1, 2), "at": datetime(2026, 1, 2, 3, 4),
            "name": "Zoë"}
    assert json.loads(encode_json(body)) == {"amount": 12.5, "on": "2026-01-02",
                                             "at": "2026-01-02T03:04:00", "name": "Zoë"}
    with pytest.raises(TypeError):
        encode_json({"x": object()})


def test_tolerant_value_readers() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from concord_etl.crm.client import as_datetime, as_decimal

    assert as_decimal(1200) == Decimal("1200") and as_decimal("1200.000") == Decimal("1200.000")
    assert as_decimal(12.5) == Decimal("12.5")
    assert as_decimal(None) is None and as_decimal("") is None and as_decimal("n/a") is None
    assert as_decimal(True) is None and as_decimal("NaN") is None
    stamp = datetime(2024, 9, 22, 10, 15, 30, tzinfo=UTC)
    assert as_datetime("2024-09-22T10:15:30.000000Z") == stamp
    assert as_datetime("2024-09-22 10:15:30") == stamp
    assert as_datetime("2024-09-22T12:15:30+02:00") == stamp
    assert as_datetime("2024-09-22") == datetime(2024, 9, 22, tzinfo=UTC)
    assert as_datetime("yesterday") is None and as_datetime(None) is None
