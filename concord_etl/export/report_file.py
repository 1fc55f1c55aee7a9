"""Report files: the YAML definition of a scheduled report, read and checked before any request.

    version: 1
    output: "reports/weekly-{date:%Y-%m-%d}.xlsx"
    template: brand.xlsx                      # optional: write into a copy of this workbook
    sheets:
      - {name: Contacts, resource: contacts, mapping: mappings/contacts-export.yaml}
      - {name: Deals, resource: deals, since: 7d, query: "renewal"}
      - {name: New contacts, resource: contacts, since: last_run}
    summary:
      - {title: Deals by stage, resource: deals, group_by: stage_id, value: amount, chart: bar}
      - {title: Amount by stage, resource: deals, group_by: stage_id, value: amount,
         target: StageTable}                  # fills the template's defined name instead

Every problem is a ``MappingError`` naming the file, the key and the line. Relative paths: the
``output`` against the report file's folder, never climbing out of it (``report_output``); a
``mapping`` or the ``template`` against the current directory, else the report file's folder.
A ``target`` must be a defined name of the template (one range of one sheet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from concord_etl.crm.pages import parse_since
from concord_etl.errors import ConfigError
from concord_etl.export.report_output import OutputError, fill_output, resolve_output
from concord_etl.mapping import load_mapping
from concord_etl.mapping.document import DocumentChecker, KeyPath, read_document
from concord_etl.mapping.model import Mapping
from concord_etl.output.template_book import inspect_template

RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes", "calls",
             "deal-products")
# Sheets whose rows are not records of one resource (no mapping, no summaries).
LINE_SHEETS = ("deal-products",)
CHARTS = ("bar", "column", "pie")
LAST_RUN = "last_run"
RUN_INFO = "Run info"
TOP_KEYS = ("version", "output", "template", "sheets", "summary")
SHEET_KEYS = ("name", "resource", "mapping", "since", "query")
SUMMARY_KEYS = ("title", "resource", "group_by", "value", "chart", "since", "query", "target")


@dataclass(frozen=True)
class SheetDef:
    name: str
    resource: str
    mapping: Mapping | None = None
    since: str | None = None        # 7d, an ISO time, or "last_run" (watermark)
    query: str | None = None


@dataclass(frozen=True)
class SummaryDef:
    title: str
    resource: str
    group_by: str
    value: str | None = None        # field to sum; None counts records
    chart: str = "bar"
    since: str | None = None        # 7d, an ISO time, or "last_run" (the previous run's time)
    query: str | None = None
    key: str = ""                   # where it is in the file, for messages
    target: str | None = None       # a defined name of the template to fill instead of a chart


@dataclass(frozen=True)
class ReportDef:
    path: Path
    output: str
    sheets: tuple[SheetDef, ...]
    summary: tuple[SummaryDef, ...] = ()
    template: Path | None = None

    def output_path(self, now: datetime | None = None) -> Path:
        """The workbook for a run at ``now``: relative to the report file's folder."""
        try:
            return resolve_output(self.path, self.output, now or datetime.now().astimezone())
        except OutputError as exc:
            raise ConfigError(f"{self.path}: output: {exc}") from None


def load_report(path: str | Path) -> ReportDef:
    """Read and check a report file; every problem is a ``MappingError`` (file, key, line)."""
    path = Path(path)
    document = read_document(path)
    rules = DocumentChecker(document)
    data = rules.mapping(document.data, (), "a report: version, output, sheets, summary")
    rules.keys(data, (), TOP_KEYS, required=("version", "output", "sheets"))
    if data["version"] != 1:
        raise rules.error(("version",), "must be 1")
    output = _output(rules, data["output"], path)
    sheets = tuple(_sheet(rules, path, item, ("sheets", i))
                   for i, item in enumerate(_items(rules, data, "sheets")))
    if not sheets:
        raise rules.error(("sheets",), "needs at least one sheet")
    taken: dict[str, int] = {RUN_INFO.casefold(): -1}
    for i, sheet in enumerate(sheets):
        if sheet.name.casefold() in taken:
            raise rules.error(("sheets", i, "name"), f"the sheet name {sheet.name!r} is taken")
        taken[sheet.name.casefold()] = i
    summary = tuple(_summary(rules, item, ("summary", i))
                    for i, item in enumerate(_items(rules, data, "summary")))
    template = _template(rules, path, data.get("template"), summary)
    return ReportDef(path=path, output=output, sheets=sheets, summary=summary, template=template)


