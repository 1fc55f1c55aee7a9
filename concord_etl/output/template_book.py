"""The openpyxl side of template workbooks: open and inspect a template, and the small sheets.

``TemplateWorkbookWriter`` (``xlsx_template``) streams the large data sheets itself; this module
does what openpyxl does well on a template: open it (and say what it cannot keep), find its
defined names, empty or create a sheet, write a header, a key/value sheet, a chart, or a small
table at a defined name. Text is always a literal, guarded string, never a formula.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from concord_etl.errors import ConfigError
from concord_etl.formula_guard import neutralise_cell
from concord_etl.output.sheet_xml import MAX_TEXT, column_letter
from concord_etl.output.xlsx_cells import DATE_FORMAT, DATETIME_FORMAT
from concord_etl.output.xlsx_writer import HEADER_FILL

TEMPLATE_SUFFIXES = (".xlsx", ".xltx")

__all__ = ["TEMPLATE_SUFFIXES", "TemplateInfo", "inspect_template", "open_template"]


@dataclass(frozen=True)
class TemplateInfo:
    """What a template offers: its sheets, its defined names (name → sheet and first cell) and
    what openpyxl cannot keep (``lost``: its warnings, e.g. about shapes)."""

    path: Path
    sheets: tuple[str, ...]
    names: Mapping[str, tuple[str, str]]
    lost: tuple[str, ...] = ()


def open_template(path: Path) -> tuple[Any, tuple[str, ...]]:
    """The template as an openpyxl workbook, and openpyxl's warnings about what it drops."""
    if path.suffix.lower() not in TEMPLATE_SUFFIXES:
        hint = " (save it as .xlsx: macros are not kept)" if path.suffix.lower() == ".xlsm" else ""
        message = f"the template {path} must be an .xlsx or .xltx workbook{hint}"
        raise ConfigError(message)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            wb = openpyxl.load_workbook(path, rich_text=True)
    except FileNotFoundError:
        message = f"template not found: {path}"
        raise ConfigError(message) from None
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        message = f"cannot read the template {path} ({exc}); is it an Excel workbook?"
        raise ConfigError(message) from None
    lost = tuple(dict.fromkeys(str(w.message) for w in caught))
    return wb, lost


def inspect_template(path: str | os.PathLike[str]) -> TemplateInfo:
    """Open a template the way the writer will; ``ConfigError`` when it cannot be used."""
    template = Path(path)
    wb, lost = open_template(template)
    try:
        names: dict[str, tuple[str, str]] = {}
        for scope in (wb, *wb.worksheets):
            for name, defined in scope.defined_names.items():
                where = first_cell(defined)
                if where is not None:
                    names.setdefault(name, where)
        return TemplateInfo(path=template, sheets=tuple(wb.sheetnames), names=names, lost=lost)
    finally:
        wb.close()


def first_cell(defined: Any) -> tuple[str, str] | None:
    """(sheet, first cell) of a defined name pointing at one range of one sheet, else None."""
    try:
        destinations = list(defined.destinations)
    except (AttributeError, TypeError, ValueError):
        return None
    if len(destinations) != 1:
        return None
    sheet, ref = destinations[0]
    first = str(ref).replace("$", "").split(":")[0]
    return (sheet, first) if re.fullmatch(r"[A-Z]{1,3}[0-9]+", first) else None


def find_sheet(wb: Any, name: str) -> Any:
    """The workbook's sheet called ``name`` (case-insensitive, as Excel compares), or None."""
    return next((ws for ws in wb.worksheets if ws.title.casefold() == name.casefold()), None)


def fresh_sheet(wb: Any, name: str) -> Any:
    """The template's sheet called ``name`` with its cells removed (it keeps its place, tab
    colour, column widths, print settings), else a new sheet at the end."""
    ws = find_sheet(wb, name)
    if ws is None:
        return wb.create_sheet(name)
    if ws.max_row > 1 or ws.max_column > 1 or ws.cell(1, 1).value is not None:
        ws.delete_rows(1, ws.max_row)
    ws.merged_cells.ranges = set()
    ws.title = name
    return ws


def header_row(ws: Any, names: Sequence[str], style: Any = None) -> list[Any]:
    """Row 1: ``style`` (a template header's) or bold on a light fill; frozen below."""
    cells = []
    for c, text in enumerate(names, start=1):
        cell = put(ws.cell(row=1, column=c), str(text))
        if style is not None:
            cell._style = copy.copy(style)
        else:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor=HEADER_FILL.lstrip("#"))
            cell.border = Border(bottom=Side(style="thin"))
            cell.alignment = Alignment(vertical="top")
        cells.append(cell)
    ws.freeze_panes = "A2"
    return cells


