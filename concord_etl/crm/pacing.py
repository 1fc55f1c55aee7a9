"""Rate-limit pacing: spend each window's budget at once, then wait just until it resets.

Concord (Laravel ``throttle``) has a **fixed window per user**: it opens with the first counted
request, lasts W s (60) and counts at most L requests (``X-RateLimit-Limit``/``-Remaining``);
more get a 429 with ``Retry-After`` in whole seconds. The :class:`Pacer` (shared by a client's
threads: :meth:`~Pacer.acquire` before a request, :meth:`~Pacer.observe` after) lets requests
go while the window has budget, then releases everybody at ``anchor + w_high`` + a margin,
where the *anchor* is the send time of the window's opener (the answer with Remaining = L-1)
and ``[w_low, w_high]`` bounds W in send-time differences (a steady delay before counting
cancels out): openers bound W from above, refusals from below, ``Retry-After`` both ways.
Learning W: the first refused request is sent just past a whole second after the anchor, so
``w_high`` lands just above a whole number; then one lone *probe* per window tests just above
and just below that whole second (Laravel windows are whole seconds), else bisects. A probe
is never waited for past the release, and the release's first request (the head) goes a
moment ahead so it anchors the next window precisely. When latency is ≤ 1% of W, or once a
release was refused, the burst waits for the head's answer (≤ one 429 per window). Time,
sleep and randomness are injectable; :meth:`Pacer.try_acquire` is the non-blocking form.

A server that refuses with 429 but sends no ``X-RateLimit-*`` headers (a proxy, a gateway,
another framework) gives nothing to learn a window from: every request then waits for its
``Retry-After`` (at least 0.5 s; without a usable one, a backoff doubling from 0.5 s up to
10 s) before one request alone tries again.
"""

from __future__ import annotations

import math
import random as _random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from concord_etl.crm.rate_headers import RateHeaders, parse_rate_headers
from concord_etl.crm.wait_clock import WaitClock

__all__ = ["Pacer", "RateHeaders", "Ticket", "parse_rate_headers", "suggest_concurrency"]

DEFAULT_WINDOW = 60.0
SHORT_WINDOW = 1.0          # assumed to size concurrency while the window is unknown
DEFAULT_CONCURRENCY = 6
MAX_CONCURRENCY = 32
PROBE_TIMEOUT = 180.0
GRID_OFFSET = 0.03          # the first refused request goes this far past a whole second
MIN_STEP = 0.005            # finest resolution of W worth learning (s)
GO, GO_PROBE, GO_HEAD = 0.0, -1.0, -2.0  # verdicts of Pacer._plan besides waiting
BLIND_MIN_WAIT = 0.5        # a header-less 429 with Retry-After: 0 still waits this long
BLIND_BACKOFF_CAP = 10.0    # ... and without any Retry-After, the backoff stops growing here


@dataclass
class Ticket:
    """Permission to send one request; give it back to :meth:`Pacer.observe`."""

    sent_at: float
    epoch: int
    base: float | None = None      # anchor of the last window seen open when it was sent
    presumed: bool = False         # sent in a window presumed (not yet seen) to have opened
    probe: bool = False
    waited: float = 0.0


