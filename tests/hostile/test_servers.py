"""A misbehaving CRM: rate limits without headers, Retry-After in every form, answers that drip,
never end or have the wrong shape. Each test names the message, the exit code, and that
nothing was lost (results file, no duplicate after a rerun)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from concord_etl.crm.client import ConcordClient, RetryPolicy
from concord_etl.crm.pacing import Pacer
from concord_etl.crm.rate_headers import parse_rate_headers
from concord_etl.errors import OutcomeUnknown, RateLimited, UnexpectedAnswer
from tests.helpers import TOKEN, live, read_results, run_cli, state, write_csv, write_mapping
from tests.helpers.hostile import (
    HostileServer,
    Rule,
    drip,
    drip_headers,
    endless,
    reply,
)

FIELDS = "/api/contacts/create-fields"
TOO_MANY = {"message": "Too Many Attempts."}


class FakeTime:
    """A clock that only moves when someone sleeps: waits are measured, never waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def paced_client(url: str, fake: FakeTime, **kw: Any) -> ConcordClient:
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep, wall_clock=time.time)
    return ConcordClient(url, TOKEN, pacer=pacer, sleep=fake.sleep, **kw)


# -- Retry-After -------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "seconds"), [
    ("2", 2.0), ("0", 0.0), ("1.5", 1.5), ("-5", None), ("banana", None), ("nan", None),
    ("inf", None), ("2s", None), ("", None), ("1e308", 1e308),
])
def test_retry_after_values_are_read_deliberately(value: str, seconds: float | None) -> None:
    assert parse_rate_headers({"Retry-After": value}, wall_now=0.0).retry_after == seconds


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    future = parse_rate_headers({"Retry-After": "Tue, 14 Nov 2023 22:13:40 GMT"}, wall_now=now)
    assert future.retry_after == pytest.approx(20.0)
    past = parse_rate_headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, wall_now=now)
    assert past.retry_after == 0.0
    naive = parse_rate_headers({"Retry-After": "Tue, 14 Nov 2023 22:13:40 -0000"}, wall_now=now)
    assert naive.retry_after == pytest.approx(20.0)


def test_a_429_without_rate_headers_waits_for_its_retry_after(sandbox: Any) -> None:
    """Before: 31 requests in 1.3 s against `Retry-After: 2`. Now each retry waits 2 s."""
    rule = Rule("GET", FIELDS, reply(429, TOO_MANY, headers={"Retry-After": "2"}), times=3)
    fake = FakeTime()
    with HostileServer(sandbox.url, [rule]) as crm:
        fields = paced_client(crm.url, fake).create_fields("contacts")
        assert any(f["attribute"] == "email" for f in fields)
        assert len(crm.requests("GET", FIELDS)) == 4
    assert sum(fake.slept) == pytest.approx(6.0)
    assert all(s >= 2.0 - 1e-9 for s in fake.slept if s > 0.1)


def test_garbage_retry_after_backs_off_instead_of_hammering(sandbox: Any) -> None:
    rule = Rule("GET", FIELDS, reply(429, TOO_MANY, headers={"Retry-After": "-5"}), times=3)
    fake = FakeTime()
    with HostileServer(sandbox.url, [rule]) as crm:
        paced_client(crm.url, fake).create_fields("contacts")
    assert fake.slept == pytest.approx([0.5, 1.0, 2.0])


def test_a_retry_after_past_the_ceiling_gives_up_at_once(sandbox: Any) -> None:
    rule = Rule("GET", FIELDS, reply(429, TOO_MANY, headers={"Retry-After": "86400"}))
    fake = FakeTime()
    with HostileServer(sandbox.url, [rule]) as crm:
        with pytest.raises(RateLimited) as info:
            paced_client(crm.url, fake, retry=RetryPolicy(max_retry_after=600)).create_fields(
                "contacts")
        assert len(crm.requests("GET", FIELDS)) == 1
    assert "wait 86400 s" in str(info.value) and "600 s" in str(info.value)
    assert fake.slept == []


