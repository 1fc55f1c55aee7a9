"""Wall-clock waiting: how long *at least one* of several threads was waiting.

Summing each thread's wait says "371 s" for a 20 s run with 20 threads; the union of their
waiting spans says how long the run was held up. Not thread-safe by itself: the
:class:`~concord_etl.crm.pacing.Pacer` calls it under its own lock.
"""

from __future__ import annotations

__all__ = ["WaitClock"]


class WaitClock:
    """``begin(now)`` when a thread starts waiting, ``end(now)`` when it stops."""

    __slots__ = ("_closed", "_since", "_waiters")

    def __init__(self) -> None:
        self._waiters = 0
        self._since = 0.0
        self._closed = 0.0

    def begin(self, now: float) -> None:
        if not self._waiters:
            self._since = now
        self._waiters += 1

    def end(self, now: float) -> None:
        self._waiters -= 1
        if not self._waiters:
            self._closed += max(0.0, now - self._since)

    def total(self, now: float) -> float:
        """Seconds during which at least one thread was waiting, up to ``now``."""
        ongoing = max(0.0, now - self._since) if self._waiters else 0.0
        return self._closed + ongoing
