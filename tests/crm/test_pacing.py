"""Pacer: unit tests on a fake clock against a simulated fixed-window limiter, a discrete-event
simulation of concurrent workers (the importer's shape) against the sandbox's and Laravel's
limiters, plus one integration run through a thread pool against a rate-limited sandbox."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from typing import Any

import pytest

from concord_etl.crm.pacing import (
    GRID_OFFSET,
    Pacer,
    RateHeaders,
    Ticket,
    parse_rate_headers,
    suggest_concurrency,
)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeLimiter:
    """Laravel's fixed window: opens with the first counted request, L per W seconds."""

    def __init__(self, limit: int, window: float, retry_after: str = "float") -> None:
        self.limit = limit
        self.window = window
        self.retry_after = retry_after
        self.start: float | None = None
        self.hits = 0
        self.windows = 0
        self.rejected_in_window: dict[int, int] = {}

    def handle(self, arrival: float) -> tuple[int, dict[str, str]]:
        if self.start is None or arrival >= self.start + self.window:
            self.start, self.hits = arrival, 0
            self.windows += 1
        if self.hits >= self.limit:
            left = self.start + self.window - arrival
            hint = f"{left:.3f}" if self.retry_after == "float" else str(math.ceil(left))
            self.rejected_in_window[self.windows] = self.rejected_in_window.get(self.windows, 0) + 1
            headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": "0"}
            if self.retry_after != "none":
                headers["Retry-After"] = hint
            return 429, headers
        self.hits += 1
        remaining = self.limit - self.hits
        return 200, {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(remaining)}


def make_pacer(clock: FakeClock, **kw: Any) -> Pacer:
    return Pacer(clock=clock, wall_clock=clock, sleep=clock.sleep, random=lambda: 0.5, **kw)


def run(
    pacer: Pacer, clock: FakeClock, handle: Callable[[float], tuple[int, dict[str, str]]],
    requests: int, latency: float = 0.002,
) -> tuple[float, int]:
    """Send ``requests`` successful requests one after another; returns (span, 429s)."""
    start = clock.now
    done = rejected = 0
    while done < requests:
        ticket = pacer.acquire()
        status, headers = handle(clock.now + latency / 2)
        clock.now += latency
        pacer.observe(ticket, status, headers)
        if status == 429:
            rejected += 1
        else:
            done += 1
    return clock.now - start, rejected


@pytest.mark.parametrize(
    ("limit", "window", "hint"),
    [(10, 1.0, "float"), (90, 60.0, "float"), (90, 60.0, "ceil"), (50, 5.0, "ceil")],
)
def test_span_close_to_ideal_and_at_most_one_429_per_window(
    limit: int, window: float, hint: str
) -> None:
    clock = FakeClock()
    limiter = FakeLimiter(limit, window, hint)
    pacer = make_pacer(clock)
    requests = limit * 12 + 3
    span, rejected = run(pacer, clock, limiter.handle, requests)

    ideal = (math.ceil(requests / limit) - 1) * window
    assert ideal <= span <= ideal * 1.05
    assert all(count <= 1 for count in limiter.rejected_in_window.values())
    assert rejected <= limiter.windows
    assert pacer.window_learned
    assert pacer.window == pytest.approx(window, rel=0.03)


def test_steady_state_has_no_429_once_learned_with_precise_retry_after() -> None:
    clock = FakeClock()
    limiter = FakeLimiter(20, 2.0, "float")
    pacer = make_pacer(clock)
    run(pacer, clock, limiter.handle, 20 * 3)
    before = sum(limiter.rejected_in_window.values())
    run(pacer, clock, limiter.handle, 20 * 10)
    assert sum(limiter.rejected_in_window.values()) == before
    assert pacer.confident


def test_bisection_converges_with_whole_second_retry_after() -> None:
    clock = FakeClock()
    limiter = FakeLimiter(30, 2.5, "ceil")
    pacer = make_pacer(clock)
    run(pacer, clock, limiter.handle, 30 * 15)
    assert pacer.confident
    assert pacer.w_low <= 2.5 * 1.005 and 2.5 <= pacer.w_high * 1.005 <= 2.5 * 1.03
    rejected_late = sum(n for w, n in limiter.rejected_in_window.items() if w > 10)
    before = sum(limiter.rejected_in_window.values())
    run(pacer, clock, limiter.handle, 30 * 5)
    assert sum(limiter.rejected_in_window.values()) == before
    assert rejected_late <= 1


