"""A resumable, exactly-once import: file → validated rows → CRM writes → journal → results.

The journal gets each row's intent *before* its request is sent and the outcome after; a rerun
after any interruption (Ctrl-C, crash, ``kill -9``) skips finished rows, and verifies rows whose
outcome is unknown by their match key before anything is sent again.

Before the first chunk, a validating scan of the whole file (``validate.scan``) finds the rows
that repeat a match key or a unique value further down, so that a repeat is known before its
first row is sent: repeats of the same record (``duplicate``) are not sent and get their first
row's outcome and id once it settles; conflicting repeats are rejected.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.crm.connection import usage
from concord_etl.crm.fields import ResourceFields
from concord_etl.errors import AbortRun
from concord_etl.load.decide import Decider, RowWork
from concord_etl.load.import_summary import ImportOptions, ImportSummary
from concord_etl.load.journal import Journal
from concord_etl.load.lock import RunLock
from concord_etl.load.payloads import jsonable
from concord_etl.load.run_guards import check_paths, write_failed
from concord_etl.load.sender import Sender
from concord_etl.load.session import (
    RunHandles,
    default_journal_path,
    default_results_path,
    lock_run,
    open_run_journal,
)
from concord_etl.mapping.model import AnyMapping, Mapping, runs_as_records
from concord_etl.output.results import ResultsWriter
from concord_etl.read import Table
from concord_etl.read.inputs import estimate_rows, open_input, raw_rows, results_writer
from concord_etl.read.table import HIDDEN_PREFIX
from concord_etl.redact import redact_data
from concord_etl.validate.chunk import RowRecord, validate_frame
from concord_etl.validate.declared_fields import check_required_fed
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.relations import Relations
from concord_etl.validate.scan import limited_frames, scan_file
from concord_etl.validate.schema import Validator, build_validator
from concord_etl.validate.transforms import no_gc

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient
    from concord_etl.load.record_output import RecordsSummary

SETTLED = ("created", "updated", "unchanged", "skipped", "create", "update")
# Rows validated at once: the schema's cost per failing check is fixed per chunk (pandera
# gathers each failing check's cases into tables), so big chunks pay; the journal and the
# sender work row by row whatever the chunk.
CHUNK_ROWS = 100_000


ProgressFn = Callable[[dict[str, Any]], None]


class Importer(RunHandles):
    """One import run. ``run()`` returns the summary; ``AbortRun`` carries it as ``.summary``."""

    def __init__(
        self,
        path: str | Path,
        mapping: Mapping,
        client: ConcordClient,
        options: ImportOptions | None = None,
        *,
        progress: ProgressFn | None = None,
    ) -> None:
        self.path = Path(path)
        self.mapping = mapping
        self.client = client
        self.options = options or ImportOptions()
        self.progress = progress
        self.summary = ImportSummary(dry_run=self.options.dry_run)
        self.journal: Journal | None = None
        self._lock: RunLock | None = None
        self._started = 0.0
        self._plan_file: Any = None
        self._live: Counter = Counter()
        self._base_stats: tuple[int, float] = (0, 0.0)
        self._base_writes = 0
        self.sender: Sender | None = None
        # outcome (action, id, errors) of the first rows of folded duplicates, once settled
        self._firsts: dict[int, tuple[str, int | None, list[str]]] = {}
        self._first_rows: set[int] = set()

    # -- set-up ------------------------------------------------------------------------------
    def _open(self) -> tuple[Table, ResourceFields, Any]:
        table = open_input(self.path, self.mapping, sheet=self.options.sheet,
                           chunk_rows=CHUNK_ROWS)
        fields = self.client.resource_fields(
            self.mapping.resource, updates=self.mapping.plans_updates
        )
        check_required_fed(self.mapping, fields)
        plan = build_validator(self.mapping, fields)
        return table, fields, plan

    def _open_journal(self) -> None:
        self.journal, self._lock = open_run_journal(
            self.path, self.mapping, self.options.journal_path, restart=self.options.restart,
            lock=self._lock,
        )
        self.summary.journal = str(self.journal.path)
        self.sender = Sender(
            self.client, self.journal, self.mapping.resource,
            concurrency=self.options.concurrency, on_settled=self._emit_row,
        )

    def _create(self, resource: str, key: str) -> int | None:
        """create_missing, journalled (never before the journal is open)."""
        if self.sender is None:
            return None
        return self.sender.create_related(resource, key)

    # -- the run -----------------------------------------------------------------------------
    def _stats(self) -> tuple[int, float]:
        return usage(self.client)

    def run(self) -> ImportSummary:
        self._started = time.monotonic()
        self._base_stats = self._stats()
        self._base_writes = self._writes()
        try:
            return self._run()
        except (OSError, sqlite3.Error) as exc:
            sent = self._writes() - self._base_writes
            if self.options.dry_run or sent <= 0:
                raise                      # nothing reached the CRM: an input/usage problem
            raise write_failed(exc, sent, self.summary) from exc

    def _writes(self) -> int:
        stats = getattr(self.client, "stats", None)
        return int(getattr(stats, "writes", 0) or 0)

    def _run(self) -> ImportSummary:
        check_paths(self.path, self.mapping, self.options)
        # The run's lock first (a second copy of this run stops at once), then the read-only
        # set-up: a mapping the CRM refuses (unknown field, bad default) stops before a
        # journal exists, so fixing it needs no --restart. Then the journal, the scan for
        # repeated rows, and what a default may create.
        if not self.options.dry_run:
            self._lock = lock_run(self.path, self.mapping, self.options.journal_path)
        try:
            table, fields, plan = self._open()
            excel = table.format != "csv"
            resolver = Resolver(self.client, dry_run=self.options.dry_run,
                                on_create=self._create)
            relations = Relations(plan, resolver)
            relations.check_defaults(create=False)      # a bad default stops before any write
            planner = Decider(self.mapping, fields, self.client, resolver)
            if not self.options.dry_run:
                self._open_journal()
            if plan.duplicates.active:
                scan = scan_file(table, plan, relations, limit=self.options.limit, create=False)
                planner.expect(scan.keys)
                self._first_rows = set(scan.book.folded.values())
            relations.check_defaults(create=True)
        except BaseException:
            self._release()
            raise
        out_path = self.options.results_path or default_results_path(
            self.path, self.mapping, excel=excel)
        write_results = not self.options.dry_run or self.options.results_path is not None
        writer = results_writer(out_path, table, self.mapping) if write_results else None
        if self.options.dry_run and self.options.plan_path:
            self._plan_file = open(self.options.plan_path, "w", encoding="utf-8")  # noqa: SIM115
            self.summary.plan = str(self.options.plan_path)
        self._emit(total=estimate_rows(table, self.options.limit))
        seen = 0
        frames = iter(limited_frames(table, self.options.limit))
        try:
            for frame in frames:
                seen += len(frame)
                rows = self._rows(frame, plan, relations)
                try:
                    self._process(rows, planner)
                finally:
                    if writer is not None:
                        self._write_results(writer, frame, table.columns, rows)
        except (AbortRun, KeyboardInterrupt, OSError, sqlite3.Error) as exc:
            self.summary.aborted = str(exc) or type(exc).__name__
            exc.summary = self.summary  # type: ignore[union-attr]
            if writer is not None:
                self._write_unprocessed(writer, frames, table.columns, seen)
            self._finish(writer, resolver)
            raise
        except BaseException:
            self._finish(writer, resolver)
            raise
        if self.journal is not None:
            self.journal.finish_run()
        self._finish(writer, resolver)
        return self.summary

    def _write_unprocessed(
        self, writer: ResultsWriter, frames: Iterator[Any], columns: list[str], seen: int
    ) -> None:
        """After an abort, the rows never reached still go into the results file."""
        reason = ["not processed: the run was interrupted; rerun the same command to resume"]
        try:
            for frame in frames:
                if self.options.limit is not None:
                    if seen >= self.options.limit:
                        break
                    frame = frame.iloc[: self.options.limit - seen]
                seen += len(frame)
                rows = [RowWork(row=int(n), values={}, action="pending", errors=list(reason))
                        for n in frame["_row"].tolist()]
                self._write_results(writer, frame, columns, rows)
        except KeyboardInterrupt:
            return

    def _finish(self, writer: ResultsWriter | None, resolver: Resolver) -> None:
        requests_now, waited_now = self._stats()
        self.summary.requests = requests_now - self._base_stats[0]
        self.summary.waited_s = waited_now - self._base_stats[1]
        self.summary.created_related = list(resolver.report.created)
        self.summary.planned_related = list(resolver.report.planned)
        self.summary.lookups = resolver.strategies
        try:
            if writer is not None:
                try:
                    writer.close()
                except OSError as exc:           # ENOSPC from write() names no file
                    if exc.filename is None:
                        raise OSError(exc.errno, exc.strerror, str(writer.path)) from exc
                    raise
                self.summary.results = str(writer.path)
        finally:               # the journal is closed (its outcomes committed) whatever happens
            self.summary.elapsed_s = time.monotonic() - self._started
            try:
                if self._plan_file is not None:
                    self._plan_file.close()
            finally:
                self._release()

    # -- rows --------------------------------------------------------------------------------
    def _rows(self, frame: Any, plan: Validator, relations: Relations) -> list[RowWork]:
        """One chunk validated and looked up (vectorised); a ``RowWork`` per row whose values
        are only built if the row is read or sent."""
        chunk = validate_frame(frame, plan)
        relations.resolve(chunk, create=True)
        book = plan.duplicates
        keys = (book.keys(chunk).to_numpy(dtype=object) if book.key_fields
                and book.key_fields == self.mapping.match.on else None)
        errors_of, warnings_of = chunk.problems_by_position()
        folded = book.folded
        rows: list[RowWork] = []
        with no_gc():   # a chunk's worth of small objects: the collector would rescan them often
            self._fill(rows, chunk, keys, errors_of, warnings_of, folded)
        if keys is None or any(row.key is None for row in rows):
            _done_earlier(rows, frame)
        # like `validate`: rows with a warning that are not rejected anyway
        self.summary.warned += sum(1 for position in warnings_of if position not in errors_of)
        return rows

    @staticmethod
    def _fill(rows: list[RowWork], chunk: Any, keys: Any, errors_of: dict[int, list[str]],
              warnings_of: dict[int, list[str]], folded: dict[int, int]) -> None:
        for position, row_no in enumerate(chunk.rows.tolist()):
            work = RowWork(row=row_no, values=RowRecord(chunk, position))
            errors = errors_of.get(position)
            if errors:
                work.action, work.errors = "rejected", list(errors)
            warnings = warnings_of.get(position)
            if warnings:
                work.warnings = list(warnings)
            if keys is not None:
                key = keys[position]
                work.key = key if key.__class__ is str else None
            if folded and not errors and row_no in folded:
                work.action, work.duplicate_of = "duplicate", folded[row_no]
            rows.append(work)

    def _process(self, rows: list[RowWork], planner: Decider) -> None:
        pending: list[RowWork] = []
        for row in rows:
            if self.journal is not None and row.action != "rejected":
                entry = self.journal.get(f"row:{row.row}")
                if entry is not None and entry.state in ("done", "rejected", "unverified"):
                    row.action = entry.action or "created"
                    row.record_id = entry.concord_id
                    row.errors = list(entry.errors or [])
                    continue
                if entry is not None:
                    row.previous = {"state": entry.state, "action": entry.action,
                                    "concord_id": entry.concord_id}
            pending.append(row)
        planner.decide(pending)
        if self.options.dry_run:
            self._settle_duplicates(rows)
            if self._plan_file is not None:
                for row in rows:
                    self._plan_line(row)
            self._count(rows)
            return
        assert self.sender is not None
        self.sender.record_settled(pending)
        self.sender.send(pending, planner)
        self._settle_duplicates(pending)
        self._count(rows)

    def _settle_duplicates(self, rows: list[RowWork]) -> None:
        """Rows repeating an earlier row get its outcome and id once it has settled."""
        if not self._first_rows:
            return
        for row in rows:
            if row.row in self._first_rows:
                self._firsts[row.row] = (row.action, row.record_id, list(row.errors))
        for row in rows:
            if row.action != "duplicate" or row.duplicate_of is None:
                continue
            action, record_id, errors = self._first_outcome(row.duplicate_of)
            if action in SETTLED:
                row.record_id = record_id
                if self.journal is not None:
                    self.journal.finish(f"row:{row.row}", "done", action="duplicate",
                                        concord_id=record_id, row=row.row)
                continue
            row.action = action
            row.errors = [f"same as row {row.duplicate_of}: {e}" for e in errors] or [
                f"same as row {row.duplicate_of}, which is {action}"]
            if self.journal is not None and action in ("rejected", "unverified"):
                self.journal.finish(f"row:{row.row}", action, action=action,
                                    concord_id=record_id, errors=row.errors, row=row.row)

    def _first_outcome(self, first_row: int) -> tuple[str, int | None, list[str]]:
        """The settled outcome of a first row: this run's, else the journal's."""
        if first_row in self._firsts:
            return self._firsts[first_row]
        entry = self.journal.get(f"row:{first_row}") if self.journal is not None else None
        if entry is not None and entry.state in ("done", "rejected", "unverified"):
            return entry.action or "created", entry.concord_id, list(entry.errors or [])
        return "pending", None, ["not sent yet; rerun the same command to resume"]

    # -- sending -----------------------------------------------------------------------------
    # -- output ------------------------------------------------------------------------------
    def _count(self, rows: list[RowWork]) -> None:
        actions = Counter(row.action for row in rows)
        reported = Counter(row.action for row in rows if row.reported)
        for action, count in actions.items():
            if self.options.dry_run:
                action = {"create": "created", "update": "updated"}.get(action, action)
            self.summary.counts[action] += count
        unreported = actions - reported
        self._live.update(unreported)
        self.summary.rows += len(rows)
        self._emit(advance=sum(unreported.values()))

    def _emit(self, advance: int = 0, **extra: Any) -> None:
        if self.progress is None:
            return
        self.progress(
            {
                "advance": advance,
                "counts": dict(self._live),
                "waited": self._stats()[1] - self._base_stats[1],
                **extra,
            }
        )

    def _emit_row(self, row: RowWork) -> None:
        row.reported = True
        self._live[row.action] += 1
        self._emit(advance=1)

    def _plan_line(self, row: RowWork) -> None:
        if self._plan_file is None:
            return
        action = {"create": "create", "update": "update", "unchanged": "unchanged",
                  "skipped": "skip", "rejected": "reject"}.get(row.action, row.action)
        payload = None
        if row.action in ("create", "update"):
            payload = row.body()
        line = {"row": row.row, "action": action, "payload": jsonable(payload), "errors": row.errors}
        if row.warnings:
            line["warnings"] = row.warnings
        if row.duplicate_of is not None and row.action == "duplicate":
            line["duplicate_of"] = row.duplicate_of
        if row.record_id is not None:
            line["concord_id"] = row.record_id
        self._plan_file.write(json.dumps(redact_data(line), ensure_ascii=False, default=str) + "\n")

    def _write_results(
        self, writer: ResultsWriter, frame: Any, columns: list[str], rows: list[RowWork]
    ) -> None:
        for work, values in zip(rows, raw_rows(frame, columns), strict=True):
            action = work.action
            if self.options.dry_run:
                action = {"create": "create", "update": "update"}.get(action, action)
            elif action in ("create", "update"):
                action = "pending"
            errors = work.errors
            if action == "pending" and not errors:
                errors = ["not sent: the run was interrupted; rerun the same command to resume"]
            writer.add(work.row, action, work.record_id, errors, list(values),
                       warnings=work.warnings)


def run_import(
    path: str | Path,
    mapping: AnyMapping,
    client: ConcordClient,
    options: ImportOptions | None = None,
    *,
    progress: ProgressFn | None = None,
) -> ImportSummary | RecordsSummary:
    """Validate, resolve and upload ``path`` through ``mapping``; resumable (see module doc).

    A ``records:`` mapping (several records per row), a deals mapping with ``products:`` and
    notes, activities or calls run through ``load.records`` (same options, a summary of the
    same shape, per-record results).
    """
    if runs_as_records(mapping):
        from concord_etl.load.records import run_records_import

        return run_records_import(path, mapping, client, options, progress=progress)
    assert isinstance(mapping, Mapping)
    return Importer(path, mapping, client, options, progress=progress).run()


__all__ = ["ImportOptions", "ImportSummary", "Importer", "default_journal_path", "run_import"]


# A results file imported again: what its earlier run already wrote.
_WRITTEN = ("created", "updated", "unchanged", "duplicate", "create", "update")


def _done_earlier(rows: list[RowWork], frame: Any) -> None:
    """Rows of a results file that its run already wrote (``_action`` created/updated/..., with a
    ``_concord_id``) and that have no match key are skipped: without a key nothing could find
    their record again, so sending them would create it a second time. Rows with a key are
    matched as usual (and updated when the user edited them)."""
    actions = frame.get(HIDDEN_PREFIX + "_action")
    ids = frame.get(HIDDEN_PREFIX + "_concord_id")
    if actions is None or ids is None:
        return
    for row, action, concord_id in zip(rows, actions.tolist(), ids.tolist(), strict=True):
        if row.key is not None or row.action in ("rejected", "duplicate"):
            continue
        if str(action or "").strip() not in _WRITTEN:
            continue
        try:
            record_id = int(float(str(concord_id).strip()))
        except ValueError:
            continue
        row.action, row.record_id = "skipped", record_id
        row.warnings.append(
            f"already written (id {record_id}) by the run that made this results file; the row "
            "has no match key to find that record, so it is not sent again")
