"""``validate`` for a multi-record mapping (``records:``, deal products, notes/activities/calls).

Every record of every row is checked as the import would: a record whose columns are all empty
on a row is simply not there; a present record with bad cells lists each of them, prefixed by
the record's name (``contact: Email: ...``); online, its lookups are resolved read-only too.
A row is rejected when any of its records (or its line item) is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import ResourceFields, fetch_fields
from concord_etl.mapping.model import AnyMapping, Mapping, as_records
from concord_etl.output.results import ResultsWriter
from concord_etl.read.inputs import raw_rows
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.record_checks import (
    CheckedRecord,
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
class _Item:
    """A record (or line) of a row whose lookups are resolved read-only."""

    row: int
    values: dict[str, Any]
    action: str = "valid"
    errors: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.action = "rejected"
        self.errors.append(reason)


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
        writer = ResultsWriter(results_path, list(table.columns),
                               excel=results_path.suffix.lower() == ".xlsx",
                               sheet=table.sheet if results_path.suffix.lower() == ".xlsx"
                               else None)
    try:
        for frame in table.frames():
            checked = check_records(frame, checks)
            reasons = _reasons(frame, checks, checked, relations)
            summary.rows += len(frame)
            summary.rejected += len(reasons)
            summary.error_cells += sum(len(r) for r in reasons.values())
            for row_no in sorted(reasons):
                for reason in reasons[row_no]:
                    if len(summary.sample_errors) < SAMPLE_ERRORS:
                        summary.sample_errors.append(f"row {row_no}: {reason}")
            if writer is not None and reasons:
                for row_no, values in zip(frame["_row"].tolist(), raw_rows(frame, table.columns),
                                          strict=True):
                    if int(row_no) in reasons:
                        writer.add(int(row_no), "rejected", None, reasons[int(row_no)],
                                   list(values))
    finally:
        if writer is not None:
            writer.close()
            summary.results = str(writer.path)
    stats = getattr(client, "stats", None)
    summary.requests = int(getattr(stats, "requests", 0) or 0)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _relations(checks: tuple[RecordCheck, ...], resolver: Resolver
               ) -> dict[str, tuple[Relations, Relations | None]]:
    out: dict[str, tuple[Relations, Relations | None]] = {}
    for check in checks:
        lines = None
        if check.lines is not None:
            lines = Relations(check.lines.mapping, check.lines.fields, resolver)
        out[check.name] = (Relations(check.mapping, check.fields, resolver), lines)
    return out


def _reasons(frame: Any, checks: tuple[RecordCheck, ...], checked: dict[str, CheckedRecord],
             relations: dict[str, tuple[Relations, Relations | None]]) -> dict[int, list[str]]:
    reasons: dict[int, list[str]] = {}
    rows = list(zip(frame.index, (int(n) for n in frame["_row"].tolist()), strict=True))
    for check in checks:
        result = checked[check.name]
        items: list[_Item] = []
        line_items: list[_Item] = []
        for index, row_no in rows:
            if result.present.get(index):
                errors = result.errors.get(row_no)
                if errors:
                    reasons.setdefault(row_no, []).extend(check.label(e) for e in errors)
                else:
                    items.append(_Item(row_no, dict(result.values.get(index, {}))))
            if result.line_present.get(index):
                errors = result.line_errors.get(row_no)
                if errors:
                    reasons.setdefault(row_no, []).extend(
                        check.label(e, lines=True) for e in errors)
                else:
                    line_items.append(_Item(row_no, dict(result.line_values.get(index, {}))))
        for row_no, missing in missing_required(check, [(i.row, i.values) for i in items]).items():
            reasons.setdefault(row_no, []).extend(check.label(e) for e in missing)
        if check.name in relations:
            record_relations, line_relations = relations[check.name]
            record_relations.resolve(items)
            if line_relations is not None:
                line_relations.resolve(line_items)
            for item in items:
                reasons.setdefault(item.row, []).extend(check.label(e) for e in item.errors)
            for item in line_items:
                reasons.setdefault(item.row, []).extend(
                    check.label(e, lines=True) for e in item.errors)
    return {row: list(dict.fromkeys(found)) for row, found in reasons.items() if found}
