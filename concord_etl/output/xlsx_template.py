"""A workbook written into a copy of a template (``report`` with ``template:``).

The template (an ``.xlsx`` or ``.xltx`` an office designed: cover sheet, logo, styles, a summary
sheet with formulas or a chart that reads the data sheets, defined names) is opened with
openpyxl, and everything openpyxl keeps is kept: sheets, cell styles, images, charts, defined
names, formulas, print settings (``template_book.open_template`` says what it drops). Then:

- a data sheet (``add_sheet``) whose name is a template sheet's replaces that sheet's cells in
  place (same position, tab colour, the column widths the template set, the style of its first
  header cell); any other is appended. Bold frozen header, autofilter, typed cells, the formula
  guard, split past Excel's row limit, as ``WorkbookWriter`` does;
- ``add_chart_sheet`` and ``add_key_value_sheet`` work as in ``WorkbookWriter``;
- ``fill_name(name, rows)`` writes a small table at a defined name of the template and
  redefines the name to cover it, so the template's formulas and charts on that name follow;
- every formula recalculates when the workbook is opened (``fullCalcOnLoad``).

Data sheets stream: their rows become worksheet XML in a temporary file as they arrive (memory
stays flat whatever the row count) and are spliced into the package openpyxl saved, so a large
report costs about what the plain writer costs. The file is written atomically.

    with TemplateWorkbookWriter("weekly.xlsx", "brand.xlsx") as book:
        book.add_sheet("Deals", columns, rows)
        book.fill_name("StageTable", [("Won", 1200.0), ("Lost", 300.0)])
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from xml.etree import ElementTree

from openpyxl.styles import Alignment

from concord_etl.errors import ConfigError
from concord_etl.output.atomic import atomic_output
from concord_etl.output.columns import ColumnDef
from concord_etl.output.sheet_xml import (
    EPOCH_1900,
    EPOCH_1904,
    CellStyleIds,
    column_letter,
    row_xml,
    text_xml,
)
from concord_etl.output.template_book import (
    fill_name,
    find_sheet,
    fresh_sheet,
    header_row,
    open_template,
    write_chart_sheet,
    write_pairs,
)
from concord_etl.output.xlsx_cells import DATE_FORMAT, DATETIME_FORMAT
from concord_etl.output.xlsx_writer import (
    EXCEL_MAX_ROWS,
    Row,
    SheetStats,
    check_chart,
    check_max_rows,
    column_width,
    sanitise_sheet_name,
)

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>.*?</sheetData>", re.S)
_DIMENSION = re.compile(r'<dimension ref="[^"]*"\s*/>')
_BATCH = 500

__all__ = ["TemplateWorkbookWriter"]


@dataclass
class _DataSheet:
    """One worksheet of streamed rows; the rows wait as XML in ``fragment`` until the splice."""

    name: str
    columns: list[ColumnDef]
    styles: CellStyleIds
    header_style: int
    fragment: Path
    rows: int = 0


class TemplateWorkbookWriter:
    """Write a report workbook into a copy of ``template`` (see the module doc)."""

    def __init__(self, path: str | os.PathLike[str], template: str | os.PathLike[str], *,
                 max_rows_per_sheet: int = EXCEL_MAX_ROWS, sample_rows: int = 200,
                 min_width: float = 8.0, max_width: float = 60.0) -> None:
        check_max_rows(max_rows_per_sheet)
        self.path = Path(path)
        self.template = Path(template)
        self.max_rows_per_sheet = min(max_rows_per_sheet, EXCEL_MAX_ROWS)
        self.sample_rows = sample_rows
        self.min_width = min_width
        self.max_width = max_width
        self.sheet_names: list[str] = []
        self.lost: tuple[str, ...] = ()           # what openpyxl could not keep (its warnings)
        self._wb: Any = None
        self._data: list[_DataSheet] = []
        self._later: list[Callable[[Any], Any]] = []      # small openpyxl steps, run at the end
        self._tmpdir: str | None = None
        self._epoch = EPOCH_1900

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> TemplateWorkbookWriter:
        self._wb, self.lost = open_template(self.template)   # fails before any row is fetched
        self._epoch = EPOCH_1904 if self._wb.epoch == EPOCH_1904 else EPOCH_1900
        self._tmpdir = tempfile.mkdtemp(prefix="concord-template-")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None:
                self._build()
        finally:
            if self._wb is not None:
                self._wb.close()
                self._wb = None
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def _require_open(self) -> Any:
        if self._wb is None or self._tmpdir is None:
            msg = "TemplateWorkbookWriter must be used as a context manager"
            raise RuntimeError(msg)
        return self._wb

    def _name(self, name: str) -> str:
        final = sanitise_sheet_name(name, self.sheet_names)
        self.sheet_names.append(final)
        return final

    # -- content -----------------------------------------------------------------------------
    def add_sheet(self, name: str, columns: Sequence[ColumnDef], rows: Iterable[Row]
                  ) -> SheetStats:
        """Stream ``rows`` (sequences in ``columns`` order) into a data sheet."""
        self._require_open()
        columns = list(columns)
        iterator = iter(rows)
        sample = list(islice(iterator, self.sample_rows))
        widths = [column_width(i, c, sample, self.min_width, self.max_width)
                  for i, c in enumerate(columns)]
        letters = [column_letter(i) for i in range(len(columns))]
        stats = SheetStats(name=name, columns=len(columns))
        part = self._new_part(name, columns, widths)
        stats.sheets.append(part.name)
        handle = open(part.fragment, "w", encoding="utf-8")  # noqa: SIM115 (reopened per part)
        try:
            batch: list[str] = []
            for row in chain(sample, iterator):
                if part.rows + 1 >= self.max_rows_per_sheet:
                    handle.write("".join(batch))
                    batch.clear()
                    handle.close()
                    part = self._new_part(f"{name} ({len(stats.sheets) + 1})", columns, widths)
                    stats.sheets.append(part.name)
                    handle = open(part.fragment, "w", encoding="utf-8")  # noqa: SIM115
                if len(row) != len(columns):
                    msg = (f"sheet {name!r}, data row {stats.rows + 1}: {len(row)} values for "
                           f"{len(columns)} columns")
                    raise ValueError(msg)
                part.rows += 1
                stats.rows += 1
                batch.append(row_xml(part.rows + 1, row, letters, part.styles, self._epoch))
                if len(batch) >= _BATCH:
                    handle.write("".join(batch))
                    batch.clear()
            handle.write("".join(batch))
        finally:
            handle.close()
        return stats

    def _new_part(self, name: str, columns: list[ColumnDef], widths: list[float]) -> _DataSheet:
        wb = self._require_open()
        assert self._tmpdir is not None
        final = self._name(name)
        styles, header_style = _prepare_data_sheet(wb, final, columns, widths)
        fragment = Path(self._tmpdir) / f"sheet{len(self._data)}.xml"
        part = _DataSheet(final, columns, styles, header_style, fragment)
        self._data.append(part)
        return part

    def add_key_value_sheet(self, name: str, pairs: Mapping[str, Any] | Iterable[tuple[str, Any]]
                            ) -> str:
        """A two-column sheet of labels (bold) and typed values, e.g. "Run info"."""
        items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
        final = self._name(name)
        self._later.append(lambda wb: write_pairs(wb, final, items))
        return final

    def add_chart_sheet(self, name: str, title: str, categories: Sequence[str],
                        values: Sequence[float], *, chart: Literal["bar", "column", "pie"] = "bar",
                        value_label: str = "Value", category_label: str = "Category") -> str:
        """A table (category, value) and a native chart of it, as ``WorkbookWriter``'s."""
        check_chart(name, chart, categories, values)
        final = self._name(name)
        rows = [(str(c), v) for c, v in zip(categories, values, strict=True)]
        self._later.append(lambda wb: write_chart_sheet(
            wb, final, title, rows, chart=chart, value_label=value_label,
            category_label=category_label))
        return final

    def fill_name(self, name: str, rows: Sequence[Sequence[Any]]) -> None:
        """Write ``rows`` at the template's defined name ``name`` (``template_book.fill_name``)."""
        block = [list(r) for r in rows]
        self._later.append(lambda wb: fill_name(wb, name, block))

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        wb = self._require_open()
        assert self._tmpdir is not None
        for part in self._data:
            if part.columns:
                last = column_letter(len(part.columns) - 1)
                wb[part.name].auto_filter.ref = f"A1:{last}{part.rows + 1}"
        for step in self._later:
            step(wb)
        wb.calculation.fullCalcOnLoad = True        # the template's formulas see the new data
        if self.template.suffix.lower() == ".xltx":
            wb.template = False
        draft = Path(self._tmpdir) / "draft.xlsx"
        wb.save(draft)
        with atomic_output(self.path) as tmp:
            _splice(draft, tmp, {part.name: part for part in self._data})


