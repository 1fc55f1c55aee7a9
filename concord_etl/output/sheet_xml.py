"""Worksheet rows as SpreadsheetML (``<row>``/``<c>`` elements), written as a stream.

Used by ``concord_etl.output.xlsx_template`` to put large data sheets into a workbook made from
a template without holding them in memory. Cells follow the rules of ``xlsx_cells``: text is a
literal inline string (never a formula, number or link), neutralised against formula injection
and cut at Excel's 32,767 characters; numbers are numbers (NaN/infinity left empty); dates and
times are serial numbers with a date style; ``None``/NA are empty. Characters XML cannot carry
(control characters) are written the way Excel escapes them (``_x0001_``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from concord_etl.formula_guard import neutralise_cell
from concord_etl.output.columns import is_missing

MAX_TEXT = 32_767
EPOCH_1900 = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")
_XML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})

__all__ = ["CellStyleIds", "column_letter", "excel_serial", "row_xml", "text_xml"]


@dataclass(frozen=True)
class CellStyleIds:
    """The ``s`` (cellXfs index) of each column's own cells, and of dates/times in any column."""

    columns: tuple[int, ...]
    date: int
    datetime: int


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → A, 25 → Z, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def excel_serial(value: dt.date | dt.datetime, epoch: dt.datetime = EPOCH_1900) -> float:
    """Days since the workbook's epoch, the time as a fraction (time zones become UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        delta = value - epoch
        return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86_400
    return float((value - epoch.date()).days)


def text_xml(text: str) -> str:
    """A string for an inline-string cell: guarded, cut to Excel's limit, escaped."""
    text = neutralise_cell(text)[:MAX_TEXT]
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub(lambda m: "_x005F" + m.group(0), text)
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return text.translate(_XML)


def _cell(ref: str, value: Any, style: int, styles: CellStyleIds, epoch: dt.datetime) -> str:
    s = f' s="{style}"' if style else ""
    cls = value.__class__
    if cls is str:
        if not value:
            return ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text_xml(value)}</t></is></c>'
    if cls is bool:
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if cls is int:
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    if cls is float:
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>' if value - value == 0 else ""
    if isinstance(value, dt.datetime):
        midnight = value.hour == value.minute == value.second == value.microsecond == 0
        shown = style if style in (styles.date, styles.datetime) else (
            styles.date if midnight else styles.datetime)
        return f'<c r="{ref}" s="{shown}"><v>{excel_serial(value, epoch)!r}</v></c>'
    if isinstance(value, dt.date):
        shown = style if style in (styles.date, styles.datetime) else styles.date
        return f'<c r="{ref}" s="{shown}"><v>{excel_serial(value, epoch)!r}</v></c>'
    if value is None or is_missing(value):
        return ""
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):  # numpy scalar
        return _cell(ref, value.item(), style, styles, epoch)
    if hasattr(value, "is_finite"):                                             # Decimal
        return _cell(ref, float(value), style, styles, epoch) if value.is_finite() else ""
    if isinstance(value, int | float):
        return _cell(ref, float(value) if isinstance(value, float) else int(value), style,
                     styles, epoch)
    if isinstance(value, list | tuple | set | frozenset):
        value = ", ".join("" if x is None else str(x) for x in value)
    elif isinstance(value, dt.time):
        value = value.isoformat()
    return _cell(ref, str(value), style, styles, epoch)


def row_xml(number: int, values: Sequence[Any], letters: Sequence[str], styles: CellStyleIds,
            epoch: dt.datetime = EPOCH_1900) -> str:
    """One ``<row>`` (``number`` is 1-based) of typed cells; empty values are left out."""
    cells = "".join(_cell(f"{letter}{number}", value, style, styles, epoch)
                    for letter, value, style in zip(letters, values, styles.columns, strict=False))
    return f'<row r="{number}">{cells}</row>'
