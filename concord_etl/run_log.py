"""The run log: one JSON line per HTTP request and per run event, redacted, rotated by size.

    with RunLog("logs/concord.log") as log:
        client = connect(profile="staging", on_request=log.request)
        log.add_secret(client_token)             # besides the patterns redact() knows
        log.event("run.start", command="export contacts")
        ...
        log.event("run.end", exit_code=0)

Every line is a JSON object with ``ts`` (UTC, milliseconds), ``run`` (an id shared by the lines
of one run, so overlapping cron runs can be told apart) and ``event`` (``request``,
``run.start``, ``run.end``, ...), then the event's fields; a request line has ``method``,
``path``, ``status`` (or ``error``), ``duration_s``, ``attempt``, ``waited_s`` and
``rate_limit``. Text passes through :func:`concord_etl.settings.redact` (known secrets, the
``Authorization`` value and token shapes become ``***``) before it is written. The file is
appended to and rotated when it passes ``max_bytes``: ``run.log.1`` ... ``run.log.N`` keep the
older lines. ``echo`` (the CLI's ``--verbose``) also receives a short human-readable line per
event. A log that cannot be written warns once on ``warn`` and never stops the run.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from concord_etl.errors import ConfigError
from concord_etl.settings import Secret, redact

if TYPE_CHECKING:
    from concord_etl.crm.request_event import RequestEvent

__all__ = ["DEFAULT_BACKUPS", "DEFAULT_MAX_BYTES", "RunLog"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5

Echo = Callable[[str], None]


class _Handler(logging.handlers.RotatingFileHandler):
    """A rotating file handler that reports a write failure once, in one line."""

    def __init__(self, path: Path, max_bytes: int, backups: int, warn: Echo) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._warn = warn
        self._warned = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self._warned:
            self._warned = True
            self._warn(f"warning: cannot write the log file {self.baseFilename}; "
                       "the run goes on without it")


class RunLog:
    """JSON lines of one run (see the module doc). Thread-safe; use it as a context manager."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        echo: Echo | None = None,
        warn: Echo | None = None,
        secrets: Iterable[Secret | str] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        run_id: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._echo = echo
        self._secrets: list[Secret | str] = list(secrets)
        self._lock = threading.Lock()
        self._handler: _Handler | None = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handler = _Handler(self.path, max_bytes, backups, warn or _ignore)
            except OSError as exc:
                message = f"cannot open the log file {self.path}: {exc.strerror or exc}"
                raise ConfigError(message) from None

    # -- what gets logged ----------------------------------------------------------------------
    def add_secret(self, secret: Secret | str | None) -> None:
        """Also replace this value by ``***`` wherever it would appear."""
        if secret:
            with self._lock:
                self._secrets.append(secret)

    def event(self, name: str, **fields: Any) -> None:
        """One run event (``run.start``, ``run.end``, ``settings``, ...)."""
        self._write({"event": name, **fields}, _describe(name, fields))

    def request(self, event: RequestEvent) -> None:
        """The client's ``on_request`` observer: one line per attempt."""
        data = event.as_dict()
        self._write({"event": "request", **data}, _describe_request(data))

    # -- writing -------------------------------------------------------------------------------
    def _write(self, fields: dict[str, Any], human: str) -> None:
        with self._lock:
            secrets = tuple(self._secrets)
        clean = _redacted(fields, secrets)
        if self._handler is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            line = json.dumps({"ts": stamp, "run": self.run_id, **clean},
                              ensure_ascii=False, default=str)
            record = logging.LogRecord("concord_etl.run", logging.INFO, __file__, 0,
                                       redact(line, secrets), None, None)
            self._handler.handle(record)
        if self._echo is not None:
            self._echo(redact(human, secrets))

    def close(self) -> None:
        if self._handler is not None:
            self._handler.close()
            self._handler = None

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _ignore(_: str) -> None:
    return None


def _redacted(value: Any, secrets: tuple[Secret | str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(str(k), secrets): _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, secrets) for v in value]
    if isinstance(value, Secret):
        return "***"
    return value


def _describe_request(data: dict[str, Any]) -> str:
    outcome = data["status"] if data["status"] is not None else f"no answer ({data['error']})"
    parts = [f"{data['method']} {data['path']} -> {outcome} in {data['duration_s']:.3f} s"]
    if data["attempt"] > 1:
        parts.append(f"attempt {data['attempt']}")
    if data["waited_s"] >= 0.05:
        parts.append(f"waited {data['waited_s']:.1f} s for the rate limit")
    rate = data["rate_limit"]
    if rate["remaining"] is not None and rate["limit"] is not None:
        parts.append(f"rate limit {rate['remaining']}/{rate['limit']} left")
    if rate["retry_after"] is not None and data["status"] == 429:
        parts.append(f"retry after {rate['retry_after']:.0f} s")
    return ", ".join(parts)


def _describe(name: str, fields: dict[str, Any]) -> str:
    shown = " ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}"
                     for k, v in fields.items() if v is not None and v != {})
    return f"{name}: {shown}" if shown else name
