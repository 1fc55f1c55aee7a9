"""One run at a time per journal: an exclusive, OS-level lock beside the journal.

Two copies of the same import (same input, same mapping, hence the same journal) started
together would each read "not there yet" and create every record twice. The lock makes the
second one stop before it reads or sends anything, with ``RunLocked`` (exit 3) naming the
process that holds it. It is a ``filelock`` lock (``flock`` on Unix, ``LockFileEx`` on
Windows), so the OS drops it when its process dies, ``kill -9`` included: there is never a stale
lock to remove by hand. The lock file itself stays (an empty file named ``<journal>.lock``).

The holder's pid is read from the journal's ``meta`` (``Journal.open`` writes it right after
the lock is taken; a revert of the run takes the same lock and writes ``revert_pid``).
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from concord_etl.errors import RunLocked
from concord_etl.load.journal_meta import REVERT_PID, RUNNING, read_meta

PID_WAIT_SECONDS = 2.0          # how long to wait for a fresh holder to write its pid


def lock_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".lock")


class RunLock:
    """``with RunLock(journal, input_name=..., mapping_name=...):`` — or acquire()/release()."""

    def __init__(self, journal_path: str | Path, *, input_name: str, mapping_name: str) -> None:
        self.journal_path = Path(journal_path)
        self.path = lock_path(self.journal_path)
        self.input_name = input_name
        self.mapping_name = mapping_name
        self._lock = FileLock(str(self.path))

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            kind, holder = self._holder()
            message = (
                f"another {kind} of {self.input_name} with {self.mapping_name} is running "
                f"({holder}); wait for it to finish, or stop it and rerun to resume"
            )
            raise RunLocked(message) from None
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def _holder(self) -> tuple[str, str]:
        """What holds the lock (an import or a revert of it) and its pid."""
        deadline = time.monotonic() + PID_WAIT_SECONDS
        while True:
            meta = read_meta(self.journal_path) or {}
            if meta.get(REVERT_PID):            # set while a revert holds the lock
                return "revert", f"pid {meta[REVERT_PID]}"
            if meta.get("run_state") == RUNNING and meta.get("pid"):
                return "import", f"pid {meta['pid']}"
            if time.monotonic() >= deadline:
                return "import", f"pid unknown; lock {self.path}"
            time.sleep(0.05)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