def test_still_rate_limited_gives_up_with_exit_3(sandbox: Any) -> None:
    rule = Rule("GET", FIELDS, reply(429, TOO_MANY, headers={"Retry-After": "0"}))
    with HostileServer(sandbox.url, [rule]) as crm:
        result = run_cli(["fields", "contacts"], url=crm.url, token=TOKEN,
                         env={"CONCORD_MAX_RETRY_AFTER": "1"})
        seen = crm.requests("GET", FIELDS)
    assert result.returncode == 3
    assert result.stderr.startswith("error: GET ") and "still rate limited" in result.stderr
    assert result.stderr.strip().splitlines()[1] == "hint: rerun the same command to resume"
    assert len(seen) == 31


def test_huge_retry_after_on_the_cli(sandbox: Any) -> None:
    rule = Rule("GET", FIELDS, reply(429, TOO_MANY, headers={"Retry-After": "1e308"}))
    with HostileServer(sandbox.url, [rule]) as crm:
        result = run_cli(["fields", "contacts"], url=crm.url, token=TOKEN)
    assert result.returncode == 3
    assert "asks to wait for ever" in result.stderr and "CONCORD_MAX_RETRY_AFTER" in result.stderr


# -- deadlines and sizes -------------------------------------------------------------------------
def test_a_dripping_body_is_cut_at_the_deadline(sandbox: Any) -> None:
    """Before: one byte every 2 s kept `fields` waiting for ever (the read timeout reset)."""
    with HostileServer(sandbox.url, [Rule("GET", FIELDS, drip(0.3))]) as crm:
        client = ConcordClient(crm.url, TOKEN, deadline=1.0, sleep=lambda _s: None)
        with pytest.raises(UnexpectedAnswer) as info:
            client.create_fields("contacts")
    assert "no complete answer within 1 s" in str(info.value)


def test_dripping_headers_are_cut_at_the_deadline(sandbox: Any) -> None:
    with HostileServer(sandbox.url, [Rule("GET", FIELDS, drip_headers(0.3))]) as crm:
        client = ConcordClient(crm.url, TOKEN, deadline=1.0, sleep=lambda _s: None)
        with pytest.raises(UnexpectedAnswer) as info:
            client.create_fields("contacts")
    assert "request deadline" in str(info.value)


def test_a_write_cut_at_the_deadline_is_outcome_unknown(sandbox: Any) -> None:
    with HostileServer(sandbox.url, [Rule("POST", "/api/sources", drip(0.3))]) as crm:
        client = ConcordClient(crm.url, TOKEN, deadline=1.0, sleep=lambda _s: None)
        with pytest.raises(OutcomeUnknown) as info:
            client.create("sources", {"name": "Slow"})
    assert "may have been applied" in str(info.value)


def test_the_deadline_on_the_cli(sandbox: Any) -> None:
    with HostileServer(sandbox.url, [Rule("GET", FIELDS, drip(0.5))]) as crm:
        result = run_cli(["fields", "contacts"], url=crm.url, token=TOKEN, timeout=60,
                         env={"CONCORD_REQUEST_DEADLINE": "2"})
    assert result.returncode == 3
    assert "no complete answer within 2 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_endless_body_stops_at_the_size_cap(sandbox: Any) -> None:
    """Before: memory grew to 4.9 GB in 12 s."""
    with HostileServer(sandbox.url, [Rule("GET", FIELDS, endless())]) as crm:
        client = ConcordClient(crm.url, TOKEN, max_body_bytes=1 << 20, sleep=lambda _s: None)
        with pytest.raises(UnexpectedAnswer) as info:
            client.create_fields("contacts")
    assert "kept coming" in str(info.value) and "1 MB" in str(info.value)


def test_an_announced_huge_body_is_not_read(sandbox: Any) -> None:
    rule = Rule("GET", FIELDS, drip(5.0, declared=10 << 30))
    with HostileServer(sandbox.url, [rule]) as crm:
        result = run_cli(["fields", "contacts"], url=crm.url, token=TOKEN, timeout=60)
    assert result.returncode == 3
    assert "announced an answer of 10240 MB" in result.stderr


