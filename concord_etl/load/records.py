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

A rerun after any interruption skips what the journal says is done and reconciles what was in
flight; a finished run run again writes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from concord_etl.crm.fields import ResourceFields, fetch_fields
from concord_etl.errors import AbortRun
from concord_etl.load.deal_lines import DealLines
from concord_etl.load.decide import RowWork
from concord_etl.load.journal import Journal
from concord_etl.load.lock import RunLock
from concord_etl.load.record_decide import RecordDecider
from concord_etl.load.record_fold import FoldIndex, settle_follower
from concord_etl.load.record_output import RecordsOutput, RecordsSummary
from concord_etl.load.record_work import (
    NOT_WRITTEN,
    RecordWork,
    RowState,
    first_association,
)
from concord_etl.load.sender import Sender
from concord_etl.load.session import open_run_journal
from concord_etl.mapping.model import AnyMapping, Mapping, as_records
from concord_etl.mapping.records import LIST_LINKS
from concord_etl.read import Table
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.record_checks import (
    CheckedRecord,
    RecordCheck,
    build_checks,
    check_records,
    missing_required,
    open_records_input,
)
from concord_etl.validate.transforms import blank_to_na

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

BATCH_ROWS = 500

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class _Options:
    """The fields of ``load.run.ImportOptions`` this engine reads (used when none are given)."""

    dry_run: bool = False
    plan_path: Path | None = None
    journal_path: Path | None = None
    restart: bool = False
    results_path: Path | None = None
    concurrency: int | None = None
    limit: int | None = None
    sheet: str | int | None = None


@dataclass
class _Stage:
    """One record of the mapping with everything needed to import it."""

    check: RecordCheck
    decider: RecordDecider
    fold: FoldIndex
    sender: Sender | None
    lines: DealLines | None
    guest_resource: str

    @property
    def name(self) -> str:
        return self.check.name


