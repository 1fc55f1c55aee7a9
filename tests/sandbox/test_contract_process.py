"""The sandbox as a real process: CLI probe (banner, token, limits), persistence across
SIGTERM and kill -9, seed applied only to a new state, clean stop on signals.

Reference: DESIGN.md "Sandbox contract" → "Running it", "Seed file format"; README "The sandbox".
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.contract import api, base, create, ok, option_ids, show, uniq


def test_cli_probe(sandbox_process: Any, tmp_path: Path) -> None:
    state = tmp_path / "probe-state"
    proc = sandbox_process("--rate-limit", "60", "--rate-window", "60", state=state, token="T")
    url = base(proc)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    assert int(url.rsplit(":", 1)[1]) > 0
    banner = [proc.proc.stdout.readline().rstrip("\n") for _ in range(3)]
    assert banner == ["  token: T", f"  state: {state}", f"  admin: {url}/_sandbox/"]
    resp = api(proc, "GET", "/api/me", "T")
    assert resp.status_code == 200
    assert resp.json()["id"] == 1
    assert (resp.headers["X-RateLimit-Limit"], resp.headers["X-RateLimit-Remaining"]) == (
        "60", "59")
    assert api(proc, "GET", "/api/me", "sandbox-token").status_code == 401
    assert state.is_dir()


def test_keep_alive_http_1_1(sandbox_process: Any) -> None:
    import http.client

    proc = sandbox_process()
    host, port = base(proc).removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/api/me", headers={"Authorization": "Bearer test-token",
                                                    "Accept": "application/json"})
            resp = conn.getresponse()
            assert resp.version == 11
            assert resp.status == 200
            resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("stop", ["kill", "stop"])
def test_state_survives_restart(sandbox_process: Any, tmp_path: Path, stop: str) -> None:
    state = tmp_path / f"persist-{stop}"
    first = sandbox_process(state=state)
    company_total = ok(api(first, "GET", "/api/companies"))["meta"]["total"]
    label = uniq("Persisted")
    rec = create(first, "contacts", {"first_name": "Kept", "email": f"{uniq('k')}@example.com",
                                     "cf_customer_tier": label, "phones": "+15550100777|work"})
    updated = ok(api(first, "PUT", f"/api/contacts/{rec['id']}", json={"last_name": "Safe"}))
    getattr(first, stop)()

    second = sandbox_process(state=state)
    again = show(second, "contacts", rec["id"])
    assert (again["email"], again["last_name"]) == (rec["email"], "Safe")
    assert again["updated_at"] == updated["updated_at"]
    assert again["cf_customer_tier"] == option_ids(second, "contacts", "cf_customer_tier")[label]
    assert [(p["number"], p["type"]) for p in again["phones"]] == [("+15550100777", "work")]
    assert ok(api(second, "GET", "/api/companies"))["meta"]["total"] == company_total
    newer = create(second, "contacts", {"first_name": "After"})
    assert newer["id"] > rec["id"]


def test_seed_only_applies_to_a_new_state(sandbox_process: Any, tmp_path: Path) -> None:
    state = tmp_path / "seeded-once"
    first = sandbox_process(state=state)
    rec = create(first, "contacts", {"first_name": uniq("Old")})
    first.stop()
    second = sandbox_process("--seed", "empty", state=state)
    assert show(second, "contacts", rec["id"])["first_name"] == rec["first_name"]
    fresh = sandbox_process("--seed", "empty", state=tmp_path / "fresh-empty")
    assert ok(api(fresh, "GET", "/api/contacts"))["meta"]["total"] == 0


def test_trash_survives_restart(sandbox_process: Any, tmp_path: Path) -> None:
    state = tmp_path / "persist-trash"
    first = sandbox_process(state=state)
    rec = create(first, "contacts", {"first_name": uniq("Binned")})
    assert api(first, "DELETE", f"/api/contacts/{rec['id']}").status_code == 204
    first.kill()
    second = sandbox_process(state=state)
    assert api(second, "GET", f"/api/contacts/{rec['id']}").status_code == 404
    assert ok(api(second, "GET", f"/api/trashed/contacts/{rec['id']}"))["id"] == rec["id"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_cleanly(sandbox_process: Any, sig: signal.Signals) -> None:
    proc = sandbox_process()
    assert api(proc, "GET", "/api/me").status_code == 200
    proc.proc.send_signal(sig)
    code = proc.proc.wait(timeout=10)
    err = proc.proc.stderr.read() if proc.proc.stderr else ""
    assert code == 0, (code, err)
    assert "Traceback" not in err


def test_seed_file(sandbox_process: Any, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        '{"users": [{"id": 1, "name": "Admin User", "email": "admin@example.com",'
        ' "super_admin": true, "access_api": true, "timezone": "UTC"}],'
        ' "pipelines": [{"id": 1, "name": "P", "flag": "default",'
        ' "stages": [{"id": 1, "name": "S1", "win_probability": 100}]}],'
        ' "records": {"companies": [{"name": "File Co"}]}}',
        encoding="utf-8",
    )
    proc = sandbox_process("--seed", str(seed))
    names = [c["name"] for c in ok(api(proc, "GET", "/api/companies"))["data"]]
    assert names == ["File Co"]
