"""One error style and the README's exit code for every failure class."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from concord_etl.cli.common import describe_error
from concord_etl.errors import (
    AuthError,
    ConfigError,
    InputError,
    Interrupted,
    JournalError,
    MappingError,
    OutcomeUnknown,
    RateLimited,
    RecordRejected,
    RunLocked,
    UnexpectedAnswer,
    Unreachable,
    WriteFailed,
    exit_code,
)
from tests.helpers import REPO


@pytest.mark.parametrize(("error", "code"), [
    (ConfigError("bad option"), 2),
    (InputError("bad file"), 2),
    (MappingError("bad key", path="m.yaml", line=3), 2),
    (JournalError("another input"), 2),
    (AuthError("401"), 3),
    (Unreachable("no route"), 3),
    (RateLimited("429"), 3),
    (UnexpectedAnswer("html"), 3),
    (OutcomeUnknown("dropped"), 3),
    (RecordRejected("404 on create-fields"), 3),     # not about a row: the command stops
    (RunLocked("report running"), 3),
    (WriteFailed("disk full"), 3),
    (Interrupted("SIGTERM"), 3),
    (KeyboardInterrupt(), 3),
    (ValueError("a bug"), 3),
])
def test_every_failure_class_has_the_readme_exit_code(error: BaseException, code: int) -> None:
    assert exit_code(error) == code
    assert describe_error(error)[2] == code


def test_messages_say_what_to_do() -> None:
    message, hint, _code = describe_error(AuthError("GET x: refused"))
    assert message == "GET x: refused" and hint is not None and "rerun" in hint
    assert describe_error(RateLimited("GET x: still rate limited"))[1] == (
        "rerun the same command to resume")
    # an interruption is one line, its hint included
    assert describe_error(Interrupted("SIGHUP"))[:2] == (
        "interrupted by SIGHUP; rerun the same command to resume", None)
    assert describe_error(KeyboardInterrupt())[0].startswith("interrupted by Ctrl-C")
    message, hint, code = describe_error(ValueError("boom"))
    assert "a bug in concord-etl" in message and "CONCORD_ETL_DEBUG=1" in str(hint) and code == 3


def test_local_failures_before_any_crm_write_are_exit_2() -> None:
    text, _hint, code = describe_error(OSError(errno.ENOSPC, "No space left on device", "r.csv"))
    assert code == 2 and text.startswith("r.csv: No space left on device")
    assert describe_error(sqlite3.OperationalError("database or disk is full"))[2] == 2


@pytest.mark.parametrize(("args", "said"), [
    (["import"], "error: Missing argument 'FILE'"),
    (["nope"], "error: No such command 'nope'"),
    (["export", "widgets", "-o", "x.csv"], "error: Invalid value for "),
])
def test_click_errors_follow_the_same_style(args: list[str], said: str) -> None:
    done = subprocess.run([sys.executable, "-m", "concord_etl", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(said), done.stderr
    assert len(lines) == 2 and lines[1].startswith("hint: '") and "--help'" in lines[1]
    assert "Error:" not in done.stderr and "Usage:" not in done.stderr


def test_a_secret_in_an_unexpected_error_is_redacted(monkeypatch: Any) -> None:
    from concord_etl.settings import Secret

    Secret("bug-secret-4242")
    text, _hint, _code = describe_error(RuntimeError("failed with bug-secret-4242"))
    assert "bug-secret" not in text
