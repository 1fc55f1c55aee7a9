"""Durable journal of an import: one SQLite file (WAL, ``synchronous=FULL``) per input + mapping.

Every write the uploader makes is an *op* keyed by ``op_key``: ``row:17`` (the record of row 17
of a one-resource mapping), ``row:17:contact`` (record ``contact`` of row 17 of a ``records:``
mapping), ``row:17:deal:products`` (the deal's line items), ``create:companies:name:acme ltd``
(a ``create_missing`` record). An op may name its ``resource`` and keep a ``before`` image of the
fields it changes (room for undoing a run). Before requests go out, :meth:`Journal.begin` records their
intents (state ``sent``) in one transaction; after the answer, :meth:`Journal.finish` records the
outcome (group-committed: a crash may lose the last outcomes, never an intent). A crash at any
instant therefore leaves each op either finished or ``sent`` — outcome unknown, to be
reconciled by its ``match`` key before anything is re-sent.

States: ``pending`` (planned), ``sent`` (intent written, outcome unknown), ``done``,
``rejected`` (the CRM refused the row), ``failed``, ``unverified`` (reconciliation could not
tell), ``skipped``. Only what resuming needs is stored: row number, match key, payload hash,
action, Concord id, errors. Never payloads, never the token.

The ``meta`` table says whose journal it is (input and mapping hashes and names) and how its
last run ended: ``run_state`` is ``running`` (with the ``pid``) while a run holds it,
``finished`` or ``interrupted`` after; a run killed outright leaves ``running`` behind, which the
next run reads as interrupted. A revert of the run (``load.revert``) keeps its own ops in the
same file and marks ``revert_state``; the import then refuses to resume it (``--restart``
starts over).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from concord_etl._version import __version__
from concord_etl.errors import JournalError
from concord_etl.load.group_commit import GroupCommit
from concord_etl.load.journal_meta import (
    FINISHED,
    INTERRUPTED,
    REVERT_STATE,
    RUNNING,
    owner_message,
    reverted_message,
)
from concord_etl.redact import redact_data

STATES = ("pending", "sent", "done", "rejected", "failed", "unverified", "skipped")
SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    op_key       TEXT PRIMARY KEY,
    row          INTEGER,
    match        TEXT,
    payload_hash TEXT,
    state        TEXT NOT NULL,
    action       TEXT,
    concord_id   INTEGER,
    errors       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL NOT NULL,
    resource     TEXT,
    before       TEXT
);
CREATE INDEX IF NOT EXISTS ops_state ON ops(state);
"""
# Columns added after the first schema; journals made before them get them on open.
_ADDED_COLUMNS = (("resource", "TEXT"), ("before", "TEXT"))
_ORDER = "COALESCE(row, 9223372036854775807)"
_COLUMNS = ("op_key, row, match, payload_hash, state, action, concord_id, errors, attempts,"
            " updated_at, resource, before")


@dataclass(frozen=True)
class Op:
    """An intent to write: what to look for if the outcome is lost (``match``)."""

    op_key: str
    match: Mapping[str, Any] | None = None
    payload_hash: str | None = None
    row: int | None = None
    action: str | None = None                  # planned: create / update / delete ...
    state: str = "sent"
    resource: str | None = None                # the CRM resource written
    before: Mapping[str, Any] | None = None    # fields an update changes, as they were


@dataclass(frozen=True)
class OpRecord:
    """An op as stored in the journal."""

    op_key: str
    row: int | None
    match: dict[str, Any] | None
    payload_hash: str | None
    state: str
    action: str | None
    concord_id: int | None
    errors: Any
    attempts: int
    updated_at: float
    resource: str | None = None
    before: dict[str, Any] | None = None


