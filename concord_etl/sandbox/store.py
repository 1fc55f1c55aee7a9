"""SQLite (WAL) persistence with an in-memory mirror.

Every collection (resources, ``custom_fields``, ``options``, ``tags``) is a table of JSON rows
keyed by id; associations are pairs in ``links``. Reads use the mirror; a ``transaction()``
writes the rows it touched in one SQLite transaction before returning, so a committed change
survives a kill. One re-entrant lock guards everything.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = dict[str, Any]
Ref = tuple[str, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (coll TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL,
                                 PRIMARY KEY (coll, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links (a_res TEXT, a_id INTEGER, b_res TEXT, b_id INTEGER,
                                  PRIMARY KEY (a_res, a_id, b_res, b_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT, method TEXT, path TEXT, query TEXT,
    status INTEGER, user_id INTEGER, resource TEXT, record_id INTEGER, counted INTEGER,
    fault INTEGER DEFAULT 0, dropped INTEGER DEFAULT 0, route TEXT);
"""


class Store:
    """The sandbox state: collections of rows, association links and meta values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.tables: dict[str, dict[int, Row]] = {}
        self.links: dict[Ref, set[Ref]] = {}
        self.meta: dict[str, Any] = {}
        self._dirty_rows: dict[tuple[str, int], Row | None] = {}
        self._dirty_links: dict[tuple[Ref, Ref], bool] = {}
        self._dirty_meta: set[str] = set()
        self._depth = 0
        self._log_lock = threading.Lock()
        self._log_buffer: list[tuple[Any, ...]] = []
        self.cache: dict[Any, Any] = {}       # derived data, cleared when fields/options change
        self._index: dict[tuple[str, str], dict[Any, set[int]]] = {}
        self.load()

    # ----------------------------------------------------------------- loading
    def load(self) -> None:
        self.cache = {}
        self._index = {}
        self.tables = {}
        self.links = {}
        for coll, rid, data in self.db.execute("SELECT coll, id, data FROM rows ORDER BY coll, id"):
            self.tables.setdefault(coll, {})[rid] = json.loads(data)
        for a_res, a_id, b_res, b_id in self.db.execute("SELECT * FROM links"):
            self._link_mem((a_res, a_id), (b_res, b_id), True)
        self.meta = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    @property
    def is_new(self) -> bool:
        return not self.meta.get("seeded")

    def close(self) -> None:
        self.flush_log()
        with self.lock:
            self.db.close()

    # ---------------------------------------------------------------- reading
    def table(self, coll: str) -> dict[int, Row]:
        return self.tables.setdefault(coll, {})

    def get(self, coll: str, rid: int) -> Row | None:
        return self.tables.get(coll, {}).get(rid)

    def find(self, coll: str, attr: str, value: Any) -> list[Row]:
        """Rows whose ``attr`` equals ``value`` (strings case- and space-insensitively).

        ``attr`` may be ``phones.number``. Backed by an index built on first use and kept up
        to date by ``put``; entries left by changed or removed rows are filtered out here.
        """
        index = self._index.get((coll, attr))
        if index is None:
            index = {}
            for rid, row in self.table(coll).items():
                for key in _index_keys(row, attr):
                    index.setdefault(key, set()).add(rid)
            self._index[(coll, attr)] = index
        wanted = _index_key(value)
        found = []
        for rid in sorted(index.get(wanted, ())):
            hit = self.get(coll, rid)
            if hit is not None and wanted in _index_keys(hit, attr):
                found.append(hit)
        return found

    def linked(self, ref: Ref, resource: str) -> list[int]:
        return sorted(rid for res, rid in self.links.get(ref, ()) if res == resource)

    # ---------------------------------------------------------------- writing
    def next_id(self, coll: str) -> int:
        key = f"seq:{coll}"
        current = self.meta.get(key)
        if current is None:
            current = max(self.tables.get(coll, {}) or [0])
        self.set_meta(key, current + 1)
        return int(current + 1)

    def put(self, coll: str, row: Row) -> Row:
        rid = int(row["id"])
        if coll in ("custom_fields", "options"):
            self.cache.clear()
        self.table(coll)[rid] = row
        self._dirty_rows[(coll, rid)] = row
        for (indexed, attr), index in self._index.items():
            if indexed == coll:
                for key in _index_keys(row, attr):
                    index.setdefault(key, set()).add(rid)
        return row

    def remove(self, coll: str, rid: int) -> None:
        if coll in ("custom_fields", "options"):
            self.cache.clear()
        self.table(coll).pop(rid, None)
        self._dirty_rows[(coll, rid)] = None
        for other in list(self.links.get((coll, rid), ())):
            self.unlink((coll, rid), other)

    def set_meta(self, key: str, value: Any) -> None:
        self.meta[key] = value
        self._dirty_meta.add(key)

    def link(self, a: Ref, b: Ref) -> None:
        if b not in self.links.get(a, ()):
            self._link_mem(a, b, True)
            self._dirty_links[_pair(a, b)] = True

    def unlink(self, a: Ref, b: Ref) -> None:
        if b in self.links.get(a, ()):
            self._link_mem(a, b, False)
            self._dirty_links[_pair(a, b)] = False

    def _link_mem(self, a: Ref, b: Ref, add: bool) -> None:
        if add:
            self.links.setdefault(a, set()).add(b)
            self.links.setdefault(b, set()).add(a)
        else:
            self.links.get(a, set()).discard(b)
            self.links.get(b, set()).discard(a)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group changes; flushed and committed when the outermost block exits cleanly."""
        with self.lock:
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._discard()
                raise
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    def _discard(self) -> None:
        dirty = self._dirty_rows or self._dirty_links or self._dirty_meta
        self._clear_dirty()
        if dirty:
            self.load()

    def _clear_dirty(self) -> None:
        self._dirty_rows = {}
        self._dirty_links = {}
        self._dirty_meta = set()

    def _flush(self) -> None:
        if not (self._dirty_rows or self._dirty_links or self._dirty_meta):
            return
        cur = self.db.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            for (coll, rid), row in self._dirty_rows.items():
                if row is None:
                    cur.execute("DELETE FROM rows WHERE coll=? AND id=?", (coll, rid))
                else:
                    cur.execute("INSERT OR REPLACE INTO rows VALUES (?,?,?)",
                                (coll, rid, json.dumps(row, separators=(",", ":"))))
            for (a, b), present in self._dirty_links.items():
                if present:
                    cur.execute("INSERT OR IGNORE INTO links VALUES (?,?,?,?)", (*a, *b))
                else:
                    cur.execute("DELETE FROM links WHERE a_res=? AND a_id=? AND b_res=? AND b_id=?",
                                (*a, *b))
            for key in self._dirty_meta:
                cur.execute("INSERT OR REPLACE INTO meta VALUES (?,?)",
                            (key, json.dumps(self.meta[key])))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            self._clear_dirty()
            self.load()
            raise
        self._clear_dirty()

    def wipe(self) -> None:
        """Drop all state (records, meta, request log) — used by ``/_sandbox/reset``."""
        with self.lock:
            with self._log_lock:
                self._log_buffer = []
            self.db.executescript(
                "BEGIN; DELETE FROM rows; DELETE FROM links; DELETE FROM meta; "
                "DELETE FROM requests; DELETE FROM sqlite_sequence WHERE name='requests'; COMMIT;"
            )
            self._clear_dirty()
            self.load()

    # ------------------------------------------------------------ request log
    def log_request(self, entry: dict[str, Any]) -> None:
        """Queue a request-log entry; written by ``flush_log`` (timer, admin reads, stop)."""
        row = (entry["ts"], entry["method"], entry["path"], entry["query"], entry["status"],
               entry.get("user_id"), entry.get("resource"), entry.get("record_id"),
               int(bool(entry.get("counted"))), int(bool(entry.get("fault"))),
               int(bool(entry.get("dropped"))), entry.get("route"))
        with self._log_lock:
            self._log_buffer.append(row)

    def flush_log(self) -> None:
        with self._log_lock:
            rows, self._log_buffer = self._log_buffer, []
        if not rows:
            return
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO requests (ts, method, path, query, status, user_id, resource, "
                "record_id, counted, fault, dropped, route) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            self.db.execute("COMMIT")

    def requests_since(self, since: int) -> list[dict[str, Any]]:
        cols = ("id", "ts", "method", "path", "query", "status", "user_id", "resource",
                "record_id", "counted")
        self.flush_log()
        with self.lock:
            rows = self.db.execute(
                f"SELECT {', '.join(cols)} FROM requests WHERE id > ? ORDER BY id", (since,)
            ).fetchall()
        return [{**dict(zip(cols, r, strict=True)), "counted": bool(r[-1])} for r in rows]

    def request_stats(self) -> dict[str, Any]:
        self.flush_log()
        with self.lock:
            total, limited, faults, dropped = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 429), 0), COALESCE(SUM(fault), 0), "
                "COALESCE(SUM(dropped), 0) FROM requests"
            ).fetchone()
            by_status = dict(self.db.execute(
                "SELECT CAST(status AS TEXT), COUNT(*) FROM requests GROUP BY status ORDER BY status"
            ).fetchall())
            by_route = dict(self.db.execute(
                "SELECT route, COUNT(*) FROM requests GROUP BY 1 ORDER BY 1"
            ).fetchall())
        return {"requests": total, "by_status": by_status, "by_route": by_route,
                "rate_limited": limited, "faults": faults, "dropped": dropped}


def _pair(a: Ref, b: Ref) -> tuple[Ref, Ref]:
    return (a, b) if a <= b else (b, a)


def _index_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().casefold()
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _index_keys(row: Row, attr: str) -> list[Any]:
    if attr == "phones.number":
        return [_index_key(p.get("number")) for p in row.get("phones") or ()]
    value = row.get(attr)
    return [] if value is None else [_index_key(value)]
