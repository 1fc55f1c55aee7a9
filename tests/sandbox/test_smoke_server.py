"""Smoke tests of the sandbox transport: auth, throttle, faults, persistence, admin surface."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests

from concord_etl.sandbox import Sandbox

TOKEN = "test-token"


def session(token: str = TOKEN) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
    return s


def test_auth_failures_are_json_and_not_counted(sandbox: Any) -> None:
    api = sandbox.url + "/api"
    r = requests.get(api + "/contacts", headers={"Accept": "application/json"})
    assert (r.status_code, r.json()) == (401, {"message": "Unauthenticated."})
    assert "X-RateLimit-Limit" not in r.headers
    r = session().post(api + "/contacts", json={"first_name": "A"},
                       headers={"Referer": "http://127.0.0.1/"})
    assert (r.status_code, r.json()) == (419, {"message": "CSRF token mismatch."})
    r = session("noapi-token").get(api + "/contacts")
    assert r.status_code == 403
    assert r.json() == {"error": "Your account is not authorized to perform API requests."}
    assert r.headers["X-App-Version"] == "1.5.1"
    stats = requests.get(sandbox.url + "/_sandbox/stats").json()
    assert stats["by_status"] == {"401": 1, "403": 1, "419": 1}


def test_fixed_window_rate_limit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(rate_limit=3, rate_window=30.0)
    s = session()
    remaining = [s.get(sb.url + "/api/me").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    r = s.get(sb.url + "/api/me")
    assert (r.status_code, r.json()) == (429, {"message": "Too Many Attempts."})
    assert 0 < int(r.headers["Retry-After"]) <= 30
    assert int(r.headers["X-RateLimit-Reset"]) > 0
    # another user has its own window
    assert session("sam-token").get(sb.url + "/api/me").status_code == 200
    assert requests.get(sb.url + "/_sandbox/stats").json()["rate_limited"] == 1


def test_keep_alive_and_connection_close(sandbox: Any) -> None:
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        request = (f"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                   "Accept: application/json\r\n\r\n").encode()
        sock.sendall(request + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.count(b"Connection: close") == 1


def test_faults_and_drop_after_commit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(fault_rate=1.0)
    r = session().post(sb.url + "/api/sources", json={"name": "Never"})
    assert (r.status_code, r.json()) == (500, {"message": "Server Error"})
    assert "X-RateLimit-Remaining" in r.headers
    sb2 = sandbox_factory(drop_after_commit_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        session().post(sb2.url + "/api/sources", json={"name": "Committed"})
    names = [s["name"] for s in session().get(sb2.url + "/api/sources?per_page=100").json()["data"]]
    assert "Committed" in names
    stats = requests.get(sb2.url + "/_sandbox/stats").json()
    assert stats["dropped"] == 1
    assert requests.get(sb.url + "/_sandbox/stats").json()["faults"] == 1


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Sandbox(state_dir=state, token=TOKEN) as sb:
        r = session().post(sb.url + "/api/companies", json={"name": "Persisted Ltd"})
        assert r.status_code == 201
        cid = r.json()["id"]
    with Sandbox(state_dir=state, token="other-token", seed="empty") as sb:
        r = session("other-token").get(f"{sb.url}/api/companies/{cid}")
        assert r.json()["name"] == "Persisted Ltd"     # seed not re-applied, token follows flag


def test_subprocess_prints_url_and_stops(sandbox_process: Any) -> None:
    proc = sandbox_process("--seed", "empty")
    r = session().get(proc.url + "/api/contacts")
    assert r.status_code == 200 and r.json()["meta"]["total"] == 0
    proc.stop()
    assert proc.proc.returncode == 0


def test_admin_request_log_reset_and_config(sandbox: Any) -> None:
    s = session()
    created = s.post(sandbox.url + "/api/contacts", json={"first_name": "Logged"}).json()
    log = requests.get(sandbox.url + "/_sandbox/requests?since=0").json()
    assert log[-1]["method"] == "POST" and log[-1]["record_id"] == created["id"]
    assert log[-1]["status"] == 201 and log[-1]["counted"] is True
    assert requests.get(sandbox.url + f"/_sandbox/requests?since={log[-1]['id']}").json() == []
    cfg = requests.post(sandbox.url + "/_sandbox/config", json={"rate_limit": 1}).json()
    assert cfg["rate_limit"] == 1
    assert s.get(sandbox.url + "/api/me").status_code == 200
    assert s.get(sandbox.url + "/api/me").status_code == 429
    r = requests.post(sandbox.url + "/_sandbox/reset", json={"seed": "empty"})
    assert r.status_code == 200
    state = requests.get(sandbox.url + "/_sandbox/state").json()
    assert state["contacts"] == [] and [u["id"] for u in state["users"]] == [1]
