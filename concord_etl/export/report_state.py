"""What a scheduled report keeps between runs: a lock and the watermarks of incremental sheets.

- ``RunLock``: an exclusive lock on ``.REPORT.lock`` beside the report file (the ``filelock``
  package: ``flock`` on Linux and macOS, ``msvcrt`` locking on Windows), taken without waiting;
  a second run of the same report while one is going on gets ``RunLocked`` (exit 3). The
  operating system releases it when the process ends, however it ends, so there are no stale
  locks. Who holds it (pid, host, since when) is written to ``.REPORT.lock.owner`` for the
  message; that file is removed on release and only read when the lock is taken.
- ``ReportState``: ``REPORT.state.json`` beside the report file, written atomically after a
  successful run. A sheet with ``since: last_run`` keeps a watermark: the newest ``updated_at``
  it exported and the ids updated at that very time. The next run asks for records updated at
  or after the watermark and leaves out those ids unless they changed again, so a record
  updated in the same second as the watermark is neither lost nor exported twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from concord_etl.crm.pages import timestamp
from concord_etl.errors import ConfigError, RunLocked
from concord_etl.output.atomic import replace_file

STATE_VERSION = 1


def lock_path(report: Path) -> Path:
    return report.with_name(f".{report.name}.lock")


def owner_path(report: Path) -> Path:
    return report.with_name(f".{report.name}.lock.owner")


def state_path(report: Path) -> Path:
    return report.with_name(f"{report.stem}.state.json")


class RunLock:
    """``with RunLock(report_path):`` — one run of a report at a time (see module doc)."""

    def __init__(self, report: Path) -> None:
        self.report = Path(report)
        self.path = lock_path(self.report)
        self.owner = owner_path(self.report)
        self._lock = FileLock(self.path, timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            holder = read_owner(self.owner)
            who = f" ({holder})" if holder else ""
            msg = f"another run of {self.report} is in progress{who}; lock {self.path}"
            raise RunLocked(msg) from None
        except OSError as exc:
            msg = f"cannot create the lock file {self.path}: {exc.strerror or exc}"
            raise ConfigError(msg) from None
        started = datetime.now().astimezone().isoformat(timespec="seconds")
        with contextlib.suppress(OSError):  # only for the message of a refused run
            _write_small(self.owner, f"pid {os.getpid()} on {socket.gethostname()} since {started}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(OSError):
            self.owner.unlink()
        self._lock.release()


def read_owner(path: Path) -> str | None:
    """What the holder of a lock wrote about itself (``pid 12 on host since ...``), if anything."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text[:200] or None


def _write_small(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    replace_file(tmp, path)


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
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            replace_file(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            msg = f"cannot write the report state {target}: {exc.strerror or exc}"
            raise ConfigError(msg) from None
        return target
