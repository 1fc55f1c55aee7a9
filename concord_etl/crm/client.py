"""ConcordClient: the one way concord-etl talks to the CRM's REST API (over ``requests``).

* One ``requests.Session`` per thread (keep-alive), so a thread pool can share one client.
* Headers: ``Accept``/``Content-Type: application/json``, ``Authorization: Bearer``,
  ``User-Agent: concord-etl/<version>``; never ``Origin``/``Referer`` (Concord answers 419).
  ``trust_env=False`` (no per-request proxy/netrc lookups); proxies only when passed.
* Every request goes through the :class:`~concord_etl.crm.pacing.Pacer` (rate limit).
* Retries: a 429 is never committed, so it is retried (reads and writes) after the pacer's
  wait, which honours ``Retry-After`` (seconds or an HTTP date); a ``Retry-After`` longer
  than ``RetryPolicy.max_retry_after`` gives up at once with a clear :class:`RateLimited`.
  Reads are retried on 5xx, timeouts and connection errors with exponential backoff +
  jitter, then :class:`UnexpectedAnswer` (5xx) or :class:`Unreachable` (no answer). Writes
  are retried only when the connection failed *before* the request was sent; anything after
  (read timeout, reset, 5xx) is :class:`OutcomeUnknown` at once — the uploader reconciles by
  match key.
* Bounds: every request has a total ``deadline`` (connect + headers + whole body) and a
  ``max_body_bytes``; see :mod:`concord_etl.crm.transport`. An answer of the wrong shape
  (HTML, a list where a record was expected, a record without ``id``) is an
  :class:`UnexpectedAnswer` naming the request, what came and what was expected.
* Errors (see :mod:`concord_etl.errors`) carry method, URL (no secrets), status and a body
  excerpt; everything in them is redacted (:mod:`concord_etl.redact`), server text included.
"""

from __future__ import annotations

import json
import random as _random
import reprlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from concord_etl._version import __version__
from concord_etl.crm.fields import ResourceFields, fetch_fields
from concord_etl.crm.pacing import Pacer, parse_rate_headers
from concord_etl.crm.request_event import RequestObserver, request_event
from concord_etl.crm.shapes import (
    expect_field_list,
    expect_list_of_records,
    expect_object,
    expect_record,
)
from concord_etl.crm.transport import (
    Answer,
    BodyTooLarge,
    Deadline,
    DeadlinePassed,
    WatchedAdapter,
    read_body,
)
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
from concord_etl.redact import redact
from concord_etl.settings import Secret, check_token, normalise_url

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
    "display_url",
    "encode_json",
    "search_plan",
    "sent_before_failure",
]
_KEPT_HEADERS = ("retry-after", "x-ratelimit-limit", "x-ratelimit-remaining",
                 "x-ratelimit-reset", "x-app-version", "content-type", "location")
DEFAULT_DEADLINE = 120.0                  # s for one request: connect + headers + whole body
DEFAULT_MAX_BODY = 100 * 1024 * 1024      # bytes of one answer (decoded)
DEFAULT_MAX_RETRY_AFTER = 300.0           # s: a longer Retry-After gives up instead of waiting


