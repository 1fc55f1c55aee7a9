"""Multi-record imports: several records per row (``records:``), a deal's line items, and
records without a natural key (notes, activities, calls).

The file is read in batches of rows. In each batch the records are handled one after the other
in dependency order (companies before the contacts that link to them, contacts before their
notes), each record with its own lookups, match, update rules and writes, all batched:

1. validate the record's columns; a row where all of them are empty has no such record
   (``skipped``), a row with bad cells rejects only this record;
2. a record whose linked record on the same row was not written (rejected, failed, ...) is
   ``skipped``, naming why; otherwise ``link:`` fills its field with that record's id;
3. rows naming the same record by its match key fold into one write (``record_fold``);
4. decide and send as a one-resource import does, each write journalled under
   ``row:<n>:<record>`` before it is sent (``record_decide``, ``sender``);
5. a deal's line items go to its billable (``deal_lines``).

Steps 1-5 for one record over one batch are ``record_stage.StageRunner``; this module sets the
run up (lock, fields, checks, lookup defaults, journal) and reads the batches.

A rerun after any interruption skips what the journal says is done and reconciles what was in
flight; a finished run run again writes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.crm.connection import usage
from concord_etl.crm.fields import ResourceFields, fetch_fields
from concord_etl.errors import AbortRun
from concord_etl.load.deal_lines import DealLines
from concord_etl.load.import_summary import ImportOptions
from concord_etl.load.journal import Journal
from concord_etl.load.lock import RunLock
from concord_etl.load.record_decide import RecordDecider
from concord_etl.load.record_fold import FoldIndex
from concord_etl.load.record_output import RecordsOutput, RecordsSummary
from concord_etl.load.record_stage import Stage, StageRunner
from concord_etl.load.record_work import RowState
from concord_etl.load.run_guards import check_paths
from concord_etl.load.sender import Sender
from concord_etl.load.session import RunHandles, lock_run, open_run_journal
from concord_etl.mapping.model import AnyMapping, Mapping, as_records
from concord_etl.read import Table
from concord_etl.read.inputs import estimate_rows
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.record_checks import (
    RecordCheck,
    build_checks,
    check_records,
    open_records_input,
)
from concord_etl.validate.relations import Relations
from concord_etl.validate.scan import limited_frames

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

BATCH_ROWS = 500

ProgressFn = Callable[[dict[str, Any]], None]


class RecordsImporter(RunHandles):
    """One multi-record import run; ``run()`` returns the summary (``AbortRun`` carries it)."""

    def __init__(self, path: str | Path, mapping: AnyMapping, client: ConcordClient,
                 options: Any = None, *, progress: ProgressFn | None = None) -> None:
        self.path = Path(path)
        self.original = mapping
        self.mapping = as_records(mapping)
        self.client = client
        self.options = options if options is not None else ImportOptions()
        self.progress = progress
        self.dry_run = bool(self.options.dry_run)
        self.summary = RecordsSummary(dry_run=self.dry_run)
        self.journal: Journal | None = None
        self._lock: RunLock | None = None
        self._output: RecordsOutput | None = None
        self._stages: list[Stage] = []
        self._resolver: Resolver | None = None
        self._me: int | None = None
        self._runner = StageRunner(dry_run=self.dry_run, me=self._me_id)
        self._related: Sender | None = None
        self._expected = 0               # the file's rows, estimated
        self._seen = 0
        self._started = 0.0
        self._base = (0, 0.0)

    # -- set-up ---------------------------------------------------------------------------
    def _open(self) -> Table:
        """The run's lock, read-only set-up (fields, checks, defaults looked up), then the
        journal: a mapping the CRM refuses stops before a journal exists."""
        if not self.dry_run:
            self._lock = lock_run(self.path, self.original, self.options.journal_path)
        table = open_records_input(self.path, self.mapping, sheet=self.options.sheet)
        cache: dict[str, ResourceFields] = {}

        def fields_for(mapping: Mapping) -> ResourceFields:
            if mapping.resource not in cache:
                cache[mapping.resource] = fetch_fields(
                    self.client, mapping.resource, updates=mapping.plans_updates)
            return cache[mapping.resource]

        checks = build_checks(self.mapping, fields_for)
        self._resolver = Resolver(self.client, dry_run=self.dry_run, on_create=self._create)
        for check in checks:
            self._stages.append(self._stage(check))
        for stage in self._stages:
            stage.relations.check_defaults(create=False)
            if stage.lines is not None:
                stage.lines.relations.check_defaults(create=False)
        if not self.dry_run:
            meta = {"records": json.dumps([[s.name, s.resource] for s in self.mapping.records])}
            self.journal, self._lock = open_run_journal(
                self.path, self.original, self.options.journal_path,
                restart=self.options.restart, extra_meta=meta, lock=self._lock)
            self.summary.journal = str(self.journal.path)
            self._related = Sender(self.client, self.journal, "")
            self._runner.journal = self.journal
            for stage in self._stages:
                self._attach(stage)
        for stage in self._stages:
            stage.relations.check_defaults(create=True)
            if stage.lines is not None:
                stage.lines.relations.check_defaults(create=True)
        self._output = RecordsOutput(list(checks), self.summary, dry_run=self.dry_run)
        return table

    def _create(self, resource: str, key: str) -> int | None:
        """create_missing, journalled (never before the journal is open)."""
        return self._related.create_related(resource, key) if self._related is not None else None

    def _stage(self, check: RecordCheck) -> Stage:
        assert self._resolver is not None
        mapping = check.mapping
        decider = RecordDecider(mapping, check.fields, self.client, self._resolver,
                                journal=None, link_fields=tuple(check.spec.link))
        labels = {c.field: c.column for c in mapping.columns}
        fold = FoldIndex(check.name, mapping.match.on, labels)
        lines = None
        if check.lines is not None and mapping.products is not None:
            lines = DealLines(check.name, check.lines, mapping.products, self.client, None,
                              self._resolver, dry_run=self.dry_run)
        guests = next((c.lookup.resource for c in mapping.for_field("guests") if c.lookup), None)
        return Stage(check, decider, Relations(check.validator, self._resolver), fold, None,
                      lines, guests or "contacts")

    def _attach(self, stage: Stage) -> None:
        """The journal is open: the stage's decider, sender and line items write through it."""
        assert self.journal is not None
        stage.decider.journal = self.journal
        stage.sender = Sender(self.client, self.journal, stage.check.mapping.resource,
                              concurrency=self.options.concurrency)
        if stage.lines is not None:
            stage.lines.journal = self.journal

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RecordsSummary:
        self._started = time.monotonic()
        self._base = self._stats()
        check_paths(self.path, self.original, self.options)   # outputs never over the input
        try:
            table = self._open()
        except BaseException:
            self._release()
            raise
        output = self._output
        assert output is not None
        try:
            output.open(table, self.path, self.original, self.options)
        except BaseException:
            self._finish()
            raise
        total = estimate_rows(table, self.options.limit)
        self._expected = total or 0
        self._emit(total=total)
        frames = self._batches(table)
        try:
            for frame in frames:
                states: list[RowState] = []
                try:
                    states = self._batch(frame)
                finally:
                    output.write(frame, table.columns, states)
        except (AbortRun, KeyboardInterrupt) as exc:
            self.summary.aborted = str(exc) or type(exc).__name__
            output.write_unprocessed(frames, table.columns)
            self._finish()
            if isinstance(exc, AbortRun):
                exc.summary = self.summary  # type: ignore[attr-defined]
            raise
        except BaseException:
            self._finish()
            raise
        if self.journal is not None:
            self.journal.finish_run()
        self._finish()
        return self.summary

    def _batches(self, table: Table) -> Iterator[Any]:
        for frame in limited_frames(table, self.options.limit):
            for start in range(0, len(frame), BATCH_ROWS):
                yield frame.iloc[start:start + BATCH_ROWS]


    # -- one batch --------------------------------------------------------------------------
    def _batch(self, frame: Any) -> list[RowState]:
        checked = check_records(frame, tuple(s.check for s in self._stages))
        states = [RowState(row=int(n), position=p)
                  for p, n in enumerate(frame["_row"].tolist())]
        self._seen += len(states)
        if self._resolver is not None and self._expected:
            # lookups choose between searching keys and reading a resource for the whole file
            self._resolver.scale = max(1.0, self._expected / max(self._seen, 1))
        for stage in self._stages:
            self._runner.run(stage, states, checked[stage.name])
        assert self._output is not None
        self._output.count(states)
        self._emit(advance=len(states))
        return states

    def _me_id(self) -> int:
        if self._me is None:
            self._me = int(self.client.me()["id"])
        return self._me

    # -- output -----------------------------------------------------------------------------
    def _emit(self, advance: int = 0, **extra: Any) -> None:
        if self.progress is None:
            return
        live = self._output.live if self._output is not None else {}
        self.progress({"advance": advance, "counts": dict(live),
                       "waited": self._stats()[1] - self._base[1], **extra})

    def _stats(self) -> tuple[int, float]:
        return usage(self.client)

    def _finish(self) -> None:
        try:
            if self._output is not None:
                self._output.close()
        finally:
            self._release()
        requests, waited = self._stats()
        self.summary.requests = requests - self._base[0]
        self.summary.waited_s = waited - self._base[1]
        self.summary.elapsed_s = time.monotonic() - self._started
        if self._resolver is not None:
            self.summary.created_related = list(self._resolver.report.created)
            self.summary.planned_related = list(self._resolver.report.planned)
            self.summary.lookups = self._resolver.strategies


def run_records_import(path: str | Path, mapping: AnyMapping, client: ConcordClient,
                       options: Any = None, *, progress: ProgressFn | None = None
                       ) -> RecordsSummary:
    """Import ``path`` through a multi-record ``mapping`` (see the module doc)."""
    return RecordsImporter(path, mapping, client, options, progress=progress).run()