def test_bad_limit_settings_are_usage_errors(sandbox: Any) -> None:
    result = run_cli(["fields", "contacts"], url=sandbox.url, token=TOKEN,
                     env={"CONCORD_REQUEST_DEADLINE": "soon"})
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: CONCORD_REQUEST_DEADLINE='soon': expected a positive number\nhint: ")


# -- answers of the wrong shape -------------------------------------------------------------------
@pytest.mark.parametrize(("body", "ctype", "said"), [
    ([1, 2, 3], "application/json", "the CRM answered a list of 3 numbers where a list of field"),
    ([{"id": 1}], "application/json", "a list of 1 object with keys id where a list of field"),
    ({"foo": 1}, "application/json", "an object with keys foo where"),
    ('"hello"', "application/json", "the text 'hello' where"),
    ("<html><body>Sign in</body></html>", "text/html", "an HTML page where JSON was expected"),
    ("[" * 100_000, "application/json", "something that is not JSON"),
])
def test_answers_of_the_wrong_shape_are_named(
    sandbox: Any, body: Any, ctype: str, said: str
) -> None:
    rule = Rule("GET", FIELDS, reply(200, body, content_type=ctype))
    with HostileServer(sandbox.url, [rule]) as crm:
        result = run_cli(["fields", "contacts"], url=crm.url, token=TOKEN)
    assert result.returncode == 3, result.stderr
    assert said in result.stderr
    assert f"GET {crm.url}{FIELDS}" in result.stderr and "Traceback" not in result.stderr


def test_a_redirect_is_not_followed(sandbox: Any) -> None:
    rule = Rule("GET", FIELDS, reply(302, "", headers={"Location": "https://evil.example/login"}))
    with HostileServer(sandbox.url, [rule]) as crm:
        result = run_cli(["fields", "contacts"], url=crm.url, token=TOKEN)
    assert result.returncode == 3
    assert "redirect (302) to https://evil.example/login" in result.stderr


CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
"""


@pytest.mark.parametrize("answer", [[1, 2, 3], [{"id": 1}], {"name": "no id"}, "<html>ok</html>"])
def test_a_create_answered_with_the_wrong_shape_stops_then_resumes_exactly_once(
    sandbox: Any, tmp_path: Path, answer: Any
) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email"],
                     [[f"W{i}", f"w{i}@example.com"] for i in range(12)])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    args = ["import", str(data), "-m", str(mapping), "--quiet", "--concurrency", "1"]
    ctype = "text/html" if isinstance(answer, str) else "application/json"
    # the CRM applies the 4th create, then answers it with garbage
    rule = Rule("POST", "/api/contacts", reply(201, answer, content_type=ctype), skip=3, times=1)

    with HostileServer(sandbox.url, [rule]) as crm:
        rule.action = _apply_then(rule.action, sandbox.url)
        result = run_cli(args, url=crm.url, token=TOKEN)
    assert result.returncode == 3, result.stderr
    assert "where one record (an object with an id) was expected" in result.stderr \
        or "where JSON was expected" in result.stderr
    assert "the rerun checks" in result.stderr
    results = read_results(next(tmp_path.glob("c*.results.csv")))
    assert len(results) == 12                                   # every row is there
    again = run_cli(args, url=sandbox.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    emails = Counter(c["email"] for c in live(state(sandbox.url)["contacts"])
                     if c["email"].startswith("w"))
    assert len(emails) == 12 and max(emails.values()) == 1      # nothing lost, no duplicate


def _apply_then(garble: Any, upstream: str) -> Any:
    """Forward the request to the sandbox (it is applied), then answer with ``garble``."""
    import http.client
    from urllib.parse import urlsplit

    def act(handler: Any, seen: Any) -> None:
        parts = urlsplit(upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        headers = {k: v for k, v in seen.headers.items() if k.lower() not in ("host",)}
        conn.request(seen.method, seen.path, body=seen.body, headers=headers)
        conn.getresponse().read()
        conn.close()
        garble(handler, seen)

    return act
