"""Reading: a CSV or spreadsheet file opened as a ``Table`` of raw cells, streamed in chunks.

``open_table(path, ...)`` detects the format from the file name (and its first bytes),
finds the header, checks it, and returns a ``Table`` whose ``frames()`` yields pandas
DataFrames of at most ``chunk_rows`` rows, each with a ``_row`` column (1-based line/row
number of the record in the file). ``csv_reader`` (with ``encoding`` and ``dialect``
detection) and ``excel_reader`` do the reading; ``inputs`` opens an import's input with its
mapping's hints and lays out the results file like it. See docs/DESIGN.md, "Reading".
"""

from __future__ import annotations

from pathlib import Path

from concord_etl.errors import ConfigError, InputError
from concord_etl.read.csv_reader import CsvSource
from concord_etl.read.excel_reader import ExcelSource
from concord_etl.read.table import (
    HIDDEN_PREFIX,
    ROW_COLUMN,
    CellProblem,
    Table,
    column_letter,
    require_columns,
)
from concord_etl.read.workbook_scan import Limits

__all__ = ["FORMATS", "ROW_COLUMN", "CellProblem", "Limits", "Table", "column_letter",
           "open_table", "require_columns"]

FORMATS = ("csv", "xlsx", "xlsm", "xlsb", "xls", "ods")
_SUFFIXES = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsm", ".xlsb": "xlsb", ".xls": "xls", ".ods": "ods",
}


def open_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    header_row: int = 1,
    encoding: str = "auto",
    delimiter: str = "auto",
    chunk_rows: int = 50_000,
    limits: Limits | None = None,
) -> Table:
    """Open ``path`` and read its header; the rows are read lazily by ``Table.frames()``.

    - ``sheet``: spreadsheet sheet name (exact, else case-insensitive) or 0-based index;
      default the first visible worksheet. Ignored for CSV.
    - ``header_row``: 1-based line/row of the header; blank lines/rows at that position are
      skipped, so the header is the first non-blank row at or after it.
    - ``encoding``/``delimiter``: CSV only; ``auto`` detects them.
    - ``limits``: spreadsheets only; how much a workbook may unpack to, how many cells a
      sheet may span (``Limits()``: 512 MB, 20 million cells).

    Things worth telling that do not stop the reading (mixed encodings, double-encoded text,
    control characters removed) are issued as ``concord_etl.errors.InputWarning``; cells that
    cannot be read (spreadsheet errors such as ``#N/A``) are listed in ``Table.problems``.
    """
    file = Path(path)
    _check_options(header_row, chunk_rows)
    fmt = _detect_format(file)
    if fmt == "csv":
        source = CsvSource(file, encoding=encoding, delimiter=delimiter,
                           header_row=header_row, chunk_rows=chunk_rows)
        return Table(
            path=file, format=fmt, sheet=None, columns=_visible(source.columns),
            encoding=source.encoding, delimiter=source.delimiter,
            header_row=source.header_row, warnings=source.warnings, controls=source.controls,
            _source=source,
        )
    excel = ExcelSource(file, sheet=sheet, header_row=header_row, chunk_rows=chunk_rows,
                        fmt=fmt, limits=limits)
    visible = _visible(excel.columns)
    return Table(
        path=file, format=fmt, sheet=excel.sheet_name, columns=visible,
        encoding=None, delimiter=None, header_row=excel.header_row,
        sheet_names=excel.sheet_names,
        problems=[p for p in excel.problems if p.column in visible], controls=excel.controls,
        quotes=excel.quotes,
        _source=excel,
    )


def _visible(columns: list[str]) -> list[str]:
    return [c for c in columns if not c.startswith(HIDDEN_PREFIX)]


def _check_options(header_row: int, chunk_rows: int) -> None:
    if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        raise ConfigError(f"header_row must be a line/row number ≥ 1, not {header_row!r}")
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a positive integer, not {chunk_rows!r}")


def _detect_format(file: Path) -> str:
    if not file.exists():
        raise InputError(f"{file}: no such file", path=str(file))
    if not file.is_file():
        raise InputError(f"{file}: not a file", path=str(file))
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"{file}: cannot open ({exc.strerror})", path=str(file)) from None
    if not head:
        raise InputError(f"{file}: the file is empty (0 bytes)", path=str(file))
    fmt = _SUFFIXES.get(file.suffix.lower())
    if head.startswith(b"PK\x03\x04"):
        return fmt if fmt in ("xlsx", "xlsm", "xlsb", "ods") else "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"SQLite f"):
        message = (f"{file}: this is an SQLite database (a concord-etl journal?), not a CSV or "
                   "spreadsheet file; import the original input file")
        raise InputError(message, path=str(file))
    if fmt is not None and fmt != "csv":
        message = f"{file}: not a {fmt} workbook (the content does not look like a spreadsheet)"
        raise InputError(message, path=str(file))
    return "csv"
