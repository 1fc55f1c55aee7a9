"""Record pages of one resource, as an export reads them.

Two orders:

- everything: ``order=id|asc`` (stable), ``per_page=100``; after the first page (which tells
  how many pages there are and lets the pacer learn the rate limit) several pages are fetched
  at a time, as many as the pacer suggests, and yielded in page order;
- ``since``: ``order=updated_at|desc``, one page after the other, stopping at the first record
  updated before ``since`` (the rest of the list is never requested).

A record seen twice (the list shifted while paging) is yielded once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from concord_etl.crm.wire import as_datetime
from concord_etl.errors import ConfigError, RecordRejected

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

PER_PAGE = 100
RELATIONS = ("companies", "contacts", "deals")
DEFAULT_WORKERS = 4
MAX_WORKERS = 8

_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Record = dict[str, Any]


def parse_since(value: str | datetime | None, *, now: datetime | None = None) -> datetime | None:
    """``30m``/``12h``/``7d``/``2w`` ago, or an ISO date/time (naive means UTC); aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    match = _DURATION.fullmatch(text)
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return (now or datetime.now(UTC)) - delta
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = (f"since {text!r}: expected an ISO date/time (2024-05-01, 2024-05-01T10:00, "
               "2024-05-01T10:00:00Z) or a duration (30m, 12h, 7d, 2w)")
        raise ConfigError(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp(value: Any) -> datetime | None:
    """A record's ``updated_at``/``created_at`` as an aware UTC datetime (None if absent/bad)."""
    return as_datetime(value)


def list_params(
    *, since: datetime | None, query: str | None, relations: Iterable[str] = ()
) -> dict[str, Any]:
    """Query parameters of a list request (``order``, ``q``, ``with``)."""
    params: dict[str, Any] = {"order": "updated_at|desc" if since else "id|asc"}
    if query:
        params["q"] = query
    wanted = [r for r in dict.fromkeys(relations) if r in RELATIONS]
    if wanted:
        params["with"] = ";".join(wanted)
    return params


def fetch_page(client: ConcordClient, resource: str, number: int, params: dict[str, Any]) -> Record:
    """One page; a 404 on the list means the CRM has no such resource."""
    try:
        return client.page(resource, page=number, per_page=PER_PAGE, params=params)
    except RecordRejected as exc:
        if exc.status == 404:
            msg = f"the CRM has no resource {resource!r} (GET /api/{resource} answered 404)"
            raise ConfigError(msg) from None
        raise


def suggested_workers(client: ConcordClient) -> int:
    """How many pages to fetch at once: the pacer's suggestion, between 1 and MAX_WORKERS."""
    pacer = getattr(client, "pacer", None)
    suggest: Callable[[], int] | None = getattr(pacer, "suggest_concurrency", None)
    if suggest is None:
        suggest = getattr(client, "suggest_concurrency", None)
    if suggest is None:
        return DEFAULT_WORKERS
    return max(1, min(MAX_WORKERS, int(suggest())))


def _data(page: Record) -> list[Record]:
    data = page.get("data") if isinstance(page, dict) else None
    return data if isinstance(data, list) else []


def _last_page(page: Record) -> int:
    meta = page.get("meta") if isinstance(page, dict) else None
    try:
        return max(1, int((meta or {}).get("last_page") or 1))
    except (TypeError, ValueError):
        return 1


def pages_in_order(client: ConcordClient, resource: str, params: dict[str, Any]) -> Iterator[list[Record]]:
    """Every page of the list, fetched a few at a time after the first, yielded in order."""
    first = fetch_page(client, resource, 1, params)
    yield _data(first)
    last = _last_page(first)
    if last <= 1 or not _data(first):
        return
    workers = min(suggested_workers(client), last - 1)
    with ThreadPoolExecutor(workers, thread_name_prefix="concord-page") as pool:
        pending: list[Future[Record]] = []
        upcoming = 2
        try:
            while upcoming <= last or pending:
                while upcoming <= last and len(pending) < workers * 2:
                    pending.append(pool.submit(fetch_page, client, resource, upcoming, params))
                    upcoming += 1
                data = _data(pending.pop(0).result())
                if not data:  # the list shrank while we paged: nothing further
                    return
                yield data
        finally:
            for future in pending:
                future.cancel()


def pages_until(
    client: ConcordClient, resource: str, params: dict[str, Any], since: datetime
) -> Iterator[list[Record]]:
    """Pages newest first, one at a time, until a record older than ``since`` shows up."""
    number = 1
    while True:
        page = fetch_page(client, resource, number, params)
        data = _data(page)
        fresh: list[Record] = []
        for record in data:
            updated = timestamp(record.get("updated_at"))
            if updated is not None and updated < since:
                if fresh:
                    yield fresh
                return
            fresh.append(record)
        if fresh:
            yield fresh
        if not data or number >= _last_page(page):
            return
        number += 1


def iter_records(
    client: ConcordClient,
    resource: str,
    *,
    since: datetime | None = None,
    query: str | None = None,
    relations: Iterable[str] = (),
) -> Iterator[Record]:
    """Records of ``resource`` (by id; with ``since``: updated at or after it, newest first)."""
    params = list_params(since=since, query=query, relations=relations)
    pages = (pages_until(client, resource, params, since) if since is not None
             else pages_in_order(client, resource, params))
    seen: set[Any] = set()
    for data in pages:
        for record in data:
            key = record.get("id")
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield record
