"""Rate-limit pacing: spend each window's budget at once, then wait exactly until it resets.

Concord (Laravel ``throttle``) uses a **fixed window per user**: the window opens with the first
counted request and lasts W seconds (60 by default); at most L requests are counted in it
(``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` after counting); the (L+1)th gets a 429 with
``Retry-After`` / ``X-RateLimit-Reset`` and is not counted.

The :class:`Pacer` is shared by all worker threads of a client. Before each request a worker
calls :meth:`Pacer.acquire` (which may block) and hands the response's status and headers to
:meth:`Pacer.observe`. It

* learns L from the headers and counts the requests of the current window (``used``);
* lets requests go while ``used < L``; when the budget is spent it blocks everybody until the
  window should have reset (+ a small margin and jitter);
* learns W as an interval ``[w_low, w_high]`` of *send-time* differences from the request that
  opened the window (a steady uplink delay cancels out): a request counted in (or refused by)
  a window proves it was still open; a 429's ``Retry-After`` (whole seconds are rounded up)
  and a request opening the next window bound it from above. Until the interval is narrow,
  the first request at each boundary goes alone as a *probe* (the others wait for its answer)
  placed by bisection, so a window costs at most one 429 while W is learned. Once narrow, the
  next window's burst is released at ``window start + w_high`` (+ margin) without probing.
* counts its own requests (``issued``); the server's count only matters when it is higher
  (someone else spends the same user's budget). Answers to concurrent requests arrive in
  any order, so only a lone probe's count is trusted to detect an unseen window reset.

Time, sleep and randomness are injectable for tests.
"""

from __future__ import annotations

import math
import random as _random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

DEFAULT_WINDOW = 60.0
DEFAULT_CONCURRENCY = 6
MAX_CONCURRENCY = 32
PROBE_TIMEOUT = 180.0


@dataclass
class Ticket:
    """Permission to send one request; give it back to :meth:`Pacer.observe`."""

    sent_at: float
    epoch: int
    probe: bool = False
    waited: float = 0.0


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
        retry_after = None if reset is None else max(0.0, reset - wall_now)
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
        return max(0.0, value)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - wall_now)
    except (TypeError, ValueError, IndexError):
        return None


def suggest_concurrency(
    latency: float | None,
    limit: int | None,
    window: float | None,
    *,
    fraction: float = 0.03,
    cap: int = MAX_CONCURRENCY,
    default: int = DEFAULT_CONCURRENCY,
) -> int:
    """Workers needed so that ``limit`` requests of ``latency`` s take ``fraction`` of ``window``.

    Without a known limit, a modest ``default`` (the client's CPU ceiling is ~1,000 req/s
    anyway); with a limit but no known window, at least ``default``. Always between 1 and
    ``cap`` and never more than ``limit``.
    """
    if not limit:
        return max(1, min(cap, default))
    if latency is None:
        return max(1, min(cap, limit, default))
    span = window if window is not None and window > 0 else None
    needed = math.ceil(limit * max(latency, 0.0) / (fraction * (span or DEFAULT_WINDOW)) - 1e-9)
    if span is None:
        needed = max(needed, default)
    return max(1, min(cap, limit, needed))