def _prepare_data_sheet(wb: Any, name: str, columns: list[ColumnDef], widths: list[float]
                        ) -> tuple[CellStyleIds, int]:
    """Empty or create the sheet, write its header and widths; the style ids its cells use."""
    existing = find_sheet(wb, name)
    header_style = None
    kept_widths: dict[str, float] = {}
    if existing is not None:
        first = existing.cell(1, 1)
        header_style = first._style if first.has_style else None
        kept_widths = {key: dim.width for key, dim in existing.column_dimensions.items()
                       if dim.customWidth and dim.width}
    ws = fresh_sheet(wb, name)
    header = header_row(ws, [c.name for c in columns], header_style)
    for i, width in enumerate(widths):
        letter = column_letter(i)
        ws.column_dimensions[letter].width = kept_widths.get(letter, width)
    # Probe cells in row 2 register the styles the streamed cells use (the splice replaces
    # every row of the sheet, so they never show). A probe is never restyled once its id is
    # taken: openpyxl keeps the cell's own style object in its list of styles.
    date_probe, datetime_probe = ws.cell(row=2, column=1), ws.cell(row=2, column=2)
    date_probe.number_format = DATE_FORMAT
    datetime_probe.number_format = DATETIME_FORMAT
    date_id, datetime_id = date_probe.style_id, datetime_probe.style_id
    column_ids = []
    for c, col in enumerate(columns, start=3):
        if col.kind in ("date", "datetime"):
            column_ids.append(date_id if col.kind == "date" else datetime_id)
            continue
        cell = ws.cell(row=2, column=c)
        if col.num_format:
            cell.number_format = col.num_format
        if col.wrap:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        column_ids.append(cell.style_id if cell.has_style else 0)
    header_id = header[0].style_id if header else 0
    return CellStyleIds(columns=tuple(column_ids), date=date_id, datetime=datetime_id), header_id