def put(cell: Any, value: Any) -> Any:
    """Set a cell by the value's type; text is literal and guarded, never a formula."""
    if isinstance(value, list | tuple | set | frozenset):
        value = ", ".join("" if x is None else str(x) for x in value)
    if isinstance(value, str):
        cell.value = neutralise_cell(value)[:MAX_TEXT]
        cell.data_type = "s"
    elif isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        cell.value = value
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, float) and value - value != 0:     # NaN, infinity
        cell.value = None
    else:
        cell.value = value
    return cell


def write_pairs(wb: Any, name: str, items: Sequence[tuple[Any, Any]]) -> None:
    """A two-column sheet of bold labels and typed values (``Run info``)."""
    from concord_etl.output.xlsx_cells import text_width

    ws = fresh_sheet(wb, name)
    for r, (key, value) in enumerate(items, start=1):
        label = put(ws.cell(row=r, column=1), str(key))
        label.font = Font(bold=True)
        label.alignment = Alignment(vertical="top")
        put(ws.cell(row=r, column=2), value).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = max([text_width(str(k)) for k, _ in items] or [8.0]) + 4
    ws.column_dimensions["B"].width = 60


def write_chart_sheet(wb: Any, name: str, title: str, rows: Sequence[tuple[str, Any]], *,
                      chart: str, value_label: str, category_label: str) -> None:
    """A table (category, value) from A1 and a native chart of it beside it."""
    from openpyxl.chart import BarChart, PieChart, Reference

    from concord_etl.output.xlsx_cells import text_width

    ws = fresh_sheet(wb, name)
    header_row(ws, [category_label, value_label])
    for r, (category, value) in enumerate(rows, start=2):
        put(ws.cell(row=r, column=1), str(category))
        put(ws.cell(row=r, column=2), value)
    ws.column_dimensions["A"].width = min(
        max([text_width(str(c)) for c, _ in rows] + [text_width(category_label)]) + 4, 60)
    ws.column_dimensions["B"].width = max(12.0, text_width(value_label) + 4)
    if not rows:
        return
    n = len(rows)
    graph: Any
    if chart == "pie":
        graph = PieChart()
    else:
        graph = BarChart()
        graph.type = "bar" if chart == "bar" else "col"
        graph.legend = None
        graph.y_axis.title = value_label
        graph.x_axis.title = category_label
        if chart == "bar":
            graph.x_axis.scaling.orientation = "maxMin"    # first category on top
    graph.add_data(Reference(ws, min_col=2, min_row=1, max_row=n + 1), titles_from_data=True)
    graph.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
    graph.title = title
    graph.width, graph.height = 17, max(7.5, min(30.0, 1.6 + 0.65 * n))
    ws.add_chart(graph, "D2")


def fill_name(wb: Any, name: str, rows: Sequence[Sequence[Any]]) -> str:
    """Write ``rows`` from the first cell of the defined name ``name``.

    The name's old cells are emptied (their styles stay), rows past its old range take the
    styles of its first row, and the name is redefined to cover what was written, so formulas
    and charts of the template that use the name see exactly the new table. Returns the new
    reference (``'Summary'!$A$3:$B$7``).
    """
    from openpyxl.utils.cell import range_boundaries

    defined = _defined(wb, name)
    sheet_name, ref = next(iter(defined.destinations))
    ws = wb[sheet_name]
    min_col, min_row, max_col, max_row = range_boundaries(str(ref).replace("$", ""))
    first = [copy.copy(ws.cell(row=min_row, column=c)._style)
             for c in range(min_col, max_col + 1)]
    for line in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col,
                             max_col=max_col):
        for cell in line:
            cell.value = None
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            cell = ws.cell(row=min_row + r, column=min_col + c)
            if min_row + r > max_row and c < len(first):
                cell._style = copy.copy(first[c])
            put(cell, value)
    width = max([len(r) for r in rows] + [max_col - min_col + 1 if not rows else 1])
    height = max(len(rows), 1)
    start = f"${column_letter(min_col - 1)}${min_row}"
    end = f"${column_letter(min_col + width - 2)}${min_row + height - 1}"
    quoted = "'" + sheet_name.replace("'", "''") + "'"
    defined.attr_text = f"{quoted}!{start}" if start == end else f"{quoted}!{start}:{end}"
    return str(defined.attr_text)


def _defined(wb: Any, name: str) -> Any:
    for scope in (wb, *wb.worksheets):
        if name in scope.defined_names:
            return scope.defined_names[name]
    message = f"the template has no defined name {name!r}"
    raise ConfigError(message)
