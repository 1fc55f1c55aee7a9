"""What identifies an import run: its input and its mapping.

One sheet can feed several mappings in turn (companies, then contacts, then notes), so the
default journal and results files are named after both: ``leads.csv`` imported with
``companies.yaml`` keeps ``leads.csv.companies.journal.sqlite`` and writes
``leads.companies.results.csv``. ``open_run_journal`` takes the run's lock first (a second
import of the same input with the same mapping stops with ``RunLocked``), then opens the journal.
"""

from __future__ import annotations

import re
from pathlib import Path

from concord_etl.load.journal import Journal, file_hash
from concord_etl.load.lock import RunLock
from concord_etl.mapping.model import AnyMapping, RecordsMapping
from concord_etl.output.results import results_path


def mapping_label(mapping: AnyMapping) -> str:
    """How messages name a mapping: its file name, else what it imports."""
    if mapping.path is not None:
        return mapping.path.name
    if isinstance(mapping, RecordsMapping):
        return "the records mapping"
    return f"the {mapping.resource} mapping"


def default_journal_path(path: str | Path, mapping: AnyMapping | None = None) -> Path:
    """``leads.csv`` + ``companies.yaml`` → ``leads.csv.companies.journal.sqlite`` (beside the
    input); without a mapping, ``leads.csv.journal.sqlite``."""
    source = Path(path)
    if mapping is None:
        return source.with_name(source.name + ".journal.sqlite")
    tag = mapping.run_name
    if re.search(rf"\.{re.escape(tag)}\.results(?:\.results)*$", source.stem):
        return source.with_name(f"{source.name}.journal.sqlite")
    return source.with_name(f"{source.name}.{tag}.journal.sqlite")


def default_results_path(path: str | Path, mapping: AnyMapping, *, excel: bool) -> Path:
    """``leads.csv`` + ``companies.yaml`` → ``leads.companies.results.csv``."""
    return results_path(path, excel=excel, tag=mapping.run_name)


def lock_run(path: Path, mapping: AnyMapping, journal_path: Path | None) -> RunLock:
    """Take the run's lock (``RunLocked`` when another run of this input + mapping holds it).

    Taken before anything else of a run, so that a second copy stops at once; the journal is
    opened under it later (``open_run_journal(..., lock=...)``)."""
    where = journal_path or default_journal_path(path, mapping)
    return RunLock(where, input_name=str(path), mapping_name=mapping_label(mapping)).acquire()


def open_run_journal(
    path: Path,
    mapping: AnyMapping,
    journal_path: Path | None,
    *,
    restart: bool = False,
    extra_meta: dict[str, str] | None = None,
    lock: RunLock | None = None,
) -> tuple[Journal, RunLock]:
    """Lock the run (unless ``lock`` is the run's lock, taken already), then open its journal
    (a lock taken here is released if opening fails)."""
    where = journal_path or default_journal_path(path, mapping)
    label = mapping_label(mapping)
    own = lock is None
    if lock is None:
        lock = lock_run(path, mapping, where)
    try:
        journal = Journal.open(
            where,
            input_hash=file_hash(path),
            mapping_hash=mapping.digest,
            input_name=str(path),
            mapping_name=label,
            restart=restart,
            extra_meta=extra_meta,
        )
    except BaseException:
        if own:
            lock.release()
        raise
    return journal, lock


class RunHandles:
    """The journal and the lock an import run holds; ``release`` closes and frees both."""

    journal: Journal | None
    _lock: RunLock | None

    def _release(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