def _template(rules: DocumentChecker, path: Path, value: Any, summary: tuple[SummaryDef, ...]
              ) -> Path | None:
    """The template's path, checked: it opens, and every summary ``target`` is one of its
    defined names."""
    if value is None:
        for i, item in enumerate(summary):
            if item.target is not None:
                raise rules.error(("summary", i, "target"),
                                  "a target is a defined name of the template: add template:")
        return None
    text = rules.text(value, ("template",), "an Excel workbook such as brand.xlsx")
    found = _resolve(path, text)
    try:
        info = inspect_template(found)
    except ConfigError as exc:
        raise rules.error(("template",), str(exc)) from None
    for i, item in enumerate(summary):
        if item.target is not None and item.target not in info.names:
            known = ", ".join(sorted(info.names)) or "none"
            msg = (f"the template {text} has no defined name {item.target!r} "
                   f"(its names: {known})")
            raise rules.error(("summary", i, "target"), msg)
    return found


def _items(rules: DocumentChecker, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise rules.error((key,), f"must be a list, got {rules.shown(value, (key,))}")
    return value


def _output(rules: DocumentChecker, value: Any, report_file: Path) -> str:
    example = 'a file name such as "reports/weekly-{date:%Y-%m-%d}.xlsx"'
    output = rules.text(value, ("output",), example)
    now = datetime.now().astimezone()
    try:
        formatted = fill_output(output, now)
    except OutputError as exc:
        msg = f"{exc}; the only placeholder is {{date:FORMAT}}, e.g. {{date:%Y-%m-%d}}"
        raise rules.error(("output",), msg) from None
    try:
        resolve_output(report_file, output, now)
    except OutputError as exc:
        raise rules.error(("output",), str(exc)) from None
    if not formatted.lower().endswith(".xlsx"):
        raise rules.error(("output",), f"a report is an Excel workbook: {example}")
    return output


def _since(rules: DocumentChecker, value: Any, key: KeyPath) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text != LAST_RUN:
        try:
            parse_since(text)
        except ValueError as exc:
            raise rules.error(key, f"{exc}, or last_run") from None
    return text


def _optional_text(rules: DocumentChecker, value: Any, key: KeyPath, what: str) -> str | None:
    return None if value is None else rules.text(value, key, what)


def _sheet(rules: DocumentChecker, path: Path, item: Any, key: KeyPath) -> SheetDef:
    obj = rules.mapping(item, key, "a sheet such as {name: Contacts, resource: contacts}")
    rules.keys(obj, key, SHEET_KEYS, required=("resource",))
    resource = rules.choice(obj["resource"], (*key, "resource"), RESOURCES, "resource")
    name = _optional_text(rules, obj.get("name"), (*key, "name"), "a sheet name") \
        or ("Products" if resource in LINE_SHEETS else resource.title())
    mapping = None
    if obj.get("mapping") is not None and resource in LINE_SHEETS:
        raise rules.error((*key, "mapping"), f"a {resource} sheet has fixed columns; no mapping")
    if obj.get("mapping") is not None:
        text = rules.text(obj["mapping"], (*key, "mapping"), "a mapping file")
        found = _resolve(path, text)
        if not found.is_file():
            raise rules.error((*key, "mapping"), f"mapping file not found: {text}")
        mapping = load_mapping(found)
        if mapping.resource != resource:
            msg = f"the mapping {text} is for {mapping.resource}, the sheet for {resource}"
            raise rules.error((*key, "mapping"), msg)
    return SheetDef(name=name.strip(), resource=resource, mapping=mapping,
                    since=_since(rules, obj.get("since"), (*key, "since")),
                    query=_optional_text(rules, obj.get("query"), (*key, "query"), "a query"))


def _summary(rules: DocumentChecker, item: Any, key: KeyPath) -> SummaryDef:
    what = "a summary such as {title: Deals by stage, resource: deals, group_by: stage_id}"
    obj = rules.mapping(item, key, what)
    rules.keys(obj, key, SUMMARY_KEYS, required=("resource", "group_by"))
    resources = tuple(r for r in RESOURCES if r not in LINE_SHEETS)
    resource = rules.choice(obj["resource"], (*key, "resource"), resources, "resource")
    group_by = rules.text(obj["group_by"], (*key, "group_by"), "a field such as stage_id")
    value = _optional_text(rules, obj.get("value"), (*key, "value"), "a numeric field")
    chart = rules.choice(obj.get("chart", "bar"), (*key, "chart"), CHARTS, "chart")
    title = _optional_text(rules, obj.get("title"), (*key, "title"), "a title") \
        or f"{resource} by {group_by}"
    target = _optional_text(rules, obj.get("target"), (*key, "target"),
                            "a defined name of the template")
    return SummaryDef(title=title.strip(), resource=resource, group_by=group_by, value=value,
                      chart=chart, since=_since(rules, obj.get("since"), (*key, "since")),
                      query=_optional_text(rules, obj.get("query"), (*key, "query"), "a query"),
                      key=f"summary[{key[1]}]",
                      target=target.strip() if target else None)


def _resolve(report_path: Path, name: str) -> Path:
    candidate = Path(name)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    beside = report_path.parent / candidate
    return beside if beside.exists() else candidate


__all__ = ["LAST_RUN", "RUN_INFO", "ReportDef", "SheetDef", "SummaryDef", "load_report"]