def test_without_retry_after_assumes_60_seconds() -> None:
    clock = FakeClock()
    limiter = FakeLimiter(5, 60.0, "none")
    pacer = make_pacer(clock)
    span, rejected = run(pacer, clock, limiter.handle, 11)
    assert rejected == 2                         # one learning probe per exhausted window
    assert 120.0 <= span <= 120.0 * 1.05
    assert pacer.window == pytest.approx(60.0)


def test_first_request_goes_alone_and_learns_the_limit() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    first = pacer.acquire()
    assert first.probe
    assert pacer.limit is None
    pacer.observe(first, 200, {"X-RateLimit-Limit": "90", "X-RateLimit-Remaining": "89"})
    assert pacer.limit == 90
    assert pacer.remaining == 89
    assert not pacer.acquire().probe


def test_joining_a_window_already_in_progress() -> None:
    clock = FakeClock()
    limiter = FakeLimiter(10, 3.0, "float")
    limiter.handle(clock.now - 1.0)              # someone else opened the window 1 s ago
    for _ in range(6):
        limiter.handle(clock.now - 0.5)
    pacer = make_pacer(clock)
    span, rejected = run(pacer, clock, limiter.handle, 25)
    assert rejected <= limiter.windows
    assert span <= 2.0 + 3.0 * 2 + 0.5          # 3 left now, then 2 full windows + the tail


def test_unlimited_server_never_blocks() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    for _ in range(500):
        ticket = pacer.acquire()
        pacer.observe(ticket, 201, {})
    assert pacer.unlimited
    assert clock.sleeps == []
    assert pacer.suggest_concurrency() == 6


def test_uncounted_answers_do_not_spend_the_budget() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    ticket = pacer.acquire()
    pacer.observe(ticket, 200, {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "2"})
    for _ in range(5):                           # 401s carry no rate-limit headers
        pacer.observe(pacer.acquire(), 401, {"Content-Type": "application/json"})
    assert pacer.remaining == 2
    assert clock.sleeps == []


def test_429_blocks_everyone_until_retry_after() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    ticket = pacer.acquire()
    pacer.observe(ticket, 429, {"Retry-After": "7", "X-RateLimit-Limit": "90",
                                "X-RateLimit-Remaining": "0"})
    start = clock.now
    probe = pacer.acquire()
    assert clock.now - start >= 7.0
    assert probe.probe and probe.waited >= 7.0
    assert pacer.rate_limited == 1


def test_window_that_grows_at_runtime_is_relearned() -> None:
    clock = FakeClock()
    limiter = FakeLimiter(10, 1.0, "float")
    pacer = make_pacer(clock)
    run(pacer, clock, limiter.handle, 60)
    limiter.window = 2.0
    limiter.rejected_in_window.clear()
    run(pacer, clock, limiter.handle, 80)
    assert pacer.window == pytest.approx(2.0, rel=0.03)
    assert sum(1 for n in limiter.rejected_in_window.values() if n > 1) <= 1


def test_disabled_pacer_never_waits() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock, enabled=False)
    for _ in range(20):
        pacer.observe(pacer.acquire(), 429, {"Retry-After": "30"})
    assert clock.sleeps == []


def _headers(limit: int, remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}


def test_out_of_order_answers_do_not_end_the_burst_early() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    pacer.observe(pacer.acquire(), 200, _headers(20, 19))
    tickets = [pacer.acquire() for _ in range(15)]                  # 16 sent, 15 in flight
    pacer.observe(tickets[-1], 200, _headers(20, 4))                # the 16th answers first
    more = [pacer.acquire() for _ in range(4)]                     # the budget has 4 left
    assert clock.sleeps == [] and len(more) == 4
    assert pacer.remaining == 0