def file_hash(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """sha256 of a file's bytes (streamed), as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def payload_hash(body: Any) -> str:
    """sha256 of a request body's canonical JSON (to notice a changed payload on resume)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Journal(GroupCommit):
    """The journal of one import; thread-safe (one connection, one lock, commit per call)."""

    OUTCOME_SQL = (
        "INSERT INTO ops(op_key, row, state, action, concord_id, errors, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(op_key) DO UPDATE SET state = excluded.state,"
        " action = COALESCE(excluded.action, ops.action),"
        " concord_id = COALESCE(excluded.concord_id, ops.concord_id),"
        " errors = excluded.errors, row = COALESCE(excluded.row, ops.row),"
        " updated_at = excluded.updated_at"
    )

    def __init__(self, path: Path, connection: sqlite3.Connection,
                 archived: Path | None = None) -> None:
        self.path = path
        self.archived = archived                 # where a refused/old journal was moved
        super().__init__(connection)

    @classmethod
    def open(cls, path: str | Path, *, input_hash: str, mapping_hash: str,
             input_name: str | None = None, restart: bool = False,
             mapping_name: str | None = None, extra_meta: Mapping[str, str] | None = None
             ) -> Journal:
        """Open (or create) the journal for this input and mapping.

        A journal made for other content raises :class:`JournalError` (saying whether the input
        or the mapping changed, and whether that run finished) unless ``restart``; ``restart``
        moves any existing journal aside (``<name>.<timestamp>.bak``) and starts a fresh one.
        Call it while holding the run's lock (``load.lock.RunLock``): opening is not meant to
        race with another run of the same journal. ``extra_meta`` is stored on creation.
        """
        journal_path = Path(path)
        name = input_name or "the input file"
        mapping_label = mapping_name or "the mapping"
        archived = None
        if journal_path.exists():
            if restart:
                archived = _archive(journal_path)
            else:
                _check_owner(journal_path, input_hash, mapping_hash, name, mapping_label)
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        connection = _connect(journal_path)
        journal = cls(journal_path, connection, archived)
        journal._start_run(input_hash, mapping_hash, name, mapping_label, extra_meta or {})
        return journal

    @classmethod
    def attach(cls, path: str | Path) -> Journal:
        """An existing journal opened without starting a run of it (to read its ops: a
        revert). Raises :class:`JournalError` when there is none or it cannot be read."""
        journal_path = Path(path)
        if not journal_path.exists():
            raise JournalError(f"there is no journal {journal_path}")
        return cls(journal_path, _connect(journal_path))

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Commit what is buffered and close; a run not marked finished counts as interrupted."""
        with self._lock:
            self._flush()
            try:
                with self._db:
                    self._db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'run_state' AND value = ?",
                        (INTERRUPTED, RUNNING))
                    self._db.execute("UPDATE meta SET value = '' WHERE key = 'pid'")
            except sqlite3.Error:
                pass  # the outcomes are committed; the state is only for messages
            self._db.close()

    def finish_run(self) -> None:
        """Mark the run finished (every row has its outcome); call before :meth:`close`."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._flush()
            with self._db:
                self._set_meta({"run_state": FINISHED, "finished_at": now})

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_run(self, input_hash: str, mapping_hash: str, input_name: str,
                   mapping_name: str, extra: Mapping[str, str]) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not rows:
                self._db.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("created_at", now), ("input_name", input_name),
                     ("input_hash", input_hash), ("mapping_hash", mapping_hash),
                     ("tool_version", __version__), ("runs", "0"),
                     ("mapping_name", mapping_name), *extra.items()],
                )
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'runs'")
            self._set_meta({"run_state": RUNNING, "pid": str(os.getpid()), "started_at": now,
                            "finished_at": ""})

    @property
    def meta(self) -> dict[str, str]:
        """created_at, input_name, input_hash, mapping_hash, tool_version, runs, schema."""
        with self._lock:
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    @property
    def run_count(self) -> int:
        return int(self.meta.get("runs", "0"))

    # -- writes -----------------------------------------------------------------------------
    def begin(self, ops: Iterable[Op]) -> None:
        """Write the intents of ``ops`` in ONE transaction (call before sending them)."""
        now = time.time()
        rows = []
        for op in ops:
            _check_state(op.state)
            rows.append((op.op_key, op.row, _dumps(op.match), op.payload_hash, op.state,
                         op.action, now, op.resource, _dumps(op.before)))
        with self._lock, self._db:
            self._write_outcomes()
            self._db.executemany(
                "INSERT INTO ops(op_key, row, match, payload_hash, state, action, attempts,"
                " updated_at, resource, before) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
                " ON CONFLICT(op_key) DO UPDATE SET row = excluded.row, match = excluded.match,"
                " payload_hash = excluded.payload_hash, state = excluded.state,"
                " action = excluded.action, errors = NULL, attempts = ops.attempts + 1,"
                " updated_at = excluded.updated_at,"
                " resource = COALESCE(excluded.resource, ops.resource),"
                " before = COALESCE(excluded.before, ops.before)",
                rows,
            )

    def finish(self, op_key: str, state: str, *, action: str | None = None,
               concord_id: int | None = None, errors: Any = None, row: int | None = None) -> None:
        """Record an op's outcome (creates the op if it was never begun, e.g. a skipped row).

        Outcomes are group-committed: with the next :meth:`begin`, every
        ``FLUSH_OUTCOMES`` outcomes or ``FLUSH_SECONDS``, and before any query or close.
        Losing the last few to a crash is safe: their ops stay ``sent`` and are reconciled.
        """
        self.finish_many([(op_key, state, action, concord_id, errors, row)])

    def finish_many(self, outcomes: Iterable[tuple[str, str, str | None, int | None, Any,
                                                   int | None]]) -> None:
        """Record outcomes ``(op_key, state, action, concord_id, errors, row)``."""
        now = time.time()
        rows = []
        for op_key, state, action, concord_id, errors, row in outcomes:
            _check_state(state)
            rows.append((op_key, row, state, action, concord_id, _dumps(errors), now))
        self._buffer(rows)


    # -- queries ----------------------------------------------------------------------------
    def get(self, op_key: str) -> OpRecord | None:
        with self._lock:
            self._flush()
            found = self._db.execute(f"SELECT {_COLUMNS} FROM ops WHERE op_key = ?",
                                     (op_key,)).fetchone()
        return None if found is None else _record(found)

    def states(self) -> dict[str, int]:
        """Number of ops per state (states without ops are left out)."""
        with self._lock:
            self._flush()
            return dict(self._db.execute("SELECT state, COUNT(*) FROM ops GROUP BY state"))

    def claimed(self, concord_ids: Iterable[int], *, resource: str) -> set[int]:
        """Which of ``concord_ids`` (records of ``resource``) a finished op of this journal
        already holds — e.g. notes other rows of the run created, when reconciling a note."""
        ids = sorted({int(i) for i in concord_ids})
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        with self._lock:
            self._flush()
            found = self._db.execute(
                f"SELECT concord_id FROM ops WHERE concord_id IN ({marks}) AND resource = ?"
                " AND state = 'done'", (*ids, resource)).fetchall()
        return {int(r[0]) for r in found}

    def unfinished(self) -> list[OpRecord]:
        """Ops whose intent was written but whose outcome never was (state ``sent``)."""
        return list(self.iter_ops(states=("sent",)))

    def iter_ops(self, states: Iterable[str] | None = None) -> Iterator[OpRecord]:
        """Ops ordered by row then key, optionally only some states. Fetched in pages by key,
        so finishing ops while iterating neither skips nor repeats any."""
        wanted = tuple(states) if states is not None else ()
        where = f" AND state IN ({','.join('?' * len(wanted))})" if wanted else ""
        sql = (f"SELECT {_COLUMNS}, {_ORDER} AS k FROM ops WHERE ({_ORDER}, op_key) > (?, ?)"
               f"{where} ORDER BY k, op_key LIMIT 1000")
        last: tuple[int, str] = (-(2**63), "")
        while True:
            with self._lock:
                self._flush()
                batch = self._db.execute(sql, (*last, *wanted)).fetchall()
            yield from (_record(row[:-1]) for row in batch)
            if len(batch) < 1000:
                return
            last = (batch[-1][-1], batch[-1][0])


