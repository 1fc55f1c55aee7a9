"""One value → one typed XLSX cell: per-column fast writers, formats, width estimates.

Used by ``concord_etl.output.xlsx_writer``. A column's writer handles values of its declared
``ColumnDef.kind`` on a fast path and hands anything else to ``write_any``, which writes the
value by its own Python type (so a text column holding a date still gets a real date cell).
Text is always written as a literal string (never a formula, number or URL) and guarded
(``formula_guard.neutralise_cell``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from concord_etl.formula_guard import TRIGGERS, neutralise_cell
from concord_etl.output.columns import ColumnDef, is_missing

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

_TRIGGERS = TRIGGERS | {"'"}     # text starting with these may need the guard

CellWriter = Callable[[int, int, Any], Any]
FormatFactory = Callable[..., "Format | None"]


def text_width(text: str) -> float:
    """Rough display width of text in Calibri 11 character units (wide CJK glyphs count 2)."""
    longest = 0.0
    for line in text.split("\n"):
        width = 0.0
        for ch in line:
            width += 2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.0
        longest = max(longest, width)
    return longest


class CellStyles:
    """The formats one column needs: its own cell format and date/datetime formats."""

    __slots__ = ("cell", "date", "datetime", "marked")

    def __init__(self, fmt: FormatFactory, col: ColumnDef, *, fill: str | None = None) -> None:
        marked = fill is not None
        wrap = col.wrap or None
        own = col.num_format
        self.marked = marked
        self.date = fmt(
            num_format=own if col.kind == "date" and own else DATE_FORMAT, bg_color=fill)
        self.datetime = fmt(
            num_format=own if col.kind == "datetime" and own else DATETIME_FORMAT,
            bg_color=fill)
        valign = "top" if wrap else None
        if col.kind == "date":
            self.cell = self.date
        elif col.kind == "datetime":
            self.cell = self.datetime
        else:
            self.cell = fmt(num_format=own, bg_color=fill, text_wrap=wrap, valign=valign)


def cell_writer(ws: Worksheet, col: ColumnDef, styles: CellStyles) -> CellWriter:
    """A fast per-column cell writer; values of an unexpected type go to ``write_any``."""
    cell = styles.cell
    blank = ws.write_blank if styles.marked else None

    def fallback(r: int, c: int, v: Any) -> None:
        if v is None:
            if blank is not None:
                blank(r, c, None, cell)
            return
        write_any(ws, r, c, v, styles)

    kind = col.kind
    if kind == "text":
        write_string = ws.write_string

        def text(r: int, c: int, v: Any) -> None:
            if v.__class__ is str and v:
                if v[0] in _TRIGGERS:
                    v = neutralise_cell(v)
                write_string(r, c, v, cell)
            else:
                fallback(r, c, v)

        return text
    if kind in ("integer", "number"):
        write_number = ws.write_number

        def number(r: int, c: int, v: Any) -> None:
            cls = v.__class__
            if cls is int or (cls is float and v - v == 0):  # v - v == 0 drops NaN and inf
                write_number(r, c, v, cell)
            else:
                fallback(r, c, v)

        return number
    if kind in ("date", "datetime"):
        write_datetime = ws.write_datetime

        def when(r: int, c: int, v: Any) -> None:
            cls = v.__class__
            if cls is dt.date or (cls is dt.datetime and v.tzinfo is None):
                write_datetime(r, c, v, cell)
            else:
                fallback(r, c, v)

        return when
    write_boolean = ws.write_boolean

    def boolean(r: int, c: int, v: Any) -> None:
        if v.__class__ is bool:
            write_boolean(r, c, v, cell)
        else:
            fallback(r, c, v)

    return boolean


def write_any(ws: Worksheet, r: int, c: int, v: Any, styles: CellStyles) -> None:
    """Write a value by its own Python type (the slow, general path)."""
    cell = styles.cell
    if v is None or is_missing(v) or (isinstance(v, float) and v - v != 0):  # NA, NaN, inf
        if styles.marked:
            ws.write_blank(r, c, None, cell)
        return
    if isinstance(v, str):
        if v:
            ws.write_string(r, c, neutralise_cell(str(v)), cell)
        elif styles.marked:
            ws.write_blank(r, c, None, cell)
        return
    if isinstance(v, bool):
        ws.write_boolean(r, c, bool(v), cell)
        return
    if isinstance(v, int | float):
        ws.write_number(r, c, v, cell)
        return
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        midnight = v.hour == v.minute == v.second == v.microsecond == 0
        ws.write_datetime(r, c, v, styles.date if midnight else styles.datetime)
        return
    if isinstance(v, dt.date):
        ws.write_datetime(r, c, v, styles.date)
        return
    if hasattr(v, "item") and not isinstance(v, list | tuple | dict):  # numpy scalar
        write_any(ws, r, c, v.item(), styles)
        return
    if hasattr(v, "is_finite") and v.is_finite():  # Decimal
        ws.write_number(r, c, float(v), cell)
        return
    if isinstance(v, list | tuple | set | frozenset):
        v = ", ".join("" if x is None else str(x) for x in v)
    elif isinstance(v, dt.time):
        v = v.isoformat()
    ws.write_string(r, c, neutralise_cell(str(v)), cell)


def value_width(value: Any, col: ColumnDef) -> float:
    """Estimated display width of one value in a column (character units)."""
    if value is None:
        return 0.0
    cls = value.__class__
    if cls is str:
        return text_width(value) * (0.95 if col.wrap else 1.0)
    if cls is bool:
        return 5.0
    if cls is int:
        digits = len(str(value))
        return digits + (digits - 1) // 3 if col.num_format and "," in col.num_format else digits
    if cls is float:
        if value - value != 0:
            return 0.0
        return float(len(shown_number(value, col.num_format)))
    if isinstance(value, dt.datetime):
        return 16.0
    if isinstance(value, dt.date):
        return 10.0
    return text_width(str(value))


def shown_number(value: float, num_format: str | None) -> str:
    """Roughly what Excel shows for a float: General (≤ 11 chars) or a ``#,##0.00`` format."""
    if not num_format or num_format == "General":
        text = repr(value)
        return text if len(text) <= 11 else f"{value:.6g}"
    head, _, tail = num_format.partition(".")
    decimals = len(tail) - len(tail.lstrip("0#"))
    sep = "," if "," in head else ""
    return format(value, f"{sep}.{decimals}f") + ("%" if "%" in num_format else "")
