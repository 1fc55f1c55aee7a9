"""The one redaction every string passes before it leaves the process.

Error messages, the CLI's stderr and ``--json`` output, results files, journals, plan files and
logs all go through :func:`redact` (or :func:`redact_data` for JSON-like values). It removes

* every secret registered with :func:`register_secret` — the API token is registered the moment
  it is read (``settings.Secret``) — and, for a Sanctum token ``12|AbCd…``, its part after the
  ``|`` on its own, because a server may echo either;
* whatever follows ``Bearer`` and the value of an ``Authorization`` header written out in text,
  whichever token it is (a server echoing a header it received, a token never registered);
* anything shaped like a Concord API token (``12|`` and 20 or more letters and digits).

Server-supplied text (a 422 message, an error body) is redacted like our own: a hostile or
careless server that echoes the token gets it replaced by ``***`` everywhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "RedactingFilter", "install_log_redaction", "redact", "redact_data",
           "register_secret"]

MASK = "***"
MIN_SECRET = 4          # shorter "secrets" would mask ordinary text, not protect anything
_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_log_factory_installed = False
_BEARER = re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[^\s\"',;)}\]]+")
_SANCTUM = re.compile(r"\b\d+\|[A-Za-z0-9]{20,}")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\r\n\"',;}\]]+"
)


def register_secret(value: str) -> None:
    """Mask ``value`` (and a Sanctum token's plain-text part) in everything redacted from now."""
    global _secrets
    text = str(value).strip()
    parts = {text}
    if "|" in text:
        parts.add(text.split("|", 1)[1])
    parts = {p for p in parts if len(p) >= MIN_SECRET}
    with _lock:
        known = set(_secrets) | parts
        _secrets = tuple(sorted(known, key=len, reverse=True))   # longest first


def redact(text: Any) -> str:
    """``text`` as a string with every secret and Authorization value replaced by ``***``."""
    out = text if isinstance(text, str) else str(text)
    for secret in _secrets:
        if secret in out:
            out = out.replace(secret, MASK)
    if "earer" in out or "EARER" in out:
        out = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    if "uthorization" in out or "UTHORIZATION" in out:
        out = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{MASK}", out)
    if "|" in out:
        out = _SANCTUM.sub(MASK, out)
    return out


def redact_data(value: Any) -> Any:
    """Redact every string inside a JSON-like value (dict keys included); others as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v) for v in value)
    return value


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):           # a bad format: logging reports it itself
        return
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (for handlers set up elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def install_log_redaction() -> None:
    """Redact every log record made from now on, whatever its logger or handler (a log
    record factory; installing it twice is harmless)."""
    global _log_factory_installed
    with _lock:
        if _log_factory_installed:
            return
        _log_factory_installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
