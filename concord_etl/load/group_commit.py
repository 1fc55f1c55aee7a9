"""Outcomes written in groups: what the import and revert journals share.

An intent is committed on its own before its request leaves; outcomes are buffered and
committed together every ``FLUSH_OUTCOMES`` outcomes or ``FLUSH_SECONDS`` after the oldest
one, on :meth:`flush` and before any read. A crash can lose the last group of outcomes, never an
intent: the ops of lost outcomes stay ``sent`` and are reconciled by the next run.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

FLUSH_OUTCOMES = 100
FLUSH_SECONDS = 0.25


class GroupCommit:
    """A journal's connection, its lock and its buffer of outcomes (``OUTCOME_SQL`` rows)."""

    OUTCOME_SQL = ""                            # the statement one buffered row feeds

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self._outcomes: list[tuple[Any, ...]] = []
        self._oldest_outcome = 0.0

    def _buffer(self, rows: Iterable[tuple[Any, ...]]) -> None:
        with self._lock:
            if not self._outcomes:
                self._oldest_outcome = time.monotonic()
            self._outcomes.extend(rows)
            if (len(self._outcomes) >= FLUSH_OUTCOMES
                    or time.monotonic() - self._oldest_outcome >= FLUSH_SECONDS):
                self._flush()

    def flush(self) -> None:
        """Commit buffered outcomes now."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if self._outcomes:
            with self._db:
                self._write_outcomes()

    def _set_meta(self, values: Mapping[str, str]) -> None:
        """Set keys of the journal's ``meta`` table (inside the caller's transaction)."""
        self._db.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    def _write_outcomes(self) -> None:
        """Write the buffer (inside the caller's transaction)."""
        rows, self._outcomes = self._outcomes, []
        self._db.executemany(self.OUTCOME_SQL, rows)
