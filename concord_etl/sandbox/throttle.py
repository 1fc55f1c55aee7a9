"""Laravel's fixed-window rate limiter (per user) and seeded fault dice."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """``limit`` hits per window that starts at the first counted request of a key.

    A refused request is not counted. Headers follow ``ThrottleRequests``.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._state: dict[object, tuple[float, int]] = {}

    def configure(self, limit: int, window: float) -> None:
        with self._lock:
            self.limit, self.window = limit, window
            self._state.clear()

    def hit(self, key: object) -> tuple[bool, dict[str, str]]:
        """Count one request → (allowed, headers to add to the answer)."""
        with self._lock:
            now = self._clock()
            ends, hits = self._state.get(key, (0.0, 0))
            if now >= ends:
                ends, hits = now + self.window, 0
            if hits >= self.limit:
                self._state[key] = (ends, hits)
                retry = max(0, math.ceil(ends - now))
                return False, {
                    "X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": "0",
                    "Retry-After": str(retry),
                    "X-RateLimit-Reset": str(int(self._wall()) + retry),
                }
            hits += 1
            self._state[key] = (ends, hits)
            return True, {"X-RateLimit-Limit": str(self.limit),
                          "X-RateLimit-Remaining": str(max(0, self.limit - hits))}


class Dice:
    """Reproducible fault decisions (one RNG, one lock)."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability
