"""The client's on_request observer: one event per attempt, retries numbered, never in the way."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.request_event import RequestEvent
from concord_etl.errors import Unreachable
from tests.helpers import TOKEN, request_log


def test_one_event_per_attempt_with_the_rate_limit_state(sandbox_factory: Any) -> None:
    crm = sandbox_factory(rate_limit=3, rate_window=1.0)
    seen: list[RequestEvent] = []
    with ConcordClient(crm.url, TOKEN, on_request=seen.append) as client:
        for _ in range(5):
            client.me()
    sent = [e for e in request_log(crm.url) if e["path"].startswith("/api/")]
    assert len(seen) == len(sent) >= 5
    assert all(e.method == "GET" and e.path == "/api/me" for e in seen)
    assert [e.status for e in seen].count(200) == 5
    assert all(e.limit == 3 and e.remaining is not None for e in seen if e.status == 200)
    retried = [e for e in seen if e.status == 429]
    assert all(e.retry_after is not None for e in retried)
    # after a 429 the same request goes again as the next attempt
    for refused, again in itertools.pairwise(seen):
        if refused.status == 429:
            assert again.attempt == refused.attempt + 1
    assert all(e.duration_s >= 0 and e.waited_s >= 0 for e in seen)


def test_an_observer_that_fails_changes_nothing(sandbox: Any) -> None:
    def explode(event: RequestEvent) -> None:
        raise RuntimeError("observer bug")

    with ConcordClient(sandbox.url, TOKEN, on_request=explode) as client:
        assert client.me()["id"] == 1


def test_no_answer_is_an_event_with_the_failure_kind() -> None:
    seen: list[RequestEvent] = []
    client = ConcordClient("http://127.0.0.1:9", TOKEN, on_request=seen.append,
                           sleep=lambda _s: None, timeout=(0.5, 0.5))
    with pytest.raises(Unreachable):
        client.me()
    assert seen and all(e.status is None and e.error for e in seen)
    assert [e.attempt for e in seen] == list(range(1, len(seen) + 1))