def test_a_window_opened_by_a_probe_counts_the_probe() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    for remaining in range(4, -1, -1):
        pacer.observe(pacer.acquire(), 200, _headers(5, remaining))
    late = pacer.acquire()                                          # spent: a learning probe
    assert late.probe
    pacer.observe(late, 429, {**_headers(5, 0), "Retry-After": "2.500"})
    probe = pacer.acquire()                                         # waits for the reset
    assert probe.probe and clock.sleeps
    pacer.observe(probe, 200, _headers(5, 4))
    sleeps = len(clock.sleeps)
    for _ in range(4):
        pacer.acquire()
    assert len(clock.sleeps) == sleeps                              # 4 more go at once
    assert pacer.remaining == 0


# -- pure helpers -----------------------------------------------------------------------------
def test_parse_rate_headers() -> None:
    info = parse_rate_headers(
        {"x-RATELIMIT-limit": "90", "X-RateLimit-Remaining": "12"}, wall_now=0.0
    )
    assert info == RateHeaders(limit=90, remaining=12)
    assert parse_rate_headers({"Retry-After": "2.5"}, wall_now=0).retry_after == 2.5
    assert parse_rate_headers({"Retry-After": "2.5"}, wall_now=0).precise
    assert not parse_rate_headers({"Retry-After": "3"}, wall_now=0).precise
    reset = parse_rate_headers({"X-RateLimit-Reset": "1010"}, wall_now=1004.0)
    assert reset.retry_after == 6.0
    dated = parse_rate_headers({"Retry-After": formatdate(1030.0, usegmt=True)}, wall_now=1000.0)
    assert dated.retry_after == pytest.approx(30.0)
    assert parse_rate_headers({"Retry-After": "soon"}, wall_now=0).retry_after is None
    assert parse_rate_headers(None, wall_now=0) == RateHeaders()


@pytest.mark.parametrize(
    ("latency", "limit", "window", "expected"),
    [
        (0.2, 90, 60.0, 10),         # 90 x 0.2 s in 3% of 60 s
        (1.0, 90, 60.0, 32),         # capped
        (0.001, 90, 60.0, 1),
        (0.05, 10, 1.0, 10),         # never more than the limit
        (None, None, None, 6),       # nothing known: modest default
        (0.3, None, 60.0, 6),
        (0.001, 90, None, 6),        # window not learned yet: at least the default
        (1.0, 90, None, 32),
        (0.15, 60, None, 32),        # window unknown: it may be short, size for 1 s
    ],
)
def test_suggest_concurrency(
    latency: float | None, limit: int | None, window: float | None, expected: int
) -> None:
    assert suggest_concurrency(latency, limit, window) == expected


# -- integration: a thread pool against a rate-limited sandbox ---------------------------------
def test_thread_pool_against_rate_limited_sandbox(sandbox_factory: Any) -> None:
    import requests

    from tests.helpers import TOKEN

    sandbox = sandbox_factory(rate_limit=10, rate_window=1.0)
    pacer = Pacer()
    url = f"{sandbox.url}/api/sources"
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    rejected: list[int] = []

    def one(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            while True:
                ticket = pacer.acquire()
                response = session.get(url, headers=headers, timeout=10)
                pacer.observe(ticket, response.status_code, response.headers)
                if response.status_code != 429:
                    return response.status_code
                rejected.append(1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(35)))

    assert statuses == [200] * 35
    windows = math.ceil(35 / 10) + 1
    assert len(rejected) <= windows
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()
    counted = [r for r in log if r["path"] == "/api/sources"]
    assert sum(1 for r in counted if r["status"] == 429) == len(rejected)
    assert sum(1 for r in counted if r["status"] == 200) == 35


# -- discrete-event simulation: the importer's worker pool against a server's limiter -----------
class SimLimiter:
    """The sandbox's limiter (window from the first counted request, Retry-After rounded up)
    or Laravel's (the window ends on a whole wall-clock second, so its length varies)."""

    def __init__(self, limit: int, window: float, laravel: bool = False) -> None:
        self.limit, self.window, self.laravel = limit, window, laravel
        self.ends, self.hits, self.windows = 0.0, 0, 0
        self.refused: dict[int, int] = {}

    def hit(self, now: float) -> tuple[int, dict[str, str]]:
        wall = now + 0.37
        if (wall if self.laravel else now) >= self.ends:
            self.ends = math.floor(wall) + self.window if self.laravel else now + self.window
            self.hits, self.windows = 0, self.windows + 1
        head = {"X-RateLimit-Limit": str(self.limit)}
        if self.hits >= self.limit:
            self.refused[self.windows] = self.refused.get(self.windows, 0) + 1
            retry = int(self.ends - math.floor(wall)) if self.laravel else math.ceil(self.ends - now)
            return 429, {**head, "X-RateLimit-Remaining": "0", "Retry-After": str(retry)}
        self.hits += 1
        return 201, {**head, "X-RateLimit-Remaining": str(self.limit - self.hits)}


