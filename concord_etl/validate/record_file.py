"""``validate`` for a multi-record mapping (``records:``, deal products, notes/activities/calls).

Every record of every row is checked as the import would: a record whose columns are all empty
on a row is simply not there; a present record lists every problem of its cells and, online,
of its lookups (resolved read-only; ``create_missing`` records are planned for the rows that
pass every other check), each prefixed by the record's name (``contact: Email: ...``).
Warnings (values Concord accepts but that look wrong) are reported apart. A row is rejected
when any of its records (or its line item) is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from concord_etl.crm.fields import ResourceFields, fetch_fields
from concord_etl.mapping.model import AnyMapping, Mapping, as_records
from concord_etl.read.inputs import raw_rows, results_writer
from concord_etl.validate.chunk import ValidatedChunk
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.record_checks import (
    RecordCheck,
    build_checks,
    check_records,
    missing_required,
    open_records_input,
)
from concord_etl.validate.relations import Relations
from concord_etl.validate.schema import fields_from_mapping

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

SAMPLE_ERRORS = 10


@dataclass
class _RowProblems:
    """The labelled problems of one row, over all its records."""

    errors: list[tuple[str, str]] = field(default_factory=list)     # (column, reason)
    warnings: list[str] = field(default_factory=list)


def validate_records_file(
    path: str | Path,
    mapping: AnyMapping,
    summary: Any,
    *,
    client: ConcordClient | None = None,
    results_path: str | Path | None = None,
    sheet: str | int | None = None,
    chunk_rows: int = 200_000,
) -> Any:
    """Fill ``summary`` (a ``ValidationSummary``) for ``path`` checked against ``mapping``."""
    started = time.monotonic()
    path = Path(path)
    records = as_records(mapping)
    table = open_records_input(path, records, sheet=sheet, chunk_rows=chunk_rows)
    cache: dict[str, ResourceFields] = {}

    def fields_for(sub: Mapping) -> ResourceFields:
        if client is None:
            return fields_from_mapping(sub)
        if sub.resource not in cache:
            cache[sub.resource] = fetch_fields(client, sub.resource, updates=sub.plans_updates)
        return cache[sub.resource]

    checks = build_checks(records, fields_for)
    resolver = Resolver(client, dry_run=True) if client is not None else None
    relations = _relations(checks, resolver) if resolver is not None else {}
    writer = None
    if results_path is not None:
        results_path = Path(results_path)
        writer = results_writer(results_path, table, records,
                                excel=results_path.suffix.lower() == ".xlsx")
    try:
        for frame in table.frames():
            problems = _problems(frame, checks, relations)
            _count(summary, len(frame), problems)
            if writer is not None and problems:
                for row_no, values in zip(frame["_row"].tolist(), raw_rows(frame, table.columns),
                                          strict=True):
                    found = problems.get(int(row_no))
                    if found is None:
                        continue
                    action = "rejected" if found.errors else "valid"
                    writer.add(int(row_no), action, None, [r for _, r in found.errors],
                               list(values), warnings=found.warnings)
    finally:
        summary.close_run(writer, resolver, client, started)
    return summary


def _relations(checks: tuple[RecordCheck, ...], resolver: Resolver
               ) -> dict[str, tuple[Relations, Relations | None]]:
    """The lookups of every record (and line item); defaults looked up first (a default
    that is not found is a mapping error)."""
    out: dict[str, tuple[Relations, Relations | None]] = {}
    for check in checks:
        lines = None
        if check.lines is not None:
            lines = Relations(check.lines.validator, resolver)
            lines.check_defaults()
        record = Relations(check.validator, resolver)
        record.check_defaults()
        out[check.name] = (record, lines)
    return out


def _count(summary: Any, rows: int, problems: dict[int, _RowProblems]) -> None:
    summary.rows += rows
    for row_no in sorted(problems):
        found = problems[row_no]
        if found.errors:
            summary.rejected += 1
            summary.error_cells += len(found.errors)
        elif found.warnings:
            summary.warned += 1
        for column, reason in found.errors:
            if len(summary.sample_errors) < SAMPLE_ERRORS:
                summary.sample_errors.append(f"row {row_no}: {reason}")
                summary.errors.append({"row": row_no, "column": column, "reason": reason})
        for reason in found.warnings:
            if len(summary.sample_warnings) < SAMPLE_ERRORS:
                summary.sample_warnings.append(f"row {row_no}: {reason}")


def _problems(frame: Any, checks: tuple[RecordCheck, ...],
              relations: dict[str, tuple[Relations, Relations | None]]
              ) -> dict[int, _RowProblems]:
    """Every problem of every present record of the chunk, labelled, by row number."""
    out: dict[int, _RowProblems] = {}
    checked = check_records(frame, checks)
    rows = frame["_row"].to_numpy(dtype=np.int64)
    for check in checks:
        result = checked[check.name]
        record_relations, line_relations = relations.get(check.name, (None, None))
        _record_problems(out, check, result.chunk, result.present, record_relations, rows,
                         required=True)
        if result.lines is not None and result.line_present is not None:
            _record_problems(out, check, result.lines, result.line_present, line_relations,
                             rows, lines=True)
    return out


def _record_problems(out: dict[int, _RowProblems], check: RecordCheck, chunk: ValidatedChunk,
                     present: np.ndarray, relations: Relations | None, rows: np.ndarray, *,
                     required: bool = False, lines: bool = False) -> None:
    pending = relations.resolve(chunk, create=False, among=present) if relations else None
    ok = present & ~chunk.rejected_mask
    missing: dict[int, list[str]] = {}
    if required:
        positions = np.flatnonzero(ok).tolist()
        waiting = {int(rows[p]): pending.fields_at(p) for p in positions} if pending else {}
        missing = missing_required(
            check, [(int(rows[p]), chunk.record(p)) for p in positions],
            filled_elsewhere=lambda row: waiting.get(row, set()),
            rejected=[(int(rows[p]), chunk.record(p))
                      for p in np.flatnonzero(present & chunk.rejected_mask).tolist()])
        if missing:
            ok &= ~np.isin(rows, np.fromiter(missing, dtype=np.int64))
    if relations is not None and pending:
        relations.create_pending(chunk, pending, among=ok)      # planned: a dry run
    problems = chunk.problems
    mine = problems[present[problems["position"].to_numpy(dtype=np.intp)]]
    for row_no, column, reason, severity in zip(
            mine["_row"].tolist(), mine["column"].tolist(), mine["reason"].tolist(),
            mine["severity"].tolist(), strict=True):
        found = out.setdefault(int(row_no), _RowProblems())
        labelled = check.label(str(reason), lines=lines)
        if severity == "error":
            found.errors.append((str(column), labelled))
        else:
            found.warnings.append(labelled)
    for row_no, reasons in missing.items():       # after the row's cell and lookup problems
        found = out.setdefault(row_no, _RowProblems())
        found.errors.extend((r.partition(":")[0], check.label(r, lines=lines)) for r in reasons)
