"""What a multi-record import reports: its summary, its results file and its plan lines.

``RecordsOutput`` receives each batch's rows once their records are settled (or when the run
stops, with whatever they reached) and writes one results row per input row, in a dry run one
plan line per row, and counts outcomes per record for the summary and the progress bar.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concord_etl.load.import_summary import ImportSummary
from concord_etl.load.payloads import jsonable
from concord_etl.load.record_work import RowState
from concord_etl.load.session import default_results_path
from concord_etl.mapping.model import AnyMapping
from concord_etl.output.record_results import RecordResultsWriter
from concord_etl.read import Table
from concord_etl.read.inputs import raw_rows
from concord_etl.redact import redact_data
from concord_etl.validate.record_checks import RecordCheck

BAD = ("rejected", "failed", "unverified")
PLAN_VERBS = {"create": "create", "update": "update", "skipped": "skip", "rejected": "reject"}
DONE_VERBS = {"create": "created", "update": "updated"}
NOT_PROCESSED = "not processed: the run was interrupted; rerun the same command to resume"
NOT_SENT = "not sent: the run was interrupted; rerun the same command to resume"


@dataclass
class RecordsSummary(ImportSummary):
    """The summary of a multi-record import: an ``ImportSummary`` (its counts add up every
    record) plus the outcomes per record name and of deal line items."""

    records: dict[str, Counter] = field(default_factory=dict)       # per record name
    lines: Counter = field(default_factory=Counter)                 # deal line items

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        named = {name: counts for name, counts in self.records.items() if name}
        extra: dict[str, Any] = {}
        if named:
            extra["records"] = {name: {k: v for k, v in counts.items() if v}
                                for name, counts in named.items()}
        if self.lines:
            extra["products"] = {k: v for k, v in self.lines.items() if v}
        at = list(data).index("warnings")                          # after the counts
        items = list(data.items())
        return dict(items[:at] + list(extra.items()) + items[at:])

    @property
    def exit_code(self) -> int:
        if self.aborted:
            return 3
        bad = sum(self.counts.get(k, 0) + self.lines.get(k, 0) for k in BAD)
        return 1 if bad else 0


class RecordsOutput:
    """The results file, the plan file and the counts of one multi-record run."""

    def __init__(self, checks: list[RecordCheck], summary: RecordsSummary, *,
                 dry_run: bool) -> None:
        self.checks = checks
        self.summary = summary
        self.dry_run = dry_run
        self.writer: RecordResultsWriter | None = None
        self.live: Counter = Counter()          # outcomes so far, for the progress bar
        self._plan: Any = None

    def open(self, table: Table, path: Path, mapping: AnyMapping, options: Any) -> None:
        """The results file (always for an import; for a dry run only with ``--results``)."""
        if self.dry_run and options.plan_path:
            self._plan = open(options.plan_path, "w", encoding="utf-8")  # noqa: SIM115
            self.summary.plan = str(options.plan_path)
        target = options.results_path
        excel = table.format != "csv"
        if target is None:
            if self.dry_run:
                return
            target = default_results_path(path, mapping, excel=excel)
        else:
            excel = Path(target).suffix.lower() == ".xlsx"
        source = mapping.source
        forced = source.encoding if source.encoding != "auto" else None
        records = [(c.name, c.lines is not None) for c in self.checks]
        self.writer = RecordResultsWriter(
            target, list(table.columns), records, excel=excel,
            sheet=table.sheet if excel else None, encoding=None if excel else forced,
            delimiter=(table.delimiter or ",") if not excel else ",",
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.summary.results = str(self.writer.path)
        if self._plan is not None:
            self._plan.close()

    # -- rows -------------------------------------------------------------------------------
    def write(self, frame: Any, columns: list[str], states: list[RowState]) -> None:
        """One results row (and plan line) per row of ``frame``; rows without a state were
        never reached."""
        by_row = {s.row: s for s in states}
        raws = raw_rows(frame, columns)
        for row_no, values in zip(frame["_row"].tolist(), raws, strict=True):
            state = by_row.get(int(row_no))
            if state is None:
                outcomes = {c.name: ("pending", None, None) for c in self.checks}
                errors, warnings = [NOT_PROCESSED], []
            else:
                outcomes = self._outcomes(state)
                errors = self._errors(state)
                warnings = self._warnings(state)
                unsent = any(a in ("pending", "create", "update") for a, _, _ in outcomes.values())
                if unsent and not self.dry_run and not errors:
                    errors = [NOT_SENT]
                self._plan_line(state, errors, warnings)
            if self.writer is not None:
                self.writer.add_outcomes(int(row_no), outcomes, errors, list(values),
                                         warnings=warnings)

    def write_unprocessed(self, frames: Iterator[Any], columns: list[str]) -> None:
        """After an abort: the rows never reached still go into the results file."""
        try:
            for frame in frames:
                self.write(frame, columns, [])
        except KeyboardInterrupt:
            return

    def count(self, states: list[RowState]) -> None:
        for state in states:
            for name, work in state.works.items():
                action = DONE_VERBS.get(work.action, work.action)
                self.summary.records.setdefault(name, Counter())[action] += 1
                self.summary.counts[action] += 1
                self.live[action] += 1
                line = state.lines.get(name)
                if line is not None:
                    self.summary.lines[DONE_VERBS.get(line.action, line.action)] += 1
            if self._warnings(state):
                self.summary.warned += 1
        self.summary.rows += len(states)

    def _outcomes(self, state: RowState) -> dict[str, tuple[Any, Any, Any]]:
        known = state.outcomes()
        out: dict[str, tuple[Any, Any, Any]] = {}
        for check in self.checks:
            action, ident, line = known.get(check.name, ("pending", None, None))
            if self.dry_run:
                action = PLAN_VERBS.get(action, action)
                line = PLAN_VERBS.get(line, line) if line else line
            out[check.name] = (action, ident, line)
        return out

    def _errors(self, state: RowState) -> list[str]:
        out: list[str] = []
        for check in self.checks:
            work = state.works.get(check.name)
            for reason in work.errors if work is not None else ():
                out.append(check.label(reason))
            line = state.lines.get(check.name)
            for reason in line.errors if line is not None else ():
                out.append(check.label(reason, lines=True))
        return list(dict.fromkeys(out))

    def _warnings(self, state: RowState) -> list[str]:
        """The warnings of the records (and line items) present on the row, labelled."""
        out: list[str] = []
        for check in self.checks:
            work = state.works.get(check.name)
            for reason in work.warnings if work is not None and not work.absent else ():
                out.append(check.label(reason))
            line = state.lines.get(check.name)
            for reason in line.warnings if line is not None else ():
                out.append(check.label(reason, lines=True))
        return list(dict.fromkeys(out))

    def _plan_line(self, state: RowState, errors: list[str], warnings: list[str]) -> None:
        if self._plan is None:
            return
        parts: dict[str, Any] = {}
        for check in self.checks:
            work = state.works[check.name]
            payload = work.body() if work.action in ("create", "update") else None
            part: dict[str, Any] = {"action": PLAN_VERBS.get(work.action, work.action),
                                    "payload": jsonable(payload)}
            if work.record_id is not None:
                part["concord_id"] = work.record_id
            line = state.lines.get(check.name)
            if line is not None:
                written = line.action in ("create", "update")
                part["line"] = {"action": PLAN_VERBS.get(line.action, line.action),
                                "payload": jsonable(line.payload()) if written else None}
            parts[check.name] = part
        if list(parts) == [""]:
            entry = {"row": state.row, **parts[""], "errors": errors}
        else:
            entry = {"row": state.row, "records": parts, "errors": errors}
        if warnings:
            entry["warnings"] = warnings
        self._plan.write(json.dumps(redact_data(entry), ensure_ascii=False, default=str) + "\n")
