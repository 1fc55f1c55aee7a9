"""Fault injection on the real CLI process: --fault-rate (500, nothing written),
--drop-after-commit-rate (connection error, record written), --latency-ms.

Reference: README: sandbox; DESIGN.md "Sandbox contract" (flags, /_sandbox/state, /_sandbox/config);
docs/concord-api.md §8 (500 body).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.helpers.contract import admin, api, email, js, ok


def emails_in_state(sb: Any) -> list[str]:
    return [c.get("email") for c in ok(admin(sb, "GET", "/_sandbox/state"))["contacts"]]


def test_fault_rate_one_gives_500_and_writes_nothing(sandbox_process: Any) -> None:
    proc = sandbox_process("--fault-rate", "1")
    mail = email("fault")
    resp = api(proc, "POST", "/api/contacts", json={"first_name": "Faulty", "email": mail})
    assert resp.status_code == 500
    assert js(resp) == {"message": "Server Error"}
    assert "Traceback" not in resp.text
    assert mail not in emails_in_state(proc)
    assert ok(admin(proc, "GET", "/_sandbox/stats"))["faults"] >= 1
    ok(admin(proc, "POST", "/_sandbox/config", json={"fault_rate": 0}))
    created = api(proc, "POST", "/api/contacts", json={"first_name": "Fine", "email": mail})
    assert created.status_code == 201
    assert emails_in_state(proc).count(mail) == 1


def test_drop_after_commit_loses_the_answer_not_the_record(sandbox_process: Any) -> None:
    proc = sandbox_process("--drop-after-commit-rate", "1")
    mail = email("dropped")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        api(proc, "POST", "/api/contacts", json={"first_name": "Dropped", "email": mail},
            timeout=10)
    assert emails_in_state(proc).count(mail) == 1
    assert ok(admin(proc, "GET", "/_sandbox/stats"))["dropped"] >= 1
    ok(admin(proc, "POST", "/_sandbox/config", json={"drop_after_commit_rate": 0}))
    found = ok(api(proc, "GET", "/api/contacts/search",
                   params={"q": mail, "search_fields": "email:="}))
    assert [c["email"] for c in found] == [mail]
    again = api(proc, "POST", "/api/contacts", json={"first_name": "Again", "email": mail})
    assert again.status_code == 422


def test_drop_after_commit_is_logged_with_the_record(sandbox_process: Any) -> None:
    proc = sandbox_process("--drop-after-commit-rate", "1")
    mail = email("droplog")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        api(proc, "POST", "/api/contacts", json={"first_name": "Logged", "email": mail},
            timeout=10)
    rows = [r for r in ok(admin(proc, "GET", "/_sandbox/requests"))
            if r["method"] == "POST" and r["path"] == "/api/contacts"]
    assert len(rows) == 1
    assert rows[0]["record_id"] is not None


def test_latency_is_added(sandbox_process: Any) -> None:
    proc = sandbox_process("--latency-ms", "300")
    config = ok(admin(proc, "POST", "/_sandbox/config", json={}))
    assert config["latency_ms"] == 300
    started = time.monotonic()
    assert api(proc, "GET", "/api/me").status_code == 200
    # a lower bound only: injected latency cannot make a request faster
    assert time.monotonic() - started >= 0.25