class Pacer:
    """Thread-safe pacing of requests against a fixed-window rate limit (see module doc)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        random: Callable[[], float] = _random.random,
        default_window: float = DEFAULT_WINDOW,
        margin: float = 0.002,
        jitter: float = 0.002,
        enabled: bool = True,
    ) -> None:
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._random = random
        self._margin = margin
        self._jitter = jitter
        self.enabled = enabled
        self.default_window = default_window
        self._cond = threading.Condition()
        self.limit: int | None = None
        self.unlimited = False
        self.w_low = 0.0
        self.w_high: float | None = None
        self.precise = False              # w_high came from a fractional Retry-After
        self.latency: float | None = None
        self.rate_limited = 0
        self.waited = 0.0
        self._epoch = 0
        self._issued = 0
        self._hits = 0
        self._inflight = 0
        self._anchor: float | None = None   # when the request that opened the window was sent
        self._gate: float | None = None
        self._gate_presumes_new = False
        self._probe: Ticket | None = None
        self._need_probe = True

    # -- public state -----------------------------------------------------------------------
    @property
    def window(self) -> float:
        """Best known window length (``w_high``, or the default until learned)."""
        return self.w_high if self.w_high is not None else self.default_window

    @property
    def window_learned(self) -> bool:
        return self.w_high is not None

    @property
    def remaining(self) -> int | None:
        """Requests still allowed in the current window as far as the pacer knows."""
        with self._cond:
            return None if self.limit is None else max(0, self.limit - self._used())

    @property
    def confident(self) -> bool:
        """True once W is known precisely enough to release a window's burst without a probe."""
        if self.w_high is None or self._anchor is None:
            return False
        if self.precise:
            return True
        return self.w_high - self.w_low <= 0.005 * self.w_high + 0.003

    def suggest_concurrency(self, *, cap: int = MAX_CONCURRENCY) -> int:
        """:func:`suggest_concurrency` from what this pacer has observed so far."""
        limit = None if self.unlimited else self.limit
        return suggest_concurrency(self.latency, limit, self.w_high, cap=cap)

    # -- acquire ----------------------------------------------------------------------------
    def acquire(self) -> Ticket:
        """Block until a request may be sent; returns the ticket to pass to :meth:`observe`."""
        with self._cond:
            start = self._clock()
            while True:
                now = self._clock()
                delay = self._delay(now) if self.enabled else 0.0
                if delay == 0.0:
                    return self._issue(now, waited=now - start)
                self._block(delay)

    def _delay(self, now: float) -> float | None:
        """0 = go now, ``None`` = wait for the probe's answer, > 0 = seconds to wait."""
        if self._probe is not None:
            if now - self._probe.sent_at < PROBE_TIMEOUT:
                return None
            self._probe = None
        if self._gate is not None:
            if now < self._gate:
                return self._gate - now
            self._pass_gate()
        if self._need_probe or self.limit is None:
            return 0.0
        if self._used() < self.limit:
            return 0.0
        return self._plan_next_window(now)

    def _pass_gate(self) -> None:
        if self._gate_presumes_new:
            self._roll()
        else:
            self._need_probe = True
        self._gate = None

    def _plan_next_window(self, now: float) -> float:
        """The budget is spent: decide when the next request (a probe or the burst) may go."""
        anchor_sent = self._anchor
        if anchor_sent is None or self.w_high is None:
            self._need_probe = True                 # learn when it resets from a 429
            return 0.0
        if self.confident:
            self._set_gate(anchor_sent + self.w_high, presume_new=True)
        else:
            middle = anchor_sent + (self.w_low + self.w_high) / 2
            if middle <= now:
                self._need_probe = True
                return 0.0
            self._gate = middle
            self._gate_presumes_new = False
        return max(self._gate - now, 1e-6)

    def _set_gate(self, reset_at: float, *, presume_new: bool) -> None:
        window = self.window
        extra = self._margin * window + 0.005 + self._jitter * window * self._random()
        self._gate = reset_at + extra
        self._gate_presumes_new = presume_new

    def _issue(self, now: float, *, waited: float) -> Ticket:
        ticket = Ticket(sent_at=now, epoch=self._epoch, probe=self._need_probe, waited=waited)
        if ticket.probe:
            self._probe = ticket
            self._need_probe = False
        self._issued += 1
        self._inflight += 1
        self.waited += waited
        return ticket

    def _block(self, delay: float | None) -> None:
        if self._sleep is None:
            self._cond.wait(delay if delay is not None else 0.5)
            return
        self._cond.release()
        try:
            self._sleep(delay if delay is not None else 0.01)
        finally:
            self._cond.acquire()

    # -- observe ----------------------------------------------------------------------------
    def observe(
        self, ticket: Ticket, status: int | None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Record the outcome of a request (``status=None``: no answer was received)."""
        with self._cond:
            try:
                self._observe(ticket, status, headers)
            finally:
                self._cond.notify_all()

    def _observe(
        self, ticket: Ticket, status: int | None, headers: Mapping[str, str] | None
    ) -> None:
        now = self._clock()
        self._inflight = max(0, self._inflight - 1)
        if self._probe is ticket:
            self._probe = None
        if status is None:
            if ticket.probe:
                self._need_probe = True
            return                                   # may have been counted: stay conservative
        elapsed = now - ticket.sent_at
        self.latency = elapsed if self.latency is None else 0.8 * self.latency + 0.2 * elapsed
        info = parse_rate_headers(headers, wall_now=self._wall())
        if info.limit is None or info.remaining is None:
            self._observe_uncounted(ticket, status, info, now)
            return
        self.limit = info.limit
        self.unlimited = False
        if status == 429:
            self._on_429(ticket, info, now)
        else:
            self._on_counted(ticket, info.limit - info.remaining, now)

    def _observe_uncounted(
        self, ticket: Ticket, status: int, info: RateHeaders, now: float
    ) -> None:
        if status == 429:
            self._on_429(ticket, info, now)
            return
        if ticket.epoch == self._epoch:
            self._issued = max(0, self._issued - 1)  # 401/419/unknown route: not counted
        if 200 <= status < 300 and self.limit is None:
            self.unlimited = True
        elif ticket.probe:
            self._need_probe = True

    def _on_counted(self, ticket: Ticket, hits: int, now: float) -> None:
        stale = ticket.epoch != self._epoch
        if self._anchor is not None and ticket.sent_at < self._anchor:
            return                                   # counted in a window we already left
        if hits == 1:
            self._new_window_seen(ticket, now)
        elif ticket.probe and hits < self._hits:
            # a probe goes alone, so its count is authoritative (answers to concurrent
            # requests arrive in any order): the window reset unseen, its start is unknown
            self._roll()
            self._anchor = None
        elif stale and hits > self._issued + self._inflight + 1:
            return                                   # a late answer from the previous window
        self._hits = max(self._hits, hits)

    # Bounds on W compare *send* times: with a steady uplink delay u, a request sent at t is
    # counted at t + u, so u cancels out of every difference (jitter is left to the margin).
    def _new_window_seen(self, ticket: Ticket, now: float) -> None:
        """``ticket`` opened a server window (it was counted first)."""
        if self._anchor is not None and self._anchor < ticket.sent_at:
            bound = ticket.sent_at - self._anchor    # windows never overlap: W <= this
            self.w_low = min(self.w_low, bound)      # (jitter made the lower bound too high)
            if self.w_high is None or bound < self.w_high:
                self.w_high = bound
        if self._hits >= 1:
            self._roll()                             # we had counted hits in an older window
            self._issued = 1 + self._inflight        # the opener, and all that may follow it
        self._anchor = ticket.sent_at
        self._gate = None                            # the window is open: its budget rules

    def _on_429(self, ticket: Ticket, info: RateHeaders, now: float) -> None:
        self.rate_limited += 1
        retry_after = info.retry_after
        if self._anchor is not None and ticket.sent_at >= self._anchor:
            elapsed = ticket.sent_at - self._anchor  # the window was still open then
            if self.w_high is not None and elapsed > self.w_high:
                if elapsed <= 1.02 * self.w_high + 0.01:     # a little early (jitter): nudge
                    self.w_high = elapsed + 0.002 * self.w_high + 0.001
                else:
                    self.w_high, self.precise = None, False  # W grew: learn it again
            self.w_low = max(self.w_low, elapsed)
            if retry_after is not None:
                end = elapsed + retry_after
                if not info.precise and retry_after >= 1:
                    self.w_low = max(self.w_low, end - 1)  # whole seconds are rounded up
                if self.w_high is None or end < self.w_high:
                    self.w_high, self.precise = max(end, self.w_low), info.precise
            elif self.w_high is None:
                self.w_high = max(self.default_window, self.w_low)
        if ticket.epoch != self._epoch or (self._anchor is not None
                                           and ticket.sent_at < self._anchor):
            return                  # sent before the window we now count in: says nothing of it
        candidates = []
        if retry_after is not None:
            candidates.append(ticket.sent_at + retry_after)
        if self._anchor is not None and self.w_high is not None:
            candidates.append(self._anchor + self.w_high)
        reset_at = min(candidates) if candidates else now + self.default_window
        self._hits = max(self._hits, self.limit or 0)
        self._issued = max(self._issued, self.limit or 0)
        self._set_gate(max(reset_at, now), presume_new=False)

    def _roll(self) -> None:
        self._epoch += 1
        self._issued = 0
        self._hits = 0

    def _used(self) -> int:
        # ``hits`` (the server's count) already includes requests still in flight here, so
        # adding them would count them twice; it exceeds ``issued`` only if someone else
        # spends the same user's budget.
        return max(self._issued, self._hits)
