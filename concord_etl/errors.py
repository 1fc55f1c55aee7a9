"""The one exception tree of concord-etl, grouped by what the caller should do.

::

    ConcordError                     root of every error raised on purpose      exit
    ├── UsageError                   bad input before anything was sent            2
    │   ├── ConfigError              missing token, bad URL, bad option value       2
    │   ├── InputError               unreadable file, missing sheet/column, bad     2
    │   │                            header (names file, sheet, row, column)
    │   ├── MappingError             YAML mapping/report problem (file, key, line)  2
    │   └── JournalError             journal belongs to other input/mapping, or     2
    │                                is unreadable (use --restart)
    ├── ValidationFailed             strict mode only: rows failed validation       1
    ├── RunLocked                    another run of the same report is going on     3
    └── ApiError                     the CRM answered badly (status, body excerpt,
        │                            method, URL without token)
        ├── TransientApiError        retry later: 429, 5xx, timeouts, connection
        │   ├── RateLimited          429, carries ``retry_after`` seconds
        │   └── OutcomeUnknown       a write was sent but no answer came back:
        │                            reconcile by match key before re-sending
        ├── AbortRun                 stop the run, it is resumable              3
        │   ├── AuthError            401 / 403 / 419
        │   └── Unreachable          retries exhausted, CRM unreachable
        └── RecordRejected           this row only: 422, 404, 409, 400
                                     (``errors`` holds Laravel field messages)

Only ``concord_etl.cli`` turns these into exit codes (see ``exit_code``).
Messages never contain the API token.
"""

from __future__ import annotations

from typing import Any


class ConcordError(Exception):
    """Root of every error concord-etl raises on purpose."""

    exit_code = 1


class UsageError(ConcordError):
    """Something was wrong before anything was sent to the CRM (exit 2)."""

    exit_code = 2


class ConfigError(UsageError, ValueError):
    """Missing token, bad URL, a bad option value."""


class InputError(UsageError):
    """An input file cannot be used: unreadable, empty, bad header, missing column."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = path
        self.sheet = sheet
        self.row = row
        self.column = column
        super().__init__(message)


class MappingError(UsageError):
    """A mapping or report YAML file is invalid; names the file, key path and line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.key = key
        self.line = line
        where = ""
        if path:
            where = str(path)
            if line is not None:
                where += f":{line}"
            where += ": "
        if key:
            where += f"{key}: "
        super().__init__(where + message)


class JournalError(UsageError):
    """The journal belongs to another input or mapping, or cannot be read."""


class ValidationFailed(ConcordError):
    """Rows failed validation and the caller asked for strict behaviour."""

    exit_code = 1


class RunLocked(ConcordError):
    """Another run holds the lock (e.g. the same report started twice by cron)."""

    exit_code = 3


class ApiError(ConcordError):
    """The CRM answered with an error, or did not answer."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.body = body
        self.headers = headers or {}
        super().__init__(message)


class TransientApiError(ApiError):
    """Worth retrying later: 429, 5xx, timeouts, connection errors."""


class RateLimited(TransientApiError):
    """429 Too Many Attempts; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class OutcomeUnknown(TransientApiError):
    """A write was sent but its outcome is unknown (no answer, timeout, 5xx)."""


class AbortRun(ApiError):
    """The run cannot go on now; rerunning the same command resumes it (exit 3)."""

    exit_code = 3


class AuthError(AbortRun):
    """401/403/419: the token is wrong, lacks API access, or a browser header was sent."""


class Unreachable(AbortRun):
    """The CRM could not be reached after retries."""


class RecordRejected(ApiError):
    """The CRM refused this one record (422, 404, 409, 400): reject the row, go on."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kw: Any) -> None:
        self.errors = errors or {}
        super().__init__(message, **kw)


def exit_code(error: BaseException) -> int:
    """The process exit code for an error (see SPEC §2)."""
    if isinstance(error, ConcordError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return 3
    return 1
