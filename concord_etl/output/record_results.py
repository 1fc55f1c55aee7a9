"""The results file of a multi-record import: one action and id column per record of a row.

Columns: ``_row``, then per record ``_<name>_action`` and ``_<name>_id`` (in the mapping's
dependency order; a deal with line items also gets ``_<name>_products_action``), then the row's
``_errors`` and ``_warnings`` (each reason names its record, one per line) and the input's own
columns. An unnamed record (a
one-resource mapping run by the multi-record engine) keeps the classic ``_action`` and
``_concord_id``. Everything else is as in ``output.results``: sorted by ``_row``, atomic,
XLSX for Excel input (rows needing attention highlighted), re-importable through the same mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from concord_etl.output.columns import ColumnDef
from concord_etl.output.results import FLAGGED, ResultsWriter


def record_columns(name: str, *, products: bool = False) -> tuple[str, ...]:
    """The outcome columns of one record: ``_contact_action``, ``_contact_id`` (...)."""
    if not name:
        base: tuple[str, ...] = ("_action", "_concord_id")
        return (*base, "_products_action") if products else base
    base = (f"_{name}_action", f"_{name}_id")
    return (*base, f"_{name}_products_action") if products else base


class RecordResultsWriter(ResultsWriter):
    """``add(row, {"company": ("created", 7), ...}, errors=..., raw=...)`` per input row.

    ``records`` lists ``(name, has_products)`` in column order. The per-record value is
    ``(action, id)``, or ``(action, id, products_action)`` for a record with line items.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        input_columns: Sequence[str],
        records: Sequence[tuple[str, bool]],
        **options: Any,
    ) -> None:
        self.records = [(name, bool(products)) for name, products in records]
        cells: list[str] = []
        for name, products in self.records:
            cells.extend(record_columns(name, products=products))
        self.meta_columns = ("_row", *cells, "_errors", "_warnings")
        self._width = len(cells)
        super().__init__(path, input_columns, **options)

    def _check_action(self, row_no: int, action: Any) -> None:
        if not isinstance(action, tuple) or len(action) != self._width:
            msg = f"row {row_no}: expected the outcome of each record, got {action!r}"
            raise ValueError(msg)

    def add_outcomes(
        self,
        row_no: int,
        outcomes: Mapping[str, Sequence[Any]],
        errors: Sequence[str] | None = None,
        raw: Mapping[str, Any] | Sequence[Any] | None = None,
        warnings: Sequence[str] | None = None,
    ) -> None:
        cells: list[Any] = []
        for name, products in self.records:
            outcome = list(outcomes.get(name) or ())
            width = 3 if products else 2
            outcome = (outcome + [None] * width)[:width]
            cells.extend(outcome)
        super().add(row_no, tuple(cells), None, errors, raw,  # type: ignore[arg-type]
                    warnings=warnings)

    def _meta_cells(self, action: Any, concord_id: Any) -> list[Any]:
        return list(action)

    def _meta_defs(self) -> list[ColumnDef]:
        defs: list[ColumnDef] = []
        for name, products in self.records:
            action, ident, *rest = record_columns(name, products=products)
            defs += [ColumnDef(action, "text"), ColumnDef(ident, "integer")]
            defs += [ColumnDef(column, "text") for column in rest]
        return defs

    def _is_flagged(self, row: Sequence[Any]) -> bool:
        cells = row[1:1 + self._width]
        return any(isinstance(cell, str) and cell in FLAGGED for cell in cells)
