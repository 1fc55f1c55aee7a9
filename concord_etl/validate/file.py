"""Validate a whole file against a mapping without writing anything to the CRM.

Offline, field types come from the mapping's ``type:`` declarations; online, from the CRM's field
definitions, and lookups (owner, source, stage, companies...) are resolved with read-only requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.mapping.model import AnyMapping, Mapping, runs_as_records
from concord_etl.read.inputs import open_input, raw_rows, results_writer
from concord_etl.validate.chunk import reasons_by_row, validate_frame
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.record_file import validate_records_file
from concord_etl.validate.relations import Relations
from concord_etl.validate.schema import build_validator, fields_from_mapping

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

SAMPLE_ERRORS = 10
# pandera's fixed cost per failing check and chunk makes big chunks pay (see bench_validate)
VALIDATE_CHUNK_ROWS = 200_000


@dataclass
class ValidationSummary:
    rows: int = 0
    rejected: int = 0
    error_cells: int = 0
    requests: int = 0
    elapsed_s: float = 0.0
    results: str | None = None
    sample_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": 0, "updated": 0, "unchanged": 0, "skipped": 0,
            "rejected": self.rejected, "failed": 0, "unverified": 0,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "results": self.results,
        }


def validate_file(
    path: str | Path,
    mapping: AnyMapping,
    *,
    client: ConcordClient | None = None,
    results_path: str | Path | None = None,
    sheet: str | int | None = None,
    chunk_rows: int = VALIDATE_CHUNK_ROWS,
) -> ValidationSummary:
    """Validate every row of ``path``; write rejected rows (with reasons) to ``results_path``.

    A multi-record mapping (``records:``, deal products, notes/activities/calls) is checked
    record by record (``validate.record_file``).
    """
    if runs_as_records(mapping):
        return validate_records_file(path, mapping, ValidationSummary(), client=client,
                                     results_path=results_path, sheet=sheet, chunk_rows=chunk_rows)
    assert isinstance(mapping, Mapping)
    started = time.monotonic()
    path = Path(path)
    results_path = None if results_path is None else Path(results_path)
    table = open_input(path, mapping, sheet=sheet, chunk_rows=chunk_rows)
    if client is not None:
        fields = client.resource_fields(mapping.resource, updates=mapping.plans_updates)
        relations: Relations | None = Relations(mapping, fields, Resolver(client, dry_run=True))
    else:
        fields = fields_from_mapping(mapping)
        relations = None
    plan = build_validator(mapping, fields)
    summary = ValidationSummary()
    writer = (
        results_writer(results_path, table, mapping, excel=results_path.suffix.lower() == ".xlsx")
        if results_path is not None
        else None
    )
    try:
        for frame in table.frames():
            chunk = validate_frame(frame, plan)
            reasons = reasons_by_row(chunk.errors)
            if relations is not None:
                _resolve_online(relations, frame, chunk, reasons)
            summary.rows += len(frame)
            summary.rejected += len(reasons)
            summary.error_cells += sum(len(r) for r in reasons.values())
            for row_no in sorted(reasons):
                for reason in reasons[row_no]:
                    if len(summary.sample_errors) < SAMPLE_ERRORS:
                        summary.sample_errors.append(f"row {row_no}: {reason}")
            if writer is not None and reasons:
                for row_no, values in zip(
                    frame["_row"].tolist(), raw_rows(frame, table.columns), strict=True
                ):
                    if int(row_no) in reasons:
                        writer.add(int(row_no), "rejected", None, reasons[int(row_no)], list(values))
    finally:
        if writer is not None:
            writer.close()
            summary.results = str(writer.path)
    stats = getattr(client, "stats", None)
    summary.requests = int(getattr(stats, "requests", 0) or 0)
    summary.elapsed_s = time.monotonic() - started
    return summary


@dataclass
class _Row:
    """A validated row whose relation keys are resolved read-only."""

    row: int
    values: dict[str, Any]
    action: str = "valid"
    errors: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.action = "rejected"
        self.errors.append(reason)


def _resolve_online(
    relations: Relations, frame: Any, chunk: Any, reasons: dict[int, list[str]]
) -> None:
    """Resolve lookups read-only; unknown or ambiguous keys become reasons."""
    records = chunk.values.to_dict("index") if len(chunk.values.columns) else {}
    rows = [
        _Row(row=int(row_no), values=dict(records.get(index, {})))
        for index, row_no in zip(frame.index, frame["_row"].tolist(), strict=True)
        if int(row_no) not in reasons
    ]
    relations.resolve(rows)
    for row in rows:
        if row.action == "rejected":
            reasons.setdefault(row.row, []).extend(row.errors)
