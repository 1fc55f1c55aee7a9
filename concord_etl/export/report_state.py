"""What a scheduled report keeps between runs: a lock and the watermarks of incremental sheets.

- ``RunLock``: an exclusive ``flock`` on ``.REPORT.lock`` beside the report file, taken without
  waiting; a second run of the same report while one is going on gets ``RunLocked`` (exit 3).
  The kernel releases it when the process ends, however it ends, so there are no stale locks.
  The file stays (holding the pid of the last holder, for the message); it is never deleted
  because deleting a lock file can let two runs lock two different files.
- ``ReportState``: ``REPORT.state.json`` beside the report file, written atomically after a
  successful run. A sheet with ``since: last_run`` keeps a watermark: the newest ``updated_at``
  it exported and the ids updated at that very time. The next run asks for records updated at
  or after the watermark and leaves out those ids unless they changed again, so a record
  updated in the same second as the watermark is neither lost nor exported twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from concord_etl.crm.pages import timestamp
from concord_etl.errors import ConfigError, RunLocked

try:  # POSIX; the tool's scheduled runs target cron hosts
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STATE_VERSION = 1


def lock_path(report: Path) -> Path:
    return report.with_name(f".{report.name}.lock")


def state_path(report: Path) -> Path:
    return report.with_name(f"{report.stem}.state.json")


class RunLock:
    """``with RunLock(report_path):`` — one run of a report at a time (see module doc)."""

    def __init__(self, report: Path) -> None:
        self.report = Path(report)
        self.path = lock_path(self.report)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            msg = f"cannot create the lock file {self.path}: {exc.strerror or exc}"
            raise ConfigError(msg) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                msg = (f"another run of {self.report} is in progress{who}; lock {self.path}. "
                       "Try again when it has finished.")
                raise RunLocked(msg) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Watermark:
    """Where an incremental sheet stopped: newest ``updated_at`` seen and the ids at it."""

    at: datetime
    ids: frozenset[Any] = frozenset()
    resource: str = ""
    query: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "ids": sorted(self.ids, key=str),
                "resource": self.resource, "query": self.query}

    @classmethod
    def from_dict(cls, data: Any) -> Watermark | None:
        if not isinstance(data, dict):
            return None
        at = timestamp(data.get("at"))
        if at is None:
            return None
        raw_ids = data.get("ids")
        ids = raw_ids if isinstance(raw_ids, list) else []
        return cls(at=at, ids=frozenset(ids), resource=str(data.get("resource") or ""),
                   query=data.get("query"))


@dataclass
class ReportState:
    """The state file's content: when the report last ran and each sheet's watermark."""

    last_run: datetime | None = None
    output: str | None = None
    watermarks: dict[str, Watermark] = field(default_factory=dict)

    @classmethod
    def load(cls, report: Path) -> ReportState:
        """The stored state; none (a first run) when the file is missing or unreadable."""
        try:
            data = json.loads(state_path(report).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        raw_marks = data.get("watermarks")
        marks = raw_marks if isinstance(raw_marks, dict) else {}
        watermarks = {str(name): mark for name, raw in marks.items()
                      if (mark := Watermark.from_dict(raw)) is not None}
        return cls(last_run=timestamp(data.get("last_run")), output=data.get("output"),
                   watermarks=watermarks)

    def watermark(self, sheet: str, resource: str, query: str | None) -> Watermark | None:
        """The sheet's watermark if it was kept for the same resource and query."""
        mark = self.watermarks.get(sheet)
        if mark is None or mark.resource != resource or mark.query != query:
            return None
        return mark

    def save(self, report: Path) -> Path:
        """Write atomically beside the report file."""
        target = state_path(report)
        data = {"version": STATE_VERSION,
                "last_run": self.last_run.isoformat() if self.last_run else None,
                "output": self.output,
                "watermarks": {name: mark.as_dict() for name, mark in self.watermarks.items()}}
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            msg = f"cannot write the report state {target}: {exc.strerror or exc}"
            raise ConfigError(msg) from None
        return target
