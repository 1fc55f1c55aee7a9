"""Wire-level helpers of the Concord client: statuses, search batching, JSON, URLs.

Pure functions (no network): how an HTTP answer maps onto the error tree, how lookups are
batched into ``search_fields=field:in`` queries, how bodies are encoded and values read back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from concord_etl.errors import (
    AuthError,
    CrmError,
    OutcomeUnknown,
    RecordRejected,
    UnexpectedAnswer,
)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_PER_PAGE = 100
EXCERPT_CHARS = 300
_SECRET_PARAM = re.compile(r"token|secret|password|passwd|api[_-]?key|auth", re.IGNORECASE)
_RESOURCE = re.compile(r"^[a-z][a-z0-9-]*$")
_SEARCH_SPECIAL = re.compile(r"[,:;]")


# -- batched search ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchQuery:
    """One list query of :meth:`ConcordClient.search_in`; ``exact`` filters client-side."""

    params: dict[str, str]
    field: str
    exact: frozenset[str] | None = None

    def accepts(self, record: Mapping[str, Any]) -> bool:
        if self.exact is None:
            return True
        value = record.get(self.field)
        return value is not None and str(value).strip().casefold() in self.exact


def search_plan(field: str, values: Iterable[Any], *, batch: int = MAX_PER_PAGE,
                max_chars: int = 2000) -> Iterator[SearchQuery]:
    """Queries finding ``values`` of ``field``: batches of ≤ ``batch`` values (and ≤
    ``max_chars`` of query) with ``field:in``. Concord splits ``in`` values on commas and reads
    ``:``/``;`` in ``q`` as ``field:value`` syntax, so such values go one by one: with ``=``
    when they only contain commas, else as ``like`` on their longest plain fragment, filtered
    here for equality."""
    keys = list(dict.fromkeys(str(v).strip() for v in values if v is not None))
    keys = [k for k in keys if k]
    plain = [k for k in keys if not _SEARCH_SPECIAL.search(k)]
    chunk: list[str] = []
    size = 0
    for key in plain:
        if chunk and (len(chunk) >= batch or size + len(key) + 1 > max_chars):
            yield SearchQuery({"q": ",".join(chunk), "search_fields": f"{field}:in"}, field)
            chunk, size = [], 0
        chunk.append(key)
        size += len(key) + 1
    if chunk:
        yield SearchQuery({"q": ",".join(chunk), "search_fields": f"{field}:in"}, field)
    for key in keys:
        if not _SEARCH_SPECIAL.search(key):
            continue
        if ":" not in key and ";" not in key:
            yield SearchQuery({"q": key, "search_fields": f"{field}:="}, field)
            continue
        fragment = max(_SEARCH_SPECIAL.split(key), key=len).strip()
        if fragment:
            yield SearchQuery({"q": fragment, "search_fields": f"{field}:like"}, field,
                              exact=frozenset({key.casefold()}))


# -- helpers ----------------------------------------------------------------------------------
def classify_status(status: int, payload: Any, method: str, failures: int = 0
                    ) -> tuple[type[CrmError], str]:
    """The error class and message for an HTTP error status (token-free)."""
    said = _server_message(payload) or f"HTTP {status}"
    if status == 401:
        return AuthError, f"the CRM refused the token ({status} {said}); check CONCORD_TOKEN"
    if status == 403 and isinstance(payload, dict) and payload.get("error"):
        return AuthError, (f"the token's user may not use the API ({status} {said}); an "
                           "administrator must enable API access for that user in Concord")
    if status == 403 and "search field" in said.lower():
        return UnexpectedAnswer, f"the CRM cannot search that field ({status} {said})"
    if status == 403:
        return AuthError, f"the CRM refused ({status} {said}); the token's user lacks permission"
    if status == 419:
        return AuthError, (f"the CRM treated the request as a browser request ({status} {said}):"
                           " an Origin or Referer header reached it (a proxy?)")
    if status in (400, 404, 409, 413, 422):
        return RecordRejected, f"the CRM rejected it ({status} {said})"
    if status >= 500 and method in WRITE_METHODS:
        return OutcomeUnknown, (f"server error ({status} {said}): the write may or may not have "
                                "been applied; reconcile before sending it again")
    if status >= 500:
        return UnexpectedAnswer, f"server error ({status} {said}) after {failures + 1} attempts"
    if 300 <= status < 400:
        return UnexpectedAnswer, f"the CRM answered with a redirect ({status})"
    return UnexpectedAnswer, f"unexpected answer ({status} {said})"


def sent_before_failure(exc: Exception) -> bool:
    """False only when the request certainly never left (connect refused / timed out)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    inner = exc.args[0] if exc.args else None
    return not (isinstance(inner, MaxRetryError) and isinstance(inner.reason, ConnectTimeoutError))


def display_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The URL as shown in errors and logs: secret-looking query values replaced by ``***``."""
    if not params:
        return url
    shown = {k: ("***" if _SECRET_PARAM.search(str(k)) else v) for k, v in params.items()}
    text = f"{url}?{urlencode(shown, safe=',:;|@*')}"
    return text if len(text) <= 400 else text[:397] + "..."


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON; Decimal, date/datetime and numpy/pandas scalars are accepted."""
    return json.dumps(body, default=_json_default, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item"):                     # numpy scalar
        return value.item()
    message = f"cannot send a {type(value).__name__} as JSON"
    raise TypeError(message)


def record_path(resource: str, record_id: int | str | None = None) -> str:
    if not _RESOURCE.match(resource):
        message = f"not a Concord resource name: {resource!r}"
        raise ValueError(message)
    if record_id is None:
        return f"/{resource}"
    return f"/{resource}/{quote(str(record_id), safe='')}"


def json_or_none(content: bytes) -> Any:
    """The JSON of an answer's body, or None when it is not JSON (HTML, empty, too deep)."""
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _server_message(payload: Any) -> str:
    if isinstance(payload, dict):
        text = payload.get("message") or payload.get("error") or ""
        return str(text)[:EXCERPT_CHARS]
    return ""


# -- tolerant reading of response values --------------------------------------------------------
def as_decimal(value: Any) -> Decimal | None:
    """A CRM number as Decimal: JSON numbers and numeric strings ("1200.000") alike."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def as_datetime(value: Any) -> datetime | None:
    """A CRM timestamp (``2024-09-22T10:15:30.000000Z``, ``2024-09-22 10:15:30``, ``2024-09-22``)
    as an aware UTC datetime; naive values are taken as UTC."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
