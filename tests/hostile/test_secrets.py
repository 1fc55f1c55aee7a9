"""A server that echoes the token: it appears in no output, file, journal or log."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from concord_etl.errors import ApiError, RecordRejected
from concord_etl.redact import install_log_redaction, redact, redact_data, register_secret
from concord_etl.settings import Secret
from tests.helpers import TOKEN, run_cli, write_csv, write_mapping
from tests.helpers.hostile import HostileServer, Rule, echo_token

CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
"""


def everything_written(folder: Path) -> bytes:
    """Every byte of every file in ``folder`` (results, journal and its -wal/-shm, plans)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_redaction_removes_registered_secrets_and_authorization_values() -> None:
    register_secret("42|Sup3rSecretPlainPart")
    text = ("denied for 42|Sup3rSecretPlainPart; hash of Sup3rSecretPlainPart; "
            "Authorization: Bearer other-unregistered-token, authorization=xyz123")
    cleaned = redact(text)
    assert "Sup3rSecret" not in cleaned and "other-unregistered" not in cleaned
    assert "xyz123" not in cleaned and cleaned.count("***") >= 4
    assert redact_data({"errors": {"email": ["key 42|Sup3rSecretPlainPart"]}}) == {
        "errors": {"email": ["key ***"]}}
    assert redact("nothing secret here") == "nothing secret here"


def test_a_secret_registers_itself_and_errors_redact_their_message() -> None:
    Secret("made-up-token-1234")
    error = RecordRejected("the CRM said made-up-token-1234 is wrong",
                           errors={"name": ["made-up-token-1234"]}, body="made-up-token-1234")
    assert "made-up-token" not in str(error) + repr(error.errors) + str(error.body)
    assert isinstance(error, ApiError)


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    Secret("log-secret-98765")
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("concord_etl.test").info("sending with %s", "log-secret-98765")
        try:
            raise ValueError("boom log-secret-98765")
        except ValueError:
            logging.getLogger("concord_etl.test").exception("failed")
    assert "log-secret" not in caplog.text
    assert "sending with ***" in caplog.text


def test_an_echoed_token_on_a_rejected_write_leaks_nowhere(sandbox: Any, tmp_path: Path) -> None:
    """Before: printed with --json, written to the results file and to the journal."""
    data = write_csv(tmp_path / "echo.csv", ["First Name", "Email"],
                     [[f"E{i}", f"e{i}@example.com"] for i in range(3)])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    with HostileServer(sandbox.url, [Rule("POST", "/api/contacts", echo_token(422))]) as crm:
        result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=crm.url,
                         token=TOKEN)
    assert result.returncode == 1
    assert TOKEN not in result.stdout + result.stderr
    results = next(tmp_path.glob("echo*.results.csv")).read_text(encoding="utf-8-sig")
    assert "rejected" in results and "your key *** was logged" in results
    assert TOKEN.encode() not in everything_written(tmp_path)


@pytest.mark.parametrize(("status", "commands"), [
    (401, ("fields", "import", "validate")), (403, ("import",)), (404, ("fields",)),
    (418, ("validate",)), (500, ("fields",)),         # a 500 on a read is retried: slow
])
def test_an_echoed_token_in_an_error_answer_is_not_printed(
    sandbox: Any, tmp_path: Path, status: int, commands: tuple[str, ...]
) -> None:
    data = write_csv(tmp_path / "e.csv", ["First Name", "Email"], [["A", "a@example.com"]])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    rule = Rule("GET", "/api/contacts/create-fields", echo_token(status))
    runs = {"fields": ["fields", "contacts", "--json"],
            "import": ["import", str(data), "-m", str(mapping), "--json"],
            "validate": ["validate", str(data), "-m", str(mapping), "--online", "--json"]}
    code = 3                                   # any CRM error that stops a command
    with HostileServer(sandbox.url, [rule]) as crm:
        for args in (runs[name] for name in commands):
            result = run_cli(args, url=crm.url, token=TOKEN)
            assert result.returncode == code, (args, result.stderr)
            assert result.stderr.startswith("error: ") and "Bearer ***" in result.stderr
            assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.encode() not in everything_written(tmp_path)


def test_the_token_never_reaches_a_dry_run_plan(sandbox: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["First Name", "Email"], [["A", TOKEN + "@example.com"]])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    plan = tmp_path / "plan.jsonl"
    result = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(plan),
                      "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode in (0, 1), result.stderr
    assert plan.exists() and TOKEN not in plan.read_text() and TOKEN not in result.stdout
