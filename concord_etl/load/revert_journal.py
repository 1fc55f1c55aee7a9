"""The journal of a revert: its own table in the import's journal file.

A revert undoes what one import journal recorded, so it keeps its progress beside it (same
SQLite file, same run lock): archiving the journal with ``import --restart`` takes the revert's
progress along, and nothing can pair a revert with the wrong import.

Each undo is an *item* keyed like ``contacts:41`` (a record), ``deal-products:7`` (a line
item) or ``op:row:9`` (a write of the import whose outcome was unknown). Before its requests go
out, :meth:`RevertJournal.begin` records the intents (state ``sent``) in one transaction; after
the answer :meth:`RevertJournal.finish` records the outcome (group-committed; a crash may lose
the last outcomes, never an intent). A rerun skips ``done`` items and looks again at ``sent``
ones: a DELETE answered 404 after an intent was its own, an update is recomputed from the
record as it is now.

The import journal's ``meta`` gets ``revert_state`` (``running`` with ``revert_pid`` while a
revert holds the lock, then ``finished`` or ``interrupted``) and ``reverted_at``; an import
refuses to resume a journal that has been reverted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from concord_etl.errors import JournalError
from concord_etl.load.group_commit import GroupCommit
from concord_etl.load.journal_meta import (
    FINISHED,
    INTERRUPTED,
    REVERT_PID,
    REVERT_STATE,
    REVERTED_AT,
    RUNNING,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revert_ops (
    item_key   TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    action     TEXT,
    concord_id INTEGER,
    errors     TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
"""
STATES = ("sent", "done", "failed")


@dataclass(frozen=True)
class RevertEntry:
    """One item as the revert journal has it."""

    item_key: str
    state: str
    action: str | None
    concord_id: int | None
    errors: list[str]
    attempts: int


class RevertJournal(GroupCommit):
    """Thread-safe (one connection, one lock)."""

    OUTCOME_SQL = (
        "INSERT INTO revert_ops(item_key, state, action, concord_id, errors, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(item_key) DO UPDATE SET"
        " state = excluded.state, action = excluded.action,"
        " concord_id = COALESCE(excluded.concord_id, revert_ops.concord_id),"
        " errors = excluded.errors, updated_at = excluded.updated_at"
    )

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        super().__init__(connection)

    @classmethod
    def open(cls, path: str | Path) -> RevertJournal:
        """Open the revert table of the import journal at ``path`` (call holding its lock;
        ``revert_pid`` says who holds it until :meth:`close`)."""
        journal_path = Path(path)
        try:
            connection = sqlite3.connect(journal_path, check_same_thread=False,
                                         isolation_level="DEFERRED", timeout=10.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(_SCHEMA)
            connection.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET"
                " value = excluded.value", (REVERT_PID, str(os.getpid())))
            connection.commit()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot use the journal {journal_path}: {exc}") from None
        return cls(journal_path, connection)

    @staticmethod
    def read_entries(path: str | Path) -> dict[str, RevertEntry]:
        """The items an earlier revert recorded, read-only (for a dry run; none if none)."""
        try:
            connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True,
                                         timeout=10.0)
        except sqlite3.Error:
            return {}
        try:
            rows = connection.execute(_SELECT).fetchall()
        except sqlite3.Error:
            return {}                       # no revert yet: no table
        finally:
            connection.close()
        return {row[0]: _entry(row) for row in rows}

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Mark the import journal as being reverted (the import then refuses to resume it)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._set_meta({REVERT_STATE: RUNNING, REVERT_PID: str(os.getpid()),
                            "revert_started_at": now})
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('revert_runs', '1') ON CONFLICT(key) DO "
                "UPDATE SET value = CAST(value AS INTEGER) + 1")

    def finish_run(self) -> None:
        """Every item has its outcome: the revert is finished."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._flush()
            with self._db:
                self._set_meta({REVERT_STATE: FINISHED, REVERTED_AT: now})

    def close(self) -> None:
        """Commit what is buffered and close; a revert not finished counts as interrupted."""
        with self._lock:
            try:
                self._flush()
                with self._db:
                    self._db.execute("UPDATE meta SET value = ? WHERE key = ? AND value = ?",
                                     (INTERRUPTED, REVERT_STATE, RUNNING))
                    self._db.execute("UPDATE meta SET value = '' WHERE key = ?", (REVERT_PID,))
            except sqlite3.Error:
                pass  # outcomes already committed; the state is only for messages
            self._db.close()

    # -- writes -----------------------------------------------------------------------------
    def begin(self, keys: list[str]) -> None:
        """Write the intents of ``keys`` in ONE transaction (before their requests leave)."""
        if not keys:
            return
        now = time.time()
        with self._lock, self._db:
            self._write_outcomes()
            self._db.executemany(
                "INSERT INTO revert_ops(item_key, state, attempts, updated_at)"
                " VALUES (?, 'sent', 1, ?) ON CONFLICT(item_key) DO UPDATE SET state = 'sent',"
                " errors = NULL, attempts = revert_ops.attempts + 1,"
                " updated_at = excluded.updated_at",
                [(key, now) for key in keys])

    def finish(self, key: str, state: str, action: str, *, concord_id: int | None = None,
               errors: list[str] | None = None) -> None:
        """Record an item's outcome (group-committed, like the import journal's)."""
        if state not in STATES:
            raise ValueError(f"unknown revert state {state!r}")
        row = (key, state, action, concord_id,
               json.dumps(errors, ensure_ascii=False) if errors else None, time.time())
        self._buffer([row])

    def entries(self) -> dict[str, RevertEntry]:
        """Every item recorded so far, by key."""
        with self._lock:
            self._flush()
            rows = self._db.execute(_SELECT).fetchall()
        return {row[0]: _entry(row) for row in rows}

    def get(self, key: str) -> RevertEntry | None:
        with self._lock:
            self._flush()
            row = self._db.execute(_SELECT + " WHERE item_key = ?", (key,)).fetchone()
        return None if row is None else _entry(row)


_SELECT = "SELECT item_key, state, action, concord_id, errors, attempts FROM revert_ops"


def _entry(row: tuple[Any, ...]) -> RevertEntry:
    key, state, action, concord_id, errors, attempts = row
    return RevertEntry(key, state, action, concord_id,
                       json.loads(errors) if errors else [], attempts)
