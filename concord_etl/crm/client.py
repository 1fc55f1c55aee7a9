"""ConcordClient: the one way concord-etl talks to the CRM's REST API (over ``requests``).

* One ``requests.Session`` per thread (keep-alive), so a thread pool can share one client.
* Headers: ``Accept``/``Content-Type: application/json``, ``Authorization: Bearer``,
  ``User-Agent: concord-etl/<version>``; never ``Origin``/``Referer`` (Concord answers 419).
  ``trust_env=False`` (no per-request proxy/netrc lookups); proxies only when passed.
* Every request goes through the :class:`~concord_etl.crm.pacing.Pacer` (rate limit).
* Retries: a 429 is never committed, so it is retried (reads and writes) after the pacer's
  wait. Reads are retried on 5xx, timeouts and connection errors with exponential backoff +
  jitter, then :class:`UnexpectedAnswer` (5xx) or :class:`Unreachable` (no answer). Writes are retried only when the connection failed
  *before* the request was sent; anything after (read timeout, reset, 5xx) is
  :class:`OutcomeUnknown` at once — the uploader reconciles by match key.
* Errors (see :mod:`concord_etl.errors`) carry method, URL (no secrets), status and a body
  excerpt; the token never appears in them.
"""

from __future__ import annotations

import random as _random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from concord_etl._version import __version__
from concord_etl.crm.fields import ResourceFields, fetch_fields
from concord_etl.crm.pacing import Pacer, parse_rate_headers
from concord_etl.crm.request_event import RequestObserver, request_event
from concord_etl.crm.wire import (
    EXCERPT_CHARS,
    MAX_PER_PAGE,
    WRITE_METHODS,
    SearchQuery,
    as_datetime,
    as_decimal,
    classify_status,
    display_url,
    encode_json,
    json_or_none,
    record_path,
    search_plan,
    sent_before_failure,
)
from concord_etl.errors import (
    ApiError,
    CrmError,
    OutcomeUnknown,
    RateLimited,
    RecordRejected,
    UnexpectedAnswer,
    Unreachable,
)
from concord_etl.settings import Secret, check_token, load_settings, normalise_url

__all__ = [
    "MAX_PER_PAGE",
    "WRITE_METHODS",
    "ClientStats",
    "ConcordClient",
    "RetryPolicy",
    "SearchQuery",
    "as_datetime",
    "as_decimal",
    "classify_status",
    "connect",
    "display_url",
    "encode_json",
    "search_plan",
    "sent_before_failure",
]
_KEPT_HEADERS = ("retry-after", "x-ratelimit-limit", "x-ratelimit-remaining",
                 "x-ratelimit-reset", "x-app-version", "content-type", "location")


@dataclass
class ClientStats:
    """Counters since the client was made (thread-safe)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {"requests": self.requests, "retries": self.retries,
                    "rate_limited": self.rate_limited, "wait_seconds": self.wait_seconds}


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of reads (and of writes that never left); 429s are counted separately."""

    max_retries: int = 5
    max_rate_limited: int = 30
    backoff: float = 0.5
    max_backoff: float = 30.0

    def delay(self, failures: int, jitter: float) -> float:
        """Exponential backoff; ``jitter`` in [0, 1) scales it by 0.5-1.5."""
        return min(self.max_backoff, self.backoff * 2 ** (failures - 1)) * (0.5 + jitter)


