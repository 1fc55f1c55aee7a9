"""The ``Table`` handle returned by ``open_table`` and the header rules shared by all formats."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from concord_etl.errors import InputError, InputWarning
from concord_etl.formula_guard import unneutralise
from concord_etl.output.sheet_xml import column_letter

ROW_COLUMN = "_row"
# Columns a results file adds (README: results file): ignored on input, so it re-imports as is.
RESULT_COLUMNS = ("_row", "_action", "_concord_id", "_errors", "_warnings")
HIDDEN_PREFIX = "__results__"
# What an earlier run did with a row of a results file (the import uses it; nothing else does).
KEPT_RESULT_COLUMNS = (HIDDEN_PREFIX + "_action", HIDDEN_PREFIX + "_concord_id")
# C0 control characters and DEL, except tab, line feed and carriage return (kept: they are
# text). NUL and friends are invisible in a spreadsheet and corrupt what the CRM stores.
CONTROL_CHARACTERS = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_CHARACTERS)


@dataclass(frozen=True)
class CellProblem:
    """A cell that cannot be read as a value, e.g. one holding the spreadsheet error #N/A."""

    row: int          # as the sheet shows it
    column: str       # the column's header
    where: str        # the cell's reference, e.g. B7
    what: str         # "holds the spreadsheet error #N/A"


class FrameSource(Protocol):
    """What a format-specific reader gives ``Table``: a fresh iterator of frames per call."""

    columns: list[str]

    def frames(self) -> Iterator[pd.DataFrame]: ...


@dataclass
class Table:
    """An opened input file: its detected layout and a re-iterable stream of row chunks.

    ``frames()`` may be called any number of times; each call reads the file again from the
    start. Every frame has the columns ``columns`` (header order) plus ``_row``: the 1-based
    line (CSV) or row (spreadsheet) number where the record starts, as a user sees it in a
    text editor or in Excel.
    """

    path: Path
    format: str                    # csv | xlsx | xlsm | xlsb | xls | ods
    sheet: str | None              # sheet name for spreadsheets, None for CSV
    columns: list[str]
    encoding: str | None           # CSV only: utf-8, utf-8-sig, cp1252, latin-1, ...
    delimiter: str | None          # CSV only
    header_row: int                # 1-based line/row number of the header actually used
    warnings: list[str] = field(default_factory=list)
    sheet_names: list[str] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    controls: bool = True          # False: the file is known to hold no control characters
    quotes: bool = True            # False: no text cell starts with ' (nothing to unguard)
    _source: FrameSource | None = field(default=None, repr=False)

    def frames(self) -> Iterator[pd.DataFrame]:
        """Chunks of at most ``chunk_rows`` rows; blank rows are left out. Control characters
        (NUL, BEL, ... but not tab or line breaks) are removed, with an ``InputWarning``."""
        if self._source is None:
            return iter(())
        hidden = [c for c in self._source.columns
                  if c.startswith(HIDDEN_PREFIX) and c not in KEPT_RESULT_COLUMNS]
        unguard = _unguard if self.quotes else _as_is
        return (self._clean(unguard(frame.drop(columns=hidden) if hidden else frame))
                for frame in self._source.frames())

    def _clean(self, frame: pd.DataFrame) -> pd.DataFrame:
        found = strip_control_characters(frame) if self.controls else None
        if found:
            count, row, column = found
            where = location(self.path, self.sheet, row)
            warnings.warn(
                f"{location(self.path, self.sheet)}: removed control characters (NUL, BEL, "
                f"...) from {count} cell(s), the first at {where.rsplit(', ', 1)[-1]}, column "
                f"{column!r}; they are invisible in a spreadsheet and would have been stored "
                "in the CRM", InputWarning, stacklevel=2)
        return frame

    def describe(self) -> str:
        """One line for humans, e.g. ``detected: cp1252, ';', header row 1``."""
        if self.format == "csv":
            delim = "tab" if self.delimiter == "\t" else repr(self.delimiter)
            text = f"detected: {self.encoding}, {delim}, header row {self.header_row}"
        else:
            text = f"{self.format} sheet {self.sheet!r}, header row {self.header_row}"
        text += f", {len(self.columns)} columns"
        if self.warnings:
            text += "; warning: " + "; ".join(self.warnings)
        return text


