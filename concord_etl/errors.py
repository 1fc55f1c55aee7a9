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
    │   ├── RunLocked                 another run of the same work holds the lock
    │   └── WriteFailed               a local file (journal, results) could not be
    │                                 written after the CRM was changed (disk full)
    └── CrmError                      talking to the CRM went wrong (method, URL)
        ├── TransportError            no answer came back at all
        │   └── Unreachable*          could not connect, or reads kept failing       3
        ├── OutcomeUnknown            a *write* left but no trustworthy answer came
        │                             back (dropped, timed out, 5xx): do NOT resend;
        │                             reconcile by the row's match key first         3
        └── ApiError                  the CRM answered with an error status
            ├── RateLimited*          429 past the retry budget, or a Retry-After
            │                         longer than the client may wait                3
            ├── RecordRejected        422/400/404/409/413 about this record: reject
            │                         the row (``errors`` = Laravel field messages)  1
            ├── AuthError*            401/403/419: the token cannot be used          3
            └── UnexpectedAnswer*     5xx after retries, a redirect, HTML, JSON of
                                      the wrong shape, an answer too big or too slow  3

    * also an AbortRun: the run stops, and a rerun resumes it once the cause is fixed.

    Interrupted (a KeyboardInterrupt)  Ctrl-C, SIGTERM, SIGHUP: stop sending, finish  3
    InputWarning (a UserWarning)       noticed in an input file, worth telling
                                       (mixed encodings, stripped control characters)

Only ``concord_etl.cli`` turns these into exit codes (``exit_code``): any CRM error that
stops a command exits 3 (a rerun resumes), whatever its class says for a single row. Every
message passes ``concord_etl.redact.redact`` when the error is made, so it never contains the
API token, even when the text came from the server.
"""

from __future__ import annotations

from typing import Any

from concord_etl.redact import redact, redact_data

__all__ = [
    "AbortRun",
    "ApiError",
    "AuthError",
    "ConcordError",
    "ConfigError",
    "CrmError",
    "InputError",
    "InputWarning",
    "Interrupted",
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
    "WriteFailed",
    "exit_code",
]


class ConcordError(Exception):
    """Root of every error concord-etl raises on purpose; its message is always redacted."""

    exit_code = 1
    hint: str | None = None     # what to do about it; the CLI prints it after the error

    def __init__(self, *args: Any, hint: str | None = None) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))
        if hint is not None:
            self.hint = hint


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
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.sheet = sheet
        self.row = row
        self.column = column
        super().__init__(message, hint=hint)


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


class WriteFailed(AbortRun):
    """A local file could not be written after the CRM was changed (disk full, no permission).

    The journal's intents were written before each request, so a rerun — once there is room —
    knows what was sent and resumes without duplicates.
    """


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP: stop sending, let the requests in flight finish, write the
    results, exit 3. A KeyboardInterrupt, so code that handles Ctrl-C handles it too."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        self.signal_name = signal_name
        super().__init__(f"interrupted by {signal_name}")


class InputWarning(UserWarning):
    """Something in an input file worth telling the user, which does not stop the run."""


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
        self.body = redact_data(body)
        self.headers = redact_data(headers or {})
        super().__init__(message, method=method, url=url)


class RateLimited(ApiError, AbortRun):
    """429 Too Many Attempts; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class RecordRejected(ApiError):
    """The CRM refused this one record (422, 400, 404, 409, 413): reject the row, go on."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kw: Any) -> None:
        self.errors = redact_data(errors or {})
        super().__init__(message, **kw)


class AuthError(ApiError, AbortRun):
    """401/403/419: the token is wrong, lacks API access, or a browser header was sent."""


class UnexpectedAnswer(ApiError, AbortRun):
    """The CRM kept failing (5xx on a read), redirected, or answered something unusable."""


def exit_code(error: BaseException) -> int:
    """The process exit code for an error that stopped a command (the README's table).

    2: nothing was sent (usage, configuration, mapping, input file, journal of another run).
    3: the command stopped part-way — a CRM error of any kind, an interruption, a local write
    that failed after the CRM was changed, a lock held by another run; rerunning resumes.
    """
    if isinstance(error, UsageError):
        return 2
    if isinstance(error, AbortRun | CrmError | KeyboardInterrupt):
        return 3
    if isinstance(error, ConcordError):
        return error.exit_code
    return 3
