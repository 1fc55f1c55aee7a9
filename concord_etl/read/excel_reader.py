"""Spreadsheet reader (XLSX/XLSM/XLSB/XLS/ODS) on python-calamine.

Cell values as the sheet typed them: text stays ``str`` (leading zeros kept), numbers are
``int`` when integral (spreadsheets store every number as a float) else ``float`` rounded to the
15 significant digits spreadsheets keep (``0.1 + 0.2`` reads ``0.3``), date cells
``datetime.date`` (date-only formats) or ``datetime.datetime``, time cells ``datetime.time``,
booleans ``bool``. Empty cells → ``None`` (NA). Error cells (``#N/A``, ``#DIV/0!``) come out
of python-calamine as empty cells, so ``workbook_scan`` finds them in the file (XLSX, ODS) and
they are listed in ``error_cells`` for the caller to report. The package size and the sheet's
extent are checked before the sheet is loaded (``workbook_scan.Limits``). The 1900 and 1904
date systems are handled by calamine. openpyxl is not used for reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import python_calamine as calamine
from pandas.api.types import infer_dtype

from concord_etl.errors import InputError
from concord_etl.read.table import (
    ROW_COLUMN,
    CellProblem,
    clean_headers,
    column_letter,
    extra_cell_error,
    location,
)
from concord_etl.read.workbook_scan import Limits, check_package, scan_sheet, too_many_cells

_INT_LIMIT = float(2**53)
_FLOAT_KINDS = ("floating", "mixed-integer-float", "mixed")


class ExcelSource:
    """One sheet of a workbook, kept open so that ``frames()`` can be iterated again."""

    def __init__(
        self, path: Path, *, sheet: str | int | None, header_row: int, chunk_rows: int,
        fmt: str = "xlsx", limits: Limits | None = None,
    ) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        limits = limits or Limits()
        check_package(path, limits)
        workbook = _open_workbook(path)
        self.sheet_names: list[str] = list(workbook.sheet_names)
        self.sheet_name = _pick_sheet(workbook, sheet, path)
        scan = scan_sheet(path, fmt, self.sheet_name, limits)
        self._sheet = _load_sheet(workbook, self.sheet_name, path)
        _check_loaded_size(self._sheet, path, self.sheet_name, limits)
        start = self._sheet.start
        self.first_column = start[1] if start else 0
        raw, self.header_index = self._find_header(header_row)
        self.header_row = self.header_index + 1
        self.columns, _ = clean_headers(
            raw, path=path, sheet=self.sheet_name, row=self.header_row,
            first_column=self.first_column, letters=True,
        )
        self.controls = scan.controls or fmt in ("xls", "xlsb")   # binary: not scanned
        self.quotes = scan.quotes or fmt not in ("xlsx", "xlsm")
        self.problems: list[CellProblem] = []
        for cell in scan.error_cells:
            index = cell.column - 1 - self.first_column
            if cell.row > self.header_row and 0 <= index < len(self.columns):
                self.problems.append(CellProblem(
                    row=cell.row, column=self.columns[index], where=cell.ref,
                    what=f"holds the spreadsheet error {cell.text}"))

    def _find_header(self, header_row: int) -> tuple[list[Any], int]:
        for index, row in enumerate(self._sheet.iter_rows()):
            if index + 1 < header_row or row.count("") == len(row):
                continue
            return row, index
        where = location(self.path, self.sheet_name)
        if header_row > 1:
            message = f"{where}: no header row at or after row {header_row} (the sheet ends first)"
        else:
            message = f"{where}: the sheet is empty (no header row)"
        raise InputError(message, path=str(self.path), sheet=self.sheet_name, row=header_row)

    def frames(self) -> Iterator[pd.DataFrame]:
        rows = self._sheet.iter_rows()
        first = self.header_index + 1          # 0-based index of the first data row
        for _ in islice(rows, first):
            pass
        done = 0
        yielded = False
        while True:
            chunk = list(islice(rows, self.chunk_rows))
            if not chunk:
                break
            frame = self._frame(chunk, first, done)
            first += len(chunk)
            if len(frame):
                done += len(frame)
                yielded = True
                yield frame
        if not yielded:
            yield self._frame([], first, 0)

    def _frame(self, chunk: list[list[Any]], first: int, done: int) -> pd.DataFrame:
        """Rows of calamine values → object columns, None for empty, integral floats as int."""
        width = len(self.columns)
        grid = _grid(chunk, width)
        empty = grid == ""
        keep = ~empty.all(axis=1)
        if grid.shape[1] > width:
            self._check_extra(grid[keep], empty[keep], first + np.flatnonzero(keep) + 1)
        grid, empty = grid[keep, :width], empty[keep, :width]
        grid[empty] = None
        for j in range(width):
            if infer_dtype(grid[:, j], skipna=True) in _FLOAT_KINDS:
                grid[:, j] = _ints_where_integral(grid[:, j].tolist())
        frame = pd.DataFrame(grid, columns=self.columns, dtype=object, copy=False)
        frame[ROW_COLUMN] = first + np.flatnonzero(keep).astype(np.int64) + 1
        frame.index = pd.RangeIndex(done, done + len(frame))
        return frame

    def _check_extra(self, grid: np.ndarray, empty: np.ndarray, numbers: np.ndarray) -> None:
        width = len(self.columns)
        filled = ~empty[:, width:]
        if not filled.any():
            return
        row, offset = np.argwhere(filled)[0]
        letter = column_letter(self.first_column + width + int(offset))
        raise extra_cell_error(
            path=self.path, sheet=self.sheet_name, row=int(numbers[row]),
            column=f"column {letter}", value=grid[row, width + offset],
        )


def _grid(chunk: list[list[Any]], width: int) -> np.ndarray:
    """A 2-D object array of the chunk (rows from calamine all have the sheet's width)."""
    columns = max([width, *map(len, chunk[:1])])
    grid = np.empty((len(chunk), columns), dtype=object)
    if chunk:
        grid[:] = chunk
    return grid


def _ints_where_integral(values: list[Any]) -> list[Any]:
    """Integral floats as ``int``; other floats to the 15 significant digits a spreadsheet keeps
    (``731.9399999999999`` as stored in the file is the ``731.94`` the user typed and sees)."""
    return [
        (int(v) if v.is_integer() and -_INT_LIMIT <= v <= _INT_LIMIT else _as_shown(v))
        if v.__class__ is float else v
        for v in values
    ]


def _as_shown(value: float) -> float:
    shown = float(f"{value:.15g}")
    return shown if shown == shown else value      # NaN stays NaN


def _check_loaded_size(sheet: Any, path: Path, name: str, limits: Limits) -> None:
    """The loaded sheet's extent (XLS, XLSB and ODS are not scanned before loading)."""
    if int(sheet.height) * int(sheet.width) > limits.max_cells:
        raise too_many_cells(path, name, int(sheet.height), int(sheet.width), limits)


def _open_workbook(path: Path) -> calamine.CalamineWorkbook:
    try:
        return calamine.CalamineWorkbook.from_path(str(path))
    except calamine.PasswordError:
        message = f"{path}: the workbook is password-protected; save an unprotected copy"
    except (calamine.CalamineError, OSError, ValueError) as exc:
        message = f"{path}: cannot read the workbook ({exc}); is it a real spreadsheet file?"
    raise InputError(message, path=str(path))


def _pick_sheet(workbook: calamine.CalamineWorkbook, sheet: str | int | None, path: Path) -> str:
    names = list(workbook.sheet_names)
    if not names:
        raise InputError(f"{path}: the workbook has no sheets", path=str(path))
    if sheet is None:
        for meta in workbook.sheets_metadata:
            if (meta.typ == calamine.SheetTypeEnum.WorkSheet
                    and meta.visible == calamine.SheetVisibleEnum.Visible):
                return meta.name
        return names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return sheet
    else:
        folded = [n for n in names if n.strip().casefold() == str(sheet).strip().casefold()]
        if len(folded) == 1:
            return folded[0]
    listed = ", ".join(repr(n) for n in names)
    message = f"{path}: no sheet {sheet!r}; the workbook has: {listed}"
    raise InputError(message, path=str(path), sheet=str(sheet))


def _load_sheet(workbook: calamine.CalamineWorkbook, name: str, path: Path) -> Any:
    try:
        return workbook.get_sheet_by_name(name)
    except calamine.CalamineError as exc:
        message = f"{path}, sheet {name!r}: cannot read the sheet ({exc})"
        raise InputError(message, path=str(path), sheet=name) from None
