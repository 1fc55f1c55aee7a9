"""The one exception tree of concord-etl, grouped by what the caller should do.

Two questions decide where an error sits: *what should the caller do* (fix the input, stop and
rerun, reject this row, reconcile) and, for the CRM, *did an answer come back* (a transport
failure) or *did the CRM answer with an error* (an API error with a status and a body)::

    ConcordError                      root of every error raised on purpose       exit
    ├── UsageError                    wrong before anything was sent: fix, rerun     2
    │   ├── ConfigError               missing token, bad URL, bad option value
    │   ├── InputError                unreadable file, bad header, missing column
    │   │                             (names file, sheet, row, column)
    │   ├── MappingError              mapping/report YAML problem (file, key, line)
    │   └── JournalError              the journal belongs to another input/mapping
    ├── AbortRun                      stop now; rerunning the same command resumes   3
    │   └── RunLocked                 another run of the same work holds the lock
    └── CrmError                      talking to the CRM went wrong (method, URL)
        ├── TransportError            no answer came back at all
        │   └── Unreachable*          could not connect, or reads kept failing       3
        ├── OutcomeUnknown            a *write* left but no trustworthy answer came
        │                             back (dropped, timed out, 5xx): do NOT resend;
        │                             reconcile by the row's match key first         3
        └── ApiError                  the CRM answered with an error status
            ├── RateLimited           429: wait ``retry_after`` seconds, then retry
            ├── RecordRejected        422/400/404/409/413 about this record: reject
            │                         the row (``errors`` = Laravel field messages)  1
            ├── AuthError*            401/403/419: the token cannot be used          3
            └── UnexpectedAnswer*     5xx after retries, a redirect, HTML, or JSON
                                      of the wrong shape                              3

    * also an AbortRun: the run stops, and a rerun resumes it once the cause is fixed.

Only ``concord_etl.cli`` turns these into exit codes (``exit_code``). Messages never contain
the API token.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AbortRun",
    "ApiError",
    "AuthError",
    "ConcordError",
    "ConfigError",
    "CrmError",
    "InputError",
    "JournalError",
    "MappingError",
    "OutcomeUnknown",
    "RateLimited",
    "RecordRejected",
    "RunLocked",
    "TransportError",
    "UnexpectedAnswer",
    "Unreachable",
    "UsageError",
    "exit_code",
]


class ConcordError(Exception):
    """Root of every error concord-etl raises on purpose."""

    exit_code = 1


# -- fix the input and rerun (nothing was sent) ----------------------------------------------


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


# -- stop the run; rerunning resumes ---------------------------------------------------------


class AbortRun(ConcordError):
    """The run cannot go on now; rerunning the same command resumes it (exit 3)."""

    exit_code = 3


class RunLocked(AbortRun):
    """Another run holds the lock (the same import or report started twice)."""


# -- talking to the CRM ------------------------------------------------------------------------


class CrmError(ConcordError):
    """A request to the CRM failed; ``method`` and ``url`` (never the token) say which."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class TransportError(CrmError):
    """No answer came back (connection refused or reset, timeout, TLS failure)."""


class Unreachable(TransportError, AbortRun):
    """The CRM could not be reached, or reads kept failing after every retry."""


class OutcomeUnknown(CrmError):
    """A write was sent but no trustworthy answer came back, so it may have been applied.

    Never send it again blindly: look the record up by the row's match key first.
    ``status`` is the 5xx that came back, or ``None`` when there was no answer at all.
    """

    exit_code = 3

    def __init__(self, message: str, *, status: int | None = None, **kw: Any) -> None:
        self.status = status
        super().__init__(message, **kw)


class ApiError(CrmError):
    """The CRM answered with an error status; ``body`` is an excerpt of its answer."""

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
        self.body = body
        self.headers = headers or {}
        super().__init__(message, method=method, url=url)


class RateLimited(ApiError):
    """429 Too Many Attempts; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class RecordRejected(ApiError):
    """The CRM refused this one record (422, 400, 404, 409, 413): reject the row, go on."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kw: Any) -> None:
        self.errors = errors or {}
        super().__init__(message, **kw)


class AuthError(ApiError, AbortRun):
    """401/403/419: the token is wrong, lacks API access, or a browser header was sent."""


class UnexpectedAnswer(ApiError, AbortRun):
    """The CRM kept failing (5xx on a read), redirected, or answered something unusable."""


def exit_code(error: BaseException) -> int:
    """The process exit code for an error (see the README's exit-code table)."""
    if isinstance(error, ConcordError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return 3
    return 1