@dataclass
class ClientStats:
    """Counters since the client was made (thread-safe)."""

    requests: int = 0
    writes: int = 0             # POST/PUT/PATCH/DELETE that left (whatever their answer)
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
            return {"requests": self.requests, "writes": self.writes, "retries": self.retries,
                    "rate_limited": self.rate_limited, "wait_seconds": self.wait_seconds}


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of reads (and of writes that never left); 429s are counted separately."""

    max_retries: int = 5
    max_rate_limited: int = 30
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER

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
        deadline: float = DEFAULT_DEADLINE,
        max_body_bytes: int = DEFAULT_MAX_BODY,
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
        self.deadline = float(deadline)
        self.max_body_bytes = int(max_body_bytes)
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

    def get_object(self, path: str, params: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
        """A GET whose answer must be a JSON object (``deals/{id}/billable``)."""
        return self._expect("GET", path, expect_object, params=params)

    def get_records(self, path: str, params: Mapping[str, Any] | None = None
                    ) -> list[dict[str, Any]]:
        """A GET whose answer must be a list of records (``/countries``, ``.../search``)."""
        return self._expect("GET", path, expect_list_of_records, params=params)

    def show(self, resource: str, record_id: int | str, params: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:
        return self._expect("GET", record_path(resource, record_id), expect_record,
                            params=params)

    def create(self, resource: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._expect("POST", record_path(resource), expect_record, body=body)

    def update(self, resource: str, record_id: int | str, body: Mapping[str, Any]
               ) -> dict[str, Any]:
        return self._expect("PUT", record_path(resource, record_id), expect_record, body=body)

    def delete(self, resource: str, record_id: int | str) -> None:
        self.request("DELETE", record_path(resource, record_id))

    def me(self) -> dict[str, Any]:
        """The token's user (a cheap connectivity and auth check)."""
        return self._expect("GET", "/me", expect_record)

    def create_fields(self, resource: str) -> list[dict[str, Any]]:
        """The JSON array of ``GET /api/{resource}/create-fields?intent=create`` (objects with
        ``attribute``; without ``intent`` Concord may leave ``isRequired`` false for fields
        required on create)."""
        return self._expect("GET", record_path(resource) + "/create-fields", expect_field_list,
                            params={"intent": "create"})

    def update_fields(self, resource: str, record_id: int | str) -> list[dict[str, Any]]:
        """The JSON array of ``GET /api/{resource}/{id}/update-fields?intent=update``."""
        return self._expect("GET", record_path(resource, record_id) + "/update-fields",
                            expect_field_list, params={"intent": "update"})

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
        if payload is None:
            return {"data": [], "meta": {}}
        if isinstance(payload, list):                # a non-paginated collection
            data = self._checked("GET", record_path(resource), query, payload,
                                 expect_list_of_records)
            return {"data": data, "meta": {"current_page": 1, "last_page": 1}}
        if isinstance(payload, dict) and "data" in payload:
            self._checked("GET", record_path(resource), query, payload.get("data"),
                          expect_list_of_records)
            if not isinstance(payload.get("meta") or {}, dict):
                payload["meta"] = {}
            return payload
        self._checked("GET", record_path(resource), query, payload, expect_list_of_records)
        return {"data": [], "meta": {}}                # not reached: the check raises

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

    # -- answers of the right shape -----------------------------------------------------------
    def _expect(self, method: str, path: str, check: Any, *,
                params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        payload = self.request(method, path, params=params, body=body)
        return self._checked(method, path, params, payload, check)

    def _checked(self, method: str, path: str, params: Mapping[str, Any] | None, payload: Any,
                 check: Any) -> Any:
        problem, value = check(payload)
        if problem is None:
            return value
        call = _Call(method.upper(), self.api_url + "/" + path.lstrip("/"), params)
        message = f"{call.method} {call.shown}: {problem}"
        if call.write:
            message += ("; the write may have been applied: the rerun checks the CRM before "
                        "sending it again")
        raise UnexpectedAnswer(message, status=None, method=call.method, url=call.shown,
                               body=_excerpt(reprlib.repr(payload)))

    # -- transport --------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> Any:
        """Send one API request (``path`` below ``/api``), paced, retried, errors mapped."""
        call = _Call(method.upper(), self.api_url + "/" + path.lstrip("/"), params)
        data = None if body is None else encode_json(body)
        failures = limited = 0
        while True:
            answer, failure = self._send(call, data, attempt=failures + limited + 1)
            if answer is None:
                failures += 1
                self._after_failure(failure, call, failures)
            elif answer.status_code == 429:
                limited += 1
                self.stats.add(rate_limited=1, retries=1)
                self._check_rate_limited(answer, call, limited)
            elif answer.status_code >= 500 and not call.write and failures < self.retry.max_retries:
                failures += 1
                self._backoff_sleep(failures)
            else:
                return self._result(answer, call, failures)

    def _check_rate_limited(self, answer: Answer, call: _Call, limited: int) -> None:
        """Give up on a 429 past the retry budget or a Retry-After too long to wait for."""
        wait = parse_rate_headers(answer.headers, wall_now=time.time()).retry_after
        ceiling = self.retry.max_retry_after
        if wait is not None and wait > ceiling:
            what = (f"rate limited: the CRM asks to wait {_seconds_text(wait)} (Retry-After), "
                    f"longer than the {_seconds_text(ceiling)} this tool waits; rerun later "
                    "(or raise CONCORD_MAX_RETRY_AFTER)")
            raise self._error(RateLimited, answer, call, what)
        if limited > self.retry.max_rate_limited:
            what = (f"still rate limited after {limited} attempts; rerun later (another "
                    "program may be using the same user's rate limit)")
            raise self._error(RateLimited, answer, call, what)

    def _send(self, call: _Call, data: bytes | None, attempt: int = 1
              ) -> tuple[Answer | None, Exception | None]:
        ticket = self.pacer.acquire()
        self.stats.add(requests=1, writes=int(call.write), wait_seconds=ticket.waited)
        answer: Answer | None = None
        failure: Exception | None = None
        started = time.monotonic()
        try:
            answer = self._exchange(call, data)
            return answer, None
        except requests.RequestException as exc:
            failure = exc
            return None, exc
        except CrmError as exc:                  # past the deadline or the size cap
            failure = exc
            raise
        finally:
            status = None if answer is None else answer.status_code
            headers = None if answer is None else answer.headers
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

    def _exchange(self, call: _Call, data: bytes | None) -> Answer:
        """One HTTP exchange under the deadline, the body read whole (up to the size cap)."""
        with Deadline(self.deadline) as deadline:
            response: requests.Response | None = None
            try:
                response = self._session().request(
                    call.method, call.url, params=call.params, data=data,
                    timeout=self.timeout, allow_redirects=False, stream=True)
                body = read_body(response, self.max_body_bytes, deadline)
                return Answer(response.status_code, response.headers, body)
            except DeadlinePassed:
                raise self._too_slow(call, deadline) from None
            except requests.RequestException:
                if deadline.expired:                   # the watchdog cut the connection
                    raise self._too_slow(call, deadline) from None
                raise
            except BodyTooLarge as exc:
                raise self._too_big(call, exc) from None
            finally:
                if response is not None:
                    response.close()

    def _too_slow(self, call: _Call, deadline: Deadline) -> CrmError:
        what = (f"no complete answer within {_seconds_text(deadline.seconds)} (the request "
                "deadline; a server that answers very slowly or never finishes); raise "
                "CONCORD_REQUEST_DEADLINE if the CRM is just slow")
        return self._failure(call, what)

    def _too_big(self, call: _Call, exc: BodyTooLarge) -> CrmError:
        what = (f"the CRM announced an answer of {_size_text(exc.size)}" if exc.declared
                else "the CRM's answer kept coming")
        what += (f", more than the {_size_text(exc.limit)} this tool reads; raise "
                 "CONCORD_MAX_RESPONSE_MB if such answers are expected")
        return self._failure(call, what)

    def _failure(self, call: _Call, what: str) -> CrmError:
        message = f"{call.method} {call.shown}: {what}"
        if call.write:
            message += "; the write may have been applied: the rerun checks before resending"
            return OutcomeUnknown(message, method=call.method, url=call.shown)
        return UnexpectedAnswer(message, method=call.method, url=call.shown)

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
            for prefix in ("https://", "http://"):
                session.mount(prefix, WatchedAdapter())
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
    def _result(self, answer: Answer, call: _Call, failures: int) -> Any:
        status = answer.status_code
        if not 200 <= status < 300:
            payload = json_or_none(answer.content)
            cls, what = classify_status(status, payload, call.method, failures)
            if 300 <= status < 400:
                what += f" to {answer.headers.get('Location', '?')}; check the URL"
            errors = payload.get("errors") if isinstance(payload, dict) else None
            extra = {"errors": errors} if cls is RecordRejected and isinstance(errors, dict) else {}
            raise self._error(cls, answer, call, what, **extra)
        if status == 204 or not answer.content:
            return None
        try:
            return json.loads(answer.content)
        except (ValueError, RecursionError):
            kind = answer.headers.get("Content-Type", "?")
            shown = "an HTML page" if "html" in kind.lower() else f"something that is not JSON ({kind})"
            what = (f"the CRM answered {shown} where JSON was expected; is the URL the "
                    "Concord site root?")
            if call.write:
                what += " The write may have been applied: the rerun checks before resending"
            raise self._error(UnexpectedAnswer, answer, call, what) from None

    def _error(self, cls: type[CrmError], answer: Answer, call: _Call, what: str,
               **extra: Any) -> CrmError:
        message = f"{call.method} {call.shown}: {what}"
        if not issubclass(cls, ApiError):      # OutcomeUnknown: a 5xx answer to a write
            return OutcomeUnknown(message, status=answer.status_code, method=call.method,
                                  url=call.shown)
        headers = {k: v for k, v in answer.headers.items() if k.lower() in _KEPT_HEADERS}
        if cls is RateLimited:
            extra["retry_after"] = parse_rate_headers(answer.headers,
                                                      wall_now=time.time()).retry_after
        return cls(message, status=answer.status_code, method=call.method, url=call.shown,
                   body=_excerpt(answer.text), headers=headers, **extra)


def _excerpt(text: str) -> str:
    return redact(text[:EXCERPT_CHARS])


def _seconds_text(seconds: float) -> str:
    if seconds >= 1e9:
        return "for ever"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:g} s"


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


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