class Simulation:
    """Workers as in the importer: up to ``pacer.suggest_concurrency()`` requests in flight;
    each request is counted ``latency`` (+ jitter) after it is sent, answered just after."""

    def __init__(self, limiter: SimLimiter, latency: float, seed: int = 1) -> None:
        self.now = 1000.0
        self.rng = random.Random(seed)
        self.limiter, self.latency = limiter, latency
        self.pacer = Pacer(clock=lambda: self.now, wall_clock=lambda: self.now + 0.37,
                           random=self.rng.random)
        self.events: list[tuple[float, int, str, Any]] = []
        self.seq = self.generation = self.counted = 0
        self.waiting: dict[int, int] = {}

    def run(self, phases: list[tuple[int, int | None]]) -> float:
        start = self.now
        for jobs, most in phases:
            self._phase(jobs, most)
        return self.now - start

    def _push(self, at: float, kind: str, data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, data))

    def _phase(self, jobs: int, most: int | None) -> None:
        self.left, self.active, self.most = jobs, 0, most
        self._fill()
        while self.events:
            at, _, kind, data = heapq.heappop(self.events)
            self.now = max(self.now, at)
            if kind == "poll" and self.waiting.get(data[0]) == data[1]:
                del self.waiting[data[0]]
                self._poll(data[0])
            elif kind == "arrive":
                status, headers = self.limiter.hit(self.now)
                self._push(self.now + 0.0005, "answer", (data, status, headers))
            elif kind == "answer":
                self._answer(*data)

    def _answer(self, job: tuple[int, Ticket], status: int, headers: dict[str, str]) -> None:
        self.pacer.observe(job[1], status, headers)
        if status == 429:
            self._poll(job[0])
        else:
            self.counted, self.active = self.counted + 1, self.active - 1
            self._fill()
        for worker in list(self.waiting):          # observe() wakes every waiting worker
            self.generation += 1
            self.waiting[worker] = self.generation
            self._push(self.now, "poll", (worker, self.generation))

    def _fill(self) -> None:
        while self.left and self.active < min(self.pacer.suggest_concurrency(),
                                              self.most or 10**6):
            self.left, self.active = self.left - 1, self.active + 1
            self.seq += 1
            self._poll(self.seq)

    def _poll(self, worker: int) -> None:
        verdict = self.pacer.try_acquire()
        if isinstance(verdict, Ticket):
            delay = self.latency + self.rng.random() * 0.003
            self._push(self.now + delay, "arrive", (worker, verdict))
            return
        self.generation += 1
        self.waiting[worker] = self.generation
        if verdict is not None:
            self._push(self.now + verdict, "poll", (worker, self.generation))


def simulate_import(limit: int, window: float, latency: float, rows: int, *,
                    laravel: bool = False, seed: int = 1) -> tuple[float, float, SimLimiter]:
    """create-fields, 4 lookups side by side, then one POST per row; returns (span, ideal)."""
    sim = Simulation(SimLimiter(limit, window, laravel), latency, seed)
    span = sim.run([(1, 1), (4, 4), (rows, None)])
    return span, (math.ceil(sim.counted / limit) - 1) * window, sim.limiter


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simulated_benchmark_reaches_its_goal(seed: int) -> None:
    span, ideal, limiter = simulate_import(60, 2.0, 0.15, 400, seed=seed)
    assert ideal == 12.0
    assert span <= 1.05 * ideal
    assert max(limiter.refused.values()) <= 1


@pytest.mark.parametrize("laravel", [False, True])
def test_simulated_real_concord_setting(laravel: bool) -> None:
    span, ideal, limiter = simulate_import(90, 60.0, 0.1, 300, laravel=laravel)
    assert span <= 1.02 * ideal
    assert max(limiter.refused.values()) <= 1