def _as_is(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def _unguard(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the ``'`` that our own exports put before formula-like text (``'=SUM(A1)``).

    Only cells starting with ``'`` are looked at, so the cost is one vectorised check per
    text column; files that never went through concord-etl are unaffected.
    """
    for name in frame.columns:
        if name == ROW_COLUMN:
            continue
        column = frame[name]
        marked = _quoted(column)
        if marked is not None and marked.any():
            frame.loc[marked, name] = column[marked].map(unneutralise)
    return frame


def _quoted(column: pd.Series) -> np.ndarray | None:
    """Which cells are text starting with ``'`` (None: the column holds no text)."""
    if column.dtype == object:   # Excel: mixed cells; a plain loop beats pandas' .str here
        values = column.to_numpy()
        return np.fromiter((v.__class__ is str and v[:1] == "'" for v in values), dtype=bool,
                           count=len(values))
    try:
        return column.str.startswith("'", na=False).to_numpy(dtype=bool)
    except AttributeError:       # numbers, dates: no text in this column
        return None


def strip_control_characters(frame: pd.DataFrame) -> tuple[int, int, str] | None:
    """Remove control characters from every text cell of ``frame`` (in place); return how
    many cells changed and the first one's row and column, or None."""
    count = 0
    first: tuple[int, str] | None = None
    for name in frame.columns:
        if name == ROW_COLUMN:
            continue
        column = frame[name]
        try:
            marked = column.str.contains(CONTROL_CHARACTERS, regex=True, na=False).astype(bool)
        except (AttributeError, TypeError):  # no text in this column
            continue
        if not marked.any():
            continue
        frame.loc[marked, name] = column[marked].map(lambda v: _CONTROL.sub("", v))
        count += int(marked.sum())
        row = int(frame.loc[marked, ROW_COLUMN].iloc[0])
        if first is None or row < first[0]:
            first = (row, str(name))
    return None if first is None else (count, first[0], first[1])


def header_text(value: Any) -> str:
    """A header cell as text: strings stripped, integral numbers without ``.0``, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value).strip()


def clean_headers(
    raw: Sequence[Any],
    *,
    path: Path,
    sheet: str | None,
    row: int,
    first_column: int = 0,
    letters: bool,
) -> tuple[list[str], int]:
    """Validate a header row; return (names, number of trailing header-less columns).

    Empty header cells at the end of the row are tolerated (the reader then checks that
    their columns hold no data); empty cells before the last named one, duplicates and the
    are an ``InputError`` naming each offending column. The columns a results file adds
    (``_row``, ``_action``, ``_concord_id``, ``_errors``, ``_warnings``) are renamed with ``HIDDEN_PREFIX``
    and left out of ``Table.columns`` and the frames, so a results file re-imports as is.
    """
    names = [header_text(v) for v in raw]
    names = [HIDDEN_PREFIX + n if n in RESULT_COLUMNS else n for n in names]
    used = len(names)
    while used and names[used - 1] == "":
        used -= 1
    kept = names[:used]

    def where(i: int) -> str:
        if letters:
            return f"column {column_letter(first_column + i)}"
        return f"column {first_column + i + 1}"

    problems: list[str] = []
    empties = [where(i) for i, name in enumerate(kept) if name == ""]
    if empties:
        problems.append("empty header in " + ", ".join(empties))
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(kept):
        if name:
            seen.setdefault(name, []).append(i)
    for name, positions in seen.items():
        if len(positions) > 1:
            cols = ", ".join(where(i) for i in positions)
            problems.append(f"duplicate header {name!r} in {cols}")
    where_row = location(path, sheet, row)
    if problems:
        message = f"{where_row}: bad header row: " + "; ".join(problems)
        raise InputError(message, path=str(path), sheet=sheet, row=row)
    if not kept:
        message = f"{where_row}: the header row is empty"
        raise InputError(message, path=str(path), sheet=sheet, row=row)
    return kept, len(names) - used


def extra_cell_error(
    *, path: Path, sheet: str | None, row: int, column: str, value: Any
) -> InputError:
    """A value in a column that has no header."""
    message = (
        f"{location(path, sheet, row)}: {column} has a value ({value!r}) but no header; "
        "add a header for it or delete the value"
    )
    return InputError(message, path=str(path), sheet=sheet, row=row, column=column)


def location(path: Path, sheet: str | None = None, row: int | None = None) -> str:
    """``file, sheet 'S', row N`` (or ``line N`` for text files) for messages."""
    text = str(path)
    if sheet is not None:
        text += f", sheet {sheet!r}"
    if row is not None:
        text += f", {'row' if sheet is not None else 'line'} {row}"
    return text


def require_columns(table: Table, names: Sequence[str]) -> None:
    """Raise ``InputError`` when any of ``names`` is not a column of ``table``."""
    present = set(table.columns)
    missing = [name for name in names if name not in present]
    if not missing:
        return
    where = location(table.path, table.sheet, table.header_row)
    found = ", ".join(repr(c) for c in table.columns)
    message = (
        f"{where}: missing column(s) {', '.join(repr(m) for m in missing)}; "
        f"the header has: {found}"
    )
    raise InputError(message, path=str(table.path), sheet=table.sheet, row=table.header_row,
                     column=missing[0])