class RecordsImporter:
    """One multi-record import run; ``run()`` returns the summary (``AbortRun`` carries it)."""

    def __init__(self, path: str | Path, mapping: AnyMapping, client: ConcordClient,
                 options: Any = None, *, progress: ProgressFn | None = None) -> None:
        self.path = Path(path)
        self.original = mapping
        self.mapping = as_records(mapping)
        self.client = client
        self.options = options if options is not None else _Options()
        self.progress = progress
        self.dry_run = bool(self.options.dry_run)
        self.summary = RecordsSummary(dry_run=self.dry_run)
        self.journal: Journal | None = None
        self._lock: RunLock | None = None
        self._output: RecordsOutput | None = None
        self._stages: list[_Stage] = []
        self._resolver: Resolver | None = None
        self._me: int | None = None
        self._started = 0.0
        self._base = (0, 0.0)

    # -- set-up ---------------------------------------------------------------------------
    def _open(self) -> Table:
        if not self.dry_run:
            meta = {"records": json.dumps([[s.name, s.resource] for s in self.mapping.records])}
            self.journal, self._lock = open_run_journal(
                self.path, self.original, self.options.journal_path,
                restart=self.options.restart, extra_meta=meta)
            self.summary.journal = str(self.journal.path)
        table = open_records_input(self.path, self.mapping, sheet=self.options.sheet)
        cache: dict[str, ResourceFields] = {}

        def fields_for(mapping: Mapping) -> ResourceFields:
            if mapping.resource not in cache:
                cache[mapping.resource] = fetch_fields(
                    self.client, mapping.resource, updates=mapping.plans_updates)
            return cache[mapping.resource]

        checks = build_checks(self.mapping, fields_for)
        related = Sender(self.client, self.journal, "") if self.journal is not None else None
        self._resolver = Resolver(self.client, dry_run=self.dry_run,
                                  on_create=related.create_related if related else None)
        for check in checks:
            self._stages.append(self._stage(check))
        self._output = RecordsOutput(list(checks), self.summary, dry_run=self.dry_run)
        return table

    def _stage(self, check: RecordCheck) -> _Stage:
        assert self._resolver is not None
        mapping = check.mapping
        decider = RecordDecider(mapping, check.fields, self.client, self._resolver,
                                journal=self.journal, link_fields=tuple(check.spec.link))
        sender = None
        if self.journal is not None:
            sender = Sender(self.client, self.journal, mapping.resource,
                            concurrency=self.options.concurrency)
        labels = {c.field: c.column for c in mapping.columns}
        fold = FoldIndex(check.name, mapping.match.on, labels)
        lines = None
        if check.lines is not None and mapping.products is not None:
            lines = DealLines(check.name, check.lines, mapping.products, self.client, self.journal,
                              self._resolver, dry_run=self.dry_run)
        guests = next((c.lookup.resource for c in mapping.for_field("guests") if c.lookup), None)
        return _Stage(check, decider, fold, sender, lines, guests or "contacts")

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RecordsSummary:
        self._started = time.monotonic()
        self._base = self._stats()
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
        self._emit(total=self._total(table))
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
        seen = 0
        limit = self.options.limit
        for frame in table.frames():
            if limit is not None:
                if seen >= limit:
                    return
                frame = frame.iloc[: limit - seen]
            seen += len(frame)
            for start in range(0, len(frame), BATCH_ROWS):
                yield frame.iloc[start:start + BATCH_ROWS]

    def _total(self, table: Table) -> int | None:
        from concord_etl.read.inputs import estimate_rows

        total = estimate_rows(table)
        if self.options.limit is not None:
            total = min(total, self.options.limit) if total is not None else self.options.limit
        return total

    # -- one batch --------------------------------------------------------------------------
    def _batch(self, frame: Any) -> list[RowState]:
        checked = check_records(frame, tuple(s.check for s in self._stages))
        states = [RowState(row=int(n), index=i)
                  for i, n in zip(frame.index, frame["_row"].tolist(), strict=True)]
        for stage in self._stages:
            self._run_stage(stage, states, checked[stage.name], frame)
        assert self._output is not None
        self._output.count(states)
        self._emit(advance=len(states))
        return states

    def _run_stage(self, stage: _Stage, states: list[RowState], checked: CheckedRecord,
                   frame: Any) -> None:
        defaulted = _defaulted(stage.check.mapping, frame)
        works: list[RecordWork] = []
        for state in states:
            work = self._work(stage, state, checked, defaulted.get(state.index, frozenset()))
            state.works[stage.name] = work
            if work.action == "create":
                works.append(work)
        stage.decider.resolve(_rows(works))
        works = [w for w in works if w.action != "rejected"]
        by_row = {state.row: state for state in states}
        for work in works:
            self._link(stage, work, by_row[work.row])
            self._resource_rules(stage, work)
        works = [w for w in works if w.action != "rejected"]
        missing = missing_required(stage.check, [(w.row, w.values) for w in works],
                                   written=stage.fold.written)
        for work in works:
            for reason in missing.get(work.row, ()):
                work.reject(reason)
        works = [w for w in works if w.action != "rejected"]
        stage.fold.fold(works)
        firsts = [w for w in works if w.follower_of is None and w.action != "rejected"]
        stage.decider.decide(_rows(firsts))
        if not self.dry_run:
            self._record_settled(firsts)
            assert stage.sender is not None
            stage.sender.send(_rows(firsts), stage.decider)
        stage.fold.settle(firsts)
        for work in works:
            if work.follower_of is not None and work.action != "rejected":
                settle_follower(work)
                if not self.dry_run and work.action == "duplicate":
                    assert self.journal is not None
                    self.journal.finish(work.op_key, "done", action="duplicate",
                                        concord_id=work.record_id, row=work.row)
        if stage.lines is not None:
            for work in firsts:
                if work.action == "created" and work.record_id is not None:
                    stage.lines.fresh(int(work.record_id))
            stage.lines.process(states, checked)

    def _work(self, stage: _Stage, state: RowState, checked: CheckedRecord,
              defaulted: frozenset[str]) -> RecordWork:
        check = stage.check
        work = RecordWork(row=state.row, values=dict(checked.values.get(state.index, {})),
                          name=check.name, resource=check.mapping.resource,
                          guest_resource=stage.guest_resource, defaulted=defaulted)
        if not checked.present.get(state.index):
            work.absent = True
            work.action = "skipped"
            return work
        errors = checked.errors.get(state.row)
        if errors:
            work.action = "rejected"
            work.errors = list(errors)
            return work
        if self.journal is not None:
            entry = self.journal.get(work.op_key)
            if entry is not None and entry.state in ("done", "rejected", "unverified"):
                work.action = entry.action or "created"
                work.record_id = entry.concord_id
                work.errors = list(entry.errors or [])
                work.restored = True
                stage.fold.remember(work)
                return work
            if entry is not None:
                work.previous = {"state": entry.state, "action": entry.action,
                                 "concord_id": entry.concord_id}
        blocked = self._blocked(check, state)
        if blocked:
            work.blocked = blocked
            work.skip(blocked)
        return work

    def _blocked(self, check: RecordCheck, state: RowState) -> str | None:
        for parent in check.spec.needs:
            linked = state.works.get(parent)
            if linked is None:
                continue
            if linked.blocked or linked.action in NOT_WRITTEN:
                what = "skipped" if linked.blocked else linked.action
                return f"not written: the {parent} of this row was {what}"
        return None

    def _link(self, stage: _Stage, work: RecordWork, state: RowState) -> None:
        for field_name, parent in stage.check.spec.link.items():
            linked = state.works[parent]
            target: Any = linked.record_id
            if target is None and self.dry_run and not linked.absent:
                first = linked.follower_of or linked
                if first.action == "create":
                    target = f"(new {parent} of row {first.row})"
            if target is None:
                continue
            if field_name in LIST_LINKS:
                current = work.values.get(field_name)
                items = list(current) if isinstance(current, (list, tuple)) else []
                if all(str(i) != str(target) for i in items):
                    items.append(target)
                work.values[field_name] = items
            else:
                work.values[field_name] = target

    def _resource_rules(self, stage: _Stage, work: RecordWork) -> None:
        mapping = stage.check.mapping
        if mapping.resource == "activities" and "user_id" not in mapping.fields \
                and "user_id" not in mapping.defaults:
            work.values["user_id"] = self._me_id()
        if mapping.resource == "notes" and first_association(work.values) is None:
            work.reject("nothing to attach the note to: no contact, company or deal on this row")

    def _me_id(self) -> int:
        if self._me is None:
            self._me = int(self.client.me()["id"])
        return self._me

    def _record_settled(self, works: list[RecordWork]) -> None:
        assert self.journal is not None
        for work in works:
            if work.action in ("unchanged", "skipped", "created", "updated", "unverified"):
                state = "unverified" if work.action == "unverified" else "done"
                self.journal.finish(work.op_key, state, action=work.action,
                                    concord_id=work.record_id, errors=work.errors or None,
                                    row=work.row)

    # -- output -----------------------------------------------------------------------------
    def _emit(self, advance: int = 0, **extra: Any) -> None:
        if self.progress is None:
            return
        live = self._output.live if self._output is not None else {}
        self.progress({"advance": advance, "counts": dict(live),
                       "waited": self._stats()[1] - self._base[1], **extra})

    def _stats(self) -> tuple[int, float]:
        stats = getattr(self.client, "stats", None)
        return (int(getattr(stats, "requests", 0) or 0),
                float(getattr(stats, "wait_seconds", 0.0) or 0.0))

    def _release(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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


def _rows(works: list[RecordWork]) -> list[RowWork]:
    """The same list, typed for ``Decider``/``Sender`` (a ``RecordWork`` is a ``RowWork``)."""
    return cast("list[RowWork]", works)


def _defaulted(mapping: Mapping, frame: Any) -> dict[Any, frozenset[str]]:
    """Per row, the fields whose value comes from ``defaults`` (never sent on updates)."""
    out: dict[Any, frozenset[str]] = {}
    for name in mapping.defaults:
        columns = [c.column for c in mapping.for_field(name) if c.column in frame]
        if columns:
            empty = None
            for column in columns:
                blank = blank_to_na(frame[column]).isna()
                empty = blank if empty is None else empty & blank
            rows = frame.index[empty] if empty is not None else frame.index
        else:
            rows = frame.index
        for index in rows:
            out[index] = out.get(index, frozenset()) | {name}
    return out


def run_records_import(path: str | Path, mapping: AnyMapping, client: ConcordClient,
                       options: Any = None, *, progress: ProgressFn | None = None
                       ) -> RecordsSummary:
    """Import ``path`` through a multi-record ``mapping`` (see the module doc)."""
    return RecordsImporter(path, mapping, client, options, progress=progress).run()