class ConcordClient:
    """Thread-safe client of one Concord CRM (``url`` without ``/api``)."""

    def __init__(
        self,
        url: str,
        token: str | Secret,
        *,
        timeout: tuple[float, float] = (5.0, 60.0),
        allow_insecure_http: bool = False,
        pacer: Pacer | None = None,
        session_factory: Callable[[], requests.Session] = requests.Session,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        on_request: RequestObserver | None = None,
    ) -> None:
        self.on_request = on_request    # called with a RequestEvent after each attempt (logs)
        self.base_url = normalise_url(url, allow_insecure_http=allow_insecure_http)
        self.api_url = self.base_url + "/api"
        self._token = check_token(token, source="the client's token argument")
        self.timeout = timeout
        self.pacer = pacer if pacer is not None else Pacer()
        self.stats = ClientStats()
        self._session_factory = session_factory
        self._proxies = dict(proxies) if proxies else None
        self._verify = verify
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._random = random
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ConcordClient({self.base_url!r}, token=***)"

    def __enter__(self) -> ConcordClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's session (their keep-alive connections)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # -- resource API -----------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def show(self, resource: str, record_id: int | str, params: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:
        return self.request("GET", record_path(resource, record_id), params=params)

    def create(self, resource: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", record_path(resource), body=body)

    def update(self, resource: str, record_id: int | str, body: Mapping[str, Any]
               ) -> dict[str, Any]:
        return self.request("PUT", record_path(resource, record_id), body=body)

    def delete(self, resource: str, record_id: int | str) -> None:
        self.request("DELETE", record_path(resource, record_id))

    def me(self) -> dict[str, Any]:
        """The token's user (a cheap connectivity and auth check)."""
        return self.request("GET", "/me")

    def create_fields(self, resource: str) -> list[dict[str, Any]]:
        """The raw JSON array of ``GET /api/{resource}/create-fields?intent=create`` (without
        ``intent`` Concord may leave ``isRequired`` false for fields required on create)."""
        payload = self.request("GET", record_path(resource) + "/create-fields",
                               params={"intent": "create"})
        return _descriptor_list(payload)

    def update_fields(self, resource: str, record_id: int | str) -> list[dict[str, Any]]:
        """The raw JSON array of ``GET /api/{resource}/{id}/update-fields?intent=update``."""
        payload = self.request("GET", record_path(resource, record_id) + "/update-fields",
                               params={"intent": "update"})
        return _descriptor_list(payload)

    def any_record_id(self, resource: str) -> int | None:
        """The id of one existing record of ``resource`` (for its update-fields), or None."""
        envelope = self.page(resource, 1, 1)
        for record in envelope.get("data") or ():
            if isinstance(record, dict) and isinstance(record.get("id"), int):
                return int(record["id"])
        return None

    def resource_fields(self, resource: str, *, updates: bool = True) -> ResourceFields:
        """Every field a mapping of ``resource`` may use (see ``fields.fetch_fields``)."""
        return fetch_fields(self, resource, updates=updates)

    def page(self, resource: str, page: int = 1, per_page: int = MAX_PER_PAGE,
             params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One page of a list: the Laravel envelope ``{data, links, meta}``."""
        query = dict(params or {})
        query["page"] = page
        query["per_page"] = max(1, min(int(per_page), MAX_PER_PAGE))
        payload = self.request("GET", record_path(resource), params=query)
        if isinstance(payload, list):                # a non-paginated collection
            return {"data": payload, "meta": {"current_page": 1, "last_page": 1}}
        return payload or {"data": [], "meta": {}}

    def iter_records(self, resource: str, params: Mapping[str, Any] | None = None,
                     per_page: int = MAX_PER_PAGE, order: str | None = "id|asc"
                     ) -> Iterator[dict[str, Any]]:
        """Every record of a list, page by page (page URLs are built here: ``links`` drop
        ``per_page``). ``order`` keeps paging stable."""
        query = dict(params or {})
        if order and "order" not in query:
            query["order"] = order
        number = 1
        while True:
            envelope = self.page(resource, number, per_page, query)
            data = envelope.get("data") or []
            yield from data
            last = (envelope.get("meta") or {}).get("last_page")
            if not data or (last is not None and number >= int(last)):
                return
            number += 1

    def search_in(self, resource: str, field: str, values: Iterable[Any],
                  params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """All records whose ``field`` equals one of ``values`` (the server's matching).

        ≤ 100 values per request with ``search_fields=field:in``; values containing a comma
        (or ``:``/``;``, which Concord reads as ``field:value`` syntax) cost one request each.
        """
        queries = list(search_plan(field, values))

        def run(query: SearchQuery) -> list[dict[str, Any]]:
            records = self.iter_records(resource, {**(params or {}), **query.params})
            return [record for record in records if query.accepts(record)]

        workers = min(len(queries), self.pacer.suggest_concurrency())
        if workers > 1:  # batches are independent: ask for them side by side
            with ThreadPoolExecutor(workers, thread_name_prefix="concord-search") as pool:
                batches = list(pool.map(run, queries))
        else:
            batches = [run(query) for query in queries]
        found: dict[Any, dict[str, Any]] = {}
        for batch in batches:
            for record in batch:
                found.setdefault(record.get("id", id(record)), record)
        return list(found.values())

    # -- transport --------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> Any:
        """Send one API request (``path`` below ``/api``), paced, retried, errors mapped."""
        call = _Call(method.upper(), self.api_url + "/" + path.lstrip("/"), params)
        data = None if body is None else encode_json(body)
        failures = limited = 0
        while True:
            response, failure = self._send(call, data, attempt=failures + limited + 1)
            if response is None:
                failures += 1
                self._after_failure(failure, call, failures)
            elif response.status_code == 429:
                limited += 1
                self.stats.add(rate_limited=1, retries=1)
                if limited > self.retry.max_rate_limited:
                    what = f"still rate limited after {limited} attempts"
                    raise self._error(RateLimited, response, call, what)
            elif response.status_code >= 500 and not call.write and failures < self.retry.max_retries:
                failures += 1
                self._backoff_sleep(failures)
            else:
                return self._result(response, call, failures)

    def _send(self, call: _Call, data: bytes | None, attempt: int = 1
              ) -> tuple[requests.Response | None, Exception | None]:
        ticket = self.pacer.acquire()
        self.stats.add(requests=1, wait_seconds=ticket.waited)
        response: requests.Response | None = None
        failure: Exception | None = None
        started = time.monotonic()
        try:
            response = self._session().request(call.method, call.url, params=call.params,
                                               data=data, timeout=self.timeout,
                                               allow_redirects=False)
            return response, None
        except requests.RequestException as exc:
            failure = exc
            return None, exc
        finally:
            status = None if response is None else response.status_code
            headers = None if response is None else response.headers
            self.pacer.observe(ticket, status, headers)
            if self.on_request is not None:
                self._notify(call, attempt, ticket.waited, started, status, headers, failure)

    def _notify(self, call: _Call, attempt: int, waited: float, started: float,
                status: int | None, headers: Mapping[str, str] | None,
                failure: Exception | None) -> None:
        """Tell the ``on_request`` observer about one attempt; its failures are ignored."""
        try:
            event = request_event(call.method, call.shown, self.base_url, attempt=attempt,
                                  waited=waited, started=started, status=status,
                                  headers=headers, error=failure)
            if self.on_request is not None:
                self.on_request(event)
        except Exception:  # an observer never changes a request
            pass

    def _after_failure(self, exc: Exception | None, call: _Call, failures: int) -> None:
        where = f"{call.method} {call.shown}"
        kind = type(exc).__name__
        if isinstance(exc, requests.exceptions.SSLError):
            message = (f"{where}: TLS failed ({kind}): the certificate could not be verified; "
                       "fix the server certificate or the CA bundle")
            raise Unreachable(message, method=call.method, url=call.shown) from None
        if call.write and exc is not None and sent_before_failure(exc):
            message = (f"{where}: no answer ({kind}): the CRM may or may not have applied it; "
                       "reconcile before sending it again")
            raise OutcomeUnknown(message, method=call.method, url=call.shown) from None
        if failures > self.retry.max_retries:
            message = f"{where}: the CRM could not be reached ({failures} attempts, {kind})"
            raise Unreachable(message, method=call.method, url=call.shown) from None
        self._backoff_sleep(failures)

    def _backoff_sleep(self, failures: int) -> None:
        self.stats.add(retries=1)
        self._sleep(self.retry.delay(failures, self._random()))

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            session.trust_env = False
            session.verify = self._verify
            session.proxies.update(self._proxies or {})
            for name in ("Origin", "Referer"):
                session.headers.pop(name, None)
            session.headers.update({
                "Accept": "application/json", "Content-Type": "application/json",
                "User-Agent": f"concord-etl/{__version__}",
                "Authorization": f"Bearer {self._token.reveal()}",
            })
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    # -- answers ----------------------------------------------------------------------------
    def _result(self, response: requests.Response, call: _Call, failures: int) -> Any:
        status = response.status_code
        if not 200 <= status < 300:
            payload = json_or_none(response)
            cls, what = classify_status(status, payload, call.method, failures)
            if 300 <= status < 400:
                what += f" to {response.headers.get('Location', '?')}; check the URL"
            errors = payload.get("errors") if isinstance(payload, dict) else None
            extra = {"errors": errors} if cls is RecordRejected and isinstance(errors, dict) else {}
            raise self._error(cls, response, call, what, **extra)
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "?")
            what = f"the answer is not JSON ({kind}); is the URL the Concord site root?"
            raise self._error(UnexpectedAnswer, response, call, what) from None

    def _error(self, cls: type[CrmError], response: requests.Response, call: _Call, what: str,
               **extra: Any) -> CrmError:
        message = f"{call.method} {call.shown}: {what}"
        if not issubclass(cls, ApiError):      # OutcomeUnknown: a 5xx answer to a write
            return OutcomeUnknown(message, status=response.status_code, method=call.method,
                                  url=call.shown)
        excerpt = response.text[:EXCERPT_CHARS].replace(self._token.reveal(), "***")
        headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
        if cls is RateLimited:
            extra["retry_after"] = parse_rate_headers(response.headers,
                                                      wall_now=time.time()).retry_after
        return cls(message, status=response.status_code,
                   method=call.method, url=call.shown, body=excerpt, headers=headers, **extra)


@dataclass(frozen=True)
class _Call:
    method: str
    url: str
    params: Mapping[str, Any] | None

    @property
    def write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def shown(self) -> str:
        return display_url(self.url, self.params)


def connect(
    url: str | None = None,
    *,
    token: str | Secret | None = None,
    token_file: str | Path | None = None,
    profile: str | None = None,
    allow_insecure_http: bool = False,
    **client_options: Any,
) -> ConcordClient:
    """A client for the CRM named by the arguments, else by ``CONCORD_URL``/``CONCORD_TOKEN``,
    a profile (``profile=`` or ``CONCORD_PROFILE``, from ``profiles.toml``) or a ``.env`` file in
    the working directory; see :func:`concord_etl.settings.load_settings`.

    ``client_options`` go to :class:`ConcordClient` (``timeout``, ``retry``, ``pacer``, ...).
    """
    settings = load_settings(
        url, token=token, token_file=token_file, profile=profile,
        allow_insecure_http=allow_insecure_http,
    )
    return ConcordClient(
        settings.url, settings.token, allow_insecure_http=settings.allow_insecure_http,
        **client_options,
    )


def _descriptor_list(payload: Any) -> list[dict[str, Any]]:
    """A descriptor answer: Concord sends a bare array (an object with ``data`` is tolerated)."""
    if isinstance(payload, dict):
        payload = payload.get("data", [])
    return [item for item in payload or () if isinstance(item, dict)]
