"""What the client tells an observer about each HTTP request it sent (for logs, never control).

``ConcordClient(on_request=callback)`` calls ``callback(RequestEvent)`` once per attempt, after
the answer (or the failure), from the thread that sent it. The event has no headers and no
body: only the method, the path below the CRM's URL (secret-looking query values already
``***``), the status or the kind of failure, the time the exchange took, the attempt number,
how long the request waited for the rate limit before it left, and the rate-limit headers of
the answer. An observer that raises is ignored: observing never changes a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from concord_etl.crm.rate_headers import parse_rate_headers

__all__ = ["RequestEvent", "RequestObserver", "request_event"]


@dataclass(frozen=True)
class RequestEvent:
    method: str
    path: str                       # below the CRM's URL: /api/contacts?page=2&per_page=100
    status: int | None              # None: no answer (see ``error``)
    error: str | None               # the failure's kind when no answer came: ConnectTimeout, ...
    duration_s: float               # the HTTP exchange, without the rate-limit wait
    attempt: int                    # 1 for the first try of a request, 2 for its first retry...
    waited_s: float                 # waited for the rate limit before sending
    limit: int | None = None        # X-RateLimit-Limit of the answer
    remaining: int | None = None    # X-RateLimit-Remaining
    retry_after: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "path": self.path, "status": self.status,
            "error": self.error, "duration_s": round(self.duration_s, 4),
            "attempt": self.attempt, "waited_s": round(self.waited_s, 4),
            "rate_limit": {"limit": self.limit, "remaining": self.remaining,
                           "retry_after": self.retry_after},
        }


RequestObserver = Callable[[RequestEvent], None]


def request_event(
    method: str,
    shown_url: str,
    base_url: str,
    *,
    attempt: int,
    waited: float,
    started: float,
    status: int | None,
    headers: Mapping[str, str] | None,
    error: BaseException | None,
) -> RequestEvent:
    """Build the event of one attempt (``started`` from ``time.monotonic()``)."""
    path = shown_url[len(base_url):] if shown_url.startswith(base_url) else shown_url
    rate = parse_rate_headers(headers, wall_now=time.time())
    return RequestEvent(
        method=method, path=path or "/", status=status,
        error=None if error is None else type(error).__name__,
        duration_s=time.monotonic() - started, attempt=attempt, waited_s=waited,
        limit=rate.limit, remaining=rate.remaining, retry_after=rate.retry_after,
    )
