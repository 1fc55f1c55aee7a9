"""Reading the CRM's rate-limit headers (``X-RateLimit-*``, ``Retry-After``).

Laravel sends ``X-RateLimit-Limit``/``-Remaining`` on every counted answer, and on a 429
``Retry-After`` (whole seconds or an HTTP date) and ``X-RateLimit-Reset`` (epoch seconds).

Values are read deliberately: ``Retry-After`` in seconds (fractions allowed) or as an HTTP
date (a date in the past means "now"); a negative, non-numeric or non-finite value is ignored
as if absent (then ``X-RateLimit-Reset`` is used, if any). A huge value is returned as it is:
the client decides whether it is worth waiting for (``RetryPolicy.max_retry_after``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RateHeaders:
    limit: int | None = None
    remaining: int | None = None
    retry_after: float | None = None
    precise: bool = False                 # Retry-After had a fractional part (not rounded)


def parse_rate_headers(headers: Mapping[str, str] | None, *, wall_now: float) -> RateHeaders:
    """Read ``X-RateLimit-*`` and ``Retry-After`` (seconds or HTTP date) case-insensitively."""
    if not headers:
        return RateHeaders()
    lower = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    retry_text = lower.get("retry-after")
    retry_after = _seconds(retry_text, wall_now)
    precise = retry_after is not None and "." in (retry_text or "") and not retry_after.is_integer()
    if retry_after is None and "x-ratelimit-reset" in lower:
        reset = _number(lower["x-ratelimit-reset"])
        retry_after = None if reset is None or reset < 0 else max(0.0, reset - wall_now)
    limit = _number(lower.get("x-ratelimit-limit"))
    remaining = _number(lower.get("x-ratelimit-remaining"))
    return RateHeaders(
        limit=None if limit is None else int(limit),
        remaining=None if remaining is None else int(remaining),
        retry_after=retry_after,
        precise=precise,
    )


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _seconds(text: str | None, wall_now: float) -> float | None:
    if not text:
        return None
    value = _number(text)
    if value is not None:
        return value if value >= 0 else None          # negative: garbage, ignored
    if text[:1].isdigit() or text[:1] in "+-.":
        return None                                   # "2s", "1,5", "--": garbage
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:                           # "-0000": UTC, says RFC 5322
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, when.timestamp() - wall_now)
    except (OverflowError, OSError, ValueError):
        return None