# -- splicing the streamed rows into the saved package ----------------------------------------


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part in the package (``xl/worksheets/sheet3.xml``)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
    parts = {}
    for sheet in book.findall("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        parts[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") \
            else f"xl/{target}"
    return parts


def _splice(draft: Path, out: Path, parts: Mapping[str, _DataSheet]) -> None:
    """Copy the saved package, putting each data sheet's streamed rows into its sheet part."""
    with zipfile.ZipFile(draft) as source:
        names = _sheet_parts(source)
        by_part = {names[name]: part for name, part in parts.items()}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
            for info in source.infolist():
                part = by_part.get(info.filename)
                if part is None:
                    target.writestr(info, source.read(info.filename))
                    continue
                xml = source.read(info.filename).decode("utf-8")
                with target.open(info.filename, "w", force_zip64=True) as sink:
                    _write_sheet(sink, xml, part)


def _write_sheet(sink: Any, xml: str, part: _DataSheet) -> None:
    """The sheet's XML with its ``sheetData`` made of the header and the streamed rows."""
    found = _SHEET_DATA.search(xml)
    if found is None:
        message = f"the sheet {part.name!r} has no cell data to replace"
        raise ConfigError(message)
    width = max(len(part.columns), 1)
    dimension = f'<dimension ref="A1:{column_letter(width - 1)}{part.rows + 1}"/>'
    sink.write(_DIMENSION.sub(dimension, xml[: found.start()], count=1).encode("utf-8"))
    style = f' s="{part.header_style}"' if part.header_style else ""
    header = "".join(
        f'<c r="{column_letter(i)}1"{style} t="inlineStr"><is><t xml:space="preserve">'
        f"{text_xml(col.name)}</t></is></c>" for i, col in enumerate(part.columns))
    sink.write(f'<sheetData><row r="1">{header}</row>'.encode())
    with open(part.fragment, "rb") as rows:
        shutil.copyfileobj(rows, sink, 1 << 20)
    sink.write(b"</sheetData>")
    sink.write(xml[found.end():].encode("utf-8"))