# -- helpers ----------------------------------------------------------------------------------
def _connect(path: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED",
                                     timeout=10.0)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(_SCHEMA)
        present = {row[1] for row in connection.execute("PRAGMA table_info(ops)")}
        for name, kind in _ADDED_COLUMNS:
            if name not in present:
                connection.execute(f"ALTER TABLE ops ADD COLUMN {name} {kind}")
        connection.commit()
    except sqlite3.DatabaseError as exc:
        if _local_io_problem(exc):            # a full disk is not a broken journal
            message = (f"cannot use the journal {path}: {exc}; check that its folder has free "
                       "space and can be written to, then rerun the same command")
        else:
            message = f"cannot use the journal {path}: {exc}; rerun with --restart to start over"
        raise JournalError(message) from None
    return connection


def _local_io_problem(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("disk i/o", "disk is full", "unable to open", "readonly"))


def _check_owner(path: Path, input_hash: str, mapping_hash: str, input_name: str,
                 mapping_name: str) -> None:
    try:
        connection = sqlite3.connect(path, timeout=10.0)
        try:
            meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        message = (f"the journal {path} cannot be read ({exc}); rerun with --restart to "
                   "start over")
        raise JournalError(message) from None
    input_changed = meta.get("input_hash") != input_hash
    if not input_changed and meta.get("mapping_hash") == mapping_hash:
        if meta.get(REVERT_STATE):
            raise JournalError(reverted_message(meta, path, input_name, mapping_name))
        return
    raise JournalError(owner_message(meta, path, input_name, mapping_name, input_changed))


def _archive(path: Path) -> Path:
    """Move a journal (and its -wal/-shm files) aside; returns the new main file's path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{target}{suffix}"))
    return target


def _check_state(state: str) -> None:
    if state not in STATES:
        message = f"unknown journal state {state!r} (expected one of {', '.join(STATES)})"
        raise ValueError(message)


def _dumps(value: Any) -> str | None:
    """JSON for the journal, redacted (no secret reaches the file, even from server text)."""
    if value is None:
        return None
    return json.dumps(redact_data(value), ensure_ascii=False, default=str)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _record(row: tuple[Any, ...]) -> OpRecord:
    (op_key, number, match, p_hash, state, action, concord_id, errors, attempts, updated,
     resource, before) = row
    return OpRecord(op_key, number, _loads(match), p_hash, state, action, concord_id,
                    _loads(errors), attempts, updated, resource, _loads(before))
