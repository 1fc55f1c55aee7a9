"""Everyday use of the CLI: profiles, the run log, --quiet/--json/--verbose, the error style,
a closed pipe, shell completion and the wall-clock rate-limit figure.

Every test runs the real CLI in a subprocess against real sandboxes on loopback ports; the
config folder (XDG_CONFIG_HOME) is a temp folder, so the developer's own profiles never count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests

from tests.helpers import REPO, TOKEN, last_json, request_log

STAGING_TOKEN = "staging-secret-token"


def api_requests(url: str) -> list[dict[str, Any]]:
    return [e for e in request_log(url) if e["path"].startswith("/api/")]


def run(args: list[str], env: dict[str, str], cwd: Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "concord_etl", *args], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


def bare_env(config: Path, **extra: str) -> dict[str, str]:
    """The environment without any CONCORD_* setting, with its own config folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env.update(XDG_CONFIG_HOME=str(config), PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture
def two_crms(sandbox_factory: Any, tmp_path: Path) -> dict[str, Any]:
    """Production (the demo seed) and staging (another token, one extra contact), as profiles."""
    production = sandbox_factory()
    staging = sandbox_factory(token=STAGING_TOKEN)
    made = requests.post(f"{staging.url}/api/contacts", json={
        "first_name": "Only", "last_name": "In Staging", "email": "only@staging.example"},
        headers={"Authorization": f"Bearer {STAGING_TOKEN}", "Accept": "application/json"},
        timeout=30)
    assert made.status_code == 201, made.text
    config = tmp_path / "config"
    (config / "concord-etl").mkdir(parents=True)
    (config / "concord-etl" / "staging.token").write_text(STAGING_TOKEN + "\n", encoding="utf-8")
    (config / "concord-etl" / "profiles.toml").write_text(
        f'[production]\nurl = "{production.url}"\ntoken_env = "PROD_TOKEN"\n\n'
        f'[staging]\nurl = "{staging.url}"\ntoken_file = "staging.token"\n', encoding="utf-8")
    return {"production": production, "staging": staging, "config": config,
            "env": bare_env(config, PROD_TOKEN=TOKEN)}


def emails(path: Path) -> set[str]:
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    column = [str(h) for h in rows[0]].index("E-Mail Address")
    return {r[column] for r in rows[1:] if r[column]}


# -- profiles and the run log ------------------------------------------------------------------


def test_export_with_a_profile_uses_that_crm_and_logs_every_request(two_crms: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    production, staging = two_crms["production"], two_crms["staging"]
    before, setup = len(api_requests(production.url)), len(api_requests(staging.url))
    out, log = tmp_path / "x.xlsx", tmp_path / "logs" / "run.log"
    result = run(["export", "contacts", "-o", str(out), "--profile", "staging",
                  "--log-file", str(log)], two_crms["env"])
    assert result.returncode == 0, result.stderr
    assert "only@staging.example" in emails(out)
    assert len(api_requests(production.url)) == before       # production was not asked
    sent = api_requests(staging.url)[setup:]
    text = log.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    request_lines = [e for e in lines if e["event"] == "request"]
    assert len(request_lines) == len(sent) > 0
    assert sorted(e["path"].split("?")[0] for e in request_lines) == \
        sorted(e["path"] for e in sent)
    for entry in request_lines:
        assert entry["method"] == "GET" and entry["status"] == 200 and entry["attempt"] == 1
        assert entry["duration_s"] >= 0 and "rate_limit" in entry and "waited_s" in entry
    assert STAGING_TOKEN not in text and "Bearer" not in text
    events = [e["event"] for e in lines]
    assert events[0] == "run.start" and events[-1] == "run.end"
    connect = next(e for e in lines if e["event"] == "connect")
    assert connect["url"] == staging.url and connect["profile"] == "staging"
    assert lines[-1]["exit_code"] == 0 and len({e["run"] for e in lines}) == 1


def test_concord_profile_chooses_and_the_flag_wins(two_crms: dict[str, Any], tmp_path: Path
                                                   ) -> None:
    env = {**two_crms["env"], "CONCORD_PROFILE": "staging"}
    out = tmp_path / "a.csv"
    chosen = run(["export", "contacts", "-o", str(out), "--json"], env)
    assert chosen.returncode == 0, chosen.stderr
    assert last_json(chosen.stdout)["records"] == 8           # 7 demo contacts + 1
    flag = run(["export", "contacts", "-o", str(out), "--json", "--profile", "production"], env)
    assert flag.returncode == 0, flag.stderr
    assert last_json(flag.stdout)["records"] == 7


def test_the_environment_beats_a_profile_with_a_note(two_crms: dict[str, Any], tmp_path: Path
                                                     ) -> None:
    env = {**two_crms["env"], "CONCORD_URL": two_crms["production"].url, "CONCORD_TOKEN": TOKEN}
    result = run(["export", "contacts", "-o", str(tmp_path / "a.csv"), "--json",
                  "--profile", "staging"], env)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["records"] == 7
    assert "note:" in result.stderr and "'staging'" in result.stderr


def test_an_ambient_token_is_not_sent_to_a_profile(two_crms: dict[str, Any], tmp_path: Path
                                                   ) -> None:
    env = {**two_crms["env"], "CONCORD_TOKEN": TOKEN}
    before = len(api_requests(two_crms["staging"].url))
    result = run(["export", "contacts", "-o", str(tmp_path / "a.csv"), "--profile", "staging"],
                 env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: CONCORD_TOKEN is set") and "\nhint: " in result.stderr
    assert len(api_requests(two_crms["staging"].url)) == before


def test_profiles_lists_them_without_tokens(two_crms: dict[str, Any]) -> None:
    env = {**two_crms["env"], "CONCORD_PROFILE": "staging"}
    result = run(["profiles"], env)
    assert result.returncode == 0, result.stderr
    assert "production" in result.stdout and two_crms["staging"].url in result.stdout
    assert "token_env PROD_TOKEN" in result.stdout and "(set)" in result.stdout
    assert "(found)" in result.stdout and "* staging" in result.stdout.replace("  ", " ")
    assert STAGING_TOKEN not in result.stdout and TOKEN not in result.stdout
    data = json.loads(run(["profiles", "--json"], env).stdout)
    assert set(data["profiles"]) == {"production", "staging"} and data["current"] == "staging"
    assert STAGING_TOKEN not in json.dumps(data)


def test_profiles_without_a_file_shows_how_to_write_one(tmp_path: Path) -> None:
    result = run(["profiles"], bare_env(tmp_path))
    assert result.returncode == 0
    assert str(tmp_path / "concord-etl" / "profiles.toml") in result.stdout
    assert "token_file" in result.stdout


def test_a_failed_run_is_logged_with_its_error_and_no_token(sandbox: Any, tmp_path: Path
                                                            ) -> None:
    log = tmp_path / "run.log"
    env = bare_env(tmp_path, CONCORD_URL=sandbox.url, CONCORD_TOKEN="9|wrong-token-value")
    result = run(["export", "contacts", "-o", str(tmp_path / "a.xlsx"), "--log-file", str(log)],
                 env)
    assert result.returncode == 3
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [e["status"] for e in lines if e["event"] == "request"] == [401]
    assert lines[-1]["event"] == "run.end" and lines[-1]["exit_code"] == 3
    assert "401" in lines[-1]["error"] or "token" in lines[-1]["error"].lower()
    assert "wrong-token-value" not in log.read_text(encoding="utf-8")


# -- quiet, json, verbose ------------------------------------------------------------------------


def test_quiet_export_and_report_print_nothing(sandbox: Any, tmp_path: Path) -> None:
    env = bare_env(tmp_path, CONCORD_URL=sandbox.url, CONCORD_TOKEN=TOKEN)
    quiet = run(["export", "deals", "-o", str(tmp_path / "d.xlsx"), "-q"], env)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    report = tmp_path / "r.yaml"
    report.write_text(f'version: 1\noutput: "{tmp_path / "r.xlsx"}"\n'
                      "sheets: [{resource: deals}]\n", encoding="utf-8")
    quiet = run(["report", str(report), "--quiet"], env)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    both = run(["report", str(report), "-q", "--json"], env)
    assert both.returncode == 0 and json.loads(both.stdout)["sheets"] == {"Deals": 4}


def test_verbose_shows_each_request_on_stderr(sandbox: Any, tmp_path: Path) -> None:
    env = bare_env(tmp_path, CONCORD_URL=sandbox.url, CONCORD_TOKEN=TOKEN)
    result = run(["fields", "deals", "--verbose"], env)
    assert result.returncode == 0, result.stderr
    assert "log: GET /api/deals/create-fields?intent=create -> 200" in result.stderr
    assert "log: run.end" in result.stderr and TOKEN not in result.stderr


# -- error style, closed pipe, completion ----------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["export", "widgets", "-o", "x.xlsx"],
    ["export", "contacts"],
    ["report", "no-such-report.yaml"],
    ["import", "--frobnicate"],
    ["frobnicate"],
])
def test_usage_errors_have_the_one_error_style(tmp_path: Path, args: list[str]) -> None:
    result = run(args, bare_env(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    assert "Error:" not in result.stderr and "Usage:" not in result.stderr


def test_library_errors_have_the_same_style(tmp_path: Path) -> None:
    result = run(["export", "contacts", "-o", str(tmp_path / "a.xlsx")], bare_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no CRM URL") and "\nhint: " in result.stderr


def test_a_closed_pipe_ends_quietly(sandbox: Any, tmp_path: Path) -> None:
    env = bare_env(tmp_path, CONCORD_URL=sandbox.url, CONCORD_TOKEN=TOKEN)
    proc = subprocess.Popen([sys.executable, "-m", "concord_etl", "fields", "contacts"],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()          # the reader is gone before the command writes anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == "", err


def _script() -> Path:
    script = Path(sys.executable).with_name("concord-etl")
    if not script.exists():
        pytest.skip("the concord-etl script is not installed next to this Python")
    return script


@pytest.mark.parametrize(("shell", "needle"), [
    ("bash", "complete -o nosort -F"), ("zsh", "compdef"), ("fish", "complete --no-files")])
def test_shell_completion_scripts(tmp_path: Path, shell: str, needle: str) -> None:
    env = {**bare_env(tmp_path), "_CONCORD_ETL_COMPLETE": f"{shell}_source"}
    result = subprocess.run([str(_script())], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and needle in result.stdout, result.stdout


def test_completion_offers_commands_and_options(tmp_path: Path) -> None:
    env = {**bare_env(tmp_path), "_CONCORD_ETL_COMPLETE": "bash_complete",
           "COMP_WORDS": "concord-etl export contacts --pro", "COMP_CWORD": "3"}
    result = subprocess.run([str(_script())], env=env, capture_output=True, text=True, timeout=60)
    assert "--profile" in result.stdout


# -- the rate-limit figure -----------------------------------------------------------------------


def test_rate_limit_wait_is_wall_clock_time_not_a_sum(sandbox_factory: Any, tmp_path: Path
                                                      ) -> None:
    crm = sandbox_factory(rate_limit=15, rate_window=1.0)
    rows = "\n".join(f"P{i},p{i}@wait.example" for i in range(45))
    data = tmp_path / "people.csv"
    data.write_text(f"Name,Email\n{rows}\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("version: 1\nresource: contacts\ncolumns:\n  Name: first_name\n"
                       "  Email: email\nmatch: {on: [email]}\n", encoding="utf-8")
    env = bare_env(tmp_path, CONCORD_URL=crm.url, CONCORD_TOKEN=TOKEN)
    result = run(["import", str(data), "-m", str(mapping), "--concurrency", "8", "--json"], env)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    assert summary["created"] == 45
    assert 0 < summary["waited_s"] <= summary["elapsed_s"]
