"""What a revert reports: its summary, its results file and its dry-run listing.

The results file has one row per input row the import journalled: ``_row, _action,
_concord_id, _errors`` for a one-resource mapping, ``_row`` then ``_<record>_action`` and
``_<record>_id`` per record (and ``_<record>_products_action`` for line items) then ``_errors``
for a ``records:`` mapping, like the import's. Actions: ``deleted``, ``reverted``,
``conflict``, ``missing``, ``failed``, plus ``unchanged`` (the import wrote nothing there),
``duplicate`` (the same record as an earlier row, undone there) and ``pending`` (an
interrupted revert had not reached it). A dry run uses ``delete`` and ``revert``.
Records that ``create_missing`` lookups created are not rows: the summary lists them
(``related``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concord_etl.load.revert_plan import RELATED, Item, RevertPlan
from concord_etl.output.columns import ColumnDef
from concord_etl.output.record_results import RecordResultsWriter
from concord_etl.output.results import EXCEL_FORMATS, ResultsWriter

COUNTED = ("deleted", "reverted", "unchanged", "duplicate", "conflict", "missing", "failed")
ATTENTION = ("conflict", "missing", "failed", "pending")
DRY_VERBS = {"deleted": "delete", "reverted": "revert"}
FLAGGED = frozenset({"conflict", "missing", "failed", "pending"})


@dataclass
class RevertSummary:
    """The outcome of a revert (``as_dict`` is its ``--json``)."""

    rows: int = 0
    counts: Counter = field(default_factory=Counter)                # every record cell
    records: dict[str, Counter] = field(default_factory=dict)       # per record name
    lines: Counter = field(default_factory=Counter)                 # deal line items
    related: list[str] = field(default_factory=list)                # lookup-created records
    related_attention: int = 0
    warnings: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)                # dry run: every action
    earlier: int = 0                                                # dry run: done before
    requests: int = 0
    elapsed_s: float = 0.0
    waited_s: float = 0.0
    results: str | None = None
    journal: str | None = None
    dry_run: bool = False
    declined: bool = False
    aborted: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rows": self.rows}
        data.update({k: self.counts.get(k, 0) for k in COUNTED})
        named = {name: counts for name, counts in self.records.items() if name}
        if named:
            data["records"] = {name: {k: v for k, v in counts.items() if v}
                               for name, counts in named.items()}
        if self.lines:
            data["products"] = {k: v for k, v in self.lines.items() if v}
        data["related"] = list(self.related)
        data.update(requests=self.requests, elapsed_s=round(self.elapsed_s, 3),
                    waited_s=round(self.waited_s, 3), results=self.results, journal=self.journal)
        if self.warnings:
            data["warnings"] = list(self.warnings)
        if self.dry_run:
            data["dry_run"] = True
            data["planned"] = list(self.planned)
            data["done_earlier"] = self.earlier
        if self.declined:
            data["declined"] = True
        if self.aborted:
            data["aborted"] = self.aborted
        return data

    @property
    def exit_code(self) -> int:
        if self.aborted:
            return 3
        if self.declined:
            return 1
        bad = sum(self.counts.get(k, 0) + self.lines.get(k, 0) for k in ATTENTION)
        return 1 if bad or self.related_attention else 0


def default_revert_results(input_path: Path, results_path: Path) -> Path:
    """``leads.leads.results.csv`` (the import's) → ``leads.leads.revert.csv``."""
    name = results_path.name
    stem, _, extension = name.rpartition(".results.")
    if not stem:
        return results_path.with_name(f"{results_path.stem}.revert{results_path.suffix}")
    return results_path.with_name(f"{stem}.revert.{extension}")


def is_excel(path: Path) -> bool:
    return path.suffix.lower().lstrip(".") in EXCEL_FORMATS


class _Flagging:
    """Highlight the rows a revert needs attention for (XLSX results)."""

    def _is_flagged(self, row: Sequence[Any]) -> bool:
        cells = row[1:-1]
        return any(isinstance(cell, str) and cell in FLAGGED for cell in cells)


class _OneResults(_Flagging, ResultsWriter):
    def _meta_defs(self) -> list[ColumnDef]:
        return [ColumnDef("_action", "text"), ColumnDef("_concord_id", "integer")]


class _RecordResults(_Flagging, RecordResultsWriter):
    pass


@dataclass
class Tally:
    """The results rows of a revert: per input row, its cells and its reasons."""

    rows: dict[int, dict[str, list[Any]]] = field(default_factory=dict)
    errors: dict[int, list[str]] = field(default_factory=dict)
    records_layout: bool = False


def tally(plan: RevertPlan, summary: RevertSummary, *, dry_run: bool) -> Tally:
    """Each input row's outcome from the plan's cells; counts them into ``summary``."""
    names = plan.names or [""]
    out = Tally(records_layout=names != [""] or bool(plan.products))
    for cell in plan.cells:
        item = plan.items.get(cell.item) if cell.item else None
        action = _action(item, cell.follower, dry_run)
        slot = out.rows.setdefault(cell.row, {}).setdefault(cell.name, [None, None, None])
        if dry_run and item is not None and item.earlier:
            summary.earlier += 1         # not what this dry run would do: done already
            slot[2 if cell.line else 0] = action
            if not cell.line:
                slot[1] = item.concord_id or cell.concord_id
        elif cell.line:
            slot[2] = action
            summary.lines[_counted(action)] += 1
        else:
            slot[0] = action
            ident = item.concord_id if item is not None and item.concord_id else cell.concord_id
            slot[1] = ident
            summary.counts[_counted(action)] += 1
            summary.records.setdefault(cell.name, Counter())[_counted(action)] += 1
        if item is not None and not cell.follower:
            label = f"{cell.name}: " if cell.name else ""
            where = "line item: " if cell.line else ""
            out.errors.setdefault(cell.row, []).extend(f"{label}{where}{e}" for e in item.errors)
    summary.rows = len(out.rows)
    return out


def write_results(path: Path, plan: RevertPlan, rows: Tally) -> Path:
    """The results file of a revert (see the module doc)."""
    excel = is_excel(path)
    sheet = "Revert" if excel else None
    writer: ResultsWriter
    if rows.records_layout:
        names = plan.names or [""]
        records = _RecordResults(path, [], [(n, n in plan.products) for n in names],
                                 excel=excel, sheet=sheet)
        for row_no in sorted(rows.rows):
            outcomes = {name: (slot[0] or "unchanged", slot[1], slot[2])
                        for name, slot in rows.rows[row_no].items()}
            records.add_outcomes(row_no, outcomes, _reasons(rows, row_no))
        return records.close()
    writer = _OneResults(path, [], excel=excel, sheet=sheet)
    for row_no in sorted(rows.rows):
        slot = rows.rows[row_no].get("", [None, None, None])
        writer.add(row_no, slot[0] or "unchanged", slot[1], _reasons(rows, row_no))
    return writer.close()


def _reasons(rows: Tally, row_no: int) -> list[str]:
    return list(dict.fromkeys(rows.errors.get(row_no, [])))


def _action(item: Item | None, follower: bool, dry_run: bool) -> str:
    if item is None:
        return "unchanged"
    if follower and item.action not in ("pending",):
        return "duplicate"
    return _verb(item, dry_run)


def _verb(item: Item, dry_run: bool) -> str:
    """A dry run says what it would do (``delete``); what an earlier run did stays past."""
    return DRY_VERBS.get(item.action, item.action) if dry_run and not item.earlier \
        else item.action


def _counted(action: str) -> str:
    return {v: k for k, v in DRY_VERBS.items()}.get(action, action)


def related_lines(plan: RevertPlan, *, dry_run: bool) -> tuple[list[str], int]:
    """Lookup-created records: ``'companies "Acme" (id 12): deleted'`` and how many need
    attention."""
    out, attention = [], 0
    for item in plan.items.values():
        if item.stage != RELATED:
            continue
        action = _verb(item, dry_run)
        ident = f" (id {item.concord_id})" if item.concord_id else ""
        why = f": {'; '.join(item.errors)}" if item.errors else ""
        earlier = " (by an earlier revert)" if item.earlier else ""
        out.append(f"{item.label}{ident}: {action}{why}{earlier}")
        attention += item.action in ATTENTION
    return out, attention


def planned_lines(plan: RevertPlan) -> list[str]:
    """A dry run's listing: one line per undo, in the order the revert would go."""
    out = []
    for _label, items in plan.stages:
        for item in items:
            rows = item.rows
            where = f"row {rows[0]}" if len(rows) == 1 else (
                f"rows {', '.join(map(str, rows[:5]))}{'...' if len(rows) > 5 else ''}"
                if rows else "lookup")
            what = item.label or item.resource
            ident = f" {item.concord_id}" if item.concord_id else ""
            action = _verb(item, True)
            detail = f": {'; '.join(item.errors)}" if item.errors else ""
            earlier = " (by an earlier revert)" if item.earlier else ""
            out.append(f"{where}: {action} {what}{ident}{earlier}{detail}")
    return out