def test_laravel_whole_second_windows_never_cause_a_storm() -> None:
    span, ideal, limiter = simulate_import(90, 60.0, 0.1, 2000, laravel=True)
    assert span <= 1.02 * ideal
    assert max(limiter.refused.values()) <= 2
    assert sum(limiter.refused.values()) <= limiter.windows


@pytest.mark.parametrize("window", [1.7, 3.3, 20.0])
def test_simulated_windows_that_are_not_whole_seconds(window: float) -> None:
    span, ideal, limiter = simulate_import(30, window, 0.1, 400)
    assert span <= 1.08 * ideal
    assert max(limiter.refused.values()) <= 1


# -- the mechanics, step by step ------------------------------------------------------------------
def _spend(pacer: Pacer, limit: int) -> None:
    for remaining in range(limit - 1, -1, -1):
        pacer.observe(pacer.acquire(), 200, _headers(limit, remaining))


def test_first_refusal_is_sent_just_past_a_whole_second() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    opener = pacer.acquire()
    pacer.observe(opener, 200, _headers(5, 4))
    clock.now += 0.4
    for remaining in range(3, -1, -1):
        pacer.observe(pacer.acquire(), 200, _headers(5, remaining))
    learner = pacer.acquire()
    assert learner.probe
    assert learner.sent_at - opener.sent_at == pytest.approx(1 + GRID_OFFSET)
    pacer.observe(learner, 429, {**_headers(5, 0), "Retry-After": "1"})
    assert pacer.w_low == pytest.approx(1 + GRID_OFFSET)
    assert pacer.w_high == pytest.approx(2 + GRID_OFFSET)


def test_a_probe_tests_the_whole_second_and_never_delays_the_release() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    pacer.latency = 0.15                          # slow: bursts go without waiting for a head
    opener = pacer.acquire()
    pacer.observe(opener, 200, _headers(3, 2))
    clock.now += 0.4
    rest = [pacer.acquire() for _ in range(2)]
    for ticket, remaining in zip(rest, (1, 0), strict=True):
        pacer.observe(ticket, 200, _headers(3, remaining))
    learner = pacer.acquire()
    pacer.observe(learner, 429, {**_headers(3, 0), "Retry-After": "1"})
    probe = pacer.acquire()                       # just past 2 s: does the window end by then?
    assert probe.probe and 2.0 < probe.sent_at - opener.sent_at < 2.0 + GRID_OFFSET
    burst = pacer.acquire()                       # its answer is not awaited past w_high
    assert not burst.probe
    assert burst.sent_at - opener.sent_at >= pacer.w_high
    assert clock.now - opener.sent_at < 2.0 + GRID_OFFSET + 0.02


def test_fast_server_releases_a_head_first_then_the_burst() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    _spend(pacer, 4)
    pacer.observe(pacer.acquire(), 429, {**_headers(4, 0), "Retry-After": "1.500"})
    head = pacer.acquire()
    assert head.probe and head.presumed
    assert pacer.try_acquire() is None            # everybody waits for the head's answer
    pacer.observe(head, 200, _headers(4, 3))
    assert isinstance(pacer.try_acquire(), Ticket)


def test_a_refused_release_goes_back_to_the_open_window_and_turns_cautious() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock)
    pacer.latency = 0.15
    opener = pacer.acquire()
    pacer.observe(opener, 200, _headers(2, 1))
    pacer.observe(pacer.acquire(), 200, _headers(2, 0))
    pacer.w_low, pacer.w_high, pacer.precise = 0.99, 1.0, True   # believed, but wrong
    burst = [pacer.acquire(), None]
    clock.now += 0.02
    burst[1] = pacer.acquire()
    assert all(t is not None and t.presumed for t in burst)
    pacer.observe(burst[0], 429, {**_headers(2, 0), "Retry-After": "1"})
    assert pacer.strikes == 1 and pacer.cautious
    assert pacer.w_high >= burst[0].sent_at - opener.sent_at + 1.0
    assert not isinstance(pacer.try_acquire(), Ticket)   # the old window is spent again
