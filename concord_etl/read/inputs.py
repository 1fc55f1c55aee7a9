"""The input file of an import or a validation, and the results file laid out like it.

Both commands open the file with the mapping's reader hints and check it against the mapping
before anything is sent; both write results that re-import through the same mapping.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from concord_etl.errors import InputError, InputWarning
from concord_etl.mapping.model import AnyMapping, Mapping
from concord_etl.output.paths import check_distinct
from concord_etl.output.results import ResultsWriter
from concord_etl.read import CellProblem, Table, open_table, require_columns
from concord_etl.read.table import location

SHOWN_PROBLEMS = 10


def open_input(
    path: Path, mapping: Mapping, *, sheet: str | int | None = None, chunk_rows: int = 50_000
) -> Table:
    """Open ``path`` with the mapping's hints; every mapped column must be there.

    Columns whose field has a default may be absent. A mapped column with cells that cannot be
    read (spreadsheet errors such as ``#N/A``, which would otherwise read as empty) refuses the
    file, naming each cell; such cells in columns the mapping does not use are a warning.
    """
    hints = mapping.source
    table = open_table(
        path,
        sheet=sheet if sheet is not None else hints.sheet,
        header_row=hints.header_row,
        encoding=hints.encoding,
        delimiter=hints.delimiter,
        chunk_rows=chunk_rows,
    )
    require_columns(table, [c.column for c in mapping.columns if c.field not in mapping.defaults])
    check_problems(table, {c.column for c in mapping.columns})
    return table


def check_problems(table: Table, used: set[str]) -> None:
    """Refuse unreadable cells in ``used`` columns (InputError), warn about the others."""
    blocking = [p for p in table.problems if p.column in used]
    other = [p for p in table.problems if p.column not in used]
    if other:
        warnings.warn(f"{location(table.path, table.sheet)}: {_cells(other)} (columns the "
                      "mapping does not use)", InputWarning, stacklevel=3)
    if blocking:
        message = f"{location(table.path, table.sheet)}: {_cells(blocking)}"
        first = blocking[0]
        raise InputError(message, path=str(table.path), sheet=table.sheet, row=first.row,
                         column=first.column,
                         hint=("fix the formulas or clear those cells in the workbook, save it, "
                               "and run again; nothing was sent"))


def _cells(problems: list[CellProblem]) -> str:
    shown = ", ".join(f"{p.where} ({p.column!r}, row {p.row}) {p.what}"
                      for p in problems[:SHOWN_PROBLEMS])
    more = f" and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
    return f"{len(problems)} cell(s) cannot be read as values: {shown}{more}"


def results_writer(
    path: Path, table: Table, mapping: AnyMapping, *, excel: bool | None = None,
    replace_repeats: bool = False,
) -> ResultsWriter:
    """A results file laid out like the input (delimiter, sheet), so it re-imports as is.

    Refused (``ConfigError``) when ``path`` is the input file or the mapping."""
    check_distinct({"the results file": path},
                   {"the input file": table.path, "the mapping": mapping.path})
    if excel is None:
        excel = table.format != "csv"
    forced = mapping.source.encoding if mapping.source.encoding != "auto" else None
    return ResultsWriter(
        path, list(table.columns), excel=excel,
        sheet=table.sheet if excel else None,
        encoding=None if excel else forced,
        delimiter=(table.delimiter or ",") if not excel else ",",
        replace_repeats=replace_repeats,
    )


def raw_rows(frame: Any, columns: list[str]) -> Any:
    """The input's own cells of a chunk, row by row, empty cells as None."""
    cells = frame[list(columns)]
    return cells.astype(object).where(cells.notna(), None).itertuples(index=False, name=None)


def estimate_rows(table: Table, limit: int | None = None) -> int | None:
    """A cheap estimate of the data rows, at most ``limit``, for the progress bar (None when
    unknown)."""
    if table.format != "csv":
        return limit
    count = 0
    with open(table.path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    total = max(count - 1, 0)
    return total if limit is None else min(total, limit)
