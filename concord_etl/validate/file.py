"""Validate a whole file against a mapping without writing anything to the CRM.

Offline, field types come from the mapping's ``type:`` declarations; online, from the CRM's field
definitions, and lookups (owner, source, stage, companies...) are resolved with read-only
requests, the cheaper way (see ``lookups``). The results file gets every row with a problem:
rejected rows with all their reasons (``_errors``, one per line) and accepted rows that drew a
warning (``_warnings``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from concord_etl.mapping.model import AnyMapping, Mapping, runs_as_records
from concord_etl.output.results import ResultsWriter
from concord_etl.read.inputs import open_input, results_writer
from concord_etl.validate.chunk import ValidatedChunk
from concord_etl.validate.declared_fields import check_required_fed
from concord_etl.validate.lookups import Resolver
from concord_etl.validate.record_file import validate_records_file
from concord_etl.validate.relations import Relations
from concord_etl.validate.scan import scan_file
from concord_etl.validate.schema import build_validator, fields_from_mapping

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

SAMPLE_ERRORS = 10
# pandera's cost per failing check is fixed per chunk (it builds one failure table per check),
# so big chunks pay: 250k rows keep it to a few per million rows at about 300 MB per chunk.
VALIDATE_CHUNK_ROWS = 250_000


@dataclass
class ValidationSummary:
    rows: int = 0
    rejected: int = 0
    error_cells: int = 0
    warned: int = 0
    duplicates: int = 0
    requests: int = 0
    elapsed_s: float = 0.0
    results: str | None = None
    sample_errors: list[str] = field(default_factory=list)
    sample_warnings: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    would_create_related: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": 0, "updated": 0, "unchanged": 0, "skipped": 0,
            "rejected": self.rejected, "failed": 0, "unverified": 0,
            "warnings": self.warned,
            "duplicates": self.duplicates,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "results": self.results,
            "errors": list(self.errors),
            "lookups": list(self.lookups),
            "would_create_related": list(self.would_create_related),
        }

    def add(self, chunk: ValidatedChunk, *, recount: bool = False) -> None:
        """Count a validated chunk (``recount``: rows already counted, now rejected)."""
        if not recount:
            self.rows += len(chunk)
        rejected = chunk.rejected_mask
        self.rejected += int(rejected.sum())
        problems = chunk.problems
        errors = problems[problems["severity"] == "error"]
        self.error_cells += len(errors)
        warned = problems.loc[problems["severity"] == "warning", "position"].to_numpy()
        if not recount:
            self.warned += int(len(np.unique(warned[~rejected[warned]])) if len(warned) else 0)
        for row_no, column, reason in zip(errors["_row"].tolist(), errors["column"].tolist(),
                                          errors["reason"].tolist(), strict=True):
            if len(self.sample_errors) >= SAMPLE_ERRORS:
                break
            self.sample_errors.append(f"row {row_no}: {reason}")
            self.errors.append({"row": int(row_no), "column": column, "reason": reason})
        warnings = problems[problems["severity"] == "warning"]
        for row_no, reason in zip(warnings["_row"].tolist()[:SAMPLE_ERRORS],
                                  warnings["reason"].tolist()[:SAMPLE_ERRORS], strict=True):
            if len(self.sample_warnings) < SAMPLE_ERRORS:
                self.sample_warnings.append(f"row {row_no}: {reason}")

    def close_run(self, writer: Any, resolver: Any, client: Any, started: float) -> None:
        """End of a validation run: close the results file, note the lookups and the cost."""
        if writer is not None:
            writer.close()
            self.results = str(writer.path)
        if resolver is not None:
            self.lookups = resolver.strategies
            self.would_create_related = [f"{r}: {k}" for r, k in resolver.report.planned]
        stats = getattr(client, "stats", None)
        self.requests = int(getattr(stats, "requests", 0) or 0)
        self.elapsed_s = time.monotonic() - started


def validate_file(
    path: str | Path,
    mapping: AnyMapping,
    *,
    client: ConcordClient | None = None,
    results_path: str | Path | None = None,
    sheet: str | int | None = None,
    chunk_rows: int = VALIDATE_CHUNK_ROWS,
) -> ValidationSummary:
    """Validate every row of ``path``; write the rows with problems to ``results_path``.

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
    else:
        fields = fields_from_mapping(mapping)
    check_required_fed(mapping, fields)
    validator = build_validator(mapping, fields)
    relations: Relations | None = None
    resolver: Resolver | None = None
    if client is not None:
        resolver = Resolver(client, dry_run=True)
        relations = Relations(validator, resolver)
        relations.check_defaults()
    summary = ValidationSummary()
    writer = (
        results_writer(results_path, table, mapping, excel=results_path.suffix.lower() == ".xlsx",
                       replace_repeats=True)
        if results_path is not None
        else None
    )
    columns = list(table.columns)

    def on_chunk(chunk: ValidatedChunk) -> None:
        summary.add(chunk)
        if writer is not None:
            _write(writer, chunk, columns)

    try:
        scan = scan_file(table, validator, relations, on_chunk=on_chunk)
        if scan.detail is not None:
            summary.add(scan.detail, recount=True)
            if writer is not None:
                _write(writer, scan.detail, columns, only_rejected=True)
        summary.duplicates = len(scan.book.folded)
    finally:
        summary.close_run(writer, resolver, client, started)
    return summary


def _write(
    writer: ResultsWriter, chunk: ValidatedChunk, columns: list[str], *, only_rejected: bool = False
) -> None:
    """Rows of ``chunk`` with a problem → the results file (raw cells as read)."""
    rejected = chunk.rejected_mask
    flagged = np.unique(chunk.problems["position"].to_numpy(dtype=np.intp))
    if only_rejected:
        flagged = flagged[rejected[flagged]]
    if not len(flagged):
        return
    positions = flagged.tolist()
    writer.add_block(
        chunk.rows[flagged],
        ["rejected" if rejected[p] else "valid" for p in positions],
        [chunk.reasons(p) for p in positions],
        [chunk.warnings_of(p) for p in positions],
        chunk.frame.iloc[flagged][columns],
    )