def suggest_concurrency(
    latency: float | None,
    limit: int | None,
    window: float | None,
    *,
    fraction: float = 0.03,
    cap: int = MAX_CONCURRENCY,
    default: int = DEFAULT_CONCURRENCY,
) -> int:
    """Workers so that ``limit`` requests of ``latency`` s take ``fraction`` of ``window``:
    ``default`` without a limit; an unknown window may be short (:data:`SHORT_WINDOW`, at least
    ``default``); between 1 and ``cap``, never more than ``limit``."""
    if not limit:
        return max(1, min(cap, default))
    if latency is None:
        return max(1, min(cap, limit, default))
    span = window if window is not None and window > 0 else SHORT_WINDOW
    needed = math.ceil(limit * max(latency, 0.0) / (fraction * span) - 1e-9)
    if window is None:
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
        margin: float = 0.001,
        jitter: float = 0.5,
        enabled: bool = True,
    ) -> None:
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._random = random
        self._margin = margin            # resolution of W as a fraction of it (>= MIN_STEP)
        self._jitter = jitter            # random extra margin, in steps
        self.enabled = enabled
        self.default_window = default_window
        self._cond = threading.Condition()
        self.limit: int | None = None
        self.unlimited = False
        self.w_low = 0.0
        self.w_high: float | None = None
        self.precise = False             # w_high came from a fractional Retry-After
        self.latency: float | None = None
        self.rate_limited = 0
        self.waited = 0.0                # summed over the threads that waited
        self._waiting = WaitClock()      # ... and as wall-clock time (see waited_wall)
        self.strikes = 0                 # releases refused: W was longer than believed
        self._epoch = 0
        self._issued = 0
        self._hits = 0
        self._inflight = 0
        self._anchor: float | None = None    # send time of the current window's opener
        self._confirmed = False              # ... seen (else presumed at the release time)
        self._prev: float | None = None      # the previous confirmed anchor
        self._reset_at: float | None = None  # when the window resets, if its anchor is unknown
        self._extra: float | None = None     # margin drawn for the coming release
        self._learn_at: float | None = None  # when the first refused request is due
        self._probe: Ticket | None = None
        self._probed_epoch = -1
        self._refused_epoch = -1
        self._hold_until: float | None = None  # a header-less 429's Retry-After: nobody goes
        self._blind_refusals = 0               # header-less 429s in a row (for the backoff)

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
    def waited_wall(self) -> float:
        """Wall-clock seconds during which at least one request waited for the rate limit
        (unlike :attr:`waited`, not summed over threads, so it never exceeds the run's time)."""
        with self._cond:
            return self._waiting.total(self._clock())

    @property
    def confident(self) -> bool:
        """True once W is known precisely enough that no more probes are sent."""
        if self.w_high is None:
            return False
        return self.precise or self.w_high - self.w_low <= 3 * self._step()

    @property
    def cautious(self) -> bool:
        """Burst only after the head was let in: cheap when latency <= 1% of W; a must once a
        release was refused (W varies, as Laravel's windows end on whole wall seconds)."""
        slow = self.latency is not None and self.latency > 0.01 * self.window
        return self.strikes >= 1 or not slow

    def suggest_concurrency(self, *, cap: int = MAX_CONCURRENCY) -> int:
        """:func:`suggest_concurrency` from what this pacer has observed so far."""
        limit = None if self.unlimited else self.limit
        return suggest_concurrency(self.latency, limit, self.w_high, cap=cap)

    # -- acquire ----------------------------------------------------------------------------
    def acquire(self) -> Ticket:
        """Block until a request may be sent; returns the ticket to pass to :meth:`observe`."""
        with self._cond:
            start = self._clock()
            blocked = False
            try:
                while True:
                    now = self._clock()
                    verdict = self._plan(now) if self.enabled else GO
                    if verdict is not None and verdict <= 0:
                        return self._issue(now, verdict, waited=now - start)
                    if not blocked:
                        blocked = True
                        self._waiting.begin(now)
                    self._block(verdict)
            finally:
                if blocked:
                    self._waiting.end(self._clock())

    def try_acquire(self) -> Ticket | float | None:
        """Non-blocking :meth:`acquire`: a ticket, or seconds to wait (``None``: until an
        answer is observed)."""
        with self._cond:
            now = self._clock()
            verdict = self._plan(now) if self.enabled else GO
            if verdict is not None and verdict <= 0:
                return self._issue(now, verdict, waited=0.0)
            return verdict

    def _plan(self, now: float) -> float | None:
        """GO, GO_PROBE, seconds to wait, or ``None`` to wait for an answer."""
        if self._hold_until is not None and now < self._hold_until:
            return self._hold_until - now
        if self.unlimited:
            return GO
        probing = self._probe_pending(now)
        if self.limit is None:
            return None if probing else GO_PROBE      # the first request goes alone
        presumed = self._anchor is not None and not self._confirmed
        if probing and presumed and self._probe is not None and self._probe.presumed:
            return None                              # the head of a cautious release is out
        if presumed and self._issued and self._anchor is not None:
            head_start = self._anchor + 2 * self._step() - now
            if head_start > 0:       # the head goes alone: it anchors the window precisely
                return head_start
        if self._used() < self.limit:
            return GO
        release = self._release_time()
        if not probing:
            probe_at = self._probe_time(now)
            if probe_at is not None and (release is None or probe_at < release):
                return GO_PROBE if probe_at <= now else probe_at - now
        if release is None:
            return None
        if now < release:
            return release - now
        self._presume_new_window(now)
        return GO_HEAD if self.cautious else GO

    def _release_time(self) -> float | None:
        """When the spent window is believed over (``None``: unknown, a probe must tell)."""
        if self._anchor is None or self.w_high is None:
            return self._reset_at
        if self._extra is None:
            boost = 2.0 ** min(self.strikes, 4)
            self._extra = self._step() * (1.0 + self._jitter * self._random()) * boost
        return self._anchor + self.w_high + self._extra

    def _probe_time(self, now: float) -> float | None:
        """When this window's lone probe should go, or ``None`` for no probe."""
        if self._probed_epoch == self._epoch:
            return None
        if self._anchor is None:
            return now if self._reset_at is None else None
        if self.w_high is None:      # first time: just past a whole second after the anchor
            if self._learn_at is None:
                whole = max(0, math.ceil(now - self._anchor - GRID_OFFSET))
                self._learn_at = self._anchor + whole + GRID_OFFSET
            return self._learn_at
        if self.confident:
            return None
        point, above = self._probe_point()
        if self._refused_epoch == self._epoch and not above:
            return None              # one 429 in this window already: test only the likely
        return self._anchor + point

    def _probe_point(self) -> tuple[float, bool]:
        """Where to test W — just above, then just below a whole second, else the middle —
        and whether it is the test just above a whole second (a likely success)."""
        assert self.w_high is not None
        low, high, step = self.w_low, self.w_high, self._step()
        whole = math.floor(high)
        if whole > low + step:
            if high - whole > 2 * step:
                return whole + step, True
            if whole - low > 2 * step:
                return whole - step, False
        return (low + high) / 2, False

    def _step(self) -> float:
        return max(MIN_STEP, self._margin * self.window)

    def _presume_new_window(self, now: float) -> None:
        if self._confirmed:
            self._prev = self._anchor
        self._anchor, self._confirmed = now, False
        self._roll()

    def _roll(self) -> None:
        self._epoch += 1
        self._issued = 0
        self._hits = 0
        self._reset_at = None
        self._extra = None
        self._learn_at = None

    def _probe_pending(self, now: float) -> bool:
        if self._probe is not None and now - self._probe.sent_at >= PROBE_TIMEOUT:
            self._probe = None
        return self._probe is not None

    def _issue(self, now: float, verdict: float, *, waited: float) -> Ticket:
        base = self._anchor if self._confirmed else self._prev
        presumed = self._anchor is not None and not self._confirmed
        ticket = Ticket(now, self._epoch, base, presumed, verdict < 0, waited)
        if verdict < 0:                              # goes alone: the others wait for it
            self._probe = ticket
            if verdict == GO_PROBE and self.w_high is not None:
                self._probed_epoch = self._epoch     # this window's one probe
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
                self._probed_epoch = -1              # unanswered: probe again
        if status is None:
            return                                   # may have been counted: stay conservative
        elapsed = now - ticket.sent_at
        self.latency = elapsed if self.latency is None else 0.8 * self.latency + 0.2 * elapsed
        info = parse_rate_headers(headers, wall_now=self._wall())
        if status == 429:
            if info.limit is None and self.limit is None:
                self._hold_blindly(now, info.retry_after)
                return
            if info.limit is not None:
                self.limit = info.limit
            self._on_refused(ticket, info)
            return
        self._blind_refusals = 0
        if info.limit is None or info.remaining is None:
            if ticket.epoch == self._epoch:
                self._issued = max(0, self._issued - 1)  # 401/419/unknown route: not counted
            if 200 <= status < 300 and self.limit is None:
                self.unlimited = True
            return
        self.limit, self.unlimited = info.limit, False
        hits = info.limit - info.remaining
        if hits <= 1:
            self._on_opener(ticket)
        elif ticket.epoch == self._epoch:
            self._hits = max(self._hits, hits)
        if ticket.probe and hits > 1 and ticket.base is not None and not ticket.presumed:
            self._raise_low(ticket.sent_at - ticket.base)   # counted: its window was open

    def _on_opener(self, ticket: Ticket) -> None:
        """``ticket`` was the first request counted in a window: it anchors that window."""
        sent = ticket.sent_at
        last = self._anchor if self._confirmed else self._prev
        if last is not None and sent <= last:
            return                                   # a late answer about an older window
        if last is not None:
            self._lower_high(sent - last)            # windows never overlap: W <= this
        if self._anchor is not None and not self._confirmed:
            if ticket.epoch != self._epoch:
                self._issued += 1                    # a probe sent before the release opened it
            self._anchor, self._confirmed = sent, True
            self._hits = max(self._hits, 1)
            return
        self._prev = self._anchor                    # a reset we had not waited for
        self._anchor, self._confirmed = sent, True
        self._roll()
        self._issued, self._hits = 1 + self._inflight, 1

    def _hold_blindly(self, now: float, retry_after: float | None) -> None:
        """A 429 without rate-limit headers: hold every request for its Retry-After."""
        self.rate_limited += 1
        self.unlimited = False
        self._blind_refusals += 1
        backoff = min(BLIND_BACKOFF_CAP, 0.5 * 2.0 ** (self._blind_refusals - 1))
        wait = backoff if retry_after is None else max(retry_after, BLIND_MIN_WAIT)
        self._hold_until = max(self._hold_until or 0.0, now + wait)

    def _on_refused(self, ticket: Ticket, info: RateHeaders) -> None:
        """A 429: the window of ``ticket.base`` was still open and spent when it arrived."""
        self.rate_limited += 1
        retry = info.retry_after
        if ticket.base is not None:
            self._learn_from_refusal(ticket.sent_at - ticket.base, retry, info.precise)
        elif ticket.epoch == self._epoch:
            wait = retry if retry is not None else self.default_window
            self._reset_at = max(self._reset_at or 0.0, ticket.sent_at + wait)
        if ticket.epoch != self._epoch:
            return
        self._refused_epoch = self._epoch
        if self._anchor is not None and ticket.sent_at < self._anchor and self._confirmed:
            return                                   # refused by a window already over
        if ticket.presumed and not self._confirmed:
            self._anchor, self._confirmed = self._prev, self._prev is not None
            self._roll()                             # released too early: still the old window
        spent = self.limit or 0
        self._hits, self._issued = max(self._hits, spent), max(self._issued, spent)

    def _learn_from_refusal(self, elapsed: float, retry: float | None, precise: bool) -> None:
        too_early = self.w_high is not None and elapsed >= self.w_high
        if too_early:
            self.strikes += 1
        self._raise_low(elapsed)
        if retry is None:
            bound = max(self.default_window, elapsed + self._step())
        elif precise:
            bound = elapsed + retry
            self.w_low = max(self.w_low, bound - self._step())
        else:
            bound = elapsed + retry
            self.w_low = max(self.w_low, elapsed + retry - 1.0)
        if self.w_high is None or too_early or bound < self.w_high:
            self.w_high, self.precise = max(bound, self.w_low), precise and retry is not None
        if self.w_low > self.w_high:
            self.w_low = self.w_high

    def _raise_low(self, bound: float) -> None:
        self.w_low = max(self.w_low, bound)

    def _lower_high(self, bound: float) -> None:
        if self.w_high is None or bound < self.w_high:
            self.w_high = bound
        if self.w_low > self.w_high:                 # send-time jitter: trust the newer bound
            self.w_low = max(0.0, self.w_high - self._step())

    def _used(self) -> int:
        # the server's count includes our requests in flight; it exceeds ours only if someone
        # else spends the same user's budget
        return max(self._issued, self._hits)
